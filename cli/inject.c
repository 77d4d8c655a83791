/*
 * cli/inject.c - `faultline inject`: apply faults in the foreground.
 *
 * The words are netem's (iproute2 tc/q_netem.c, tc-netem(8)), and one inject
 * carries several faults at once as a netem qdisc does:
 *
 *   faultline inject loss 1% 25% duplicate 0.5% rate 1mbit --burst 64kb \
 *       --protocol tcp --port 6379 --host 10.0.0.2 --for 30s
 *
 * argv is read in two passes. The first walks it in order and takes the
 * fault groups: a fault word, its positional values (an optional value is
 * taken only when it looks like a number, as netem's NEXT_IS_NUMBER does) and
 * the options that belong to that fault (--correlation, --payload, --burst),
 * which must follow it directly. Everything else goes, in order, to the
 * second pass, getopt_long, for the target and timing options.
 *
 * Then the target is resolved (cgroup path to id, interfaces from --dev or
 * from the routes to the addresses) before anything is touched: bad input
 * exits 2 with one line naming the flag and the expected form, and nothing
 * was attached.
 *
 * The faults live as long as this process: until --for runs out, Ctrl-C,
 * SIGTERM, or the process dies (the kernel then detaches the tcx links).
 * While healthy the process renews the rule's lease; if it finds the lease
 * lapsed (it was stopped or starved), the kernel has already ended the fault,
 * so it rolls back, says so and exits 4.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "faultline/dist.h"
#include "faultline/engine.h"
#include "faultline/errors.h"
#include "faultline/target.h"
#include "faultline/runner.h"
#include "faultline/scenario.h"
#include "faultline/units.h"

/* The smallest --share: one of the FL_SHARE_BUCKETS flow-hash buckets. */
#define SHARE_MIN_PPB (FL_PPB_100 / FL_SHARE_BUCKETS)

/* Faults given, bits of inject_args.faults: a scenario step's action bits,
 * so that the library describes and runs inject's fault as a step. */
#define F_LOSS	    FL_SACT_LOSS
#define F_BLACKHOLE FL_SACT_BLACKHOLE
#define F_DUPLICATE FL_SACT_DUPLICATE
#define F_CORRUPT   FL_SACT_CORRUPT
#define F_RATE	    FL_SACT_RATE
#define F_DELAY	    FL_SACT_DELAY
#define F_REORDER   FL_SACT_REORDER
#define F_RESET	    FL_SACT_RESET
#define F_REFUSE    FL_SACT_REFUSE
#define F_DNS	    FL_SACT_DNS
#define F_HTTP	    FL_SACT_HTTP
#define F_ERRORS    FL_SACT_ERRORS

struct inject_args {
	struct fl_rule_spec spec;
	unsigned faults;
	int loss_values; /* gemodel/state: how many of p_ppb[] were written */
	const char *direction;
	int dir_given; /* --direction was written */
	const char *protocol_name;
	char *devs[FL_TARGET_DEVS_MAX]; /* --dev items, strdup()ed */
	int n_devs;
	int allow_wide;
	const char *cgroup;	 /* as written (--pid: its cgroup's path) */
	const char *cgroup_flag; /* "--cgroup" or "--pid" */
	char pid_cgroup[4096];	 /* --pid: /proc/PID/cgroup's path */
	char cgroup_abs[4096];	 /* resolved */
	uint64_t for_ns;	 /* 0: until stopped */
	uint64_t lease_ns;
	int json;
	int detach;	    /* hand it to faultlined */
	const char *socket; /* faultlined's socket (--socket), or NULL */
	enum fl_attach_mode mode;
	/* resolved interfaces */
	int ifindexes[FL_TARGET_DEVS_MAX];
	char ifnames[FL_TARGET_DEVS_MAX][IF_NAMESIZE];
	int n_ifs;
	enum fl_devs_source devs_source;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: faultline inject FAULT [FAULT...] [OPTIONS]\n"
	    "\n"
	    "Apply faults to the matching packets, in the foreground, until --for runs out,\n"
	    "Ctrl-C or SIGTERM; then roll them back. If this process dies (even kill -9)\n"
	    "the kernel removes the faults at once. Several faults may be given, each at\n"
	    "most once; per packet they act in the order rate, loss, corrupt, duplicate,\n"
	    "delay.\n"
	    "\n"
	    "Faults (netem's words; PCT is \"30%%\", \"0.5%%\" or a bare 30):\n"
	    "  loss [random] PCT [CORR] [--correlation CORR]\n"
	    "                         drop PCT of the packets; CORR correlates each decision\n"
	    "                         with the previous one (netem's correlated loss)\n"
	    "  loss gemodel P [R [1-H [1-K]]]\n"
	    "                         Gilbert-Elliott: P good->bad, R bad->good (default\n"
	    "                         100%%), 1-H loss in bad (default 100%%), 1-K loss in\n"
	    "                         good (default 0)\n"
	    "  loss state P13 [P31 [P32 [P23 [P14]]]]\n"
	    "                         4-state Markov; defaults P31 = 100%% - P13, P32 = 0,\n"
	    "                         P23 = 100%%, P14 = 0\n"
	    "  blackhole              drop every matching packet (loss 100%%)\n"
	    "  duplicate PCT [CORR] [--correlation CORR]\n"
	    "                         send a copy of PCT of the packets\n"
	    "  corrupt PCT [--payload]\n"
	    "                         flip a random bit of PCT of the packets; --payload flips\n"
	    "                         one in the L4 payload and keeps the checksum valid\n"
	    "  rate RATE [--burst SIZE]\n"
	    "                         police to RATE (\"1mbit\", \"500kbps\"): drop what is above\n"
	    "                         it, no queueing; default burst 10ms at RATE, at least\n"
	    "                         64kb (3028b for --protocol udp or icmp)\n"
	    "  delay TIME [JITTER [CORR]] [--distribution DIST] [--limit N]\n"
	    "                         hold each packet TIME (\"10ms\", \"500us\"), varied by\n"
	    "                         JITTER: uniform in +-JITTER (default), or normal, pareto\n"
	    "                         or paretonormal with standard deviation JITTER; CORR\n"
	    "                         correlates each delay with the previous one; jitter may\n"
	    "                         reorder packets (as netem's does); at most N packets held\n"
	    "                         at once per rule (default 1000): beyond it packets are\n"
	    "                         dropped and counted\n"
	    "  reorder PCT [CORR] [--gap N]\n"
	    "                         with a delay: send PCT of the packets at once, ahead of\n"
	    "                         the delayed ones; with --gap N, only after N - 1 delayed\n"
	    "\n"
	    "Errors (each alone; no proxy: docs/errors.md):\n"
	    "  refuse [--errno E] [--percent P]\n"
	    "                         connect() to the target fails at once with E:\n"
	    "                         ECONNREFUSED (default), ETIMEDOUT, ENETUNREACH,\n"
	    "                         EHOSTUNREACH or EACCES; TCP and UDP, IPv4 and IPv6; for\n"
	    "                         P of the calls (default all); targets: --host, --cidr,\n"
	    "                         --port/--remote-port, --protocol, --cgroup, --pid\n"
	    "  reset [--percent P] [--after-bytes SIZE] [--after TIME]\n"
	    "                         the next segment of each chosen TCP connection becomes\n"
	    "                         a RST for the local socket (ECONNRESET), once SIZE bytes\n"
	    "                         went by and TIME passed; P of the connections\n"
	    "  dns servfail|nxdomain|refused|drop [--domain PATTERN,...] [--percent P]\n"
	    "                         DNS responses (UDP and TCP, port 53 or --port) get that\n"
	    "                         rcode, or vanish; PATTERN: db.example.com, *.svc.local\n"
	    "  http [--status CODE] [--percent P] [--path PREFIX] [--delay TIME]\n"
	    "                         HTTP/1.x responses get status CODE (rewritten in place;\n"
	    "                         the reason phrase and body stay), P of them, only for\n"
	    "                         requests under PREFIX; --delay holds the first segment\n"
	    "                         of each; plain HTTP only\n"
	    "  reset, dns and http act in both directions unless --direction is given (with\n"
	    "  --cgroup: egress), so they work on the client's host and on the server's.\n"
	    "\n"
	    "Target (a packet must match every one given):\n"
	    "  --dev IF[,IF...]       interfaces to act on (repeatable); default: those the\n"
	    "                         kernel routes the --host/--cidr addresses through\n"
	    "                         (never lo unless named)\n"
	    "  --direction DIR        egress (default), ingress or both\n"
	    "  --protocol PROTO       tcp, udp, icmp (ICMP and ICMPv6) or any (default)\n"
	    "  --port PORTS           either side of the flow: 80, 8000-8100, 80,443\n"
	    "  --local-port PORTS     this host's side of the flow\n"
	    "  --remote-port PORTS    the peer's side of the flow\n"
	    "  --host ADDR[,ADDR...]  remote address, IPv4 or IPv6 (repeatable)\n"
	    "  --cidr NET/LEN[,...]   remote network, e.g. 10.0.0.0/8, fd00::/64 (repeatable;\n"
	    "                         at most %d addresses and networks in all)\n"
	    "  --cgroup PATH          sockets of this cgroup v2: its directory, or its path\n"
	    "                         under the cgroup v2 mount as /proc/PID/cgroup shows it\n"
	    "                         (/system.slice/x.service); egress only\n"
	    "  --pid PID              the cgroup v2 of process PID, as --cgroup\n"
	    "  --share PCT            only this share of the flows (chosen by flow hash,\n"
	    "                         stable for a flow's lifetime)\n"
	    "  --allow-management     also fault port 22 (ssh), spared by default\n"
	    "  --allow-wide           with no --dev and no address: every interface that is up\n"
	    "\n"
	    "Randomness:\n"
	    "  --seed N               reproducible decisions (0 to 2^64-1): the same packet\n"
	    "                         sequence on the same CPU gets the same decisions\n"
	    "\n"
	    "Timing:\n"
	    "  --for DURATION         how long (\"30s\", \"500ms\", \"2m\"); default: until "
	    "stopped\n"
	    "  --lease DURATION       the faults end by themselves this long after this process\n"
	    "                         stops renewing them (stopped, hung); default 2s\n"
	    "\n"
	    "Output:\n"
	    "  --json                 print the final summary as JSON on stdout\n"
	    "  --attach MODE          auto (default: tcx, else clsact), tcx or clsact\n"
	    "  --detach               hand the fault to faultlined (needs --for; no --seed):\n"
	    "                         it runs as an experiment of the daemon, this command\n"
	    "                         prints its id and exits ('faultline status ID', 'stop ID')\n"
	    "  --socket PATH          faultlined's socket for --detach (default "
	    "$FAULTLINE_SOCKET,\n"
	    "                         else /run/faultline/faultlined.sock)\n"
	    "  -h, --help             this text\n"
	    "\n"
	    "Exit status: 0 when the faults ran their course or SIGTERM ended them, 2 bad\n"
	    "input (nothing applied), 4 injection failed or was interrupted by a lapsed\n"
	    "lease (rolled back), 130 Ctrl-C (rolled back).\n"
	    "\n"
	    "Examples:\n"
	    "  faultline inject loss 30%% --dev eth0 --protocol udp --port 7777 --for 60s\n"
	    "  faultline inject loss 1%% duplicate 0.5%% corrupt 0.1%% --host 10.0.0.2\n"
	    "  faultline inject rate 1mbit --burst 64kb --protocol tcp --remote-port 443 --for "
	    "1m\n"
	    "  faultline inject delay 50ms --port 6379 --direction both --for 5m\n"
	    "  faultline inject delay 100ms 20ms 25%% --distribution normal loss 1%% --host "
	    "10.0.0.2\n"
	    "  faultline inject delay 10ms reorder 25%% 50%% --gap 5 --protocol udp\n"
	    "  faultline inject refuse --errno ETIMEDOUT --host 10.0.0.2 --port 5432 --for 30s\n"
	    "  faultline inject reset --after-bytes 1mb --port 6379 --for 1m\n"
	    "  faultline inject dns nxdomain --domain '*.svc.local' --for 1m\n"
	    "  faultline inject http --status 503 --percent 50%% --port 8080 --for 1m\n",
	    FL_CIDRS_MAX);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("faultline inject: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see 'faultline inject --help')\n", stderr);
	return FL_EXIT_USAGE;
}

static int input_error(const struct fl_error *err)
{
	char buf[512];

	fl_cli_err("%s", fl_error_str(err, buf, sizeof(buf)));
	return FL_EXIT_USAGE;
}

/* "FIELD: msg" as one input error line. */
static int field_error(const char *field, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int field_error(const char *field, const char *fmt, ...)
{
	struct fl_error err = {0};
	va_list ap;

	snprintf(err.field, sizeof(err.field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	return input_error(&err);
}

/* ------------------------------------------------------------------ */
/* First pass: the fault groups                                        */

/* netem's NEXT_IS_NUMBER, plus a minus sign so that "-5%" is refused as a
 * value instead of being taken for an option. */
static int looks_number(const char *s)
{
	if (*s == '-')
		s++;
	return (s[0] >= '0' && s[0] <= '9') || (s[0] == '.' && s[1] >= '0' && s[1] <= '9');
}

static int is_option(const char *s)
{
	return s[0] == '-' && s[1] && !looks_number(s);
}

/* "--name" or "--name=VALUE": 1 and *value (NULL without "="). */
static int is_flag(const char *arg, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncmp(arg, name, n))
		return 0;
	if (arg[n] == '\0') {
		*value = NULL;
		return 1;
	}
	if (arg[n] == '=') {
		*value = arg + n + 1;
		return 1;
	}
	return 0;
}

/* The value of a per-fault option: after "=", or the next argument. */
static int flag_value(int argc, char **argv, int *i, const char *inline_value, const char *flag,
		      const char *expected, const char **out)
{
	if (inline_value) {
		*out = inline_value;
		return 0;
	}
	if (*i + 1 >= argc || is_option(argv[*i + 1]))
		return field_error(flag, "needs a value (expected %s)", expected);
	*out = argv[++*i];
	return 0;
}

/* The required first value of a fault: the next argument unless there is
 * none or it is an option. */
static const char *required_value(int argc, char **argv, int i)
{
	if (i + 1 >= argc || is_option(argv[i + 1]))
		return NULL;
	return argv[i + 1];
}

/* "--correlation CORR" after loss PCT or duplicate PCT. */
static int take_correlation(int argc, char **argv, int *i, const char *fault, int have_corr,
			    uint32_t *corr)
{
	const char *v;
	struct fl_error err = {0};
	int r;

	while (*i + 1 < argc && is_flag(argv[*i + 1], "--correlation", &v)) {
		++*i;
		if (have_corr)
			return field_error(fault,
					   "correlation given twice (expected '%s PCT CORR' or "
					   "'%s PCT --correlation CORR', not both)",
					   fault, fault);
		r = flag_value(argc, argv, i, v, "--correlation", "a percentage such as 25%", &v);
		if (r)
			return r;
		if (fl_parse_percent(v, "--correlation", corr, &err))
			return input_error(&err);
		have_corr = 1;
	}
	return 0;
}

static int parse_loss(int argc, char **argv, int *i, struct inject_args *a)
{
	static const char *const ge_names[] = {"p", "r", "1-h", "1-k"};
	static const char *const st_names[] = {"p13", "p31", "p32", "p23", "p14"};
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	const char *v, *model = NULL;
	char field[64];

	if (a->faults & F_LOSS)
		return field_error("loss", "given twice (expected each fault at most once)");
	if (a->faults & F_BLACKHOLE)
		return field_error("loss", "cannot be combined with blackhole, which is loss 100%% "
					   "(expected one of them)");
	a->faults |= F_LOSS;
	if (*i + 1 < argc && !strcmp(argv[*i + 1], "random"))
		++*i;
	else if (*i + 1 < argc &&
		 (!strcmp(argv[*i + 1], "gemodel") || !strcmp(argv[*i + 1], "state")))
		model = argv[++*i];

	if (!model) {
		int have_corr = 0;

		s->loss.model = FL_LOSS_RANDOM;
		v = required_value(argc, argv, *i);
		if (!v)
			return usage_error("loss: missing PCT (expected e.g. 'loss 30%%')");
		++*i;
		if (fl_parse_percent(v, "loss", &s->loss.ppb, &err))
			return input_error(&err);
		if (*i + 1 < argc && looks_number(argv[*i + 1])) {
			if (fl_parse_percent(argv[++*i], "loss correlation", &s->loss.corr_ppb,
					     &err))
				return input_error(&err);
			have_corr = 1;
		}
		return take_correlation(argc, argv, i, "loss", have_corr, &s->loss.corr_ppb);
	}

	int gemodel = !strcmp(model, "gemodel"), max = gemodel ? 4 : 5, n = 0;
	const char *const *names = gemodel ? ge_names : st_names;
	const char *form = gemodel ? "'loss gemodel P [R [1-H [1-K]]]'"
				   : "'loss state P13 [P31 [P32 [P23 [P14]]]]'";

	s->loss.model = gemodel ? FL_LOSS_GEMODEL : FL_LOSS_4STATE;
	snprintf(field, sizeof(field), "loss %s", model);
	v = required_value(argc, argv, *i);
	if (!v)
		return field_error(field, "missing %s (expected %s, e.g. 'loss %s 1%%')",
				   gemodel ? "P" : "P13", form, model);
	while (*i + 1 < argc && (n == 0 || looks_number(argv[*i + 1]))) {
		char vfield[64];

		if (n == max)
			return field_error(field,
					   "\"%s\" is one value too many (expected at most %d: "
					   "%s)",
					   argv[*i + 1], max, form);
		snprintf(vfield, sizeof(vfield), "loss %s %s", model, names[n]);
		if (fl_parse_percent(argv[++*i], vfield, &s->loss.p_ppb[n], &err))
			return input_error(&err);
		n++;
	}
	a->loss_values = n;
	fl_loss_model_defaults(s, n);
	if (!gemodel) {
		const uint32_t *p = s->loss.p_ppb;

		if ((uint64_t)p[0] + p[4] > FL_PPB_100)
			return field_error(field,
					   "p13 + p14 is above 100%% (expected the chances of "
					   "leaving state 1 to add up to at most 100%%)");
		if ((uint64_t)p[1] + p[2] > FL_PPB_100)
			return field_error(field,
					   "p31 + p32 is above 100%% (expected the chances of "
					   "leaving state 4 to add up to at most 100%%)");
	}
	if (*i + 1 < argc && is_flag(argv[*i + 1], "--correlation", &v))
		return field_error("--correlation",
				   "applies to 'loss PCT' (random loss), not to 'loss %s', whose "
				   "model is its correlation",
				   model);
	return 0;
}

static int parse_duplicate(int argc, char **argv, int *i, struct inject_args *a)
{
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	const char *v;
	int have_corr = 0;

	if (a->faults & F_DUPLICATE)
		return field_error("duplicate", "given twice (expected each fault at most once)");
	a->faults |= F_DUPLICATE;
	v = required_value(argc, argv, *i);
	if (!v)
		return usage_error("duplicate: missing PCT (expected e.g. 'duplicate 1%%')");
	++*i;
	if (fl_parse_percent(v, "duplicate", &s->duplicate.ppb, &err))
		return input_error(&err);
	if (*i + 1 < argc && looks_number(argv[*i + 1])) {
		if (fl_parse_percent(argv[++*i], "duplicate correlation", &s->duplicate.corr_ppb,
				     &err))
			return input_error(&err);
		have_corr = 1;
	}
	return take_correlation(argc, argv, i, "duplicate", have_corr, &s->duplicate.corr_ppb);
}

static int parse_corrupt(int argc, char **argv, int *i, struct inject_args *a)
{
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	const char *v;

	if (a->faults & F_CORRUPT)
		return field_error("corrupt", "given twice (expected each fault at most once)");
	a->faults |= F_CORRUPT;
	v = required_value(argc, argv, *i);
	if (!v)
		return usage_error("corrupt: missing PCT (expected e.g. 'corrupt 0.1%%')");
	++*i;
	if (fl_parse_percent(v, "corrupt", &s->corrupt.ppb, &err))
		return input_error(&err);
	if (*i + 1 < argc && looks_number(argv[*i + 1]))
		return field_error("corrupt",
				   "\"%s\": a correlation is not supported for corrupt (expected "
				   "'corrupt PCT [--payload]')",
				   argv[*i + 1]);
	while (*i + 1 < argc && is_flag(argv[*i + 1], "--payload", &v)) {
		++*i;
		if (v)
			return field_error("--payload", "takes no value (expected 'corrupt PCT "
							"--payload')");
		s->corrupt.payload = 1;
	}
	return 0;
}

static int parse_rate(int argc, char **argv, int *i, struct inject_args *a)
{
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	char buf[32];
	const char *v;
	int have_burst = 0, r;

	if (a->faults & F_RATE)
		return field_error("rate", "given twice (expected each fault at most once)");
	a->faults |= F_RATE;
	v = required_value(argc, argv, *i);
	if (!v)
		return usage_error("rate: missing RATE (expected e.g. 'rate 1mbit')");
	++*i;
	if (fl_parse_rate(v, "rate", &s->rate.bits_per_sec, &err))
		return input_error(&err);
	if (s->rate.bits_per_sec > FL_RATE_MAX_BPS)
		return field_error("rate",
				   "\"%s\" is above %s, the fastest rate the policer can count "
				   "(expected a lower rate)",
				   v, fl_fmt_rate(FL_RATE_MAX_BPS, buf, sizeof(buf)));
	if (s->rate.bits_per_sec < FL_RATE_MIN_BPS)
		return field_error("rate",
				   "\"%s\" is below %s, the slowest rate the policer counts "
				   "(expected e.g. 1kbit or more)",
				   v, fl_fmt_rate(FL_RATE_MIN_BPS, buf, sizeof(buf)));
	if (*i + 1 < argc && looks_number(argv[*i + 1]))
		return field_error("rate",
				   "\"%s\": netem's packet overhead and cell size are not "
				   "supported (expected 'rate RATE [--burst SIZE]')",
				   argv[*i + 1]);
	while (*i + 1 < argc && is_flag(argv[*i + 1], "--burst", &v)) {
		++*i;
		if (have_burst)
			return field_error("--burst", "given twice (expected one size)");
		r = flag_value(argc, argv, i, v, "--burst", "a size such as 64kb", &v);
		if (r)
			return r;
		if (fl_parse_size(v, "--burst", &s->rate.burst_bytes, &err))
			return input_error(&err);
		have_burst = 1;
	}
	return 0;
}

static int parse_blackhole(int argc, char **argv, int *i, struct inject_args *a)
{
	if (a->faults & F_BLACKHOLE)
		return field_error("blackhole", "given twice (expected each fault at most once)");
	if (a->faults & F_LOSS)
		return field_error("blackhole", "cannot be combined with loss: blackhole is loss "
						"100%% (expected one of them)");
	a->faults |= F_BLACKHOLE;
	if (*i + 1 < argc && looks_number(argv[*i + 1]))
		return field_error("blackhole",
				   "\"%s\": blackhole takes no value, it drops every matching "
				   "packet (expected 'blackhole', or 'loss PCT' for a share)",
				   argv[*i + 1]);
	a->spec.loss.model = FL_LOSS_RANDOM;
	a->spec.loss.ppb = FL_PPB_100;
	return 0;
}

/* delay TIME [JITTER [CORR]] [--distribution D] [--limit N]: netem's
 * positional meaning. */
static int parse_delay(int argc, char **argv, int *i, struct inject_args *a)
{
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	char buf[32];
	const char *v;
	int have_limit = 0, have_dist = 0, r;

	if (a->faults & F_DELAY)
		return field_error("delay", "given twice (expected each fault at most once)");
	a->faults |= F_DELAY;
	v = required_value(argc, argv, *i);
	if (!v)
		return usage_error("delay: missing TIME (expected e.g. 'delay 10ms')");
	++*i;
	if (fl_parse_duration(v, "delay", 0, &s->delay.ns, &err))
		return input_error(&err);
	if (*i + 1 < argc && looks_number(argv[*i + 1]) &&
	    fl_parse_duration(argv[++*i], "delay jitter", 1, &s->delay.jitter_ns, &err))
		return input_error(&err);
	if (s->delay.ns > FL_DELAY_MAX_NS)
		return field_error("delay", "\"%s\" is above %s (expected a shorter delay)", v,
				   fl_fmt_duration(FL_DELAY_MAX_NS, buf, sizeof(buf)));
	if (s->delay.jitter_ns > FL_JITTER_MAX_NS)
		return field_error("delay",
				   "jitter \"%s\" is above %s, netem's limit too "
				   "(expected a smaller JITTER)",
				   argv[*i], fl_fmt_duration(FL_JITTER_MAX_NS, buf, sizeof(buf)));
	if (*i + 1 < argc && looks_number(argv[*i + 1])) {
		if (!s->delay.jitter_ns)
			return field_error("delay",
					   "\"%s\": a correlation needs a JITTER "
					   "(expected 'delay TIME JITTER [CORR]')",
					   argv[*i + 1]);
		if (fl_parse_percent(argv[++*i], "delay correlation", &s->delay.corr_ppb, &err))
			return input_error(&err);
	}
	if (*i + 1 < argc && looks_number(argv[*i + 1]))
		return field_error("delay",
				   "\"%s\": too many values (expected 'delay TIME [JITTER "
				   "[CORR]]')",
				   argv[*i + 1]);
	for (;;) {
		if (*i + 1 < argc && is_flag(argv[*i + 1], "--distribution", &v)) {
			enum fl_dist d;

			++*i;
			if (have_dist)
				return field_error("--distribution", "given twice (expected one)");
			r = flag_value(argc, argv, i, v, "--distribution",
				       "uniform, normal, pareto or paretonormal", &v);
			if (r)
				return r;
			if (fl_dist_parse(v, &d))
				return field_error(
				    "--distribution",
				    "\"%s\" is not a distribution (expected uniform, "
				    "normal, pareto or paretonormal)",
				    v);
			if (!s->delay.jitter_ns && d != FL_DIST_UNIFORM)
				return field_error("--distribution",
						   "%s shapes the JITTER, and none was given "
						   "(expected e.g. 'delay 100ms 10ms "
						   "--distribution %s')",
						   v, v);
			s->delay.dist = (uint32_t)d;
			have_dist = 1;
			continue;
		}
		if (*i + 1 < argc && is_flag(argv[*i + 1], "--limit", &v)) {
			char *end;
			unsigned long n;

			++*i;
			if (have_limit)
				return field_error("--limit", "given twice (expected one number)");
			r = flag_value(argc, argv, i, v, "--limit",
				       "a number of packets such as 1000", &v);
			if (r)
				return r;
			errno = 0;
			n = strtoul(v, &end, 10);
			if (errno || *end || !*v || *v == '-' || n == 0 || n > 1000000)
				return field_error("--limit",
						   "\"%s\" is not a packet count (expected a whole "
						   "number from 1 to 1000000)",
						   v);
			s->delay.limit = (uint32_t)n;
			have_limit = 1;
			continue;
		}
		break;
	}
	return 0;
}

/* reorder PCT [CORR] [--gap N]: netem's; needs a delay (checked later). */
static int parse_reorder(int argc, char **argv, int *i, struct inject_args *a)
{
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	const char *v;
	int r;

	if (a->faults & F_REORDER)
		return field_error("reorder", "given twice (expected each fault at most once)");
	a->faults |= F_REORDER;
	v = required_value(argc, argv, *i);
	if (!v)
		return usage_error("reorder: missing PCT (expected e.g. 'reorder 25%%')");
	++*i;
	if (fl_parse_percent(v, "reorder", &s->reorder.ppb, &err))
		return input_error(&err);
	if (*i + 1 < argc && looks_number(argv[*i + 1]) &&
	    fl_parse_percent(argv[++*i], "reorder correlation", &s->reorder.corr_ppb, &err))
		return input_error(&err);
	if (*i + 1 < argc && looks_number(argv[*i + 1]))
		return field_error("reorder",
				   "\"%s\": too many values (expected 'reorder PCT [CORR] "
				   "[--gap N]')",
				   argv[*i + 1]);
	if (*i + 1 < argc && is_flag(argv[*i + 1], "--gap", &v)) {
		char *end;
		unsigned long n;

		++*i;
		r = flag_value(argc, argv, i, v, "--gap", "a number of packets such as 5", &v);
		if (r)
			return r;
		errno = 0;
		n = strtoul(v, &end, 10);
		if (errno || *end || !*v || *v == '-' || n == 0 || n > 1000000)
			return field_error("--gap",
					   "\"%s\" is not a packet count (expected a whole number "
					   "from 1 to 1000000)",
					   v);
		s->reorder.gap = (uint32_t)n;
	}
	return 0;
}

/* The options of an error fault, right after it: "--name VALUE" or
 * "--name=VALUE" for each name in names. Returns the index in names of the
 * next one (its value in *v), or -1 when the next argument is none of them;
 * -2 after an error message. */
static int next_fault_opt(int argc, char **argv, int *i, const char *const *names,
			  const char *const *expected, const char **v)
{
	const char *inl;

	if (*i + 1 >= argc)
		return -1;
	for (int k = 0; names[k]; k++)
		if (is_flag(argv[*i + 1], names[k], &inl)) {
			++*i;
			if (flag_value(argc, argv, i, inl, names[k], expected[k], v))
				return -2;
			return k;
		}
	return -1;
}

/* --percent P of an error fault: above 0. */
static int fault_percent(const char *v, uint32_t *ppb)
{
	struct fl_error err = {0};

	if (fl_parse_percent(v, "--percent", ppb, &err))
		return input_error(&err);
	if (!*ppb)
		return field_error("--percent",
				   "\"%s\" is zero (expected a percentage above 0, up to 100)", v);
	return 0;
}

static int error_fault_once(struct inject_args *a, unsigned bit, const char *word)
{
	if (a->faults & bit)
		return field_error(word, "given twice (expected each fault at most once)");
	a->faults |= bit;
	return 0;
}

/* refuse [--errno E] [--percent P] */
static int parse_refuse(int argc, char **argv, int *i, struct inject_args *a)
{
	static const char *const names[] = {"--errno", "--percent", NULL};
	static const char *const expected[] = {FL_ERRNO_NAMES, "a percentage such as 50%"};
	struct fl_error err = {0};
	const char *v;
	int k;

	if (error_fault_once(a, F_REFUSE, "refuse"))
		return FL_EXIT_USAGE;
	a->spec.refuse.err = ECONNREFUSED;
	while ((k = next_fault_opt(argc, argv, i, names, expected, &v)) >= 0) {
		if (k == 0 && fl_parse_errno_name(v, "--errno", &a->spec.refuse.err, &err))
			return input_error(&err);
		if (k == 1 && fault_percent(v, &a->spec.refuse.ppb))
			return FL_EXIT_USAGE;
	}
	return k == -2 ? FL_EXIT_USAGE : 0;
}

/* reset [--percent P] [--after-bytes SIZE] [--after TIME] */
static int parse_reset(int argc, char **argv, int *i, struct inject_args *a)
{
	static const char *const names[] = {"--percent", "--after-bytes", "--after", NULL};
	static const char *const expected[] = {"a percentage of connections such as 50%",
					       "a size such as 64kb", "a duration such as 2s"};
	struct fl_error err = {0};
	const char *v;
	int k;

	if (error_fault_once(a, F_RESET, "reset"))
		return FL_EXIT_USAGE;
	a->spec.reset.on = 1;
	if (*i + 1 < argc && looks_number(argv[*i + 1]))
		return field_error("reset",
				   "\"%s\": reset takes no value (expected 'reset [--percent P] "
				   "[--after-bytes SIZE] [--after TIME]')",
				   argv[*i + 1]);
	while ((k = next_fault_opt(argc, argv, i, names, expected, &v)) >= 0) {
		if (k == 0 && fault_percent(v, &a->spec.reset.ppb))
			return FL_EXIT_USAGE;
		if (k == 1 && fl_parse_size(v, "--after-bytes", &a->spec.reset.after_bytes, &err))
			return input_error(&err);
		if (k == 2 && fl_parse_duration(v, "--after", 1, &a->spec.reset.after_ns, &err))
			return input_error(&err);
	}
	return k == -2 ? FL_EXIT_USAGE : 0;
}

/* dns servfail|nxdomain|refused|drop [--domain PATTERN,...] [--percent P] */
static int parse_dns(int argc, char **argv, int *i, struct inject_args *a)
{
	static const char *const names[] = {"--domain", "--percent", NULL};
	static const char *const expected[] = {"names such as db.example.com or *.example.com",
					       "a percentage of responses such as 50%"};
	struct fl_error err = {0};
	const char *v;
	int k;

	if (error_fault_once(a, F_DNS, "dns"))
		return FL_EXIT_USAGE;
	v = required_value(argc, argv, *i);
	if (!v)
		return usage_error("dns: missing what to do (expected 'dns servfail', 'dns "
				   "nxdomain', 'dns refused' or 'dns drop')");
	++*i;
	if (fl_parse_dns_rcode(v, "dns", &a->spec.dns.rcode, &err))
		return input_error(&err);
	while ((k = next_fault_opt(argc, argv, i, names, expected, &v)) >= 0) {
		if (k == 0 && fl_parse_dns_domains(v, "--domain", a->spec.dns.domains, &err))
			return input_error(&err);
		if (k == 1 && fault_percent(v, &a->spec.dns.ppb))
			return FL_EXIT_USAGE;
	}
	return k == -2 ? FL_EXIT_USAGE : 0;
}

/* http [--status CODE] [--percent P] [--path PREFIX] [--delay TIME] */
static int parse_http(int argc, char **argv, int *i, struct inject_args *a)
{
	static const char *const names[] = {"--status", "--percent", "--path", "--delay", NULL};
	static const char *const expected[] = {
	    "an HTTP status code such as 503", "a percentage of responses such as 50%",
	    "a path prefix such as /api", "a duration such as 200ms"};
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	char buf[32];
	const char *v;
	int k;

	if (error_fault_once(a, F_HTTP, "http"))
		return FL_EXIT_USAGE;
	s->http.on = 1;
	while ((k = next_fault_opt(argc, argv, i, names, expected, &v)) >= 0) {
		if (k == 0 && fl_parse_http_status(v, "--status", &s->http.status, &err))
			return input_error(&err);
		if (k == 1 && fault_percent(v, &s->http.ppb))
			return FL_EXIT_USAGE;
		if (k == 2 && fl_parse_http_path(v, "--path", s->http.path, &err))
			return input_error(&err);
		if (k == 3) {
			if (fl_parse_duration(v, "--delay", 0, &s->delay.ns, &err))
				return input_error(&err);
			if (s->delay.ns > FL_DELAY_MAX_NS)
				return field_error(
				    "--delay", "\"%s\" is above %s (expected a shorter delay)", v,
				    fl_fmt_duration(FL_DELAY_MAX_NS, buf, sizeof(buf)));
		}
	}
	if (k == -2)
		return FL_EXIT_USAGE;
	if (!s->http.status && !s->delay.ns)
		return usage_error("http: needs --status CODE, --delay TIME or both (expected e.g. "
				   "'http --status 503 --percent 50%%')");
	return 0;
}

static const struct {
	const char *word;
	int (*parse)(int argc, char **argv, int *i, struct inject_args *a);
} fault_words[] = {
    {"loss", parse_loss},	{"duplicate", parse_duplicate}, {"corrupt", parse_corrupt},
    {"rate", parse_rate},	{"blackhole", parse_blackhole}, {"delay", parse_delay},
    {"reorder", parse_reorder}, {"refuse", parse_refuse},	{"reset", parse_reset},
    {"dns", parse_dns},		{"http", parse_http},
};

#define FAULT_WORDS                                                                                \
	"loss, duplicate, corrupt, rate, blackhole, delay, reorder, refuse, reset, dns or http"

enum {
	O_DEV = 256,
	O_DIR,
	O_PROTO,
	O_PORT,
	O_LPORT,
	O_RPORT,
	O_CIDR,
	O_HOST,
	O_CGROUP,
	O_PID,
	O_SHARE,
	O_SEED,
	O_ALLOW_MGMT,
	O_ALLOW_WIDE,
	O_FOR,
	O_LEASE,
	O_JSON,
	O_ATTACH,
	O_DETACH,
	O_SOCKET,
};

static const struct option long_opts[] = {
    {"dev", required_argument, NULL, O_DEV},
    {"direction", required_argument, NULL, O_DIR},
    {"protocol", required_argument, NULL, O_PROTO},
    {"port", required_argument, NULL, O_PORT},
    {"local-port", required_argument, NULL, O_LPORT},
    {"remote-port", required_argument, NULL, O_RPORT},
    {"cidr", required_argument, NULL, O_CIDR},
    {"host", required_argument, NULL, O_HOST},
    {"cgroup", required_argument, NULL, O_CGROUP},
    {"pid", required_argument, NULL, O_PID},
    {"share", required_argument, NULL, O_SHARE},
    {"seed", required_argument, NULL, O_SEED},
    {"allow-management", no_argument, NULL, O_ALLOW_MGMT},
    {"allow-wide", no_argument, NULL, O_ALLOW_WIDE},
    {"for", required_argument, NULL, O_FOR},
    {"lease", required_argument, NULL, O_LEASE},
    {"json", no_argument, NULL, O_JSON},
    {"attach", required_argument, NULL, O_ATTACH},
    {"detach", no_argument, NULL, O_DETACH},
    {"socket", required_argument, NULL, O_SOCKET},
    {"help", no_argument, NULL, 'h'},
    {0},
};

/* Does the long option arg ("--name", no "=") take its value from the next
 * argument? Matches abbreviations as getopt_long does (an exact name, or a
 * prefix of exactly one name); an ambiguous prefix is refused here, naming
 * the candidates, because its value would otherwise be read as a fault. */
static int takes_next_value(const char *arg, int *takes)
{
	const struct option *hit = NULL;
	char names[256] = "";
	size_t n, o = 0;
	int ambiguous = 0;

	*takes = 0;
	if (strncmp(arg, "--", 2) || strchr(arg, '='))
		return 0;
	n = strlen(arg + 2);
	for (const struct option *o2 = long_opts; o2->name; o2++) {
		if (strncmp(o2->name, arg + 2, n))
			continue;
		if (strlen(o2->name) == n) {
			*takes = o2->has_arg == required_argument;
			return 0;
		}
		if (hit)
			ambiguous = 1;
		hit = o2;
		if (o < sizeof(names))
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s--%s", o ? ", " : "",
					      o2->name);
	}
	if (ambiguous)
		return usage_error("option %s is ambiguous (expected one of %s)", arg, names);
	*takes = hit && hit->has_arg == required_argument;
	return 0;
}

/* The per-fault options, found where no fault of theirs precedes them. */
static int misplaced_fault_option(const char *arg)
{
	const char *v;

	if (is_flag(arg, "--correlation", &v))
		return field_error("--correlation",
				   "belongs right after 'loss PCT' or 'duplicate PCT' (expected "
				   "e.g. 'loss 5%% --correlation 25%%')");
	if (is_flag(arg, "--payload", &v))
		return field_error("--payload", "belongs right after 'corrupt PCT' (expected e.g. "
						"'corrupt 1%% --payload')");
	if (is_flag(arg, "--burst", &v))
		return field_error("--burst", "belongs right after 'rate RATE' (expected e.g. "
					      "'rate 1mbit --burst 64kb')");
	{
		static const char *const errs[] = {"--errno", "--percent", "--after-bytes",
						   "--after", "--domain",  "--status",
						   "--path",  "--delay",   NULL};

		for (int k = 0; errs[k]; k++)
			if (is_flag(arg, errs[k], &v))
				return field_error(errs[k],
						   "belongs right after its fault (expected e.g. "
						   "'refuse --errno ETIMEDOUT', 'reset --percent "
						   "50%%', 'dns nxdomain --domain db.local', 'http "
						   "--status 503 --path /api --delay 100ms')");
	}
	if (is_flag(arg, "--limit", &v))
		return field_error("--limit", "belongs right after 'delay TIME [JITTER]' (expected "
					      "e.g. 'delay 10ms --limit 5000')");
	return 0;
}

/* First pass: take the fault groups out of argv; the rest, in order, into
 * rest[] (rest[0] = argv[0]) for getopt_long. */
static int scan_faults(int argc, char **argv, struct inject_args *a, char **rest, int *n_rest)
{
	int i, r, takes;

	*n_rest = 0;
	rest[(*n_rest)++] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		size_t f;

		if (!strcmp(arg, "--")) {
			while (i < argc)
				rest[(*n_rest)++] = argv[i++];
			break;
		}
		if (is_option(arg)) {
			r = misplaced_fault_option(arg);
			if (r)
				return r;
			r = takes_next_value(arg, &takes);
			if (r)
				return r;
			rest[(*n_rest)++] = argv[i];
			if (takes && i + 1 < argc)
				rest[(*n_rest)++] = argv[++i];
			continue;
		}
		for (f = 0; f < sizeof(fault_words) / sizeof(fault_words[0]); f++)
			if (!strcmp(arg, fault_words[f].word))
				break;
		if (f == sizeof(fault_words) / sizeof(fault_words[0])) {
			if (!a->faults)
				return usage_error(
				    "unknown fault \"%s\" (expected: " FAULT_WORDS ")", arg);
			return usage_error(
			    "unexpected argument \"%s\" (expected a fault: " FAULT_WORDS
			    ", or an option)",
			    arg);
		}
		r = fault_words[f].parse(argc, argv, &i, a);
		if (r)
			return r;
	}
	rest[*n_rest] = NULL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Second pass: target and timing options                              */

static int add_ports(const char *text, const char *field, struct fl_port_set *set)
{
	struct fl_port_set more;
	struct fl_error err = {0};

	if (fl_parse_ports(text, field, &more, &err))
		return input_error(&err);
	if (set->n + more.n > FL_PORT_RANGES_MAX)
		return field_error(field,
				   "more than %d items in all (expected at most %d ports "
				   "and ranges across every %s)",
				   FL_PORT_RANGES_MAX, FL_PORT_RANGES_MAX, field);
	for (unsigned k = 0; k < more.n; k++)
		set->r[set->n++] = more.r[k];
	return 0;
}

static int add_devs(const char *text, struct inject_args *a)
{
	const char *item = text, *end;

	for (;; item = end + 1) {
		end = strchr(item, ',');
		if (!end)
			end = item + strlen(item);
		if (end == item)
			return field_error("--dev",
					   "\"%s\" has an empty item (expected IF or a list such "
					   "as eth0,eth1)",
					   text);
		if (a->n_devs == FL_TARGET_DEVS_MAX)
			return field_error("--dev", "more than %d interfaces (expected at most %d)",
					   FL_TARGET_DEVS_MAX, FL_TARGET_DEVS_MAX);
		a->devs[a->n_devs] = strndup(item, (size_t)(end - item));
		if (!a->devs[a->n_devs])
			return field_error("--dev", "out of memory");
		a->n_devs++;
		if (*end == '\0')
			return 0;
	}
}

static int parse_seed(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p = s;

	if (!*p)
		goto bad;
	for (; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || v > (UINT64_MAX - d) / 10)
			goto bad;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
bad:
	return field_error("--seed",
			   "\"%s\" is not a seed (expected a whole number from 0 to "
			   "18446744073709551615)",
			   s);
}

static int parse_share(const char *s, uint32_t *ppb)
{
	struct fl_error err = {0};
	char buf[32];

	if (fl_parse_percent(s, "--share", ppb, &err))
		return input_error(&err);
	if (*ppb == 0)
		return field_error("--share",
				   "\"%s\" is zero (expected a share of the flows above 0%%, up "
				   "to 100%%)",
				   s);
	if (*ppb < SHARE_MIN_PPB)
		return field_error("--share",
				   "\"%s\" is below the smallest share, %s (flows are hashed into "
				   "%u buckets)",
				   s, fl_fmt_percent(SHARE_MIN_PPB, buf, sizeof(buf)),
				   FL_SHARE_BUCKETS);
	return 0;
}

static int check_ports(const struct inject_args *a, const struct fl_port_set *ps, const char *field)
{
	if (!ps->n)
		return 0;
	if (a->spec.protocol != FL_PROTO_TCP && a->spec.protocol != FL_PROTO_UDP &&
	    a->spec.protocol != FL_PROTOCOL_ANY)
		return usage_error("%s: ports need --protocol tcp, udp or any, not %s", field,
				   a->protocol_name);
	if (!a->spec.allow_management && fl_ports_only_management(ps))
		return field_error(field, "22 is a management port (ssh), never faulted unless "
					  "--allow-management is given (expected another port, or "
					  "--allow-management)");
	return 0;
}

static int parse_options(int n_rest, char **rest, struct inject_args *a)
{
	struct fl_rule_spec *s = &a->spec;
	struct fl_error err = {0};
	int c, r;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(n_rest, rest, ":h", long_opts, NULL)) != -1) {
		r = 0;
		switch (c) {
		case 'h':
			usage(stdout);
			return -1;
		case O_DEV:
			r = add_devs(optarg, a);
			break;
		case O_DIR:
			a->direction = optarg;
			a->dir_given = 1;
			if (!strcmp(optarg, "egress"))
				s->dir_mask = FL_DIRMASK_EGRESS;
			else if (!strcmp(optarg, "ingress"))
				s->dir_mask = FL_DIRMASK_INGRESS;
			else if (!strcmp(optarg, "both"))
				s->dir_mask = FL_DIRMASK_BOTH;
			else
				return usage_error(
				    "--direction: \"%s\" is not a direction (expected "
				    "egress, ingress or both)",
				    optarg);
			break;
		case O_PROTO:
			a->protocol_name = optarg;
			if (!strcmp(optarg, "tcp"))
				s->protocol = FL_PROTO_TCP;
			else if (!strcmp(optarg, "udp"))
				s->protocol = FL_PROTO_UDP;
			else if (!strcmp(optarg, "icmp"))
				s->protocol = FL_PROTO_ICMP;
			else if (!strcmp(optarg, "any"))
				s->protocol = FL_PROTOCOL_ANY;
			else
				return usage_error("--protocol: \"%s\" is not a protocol (expected "
						   "tcp, udp, icmp or any)",
						   optarg);
			break;
		case O_PORT:
			r = add_ports(optarg, "--port", &s->ports);
			break;
		case O_LPORT:
			r = add_ports(optarg, "--local-port", &s->local_ports);
			break;
		case O_RPORT:
			r = add_ports(optarg, "--remote-port", &s->remote_ports);
			break;
		case O_CIDR:
		case O_HOST:
			if (fl_parse_cidrs(optarg, c == O_HOST ? "--host" : "--cidr", c == O_HOST,
					   s->cidrs, &s->n_cidrs, FL_CIDRS_MAX, &err))
				return input_error(&err);
			break;
		case O_CGROUP:
			if (a->cgroup)
				return field_error("--cgroup",
						   a->cgroup_flag
						       ? "and --pid both name a cgroup "
							 "(expected one of them)"
						       : "given twice (expected one cgroup)");
			a->cgroup = optarg;
			break;
		case O_PID: {
			char *end;
			long pid;

			errno = 0;
			pid = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || pid <= 0 || pid > 4194304)
				return field_error("--pid",
						   "\"%s\" is not a process id (expected a whole "
						   "number such as 4242)",
						   optarg);
			if (a->cgroup)
				return field_error("--pid", "and --cgroup both name a cgroup "
							    "(expected one of them)");
			if (fl_pid_cgroup((int)pid, "--pid", a->pid_cgroup, sizeof(a->pid_cgroup),
					  &err))
				return input_error(&err);
			a->cgroup = a->pid_cgroup;
			a->cgroup_flag = "--pid";
			break;
		}
		case O_SHARE:
			r = parse_share(optarg, &s->share_ppb);
			break;
		case O_SEED:
			r = parse_seed(optarg, &s->seed);
			s->has_seed = 1;
			break;
		case O_ALLOW_MGMT:
			s->allow_management = 1;
			break;
		case O_ALLOW_WIDE:
			a->allow_wide = 1;
			break;
		case O_FOR:
			if (fl_parse_duration(optarg, "--for", 0, &a->for_ns, &err))
				return input_error(&err);
			break;
		case O_LEASE:
			if (fl_parse_duration(optarg, "--lease", 0, &a->lease_ns, &err))
				return input_error(&err);
			if (a->lease_ns < 200000000ull)
				return usage_error(
				    "--lease: \"%s\" is too short (expected at least "
				    "200ms)",
				    optarg);
			break;
		case O_JSON:
			a->json = 1;
			break;
		case O_ATTACH:
			if (!strcmp(optarg, "auto"))
				a->mode = FL_ATTACH_AUTO;
			else if (!strcmp(optarg, "tcx"))
				a->mode = FL_ATTACH_TCX;
			else if (!strcmp(optarg, "clsact"))
				a->mode = FL_ATTACH_CLSACT;
			else
				return usage_error(
				    "--attach: \"%s\" is not an attach mode (expected "
				    "auto, tcx or clsact)",
				    optarg);
			break;
		case O_DETACH:
			a->detach = 1;
			break;
		case O_SOCKET:
			a->socket = optarg;
			break;
		case ':':
			return usage_error("option %s needs a value", rest[optind - 1]);
		default:
			return usage_error("unknown option %s", rest[optind - 1]);
		}
		if (r)
			return r;
	}
	if (optind < n_rest)
		return usage_error("unexpected argument \"%s\"", rest[optind]);
	return 0;
}

/* Checks across fields, and the resolution of the target, still before
 * anything is touched. */
static int finish_args(struct inject_args *a)
{
	struct fl_error err = {0};
	int r;

	if (!a->faults)
		return usage_error("missing FAULT (expected e.g. 'loss 30%%')");
	if (a->detach && !a->for_ns)
		return field_error("--detach", "needs --for: the daemon runs an experiment for a "
					       "set time (expected e.g. '--for 10m')");
	if (a->detach && a->spec.has_seed)
		return field_error("--detach", "cannot carry --seed: a scenario has no seed "
					       "(expected no --seed, or no --detach)");
	if (a->socket && !a->detach)
		return field_error("--socket", "is faultlined's socket, used only with --detach");
	r = check_ports(a, &a->spec.ports, "--port");
	if (!r)
		r = check_ports(a, &a->spec.local_ports, "--local-port");
	if (!r)
		r = check_ports(a, &a->spec.remote_ports, "--remote-port");
	if (r)
		return r;
	if ((a->faults & F_REORDER) && !(a->faults & F_DELAY))
		return field_error("reorder",
				   "sends some packets ahead of delayed ones, and nothing is "
				   "delayed (expected e.g. 'delay 10ms reorder 25%%')");
	if (a->faults & F_ERRORS) {
		static const char *const flags[6] = {"--protocol",    "--port",	     "--local-port",
						     "--remote-port", "--direction", "--share"};
		unsigned errs = a->faults & F_ERRORS;

		if ((errs & (errs - 1)) || (a->faults & ~F_ERRORS))
			return usage_error(
			    "an error fault (refuse, reset, dns, http) goes alone: it acts on "
			    "connections, names and responses, not on every packet (expected one "
			    "fault per inject, e.g. 'http --status 503')");
		if ((a->faults & F_REFUSE) && a->n_devs)
			return field_error("--dev", "refuse acts on connect(), in every network "
						    "namespace, not on an interface (expected no "
						    "--dev)");
		r = fl_errors_complete(&a->spec, a->dir_given, a->cgroup != NULL, flags, &err);
		if (r)
			return input_error(&err);
		if ((a->faults & F_REFUSE) && !a->cgroup && !a->spec.n_cidrs && !a->spec.ports.n &&
		    !a->spec.remote_ports.n && !a->allow_wide)
			return usage_error(
			    "refuse with no --host, --cidr, --port, --remote-port or --cgroup "
			    "would fail every connect() of this host (expected a target, or "
			    "--allow-wide to mean it)");
		a->direction = a->spec.dir_mask == FL_DIRMASK_BOTH	? "both"
			       : a->spec.dir_mask == FL_DIRMASK_INGRESS ? "ingress"
									: "egress";
		if (a->spec.protocol == FL_PROTO_TCP)
			a->protocol_name = "tcp";
	}
	if (a->cgroup) {
		if (a->spec.dir_mask != FL_DIRMASK_EGRESS && !(a->faults & F_REFUSE))
			return field_error(
			    "--cgroup",
			    "targets egress only, not --direction %s: on ingress the kernel "
			    "reports the sender's cgroup on veth and none from a real NIC "
			    "(expected --direction egress)",
			    a->direction);
		if (fl_cgroup_id(a->cgroup, a->cgroup_flag ? a->cgroup_flag : "--cgroup",
				 a->cgroup_abs, sizeof(a->cgroup_abs), &a->spec.cgroup_id, &err))
			return input_error(&err);
	}
	if (a->faults & F_REFUSE)
		return 0; /* connect() hooks: no interface */
	/* error faults target flows by port or cgroup: every interface up */
	r = fl_target_resolve_devs(&a->spec, (const char *const *)a->devs, a->n_devs,
				   a->allow_wide || ((a->faults & F_ERRORS) &&
						     (a->spec.ports.n || a->spec.remote_ports.n ||
						      a->spec.local_ports.n || a->cgroup)),
				   a->ifindexes, &a->n_ifs, &a->devs_source, &err);
	if (r)
		return input_error(&err);
	for (int k = 0; k < a->n_ifs; k++)
		if (!if_indextoname((unsigned)a->ifindexes[k], a->ifnames[k]))
			snprintf(a->ifnames[k], sizeof(a->ifnames[k]), "if%d", a->ifindexes[k]);
	return 0;
}

static int parse_args(int argc, char **argv, struct inject_args *a)
{
	char **rest;
	int n_rest, r;

	memset(a, 0, sizeof(*a));
	a->spec.dir_mask = FL_DIRMASK_EGRESS;
	a->spec.protocol = FL_PROTOCOL_ANY;
	a->direction = "egress";
	a->protocol_name = "any";
	a->lease_ns = 2000000000ull;

	/* --help wins over any mistake next to it */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return -1;
		}
	}
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (!rest)
		return field_error("inject", "out of memory");
	r = scan_faults(argc, argv, a, rest, &n_rest);
	if (!r)
		r = parse_options(n_rest, rest, a);
	free(rest);
	if (r)
		return r;
	return finish_args(a);
}

static void free_args(struct inject_args *a)
{
	for (int k = 0; k < a->n_devs; k++)
		free(a->devs[k]);
	a->n_devs = 0;
}

#ifdef FL_FUZZ
/* The fuzz build only (fuzz/fuzz_inject_args.c): parse argv as inject does,
 * then free what was parsed; parse_args' return. */
int fl_inject_parse_for_fuzz(int argc, char **argv);
int fl_inject_parse_for_fuzz(int argc, char **argv)
{
	struct inject_args *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	r = parse_args(argc, argv, a);
	free_args(a);
	free(a);
	return r;
}
#endif

/* ------------------------------------------------------------------ */
/* Describing faults and target                                        */

/* Sizes in the units fl_parse_size() reads back: "128kb", "1500b". */
/* "loss 1% correlation 25%, duplicate 0.5%, rate 1mbit burst 128kb" */
static void describe_faults(const struct inject_args *a, char *buf, size_t len)
{
	fl_scenario_describe_actions(a->faults, &a->spec, buf, len);
}

static void describe_devs(const struct inject_args *a, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int k = 0; k < a->n_ifs; k++)
		fl_append(buf, len, &o, "%s%s", k ? "," : "", a->ifnames[k]);
}

/* "on va egress, protocol udp, port 7777, remote 10.0.0.0/8, for 1m" */
static void describe_target(const struct inject_args *a, char *buf, size_t len)
{
	const struct fl_rule_spec *s = &a->spec;
	char devs[FL_TARGET_DEVS_MAX * IF_NAMESIZE], t[256];
	size_t o = 0;

	describe_devs(a, devs, sizeof(devs));
	if (a->faults & F_REFUSE)
		fl_append(buf, len, &o, "on connect() of %s, protocol %s",
			  a->cgroup ? "cgroup" : "every process", a->protocol_name);
	else
		fl_append(buf, len, &o, "on %s %s%s, protocol %s", devs, a->direction,
			  a->devs_source == FL_DEVS_ROUTES ? " (routed)"
			  : a->devs_source == FL_DEVS_WIDE ? " (every interface up)"
							   : "",
			  a->protocol_name);
	if (s->ports.n)
		fl_append(buf, len, &o, ", port %s", fl_fmt_ports(&s->ports, t, sizeof(t)));
	if (s->local_ports.n)
		fl_append(buf, len, &o, ", local port %s",
			  fl_fmt_ports(&s->local_ports, t, sizeof(t)));
	if (s->remote_ports.n)
		fl_append(buf, len, &o, ", remote port %s",
			  fl_fmt_ports(&s->remote_ports, t, sizeof(t)));
	for (unsigned k = 0; k < s->n_cidrs; k++) {
		const struct fl_cidr *c = &s->cidrs[k];
		int host = c->prefixlen == (c->family == AF_INET ? 32 : 128);

		fl_append(buf, len, &o, "%s%s", k ? "," : ", remote ",
			  fl_fmt_cidr(c, !host, t, sizeof(t)));
	}
	if (a->cgroup)
		fl_append(buf, len, &o, ", cgroup %s (id %llu)", a->cgroup_abs,
			  (unsigned long long)s->cgroup_id);
	if (s->share_ppb && s->share_ppb < FL_PPB_100)
		fl_append(buf, len, &o, ", %s of flows",
			  fl_fmt_percent(s->share_ppb, t, sizeof(t)));
	if (s->has_seed)
		fl_append(buf, len, &o, ", seed %llu", (unsigned long long)s->seed);
	if (s->allow_management)
		fl_append(buf, len, &o, ", management ports included");
	if (a->for_ns)
		fl_append(buf, len, &o, ", for %s", fl_fmt_duration(a->for_ns, t, sizeof(t)));
	else
		fl_append(buf, len, &o, ", until stopped");
}

static double pct_of(uint64_t n, uint64_t of)
{
	return of ? 100.0 * (double)n / (double)of : 0.0;
}

/* " dropped 3 (3.00%) duplicated 1 (1.00%)": one figure per active action. */
static void describe_counts(const struct inject_args *a, const struct fl_counters *c,
			    const char *sep, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (a->faults & F_RATE)
		fl_append(buf, len, &o, "%srate-dropped %llu (%.2f%%)", sep,
			  (unsigned long long)c->rate_dropped, pct_of(c->rate_dropped, c->matched));
	if (a->faults & (F_LOSS | F_BLACKHOLE))
		fl_append(buf, len, &o, "%sdropped %llu (%.2f%%)", sep,
			  (unsigned long long)c->dropped, pct_of(c->dropped, c->matched));
	if (a->faults & F_CORRUPT)
		fl_append(buf, len, &o, "%scorrupted %llu (%.2f%%)", sep,
			  (unsigned long long)c->corrupted, pct_of(c->corrupted, c->matched));
	if (a->faults & F_DUPLICATE)
		fl_append(buf, len, &o, "%sduplicated %llu (%.2f%%)", sep,
			  (unsigned long long)c->duplicated, pct_of(c->duplicated, c->matched));
	if (a->faults & F_DELAY)
		fl_append(buf, len, &o, "%sdelayed %llu (%.2f%%)", sep,
			  (unsigned long long)c->delayed, pct_of(c->delayed, c->matched));
	if (a->faults & F_REORDER)
		fl_append(buf, len, &o, "%sreordered %llu (%.2f%%)", sep,
			  (unsigned long long)c->reordered, pct_of(c->reordered, c->matched));
	if (a->faults & F_REFUSE)
		fl_append(buf, len, &o, "%srefused %llu", sep, (unsigned long long)c->refused);
	if (a->faults & F_RESET)
		fl_append(buf, len, &o, "%sreset %llu", sep, (unsigned long long)c->reset);
	if ((a->faults & F_DNS) && a->spec.dns.rcode == FL_DNS_RCODE_DROP)
		fl_append(buf, len, &o, "%sdropped %llu", sep, (unsigned long long)c->dropped);
	else if ((a->faults & F_DNS) || ((a->faults & F_HTTP) && a->spec.http.status))
		fl_append(buf, len, &o, "%srewritten %llu", sep, (unsigned long long)c->rewritten);
	if ((a->faults & F_HTTP) && a->spec.delay.ns)
		fl_append(buf, len, &o, "%sdelayed %llu", sep, (unsigned long long)c->delayed);
}

static void status_line(const struct inject_args *a, const struct fl_counters *c, uint64_t now,
			uint64_t end)
{
	char left[32] = "until stopped", devs[FL_TARGET_DEVS_MAX * IF_NAMESIZE], counts[256];

	if (end)
		snprintf(left, sizeof(left), "%.1fs left", now < end ? (end - now) / 1e9 : 0.0);
	describe_devs(a, devs, sizeof(devs));
	describe_counts(a, c, " ", counts, sizeof(counts));
	fprintf(stderr, "\r\033[K[faultline] %s: %s | matched %llu%s", devs, left,
		(unsigned long long)c->matched, counts);
	fflush(stderr);
}

static double pct_number(uint32_t ppb)
{
	return ppb / 1e7;
}

static cJSON *faults_json(const struct inject_args *a)
{
	const struct fl_rule_spec *s = &a->spec;
	cJSON *arr = cJSON_CreateArray(), *f;
	char buf[32];

	if (a->faults & F_RATE) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "rate");
		cJSON_AddStringToObject(f, "rate",
					fl_fmt_rate(s->rate.bits_per_sec, buf, sizeof(buf)));
		cJSON_AddNumberToObject(f, "bits_per_sec", (double)s->rate.bits_per_sec);
		cJSON_AddNumberToObject(f, "burst_bytes", (double)fl_rate_burst(s));
		cJSON_AddBoolToObject(f, "burst_default", !s->rate.burst_bytes);
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & (F_LOSS | F_BLACKHOLE)) {
		f = cJSON_CreateObject();
		if (a->faults & F_BLACKHOLE) {
			cJSON_AddStringToObject(f, "type", "blackhole");
			cJSON_AddNumberToObject(f, "percent", 100);
		} else if (s->loss.model == FL_LOSS_RANDOM) {
			cJSON_AddStringToObject(f, "type", "loss");
			cJSON_AddStringToObject(f, "model", "random");
			cJSON_AddNumberToObject(f, "percent", pct_number(s->loss.ppb));
			cJSON_AddNumberToObject(f, "correlation", pct_number(s->loss.corr_ppb));
		} else {
			static const char *const ge[] = {"p", "r", "1-h", "1-k"};
			static const char *const st[] = {"p13", "p31", "p32", "p23", "p14"};
			int gemodel = s->loss.model == FL_LOSS_GEMODEL;

			cJSON_AddStringToObject(f, "type", "loss");
			cJSON_AddStringToObject(f, "model", gemodel ? "gemodel" : "state");
			for (int k = 0; k < (gemodel ? 4 : 5); k++)
				cJSON_AddNumberToObject(f, gemodel ? ge[k] : st[k],
							pct_number(s->loss.p_ppb[k]));
		}
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_CORRUPT) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "corrupt");
		cJSON_AddNumberToObject(f, "percent", pct_number(s->corrupt.ppb));
		cJSON_AddBoolToObject(f, "payload", s->corrupt.payload);
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_DUPLICATE) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "duplicate");
		cJSON_AddNumberToObject(f, "percent", pct_number(s->duplicate.ppb));
		cJSON_AddNumberToObject(f, "correlation", pct_number(s->duplicate.corr_ppb));
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_DELAY) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "delay");
		cJSON_AddNumberToObject(f, "delay_ns", (double)s->delay.ns);
		cJSON_AddNumberToObject(f, "jitter_ns", (double)s->delay.jitter_ns);
		cJSON_AddNumberToObject(f, "correlation", pct_number(s->delay.corr_ppb));
		cJSON_AddStringToObject(f, "distribution",
					fl_dist_name((enum fl_dist)s->delay.dist));
		cJSON_AddNumberToObject(f, "limit",
					s->delay.limit ? s->delay.limit : FL_DELAY_LIMIT_DEFAULT);
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_REFUSE) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "refuse");
		cJSON_AddStringToObject(f, "errno", fl_errno_name(s->refuse.err));
		cJSON_AddNumberToObject(f, "percent",
					pct_number(s->refuse.ppb ? s->refuse.ppb : FL_PPB_100));
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_RESET) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "reset");
		cJSON_AddNumberToObject(f, "percent",
					pct_number(s->reset.ppb ? s->reset.ppb : FL_PPB_100));
		cJSON_AddNumberToObject(f, "after_bytes", (double)s->reset.after_bytes);
		cJSON_AddNumberToObject(f, "after_ns", (double)s->reset.after_ns);
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_DNS) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "dns");
		cJSON_AddStringToObject(f, "rcode", fl_dns_rcode_name(s->dns.rcode));
		cJSON_AddNumberToObject(f, "port", s->dns.port);
		cJSON_AddStringToObject(f, "domains", s->dns.domains);
		cJSON_AddNumberToObject(f, "percent",
					pct_number(s->dns.ppb ? s->dns.ppb : FL_PPB_100));
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_HTTP) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "http");
		if (s->http.status)
			cJSON_AddNumberToObject(f, "status", s->http.status);
		else
			cJSON_AddNullToObject(f, "status");
		cJSON_AddNumberToObject(f, "percent",
					pct_number(s->http.ppb ? s->http.ppb : FL_PPB_100));
		cJSON_AddStringToObject(f, "path", s->http.path);
		cJSON_AddNumberToObject(f, "delay_ns", (double)s->delay.ns);
		cJSON_AddItemToArray(arr, f);
	}
	if (a->faults & F_REORDER) {
		f = cJSON_CreateObject();
		cJSON_AddStringToObject(f, "type", "reorder");
		cJSON_AddNumberToObject(f, "percent", pct_number(s->reorder.ppb));
		cJSON_AddNumberToObject(f, "correlation", pct_number(s->reorder.corr_ppb));
		cJSON_AddNumberToObject(f, "gap", s->reorder.gap ? s->reorder.gap : 1);
		cJSON_AddItemToArray(arr, f);
	}
	return arr;
}

static void add_ports_json(cJSON *o, const char *key, const struct fl_port_set *ps)
{
	char buf[512];

	if (ps->n)
		cJSON_AddStringToObject(o, key, fl_fmt_ports(ps, buf, sizeof(buf)));
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *target_json(const struct inject_args *a)
{
	static const char *const sources[] = {
	    [FL_DEVS_NAMED] = "dev", [FL_DEVS_ROUTES] = "routes", [FL_DEVS_WIDE] = "allow_wide"};
	const struct fl_rule_spec *s = &a->spec;
	cJSON *t = cJSON_CreateObject(), *arr;
	char buf[64];

	arr = cJSON_AddArrayToObject(t, "devices");
	for (int k = 0; k < a->n_ifs; k++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(a->ifnames[k]));
	cJSON_AddStringToObject(t, "devices_from", sources[a->devs_source]);
	cJSON_AddStringToObject(t, "direction", a->direction);
	cJSON_AddStringToObject(t, "protocol", a->protocol_name);
	add_ports_json(t, "port", &s->ports);
	add_ports_json(t, "local_port", &s->local_ports);
	add_ports_json(t, "remote_port", &s->remote_ports);
	arr = cJSON_AddArrayToObject(t, "cidrs");
	for (unsigned k = 0; k < s->n_cidrs; k++)
		cJSON_AddItemToArray(
		    arr, cJSON_CreateString(fl_fmt_cidr(&s->cidrs[k], 1, buf, sizeof(buf))));
	if (a->cgroup) {
		cJSON *cg = cJSON_AddObjectToObject(t, "cgroup");

		cJSON_AddStringToObject(cg, "path", a->cgroup);
		cJSON_AddStringToObject(cg, "resolved", a->cgroup_abs);
		cJSON_AddNumberToObject(cg, "id", (double)s->cgroup_id);
	} else {
		cJSON_AddNullToObject(t, "cgroup");
	}
	cJSON_AddNumberToObject(t, "share_percent",
				s->share_ppb ? pct_number(s->share_ppb) : 100.0);
	/* a u64 does not fit a JSON number exactly: a decimal string */
	if (s->has_seed) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)s->seed);
		cJSON_AddStringToObject(t, "seed", buf);
	} else {
		cJSON_AddNullToObject(t, "seed");
	}
	cJSON_AddBoolToObject(t, "allow_management", s->allow_management);
	cJSON_AddBoolToObject(t, "allow_wide", a->allow_wide);
	return t;
}

static void delay_json(cJSON *k, const struct fl_counters *c, const struct fl_delay_stats *d)
{
	cJSON_AddNumberToObject(k, "delayed", (double)c->delayed);
	cJSON_AddNumberToObject(k, "delay_overflow", (double)c->delay_overflow);
	cJSON_AddNumberToObject(k, "reordered", (double)c->reordered);
	cJSON_AddNumberToObject(k, "delay_released", (double)d->released);
	cJSON_AddNumberToObject(k, "delay_limit_dropped", (double)d->limit_dropped);
	cJSON_AddNumberToObject(k, "delay_send_errors", (double)d->send_errors);
	cJSON_AddNumberToObject(k, "delay_held_at_stop", (double)d->held);
	cJSON_AddNumberToObject(k, "delay_held_max", (double)d->held_max);
	cJSON_AddNumberToObject(k, "delay_late_mean_ns",
				d->released ? (double)d->late_sum_ns / (double)d->released : 0.0);
	cJSON_AddNumberToObject(k, "delay_late_max_ns", (double)d->late_max_ns);
	cJSON_AddNumberToObject(k, "delay_backup_released", (double)d->backup_released);
}

static void print_summary(const struct inject_args *a, const struct fl_counters *c,
			  const struct fl_delay_stats *d, const char *ended, double secs,
			  const char *mode, int rolled_back)
{
	char faults[512], devs[FL_TARGET_DEVS_MAX * IF_NAMESIZE], counts[256], buf[32];

	if (a->json) {
		cJSON *o = cJSON_CreateObject(), *k;
		char *s;

		cJSON_AddItemToObject(o, "faults", faults_json(a));
		cJSON_AddItemToObject(o, "target", target_json(a));
		if (a->for_ns)
			cJSON_AddStringToObject(o, "for",
						fl_fmt_duration(a->for_ns, buf, sizeof(buf)));
		else
			cJSON_AddNullToObject(o, "for");
		cJSON_AddStringToObject(o, "lease", fl_fmt_duration(a->lease_ns, buf, sizeof(buf)));
		cJSON_AddStringToObject(o, "attach", mode);
		cJSON_AddStringToObject(o, "ended", ended);
		cJSON_AddNumberToObject(o, "seconds", round(secs * 1000) / 1000);
		cJSON_AddBoolToObject(o, "rolled_back", rolled_back);
		k = cJSON_AddObjectToObject(o, "counters");
		cJSON_AddNumberToObject(k, "matched", (double)c->matched);
		cJSON_AddNumberToObject(k, "bytes", (double)c->bytes);
		cJSON_AddNumberToObject(k, "dropped", (double)c->dropped);
		cJSON_AddNumberToObject(k, "rate_dropped", (double)c->rate_dropped);
		cJSON_AddNumberToObject(k, "corrupted", (double)c->corrupted);
		cJSON_AddNumberToObject(k, "duplicated", (double)c->duplicated);
		cJSON_AddNumberToObject(k, "after_deadline", (double)c->expired);
		cJSON_AddNumberToObject(k, "rewritten", (double)c->rewritten);
		cJSON_AddNumberToObject(k, "reset", (double)c->reset);
		cJSON_AddNumberToObject(k, "refused", (double)c->refused);
		if (a->faults & F_DELAY)
			delay_json(k, c, d);
		s = cJSON_Print(o);
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(o);
		return;
	}
	describe_faults(a, faults, sizeof(faults));
	describe_devs(a, devs, sizeof(devs));
	describe_counts(a, c, ", ", counts, sizeof(counts));
	printf("faultline: %s on %s ended after %.1fs (%s); rolled back\n", faults,
	       (a->faults & F_REFUSE) ? "connect()" : devs, secs, ended);
	if (a->faults & F_REFUSE)
		printf("  matched %llu connect() calls%s\n", (unsigned long long)c->matched,
		       counts);
	else
		printf("  matched %llu packets (%llu bytes)%s\n", (unsigned long long)c->matched,
		       (unsigned long long)c->bytes, counts);
	if (c->expired)
		printf("  %llu packets matched after the deadline and passed untouched\n",
		       (unsigned long long)c->expired);
	if (a->faults & F_DELAY) {
		printf("  delay line: released %llu, late by %.0f us on average (max %.0f us), "
		       "at most %llu held",
		       (unsigned long long)d->released,
		       d->released ? (double)d->late_sum_ns / (double)d->released / 1e3 : 0.0,
		       (double)d->late_max_ns / 1e3, (unsigned long long)d->held_max);
		if (d->held)
			printf(", %llu held at the end sent at once", (unsigned long long)d->held);
		if (c->delay_overflow)
			printf(", %llu passed undelayed (ring full)",
			       (unsigned long long)c->delay_overflow);
		if (d->limit_dropped)
			printf(", %llu dropped over --limit", (unsigned long long)d->limit_dropped);
		if (d->send_errors)
			printf(", %llu lost (send errors)", (unsigned long long)d->send_errors);
		printf("\n");
	}
}

/* ------------------------------------------------------------------ */

/* The name of an interface of the target that has gone, or NULL. */
static const char *gone_device(const struct inject_args *a)
{
	char name[IF_NAMESIZE];

	for (int k = 0; k < a->n_ifs; k++)
		if (!if_indextoname((unsigned)a->ifindexes[k], name))
			return a->ifnames[k];
	return NULL;
}

/* What the runner reports while the fault is live. */
struct inject_ctx {
	struct inject_args *a;
	int tty;
	uint64_t start, end; /* CLOCK_MONOTONIC; end 0: until stopped */
	int status_up;
};

static void inject_event(void *ctx, const struct fl_run_event *ev)
{
	struct inject_ctx *x = ctx;
	struct inject_args *a = x->a;

	if (ev->kind == FL_RUN_EV_STEP_START) {
		char faults[512], target[2048], lease[32];

		describe_faults(a, faults, sizeof(faults));
		describe_target(a, target, sizeof(target));
		fl_fmt_duration(a->lease_ns, lease, sizeof(lease));
		fprintf(stderr, "faultline: injecting %s %s (%s, lease %s)%s\n", faults, target,
			fl_run_attach_mode(ev->run), lease, x->tty ? "; Ctrl-C to stop" : "");
	} else if (ev->kind == FL_RUN_EV_TICK && x->tty && !a->json) {
		struct fl_counters cnt;
		struct fl_delay_stats d;

		fl_run_step_stats(ev->run, 0, &cnt, &d);
		status_line(a, &cnt, fl_now_ns(), x->end);
		x->status_up = 1;
	}
}

/* No --for: the runner still wants a cap; a century is none. */
#define FOREVER_NS (100ull * 365 * 24 * 3600 * 1000000000ull)

/* The fault as a one-step experiment for the runner (injector/runner.c),
 * the same one `faultline run` and the daemon use. */
static int run(struct inject_args *a)
{
	struct fl_run_opts ro = {.sz = sizeof(ro)};
	struct fl_scenario_target t = {.name = (char *)"inject"};
	struct fl_scenario_fault f = {.target = 0};
	struct fl_scenario s = {.name = (char *)"inject", .version = 1};
	struct inject_ctx x = {.a = a};
	struct fl_counters cnt = {0};
	struct fl_delay_stats dstat = {0};
	struct fl_compiled_fault *cf;
	struct fl_error err = {0};
	struct fl_run *rn = NULL;
	struct sigaction sa;
	const char *ended = "expired", *mode, *step_err;
	int r, code = FL_EXIT_OK, leftovers;
	char lease[32], buf[512], modebuf[16];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	leftovers = fl_journal_replay(NULL);
	if (leftovers > 0)
		fl_cli_err("removed %d leftover clsact filter(s) of a faultline that died",
			   leftovers);
	else if (leftovers < 0 && fl_attach_journal_refusal())
		fl_cli_err("warning: %s", fl_attach_journal_refusal());

	cf = calloc(1, sizeof(*cf));
	if (!cf) {
		fl_cli_err("out of memory");
		return FL_EXIT_INJECT;
	}
	cf->spec = a->spec;
	memcpy(cf->ifindexes, a->ifindexes, sizeof(cf->ifindexes));
	cf->n_ifs = a->n_ifs;
	cf->devs_source = a->devs_source;
	snprintf(cf->cgroup_abs, sizeof(cf->cgroup_abs), "%s", a->cgroup ? a->cgroup_abs : "");
	f.for_ns = a->for_ns;
	f.actions = a->faults;
	f.act = a->spec;
	s.duration_ns = a->for_ns ? a->for_ns : FOREVER_NS;
	s.targets = &t;
	s.n_targets = 1;
	s.faults = &f;
	s.n_faults = 1;

	x.tty = isatty(STDERR_FILENO);
	x.start = fl_now_ns();
	x.end = a->for_ns ? x.start + a->for_ns : 0;
	ro.mode = a->mode;
	ro.lease_ns = a->lease_ns;
	ro.stop = &got_signal;
	ro.on_event = inject_event;
	ro.ctx = &x;
	ro.compiled = cf;
	r = fl_run(&s, &ro, &rn, &err);
	free(cf);
	if (r) {
		fl_cli_err("%s", fl_error_str(&err, buf, sizeof(buf)));
		return FL_EXIT_INJECT;
	}
	if (x.status_up)
		fputs("\r\033[K", stderr);
	fl_fmt_duration(a->lease_ns, lease, sizeof(lease));
	step_err = fl_run_step_error(rn, 0);
	switch (fl_run_end_kind(rn)) {
	case FL_RUN_END_SETUP:
		if (step_err && !strncmp(step_err, "cannot attach", 13))
			fl_cli_err("%s; rolled back, nothing applied", step_err);
		else
			fl_cli_err("%s; rolled back", step_err ? step_err : "injection failed");
		fl_run_free(rn);
		return FL_EXIT_INJECT;
	case FL_RUN_END_DEVICE: {
		const char *gone = gone_device(a);

		fl_cli_err("%s went away while the fault was active", gone ? gone : "an interface");
		ended = "device_gone";
		code = FL_EXIT_INJECT;
		break;
	}
	case FL_RUN_END_LEASE:
		fl_cli_err(
		    "the lease lapsed: this process was stopped or starved for more than %s, "
		    "so the kernel ended the fault",
		    lease);
		ended = "lease_lapsed";
		code = FL_EXIT_INJECT;
		break;
	case FL_RUN_END_SIGNAL:
		if (fl_run_end_signal(rn) == SIGINT) {
			ended = "interrupted";
			code = FL_EXIT_INTERRUPT;
		} else {
			ended = "terminated";
		}
		break;
	default:
		break;
	}
	fl_run_step_stats(rn, 0, &cnt, &dstat);
	snprintf(modebuf, sizeof(modebuf), "%s", fl_run_attach_mode(rn));
	mode = modebuf;
	fl_run_free(rn);
	print_summary(a, &cnt, &dstat, ended, (fl_now_ns() - x.start) / 1e9, mode, 1);
	return code;
}

/* The fault as the scenario faultlined runs for --detach (docs/scenario.md):
 * the resolved interfaces by name, the match fields, one step with the
 * faults, the duration --for. */
static char *detach_scenario(const struct inject_args *a)
{
	const struct fl_rule_spec *s = &a->spec;
	cJSON *root = cJSON_CreateObject(), *t, *f, *o, *arr;
	char buf[64];
	char *text;

	cJSON_AddNumberToObject(root, "version", 1);
	cJSON_AddStringToObject(root, "name", "inject");
	cJSON_AddStringToObject(root, "duration", fl_fmt_duration(a->for_ns, buf, sizeof(buf)));
	t = cJSON_AddObjectToObject(cJSON_AddObjectToObject(root, "targets"), "inject");
	if (a->n_ifs) {
		arr = cJSON_AddArrayToObject(t, "dev");
		for (int k = 0; k < a->n_ifs; k++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(a->ifnames[k]));
	}
	/* error faults choose their own default direction */
	if (a->dir_given || !(a->faults & F_ERRORS))
		cJSON_AddStringToObject(t, "direction", a->direction);
	cJSON_AddStringToObject(t, "protocol", a->protocol_name);
	if (a->allow_wide)
		cJSON_AddBoolToObject(t, "allow_wide", 1);
	if (s->ports.n)
		cJSON_AddStringToObject(t, "port", fl_fmt_ports(&s->ports, buf, sizeof(buf)));
	if (s->local_ports.n)
		cJSON_AddStringToObject(t, "local_port",
					fl_fmt_ports(&s->local_ports, buf, sizeof(buf)));
	if (s->remote_ports.n)
		cJSON_AddStringToObject(t, "remote_port",
					fl_fmt_ports(&s->remote_ports, buf, sizeof(buf)));
	if (s->n_cidrs) {
		arr = cJSON_AddArrayToObject(t, "cidr");
		for (unsigned k = 0; k < s->n_cidrs; k++)
			cJSON_AddItemToArray(arr, cJSON_CreateString(fl_fmt_cidr(
						      &s->cidrs[k], 1, buf, sizeof(buf))));
	}
	if (a->cgroup)
		cJSON_AddStringToObject(t, "cgroup", a->cgroup_abs[0] ? a->cgroup_abs : a->cgroup);
	if (s->share_ppb && s->share_ppb < FL_PPB_100)
		cJSON_AddStringToObject(t, "share", fl_fmt_percent(s->share_ppb, buf, sizeof(buf)));
	if (s->allow_management)
		cJSON_AddBoolToObject(t, "allow_management", 1);

	f = cJSON_CreateObject();
	cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "faults"), f);
	cJSON_AddStringToObject(f, "target", "inject");
	if (a->faults & F_RATE) {
		o = cJSON_AddObjectToObject(f, "rate");
		cJSON_AddStringToObject(o, "rate",
					fl_fmt_rate(s->rate.bits_per_sec, buf, sizeof(buf)));
		if (s->rate.burst_bytes) {
			snprintf(buf, sizeof(buf), "%llub",
				 (unsigned long long)s->rate.burst_bytes);
			cJSON_AddStringToObject(o, "burst", buf);
		}
	}
	if (a->faults & F_BLACKHOLE) {
		cJSON_AddObjectToObject(f, "blackhole");
	} else if ((a->faults & F_LOSS) && s->loss.model == FL_LOSS_RANDOM) {
		o = cJSON_AddObjectToObject(f, "loss");
		cJSON_AddStringToObject(o, "percent",
					fl_fmt_percent(s->loss.ppb, buf, sizeof(buf)));
		if (s->loss.corr_ppb)
			cJSON_AddStringToObject(o, "correlation",
						fl_fmt_percent(s->loss.corr_ppb, buf, sizeof(buf)));
	} else if (a->faults & F_LOSS) {
		static const char *const ge[] = {"p", "r", "1-h", "1-k"};
		static const char *const st[] = {"p13", "p31", "p32", "p23", "p14"};
		int gemodel = s->loss.model == FL_LOSS_GEMODEL;
		cJSON *m = cJSON_AddObjectToObject(cJSON_AddObjectToObject(f, "loss"),
						   gemodel ? "gemodel" : "state");

		for (int k = 0; k < (gemodel ? 4 : 5); k++)
			cJSON_AddStringToObject(m, gemodel ? ge[k] : st[k],
						fl_fmt_percent(s->loss.p_ppb[k], buf, sizeof(buf)));
	}
	if (a->faults & F_CORRUPT) {
		o = cJSON_AddObjectToObject(f, "corrupt");
		cJSON_AddStringToObject(o, "percent",
					fl_fmt_percent(s->corrupt.ppb, buf, sizeof(buf)));
		if (s->corrupt.payload)
			cJSON_AddBoolToObject(o, "payload", 1);
	}
	if (a->faults & F_DUPLICATE) {
		o = cJSON_AddObjectToObject(f, "duplicate");
		cJSON_AddStringToObject(o, "percent",
					fl_fmt_percent(s->duplicate.ppb, buf, sizeof(buf)));
		if (s->duplicate.corr_ppb)
			cJSON_AddStringToObject(
			    o, "correlation",
			    fl_fmt_percent(s->duplicate.corr_ppb, buf, sizeof(buf)));
	}
	if (a->faults & F_DELAY) {
		o = cJSON_AddObjectToObject(f, "delay");
		cJSON_AddStringToObject(o, "time", fl_fmt_duration(s->delay.ns, buf, sizeof(buf)));
		if (s->delay.jitter_ns) {
			cJSON_AddStringToObject(
			    o, "jitter", fl_fmt_duration(s->delay.jitter_ns, buf, sizeof(buf)));
			cJSON_AddStringToObject(o, "distribution",
						fl_dist_name((enum fl_dist)s->delay.dist));
			if (s->delay.corr_ppb)
				cJSON_AddStringToObject(
				    o, "correlation",
				    fl_fmt_percent(s->delay.corr_ppb, buf, sizeof(buf)));
		}
		if (s->delay.limit)
			cJSON_AddNumberToObject(o, "limit", s->delay.limit);
	}
	if (a->faults & F_REORDER) {
		o = cJSON_AddObjectToObject(f, "reorder");
		cJSON_AddStringToObject(o, "percent",
					fl_fmt_percent(s->reorder.ppb, buf, sizeof(buf)));
		if (s->reorder.corr_ppb)
			cJSON_AddStringToObject(
			    o, "correlation",
			    fl_fmt_percent(s->reorder.corr_ppb, buf, sizeof(buf)));
		if (s->reorder.gap)
			cJSON_AddNumberToObject(o, "gap", s->reorder.gap);
	}
	if (a->faults & F_REFUSE) {
		o = cJSON_AddObjectToObject(f, "refuse");
		cJSON_AddStringToObject(o, "errno", fl_errno_name(s->refuse.err));
		if (s->refuse.ppb)
			cJSON_AddStringToObject(o, "percent",
						fl_fmt_percent(s->refuse.ppb, buf, sizeof(buf)));
	}
	if (a->faults & F_RESET) {
		o = cJSON_AddObjectToObject(f, "reset");
		if (s->reset.ppb)
			cJSON_AddStringToObject(o, "percent",
						fl_fmt_percent(s->reset.ppb, buf, sizeof(buf)));
		if (s->reset.after_bytes) {
			snprintf(buf, sizeof(buf), "%llub",
				 (unsigned long long)s->reset.after_bytes);
			cJSON_AddStringToObject(o, "after_bytes", buf);
		}
		if (s->reset.after_ns)
			cJSON_AddStringToObject(
			    o, "after", fl_fmt_duration(s->reset.after_ns, buf, sizeof(buf)));
	}
	if (a->faults & F_DNS) {
		o = cJSON_AddObjectToObject(f, "dns");
		cJSON_AddStringToObject(o, "rcode", fl_dns_rcode_name(s->dns.rcode));
		if (s->dns.domains[0])
			cJSON_AddStringToObject(o, "domains", s->dns.domains);
		if (s->dns.ppb)
			cJSON_AddStringToObject(o, "percent",
						fl_fmt_percent(s->dns.ppb, buf, sizeof(buf)));
		cJSON_AddNumberToObject(o, "port", s->dns.port);
	}
	if (a->faults & F_HTTP) {
		o = cJSON_AddObjectToObject(f, "http");
		if (s->http.status)
			cJSON_AddNumberToObject(o, "status", s->http.status);
		if (s->http.ppb)
			cJSON_AddStringToObject(o, "percent",
						fl_fmt_percent(s->http.ppb, buf, sizeof(buf)));
		if (s->http.path[0])
			cJSON_AddStringToObject(o, "path", s->http.path);
		if (s->delay.ns)
			cJSON_AddStringToObject(o, "delay",
						fl_fmt_duration(s->delay.ns, buf, sizeof(buf)));
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	return text;
}

int fl_cmd_inject(int argc, char **argv)
{
	struct inject_args *a = calloc(1, sizeof(*a));
	int r;

	if (!a) {
		fl_cli_err("out of memory");
		return FL_EXIT_INJECT;
	}
	r = parse_args(argc, argv, a);
	if (r == 0 && a->detach) {
		char *text = detach_scenario(a);

		r = text ? fl_client_submit_text(text, strlen(text), "inject.json", a->socket,
						 a->json)
			 : FL_EXIT_INJECT;
		free(text);
	} else if (r == 0) {
		r = run(a);
	} else if (r < 0)
		r = FL_EXIT_OK; /* --help */
	free_args(a);
	free(a);
	return r;
}
