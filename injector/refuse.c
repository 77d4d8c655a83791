/*
 * injector/refuse.c - the refuse fault: connect() fails with a chosen errno
 * (faultline/refuse.h; the programs are bpf/sockaddr.bpf.c).
 *
 * One handle = one instance of the object (its own rule in .bss, its own
 * counters) and its two cgroup links. The links come from
 * bpf_link_create() and are owned by this process's descriptors: the
 * kernel detaches them when the last descriptor goes, on close or on any
 * death, kill -9 included. (A child forked without exec inherits them and
 * keeps the programs attached until it too exits or closes them.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "faultline/probe.h" /* fl_feature_disabled() */
#include "faultline/refuse.h"
#include "sockaddr.skel.h"

/* The rule as the programs see it (an anonymous struct in their .bss). */
typedef __typeof__(((struct fl_sockaddr__bss *)0)->fl_refuse_rule) fl_bpf_rule;

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
_Static_assert(N_OF(((fl_bpf_rule *)0)->ports_lo) == FL_PORT_RANGES_MAX,
	       "bpf/sockaddr.bpf.c FL_RANGES");
_Static_assert(N_OF(((fl_bpf_rule *)0)->cidr4_net) == FL_CIDRS_MAX, "bpf/sockaddr.bpf.c FL_CIDRS");

/* bpf/sockaddr.bpf.c's fl_refuse_rule.proto */
#define FL_REFUSE_TCP (1u << 0)
#define FL_REFUSE_UDP (1u << 1)

#define FL_ERRNO_MAX 4095 /* the kernel's MAX_ERRNO */

struct fl_refuse {
	struct fl_sockaddr *skel;
	int link4, link6; /* -1: not attached */
	int ncpus;
	int live;	   /* a rule is set (not cleared) */
	uint64_t until_ns; /* last deadline written */
	uint64_t end_ns;   /* the rule's end; 0: none */
	int eperm;	   /* the fl_refuse_eperm* programs: no bpf_set_retval */
};

/* The object with either pair of programs loaded; NULL with errno. */
static struct fl_sockaddr *load(int eperm)
{
	struct fl_sockaddr *skel = fl_sockaddr__open();
	int err;

	if (!skel)
		return NULL;
	bpf_program__set_autoload(skel->progs.fl_refuse_connect4, !eperm);
	bpf_program__set_autoload(skel->progs.fl_refuse_connect6, !eperm);
	bpf_program__set_autoload(skel->progs.fl_refuse_eperm4, eperm);
	bpf_program__set_autoload(skel->progs.fl_refuse_eperm6, eperm);
	err = fl_sockaddr__load(skel);
	if (err) {
		fl_sockaddr__destroy(skel);
		errno = err < 0 ? -err : err;
		return NULL;
	}
	return skel;
}

int fl_refuse__open(struct fl_refuse **out)
{
	struct fl_refuse *r;
	int err;

	if (!out)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->link4 = r->link6 = -1;
	r->ncpus = libbpf_num_possible_cpus();
	if (r->ncpus <= 0) {
		err = r->ncpus ? r->ncpus : -EINVAL;
		goto fail;
	}
	/* a kernel without bpf_set_retval (before 5.18) rejects the first
	 * pair with EINVAL ("unknown func"); EPERM is no reason to try again */
	r->eperm = fl_feature_disabled("bpf_set_retval");
	r->skel = r->eperm ? NULL : load(0);
	if (!r->skel && (r->eperm || errno == EINVAL)) {
		r->eperm = 1;
		r->skel = load(1);
	}
	if (!r->skel) {
		err = errno ? -errno : -EINVAL;
		goto fail;
	}
	*out = r;
	return 0;
fail:
	free(r);
	return err;
}

int fl_refuse__attach(struct fl_refuse *r, const char *cgroup_dir)
{
	int cg, l4, l6;

	if (!r || !cgroup_dir || cgroup_dir[0] != '/')
		return -EINVAL;
	if (r->link4 >= 0 || r->link6 >= 0)
		return -EBUSY;
	cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return -errno;
	/* libbpf 1.1 returns -errno from bpf_link_create() */
	l4 = bpf_link_create(fl_refuse__prog_fd(r, 0), cg, BPF_CGROUP_INET4_CONNECT, NULL);
	if (l4 < 0) {
		close(cg);
		return l4;
	}
	l6 = bpf_link_create(fl_refuse__prog_fd(r, 1), cg, BPF_CGROUP_INET6_CONNECT, NULL);
	/* the links hold the cgroup; the directory descriptor is not needed */
	close(cg);
	if (l6 < 0) {
		close(l4); /* the only reference: the IPv4 program is detached */
		return l6;
	}
	r->link4 = l4;
	r->link6 = l6;
	return 0;
}

/* ppb -> threshold over 2^32, exact at 0 and 100%; 0 ppb means all here */
static uint64_t thresh(uint32_t ppb)
{
	if (!ppb || ppb >= FL_PPB_100)
		return FL_PROB_ALWAYS;
	return ((uint64_t)ppb << 32) / FL_PPB_100;
}

static int valid_spec(const struct fl_rule_spec *s)
{
	if (s->refuse.err <= 0 || s->refuse.err > FL_ERRNO_MAX || s->refuse.ppb > FL_PPB_100)
		return 0;
	/* connect() knows the remote side only, and TCP and UDP sockets run
	 * the hooks (ICMP ping sockets too, but a refused ping is no fault
	 * anyone asks for) */
	if (s->local_ports.n)
		return 0;
	if (s->protocol != FL_PROTOCOL_ANY && s->protocol != FL_PROTO_TCP &&
	    s->protocol != FL_PROTO_UDP)
		return 0;
	/* a share of flows needs a flow; refuse.ppb is the share of calls */
	if (s->share_ppb && s->share_ppb != FL_PPB_100)
		return 0;
	if (!fl_port_set_valid(&s->ports) || !fl_port_set_valid(&s->remote_ports))
		return 0;
	if (s->n_cidrs > FL_CIDRS_MAX)
		return 0;
	for (unsigned i = 0; i < s->n_cidrs; i++)
		if ((s->cidrs[i].family != AF_INET || s->cidrs[i].prefixlen > 32) &&
		    (s->cidrs[i].family != AF_INET6 || s->cidrs[i].prefixlen > 128))
			return 0;
	return 1;
}

/* A prefix as network-order words and their masks (IPv4: words = 1). */
static void prefix_words(const struct fl_cidr *c, int words, uint32_t *net, uint32_t *mask)
{
	for (int w = 0; w < words; w++) {
		int bits = (int)c->prefixlen - 32 * w;
		uint8_t m[4];

		for (int b = 0; b < 4; b++) {
			int k = bits - 8 * b;

			m[b] = k >= 8 ? 0xff : k <= 0 ? 0 : (uint8_t)(0xff << (8 - k));
		}
		memcpy(&mask[w], m, 4);
		memcpy(&net[w], c->addr + 4 * w, 4);
		net[w] &= mask[w];
	}
}

static void fill_rule(fl_bpf_rule *b, const struct fl_rule_spec *s)
{
	memset(b, 0, sizeof(*b));
	b->err = (uint32_t)s->refuse.err;
	b->thresh = thresh(s->refuse.ppb);
	b->proto = s->protocol == FL_PROTO_TCP	 ? FL_REFUSE_TCP
		   : s->protocol == FL_PROTO_UDP ? FL_REFUSE_UDP
						 : FL_REFUSE_TCP | FL_REFUSE_UDP;
	b->n_ports = (uint16_t)s->ports.n;
	for (unsigned i = 0; i < s->ports.n; i++) {
		b->ports_lo[i] = s->ports.r[i].lo;
		b->ports_hi[i] = s->ports.r[i].hi;
	}
	b->n_rports = (uint16_t)s->remote_ports.n;
	for (unsigned i = 0; i < s->remote_ports.n; i++) {
		b->rports_lo[i] = s->remote_ports.r[i].lo;
		b->rports_hi[i] = s->remote_ports.r[i].hi;
	}
	if (!s->allow_management)
		b->mgmt_ports[0] = 22;
	for (unsigned i = 0; i < s->n_cidrs; i++) {
		const struct fl_cidr *c = &s->cidrs[i];

		if (c->family == AF_INET) {
			prefix_words(c, 1, &b->cidr4_net[b->n_cidr4], &b->cidr4_mask[b->n_cidr4]);
			b->n_cidr4++;
		} else {
			prefix_words(c, 4, b->cidr6_net[b->n_cidr6], b->cidr6_mask[b->n_cidr6]);
			b->n_cidr6++;
		}
	}
}

static void zero_counters(struct fl_refuse *r)
{
	struct fl_counters *zero = calloc((size_t)r->ncpus, sizeof(*zero));
	__u32 key = 0;

	/* without memory the old counts stay: wrong numbers, not a fault */
	if (!zero)
		return;
	bpf_map_update_elem(bpf_map__fd(r->skel->maps.fl_refuse_counters), &key, zero, BPF_ANY);
	free(zero);
}

/*
 * The programs read gen before and after the rule and pass the call when
 * it was odd or changed (bpf/sockaddr.bpf.c), so a rule is replaced
 * between write_begin() and write_end() without any connect() being
 * judged by a mixture of two rules. On x86 stores are seen in program
 * order; the fences keep the compiler from reordering them.
 */
static void write_begin(fl_bpf_rule *b)
{
	__atomic_store_n(&b->gen, b->gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* inert even for a reader that ignored gen */
	__atomic_store_n(&b->until_ns, 0, __ATOMIC_RELEASE);
}

static void write_end(fl_bpf_rule *b, uint64_t until_ns)
{
	__atomic_store_n(&b->until_ns, until_ns, __ATOMIC_RELEASE);
	__atomic_store_n(&b->gen, b->gen + 1, __ATOMIC_RELEASE);
}

int fl_refuse__set_rule(struct fl_refuse *r, const struct fl_rule_spec *spec, uint64_t now_ns,
			uint64_t lease_ns)
{
	fl_bpf_rule *b, next;
	uint64_t until;

	if (!r || !spec || !valid_spec(spec))
		return -EINVAL;
	b = &r->skel->bss->fl_refuse_rule;
	fill_rule(&next, spec);
	until = fl_rule_deadline(spec->end_ns, now_ns, lease_ns);

	write_begin(b);
	b->err = next.err;
	/* everything after until_ns: gen and until_ns are the protocol's */
	memcpy(&b->thresh, &next.thresh, sizeof(next) - offsetof(fl_bpf_rule, thresh));
	zero_counters(r);
	write_end(b, until);

	r->live = 1;
	r->until_ns = until;
	r->end_ns = spec->end_ns;
	return 0;
}

void fl_refuse__clear_rule(struct fl_refuse *r)
{
	if (!r)
		return;
	/* until_ns 0 is inert: the programs pass every call uncounted */
	__atomic_store_n(&r->skel->bss->fl_refuse_rule.until_ns, 0, __ATOMIC_RELEASE);
	r->live = 0;
	r->until_ns = 0;
}

int fl_refuse__renew(struct fl_refuse *r, uint64_t now_ns, uint64_t lease_ns)
{
	if (!r)
		return -EINVAL;
	if (!r->live)
		return 0;
	/* The deadline passed before the end: we were frozen or starved past
	 * our lease and the program stopped refusing meanwhile. */
	if (now_ns >= r->until_ns && (!r->end_ns || r->until_ns < r->end_ns))
		return -ETIME;
	r->until_ns = fl_rule_deadline(r->end_ns, now_ns, lease_ns);
	/* one aligned 8-byte store: the program sees the old or the new one */
	__atomic_store_n(&r->skel->bss->fl_refuse_rule.until_ns, r->until_ns, __ATOMIC_RELEASE);
	return 0;
}

int fl_refuse__counters(struct fl_refuse *r, struct fl_counters *out)
{
	struct fl_counters *per_cpu;
	__u32 key = 0;
	int err;

	if (!r || !out)
		return -EINVAL;
	per_cpu = calloc((size_t)r->ncpus, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.fl_refuse_counters), &key, per_cpu)) {
		err = -errno;
		free(per_cpu);
		return err;
	}
	memset(out, 0, sizeof(*out));
	for (int c = 0; c < r->ncpus; c++) {
		out->matched += per_cpu[c].matched;
		out->expired += per_cpu[c].expired;
		out->refused += per_cpu[c].refused;
	}
	free(per_cpu);
	return 0;
}

int fl_refuse__prog_fd(const struct fl_refuse *r, int family6)
{
	if (!r)
		return -EINVAL;
	if (r->eperm)
		return bpf_program__fd(family6 ? r->skel->progs.fl_refuse_eperm6
					       : r->skel->progs.fl_refuse_eperm4);
	return bpf_program__fd(family6 ? r->skel->progs.fl_refuse_connect6
				       : r->skel->progs.fl_refuse_connect4);
}

int fl_refuse__errno_fixed(const struct fl_refuse *r)
{
	return r && r->eperm ? EPERM : 0;
}

void fl_refuse__close(struct fl_refuse *r)
{
	if (!r)
		return;
	/* closing the last descriptor of a link detaches it */
	if (r->link4 >= 0)
		close(r->link4);
	if (r->link6 >= 0)
		close(r->link6);
	fl_sockaddr__destroy(r->skel);
	free(r);
}
