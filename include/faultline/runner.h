/*
 * faultline/runner.h - run one experiment: a scenario's steady state checked
 * before, its fault steps applied on their timeline around an optional
 * command, its probes while the faults are live, the rollback, the steady
 * state after, and the record of all of it (struct fl_report).
 *
 * One runner serves `faultline run` and the daemon. The order is fixed:
 *
 *  0. (the caller) fl_journal_replay() removes what dead runs left;
 *  1. every step is compiled for this host (cgroups, pids, interfaces); a
 *     step that cannot be resolved fails the run with FL_RUN_EXIT_USAGE and
 *     nothing is touched;
 *  2. every probe runs once ("before"); one failure ends the run with
 *     FL_RUN_EXIT_STEADY: the hypothesis does not hold, nothing is injected
 *     and the command is not started;
 *  3. one classifier (struct fl_engine) per step is loaded and attached to
 *     the step's interfaces, with no rule yet, so that a step that cannot be
 *     attached fails before anything acts (FL_RUN_EXIT_INJECT, rolled back);
 *     a step per classifier makes overlapping steps compose, like stacked
 *     qdiscs, instead of the first rule shadowing the next;
 *  4. the timeline starts: each step's rule goes live at `at` and is removed
 *     at `at + for` (its deadline is also in the kernel, and renewed as a
 *     lease); the command starts in a fresh cgroup v2 of its own, which is
 *     what a `command: true` target matches; probes run on threads, each
 *     every `every`;
 *  5. it ends at the command's exit or at `duration`, whichever is first, or
 *     early: a probe failed more than max_failures times, a signal, the lease
 *     lapsed, an interface went away, a step could not be applied;
 *  6. rollback: every classifier is closed (rules, attachments, delay line),
 *     then a command still running gets SIGTERM and, after the grace time,
 *     SIGKILL with the rest of its cgroup, which is removed;
 *  7. every probe runs once more ("after").
 *
 * Exit codes (DESIGN.md section 8), first that applies: 130 a signal or a
 * stop request; 4 an
 * injection failure; 3 aborted by a probe; the command's own non-zero code;
 * 3 an "after" probe failed; 0.
 *
 * The runner never prints: it reports progress through on_event, called on
 * the thread that called fl_run() only.
 */
#ifndef FAULTLINE_RUNNER_H
#define FAULTLINE_RUNNER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultline/engine.h"
#include "faultline/error.h"
#include "faultline/report.h"
#include "faultline/pool.h"
#include "faultline/scenario.h"

#define FL_RUN_EXIT_OK	      0
#define FL_RUN_EXIT_USAGE     2
#define FL_RUN_EXIT_STEADY    3
#define FL_RUN_EXIT_INJECT    4
#define FL_RUN_EXIT_INTERRUPT 130

#define FL_RUN_LEASE_DEFAULT_NS 2000000000ull /* as inject's --lease */
#define FL_RUN_GRACE_DEFAULT_NS 5000000000ull /* SIGTERM to SIGKILL */

/* Where the runner makes the command's cgroup, under the cgroup2 mount. */
#define FL_RUN_CGROUP_PARENT "faultline"

enum fl_run_event_kind {
	FL_RUN_EV_STARTED,    /* the hypothesis held: the timeline starts now */
	FL_RUN_EV_PROBE,      /* a probe ran (phase, index, ok, detail, failures) */
	FL_RUN_EV_STEP_START, /* a step went live (index, text: "delay 100ms on redis") */
	FL_RUN_EV_STEP_END,   /* a step ended (index, text: its end cause) */
	FL_RUN_EV_STEP_ERROR, /* a step could not be applied (index, text: why) */
	FL_RUN_EV_CMD_START,  /* the command started (code: its pid) */
	FL_RUN_EV_CMD_EXIT,   /* the command ended (code: exit code, 128+N for signal N) */
	FL_RUN_EV_STOPPING,   /* the experiment ends (text: why) */
	FL_RUN_EV_ROLLBACK,   /* rolled back (ok, text: detail, duration_ns) */
	FL_RUN_EV_TICK,	      /* about every 250 ms while the faults are live */
};

struct fl_run;

struct fl_run_event {
	enum fl_run_event_kind kind;
	const struct fl_run *run; /* for fl_run_step_stats() and the like */
	uint64_t t_ns;		  /* since the start of the timeline (0 before it) */
	enum fl_phase phase;
	size_t index; /* of the step or probe */
	const char *name;
	const char *text;
	bool ok;
	unsigned failures, max_failures; /* probes: failures so far in this phase */
	int code;
	uint64_t duration_ns;
	/* FL_RUN_EV_TICK: the cap, how many steps are live, how many probes
	 * have failed at least once */
	uint64_t cap_ns;
	unsigned live_steps, n_steps, failing_probes;
};

#define FL_RUN_STOP_REQUESTED (-1)

struct fl_run_opts {
	size_t sz; /* sizeof(struct fl_run_opts) */
	enum fl_attach_mode mode;
	const char *run_dir; /* the engine's journal; NULL: default */
	uint64_t lease_ns;   /* 0: FL_RUN_LEASE_DEFAULT_NS */
	uint64_t grace_ns;   /* 0: FL_RUN_GRACE_DEFAULT_NS */
	char *const *argv;   /* the command, NULL-terminated; NULL: none */
	/* set to a signal number (by a handler) to stop: rolled back, 130; or
	 * to FL_RUN_STOP_REQUESTED (the daemon's DELETE) */
	const volatile sig_atomic_t *stop;
	void (*on_event)(void *ctx, const struct fl_run_event *ev);
	void *ctx;
	/* the steps already compiled, one per scenario fault (`inject` builds
	 * its rule itself); NULL: compiled from the scenario here */
	const struct fl_compiled_fault *compiled;
	/* the daemon: place the steps in these shared classifiers
	 * (faultline/pool.h) instead of one classifier per step */
	struct fl_pool *pool;
	/* run the command as this user (`run --user`); NULL: as this process */
	const struct fl_run_user *user;
};

/* Who the command runs as: set in the child, after it joined its cgroup and
 * before exec, with setgroups, setresgid and setresuid (a uid other than 0
 * has no capabilities left); envp is its whole environment. */
struct fl_run_user {
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
	char *const *envp;
};

/*
 * Check what can be checked before anything runs: a `command: true` target
 * needs argv, argv[0] must be executable, every step must compile here.
 * -EINVAL etc. with err naming the field (no report; nothing touched).
 * fl_run() calls it first too.
 */
int fl_run_check(const struct fl_scenario *s, const struct fl_run_opts *opts, struct fl_error *err);

/*
 * Run the experiment. Returns 0 with *out set whenever an experiment record
 * exists (even a failed one: see fl_run_exit_code()), or -errno with err
 * filled when the input was refused before anything ran (exit 2). The
 * scenario must outlive the fl_run (the report borrows its strings).
 */
int fl_run(const struct fl_scenario *s, const struct fl_run_opts *opts, struct fl_run **out,
	   struct fl_error *err);

/* Why the timeline ended. */
enum fl_run_end {
	FL_RUN_END_NONE,     /* it never started (bad input, the hypothesis failed) */
	FL_RUN_END_DURATION, /* the cap */
	FL_RUN_END_COMMAND,  /* the command exited */
	FL_RUN_END_PROBE,    /* a probe failed more than max_failures times */
	FL_RUN_END_SIGNAL,   /* fl_run_end_signal() says which */
	FL_RUN_END_STOPPED,  /* *stop was FL_RUN_STOP_REQUESTED */
	FL_RUN_END_SETUP,    /* a step could not be loaded, attached or applied */
	FL_RUN_END_DEVICE,   /* an interface went away */
	FL_RUN_END_LEASE,    /* the lease lapsed: this process was stopped or starved */
};
enum fl_run_end fl_run_end_kind(const struct fl_run *r);
int fl_run_end_signal(const struct fl_run *r);

/* The counters of step i: live while it runs, as they were when it ended
 * afterwards (zeros for a step never applied). */
void fl_run_step_stats(const struct fl_run *r, size_t i, struct fl_counters *c,
		       struct fl_delay_stats *d);
/* The error of step i (it could not be loaded, attached or applied), or NULL. */
const char *fl_run_step_error(const struct fl_run *r, size_t i);
/* "tcx" or "clsact": how the steps were attached ("" before). */
const char *fl_run_attach_mode(const struct fl_run *r);

/* The record, valid until fl_run_free(). */
const struct fl_report *fl_run_report(const struct fl_run *r);
int fl_run_exit_code(const struct fl_run *r);
void fl_run_free(struct fl_run *r);

/*
 * Whether two compiled steps may act on the same packets: they share an
 * interface and a direction, and no field both constrain keeps them apart
 * (protocols differ; both name ports on the same side and no range meets;
 * both name remote prefixes and none overlaps; both name a cgroup and the
 * ids differ). Conservative: flows a share would separate, or a port on one
 * side against a port on the other, count as overlapping. The daemon refuses
 * an experiment whose steps overlap those of a running one (409).
 */
bool fl_compiled_overlap(const struct fl_compiled_fault *a, const struct fl_compiled_fault *b);

/* Remove the command cgroups of dead runners under the cgroup2 mount
 * (FL_RUN_CGROUP_PARENT/run-PID-N); returns how many, or -errno. */
int fl_run_cgroup_sweep(void);

#endif /* FAULTLINE_RUNNER_H */
