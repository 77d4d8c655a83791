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
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "faultline/engine.h"
#include "classifier.skel.h"
#include "watchdog.skel.h"
#include "injector/attach.h"
#include "injector/delay_line.h"
#include "faultline/dist.h"
#include "injector/undo.h"

#define FL_MAX_ATTACHMENTS 64
#define FL_MAX_PREFIXES	   (FL_MAX_RULES * FL_CIDRS_MAX)

struct fl_engine {
	struct fl_classifier *skel;
	unsigned rank; /* FL_RANK_MASK */
	struct fl_undo undo;
	const char *run_dir;
	enum fl_attach_mode mode;
	enum fl_attach_mode last_mode;
	struct fl_attachment *att[FL_MAX_ATTACHMENTS];
	int n_att;
	uint64_t used; /* rule ids in use */
	struct fl_rule_spec specs[FL_MAX_RULES];
	struct fl_prefix {
		struct fl_cidr cidr;
		int rule;
		int live;
	} prefixes[FL_MAX_PREFIXES];
	int n_prefixes;
	uint64_t until_ns[FL_MAX_RULES]; /* last deadline written */
	int ncpus;
	struct fl_delay_line *dl; /* started with the first delay rule */
	int no_delay_line;	  /* tests read the ring themselves */
	unsigned dists;		  /* distribution tables written (1 << enum fl_dist) */
	int reinject;		  /* fl_reinject attached on lo (ingress delay) */
	struct fl_attachment *reinject_att;
	struct fl_watchdog *watch; /* owner-exit watchdog (delay), NULL if refused */
	struct bpf_link *watch_link;
};

uint64_t fl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void watchdog_start(struct fl_engine *e);

int fl_engine__open(const struct fl_engine_opts *opts, struct fl_engine **out)
{
	struct fl_engine *e;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->run_dir = opts && opts->run_dir ? opts->run_dir : FL_RUN_DIR_DEFAULT;
	e->mode = opts ? opts->mode : FL_ATTACH_AUTO;
	e->no_delay_line = opts && opts->sz >= sizeof(*opts) ? opts->no_delay_line : 0;
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
	e->rank = opts && opts->sz >= sizeof(*opts) && opts->rank ? opts->rank : 1;
	if (e->rank > FL_RANK_MAX)
		e->rank = FL_RANK_MAX;
	e->skel->data->fl_rank = e->rank;
	/* every rule fails open the moment this process starts to exit, not
	 * only when the kernel gets to closing its links (bpf/watchdog.bpf.c);
	 * without the watchdog (no CAP_PERFMON) the links still go then */
	watchdog_start(e);
	fl_engine__protect_port(e, 22);
	*out = e;
	return 0;
fail:
	free(e);
	return r;
}

/* Detach a (unless fl_engine__detach() did already: it is then no longer
 * in att[]) and free it. */
static void undo_attachment(void *ctx, uintptr_t arg)
{
	struct fl_engine *e = ctx;
	struct fl_attachment *a = (struct fl_attachment *)arg;

	for (int i = 0; i < e->n_att; i++)
		if (e->att[i] == a) {
			fl_detach(a);
			e->att[i] = e->att[--e->n_att];
			break;
		}
	free(a);
}

int fl_engine__detach(struct fl_engine *e, int ifindex, unsigned dir_mask)
{
	int n = 0;

	for (int i = 0; i < e->n_att;) {
		struct fl_attachment *a = e->att[i];

		/* lo's re-inject program is the engine's own business */
		if (a->ifindex == ifindex && (dir_mask & (1u << a->dir)) &&
		    !(e->reinject && a == e->reinject_att)) {
			fl_detach(a);
			e->att[i] = e->att[--e->n_att];
			n++;
			continue; /* its undo step frees it */
		}
		i++;
	}
	return n ? 0 : -ENOENT;
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

uint64_t fl_rule_deadline(uint64_t end_ns, uint64_t now_ns, uint64_t lease_ns)
{
	uint64_t until = now_ns + lease_ns;

	return end_ns && end_ns < until ? end_ns : until;
}

/* ppb -> threshold over 2^32, exact at 0 and 100% */
static uint64_t thresh(uint32_t ppb)
{
	return ((uint64_t)ppb << 32) / FL_PPB_100;
}

/* ppb -> netem's 32-bit correlation scale */
static uint32_t corr32(uint32_t ppb)
{
	uint64_t v = thresh(ppb);

	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static unsigned share_buckets(uint32_t share_ppb)
{
	return (unsigned)(((uint64_t)share_ppb * FL_SHARE_BUCKETS + FL_PPB_100 / 2) / FL_PPB_100);
}

static int share_all(const struct fl_rule_spec *s)
{
	return s->share_ppb == 0 || s->share_ppb >= FL_PPB_100;
}

#define FL_APPLY(word, bit, set)                                                                   \
	do {                                                                                       \
		if (set)                                                                           \
			__atomic_fetch_or(&(word), (bit), __ATOMIC_RELEASE);                       \
		else                                                                               \
			__atomic_fetch_and(&(word), ~(bit), __ATOMIC_RELEASE);                     \
	} while (0)

static void apply_ports(__u64 *table, const struct fl_port_set *ps, uint64_t bit, int set)
{
	for (unsigned i = 0; i < ps->n; i++)
		for (uint32_t port = ps->r[i].lo; port <= ps->r[i].hi; port++)
			FL_APPLY(table[port], bit, set);
}

/* Set or clear rule id's bit in every bitmap table its spec names. */
static void write_bits(struct fl_engine *e, const struct fl_rule_spec *s, int id, int set)
{
	struct fl_classifier__bss *bss = e->skel->bss;
	struct fl_match_tables *t = &bss->fl_tables;
	uint64_t bit = 1ull << id;

	for (int d = 0; d < FL_DIR_COUNT; d++)
		if (s->dir_mask & (1u << d))
			FL_APPLY(t->dir[d], bit, set);
	for (int p = 0; p < FL_PROTO_COUNT; p++)
		if (s->protocol == FL_PROTOCOL_ANY || s->protocol == p)
			FL_APPLY(t->proto[p], bit, set);
	if (!s->ports.n)
		FL_APPLY(t->port_any, bit, set);
	if (!s->local_ports.n)
		FL_APPLY(t->lport_any, bit, set);
	if (!s->remote_ports.n)
		FL_APPLY(t->rport_any, bit, set);
	if (!s->n_cidrs)
		FL_APPLY(t->addr_any, bit, set);
	if (!s->cgroup_id)
		FL_APPLY(t->cgroup_any, bit, set);
	if (share_all(s)) {
		FL_APPLY(t->share_all, bit, set);
	} else {
		unsigned n = share_buckets(s->share_ppb);

		for (unsigned b = 0; b < n && b < FL_SHARE_BUCKETS; b++)
			FL_APPLY(bss->fl_share_bits[b], bit, set);
	}
	if (!s->allow_management)
		FL_APPLY(t->mgmt_guard, bit, set);
	apply_ports(bss->fl_port_bits, &s->ports, bit, set);
	apply_ports(bss->fl_lport_bits, &s->local_ports, bit, set);
	apply_ports(bss->fl_rport_bits, &s->remote_ports, bit, set);
}

/* Does prefix outer contain prefix inner? */
static int cidr_contains(const struct fl_cidr *outer, const struct fl_cidr *inner)
{
	if (outer->family != inner->family || outer->prefixlen > inner->prefixlen)
		return 0;
	for (unsigned bitpos = 0; bitpos < outer->prefixlen; bitpos++) {
		unsigned byte = bitpos / 8, mask = 0x80u >> (bitpos % 8);

		if ((outer->addr[byte] & mask) != (inner->addr[byte] & mask))
			return 0;
	}
	return 1;
}

/* Rewrite the LPM tries from the rules' prefixes: every prefix's entry holds
 * the rules of every prefix that contains it, so that the longest match the
 * kernel returns is the complete set. Entries of prefixes no rule has any
 * more are deleted. */
static int sync_addr_maps(struct fl_engine *e)
{
	int fd4 = bpf_map__fd(e->skel->maps.fl_addr4), fd6 = bpf_map__fd(e->skel->maps.fl_addr6);

	for (int i = 0; i < e->n_prefixes; i++) {
		struct fl_prefix *p = &e->prefixes[i];
		uint64_t bits = 0;
		int r;

		for (int j = 0; j < e->n_prefixes; j++)
			if (e->prefixes[j].live && cidr_contains(&e->prefixes[j].cidr, &p->cidr))
				bits |= 1ull << e->prefixes[j].rule;
		if (p->cidr.family == AF_INET) {
			struct fl_lpm4_key k = {.prefixlen = p->cidr.prefixlen};

			memcpy(k.addr, p->cidr.addr, 4);
			r = bits ? bpf_map_update_elem(fd4, &k, &bits, BPF_ANY)
				 : bpf_map_delete_elem(fd4, &k);
		} else {
			struct fl_lpm6_key k = {.prefixlen = p->cidr.prefixlen};

			memcpy(k.addr, p->cidr.addr, 16);
			r = bits ? bpf_map_update_elem(fd6, &k, &bits, BPF_ANY)
				 : bpf_map_delete_elem(fd6, &k);
		}
		if (r && !(bits == 0 && errno == ENOENT))
			return -errno;
	}
	/* forget dead prefixes once their entries are rewritten */
	for (int i = 0; i < e->n_prefixes;)
		if (!e->prefixes[i].live)
			e->prefixes[i] = e->prefixes[--e->n_prefixes];
		else
			i++;
	return 0;
}

static int set_prefixes(struct fl_engine *e, const struct fl_rule_spec *s, int id, int live)
{
	if (live) {
		if (e->n_prefixes + (int)s->n_cidrs > FL_MAX_PREFIXES)
			return -ENOSPC;
		for (unsigned i = 0; i < s->n_cidrs; i++) {
			struct fl_prefix *p = &e->prefixes[e->n_prefixes++];

			p->cidr = s->cidrs[i];
			p->rule = id;
			p->live = 1;
		}
	} else {
		for (int i = 0; i < e->n_prefixes; i++)
			if (e->prefixes[i].rule == id)
				e->prefixes[i].live = 0;
	}
	return sync_addr_maps(e);
}

/* The cgroup map entry of id holds every rule naming that cgroup. */
static int sync_cgroup(struct fl_engine *e, uint64_t cgroup_id)
{
	int fd = bpf_map__fd(e->skel->maps.fl_cgroups);
	uint64_t bits = 0;

	for (int id = 0; id < FL_MAX_RULES; id++)
		if ((e->used & (1ull << id)) && e->specs[id].cgroup_id == cgroup_id)
			bits |= 1ull << id;
	if (bits)
		return bpf_map_update_elem(fd, &cgroup_id, &bits, BPF_ANY) ? -errno : 0;
	if (bpf_map_delete_elem(fd, &cgroup_id) && errno != ENOENT)
		return -errno;
	return 0;
}

/* splitmix64: spreads a user's small seed over the xorshift state. */
static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Fresh per-CPU random-process state and token bucket for rule id. */
static int reset_state(struct fl_engine *e, const struct fl_rule_spec *s, int id)
{
	struct fl_rule_state *st = calloc(e->ncpus, sizeof(*st));
	struct fl_rate_state rs;
	__u32 key = (__u32)id;
	int r = 0;

	if (!st)
		return -ENOMEM;
	for (int c = 0; c < e->ncpus; c++) {
		uint64_t x = splitmix64(s->seed ^ ((uint64_t)c << 32) ^ (uint64_t)id);

		uint64_t y;

		st[c].prng = x ? x : 1;
		/* correlation memories start at a random value, as netem's
		 * init_crandom() does: at 0 a correlated rule would start
		 * biased (short delays, losses in a row). Reproducible with
		 * --seed; otherwise from the kernel's random pool. */
		if (s->has_seed)
			y = splitmix64(x ^ 0x6c6173745f76616cull);
		else if (getrandom(&y, sizeof(y), 0) != (ssize_t)sizeof(y))
			y = splitmix64(fl_now_ns() ^ x);
		st[c].loss_last = (uint32_t)y;
		st[c].dup_last = (uint32_t)(y >> 32);
		y = splitmix64(y);
		st[c].delay_last = (uint32_t)y;
		st[c].reorder_last = (uint32_t)(y >> 32);
	}
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.fl_state), &key, st, BPF_ANY))
		r = -errno;
	free(st);
	if (r)
		return r;
	memset(&rs, 0, sizeof(rs));
	if (bpf_map_update_elem(bpf_map__fd(e->skel->maps.fl_rate), &key, &rs, BPF_ANY))
		return -errno;
	return 0;
}

static void zero_counters(struct fl_engine *e, int id)
{
	struct fl_counters *z = calloc(e->ncpus, sizeof(*z));
	__u32 key = (__u32)id;

	if (z) {
		bpf_map_update_elem(bpf_map__fd(e->skel->maps.fl_counters), &key, z, BPF_ANY);
		free(z);
	}
}

/* ---- dns --domain patterns ------------------------------------------ */

/* One pattern (n chars at p): "name.example" or "*.example.com", a
 * trailing dot allowed -> its key in fl_dns_names: the hash of the name
 * (or of the wildcard's suffix, wild = 1) in lower-case wire format. */
static int dns_pattern(const char *p, size_t n, struct fl_dns_key *k, char *why, size_t len)
{
	uint8_t wire[FL_DNS_NAME_MAX];
	size_t i = 0, w = 0, text = n;
	uint64_t h = 0;
	int wild = 0;

	if (n >= 2 && p[0] == '*' && p[1] == '.') {
		wild = 1;
		i = 2;
	}
	if (n > i && p[n - 1] == '.')
		n--;
	if (i >= n) {
		snprintf(why, len,
			 "\"%.*s\" has no name (expected names such as example.com or "
			 "*.example.com)",
			 (int)text, p);
		return -EINVAL;
	}
	for (;;) {
		size_t start = i, l;

		while (i < n && p[i] != '.')
			i++;
		l = i - start;
		if (l == 0) {
			snprintf(why, len,
				 "\"%.*s\" has an empty label (expected names such as example.com "
				 "or *.example.com)",
				 (int)text, p);
			return -EINVAL;
		}
		if (l > 63) {
			snprintf(why, len, "\"%.*s\" has a label longer than 63 characters",
				 (int)text, p);
			return -EINVAL;
		}
		for (size_t j = start; j < i; j++) {
			unsigned char c = (unsigned char)p[j];

			if (c == '*') {
				snprintf(why, len,
					 "\"%.*s\": '*' is allowed only as the whole first label "
					 "(*.example.com)",
					 (int)text, p);
				return -EINVAL;
			}
			if (!isalnum(c) && c != '-' && c != '_') {
				snprintf(why, len,
					 "\"%.*s\" has an invalid character '%c' (letters, digits, "
					 "'-' and '_' only)",
					 (int)text, p, isprint(c) ? c : '?');
				return -EINVAL;
			}
		}
		/* the label, and room for the final 0 byte */
		if (w + 1 + l + 1 > FL_DNS_NAME_MAX) {
			snprintf(why, len, "\"%.*s\" is longer than a DNS name can be (255 bytes)",
				 (int)text, p);
			return -EINVAL;
		}
		wire[w++] = (uint8_t)l;
		for (size_t j = start; j < i; j++)
			wire[w++] = (uint8_t)tolower((unsigned char)p[j]);
		if (i >= n)
			break;
		i++; /* the dot */
	}
	wire[w++] = 0;
	for (size_t j = w; j-- > 0;)
		h = fl_dns_hash_step(h, wire[j]);
	memset(k, 0, sizeof(*k));
	k->hash = h;
	k->wild = (uint32_t)wild;
	return 0;
}

/* The keys of a comma-separated pattern list ("" : none). */
static int dns_keys(const char *list, struct fl_dns_key *keys, int *n_out, char *why, size_t len)
{
	const char *p = list;
	int n = 0;

	*n_out = 0;
	if (!*list)
		return 0;
	for (;;) {
		const char *end = strchr(p, ','), *a = p, *b;
		struct fl_dns_key k;
		int r;

		if (!end)
			end = p + strlen(p);
		b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a == b) {
			snprintf(
			    why, len,
			    "\"%s\" has an empty pattern (expected a comma-separated list such "
			    "as example.com,*.svc.local)",
			    list);
			return -EINVAL;
		}
		if (n == FL_DNS_PATTERNS_MAX) {
			snprintf(why, len, "more than %d domain patterns", FL_DNS_PATTERNS_MAX);
			return -EINVAL;
		}
		r = dns_pattern(a, (size_t)(b - a), &k, why, len);
		if (r)
			return r;
		if (keys)
			keys[n] = k;
		n++;
		if (!*end)
			break;
		p = end + 1;
	}
	*n_out = n;
	return 0;
}

int fl_dns_domains_check(const char *list, char *why, size_t len)
{
	char dummy[1];
	int n;

	if (!why || !len) {
		why = dummy;
		len = sizeof(dummy);
	}
	why[0] = 0;
	if (!list)
		return 0;
	if (strnlen(list, FL_DNS_DOMAINS_TEXT) >= FL_DNS_DOMAINS_TEXT) {
		snprintf(why, len, "the domain list is longer than %d characters",
			 FL_DNS_DOMAINS_TEXT - 1);
		return -EINVAL;
	}
	return dns_keys(list, NULL, &n, why, len);
}

static int has_domains(const struct fl_rule_spec *s)
{
	return s->dns.rcode && s->dns.domains[0];
}

/* Rewrite fl_dns_names from the live rules' patterns: each key holds the
 * rules naming it; keys no rule names any more are deleted. */
static int sync_dns_names(struct fl_engine *e)
{
	enum { MAX = FL_MAX_RULES * FL_DNS_PATTERNS_MAX };
	int fd = bpf_map__fd(e->skel->maps.fl_dns_names), n = 0, n_stale = 0, r = 0;
	struct fl_dns_key *keys = calloc(MAX, sizeof(*keys)), *stale = calloc(MAX, sizeof(*stale));
	uint64_t *bits = calloc(MAX, sizeof(*bits));
	struct fl_dns_key k, next;
	char why[8];

	if (!keys || !bits || !stale) {
		r = -ENOMEM;
		goto out;
	}
	for (int id = 0; id < FL_MAX_RULES; id++) {
		struct fl_dns_key mine[FL_DNS_PATTERNS_MAX];
		int m;

		if (!(e->used & (1ull << id)) || !has_domains(&e->specs[id]))
			continue;
		if (dns_keys(e->specs[id].dns.domains, mine, &m, why, sizeof(why)))
			continue; /* refused by valid_spec() */
		for (int i = 0; i < m; i++) {
			int j = 0;

			while (j < n && memcmp(&keys[j], &mine[i], sizeof(mine[i])))
				j++;
			if (j == n)
				keys[n++] = mine[i];
			bits[j] |= 1ull << id;
		}
	}
	for (int i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &bits[i], BPF_ANY)) {
			r = -errno;
			goto out;
		}
	for (int more = !bpf_map_get_next_key(fd, NULL, &next); more && n_stale < MAX;
	     more = !bpf_map_get_next_key(fd, &k, &next)) {
		int j = 0;

		k = next;
		while (j < n && memcmp(&keys[j], &k, sizeof(k)))
			j++;
		if (j == n)
			stale[n_stale++] = k;
	}
	for (int i = 0; i < n_stale; i++)
		if (bpf_map_delete_elem(fd, &stale[i]) && errno != ENOENT && !r)
			r = -errno;
out:
	free(keys);
	free(bits);
	free(stale);
	return r;
}

static void rule_teardown(struct fl_engine *e, int id)
{
	struct fl_classifier__bss *bss = e->skel->bss;
	struct fl_rule_spec *s = &e->specs[id];

	/* Invisible first, then dismantled. */
	__atomic_fetch_and(&bss->fl_tables.active, ~(1ull << id), __ATOMIC_RELEASE);
	__atomic_store_n(&bss->fl_rules[id].until_ns, 0, __ATOMIC_RELEASE);
	write_bits(e, s, id, 0);
	e->used &= ~(1ull << id);
	if (s->n_cidrs)
		set_prefixes(e, s, id, 0);
	if (s->cgroup_id)
		sync_cgroup(e, s->cgroup_id);
	if (has_domains(s))
		sync_dns_names(e);
}

static void undo_rule(void *ctx, uintptr_t arg)
{
	struct fl_engine *e = ctx;
	int id = (int)arg;

	if (e->used & (1ull << id))
		rule_teardown(e, id);
}

int fl_engine__remove_rule(struct fl_engine *e, int id)
{
	if (id < 0 || id >= FL_MAX_RULES || !(e->used & (1ull << id)))
		return -ENOENT;
	rule_teardown(e, id);
	return 0;
}

int fl_port_set_valid(const struct fl_port_set *ps)
{
	if (ps->n > FL_PORT_RANGES_MAX)
		return 0;
	for (unsigned i = 0; i < ps->n; i++)
		if (!ps->r[i].lo || ps->r[i].lo > ps->r[i].hi)
			return 0;
	return 1;
}

/* The error actions (docs/errors.md): one per rule, alone but for
 * http's delay. refuse is not the classifier's (injector/refuse.c). */
static int valid_errors(const struct fl_rule_spec *s)
{
	int n = !!s->reset.on + !!s->dns.rcode + !!s->http.on;
	char why[8];
	int m;

	if (s->refuse.err)
		return 0;
	if (!n) /* domains or a path without their action: a mistake */
		return !s->dns.domains[0] && !s->http.path[0];
	if (n > 1)
		return 0;
	if (s->loss.model != FL_LOSS_RANDOM || s->loss.ppb || s->duplicate.ppb || s->corrupt.ppb ||
	    s->rate.bits_per_sec || s->reorder.ppb)
		return 0;
	if ((s->delay.ns || s->delay.jitter_ns) && !s->http.on)
		return 0;
	if (s->protocol == FL_PROTO_ICMP || s->protocol == FL_PROTO_OTHER)
		return 0;
	if (s->reset.on)
		return s->reset.ppb <= FL_PPB_100 && s->protocol != FL_PROTO_UDP;
	if (s->http.on)
		return s->http.ppb <= FL_PPB_100 && s->protocol != FL_PROTO_UDP &&
		       (s->http.status == 0 || (s->http.status >= 100 && s->http.status <= 999)) &&
		       strnlen(s->http.path, sizeof(s->http.path)) <= FL_HTTP_PATH_MAX &&
		       !s->dns.domains[0];
	if (s->dns.ppb > FL_PPB_100 || s->http.path[0])
		return 0;
	if (s->dns.rcode != FL_DNS_RCODE_DROP && (s->dns.rcode < 1 || s->dns.rcode > 15))
		return 0;
	if (strnlen(s->dns.domains, sizeof(s->dns.domains)) >= sizeof(s->dns.domains))
		return 0;
	return dns_keys(s->dns.domains, NULL, &m, why, sizeof(why)) == 0;
}

static int valid_spec(const struct fl_rule_spec *s)
{
	if (!s->dir_mask || (s->dir_mask & ~FL_DIRMASK_BOTH))
		return 0;
	if (s->protocol != FL_PROTOCOL_ANY &&
	    (s->protocol <= FL_PROTO_OTHER || s->protocol >= FL_PROTO_COUNT))
		return 0;
	if (!fl_port_set_valid(&s->ports) || !fl_port_set_valid(&s->local_ports) ||
	    !fl_port_set_valid(&s->remote_ports))
		return 0;
	if (s->n_cidrs > FL_CIDRS_MAX)
		return 0;
	for (unsigned i = 0; i < s->n_cidrs; i++)
		if ((s->cidrs[i].family != AF_INET || s->cidrs[i].prefixlen > 32) &&
		    (s->cidrs[i].family != AF_INET6 || s->cidrs[i].prefixlen > 128))
			return 0;
	if (s->share_ppb > FL_PPB_100 || s->loss.ppb > FL_PPB_100 ||
	    s->loss.corr_ppb > FL_PPB_100 || s->duplicate.ppb > FL_PPB_100 ||
	    s->duplicate.corr_ppb > FL_PPB_100 || s->corrupt.ppb > FL_PPB_100)
		return 0;
	if (s->loss.model < FL_LOSS_RANDOM || s->loss.model > FL_LOSS_4STATE)
		return 0;
	if (s->delay.ns > FL_DELAY_MAX_NS || s->delay.jitter_ns > FL_JITTER_MAX_NS ||
	    s->delay.corr_ppb > FL_PPB_100 || s->delay.dist > FL_DIST_PARETONORMAL)
		return 0;
	/* reorder sends some packets ahead of the delayed ones: it needs a delay */
	if (s->reorder.ppb > FL_PPB_100 || s->reorder.corr_ppb > FL_PPB_100 ||
	    (s->reorder.ppb && !s->delay.ns && !s->delay.jitter_ns))
		return 0;
	if (s->rate.bits_per_sec &&
	    (s->rate.bits_per_sec < FL_RATE_MIN_BPS || s->rate.bits_per_sec > FL_RATE_MAX_BPS))
		return 0;
	for (int i = 0; i < 5; i++)
		if (s->loss.p_ppb[i] > FL_PPB_100)
			return 0;
	return valid_errors(s);
}

void fl_loss_model_defaults(struct fl_rule_spec *s, int given)
{
	uint32_t *p = s->loss.p_ppb;

	if (s->loss.model == FL_LOSS_GEMODEL) {
		/* tc-netem(8): r = 100%, 1-h = 100%, 1-k = 0 */
		if (given < 2)
			p[1] = FL_PPB_100;
		if (given < 3)
			p[2] = FL_PPB_100;
		if (given < 4)
			p[3] = 0;
	} else if (s->loss.model == FL_LOSS_4STATE) {
		/* tc-netem(8): p31 = 1 - p13, p32 = 0, p23 = 1, p14 = 0 */
		if (given < 2)
			p[1] = FL_PPB_100 - p[0];
		if (given < 3)
			p[2] = 0;
		if (given < 4)
			p[3] = FL_PPB_100;
		if (given < 5)
			p[4] = 0;
	}
}

uint64_t fl_rate_burst(const struct fl_rule_spec *s)
{
	/* a smaller bucket than one TSO super-packet (which tc sees whole)
	 * would drop every one of them and stall the connection */
	uint64_t min_burst =
	    s->protocol == FL_PROTO_UDP || s->protocol == FL_PROTO_ICMP ? 2 * 1514 : 65536;
	uint64_t burst = s->rate.bits_per_sec / 8 / 100;

	if (s->rate.burst_bytes)
		return s->rate.burst_bytes;
	return burst < min_burst ? min_burst : burst;
}

_Static_assert(FL_DIST_SIZE == FL_DIST_ENTRIES, "distribution table size");

/* The owner-exit watchdog (bpf/watchdog.bpf.c): on kill -9 the classifier
 * stops delaying within microseconds instead of when the kernel detaches
 * it. Optional: where the kernel refuses raw tracepoints, the classifier's
 * ring-stall rule (FL_DELAY_STALL_NS) is the fallback. */
static void watchdog_start(struct fl_engine *e)
{
	struct fl_watchdog *w = fl_watchdog__open();
	struct stat st;

	if (!w)
		return;
	if (stat("/proc/self/ns/pid", &st))
		goto fail;
	w->rodata->fl_owner_tgid = (uint32_t)getpid();
	w->rodata->fl_pidns_dev = (uint64_t)st.st_dev;
	w->rodata->fl_pidns_ino = (uint64_t)st.st_ino;
	if (bpf_map__reuse_fd(w->maps.fl_owner_exit, bpf_map__fd(e->skel->maps.fl_owner_exit)) ||
	    fl_watchdog__load(w))
		goto fail;
	e->watch_link =
	    bpf_program__attach_raw_tracepoint(w->progs.fl_watch_exit, "sched_process_exit");
	if (!e->watch_link)
		goto fail;
	e->watch = w;
	return;
fail:
	fl_watchdog__destroy(w);
}

int fl_engine__watchdog(const struct fl_engine *e)
{
	return e->watch != NULL;
}

/* What a delay rule needs before the classifier may see it: its jitter
 * distribution's table, and for ingress the program on lo that puts the
 * delay line's frames back into their device's ingress. */
static int delay_prepare(struct fl_engine *e, const struct fl_rule_spec *s)
{
	unsigned d = s->delay.dist;
	int r;

	if (d != FL_DIST_UNIFORM && !(e->dists & (1u << d))) {
		r = fl_dist_table((enum fl_dist)d, e->skel->bss->fl_dist_tables[(d - 1) & 3]);
		if (r)
			return r;
		e->dists |= 1u << d;
	}
	if ((s->dir_mask & FL_DIRMASK_INGRESS) && !e->reinject) {
		struct fl_attachment *a = calloc(1, sizeof(*a));
		int lo = (int)if_nametoindex("lo");

		if (!a)
			return -ENOMEM;
		if (!lo) {
			free(a);
			return -ENODEV;
		}
		r = fl_attach(e->run_dir, e->mode, bpf_program__fd(e->skel->progs.fl_reinject), lo,
			      FL_DIR_EGRESS, a);
		if (r) {
			free(a);
			return r;
		}
		if (e->n_att == FL_MAX_ATTACHMENTS) {
			undo_attachment(e, (uintptr_t)a);
			return -E2BIG;
		}
		e->att[e->n_att++] = a;
		r = fl_undo_push(&e->undo, undo_attachment, e, (uintptr_t)a);
		if (r) {
			undo_attachment(e, (uintptr_t)a);
			return r;
		}
		e->reinject = 1;
		e->reinject_att = a;
	}
	return 0;
}

int fl_engine__prepare(struct fl_engine *e, const struct fl_rule_spec *spec)
{
	int r;

	if (!spec->delay.ns && !spec->delay.jitter_ns)
		return 0;
	r = delay_prepare(e, spec);
	if (r)
		return r;
	if (!e->dl && !e->no_delay_line)
		r = fl_delay_line__start(bpf_map__fd(e->skel->maps.fl_delay_rb), e->rank, &e->dl);
	return r;
}

static void fill_rule(struct fl_rule *rule, const struct fl_rule_spec *s)
{
	memset(rule, 0, sizeof(*rule));
	if (s->has_seed)
		rule->flags |= FL_RULE_SEEDED;
	if (s->loss.model != FL_LOSS_RANDOM || s->loss.ppb) {
		rule->actions |= FL_ACT_LOSS;
		rule->loss_model = (__u32)s->loss.model;
		rule->loss_thresh = thresh(s->loss.ppb);
		rule->loss_corr = corr32(s->loss.corr_ppb);
		for (int i = 0; i < 5; i++)
			rule->loss_p[i] = thresh(s->loss.p_ppb[i]);
	}
	if (s->duplicate.ppb) {
		rule->actions |= FL_ACT_DUPLICATE;
		rule->dup_thresh = thresh(s->duplicate.ppb);
		rule->dup_corr = corr32(s->duplicate.corr_ppb);
	}
	if (s->corrupt.ppb) {
		rule->actions |= FL_ACT_CORRUPT;
		rule->corrupt_thresh = thresh(s->corrupt.ppb);
		if (s->corrupt.payload)
			rule->flags |= FL_RULE_CORRUPT_PAYLOAD;
	}
	if (s->delay.ns || s->delay.jitter_ns) {
		rule->actions |= FL_ACT_DELAY;
		rule->delay_ns = s->delay.ns;
		rule->jitter_ns = s->delay.jitter_ns;
		rule->delay_corr = corr32(s->delay.corr_ppb);
		rule->delay_dist = s->delay.dist;
		if (s->reorder.ppb) {
			rule->reorder_thresh = thresh(s->reorder.ppb);
			rule->reorder_corr = corr32(s->reorder.corr_ppb);
			rule->reorder_gap = s->reorder.gap ? s->reorder.gap : 1;
		}
	}
	if (s->reset.on) {
		rule->actions |= FL_ACT_RESET;
		rule->err_thresh = thresh(s->reset.ppb ? s->reset.ppb : FL_PPB_100);
		rule->reset_after_bytes = s->reset.after_bytes;
		rule->reset_after_ns = s->reset.after_ns;
	}
	if (s->dns.rcode) {
		rule->actions |= FL_ACT_DNS;
		rule->err_thresh = thresh(s->dns.ppb ? s->dns.ppb : FL_PPB_100);
		rule->dns_rcode = (__u8)s->dns.rcode;
		rule->dns_port = s->dns.port ? s->dns.port : 53;
		if (s->dns.domains[0])
			rule->err_flags |= FL_ERR_DNS_DOMAINS;
	}
	if (s->http.on) {
		rule->actions |= FL_ACT_HTTP;
		rule->err_thresh = thresh(s->http.ppb ? s->http.ppb : FL_PPB_100);
		rule->http_status = (__u16)s->http.status;
		rule->http_path_len = (__u8)strnlen(s->http.path, FL_HTTP_PATH_MAX);
	}
	if (s->rate.bits_per_sec) {
		uint64_t burst = fl_rate_burst(s);

		rule->actions |= FL_ACT_RATE;
		rule->rate_ns_per_mbyte = (8ull << 20) * 1000000000ull / s->rate.bits_per_sec;
		rule->rate_burst_ns =
		    (uint64_t)((double)burst * 8e9 / (double)s->rate.bits_per_sec);
	}
}

int fl_engine__add_rule(struct fl_engine *e, const struct fl_rule_spec *spec, uint64_t now_ns,
			uint64_t lease_ns, int *id_out)
{
	struct fl_classifier__bss *bss = e->skel->bss;
	struct fl_rule rule;
	int id, r;

	if (!valid_spec(spec))
		return -EINVAL;
	if (e->used == ~0ull)
		return -ENOSPC;
	id = __builtin_ctzll(~e->used);

	fill_rule(&rule, spec);
	if (rule.actions & FL_ACT_DELAY) {
		r = fl_engine__prepare(e, spec);
		if (r)
			return r;
		if (e->dl)
			fl_delay_line__reset_rule(e->dl, id, spec->delay.limit);
	}
	rule.until_ns = fl_rule_deadline(spec->end_ns, now_ns, lease_ns);
	e->specs[id] = *spec;
	r = reset_state(e, spec, id);
	if (r)
		return r;
	zero_counters(e, id);
	/* http --path, and a fresh generation of the rule's fl_conns keys
	 * (entries of an earlier rule of this id are never seen again) */
	memset(bss->fl_http_paths[id], 0, sizeof(bss->fl_http_paths[id]));
	memcpy(bss->fl_http_paths[id], spec->http.path, rule.http_path_len);
	bss->fl_conn_gen[id] = (bss->fl_conn_gen[id] + 1) & 0xffffff;
	bss->fl_rules[id] = rule;
	e->used |= 1ull << id; /* before the maps: sync_cgroup() reads it */
	if (spec->n_cidrs) {
		r = set_prefixes(e, spec, id, 1);
		if (r) {
			e->used &= ~(1ull << id);
			set_prefixes(e, spec, id, 0);
			return r;
		}
	}
	if (spec->cgroup_id) {
		r = sync_cgroup(e, spec->cgroup_id);
		if (r) {
			e->used &= ~(1ull << id);
			if (spec->n_cidrs)
				set_prefixes(e, spec, id, 0);
			sync_cgroup(e, spec->cgroup_id);
			return r;
		}
	}
	if (has_domains(spec)) {
		r = sync_dns_names(e);
		if (r) {
			e->used &= ~(1ull << id);
			if (spec->n_cidrs)
				set_prefixes(e, spec, id, 0);
			if (spec->cgroup_id)
				sync_cgroup(e, spec->cgroup_id);
			sync_dns_names(e);
			return r;
		}
	}
	write_bits(e, spec, id, 1);
	/* visible last: every table the packet path reads is in place */
	__atomic_fetch_or(&bss->fl_tables.active, 1ull << id, __ATOMIC_RELEASE);
	e->until_ns[id] = rule.until_ns;

	r = fl_undo_push(&e->undo, undo_rule, e, (uintptr_t)id);
	if (r) {
		rule_teardown(e, id);
		return r;
	}
	if (id_out)
		*id_out = id;
	return 0;
}

int fl_engine__protect_port(struct fl_engine *e, uint16_t port)
{
	struct fl_match_tables *t = &e->skel->bss->fl_tables;

	if (!port)
		return -EINVAL;
	for (int i = 0; i < FL_MGMT_PORTS_MAX; i++) {
		if (t->mgmt_ports[i] == port)
			return 0;
		if (!t->mgmt_ports[i]) {
			__atomic_store_n(&t->mgmt_ports[i], port, __ATOMIC_RELEASE);
			return 0;
		}
	}
	return -ENOSPC;
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
		    (!e->specs[id].end_ns || e->until_ns[id] < e->specs[id].end_ns))
			return -ETIME;
	}
	for (int id = 0; id < FL_MAX_RULES; id++) {
		if (!(e->used & (1ull << id)))
			continue;
		e->until_ns[id] = fl_rule_deadline(e->specs[id].end_ns, now_ns, lease_ns);
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
		out->bytes += per_cpu[c].bytes;
		out->expired += per_cpu[c].expired;
		out->dropped += per_cpu[c].dropped;
		out->rate_dropped += per_cpu[c].rate_dropped;
		out->corrupted += per_cpu[c].corrupted;
		out->duplicated += per_cpu[c].duplicated;
		out->delayed += per_cpu[c].delayed;
		out->delay_overflow += per_cpu[c].delay_overflow;
		out->reordered += per_cpu[c].reordered;
		out->rewritten += per_cpu[c].rewritten;
		out->reset += per_cpu[c].reset;
		out->refused += per_cpu[c].refused;
	}
	free(per_cpu);
	return 0;
}

int fl_engine__delay_stats(struct fl_engine *e, int id, struct fl_delay_stats *out)
{
	if (id < 0 || id >= FL_MAX_RULES)
		return -EINVAL;
	if (!e->dl) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	fl_delay_line__stats(e->dl, id, out);
	return 0;
}

int fl_engine__delay_ring_fd(const struct fl_engine *e)
{
	return bpf_map__fd(e->skel->maps.fl_delay_rb);
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

int fl_engine__reinject_fd(const struct fl_engine *e)
{
	return bpf_program__fd(e->skel->progs.fl_reinject);
}

int fl_engine__baseline_fd(const struct fl_engine *e)
{
	return bpf_program__fd(e->skel->progs.fl_baseline);
}

void fl_engine__close(struct fl_engine *e)
{
	if (!e)
		return;
	/* every rule inert first: nothing enters the delay line any more;
	 * what it holds is sent now, early rather than never, while lo's
	 * re-inject program still takes ingress frames home; then detach */
	if (e->dl) {
		__atomic_store_n(&e->skel->bss->fl_tables.active, 0, __ATOMIC_RELEASE);
		fl_delay_line__stop(e->dl);
	}
	fl_undo_all(&e->undo);
	bpf_link__destroy(e->watch_link);
	fl_watchdog__destroy(e->watch);
	fl_classifier__destroy(e->skel);
	free(e);
}
