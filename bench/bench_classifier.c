/*
 * bench/bench_classifier.c - per-packet cost of the classifier, against a
 * program that only returns, measured in the same run.
 *
 * Each case runs one program of a loaded classifier instance on one crafted
 * 64-byte Ethernet/IPv4/UDP frame with bpf_prog_test_run_opts() and .repeat:
 * the kernel runs the program `repeat` times on the same skb and reports the
 * mean ns per run (opts.duration, whole ns). The VM this runs on is noisy, so
 * the cases are interleaved (every round runs every case once, starting from
 * a different case each round) and each figure is the median over the rounds.
 * Differences and ratios are taken within a round, then their median, so a
 * slow round shifts both sides together.
 *
 * The rule sets live in separate engines (one engine = one instance of the
 * classifier with its own tables), since all cases run in the same rounds:
 *   empty  no rule: classifier_no_rules, and baseline (fl_baseline)
 *   one    1 rule, UDP port 7777, loss 0%: match_1_rule, nomatch_1_rule
 *   drop   1 rule, UDP port 7777, loss 100%: match_drop_1_rule
 *   many   64 rules, ids 0..62 on UDP ports 9000..9062, id 63 on UDP port
 *          7777: match_64_rules (classified to id 63), nomatch_64_rules
 * Non-matching packets go to UDP port 7778. Every verdict is checked on each
 * run and the rule counters at the end, so a figure always measures the path
 * its name says.
 *
 * Output: one line per figure, "name value unit"; lines starting with '#'
 * are comments. Usage: bench_classifier [-r rounds] [-n repeat] [-v]; -v also
 * prints every round's figure of every case. Needs root.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "faultline/engine.h"

#define PASS	      0xffffffffu /* TCX_NEXT (-1) as test_run reports it */
#define SEC_NS	      1000000000ull
#define LEASE_NS      (3600 * SEC_NS) /* outlives any run: no rule expires mid-bench */
#define MATCH_PORT    7777
#define OTHER_PORT    7778
#define SRC_PORT      40000
#define FRAME_LEN     64
#define MAX_ROUNDS    101
#define WARMUP_REPEAT 100000

struct frame {
	uint8_t b[FRAME_LEN];
};

struct bench_case {
	const char *name;
	int prog_fd;
	const struct frame *frame;
	int passes; /* expected verdict: PASS, or anything else (a drop) */
	double ns[MAX_ROUNDS];
};

enum { E_EMPTY, E_ONE, E_DROP, E_MANY, E_COUNT };

static struct fl_engine *engines[E_COUNT];

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Ethernet + IPv4 (no options) + UDP + payload, FRAME_LEN bytes without FCS. */
static void udp_frame(struct frame *f, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = f->b + 14, *udp = ip + 20;

	memset(f, 0, sizeof(*f));
	memcpy(f->b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(f->b + 12, 0x0800);
	ip[0] = 0x45;
	put16(ip + 2, FRAME_LEN - 14);
	put16(ip + 4, 0x1234);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, "\x0a\xc8\x00\x01\x0a\xc8\x00\x02", 8);
	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, FRAME_LEN - 14 - 20);
}

static int add_udp_rule(struct fl_engine *e, uint16_t port, uint32_t loss_ppb, int *id)
{
	struct fl_rule_spec s = {
	    .dir_mask = FL_DIRMASK_EGRESS,
	    .protocol = FL_PROTO_UDP,
	    .ports = {.n = 1, .r = {{.lo = port, .hi = port}}},
	    .loss.ppb = loss_ppb,
	};

	return fl_engine__add_rule(e, &s, fl_now_ns(), LEASE_NS, id);
}

/* Runs c once with `repeat` iterations; *ns is the kernel's mean per run. */
static int run_case(const struct bench_case *c, int repeat, double *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = c->frame->b, .data_size_in = FRAME_LEN,
		    .repeat = repeat);
	int r = bpf_prog_test_run_opts(c->prog_fd, &o);

	if (r) {
		fprintf(stderr, "bench_classifier: %s: test_run: %s\n", c->name, strerror(-r));
		return r;
	}
	/* a drop is any verdict but PASS (TCX_DROP, or a redirect to nowhere):
	 * the counters checked at the end say the loss path ran */
	if ((o.retval == PASS) != c->passes) {
		fprintf(stderr, "bench_classifier: %s: verdict %d, expected %s\n", c->name,
			(int)o.retval, c->passes ? "pass (-1)" : "a drop");
		return -EPROTO;
	}
	if (ns)
		*ns = o.duration;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[MAX_ROUNDS];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Median over the rounds of a - b (diff) or a / b (ratio), paired by round. */
static double paired_median(const struct bench_case *a, const struct bench_case *b, int rounds,
			    int ratio)
{
	double v[MAX_ROUNDS];

	for (int i = 0; i < rounds; i++)
		v[i] = ratio ? a->ns[i] / b->ns[i] : a->ns[i] - b->ns[i];
	return median(v, rounds);
}

/* The counters must show that each rule saw exactly the runs aimed at it. */
static int check_counters(int id, struct fl_engine *e, const char *what, uint64_t matched,
			  uint64_t acted)
{
	struct fl_counters c;
	int r = fl_engine__counters(e, id, &c);

	if (r) {
		fprintf(stderr, "bench_classifier: counters of %s: %s\n", what, strerror(-r));
		return r;
	}
	if (c.matched != matched || c.dropped != acted || c.expired) {
		fprintf(stderr,
			"bench_classifier: %s rule %d: matched %llu acted %llu expired %llu, "
			"expected %llu %llu 0\n",
			what, id, (unsigned long long)c.matched, (unsigned long long)c.dropped,
			(unsigned long long)c.expired, (unsigned long long)matched,
			(unsigned long long)acted);
		return -EPROTO;
	}
	return 0;
}

static int bench(int rounds, int repeat, int verbose)
{
	struct frame hit, miss;
	int r, id, one_id, drop_id, last_id = -1;

	udp_frame(&hit, SRC_PORT, MATCH_PORT);
	udp_frame(&miss, SRC_PORT, OTHER_PORT);

	for (int i = 0; i < E_COUNT; i++) {
		r = fl_engine__open(NULL, &engines[i]);
		if (r) {
			fprintf(stderr, "bench_classifier: loading the classifier: %s%s\n",
				strerror(-r), r == -EPERM ? " (needs root)" : "");
			return r;
		}
	}
	r = add_udp_rule(engines[E_ONE], MATCH_PORT, 0, &one_id);
	if (!r)
		r = add_udp_rule(engines[E_DROP], MATCH_PORT, FL_PPB_100, &drop_id);
	for (int i = 0; !r && i < FL_MAX_RULES; i++) {
		int last = i == FL_MAX_RULES - 1;

		r = add_udp_rule(engines[E_MANY], last ? MATCH_PORT : (uint16_t)(9000 + i), 0, &id);
		if (last)
			last_id = id;
	}
	if (r) {
		fprintf(stderr, "bench_classifier: adding rules: %s\n", strerror(-r));
		return r;
	}
	if (last_id != FL_MAX_RULES - 1) {
		fprintf(stderr, "bench_classifier: the 64th rule got id %d, expected %d\n", last_id,
			FL_MAX_RULES - 1);
		return -EPROTO;
	}

	/* the egress programs of each instance; the baseline is of the empty one */
	int base = fl_engine__baseline_fd(engines[E_EMPTY]);
	int empty = fl_engine__prog_fd(engines[E_EMPTY], FL_DIR_EGRESS);
	int one = fl_engine__prog_fd(engines[E_ONE], FL_DIR_EGRESS);
	int drop = fl_engine__prog_fd(engines[E_DROP], FL_DIR_EGRESS);
	int many = fl_engine__prog_fd(engines[E_MANY], FL_DIR_EGRESS);
	/* clang-format off */
	struct bench_case cases[] = {
		/* name                 program frame  passes */
		{"baseline",            base,   &hit,  1, {0}},
		{"classifier_no_rules", empty,  &hit,  1, {0}},
		{"nomatch_1_rule",      one,    &miss, 1, {0}},
		{"match_1_rule",        one,    &hit,  1, {0}},
		{"nomatch_64_rules",    many,   &miss, 1, {0}},
		{"match_64_rules",      many,   &hit,  1, {0}},
		{"match_drop_1_rule",   drop,   &hit,  0, {0}},
	};
	/* clang-format on */
	const int n = (int)(sizeof(cases) / sizeof(cases[0]));
	/* indexes into cases[] */
	enum { BASE, NO_RULES, NOMATCH_1, MATCH_1, NOMATCH_64, MATCH_64, DROP_1 };

	for (int c = 0; c < n; c++) {
		if (cases[c].prog_fd < 0) {
			fprintf(stderr, "bench_classifier: %s: no program\n", cases[c].name);
			return -EBADF;
		}
		/* warm-up: JIT image, tables and skb in cache; also checks verdicts */
		r = run_case(&cases[c], WARMUP_REPEAT, NULL);
		if (r)
			return r;
	}
	for (int i = 0; i < rounds; i++)
		for (int k = 0; k < n; k++) {
			struct bench_case *c = &cases[(i + k) % n];

			r = run_case(c, repeat, &c->ns[i]);
			if (r)
				return r;
		}

	/* each matching case's rule saw warm-up + rounds * repeat packets */
	uint64_t runs = WARMUP_REPEAT + (uint64_t)rounds * (uint64_t)repeat;
	r = check_counters(one_id, engines[E_ONE], "match_1_rule", runs, 0);
	if (!r)
		r = check_counters(drop_id, engines[E_DROP], "match_drop_1_rule", runs, runs);
	if (!r)
		r = check_counters(last_id, engines[E_MANY], "match_64_rules", runs, 0);
	for (int i = 0; !r && i < last_id; i++)
		r = check_counters(i, engines[E_MANY], "nomatch_64_rules", 0, 0);
	if (r)
		return r;

	printf("# bench_classifier: %d rounds x %d runs per case, %d-byte IPv4/UDP frame, "
	       "median per case; test_run resolution 1 ns\n",
	       rounds, repeat, FRAME_LEN);
	for (int c = 0; c < n && verbose; c++) {
		printf("# %s rounds:", cases[c].name);
		for (int i = 0; i < rounds; i++)
			printf(" %.0f", cases[c].ns[i]);
		printf("\n");
	}
	for (int c = 0; c < n; c++)
		printf("%s_ns %.1f ns\n", cases[c].name, median(cases[c].ns, rounds));
	for (int c = 0; c < n; c++)
		if (c != BASE)
			printf("%s_over_baseline_ns %.1f ns\n", cases[c].name,
			       paired_median(&cases[c], &cases[BASE], rounds, 0));
	printf("nomatch_64_over_1_ratio %.2f x\n",
	       paired_median(&cases[NOMATCH_64], &cases[NOMATCH_1], rounds, 1));
	printf("match_64_over_1_ratio %.2f x\n",
	       paired_median(&cases[MATCH_64], &cases[MATCH_1], rounds, 1));
	return 0;
}

static int positive_arg(const char *s, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > max)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	int rounds = 11, repeat = 1000000, verbose = 0, opt, r;

	while ((opt = getopt(argc, argv, "r:n:v")) != -1) {
		if (opt == 'v') {
			verbose = 1;
			continue;
		}
		if (opt == 'r' && !positive_arg(optarg, MAX_ROUNDS, &rounds))
			continue;
		if (opt == 'n' && !positive_arg(optarg, 100000000, &repeat))
			continue;
		fprintf(stderr, "usage: %s [-r rounds (1..%d)] [-n repeat per case] [-v]\n",
			argv[0], MAX_ROUNDS);
		return 2;
	}
	r = bench(rounds, repeat, verbose);
	for (int i = 0; i < E_COUNT; i++)
		fl_engine__close(engines[i]);
	return r ? 1 : 0;
}
