/*
 * api/faultlined.c - the faultline daemon: owns long-lived experiments and
 * serves the REST API of docs/api.md.
 *
 *   faultlined [--socket PATH] [--listen ADDR:PORT --token-file FILE]
 *              [--state-dir DIR] [--lease DURATION] [--foreground]
 *              [--rate-limit N] [--write-rate-limit N] [--keep-history N]
 *              [--keep-capabilities]
 *              [--allow-command-probes]
 *
 * Start-up order: the store (an experiment it lists as running died with
 * the previous daemon: marked aborted, its faults already gone with that
 * process's links), the journal of dead clsact filters, the kernel probe for
 * /v1/capabilities, the listening sockets, then every capability but the
 * few experiments need is dropped (caps_wanted below; docs/security.md), and
 * only then are threads started: the manager, then the HTTP server. SIGTERM or SIGINT: stop
 * listening, stop and roll back every experiment, close the store, exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "api/daemon.h"
#include "faultline/engine.h"
#include "faultline/probe.h"
#include "faultline/runner.h"
#include "faultline/units.h"

#define SOCKET_DEFAULT	   "/run/faultline/faultlined.sock"
#define STATE_DIR_DEFAULT  "/var/lib/faultline"
#define RATE_DEFAULT	   100
#define WRITE_RATE_DEFAULT 20

/*
 * The capabilities the daemon should be given, and why (docs/security.md).
 * It keeps those not marked startup_only after start-up, measured: every
 * test of the daemon passes with these and no other. Capabilities are per
 * thread, so they are dropped before the first thread starts; the bounding
 * set goes too where it may, and no_new_privs, so no program the daemon
 * starts (a `command` probe) gets any other back.
 */
static const struct {
	int cap;
	const char *name, *why;
	bool startup_only;
} caps_wanted[] = {
    {CAP_BPF, "BPF", "load the programs, create and update their maps", false},
    {CAP_NET_ADMIN, "NET_ADMIN",
     "classifier and cgroup program types, tcx and cgroup links, netlink (clsact)", false},
    {CAP_PERFMON, "PERFMON", "the verifier's pointer rules the programs are written for", false},
    {CAP_NET_RAW, "NET_RAW", "the delay line's AF_PACKET socket that sends held packets on", false},
    {CAP_SYS_NICE, "SYS_NICE", "the delay line's SCHED_FIFO thread (release times under load)",
     false},
    {CAP_SYS_ADMIN, "SYS_ADMIN",
     "the kernel probe behind /v1/capabilities: private network and mount namespaces", true},
    {CAP_CHOWN, "CHOWN", "giving the socket to group faultline", true},
};
#define N_CAPS (sizeof(caps_wanted) / sizeof(caps_wanted[0]))

static void usage(FILE *f)
{
	fputs("Usage: faultlined [OPTIONS]\n"
	      "\n"
	      "The faultline daemon: runs experiments (scenarios, docs/scenario.md) posted to its\n"
	      "REST API (docs/api.md) or fired by their schedules, keeps their history and\n"
	      "reports, and exports metrics. Every fault it applies is owned by this process:\n"
	      "when it exits, however it exits, the kernel removes them.\n"
	      "\n"
	      "Options:\n"
	      "  --socket PATH        the unix socket (default " SOCKET_DEFAULT "),\n"
	      "                       mode 0660, group 'faultline' when it exists; 'none' for no\n"
	      "                       unix socket\n"
	      "  --listen ADDR:PORT   also serve TCP (e.g. 127.0.0.1:7070); needs --token-file\n"
	      "  --token-file FILE    the bearer token TCP clients must send (first line of FILE;\n"
	      "                       FILE must not be readable by others)\n"
	      "  --state-dir DIR      the store (default " STATE_DIR_DEFAULT ")\n"
	      "  --lease DURATION     faults end by themselves this long after the daemon stops\n"
	      "                       renewing them (default 2s)\n"
	      "  --foreground         stay in the foreground and log to standard error (default:\n"
	      "                       detach and log to syslog)\n"
	      "  --rate-limit N       requests per second each client may send (a TCP client by\n"
	      "                       its address, a unix socket one by its uid), in bursts of\n"
	      "                       up to 2N; more get 429 with Retry-After (default 100; 0:\n"
	      "                       no limit)\n"
	      "  --write-rate-limit N  POST and DELETE requests per second each client may send\n"
	      "                       (bursts of 2N; default 20; 0: no limit)\n"
	      "  --keep-history N     keep the N newest ended experiments in the store, with\n"
	      "                       their reports; older ones are deleted at start-up and as\n"
	      "                       each experiment ends (default 10000; 0: keep all)\n"
	      "  --keep-capabilities  keep every capability (default: after start-up, drop all\n"
	      "                       but those --print-capabilities lists)\n"
	      "  --print-capabilities print the capabilities kept after start-up and exit\n"
	      "  --print-startup-capabilities\n"
	      "                       print those the daemon should be given: the kept ones,\n"
	      "                       and SYS_ADMIN (the kernel probe of /v1/capabilities) and\n"
	      "                       CHOWN (the socket's group) for start-up only\n"
	      "  --allow-command-probes\n"
	      "                       run the `command` probes of posted scenarios (as root,\n"
	      "                       with the capabilities above; default: refused with 422)\n"
	      "  -h, --help           show this help and exit\n"
	      "  --version            print the version and exit\n"
	      "\n"
	      "Environment: FAULTLINE_DISABLE=tcx,bpf_set_retval,bpf_lsm forces the fallbacks of\n"
	      "an older kernel (faultline(1)).\n"
	      "\n"
	      "The state directory must belong to the daemon's user and be writable by nobody\n"
	      "else; it may not be a symbolic link, nor may the store's files in it.\n"
	      "\n"
	      "Exit status: 0 after SIGTERM or SIGINT (every experiment rolled back), 1 when it\n"
	      "cannot start (the message says why), 2 bad flags.\n",
	      f);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("faultlined: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs(" (see 'faultlined --help')\n", stderr);
	return 2;
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/* The first line of the token file; refused when others may read it. */
static char *read_token(const char *path, char *err, size_t errlen)
{
	char line[4096];
	struct stat st;
	FILE *f = fopen(path, "re");
	char *tok;

	if (!f) {
		snprintf(err, errlen, "--token-file: cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 0007)) {
		fclose(f);
		snprintf(err, errlen,
			 "--token-file: '%s' is readable by others (expected mode 0600 or 0640)",
			 path);
		return NULL;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (strlen(line) < 16) {
		snprintf(err, errlen,
			 "--token-file: the token in '%s' is shorter than 16 characters", path);
		return NULL;
	}
	tok = strdup(line);
	explicit_bzero(line, sizeof(line));
	return tok;
}

static int mkdirs(const char *path, mode_t mode)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The state dir: a directory (not a symbolic link) of ours that nobody else
 * may write; 0, or -errno with err. */
static int check_state_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		snprintf(err, errlen, "--state-dir: cannot use '%s': %s", dir, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen,
			 "--state-dir: '%s' is a symbolic link (expected a directory; give its "
			 "target instead)",
			 dir);
		return -ELOOP;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "--state-dir: '%s' is not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
			 "--state-dir: '%s' belongs to uid %u, not to the daemon's user (uid %u)",
			 dir, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen,
			 "--state-dir: '%s' is writable by %s (mode %04o; expected 0700: chmod "
			 "go-w)",
			 dir, st.st_mode & S_IWOTH ? "everyone" : "its group",
			 (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

/*
 * Keep the capabilities of caps_wanted that are not startup_only (of those
 * this process has): in the effective, permitted and inheritable sets, and
 * in the bounding set when this process may change it (CAP_SETPCAP: not
 * under the systemd unit, whose bounding set is already small). Then
 * no_new_privs, so that no program the daemon starts (a `command` probe
 * runs as uid 0) gets back at exec what the daemon gave up. 0, or -1 with
 * err.
 */
/* Say what will not work for each wanted capability this process lacks. */
static void warn_missing_caps(void)
{
	if (capng_get_caps_process() < 0)
		return;
	for (size_t i = 0; i < N_CAPS; i++)
		if (!capng_have_capability(CAPNG_PERMITTED, (unsigned)caps_wanted[i].cap))
			fl_log(LOG_WARNING, "started without CAP_%s: %s will fail%s",
			       caps_wanted[i].name, caps_wanted[i].why,
			       caps_wanted[i].startup_only
				   ? " (no fault needs it)"
				   : ", and so will the faults that need it");
}

static int drop_capabilities(char *err, size_t errlen)
{
	bool bounds, have[N_CAPS];

	if (capng_get_caps_process() < 0) {
		snprintf(err, errlen, "cannot read this process's capabilities");
		return -1;
	}
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE)
		return 0; /* nothing to drop */
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (size_t i = 0; i < N_CAPS; i++)
		have[i] = capng_have_capability(CAPNG_PERMITTED, (unsigned)caps_wanted[i].cap);
	capng_clear(CAPNG_SELECT_BOTH);
	/* one it was not given cannot be kept (warn_missing_caps said so) */
	for (size_t i = 0; i < N_CAPS; i++)
		if (have[i] && !caps_wanted[i].startup_only &&
		    capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				 (unsigned)caps_wanted[i].cap)) {
			snprintf(err, errlen, "cannot keep CAP_%s", caps_wanted[i].name);
			return -1;
		}
	if (capng_apply(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS)) {
		snprintf(err, errlen, "cannot drop capabilities (capset%s failed)",
			 bounds ? " or PR_CAPBSET_DROP" : "");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A whole decimal number from 0 to max, all of text: 0, else -1. */
static int parse_count(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(text, &end, 10);
	return errno || end == text || *end || text[0] == '-' || *out > max ? -1 : 0;
}

int main(int argc, char **argv)
{
	enum {
		O_SOCKET = 256,
		O_LISTEN,
		O_TOKEN,
		O_STATE,
		O_LEASE,
		O_FG,
		O_VERSION,
		O_RATE,
		O_WRATE,
		O_HISTORY,
		O_KEEPCAPS,
		O_PRINTCAPS,
		O_CMDPROBES,
		O_PRINTSTARTCAPS
	};
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, O_SOCKET},
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"token-file", required_argument, NULL, O_TOKEN},
	    {"state-dir", required_argument, NULL, O_STATE},
	    {"lease", required_argument, NULL, O_LEASE},
	    {"foreground", no_argument, NULL, O_FG},
	    {"rate-limit", required_argument, NULL, O_RATE},
	    {"write-rate-limit", required_argument, NULL, O_WRATE},
	    {"keep-history", required_argument, NULL, O_HISTORY},
	    {"keep-capabilities", no_argument, NULL, O_KEEPCAPS},
	    {"print-capabilities", no_argument, NULL, O_PRINTCAPS},
	    {"allow-command-probes", no_argument, NULL, O_CMDPROBES},
	    {"print-startup-capabilities", no_argument, NULL, O_PRINTSTARTCAPS},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, O_VERSION},
	    {0},
	};
	const char *socket_path = SOCKET_DEFAULT, *listen_on = NULL, *token_file = NULL;
	const char *state_dir = STATE_DIR_DEFAULT;
	struct fl_server_opts so = {0};
	struct fl_mgr_opts mo = {.keep_history = FL_KEEP_HISTORY_DEFAULT};
	struct fl_probe_report *caps;
	struct fl_server *srv = NULL;
	struct fl_store *store = NULL;
	struct fl_mgr *mgr = NULL;
	uint64_t lease_ns = FL_RUN_LEASE_DEFAULT_NS;
	char err[512] = "", *token = NULL, *caps_json = NULL;
	int c, fg = 0, r, sig, leftovers, keep_all_caps = 0, unix_fd = -1, tcp_fd = -1;
	unsigned rate = RATE_DEFAULT, write_rate = WRITE_RATE_DEFAULT;
	sigset_t set;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		struct fl_error e = {0};

		switch (c) {
		case O_SOCKET:
			socket_path = strcmp(optarg, "none") ? optarg : NULL;
			break;
		case O_LISTEN:
			listen_on = optarg;
			break;
		case O_TOKEN:
			token_file = optarg;
			break;
		case O_STATE:
			state_dir = optarg;
			break;
		case O_LEASE:
			if (fl_parse_duration(optarg, "--lease", 0, &lease_ns, &e) ||
			    lease_ns < 200000000ull)
				return usage_error(
				    "--lease: \"%s\" is not a duration of at least 200ms", optarg);
			break;
		case O_FG:
			fg = 1;
			break;
		case O_RATE:
		case O_WRATE: {
			unsigned long v;

			if (parse_count(optarg, 100000, &v))
				return usage_error(c == O_RATE
						       ? "--rate-limit: \"%s\" is not a "
							 "number from 0 to 100000"
						       : "--write-rate-limit: \"%s\" is not "
							 "a number from 0 to 100000",
						   optarg);
			*(c == O_RATE ? &rate : &write_rate) = (unsigned)v;
			break;
		}
		case O_HISTORY: {
			unsigned long v;

			if (parse_count(optarg, 100000000, &v))
				return usage_error(
				    "--keep-history: \"%s\" is not a number from 0 to 100000000",
				    optarg);
			mo.keep_history = v;
			break;
		}
		case O_KEEPCAPS:
			keep_all_caps = 1;
			break;
		case O_CMDPROBES:
			mo.allow_command_probes = true;
			break;
		case O_PRINTCAPS:
		case O_PRINTSTARTCAPS:
			for (size_t i = 0; i < N_CAPS; i++)
				if (c == O_PRINTSTARTCAPS || !caps_wanted[i].startup_only)
					printf("%s\n", caps_wanted[i].name);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("faultlined %s\n", FL_VERSION);
			return 0;
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (listen_on && !token_file)
		return usage_error("%s: --listen needs --token-file (TCP is never open without a "
				   "token)",
				   listen_on);
	if (!listen_on && token_file)
		return usage_error("%s: --token-file without --listen", token_file);
	if (!socket_path && !listen_on)
		return usage_error("%s: nothing to listen on", "--socket none");

	if (fl_feature_check_env(err, sizeof(err))) {
		fprintf(stderr, "faultlined: %s\n", err);
		return 2;
	}
	libbpf_set_print(libbpf_quiet);
	if (token_file) {
		token = read_token(token_file, err, sizeof(err));
		if (!token) {
			fprintf(stderr, "faultlined: %s\n", err);
			return 1;
		}
	}
	if (!fg) {
		if (daemon(0, 0) < 0) {
			fprintf(stderr, "faultlined: cannot detach: %s\n", strerror(errno));
			return 1;
		}
		fl_log_stderr = false;
		openlog("faultlined", LOG_PID, LOG_DAEMON);
	}

	/* signals are taken by sigwait below; every thread inherits the mask */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = mkdirs(state_dir, 0700);
	if (r) {
		fl_log(LOG_ERR, "--state-dir: cannot create %s: %s", state_dir, strerror(-r));
		return 1;
	}
	if (check_state_dir(state_dir, err, sizeof(err))) {
		fl_log(LOG_ERR, "%s", err);
		return 1;
	}
	r = fl_store_open(state_dir, &store);
	if (r == -ELOOP) {
		fl_log(LOG_ERR,
		       "cannot open the store in %s: a file of it (faultline.db, -wal, -shm) is a "
		       "symbolic link or not a regular file; the daemon never follows one there",
		       state_dir);
		return 1;
	}
	if (r) {
		fl_log(LOG_ERR, "cannot open the store in %s: %s", state_dir, strerror(-r));
		return 1;
	}
	leftovers = fl_journal_replay(NULL);
	if (leftovers > 0)
		fl_log(LOG_WARNING, "removed %d leftover clsact filter(s) of a faultline that died",
		       leftovers);
	else if (leftovers < 0 && fl_attach_journal_refusal())
		fl_log(LOG_WARNING, "%s", fl_attach_journal_refusal());
	if (!keep_all_caps)
		warn_missing_caps();
	caps = calloc(1, sizeof(*caps));
	if (caps && !fl_probe_all(caps))
		caps_json = fl_probe_report_json(caps);
	free(caps);

	if (socket_path) {
		char dir[4096], *slash;
		struct group *g;

		snprintf(dir, sizeof(dir), "%s", socket_path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			mkdirs(dir, 0755);
		}
		unix_fd = fl_server_listen_unix(socket_path, err, sizeof(err));
		if (unix_fd < 0)
			goto fail_listen;
		g = getgrnam("faultline");
		if (g && chown(socket_path, 0, g->gr_gid) < 0)
			fl_log(LOG_WARNING, "cannot give %s to group faultline: %s", socket_path,
			       strerror(errno));
		chmod(socket_path, g ? 0660 : 0600);
	}
	if (listen_on) {
		tcp_fd = fl_server_listen_tcp(listen_on, err, sizeof(err));
		if (tcp_fd < 0)
			goto fail_listen;
	}
	/* no thread runs yet: what is dropped here is dropped for all of them */
	if (!keep_all_caps && drop_capabilities(err, sizeof(err)))
		goto fail_listen;

	mo.store = store;
	mo.lease_ns = lease_ns;
	r = fl_mgr_open(&mo, &mgr);
	if (r) {
		fl_log(LOG_ERR, "cannot start the experiment manager: %s", strerror(-r));
		goto fail;
	}
	so.mgr = mgr;
	so.socket_path = socket_path;
	so.listen = listen_on;
	so.token = token;
	so.capabilities_json = caps_json;
	so.rate = rate;
	so.write_rate = write_rate;
	so.unix_fd = unix_fd;
	so.tcp_fd = tcp_fd;
	r = fl_server_start(&so, &srv, err, sizeof(err));
	if (r) {
		fl_log(LOG_ERR, "%s", err[0] ? err : strerror(-r));
		fl_mgr_close(mgr);
		fl_store_close(store);
		return 1;
	}
	fl_log(LOG_INFO, "faultlined %s ready: %s%s%s%s, state in %s", FL_VERSION,
	       socket_path ? socket_path : "", socket_path && listen_on ? " and " : "",
	       listen_on ? "tcp " : "", listen_on ? listen_on : "", state_dir);

	do {
		if (sigwait(&set, &sig))
			sig = SIGTERM;
	} while (sig == SIGHUP);

	fl_log(LOG_INFO, "stopping (%s): rolling back every experiment", strsignal(sig));
	fl_server_stop(srv);
	fl_mgr_close(mgr);
	fl_store_close(store);
	free(caps_json);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	fl_log(LOG_INFO, "stopped");
	return 0;

fail_listen:
	fl_log(LOG_ERR, "%s", err);
fail:
	if (unix_fd >= 0) {
		close(unix_fd);
		unlink(socket_path);
	}
	if (tcp_fd >= 0)
		close(tcp_fd);
	fl_store_close(store);
	return 1;
}
