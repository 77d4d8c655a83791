/*
 * cli/inject.c - `faultline inject`: apply a fault in the foreground.
 *
 * The fault lives as long as this process: until --for runs out, Ctrl-C,
 * SIGTERM, or the process dies (the kernel then detaches the tcx links). While
 * healthy the process renews the rule's lease; if it finds the lease lapsed
 * (it was stopped or starved), the kernel has already ended the fault, so it
 * rolls back, says so and exits 4.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "faultline/engine.h"
#include "faultline/units.h"

#define TICK_NS	  (100ull * 1000000ull)
#define STATUS_NS (250ull * 1000000ull)

struct inject_args {
	const char *fault;
	uint32_t loss_ppb;
	const char *dev;
	int ifindex;
	unsigned dir_mask;
	const char *direction;
	int protocol;
	const char *protocol_name;
	struct fl_port_set ports;
	const char *port_text;
	uint64_t for_ns; /* 0: until stopped */
	uint64_t lease_ns;
	int json;
	enum fl_attach_mode mode;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: faultline inject FAULT [OPTIONS]\n"
		"\n"
		"Apply a fault to the matching packets of one interface, in the foreground,\n"
		"until --for runs out, Ctrl-C or SIGTERM; then roll it back. If this process\n"
		"dies (even kill -9) the kernel removes the fault at once.\n"
		"\n"
		"Faults:\n"
		"  loss PCT               drop PCT of the matching packets (\"30%%\", \"0.5%%\")\n"
		"\n"
		"Target:\n"
		"  --dev IF               interface to act on (required)\n"
		"  --direction DIR        egress (default), ingress or both\n"
		"  --protocol PROTO       tcp, udp, icmp (ICMP and ICMPv6) or any (default)\n"
		"  --port PORTS           either side of the flow: 80, 8000-8100, 80,443\n"
		"\n"
		"Timing:\n"
		"  --for DURATION         how long (\"30s\", \"500ms\", \"2m\"); default: until "
		"stopped\n"
		"  --lease DURATION       the fault ends by itself this long after this process\n"
		"                         stops renewing it (stopped, hung); default 2s\n"
		"\n"
		"Output:\n"
		"  --json                 print the final summary as JSON on stdout\n"
		"  --attach MODE          auto (default: tcx, else clsact), tcx or clsact\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 when the fault ran its course or SIGTERM ended it, 2 bad input\n"
		"(nothing applied), 4 injection failed or was interrupted by a lapsed lease\n"
		"(rolled back), 130 Ctrl-C (rolled back).\n"
		"\n"
		"Example:\n"
		"  faultline inject loss 30%% --dev eth0 --protocol udp --port 7777 --for 60s\n");
}

static int usage_error(const char *fmt, const char *a, const char *b)
{
	fputs("faultline inject: ", stderr);
	fprintf(stderr, fmt, a, b);
	fputs(" (see 'faultline inject --help')\n", stderr);
	return FL_EXIT_USAGE;
}

static int input_error(const struct fl_error *err)
{
	char buf[512];

	fl_cli_err("%s", fl_error_str(err, buf, sizeof(buf)));
	return FL_EXIT_USAGE;
}

static int parse_args(int argc, char **argv, struct inject_args *a)
{
	enum { O_DEV = 256, O_DIR, O_PROTO, O_PORT, O_FOR, O_LEASE, O_JSON, O_ATTACH };
	static const struct option opts[] = {
	    {"dev", required_argument, NULL, O_DEV},
	    {"direction", required_argument, NULL, O_DIR},
	    {"protocol", required_argument, NULL, O_PROTO},
	    {"port", required_argument, NULL, O_PORT},
	    {"for", required_argument, NULL, O_FOR},
	    {"lease", required_argument, NULL, O_LEASE},
	    {"json", no_argument, NULL, O_JSON},
	    {"attach", required_argument, NULL, O_ATTACH},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct fl_error err = {0};
	int c, pos;

	memset(a, 0, sizeof(*a));
	a->dir_mask = FL_DIRMASK_EGRESS;
	a->direction = "egress";
	a->protocol = FL_PROTOCOL_ANY;
	a->protocol_name = "any";
	a->lease_ns = 2000000000ull;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return -1;
		case O_DEV:
			a->dev = optarg;
			break;
		case O_DIR:
			a->direction = optarg;
			if (!strcmp(optarg, "egress"))
				a->dir_mask = FL_DIRMASK_EGRESS;
			else if (!strcmp(optarg, "ingress"))
				a->dir_mask = FL_DIRMASK_INGRESS;
			else if (!strcmp(optarg, "both"))
				a->dir_mask = FL_DIRMASK_BOTH;
			else
				return usage_error(
				    "--direction: \"%s\" is not a direction (expected "
				    "egress, ingress or both)%s",
				    optarg, "");
			break;
		case O_PROTO:
			a->protocol_name = optarg;
			if (!strcmp(optarg, "tcp"))
				a->protocol = FL_PROTO_TCP;
			else if (!strcmp(optarg, "udp"))
				a->protocol = FL_PROTO_UDP;
			else if (!strcmp(optarg, "icmp"))
				a->protocol = FL_PROTO_ICMP;
			else if (!strcmp(optarg, "any"))
				a->protocol = FL_PROTOCOL_ANY;
			else
				return usage_error("--protocol: \"%s\" is not a protocol (expected "
						   "tcp, udp, icmp or any)%s",
						   optarg, "");
			break;
		case O_PORT:
			if (fl_parse_ports(optarg, "--port", &a->ports, &err))
				return input_error(&err);
			a->port_text = optarg;
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
				    "200ms)%s",
				    optarg, "");
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
				    "auto, tcx or clsact)%s",
				    optarg, "");
			break;
		case ':':
			return usage_error("option %s needs a value%s", argv[optind - 1], "");
		default:
			return usage_error("unknown option %s%s", argv[optind - 1], "");
		}
	}

	pos = optind;
	if (pos >= argc)
		return usage_error("missing FAULT (expected e.g. 'loss 30%%')%s%s", "", "");
	a->fault = argv[pos++];
	if (!strcmp(a->fault, "loss")) {
		if (pos >= argc)
			return usage_error("loss: missing PCT (expected e.g. 'loss 30%%')%s%s", "",
					   "");
		if (fl_parse_percent(argv[pos], "loss", &a->loss_ppb, &err))
			return input_error(&err);
		pos++;
	} else {
		return usage_error("unknown fault \"%s\" (expected: loss)%s", a->fault, "");
	}
	if (pos < argc)
		return usage_error("unexpected argument \"%s\"%s", argv[pos], "");

	if (!a->dev)
		return usage_error("--dev is required (the interface to act on, e.g. --dev "
				   "eth0)%s%s",
				   "", "");
	a->ifindex = (int)if_nametoindex(a->dev);
	if (!a->ifindex)
		return usage_error("--dev: no interface named \"%s\" here%s", a->dev, "");
	if (a->ports.n && a->protocol != FL_PROTO_TCP && a->protocol != FL_PROTO_UDP &&
	    a->protocol != FL_PROTOCOL_ANY)
		return usage_error("--port: ports need --protocol tcp, udp or any, not %s%s",
				   a->protocol_name, "");
	return 0;
}

static void describe(const struct inject_args *a, char *buf, size_t len)
{
	char pct[32], dur[32];

	snprintf(buf, len, "loss %s on %s %s, protocol %s%s%s, %s%s",
		 fl_fmt_percent(a->loss_ppb, pct, sizeof(pct)), a->dev, a->direction,
		 a->protocol_name, a->port_text ? ", port " : "", a->port_text ? a->port_text : "",
		 a->for_ns ? "for " : "until stopped",
		 a->for_ns ? fl_fmt_duration(a->for_ns, dur, sizeof(dur)) : "");
}

static void status_line(const struct inject_args *a, const struct fl_counters *c, uint64_t now,
			uint64_t end)
{
	char left[32] = "until stopped";

	if (end)
		snprintf(left, sizeof(left), "%.1fs left", now < end ? (end - now) / 1e9 : 0.0);
	fprintf(stderr, "\r\033[K[faultline] loss on %s: %s | matched %llu dropped %llu (%.2f%%)",
		a->dev, left, (unsigned long long)c->matched, (unsigned long long)c->acted,
		c->matched ? 100.0 * c->acted / c->matched : 0.0);
	fflush(stderr);
}

static void print_summary(const struct inject_args *a, const struct fl_counters *c,
			  const char *ended, double secs, const char *mode, int rolled_back)
{
	char pct[32];

	if (a->json) {
		cJSON *o = cJSON_CreateObject(), *t, *k;
		char *s;

		cJSON_AddStringToObject(o, "fault", "loss");
		cJSON_AddNumberToObject(o, "percent", a->loss_ppb / 1e7);
		t = cJSON_AddObjectToObject(o, "target");
		cJSON_AddStringToObject(t, "dev", a->dev);
		cJSON_AddStringToObject(t, "direction", a->direction);
		cJSON_AddStringToObject(t, "protocol", a->protocol_name);
		if (a->port_text)
			cJSON_AddStringToObject(t, "port", a->port_text);
		else
			cJSON_AddNullToObject(t, "port");
		cJSON_AddStringToObject(o, "attach", mode);
		cJSON_AddStringToObject(o, "ended", ended);
		cJSON_AddNumberToObject(o, "seconds", round(secs * 1000) / 1000);
		cJSON_AddBoolToObject(o, "rolled_back", rolled_back);
		k = cJSON_AddObjectToObject(o, "counters");
		cJSON_AddNumberToObject(k, "matched", (double)c->matched);
		cJSON_AddNumberToObject(k, "dropped", (double)c->acted);
		cJSON_AddNumberToObject(k, "bytes", (double)c->bytes);
		cJSON_AddNumberToObject(k, "after_deadline", (double)c->expired);
		s = cJSON_Print(o);
		if (s)
			puts(s);
		free(s);
		cJSON_Delete(o);
		return;
	}
	printf("faultline: loss %s on %s ended after %.1fs (%s); rolled back\n",
	       fl_fmt_percent(a->loss_ppb, pct, sizeof(pct)), a->dev, secs, ended);
	printf("  matched %llu packets (%llu bytes), dropped %llu (%.2f%%)\n",
	       (unsigned long long)c->matched, (unsigned long long)c->bytes,
	       (unsigned long long)c->acted, c->matched ? 100.0 * c->acted / c->matched : 0.0);
}

int fl_cmd_inject(int argc, char **argv)
{
	struct fl_engine_opts eopts = {.sz = sizeof(eopts)};
	struct fl_rule_spec spec = {0};
	struct fl_counters cnt = {0};
	struct inject_args a;
	struct fl_engine *e = NULL;
	struct sigaction sa;
	uint64_t start, end, now, next_status = 0;
	const char *ended = "expired";
	int tty = isatty(STDERR_FILENO), r, rule_id, code = FL_EXIT_OK, leftovers;
	char desc[256], lease[32];

	r = parse_args(argc, argv, &a);
	if (r)
		return r < 0 ? FL_EXIT_OK : r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	leftovers = fl_journal_replay(NULL);
	if (leftovers > 0)
		fl_cli_err("removed %d leftover clsact filter(s) of a faultline that died",
			   leftovers);

	eopts.mode = a.mode;
	r = fl_engine__open(&eopts, &e);
	if (r) {
		fl_cli_err("cannot load the classifier: %s%s", strerror(-r),
			   r == -EPERM ? " (faultline needs root: CAP_BPF and CAP_NET_ADMIN)" : "");
		return FL_EXIT_INJECT;
	}
	r = fl_engine__attach(e, a.ifindex, a.dir_mask);
	if (r) {
		fl_cli_err("cannot attach to %s: %s; nothing applied", a.dev, strerror(-r));
		fl_engine__close(e);
		return FL_EXIT_INJECT;
	}

	start = fl_now_ns();
	end = a.for_ns ? start + a.for_ns : 0;
	spec.dir_mask = a.dir_mask;
	spec.protocol = a.protocol;
	spec.ports = a.ports;
	spec.loss_ppb = a.loss_ppb;
	spec.end_ns = end;
	r = fl_engine__add_rule(e, &spec, start, a.lease_ns, &rule_id);
	if (r) {
		fl_cli_err("cannot install the rule: %s; rolled back", strerror(-r));
		fl_engine__close(e);
		return FL_EXIT_INJECT;
	}
	describe(&a, desc, sizeof(desc));
	fprintf(stderr, "faultline: injecting %s (%s, lease %s)%s\n", desc,
		fl_engine__attach_mode(e), fl_fmt_duration(a.lease_ns, lease, sizeof(lease)),
		tty ? "; Ctrl-C to stop" : "");

	for (;;) {
		struct timespec ts;
		uint64_t wake;

		now = fl_now_ns();
		if (got_signal)
			break;
		if (end && now >= end)
			break;
		if (fl_engine__check(e) == -ENODEV) {
			fl_cli_err("%s went away while the fault was active", a.dev);
			ended = "device_gone";
			code = FL_EXIT_INJECT;
			break;
		}
		if (fl_engine__renew(e, now, a.lease_ns) == -ETIME) {
			fl_cli_err("the lease lapsed: this process was stopped or starved for "
				   "more than %s, so the kernel ended the fault",
				   lease);
			ended = "lease_lapsed";
			code = FL_EXIT_INJECT;
			break;
		}
		if (tty && !a.json && now >= next_status) {
			fl_engine__counters(e, rule_id, &cnt);
			status_line(&a, &cnt, now, end);
			next_status = now + STATUS_NS;
		}
		wake = now + TICK_NS;
		if (end && end < wake)
			wake = end;
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	if (got_signal == SIGINT) {
		ended = "interrupted";
		code = FL_EXIT_INTERRUPT;
	} else if (got_signal) {
		ended = "terminated";
	}

	fl_engine__counters(e, rule_id, &cnt);
	now = fl_now_ns();
	const char *mode = fl_engine__attach_mode(e);
	fl_engine__close(e);
	if (tty && !a.json)
		fputs("\r\033[K", stderr);
	print_summary(&a, &cnt, ended, (now - start) / 1e9, mode, 1);
	return code;
}
