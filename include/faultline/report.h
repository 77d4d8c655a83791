/*
 * faultline/report.h - the record of one finished experiment, and its two
 * renderings: JSON (docs/report.md, schema docs/report.schema.json) for
 * people and tools, JUnit XML (schema docs/junit.xsd) for CI systems.
 *
 * struct fl_report is plain data that the runner fills as the experiment
 * goes: every pointer is borrowed (the writers only read), arrays come with
 * their length, a NULL string is written as null (JSON) or left out (JUnit).
 * Times are CLOCK_REALTIME nanoseconds (0: did not happen) and are written as
 * RFC 3339 UTC with milliseconds; durations are nanoseconds, written as
 * seconds with 3 decimals.
 *
 * The writers return 0 or a negative errno (-ENOMEM, -EIO when the stream
 * failed) and never print anything else. Text that is not valid UTF-8 (a
 * probe command's output may be anything) is written with U+FFFD in place of
 * each bad byte, and control characters XML cannot carry are replaced the
 * same way, so both files always parse.
 */
#ifndef FAULTLINE_REPORT_H
#define FAULTLINE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fl_verdict {
	FL_VERDICT_PASSED,  /* the hypothesis held (and the command exited 0) */
	FL_VERDICT_FAILED,  /* steady state broken after the faults, or the command failed */
	FL_VERDICT_ABORTED, /* stopped early: max_failures exceeded, Ctrl-C, lease lost */
	FL_VERDICT_ERROR,   /* faultline could not run the experiment (injection failed) */
};

enum fl_phase {
	FL_PHASE_BEFORE, /* steady state checked before any fault */
	FL_PHASE_DURING, /* while faults are applied */
	FL_PHASE_AFTER,	 /* after the rollback */
};

struct fl_report_counter {
	const char *name; /* "matched", "dropped", "delayed", ... */
	uint64_t value;
};

struct fl_report_step {
	unsigned index; /* position in the scenario's faults[] */
	const char *target;
	const char *fault;			/* "delay 50ms jitter 5ms normal" */
	uint64_t planned_at_ns, planned_for_ns; /* from the experiment start; for 0: to the end */
	uint64_t started_ns, ended_ns;		/* 0 when never applied / not ended */
	bool applied;
	bool cut_short;	       /* ended before its planned end (an abort) */
	const char *error;     /* why it could not be applied, or NULL */
	const char *end_cause; /* "expired", "aborted: ...", or NULL */
	const struct fl_report_counter *counters;
	size_t n_counters;
};

struct fl_report_probe_run {
	enum fl_phase phase;
	uint64_t started_ns;
	uint64_t duration_ns;
	bool ok;
	const char *detail;
};

struct fl_report_probe {
	const char *name;
	const char *kind;   /* "http", "tcp", "command" */
	const char *target; /* the url, "host:port", or the command line; may be NULL */
	unsigned max_failures;
	/* totals for the whole experiment; the runner may keep fewer runs[]
	 * than it made, so these are given, not counted here */
	unsigned total_runs, total_failures;
	const struct fl_report_probe_run *runs;
	size_t n_runs;
};

struct fl_report_command {
	char *const *argv; /* NULL-terminated */
	bool started;	   /* false: it could not be run (error says why) */
	int exit_code;	   /* 128+N when killed by signal N */
	uint64_t started_ns, ended_ns;
	const char *error;
};

struct fl_report_rollback {
	bool ok;
	const char *detail;
	uint64_t duration_ns;
};

struct fl_report {
	const char *scenario; /* its name */
	const char *file;     /* the scenario file, or NULL (API, stdin) */
	uint64_t started_ns, ended_ns;
	enum fl_verdict verdict;
	const char *reason; /* one sentence: why this verdict */
	int exit_code;	    /* what `faultline run` exits with (DESIGN.md section 8) */
	const struct fl_report_command *command; /* NULL: no command */
	const struct fl_report_step *steps;
	size_t n_steps;
	const struct fl_report_probe *probes;
	size_t n_probes;
	struct fl_report_rollback rollback;
};

/* The report as one JSON object, keys in a fixed order, and a newline. */
int fl_report_write_json(const struct fl_report *rep, FILE *f);

/* The report as JUnit XML: testsuites > testsuite name=scenario, one testcase
 * per probe (classname steady_state), per fault step (faults), for the
 * command (command) and for the rollback (rollback). */
int fl_report_write_junit(const struct fl_report *rep, FILE *f);

/* "passed", "failed", "aborted", "error"; "before", "during", "after". */
const char *fl_verdict_name(enum fl_verdict v);
const char *fl_phase_name(enum fl_phase p);

/* "2024-05-01T12:00:00.123Z" into buf (at least 25 bytes). */
const char *fl_fmt_rfc3339(uint64_t realtime_ns, char *buf, size_t len);

#endif /* FAULTLINE_REPORT_H */
