/*
 * tests/helpers/fl-rules.c - hold N live rules in ONE classifier instance,
 * for the end-to-end test of many rules at once (one `faultline inject`
 * holds one rule; tcx takes at most 64 programs per hook, so 64 injects
 * would be 64 programs, not 64 rules).
 *
 *   fl-rules IFNAME N BASEPORT
 * Rule i drops 100% of UDP egress packets to or from port BASEPORT + i.
 * Prints "ready" once installed, renews the lease every 500 ms, and on
 * SIGTERM prints the dropped count of each rule as a JSON array, rolls back
 * and exits 0. Exits by itself after 120 s.
 */
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faultline/engine.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct fl_engine *e;
	int ifindex, n, base, ids[FL_MAX_RULES];
	uint64_t start;

	if (argc != 4 || !(ifindex = (int)if_nametoindex(argv[1])) || (n = atoi(argv[2])) < 1 ||
	    n > FL_MAX_RULES || (base = atoi(argv[3])) < 1 || base + n > 65536) {
		fprintf(stderr, "usage: fl-rules IFNAME N(1..%d) BASEPORT\n", FL_MAX_RULES);
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (fl_engine__open(NULL, &e) || fl_engine__attach(e, ifindex, FL_DIRMASK_EGRESS)) {
		fprintf(stderr, "fl-rules: cannot load or attach\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		struct fl_rule_spec s = {.dir_mask = FL_DIRMASK_EGRESS, .protocol = FL_PROTO_UDP};

		s.ports.n = 1;
		s.ports.r[0].lo = s.ports.r[0].hi = (uint16_t)(base + i);
		s.loss.ppb = FL_PPB_100;
		if (fl_engine__add_rule(e, &s, fl_now_ns(), 2000000000ull, &ids[i])) {
			fprintf(stderr, "fl-rules: rule %d refused\n", i);
			fl_engine__close(e);
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	start = fl_now_ns();
	while (!stop && fl_now_ns() - start < 120000000000ull) {
		struct timespec ts = {0, 500000000};

		fl_engine__renew(e, fl_now_ns(), 2000000000ull);
		nanosleep(&ts, NULL);
	}
	printf("[");
	for (int i = 0; i < n; i++) {
		struct fl_counters c = {0};

		fl_engine__counters(e, ids[i], &c);
		printf("%s%llu", i ? "," : "", (unsigned long long)c.dropped);
	}
	printf("]\n");
	fl_engine__close(e);
	return 0;
}
