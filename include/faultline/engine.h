/*
 * faultline/engine.h - the injector engine: load the classifier, attach it,
 * write rules, renew their lease, read counters, roll back.
 *
 * Safety by construction (DESIGN.md section 2):
 *  - attachments are tcx links owned by this process's file descriptors: when
 *    the process dies for any reason the kernel detaches them;
 *  - clsact (only where tcx is missing, or when asked) is not owned by a
 *    descriptor, so it is journaled under <run_dir>/journal *before* it is
 *    created, and fl_journal_replay() removes the leftovers of dead processes;
 *  - every rule has a deadline checked in BPF: min(end, now + lease). The
 *    caller renews it while healthy; a frozen caller stops faulting within
 *    the lease;
 *  - every step that succeeds pushes its undo; a failure half-way and
 *    fl_engine__close() run the undo steps in reverse.
 *
 * Like libbpf: functions return 0 or a negative errno and never print.
 */
#ifndef FAULTLINE_ENGINE_H
#define FAULTLINE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "faultline/rule.h"
#include "faultline/units.h"

#define FL_RUN_DIR_DEFAULT "/run/faultline"

enum fl_attach_mode {
	FL_ATTACH_AUTO = 0, /* tcx, else clsact */
	FL_ATTACH_TCX,
	FL_ATTACH_CLSACT,
};

struct fl_engine_opts {
	size_t sz; /* sizeof(struct fl_engine_opts) */
	enum fl_attach_mode mode;
	const char *run_dir; /* journal location; NULL: FL_RUN_DIR_DEFAULT */
	/* tests: no delay-line thread; the caller reads the ring itself
	 * (fl_engine__delay_ring_fd) */
	int no_delay_line;
	/* the classifier's place when several are stacked on one hook, in
	 * attach order (FL_RANK_MASK in faultline/rule.h): 1..FL_RANK_MAX;
	 * 0: 1 */
	unsigned rank;
};

#define FL_DIRMASK_INGRESS (1u << FL_DIR_INGRESS)
#define FL_DIRMASK_EGRESS  (1u << FL_DIR_EGRESS)
#define FL_DIRMASK_BOTH	   (FL_DIRMASK_INGRESS | FL_DIRMASK_EGRESS)

#define FL_PROTOCOL_ANY (-1)

/* A remote address prefix (--cidr, --host). */
struct fl_cidr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t prefixlen;
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
};
#define FL_CIDRS_MAX 16

/* dns actions: an rcode, or FL_DNS_RCODE_DROP (the response vanishes). */
#define FL_DNS_RCODE_SERVFAIL 2
#define FL_DNS_RCODE_NXDOMAIN 3
#define FL_DNS_RCODE_REFUSED  5
#define FL_DNS_RCODE_DROP     FL_DNS_DROP
#define FL_DNS_DOMAINS_TEXT   1024

/* What a rule matches and does, in user-space terms. Zero means "not
 * constrained" / "no such action" for every field. */
struct fl_rule_spec {
	/* match */
	unsigned dir_mask;		 /* FL_DIRMASK_* */
	int protocol;			 /* FL_PROTOCOL_ANY or FL_PROTO_TCP/UDP/ICMP */
	struct fl_port_set ports;	 /* either side of the flow */
	struct fl_port_set local_ports;	 /* this host's side */
	struct fl_port_set remote_ports; /* the peer's side */
	unsigned n_cidrs;		 /* remote addresses */
	struct fl_cidr cidrs[FL_CIDRS_MAX];
	uint64_t cgroup_id;   /* cgroup v2 id (inode); 0: any */
	uint32_t share_ppb;   /* share of flows; 0 or FL_PPB_100: all */
	int allow_management; /* may touch management ports */
	/* actions */
	struct {
		int model;    /* FL_LOSS_RANDOM, _GEMODEL, _4STATE */
		uint32_t ppb; /* FL_LOSS_RANDOM */
		uint32_t corr_ppb;
		uint32_t p_ppb[5]; /* gemodel: p, r, 1-h, 1-k; 4state: p13, p31, p32, p23, p14 */
	} loss;
	struct {
		uint32_t ppb, corr_ppb;
	} duplicate;
	struct {
		uint32_t ppb;
		int payload;
	} corrupt;
	struct {
		uint64_t bits_per_sec; /* 0: no rate action */
		uint64_t burst_bytes;  /* 0: default */
	} rate;
	struct {
		uint64_t ns;	    /* 0 with jitter_ns 0: no delay action */
		uint64_t jitter_ns; /* sigma of the distribution (uniform: +-jitter) */
		uint32_t corr_ppb;  /* correlation of successive delays */
		uint32_t dist;	    /* enum fl_dist (faultline/dist.h); 0 uniform */
		uint32_t limit;	    /* frames held at once; 0: FL_DELAY_LIMIT_DEFAULT */
	} delay;
	struct {
		uint32_t ppb; /* share sent at once, undelayed (needs a delay) */
		uint32_t corr_ppb;
		uint32_t gap; /* netem's gap; 0 with ppb set: 1 */
	} reorder;
	/* errors (docs/errors.md); a rule with one has no other action, but
	 * http may carry delay (the first segment of each chosen response) */
	struct {
		int err;      /* refuse: connect() fails with this errno; 0: no refuse */
		uint32_t ppb; /* share of the connect() calls; 0: all */
	} refuse;
	struct {
		int on;
		uint32_t ppb; /* share of the connections (by flow hash); 0: all */
		uint64_t after_bytes;
		uint64_t after_ns;
	} reset;
	struct {
		int rcode;     /* FL_DNS_RCODE_*; 0: no dns action */
		uint16_t port; /* the server's port; 0: 53 */
		uint32_t ppb;  /* share of the responses; 0: all */
		/* --domain patterns, comma-separated ("example.com,*.svc.local");
		 * "": every name */
		char domains[FL_DNS_DOMAINS_TEXT];
	} dns;
	struct {
		int on;
		int status;			 /* 100..999; 0: kept (delay only) */
		uint32_t ppb;			 /* share of the responses; 0: all */
		char path[FL_HTTP_PATH_MAX + 1]; /* request path prefix; "": any */
	} http;
	int has_seed; /* reproducible decisions from seed (per CPU) */
	uint64_t seed;
	uint64_t end_ns; /* CLOCK_MONOTONIC end of the fault; 0: none */
};

/* Resolve netem's defaults for the Gilbert-Elliott and 4-state models
 * (given: how many of p_ppb[] the user wrote). */
void fl_loss_model_defaults(struct fl_rule_spec *spec, int given);

/* The rates the policer counts exactly (to 0.01%) without overflow: it
 * keeps the ns per MiB as an integer and multiplies it by the frame length. */
#define FL_RATE_MIN_BPS 1000ull		 /* 1kbit */
#define FL_RATE_MAX_BPS 1000000000000ull /* 1tbit */

/* The token-bucket depth of a rate fault: rate.burst_bytes, or the default
 * (10 ms at the rate, at least two full frames for UDP/ICMP rules and one
 * 64 KiB TSO super-packet where TCP may be policed). */
uint64_t fl_rate_burst(const struct fl_rule_spec *spec);

/* netem's default queue limit. */
#define FL_DELAY_LIMIT_DEFAULT 1000u
#define FL_DELAY_MAX_NS	       (3600ull * 1000000000ull)

/* The delay line's counters of one rule (user space's side; the classifier
 * counts delayed and delay_overflow in struct fl_counters). */
struct fl_delay_stats {
	uint64_t received;	/* frames taken from the ring */
	uint64_t released;	/* frames sent at their due time (a duplicate counts twice) */
	uint64_t limit_dropped; /* arrived when --limit frames were held: dropped (netem) */
	uint64_t send_errors;	/* the packet socket refused it: lost */
	uint64_t held;		/* held now */
	uint64_t held_max;	/* most held at once */
	uint64_t late_sum_ns;	/* sum over released frames of (sent - due) */
	uint64_t late_max_ns;
	uint64_t backup_released; /* of released: sent by the backup thread (primary late) */
};

struct fl_engine;

int fl_engine__open(const struct fl_engine_opts *opts, struct fl_engine **out);

/* Attach the classifier to ifindex in the directions of dir_mask. On failure
 * whatever this call attached is detached again before it returns. */
int fl_engine__attach(struct fl_engine *e, int ifindex, unsigned dir_mask);

/* Detach the classifier from ifindex in the directions of dir_mask (what
 * fl_engine__attach() made); -ENOENT when it was not attached there. */
int fl_engine__detach(struct fl_engine *e, int ifindex, unsigned dir_mask);

/* Check a dns --domain list (comma-separated patterns "name.example" or
 * "*.example.com"; "" = every name): 0, or -EINVAL with why filled. */
int fl_dns_domains_check(const char *list, char *why, size_t len);

/* Install a rule, live until min(spec->end_ns, now_ns + lease_ns). */
int fl_engine__add_rule(struct fl_engine *e, const struct fl_rule_spec *spec, uint64_t now_ns,
			uint64_t lease_ns, int *id);

/* Do now what the first rule like spec would need before it can act (for a
 * delay: the jitter table, the delay line's threads, the owner watchdog and,
 * for ingress, the program on lo), so that add_rule() is quick later. */
int fl_engine__prepare(struct fl_engine *e, const struct fl_rule_spec *spec);

/* Renew every rule's deadline to min(end, now_ns + lease_ns). Returns
 * -ETIME when some rule's previous deadline had already passed before its
 * end (the lease lapsed: the fault was interrupted); the deadlines are then
 * left as they are. */
int fl_engine__renew(struct fl_engine *e, uint64_t now_ns, uint64_t lease_ns);

/* Never match these ports (either side) in rules that do not allow
 * management; port 22 is protected from the start. At most
 * FL_MGMT_PORTS_MAX ports; applies to rules added afterwards too. */
int fl_engine__protect_port(struct fl_engine *e, uint16_t port);

/* Remove rule id (its undo step stays harmless). */
int fl_engine__remove_rule(struct fl_engine *e, int id);

/* Sum of the per-CPU counters of rule id. */
int fl_engine__counters(struct fl_engine *e, int id, struct fl_counters *out);

/* The delay line's counters of rule id (zeros when it has no delay). */
int fl_engine__delay_stats(struct fl_engine *e, int id, struct fl_delay_stats *out);

/* The delay line's ring buffer map, for tests. */
int fl_engine__delay_ring_fd(const struct fl_engine *e);

/* -ENODEV when an interface the engine is attached to has gone away. */
int fl_engine__check(struct fl_engine *e);

/* "tcx" or "clsact": how the last attach was made. */
const char *fl_engine__attach_mode(const struct fl_engine *e);

/* The classifier program of a direction (FL_DIR_*), for
 * bpf_prog_test_run_opts() in tests and benchmarks. */
int fl_engine__prog_fd(const struct fl_engine *e, int dir);
/* A program of the same object that only returns: the benchmarks' baseline. */
int fl_engine__baseline_fd(const struct fl_engine *e);

/* 1 when the owner-exit watchdog runs (bpf/watchdog.bpf.c; started with
 * the first delay rule): on kill -9 delayed flows pass at once. */
int fl_engine__watchdog(const struct fl_engine *e);

/* fl_reinject, the program on lo's egress for ingress delay, for tests. */
int fl_engine__reinject_fd(const struct fl_engine *e);

/* Roll back everything (rules, attachments, journal entries) and free. */
void fl_engine__close(struct fl_engine *e);

/* Remove what dead faultline processes left in the journal under run_dir
 * (NULL: default). Returns the number of leftovers removed, or -errno. */
int fl_journal_replay(const char *run_dir);
/* Why the last clsact attach or fl_journal_replay() of this thread refused
 * the journal directory (a symbolic link, or not its user's alone: -ELOOP,
 * -EPERM), or NULL. */
const char *fl_attach_journal_refusal(void);

/* A rule's deadline: min(end_ns, now_ns + lease_ns), end_ns 0 meaning none
 * (shared with injector/refuse.c). */
uint64_t fl_rule_deadline(uint64_t end_ns, uint64_t now_ns, uint64_t lease_ns);

/* 1 when every range of ps is 1..65535 with lo <= hi and there are at most
 * FL_PORT_RANGES_MAX. */
int fl_port_set_valid(const struct fl_port_set *ps);

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns(). */
uint64_t fl_now_ns(void);

#endif
