/*
 * bench/hold_rules.c - attach the classifier to an interface and hold N live
 * rules that do not match the benchmark's traffic, for bench/throughput.sh.
 *
 * Usage: hold_rules [-s] IFNAME N_RULES DIRECTION [MAX_SECONDS]
 *   N_RULES     0..64
 *   DIRECTION   egress, ingress or both
 *   MAX_SECONDS exit by itself after this long (default 600): a forgotten
 *               holder does not stay forever
 *   -s          turn the kernel's BPF run-time statistics on while it runs
 *               (BPF_ENABLE_STATS: for every BPF program of the host, until
 *               it exits) and print, at the end, what the classifier cost
 *               per packet in the real path: "run_cnt <n>" and
 *               "run_time_ns <ns>" summed over the attached directions. The
 *               accounting reads the clock twice per run of every program,
 *               so a holder with -s is not one to measure throughput with.
 * Run it inside the namespace of IFNAME (ip netns exec). It prints "ready" on
 * stdout once the rules are installed, renews their lease (2 s) every 500 ms,
 * and on SIGTERM or SIGINT prints "matched <n>" (packets classified to any
 * rule: 0 when the rules really missed the flow), rolls everything back
 * (fl_engine__close) and exits 0, or 3 when some packet matched.
 *
 * The rules are built so that an iperf3 packet (TCP or UDP, port 5201,
 * between 10.210.0.1 and 10.210.0.2) walks the classifier's protocol, port
 * and address lookups before it is ruled out, with rule i of kind i % 4:
 *   0  any protocol, port 5201, remote 10.211.i.0/24: protocol and port
 *      match, the address lookup (LPM trie) misses
 *   1  TCP, remote 10.212.i.0/24, no port: ruled out by the address
 *   2  TCP, port 9000+i: ruled out by the port
 *   3  UDP, port 9000+i: ruled out by the protocol (TCP), the port (UDP)
 * every one with loss 100%, so a packet that did match would be dropped.
 * With 1 rule, that rule is of kind 0: the same lookups as with 64. With 0
 * rules the classifier is attached with nothing to do (one load, a compare).
 * Not a benchmark itself: bench/run.sh runs only bench_* binaries.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "faultline/engine.h"

#define SEC_NS	       1000000000ull
#define LEASE_NS       (2 * SEC_NS)
#define RENEW_NS       (500 * 1000000ull)
#define FLOW_PORT      5201
#define MAX_SECONDS    600
#define MAX_SECONDS_HI 86400

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void cidr4(struct fl_cidr *c, uint8_t a, uint8_t b, uint8_t cc, uint8_t len)
{
	memset(c, 0, sizeof(*c));
	c->family = AF_INET;
	c->prefixlen = len;
	c->addr[0] = a;
	c->addr[1] = b;
	c->addr[2] = cc;
}

static void port1(struct fl_port_set *ps, uint16_t port)
{
	ps->n = 1;
	ps->r[0].lo = port;
	ps->r[0].hi = port;
}

static void rule_spec(struct fl_rule_spec *s, int i, unsigned dir_mask)
{
	memset(s, 0, sizeof(*s));
	s->dir_mask = dir_mask;
	s->loss.model = FL_LOSS_RANDOM;
	s->loss.ppb = FL_PPB_100;
	switch (i % 4) {
	case 0:
		s->protocol = FL_PROTOCOL_ANY;
		port1(&s->ports, FLOW_PORT);
		s->n_cidrs = 1;
		cidr4(&s->cidrs[0], 10, 211, (uint8_t)i, 24);
		break;
	case 1:
		s->protocol = FL_PROTO_TCP;
		s->n_cidrs = 1;
		cidr4(&s->cidrs[0], 10, 212, (uint8_t)i, 24);
		break;
	case 2:
		s->protocol = FL_PROTO_TCP;
		port1(&s->ports, (uint16_t)(9000 + i));
		break;
	default:
		s->protocol = FL_PROTO_UDP;
		port1(&s->ports, (uint16_t)(9000 + i));
		break;
	}
}

static int parse_dir(const char *s, unsigned *mask)
{
	if (!strcmp(s, "egress"))
		*mask = FL_DIRMASK_EGRESS;
	else if (!strcmp(s, "ingress"))
		*mask = FL_DIRMASK_INGRESS;
	else if (!strcmp(s, "both"))
		*mask = FL_DIRMASK_BOTH;
	else
		return -1;
	return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / SEC_NS), .tv_nsec = (long)(ns % SEC_NS)};

	/* a signal cuts the sleep short: the caller checks `stop` */
	nanosleep(&ts, NULL);
}

/* Run count and time of the classifier programs of dir_mask (kept by the
 * kernel while BPF_ENABLE_STATS is on). */
static int prog_stats(const struct fl_engine *e, unsigned dir_mask, uint64_t *cnt, uint64_t *ns)
{
	*cnt = *ns = 0;
	for (int dir = 0; dir < FL_DIR_COUNT; dir++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		if (!(dir_mask & (1u << dir)))
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fl_engine__prog_fd(e, dir), &info, &len))
			return -errno;
		*cnt += info.run_cnt;
		*ns += info.run_time_ns;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct fl_engine_opts opts = {.sz = sizeof(opts), .mode = FL_ATTACH_AUTO};
	struct sigaction sa = {.sa_handler = on_signal};
	struct fl_engine *e = NULL;
	long n_rules, max_s = MAX_SECONDS;
	uint64_t matched = 0, start, deadline;
	unsigned dir_mask;
	int ifindex, r, status = 0, stats = 0, stats_fd = -1, opt, nargs;
	const char *ifname, *dir_name;

	while ((opt = getopt(argc, argv, "s")) != -1) {
		if (opt != 's')
			goto usage;
		stats = 1;
	}
	nargs = argc - optind;
	if (nargs < 3 || nargs > 4 || parse_long(argv[optind + 1], 0, FL_MAX_RULES, &n_rules) ||
	    parse_dir(argv[optind + 2], &dir_mask) ||
	    (nargs == 4 && parse_long(argv[optind + 3], 1, MAX_SECONDS_HI, &max_s)))
		goto usage;
	ifname = argv[optind];
	dir_name = argv[optind + 2];
	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "hold_rules: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL)) {
		fprintf(stderr, "hold_rules: sigaction: %s\n", strerror(errno));
		return 1;
	}

	r = fl_engine__open(&opts, &e);
	if (r) {
		fprintf(stderr, "hold_rules: open: %s\n", strerror(-r));
		return 1;
	}
	if (stats) {
		stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
		if (stats_fd < 0) {
			fprintf(stderr, "hold_rules: BPF_ENABLE_STATS: %s\n", strerror(errno));
			status = 1;
			goto out;
		}
	}
	r = fl_engine__attach(e, ifindex, dir_mask);
	if (r) {
		fprintf(stderr, "hold_rules: attach %s: %s\n", ifname, strerror(-r));
		status = 1;
		goto out;
	}
	for (int i = 0; i < n_rules; i++) {
		struct fl_rule_spec s;

		rule_spec(&s, i, dir_mask);
		r = fl_engine__add_rule(e, &s, fl_now_ns(), LEASE_NS, NULL);
		if (r) {
			fprintf(stderr, "hold_rules: rule %d: %s\n", i, strerror(-r));
			status = 1;
			goto out;
		}
	}
	fprintf(stderr, "# hold_rules: %ld rules on %s %s (%s)\n", n_rules, ifname, dir_name,
		fl_engine__attach_mode(e));
	printf("ready\n");
	fflush(stdout);

	start = fl_now_ns();
	deadline = start + (uint64_t)max_s * SEC_NS;
	/* bounded: ends on a signal or after max_s seconds */
	while (!stop) {
		uint64_t now;

		sleep_ns(RENEW_NS);
		now = fl_now_ns();
		if (now >= deadline) {
			fprintf(stderr, "hold_rules: %lds elapsed, exiting\n", max_s);
			break;
		}
		r = fl_engine__renew(e, now, LEASE_NS);
		if (r) {
			fprintf(stderr, "hold_rules: renew: %s (lease lapsed: starved)\n",
				strerror(-r));
			status = 1;
			break;
		}
	}

	for (int id = 0; id < n_rules; id++) {
		struct fl_counters c;

		r = fl_engine__counters(e, id, &c);
		if (r) {
			fprintf(stderr, "hold_rules: counters of rule %d: %s\n", id, strerror(-r));
			status = 1;
			break;
		}
		matched += c.matched + c.expired;
	}
	printf("matched %llu\n", (unsigned long long)matched);
	if (stats) {
		uint64_t cnt, ns;

		r = prog_stats(e, dir_mask, &cnt, &ns);
		if (r) {
			fprintf(stderr, "hold_rules: program info: %s\n", strerror(-r));
			status = 1;
		} else {
			printf("run_cnt %llu\nrun_time_ns %llu\n", (unsigned long long)cnt,
			       (unsigned long long)ns);
		}
	}
	fflush(stdout);
	if (matched && !status)
		status = 3;
out:
	fl_engine__close(e);
	if (stats_fd >= 0)
		close(stats_fd);
	return status;
usage:
	fprintf(stderr,
		"usage: hold_rules [-s] IFNAME N_RULES(0..%d) egress|ingress|both "
		"[MAX_SECONDS]\n",
		FL_MAX_RULES);
	return 2;
}
