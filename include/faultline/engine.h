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
};

#define FL_DIRMASK_INGRESS (1u << FL_DIR_INGRESS)
#define FL_DIRMASK_EGRESS  (1u << FL_DIR_EGRESS)
#define FL_DIRMASK_BOTH	   (FL_DIRMASK_INGRESS | FL_DIRMASK_EGRESS)

#define FL_PROTOCOL_ANY (-1)

/* What a rule matches and does, in user-space terms. */
struct fl_rule_spec {
	unsigned dir_mask;	  /* FL_DIRMASK_* */
	int protocol;		  /* FL_PROTOCOL_ANY or FL_PROTO_TCP/UDP/ICMP */
	struct fl_port_set ports; /* n == 0: any port; else either side of the flow */
	uint32_t loss_ppb;	  /* loss probability, parts per billion */
	uint64_t end_ns;	  /* CLOCK_MONOTONIC end of the fault; 0: none */
};

struct fl_engine;

int fl_engine__open(const struct fl_engine_opts *opts, struct fl_engine **out);

/* Attach the classifier to ifindex in the directions of dir_mask. On failure
 * whatever this call attached is detached again before it returns. */
int fl_engine__attach(struct fl_engine *e, int ifindex, unsigned dir_mask);

/* Install a rule, live until min(spec->end_ns, now_ns + lease_ns). */
int fl_engine__add_rule(struct fl_engine *e, const struct fl_rule_spec *spec, uint64_t now_ns,
			uint64_t lease_ns, int *id);

/* Renew every rule's deadline to min(end, now_ns + lease_ns). Returns
 * -ETIME when some rule's previous deadline had already passed before its
 * end (the lease lapsed: the fault was interrupted); the deadlines are then
 * left as they are. */
int fl_engine__renew(struct fl_engine *e, uint64_t now_ns, uint64_t lease_ns);

/* Sum of the per-CPU counters of rule id. */
int fl_engine__counters(struct fl_engine *e, int id, struct fl_counters *out);

/* -ENODEV when an interface the engine is attached to has gone away. */
int fl_engine__check(struct fl_engine *e);

/* "tcx" or "clsact": how the last attach was made. */
const char *fl_engine__attach_mode(const struct fl_engine *e);

/* The classifier program of a direction (FL_DIR_*), for
 * bpf_prog_test_run_opts() in tests and benchmarks. */
int fl_engine__prog_fd(const struct fl_engine *e, int dir);
/* A program of the same object that only returns: the benchmarks' baseline. */
int fl_engine__baseline_fd(const struct fl_engine *e);

/* Roll back everything (rules, attachments, journal entries) and free. */
void fl_engine__close(struct fl_engine *e);

/* Remove what dead faultline processes left in the journal under run_dir
 * (NULL: default). Returns the number of leftovers removed, or -errno. */
int fl_journal_replay(const char *run_dir);

/* CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns(). */
uint64_t fl_now_ns(void);

#endif
