/*
 * cli/run.c - `faultline run FILE [-- CMD ARGS...]`: the CI entry point.
 *
 * Loads the scenario, opens the report files (so that a bad path is bad
 * input, found before anything is applied), hands the experiment to the
 * library's runner (injector/runner.c) and prints its progress: on a
 * terminal a status line redrawn in place between event lines; in CI (CI
 * set, or stderr not a terminal) plain event lines only. Then writes the
 * reports and exits with the runner's code.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "faultline/report.h"
#include "faultline/runner.h"
#include "faultline/scenario.h"
#include "faultline/units.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void run_usage(FILE *f)
{
	fputs(
	    "Usage: faultline run [OPTIONS] FILE [-- CMD [ARGS...]]\n"
	    "\n"
	    "Run the experiment of the scenario FILE (docs/scenario.md) around CMD:\n"
	    "  1. every steady_state probe runs once; if one fails the hypothesis does not\n"
	    "     hold: nothing is injected, CMD is not started, exit 3;\n"
	    "  2. the fault steps are applied on their timeline (at, for) while CMD runs;\n"
	    "     a `command: true` target is CMD's own process tree, in a fresh cgroup v2;\n"
	    "  3. the probes run every `every`; a probe that fails more than max_failures\n"
	    "     times aborts: every fault is removed at once, CMD gets SIGTERM, then\n"
	    "     SIGKILL after --grace;\n"
	    "  4. the experiment ends when CMD exits or at the scenario's duration (CMD is\n"
	    "     then stopped), whichever comes first; without CMD, at the duration;\n"
	    "  5. everything is rolled back, the probes run once more, the reports are\n"
	    "     written.\n"
	    "\n"
	    "Options:\n"
	    "  --report-json FILE   write the JSON report (docs/report.md) to FILE; overrides\n"
	    "                       the scenario's report.json ('-': standard output)\n"
	    "  --junit FILE         write the JUnit XML report to FILE; overrides report.junit\n"
	    "  --lease DURATION     the faults end by themselves this long after this\n"
	    "                       process stops renewing them (default 2s, at least 200ms)\n"
	    "  --grace DURATION     time CMD has to exit after SIGTERM (default 5s)\n"
	    "  --user USER          run CMD as USER (a name or uid of the password database),\n"
	    "                       with USER's groups, HOME, USER and LOGNAME and no\n"
	    "                       capabilities; reports faultline creates become USER's\n"
	    "                       (under sudo: --user \"$SUDO_USER\"). Default: as faultline\n"
	    "  --tcx | --clsact     how to attach (default: tcx where the kernel has it)\n"
	    "  -q, --quiet          print only errors and the verdict\n"
	    "  --detach             hand the scenario to faultlined instead (no CMD; the daemon\n"
	    "                       keeps the reports): prints the experiment's id and exits;\n"
	    "                       'faultline status ID --wait' waits for its end\n"
	    "  --socket PATH        faultlined's socket for --detach (default $FAULTLINE_SOCKET,\n"
	    "                       else /run/faultline/faultlined.sock)\n"
	    "  --url URL, --token-file FILE\n"
	    "                       faultlined over TCP for --detach\n"
	    "  -h, --help           show this help and exit\n"
	    "\n"
	    "Report paths in the scenario are relative to the current directory. Progress\n"
	    "goes to standard error: a live status line on a terminal, one line per event\n"
	    "when CI is set or standard error is not a terminal. CMD's own output is not\n"
	    "touched.\n"
	    "\n"
	    "Exit status (the first that applies): 130 interrupted (SIGINT, SIGTERM,\n"
	    "SIGHUP; rolled back); 2 bad input (nothing applied); 4 injection failed\n"
	    "(rolled back); 3 steady state broken (before: nothing injected; during:\n"
	    "aborted); CMD's own non-zero exit code (128+N when it died of signal N,\n"
	    "also when stopped at the duration cap); 3 the steady state did not hold\n"
	    "after the rollback; 0 otherwise.\n"
	    "\n"
	    "Examples:\n"
	    "  sudo faultline run examples/ci-smoke.yaml -- make integration-test\n"
	    "  sudo faultline run --user \"$USER\" examples/ci-smoke.yaml -- make "
	    "integration-test\n"
	    "  sudo faultline run --junit faults.xml examples/redis-latency.yaml\n",
	    f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("faultline run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see 'faultline run --help')\n", stderr);
	return FL_EXIT_USAGE;
}

struct progress {
	const struct fl_scenario *s;
	int tty; /* redraw a status line */
	int quiet;
	int line_up; /* a status line is on the screen */
};

static void clear_status(struct progress *p)
{
	if (p->line_up) {
		fputs("\r\033[K", stderr);
		p->line_up = 0;
	}
}

static void say(struct progress *p, const struct fl_run_event *ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(struct progress *p, const struct fl_run_event *ev, const char *fmt, ...)
{
	va_list ap;

	if (p->quiet)
		return;
	clear_status(p);
	if (ev && ev->t_ns)
		fprintf(stderr, "faultline: +%.3fs ", ev->t_ns / 1e9);
	else
		fputs("faultline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* "0.2 ms", "21.4 ms", "1.20 s" */
static const char *fmt_took(uint64_t ns, char *buf, size_t len)
{
	if (ns < 1000000000ull)
		snprintf(buf, len, "%.1f ms", ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", ns / 1e9);
	return buf;
}

static void on_event(void *ctx, const struct fl_run_event *ev)
{
	struct progress *p = ctx;
	char d[32];

	switch (ev->kind) {
	case FL_RUN_EV_STARTED:
		break;
	case FL_RUN_EV_PROBE:
		if (ev->phase == FL_PHASE_DURING && ev->ok)
			break; /* the status line shows them */
		if (ev->phase == FL_PHASE_DURING)
			say(p, ev, "probe %s failed (%u of at most %u): %s", ev->name, ev->failures,
			    ev->max_failures, ev->text);
		else
			say(p, ev, "%s: probe %s %s (%s)%s%s", fl_phase_name(ev->phase), ev->name,
			    ev->ok ? "ok" : "FAILED", fmt_took(ev->duration_ns, d, sizeof(d)),
			    ev->ok ? "" : ": ", ev->ok ? "" : ev->text);
		break;
	case FL_RUN_EV_STEP_START:
		say(p, ev, "step %zu on: %s", ev->index + 1, ev->text);
		break;
	case FL_RUN_EV_STEP_END:
		say(p, ev, "step %zu off (%s)", ev->index + 1, ev->text);
		break;
	case FL_RUN_EV_STEP_ERROR:
		say(p, ev, "step %zu FAILED: %s", ev->index + 1, ev->text);
		break;
	case FL_RUN_EV_CMD_START:
		say(p, ev, "command started (pid %d)", ev->code);
		break;
	case FL_RUN_EV_CMD_EXIT:
		if (ev->code > 128)
			say(p, ev, "command ended by signal %d (exit %d)", ev->code - 128,
			    ev->code);
		else
			say(p, ev, "command exited with %d", ev->code);
		break;
	case FL_RUN_EV_STOPPING:
		say(p, ev, "stopping: %s", ev->text);
		break;
	case FL_RUN_EV_ROLLBACK:
		say(p, ev, "rolled back in %s: %s", fmt_took(ev->duration_ns, d, sizeof(d)),
		    ev->text);
		break;
	case FL_RUN_EV_TICK: {
		char left[32];

		if (!p->tty || p->quiet)
			break;
		fl_fmt_duration(ev->cap_ns > ev->t_ns
				    ? (ev->cap_ns - ev->t_ns) / 100000000ull * 100000000ull
				    : 0,
				left, sizeof(left));
		fprintf(stderr,
			"\r\033[K[%6.1fs] %u of %u step(s) live, %s left at most, %u probe(s) "
			"failing",
			ev->t_ns / 1e9, ev->live_steps, ev->n_steps, left, ev->failing_probes);
		p->line_up = 1;
		break;
	}
	}
	fflush(stderr);
}

/* Open a report file now, so a bad path is found before anything runs. */
/* The report file PATH, truncated; one this call creates is given to
 * --user's user (an existing file keeps its owner). */
static FILE *open_report(const char *path, const char *flag, const struct fl_run_user *user,
			 int *bad)
{
	FILE *f = NULL;
	int fd;

	if (!path)
		return NULL;
	if (!strcmp(path, "-"))
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		if (user && fchown(fd, user->uid, user->gid))
			fprintf(stderr, "faultline run: %s: cannot give '%s' to uid %u: %s\n", flag,
				path, (unsigned)user->uid, strerror(errno));
		f = fdopen(fd, "w");
		if (!f)
			close(fd);
	} else if (errno == EEXIST) {
		f = fopen(path, "we");
	}
	if (!f) {
		fprintf(stderr,
			"faultline run: %s: cannot write '%s': %s (expected a writable file)\n",
			flag, path, strerror(errno));
		*bad = 1;
	}
	return f;
}

static int close_report(FILE *f, const char *path, int r)
{
	if (!f)
		return 0;
	if (f == stdout) {
		if (fflush(stdout) && !r)
			r = -errno;
	} else if (fclose(f) && !r) {
		r = -errno;
	}
	if (r)
		fprintf(stderr, "faultline run: cannot write the report %s: %s\n", path,
			strerror(-r));
	return r;
}

/* --user: the user, its groups and the command's environment */
struct run_user {
	struct fl_run_user u;
	gid_t *groups;
	char **envp;
	size_t n_env;
};

static void run_user_free(struct run_user *ru)
{
	for (size_t i = 0; ru->envp && i < ru->n_env; i++)
		free(ru->envp[i]);
	free(ru->envp);
	free(ru->groups);
	memset(ru, 0, sizeof(*ru));
}

static int env_put(struct run_user *ru, const char *name, const char *value)
{
	char *kv;

	if (asprintf(&kv, "%s=%s", name, value) < 0)
		return -ENOMEM;
	ru->envp[ru->n_env++] = kv;
	return 0;
}

/* ARG, a user name or uid, into *ru; else -errno and why in msg */
static int run_user_resolve(const char *arg, struct run_user *ru, char *msg, size_t len)
{
	extern char **environ;
	struct passwd *pw;
	char *end;
	size_t n = 0;
	int ng = 16;

	errno = 0;
	pw = getpwnam(arg);
	if (!pw && *arg >= '0' && *arg <= '9') {
		unsigned long uid = strtoul(arg, &end, 10);

		if (!*end && uid < (uid_t)-1)
			pw = getpwuid((uid_t)uid);
	}
	if (!pw) {
		snprintf(msg, len,
			 "no user \"%s\" in the password database (expected a user name or a "
			 "uid that has an entry, as for sudo -u)",
			 arg);
		return -ENOENT;
	}
	ru->u.uid = pw->pw_uid;
	ru->u.gid = pw->pw_gid;
	for (;;) {
		gid_t *g = realloc(ru->groups, (size_t)ng * sizeof(*g));

		if (!g)
			goto oom;
		ru->groups = g;
		if (getgrouplist(pw->pw_name, pw->pw_gid, g, &ng) >= 0)
			break;
		if (ng > 65536)
			goto oom;
	}
	ru->u.groups = ru->groups;
	ru->u.n_groups = (size_t)ng;
	while (environ[n])
		n++;
	ru->envp = calloc(n + 4, sizeof(*ru->envp));
	if (!ru->envp)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(environ[i], "HOME=", 5) || !strncmp(environ[i], "USER=", 5) ||
		    !strncmp(environ[i], "LOGNAME=", 8))
			continue;
		ru->envp[ru->n_env] = strdup(environ[i]);
		if (!ru->envp[ru->n_env++])
			goto oom;
	}
	if (env_put(ru, "HOME", pw->pw_dir) || env_put(ru, "USER", pw->pw_name) ||
	    env_put(ru, "LOGNAME", pw->pw_name))
		goto oom;
	ru->u.envp = ru->envp;
	return 0;
oom:
	snprintf(msg, len, "out of memory");
	run_user_free(ru);
	return -ENOMEM;
}

int fl_cmd_run(int argc, char **argv)
{
	enum {
		O_JSON = 256,
		O_JUNIT,
		O_LEASE,
		O_GRACE,
		O_TCX,
		O_CLSACT,
		O_DETACH,
		O_SOCKET,
		O_URL,
		O_TOKEN,
		O_USER
	};
	static const struct option opts[] = {
	    {"report-json", required_argument, NULL, O_JSON},
	    {"junit", required_argument, NULL, O_JUNIT},
	    {"lease", required_argument, NULL, O_LEASE},
	    {"grace", required_argument, NULL, O_GRACE},
	    {"tcx", no_argument, NULL, O_TCX},
	    {"clsact", no_argument, NULL, O_CLSACT},
	    {"detach", no_argument, NULL, O_DETACH},
	    {"socket", required_argument, NULL, O_SOCKET},
	    {"url", required_argument, NULL, O_URL},
	    {"token-file", required_argument, NULL, O_TOKEN},
	    {"user", required_argument, NULL, O_USER},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct fl_run_opts ro = {.sz = sizeof(ro)};
	struct progress prog = {0};
	const char *json_path = NULL, *junit_path = NULL, *file;
	const char *socket_path = NULL, *url = NULL, *token_file = NULL, *user_arg = NULL;
	struct run_user ru = {0};
	int detach = 0;
	char **cmd = NULL;
	int c, n_opts = argc, bad = 0, code;
	struct fl_diags diags = {0};
	struct fl_scenario *s = NULL;
	struct fl_run *run = NULL;
	struct fl_error err = {0};
	FILE *fj = NULL, *fx = NULL;
	struct sigaction sa;
	char buf[PATH_MAX + 512];

	/* everything after "--" is CMD */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			n_opts = i;
			cmd = argv + i + 1;
			argv[i] = NULL;
			break;
		}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(n_opts, argv, "qh", opts, NULL)) != -1) {
		struct fl_error e = {0};

		switch (c) {
		case O_JSON:
			json_path = optarg;
			break;
		case O_JUNIT:
			junit_path = optarg;
			break;
		case O_LEASE:
			if (fl_parse_duration(optarg, "--lease", 0, &ro.lease_ns, &e))
				return usage_error("%s", fl_error_str(&e, buf, sizeof(buf)));
			if (ro.lease_ns < 200000000ull)
				return usage_error(
				    "--lease: \"%s\" is too short (expected at least "
				    "200ms)",
				    optarg);
			break;
		case O_GRACE:
			if (fl_parse_duration(optarg, "--grace", 0, &ro.grace_ns, &e))
				return usage_error("%s", fl_error_str(&e, buf, sizeof(buf)));
			if (!ro.grace_ns)
				ro.grace_ns = 1; /* SIGKILL at once */
			break;
		case O_TCX:
			ro.mode = FL_ATTACH_TCX;
			break;
		case O_CLSACT:
			ro.mode = FL_ATTACH_CLSACT;
			break;
		case O_DETACH:
			detach = 1;
			break;
		case O_SOCKET:
			socket_path = optarg;
			break;
		case O_URL:
			url = optarg;
			break;
		case O_TOKEN:
			token_file = optarg;
			break;
		case O_USER:
			user_arg = optarg;
			break;
		case 'q':
			prog.quiet = 1;
			break;
		case 'h':
			run_usage(stdout);
			return FL_EXIT_OK;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= n_opts)
		return usage_error("missing FILE (expected 'faultline run FILE [-- CMD ARGS...]')");
	if (optind + 1 < n_opts)
		return usage_error("unexpected '%s' after FILE (a command goes after '--')",
				   argv[optind + 1]);
	file = argv[optind];
	if (cmd && !cmd[0])
		return usage_error("'--' but no command after it");
	if (detach && cmd)
		return usage_error("--detach: the daemon runs no command (expected no '-- CMD', or "
				   "no --detach)");
	if (!detach && (socket_path || url || token_file))
		return usage_error("--socket, --url and --token-file go with --detach");
	if (detach && (json_path || junit_path))
		return usage_error("--detach: the daemon keeps the reports ('faultline status ID', "
				   "GET /v1/experiments/ID/report)");
	if (user_arg && detach)
		return usage_error("--user: the daemon runs no command (expected no --user, or no "
				   "--detach)");
	if (user_arg && !cmd)
		return usage_error("--user: says who runs CMD (expected '-- CMD' after FILE)");
	if (user_arg) {
		if (run_user_resolve(user_arg, &ru, buf, sizeof(buf)))
			return usage_error("--user: %s", buf);
		ro.user = &ru.u;
	}
	if (fl_scenario_path_trusted(file, buf, sizeof(buf))) {
		fprintf(stderr, "faultline run: %s\n", buf);
		run_user_free(&ru);
		return FL_EXIT_USAGE;
	}
	if (fl_scenario_load(file, &s, &diags)) {
		for (size_t k = 0; k < diags.n; k++)
			fprintf(stderr, "%s\n",
				fl_diag_format(&diags.v[k], file, buf, sizeof(buf)));
		fl_diags_free(&diags);
		run_user_free(&ru);
		return FL_EXIT_USAGE;
	}
	fl_diags_free(&diags);
	if (detach) {
		/* checked here first, so the errors name this file */
		fl_scenario_free(s);
		return fl_client_submit(file, socket_path, url, token_file, 0);
	}

	ro.argv = cmd;
	if (fl_run_check(s, &ro, &err)) {
		if (err.line)
			fprintf(stderr, "%s:%s\n", file, fl_error_str(&err, buf, sizeof(buf)));
		else
			fprintf(stderr, "faultline run: %s\n",
				fl_error_str(&err, buf, sizeof(buf)));
		fl_scenario_free(s);
		run_user_free(&ru);
		return FL_EXIT_USAGE;
	}
	if (!json_path)
		json_path = s->report_json;
	if (!junit_path)
		junit_path = s->report_junit;
	fj = open_report(json_path, "--report-json", ro.user, &bad);
	fx = open_report(junit_path, "--junit", ro.user, &bad);
	if (bad) {
		if (fj && fj != stdout)
			fclose(fj);
		if (fx && fx != stdout)
			fclose(fx);
		fl_scenario_free(s);
		run_user_free(&ru);
		return FL_EXIT_USAGE;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	{
		int leftovers = fl_journal_replay(NULL);

		if (leftovers > 0)
			fl_cli_err("removed %d leftover clsact filter(s) of a faultline that died",
				   leftovers);
		else if (leftovers < 0 && fl_attach_journal_refusal())
			fl_cli_err("warning: %s", fl_attach_journal_refusal());
	}
	prog.s = s;
	prog.tty = isatty(STDERR_FILENO) && !getenv("CI");
	ro.stop = &got_signal;
	ro.on_event = on_event;
	ro.ctx = &prog;
	if (!prog.quiet) {
		char d[32];

		fprintf(
		    stderr, "faultline: run %s (%s): %zu step(s), %zu probe(s), duration %s%s\n",
		    s->name, file, s->n_faults, s->n_probes,
		    fl_fmt_duration(s->duration_ns, d, sizeof(d)), cmd ? ", around a command" : "");
	}
	if (fl_run(s, &ro, &run, &err)) {
		fprintf(stderr, "faultline run: %s\n", fl_error_str(&err, buf, sizeof(buf)));
		code = FL_EXIT_USAGE;
	} else {
		const struct fl_report *rep = fl_run_report(run);
		int r1 = 0, r2 = 0;

		code = fl_run_exit_code(run);
		if (fj)
			r1 = close_report(fj, json_path, fl_report_write_json(rep, fj));
		if (fx)
			r2 = close_report(fx, junit_path, fl_report_write_junit(rep, fx));
		fj = fx = NULL;
		clear_status(&prog);
		if ((r1 || r2) && code == FL_EXIT_OK)
			code = FL_EXIT_INJECT;
		if (!prog.quiet && (json_path || junit_path) && !r1 && !r2)
			fprintf(stderr, "faultline: report: %s%s%s\n", json_path ? json_path : "",
				json_path && junit_path ? ", " : "", junit_path ? junit_path : "");
		fprintf(stderr, "faultline: verdict: %s (exit %d): %s\n",
			fl_verdict_name(rep->verdict), code, rep->reason ? rep->reason : "");
	}
	if (fj && fj != stdout)
		fclose(fj);
	if (fx && fx != stdout)
		fclose(fx);
	fl_run_free(run);
	fl_scenario_free(s);
	run_user_free(&ru);
	return code;
}
