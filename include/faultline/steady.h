/*
 * faultline/steady.h - steady-state probes: is the system still healthy?
 *
 * A probe is one check a scenario names under steady_state: an HTTP request
 * (libcurl) whose status and body are judged, a TCP connect within a
 * timeout, or a command whose exit code 0 means healthy. The runner calls
 * fl_probe_run() before the faults, on a timer while they are applied, and
 * after the rollback; every result goes into the report (faultline/report.h).
 *
 * struct fl_probe_spec is plain data, independent of the scenario parser: the
 * parser fills one from YAML, a test or the daemon can fill one by hand. The
 * strings are borrowed, never freed here.
 *
 * fl_probe_run() is thread-safe (no global state but libcurl's, initialised
 * once) and blocks for at most about the probe's timeout. It never prints:
 * what happened is in the result's detail, a sentence for a person
 * ("HTTP 503, expected 200-299", "connect to 10.0.0.2:80: Connection refused
 * after 0.2 ms", "exit 3", "timed out after 1s").
 */
#ifndef FAULTLINE_STEADY_H
#define FAULTLINE_STEADY_H

#include <stdbool.h>
#include <stdint.h>

enum fl_probe_kind {
	FL_PROBE_HTTP = 1,
	FL_PROBE_TCP,
	FL_PROBE_COMMAND,
};

/* Timeouts when a spec leaves timeout_ns at 0 (DESIGN.md section 8). */
#define FL_PROBE_HTTP_TIMEOUT_NS    1000000000ull /* 1s */
#define FL_PROBE_TCP_TIMEOUT_NS	    1000000000ull /* 1s */
#define FL_PROBE_COMMAND_TIMEOUT_NS 5000000000ull /* 5s */

/* A command's output (stdout and stderr together) kept in the detail. */
#define FL_PROBE_OUTPUT_MAX 4096
/* An HTTP body searched for body_contains: its first MiB. */
#define FL_PROBE_BODY_MAX (1u << 20)

struct fl_probe_spec {
	const char *name;
	enum fl_probe_kind kind;
	uint64_t timeout_ns; /* 0: the kind's default above */
	/* http */
	const char *url;	   /* http:// or https:// only */
	const char *method;	   /* NULL: GET; HEAD sends no body request */
	const char *body_contains; /* NULL: the body is not judged */
	int status_lo, status_hi;  /* accepted statuses, inclusive; 0, 0: 200-299 */
	bool follow_redirects;	   /* false (the default): a 302 is judged as 302 */
	/* tcp */
	const char *host; /* IPv4, IPv6 (no brackets) or a name for getaddrinfo */
	uint16_t port;
	/* command: sh (run by /bin/sh -c) or argv (argv[0] looked up in PATH) */
	const char *sh;
	char *const *argv; /* NULL-terminated */
};

/* The detail holds a sentence plus, for commands, up to FL_PROBE_OUTPUT_MAX
 * bytes of output. */
#define FL_PROBE_DETAIL_LEN (FL_PROBE_OUTPUT_MAX + 512)

struct fl_probe_result {
	bool ok;
	uint64_t started_ns;  /* CLOCK_REALTIME when the probe began */
	uint64_t duration_ns; /* CLOCK_MONOTONIC, start to verdict */
	/* HTTP status, command exit code (128+N for signal N), 0 for tcp;
	 * -1 when there was none (no answer, timeout, could not start). */
	int code;
	bool timed_out;
	char detail[FL_PROBE_DETAIL_LEN];
};

/*
 * Run one probe and judge it. Returns 0 when the probe ran (r->ok is the
 * verdict, r->detail says why), or a negative errno when it could not be
 * attempted at all (-EINVAL for a spec missing its url/host/command, -ENOMEM,
 * a failed pipe or fork); r is then filled with ok = false and a detail, so
 * a runner may record it like any failure.
 *
 * Commands run in a process group of their own with stdin from /dev/null;
 * when the command exits or its timeout passes, the whole group is killed
 * with SIGKILL, so nothing a probe started outlives it. HTTP ignores the
 * *_proxy environment (CURLOPT_NOPROXY "*"): a probe measures the path to the
 * service, not to a proxy.
 */
int fl_probe_run(const struct fl_probe_spec *p, struct fl_probe_result *r);

/* "http", "tcp", "command" (NULL for an unknown kind). */
const char *fl_probe_kind_name(enum fl_probe_kind k);

/*
 * Scheduling for a runner that probes every `every_ns`: keep one
 * fl_probe_clock per probe, zeroed. fl_probe_due() says whether the probe is
 * due at now_ns (CLOCK_MONOTONIC) and, when it is, books the next slot. Slots
 * are on a fixed grid from the first run; slots missed while a slow probe
 * ran are skipped rather than run in a burst.
 */
struct fl_probe_clock {
	uint64_t next_ns; /* 0: never run, due now */
};
bool fl_probe_due(struct fl_probe_clock *c, uint64_t every_ns, uint64_t now_ns);
/* How long from now_ns until the probe is due (0: now). */
uint64_t fl_probe_wait_ns(const struct fl_probe_clock *c, uint64_t now_ns);

#endif /* FAULTLINE_STEADY_H */
