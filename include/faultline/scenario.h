/*
 * faultline/scenario.h - the scenario model: what a scenario file (YAML or
 * JSON, DESIGN.md section 8, docs/scenario.md) says, checked, with the
 * line:col of every element, and how one of its fault steps compiles to the
 * struct fl_rule_spec that `faultline inject` would build for the same
 * target and fault words.
 *
 * Loading never touches the system: it reads text, builds a node tree
 * (scenarios/parse_yaml.c; JSON is read by the same YAML parser after cJSON
 * has checked its syntax), walks it once against the schema
 * (scenarios/scenario.c) and reports every problem it finds, not only the
 * first, each as {line, col, path, message} in a struct fl_diags.
 * Compiling a step (scenarios/compile.c) is where the host is consulted: a
 * cgroup path or a pid becomes a cgroup id, names and routes become
 * interfaces.
 *
 * Like the rest of the library: functions return 0 or a negative errno and
 * never print; cli/ prints the diagnostics.
 */
#ifndef FAULTLINE_SCENARIO_H
#define FAULTLINE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/engine.h"
#include "faultline/error.h"
#include "faultline/steady.h"
#include "faultline/target.h"

/* A scenario file is read whole; larger ones are refused. */
#define FL_SCENARIO_MAX_BYTES (1u << 20)

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */

struct fl_diag {
	int line, col;	/* 1-based; 0, 0 for the file as a whole */
	char *path;	/* "faults[1].delay.jitter"; "" for syntax and file errors */
	char *message;	/* what is wrong and what was expected */
	unsigned order; /* insertion order, for a stable sort */
};

/* A growable list; zero-initialise it, fl_diags_free() it. */
struct fl_diags {
	struct fl_diag *v;
	size_t n, cap;
};

int fl_diags_add(struct fl_diags *d, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* By position (line, then col), then in the order they were added. */
void fl_diags_sort(struct fl_diags *d);
void fl_diags_free(struct fl_diags *d);
/* "FILE:LINE:COL: path: message" (or "FILE: message" without a position,
 * "FILE:LINE:COL: message" without a path) into buf. */
const char *fl_diag_format(const struct fl_diag *g, const char *file, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* The model                                                           */

struct fl_pos {
	int line, col; /* 1-based, in the file the scenario was read from */
};

/* A target: the match fields of `faultline inject`, by name. */
struct fl_scenario_target {
	char *name; /* the key under targets: */
	struct fl_pos pos;
	char **devs; /* dev: interfaces named, as written */
	int n_devs;
	const char *direction;	   /* "egress" (default), "ingress", "both" */
	bool direction_set;	   /* written (error faults default to both) */
	unsigned dir_mask;	   /* FL_DIRMASK_* */
	const char *protocol_name; /* "any" (default), "tcp", "udp", "icmp" */
	int protocol;		   /* FL_PROTOCOL_ANY or FL_PROTO_* */
	struct fl_port_set ports, local_ports, remote_ports;
	unsigned n_cidrs; /* host: and cidr: together, as --host and --cidr add up */
	struct fl_cidr cidrs[FL_CIDRS_MAX];
	char *cgroup;	    /* cgroup v2 path, resolved to its id when compiled */
	int pid;	    /* > 0: the cgroup of this process, read from /proc/PID/cgroup
			     * when compiled (not when loaded: the process may not exist yet) */
	bool command;	    /* the process tree of the command `faultline run -- CMD`
			     * starts, in a cgroup of its own; the runner resolves it */
	uint32_t share_ppb; /* 0: every flow */
	bool allow_management;
	bool allow_wide;
};

/* Fault actions of a step, the bits of fl_scenario_fault.actions. */
enum {
	FL_SACT_LOSS = 1u << 0,
	FL_SACT_BLACKHOLE = 1u << 1,
	FL_SACT_DUPLICATE = 1u << 2,
	FL_SACT_CORRUPT = 1u << 3,
	FL_SACT_RATE = 1u << 4,
	FL_SACT_DELAY = 1u << 5,
	FL_SACT_REORDER = 1u << 6,
	FL_SACT_RESET = 1u << 7,
	FL_SACT_REFUSE = 1u << 8,
	FL_SACT_DNS = 1u << 9,
	FL_SACT_HTTP = 1u << 10,
};
#define FL_SACT__COUNT 11
/* The error faults: each alone in its step (http may carry a delay of its
 * own, http.delay). */
#define FL_SACT_ERRORS (FL_SACT_RESET | FL_SACT_REFUSE | FL_SACT_DNS | FL_SACT_HTTP)

/* One step of the timeline: some actions on one target from at_ns for
 * for_ns. */
struct fl_scenario_fault {
	struct fl_pos pos;
	int target;		 /* index into targets[] */
	uint64_t at_ns;		 /* from the start of the experiment */
	uint64_t for_ns;	 /* 0: until the end of the experiment */
	unsigned actions;	 /* FL_ACT_* */
	int loss_values;	 /* loss gemodel/state: how many p values were written */
	struct fl_rule_spec act; /* only the action fields (loss, duplicate, corrupt,
				  * rate, delay, reorder) are set, as inject sets them */
	struct fl_pos act_pos[FL_SACT__COUNT]; /* of each action, by bit number */
};

/* A steady-state probe. spec's strings point into the scenario. */
struct fl_scenario_probe {
	struct fl_pos pos;
	char *name;
	uint64_t every_ns;     /* default 1s */
	unsigned max_failures; /* default 0: the first failure aborts */
	struct fl_probe_spec spec;
};

struct fl_scenario {
	char *file; /* the name it was loaded under */
	int version;
	char *name;
	struct fl_pos name_pos;
	uint64_t duration_ns;
	struct fl_pos duration_pos;
	struct fl_scenario_target *targets;
	size_t n_targets;
	struct fl_scenario_fault *faults;
	size_t n_faults;
	struct fl_scenario_probe *probes;
	size_t n_probes;
	char *report_json, *report_junit; /* NULL: not written */
	struct fl_pos report_pos;
	char *schedule; /* NULL, a 5-field cron line or "@every DURATION" (checked) */
	struct fl_pos schedule_pos;
};

/*
 * Read and check the scenario at path (YAML, or JSON when the name ends in
 * .json or the text starts with '{'). Returns 0 with *out set, or -EINVAL
 * with every problem in diags (sorted) and *out NULL; -errno with a
 * diagnostic when the file cannot be read. Nothing on the system is touched
 * or looked up.
 */
int fl_scenario_load(const char *path, struct fl_scenario **out, struct fl_diags *diags);
/*
 * Whether a scenario file may be trusted to say what runs as root: not when
 * anyone may write it, nor when it sits in a directory anyone may write
 * without the sticky bit (anyone could replace it). 0, or -EPERM with a
 * message in err naming the file and the fix. Only regular files are
 * judged (a pipe or /dev/stdin is what its writer gives).
 */
int fl_scenario_path_trusted(const char *path, char *err, size_t errlen);
/* The same from memory; name is used for messages and the .json test. */
int fl_scenario_load_buf(const char *name, const char *buf, size_t len, struct fl_scenario **out,
			 struct fl_diags *diags);
void fl_scenario_free(struct fl_scenario *s);

/* ------------------------------------------------------------------ */
/* Compiling a step                                                    */

struct fl_compiled_fault {
	struct fl_rule_spec spec; /* match + actions; end_ns 0 (the runner sets it) */
	int ifindexes[FL_TARGET_DEVS_MAX];
	int n_ifs;
	enum fl_devs_source devs_source;
	char cgroup_abs[4096]; /* the cgroup resolved (cgroup: or pid:), or "" */
	bool command_pending;  /* command: true and no cgroup id given yet */
};

/*
 * The rule step `fault` of s stands for, as `faultline inject` would build
 * it for the same target flags and fault words: a cgroup path or pid is
 * resolved to its cgroup id, the interfaces as fl_target_resolve_devs()
 * finds them (named; else the routes to the addresses; else, when the
 * target is narrowed by a port, cgroup, pid or command or says allow_wide,
 * every interface that is up). command_cgroup_id is the cgroup the runner
 * made for the command (0: not yet; command_pending is then set).
 * -EINVAL etc. with err filled (field = the target's path, line:col of the
 * target) when the host cannot resolve it.
 */
int fl_scenario_compile_fault(const struct fl_scenario *s, size_t fault, uint64_t command_cgroup_id,
			      struct fl_compiled_fault *out, struct fl_error *err);

/* The actions of a step in inject's words, netem's order ("rate 1mbit burst
 * 64kb, loss 1%, delay 10ms jitter 2ms correlation 25% normal limit 1000");
 * acts is fl_scenario_fault.actions (inject's fault bits are the same). */
void fl_scenario_describe_actions(unsigned acts, const struct fl_rule_spec *s, char *buf,
				  size_t len);

/* The end of a step from the start, for_ns 0 meaning the scenario's end. */
uint64_t fl_scenario_fault_end_ns(const struct fl_scenario *s, size_t fault);

#endif /* FAULTLINE_SCENARIO_H */
