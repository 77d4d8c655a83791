/*
 * injector/engine.c - load the classifier, attach it, manage rules.
 *
 * One engine = one instance of the classifier object (its own rule tables)
 * and the attachments of that instance. The rule tables are the object's
 * .bss, mmapped by the skeleton: rules are written with plain stores, in an
 * order that keeps every packet's view consistent (a rule's parameters are
 * written before its bit becomes visible, and its bit is cleared first when
 * it goes away).
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "faultline/engine.h"
#include "classifier.skel.h"
#include "injector/attach.h"
#include "injector/undo.h"

#define FL_MAX_ATTACHMENTS 64

struct fl_engine {
	struct fl_classifier *skel;
	struct fl_undo undo;
	const char *run_dir;
	enum fl_attach_mode mode;
	enum fl_attach_mode last_mode;
	struct fl_attachment *att[FL_MAX_ATTACHMENTS];
	int n_att;
	uint64_t used;			 /* rule ids in use */
	uint64_t end_ns[FL_MAX_RULES];	 /* per rule; 0: none */
	uint64_t until_ns[FL_MAX_RULES]; /* last deadline written */
	int ncpus;
};

uint64_t fl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int fl_engine__open(const struct fl_engine_opts *opts, struct fl_engine **out)
{
	struct fl_engine *e;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->run_dir = opts && opts->run_dir ? opts->run_dir : FL_RUN_DIR_DEFAULT;
	e->mode = opts ? opts->mode : FL_ATTACH_AUTO;
	e->ncpus = libbpf_num_possible_cpus();
	if (e->ncpus <= 0) {
		r = e->ncpus ? e->ncpus : -EINVAL;
		goto fail;
	}
	e->skel = fl_classifier__open_and_load();
	if (!e->skel) {
		r = -errno ? -errno : -EINVAL;
		goto fail;
	}
	*out = e;
	return 0;
fail:
	free(e);
	return r;
}

static void undo_attachment(void *ctx, uintptr_t arg)
{
	struct fl_engine *e = ctx;
	struct fl_attachment *a = (struct fl_attachment *)arg;

	fl_detach(a);
	for (int i = 0; i < e->n_att; i++)
		if (e->att[i] == a) {
			e->att[i] = e->att[--e->n_att];
			break;
		}
	free(a);
}

int fl_engine__attach(struct fl_engine *e, int ifindex, unsigned dir_mask)
{
	size_t mark = fl_undo_mark(&e->undo);
	int r = 0;

	if (!dir_mask || (dir_mask & ~FL_DIRMASK_BOTH))
		return -EINVAL;
	for (int dir = 0; dir < FL_DIR_COUNT; dir++) {
		struct bpf_program *prog;
		struct fl_attachment *a;

		if (!(dir_mask & (1u << dir)))
			continue;
		if (e->n_att == FL_MAX_ATTACHMENTS) {
			r = -E2BIG;
			break;
		}
		a = calloc(1, sizeof(*a));
		if (!a) {
			r = -ENOMEM;
			break;
		}
		prog = dir == FL_DIR_INGRESS ? e->skel->progs.fl_ingress : e->skel->progs.fl_egress;
		r = fl_attach(e->run_dir, e->mode, bpf_program__fd(prog), ifindex, dir, a);
		if (r) {
			free(a);
			break;
		}
		e->att[e->n_att++] = a;
		e->last_mode = a->mode;
		r = fl_undo_push(&e->undo, undo_attachment, e, (uintptr_t)a);
		if (r) {
			undo_attachment(e, (uintptr_t)a);
			break;
		}
	}
	if (r)
		fl_undo_to(&e->undo, mark);
	return r;
}

const char *fl_engine__attach_mode(const struct fl_engine *e)
{
	return e->last_mode == FL_ATTACH_CLSACT ? "clsact" : "tcx";
}

static uint64_t deadline(uint64_t end_ns, uint64_t now_ns, uint64_t lease_ns)
{
	uint64_t until = now_ns + lease_ns;

	return end_ns && end_ns < until ? end_ns : until;
}

/* Set or clear rule id's bit in every table its spec names. */
static void write_bits(struct fl_engine *e, const struct fl_rule_spec *s, int id, int set)
{
	struct fl_classifier__bss *bss = e->skel->bss;
	uint64_t bit = 1ull << id;

#define FL_APPLY(word)                                                                             \
	do {                                                                                       \
		if (set)                                                                           \
			__atomic_fetch_or(&(word), bit, __ATOMIC_RELEASE);                         \
		else                                                                               \
			__atomic_fetch_and(&(word), ~bit, __ATOMIC_RELEASE);                       \
	} while (0)

	for (int d = 0; d < FL_DIR_COUNT; d++)
		if (s->dir_mask & (1u << d))
			FL_APPLY(bss->fl_tables.dir[d]);
	for (int p = 0; p < FL_PROTO_COUNT; p++)
		if (s->protocol == FL_PROTOCOL_ANY || s->protocol == p)
			FL_APPLY(bss->fl_tables.proto[p]);
	if (!s->ports.n)
		FL_APPLY(bss->fl_tables.port_any);
	for (unsigned i = 0; i < s->ports.n; i++)
		for (uint32_t port = s->ports.r[i].lo; port <= s->ports.r[i].hi; port++)
			FL_APPLY(bss->fl_port_bits[port]);
#undef FL_APPLY
}

struct rule_undo {
	struct fl_rule_spec spec;
	int id;
};

static void undo_rule(void *ctx, uintptr_t arg)
{
	struct fl_engine *e = ctx;
	struct rule_undo *u = (struct rule_undo *)arg;
	struct fl_classifier__bss *bss = e->skel->bss;

	/* Invisible first, then dismantled. */
	__atomic_fetch_and(&bss->fl_tables.active, ~(1ull << u->id), __ATOMIC_RELEASE);
	__atomic_store_n(&bss->fl_rules[u->id].until_ns, 0, __ATOMIC_RELEASE);
	write_bits(e, &u->spec, u->id, 0);
	e->used &= ~(1ull << u->id);
	free(u);
}

int fl_engine__add_rule(struct fl_engine *e, const struct fl_rule_spec *spec, uint64_t now_ns,
			uint64_t lease_ns, int *id_out)
{
	struct fl_classifier__bss *bss = e->skel->bss;
	struct rule_undo *u;
	struct fl_rule rule;
	int id, r;

	if (!spec->dir_mask || (spec->dir_mask & ~FL_DIRMASK_BOTH) || spec->loss_ppb > FL_PPB_100 ||
	    spec->ports.n > FL_PORT_RANGES_MAX ||
	    (spec->protocol != FL_PROTOCOL_ANY &&
	     (spec->protocol <= FL_PROTO_OTHER || spec->protocol >= FL_PROTO_COUNT)))
		return -EINVAL;
	for (unsigned i = 0; i < spec->ports.n; i++)
		if (!spec->ports.r[i].lo || spec->ports.r[i].lo > spec->ports.r[i].hi)
			return -EINVAL;
	if (e->used == ~0ull)
		return -ENOSPC;
	id = __builtin_ctzll(~e->used);

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->spec = *spec;
	u->id = id;

	memset(&rule, 0, sizeof(rule));
	rule.until_ns = deadline(spec->end_ns, now_ns, lease_ns);
	if (spec->loss_ppb) {
		rule.actions |= FL_ACT_LOSS;
		/* ppb -> threshold over 2^32, exact at 100% */
		rule.loss_thresh = ((uint64_t)spec->loss_ppb << 32) / FL_PPB_100;
	}
	bss->fl_rules[id] = rule;
	write_bits(e, spec, id, 1);
	__atomic_fetch_or(&bss->fl_tables.active, 1ull << id, __ATOMIC_RELEASE);
	e->used |= 1ull << id;
	e->end_ns[id] = spec->end_ns;
	e->until_ns[id] = rule.until_ns;

	r = fl_undo_push(&e->undo, undo_rule, e, (uintptr_t)u);
	if (r) {
		undo_rule(e, (uintptr_t)u);
		return r;
	}
	if (id_out)
		*id_out = id;
	return 0;
}

int fl_engine__renew(struct fl_engine *e, uint64_t now_ns, uint64_t lease_ns)
{
	struct fl_classifier__bss *bss = e->skel->bss;

	for (int id = 0; id < FL_MAX_RULES; id++) {
		if (!(e->used & (1ull << id)))
			continue;
		/* The deadline passed before the end: we were frozen or starved
		 * past our lease and the kernel stopped the fault meanwhile. */
		if (now_ns >= e->until_ns[id] &&
		    (!e->end_ns[id] || e->until_ns[id] < e->end_ns[id]))
			return -ETIME;
	}
	for (int id = 0; id < FL_MAX_RULES; id++) {
		if (!(e->used & (1ull << id)))
			continue;
		e->until_ns[id] = deadline(e->end_ns[id], now_ns, lease_ns);
		__atomic_store_n(&bss->fl_rules[id].until_ns, e->until_ns[id], __ATOMIC_RELEASE);
	}
	return 0;
}

int fl_engine__counters(struct fl_engine *e, int id, struct fl_counters *out)
{
	struct fl_counters *per_cpu;
	__u32 key = (__u32)id;
	int r;

	if (id < 0 || id >= FL_MAX_RULES)
		return -EINVAL;
	per_cpu = calloc(e->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	r = bpf_map_lookup_elem(bpf_map__fd(e->skel->maps.fl_counters), &key, per_cpu);
	if (r) {
		r = -errno;
		free(per_cpu);
		return r;
	}
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < e->ncpus; c++) {
		out->matched += per_cpu[c].matched;
		out->acted += per_cpu[c].acted;
		out->bytes += per_cpu[c].bytes;
		out->expired += per_cpu[c].expired;
	}
	free(per_cpu);
	return 0;
}

int fl_engine__check(struct fl_engine *e)
{
	char name[IF_NAMESIZE];

	for (int i = 0; i < e->n_att; i++)
		if (!if_indextoname(e->att[i]->ifindex, name))
			return -ENODEV;
	return 0;
}

int fl_engine__prog_fd(const struct fl_engine *e, int dir)
{
	return bpf_program__fd(dir == FL_DIR_INGRESS ? e->skel->progs.fl_ingress
						     : e->skel->progs.fl_egress);
}

int fl_engine__baseline_fd(const struct fl_engine *e)
{
	return bpf_program__fd(e->skel->progs.fl_baseline);
}

void fl_engine__close(struct fl_engine *e)
{
	if (!e)
		return;
	fl_undo_all(&e->undo);
	fl_classifier__destroy(e->skel);
	free(e);
}
