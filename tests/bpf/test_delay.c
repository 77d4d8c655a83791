/*
 * tests/bpf/test_delay.c - the delay action's due times, drawn in BPF by
 * bpf/classifier.bpf.c (fl_tabledist, fl_reorder_now, fl_delay), and the
 * fl_reinject program of ingress delay.
 *
 * The engine runs without its delay-line thread: this test reads the delay
 * line's ring buffer itself. Each packet is run once through the classifier
 * with bpf_prog_test_run_opts() between two readings of the clock t0, t1, and
 * the ring is consumed at once, so each record belongs to exactly one run.
 * The classifier read its clock somewhere in [t0, t1], so the delay it drew
 * is in [due - t1, due - t0]; the statistics use due - (t0 + t1) / 2 (an
 * error of microseconds, against sigmas of milliseconds).
 *
 * The ring is consumed after every run (about 2 us), so each record belongs
 * to one run, and no record ever waits the FL_DELAY_STALL_NS (3 ms) after
 * which the classifier judges the consumer dead and passes frames undelayed.
 *
 * The process is pinned to one CPU: the random processes' state
 * (correlation memory, reorder counter, seeded PRNG) is per CPU.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "faultline/dist.h"
#include "faultline/engine.h"
#include "faultline/rule.h"

#define PASS	    0xffffffffu /* TCX_NEXT (-1) */
#define DROP	    7u		/* TC_ACT_REDIRECT to no device: a silent drop (bpf/lib/act.h) */
#define TC_REDIRECT 7u		/* TC_ACT_REDIRECT */
#define SEC_NS	    1000000000ull
#define MS_NS	    1000000ull
#define N	    10000
#define PORT	    7777

struct pkt {
	uint8_t b[256];
	uint32_t len;
};

/* One run of the classifier on one packet. */
struct sample {
	uint32_t verdict;
	int nrec;	 /* records it put in the ring */
	int frame_ok;	 /* the record's frame is the packet, byte for byte */
	uint64_t t0, t1; /* the clock before and after the run */
	uint64_t due;	 /* the record's due_ns */
	uint32_t ifindex;
	uint32_t len;
	uint16_t rule;
	uint8_t flags;
	uint8_t copies;
};

static struct fl_engine *E;
static struct ring_buffer *RB;
static struct sample *S;	  /* samples of the current draw() */
static struct sample *cur;	  /* the sample the ring callback fills */
static const struct pkt *cur_pkt; /* the packet it should carry */

static int on_record(void *ctx, void *data, size_t size)
{
	const struct fl_delay_rec *rec = data;

	(void)ctx;
	if (!cur || size < sizeof(*rec))
		return 0;
	cur->nrec++;
	cur->due = rec->due_ns;
	cur->ifindex = rec->ifindex;
	cur->len = rec->len;
	cur->rule = rec->rule;
	cur->flags = rec->flags;
	cur->copies = rec->copies;
	cur->frame_ok = rec->len == cur_pkt->len && size >= sizeof(*rec) + rec->len &&
			!memcmp(rec->data, cur_pkt->b, cur_pkt->len);
	return 0;
}

static int setup(void **state)
{
	struct fl_engine_opts o = {.sz = sizeof(o), .no_delay_line = 1};
	int r;

	(void)state;
	r = fl_engine__open(&o, &E);
	if (r)
		return r;
	RB = ring_buffer__new(fl_engine__delay_ring_fd(E), on_record, NULL, NULL);
	if (!RB) {
		fl_engine__close(E);
		E = NULL;
		return -1;
	}
	S = calloc(2 * N, sizeof(*S));
	return S ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ring_buffer__free(RB);
	RB = NULL;
	fl_engine__close(E);
	E = NULL;
	free(S);
	S = NULL;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 UDP packet 10.0.0.1:sport -> 10.0.0.2:dport with 16 bytes of
 * payload. */
static void v4udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t *ip = p->b + 14;
	uint32_t off = 14 + 20;

	memset(p, 0, sizeof(*p));
	memcpy(p->b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	put16(p->b + 12, 0x0800);
	ip[0] = 0x45;
	ip[8] = 64;
	ip[9] = 17;
	put16(ip + 4, 0x1234);
	assert_int_equal(inet_pton(AF_INET, "10.0.0.1", ip + 12), 1);
	assert_int_equal(inet_pton(AF_INET, "10.0.0.2", ip + 16), 1);
	put16(p->b + off, sport);
	put16(p->b + off + 2, dport);
	put16(p->b + off + 4, 8 + 16);
	off += 8;
	for (int i = 0; i < 16; i++)
		p->b[off + i] = (uint8_t)(0xa0 + i);
	off += 16;
	put16(ip + 2, (uint16_t)(off - 14));
	p->len = off;
}

static struct fl_rule_spec spec(unsigned dirs)
{
	struct fl_rule_spec s = {.dir_mask = dirs, .protocol = FL_PROTO_UDP};

	s.ports.n = 1;
	s.ports.r[0].lo = s.ports.r[0].hi = PORT;
	return s;
}

static int add(const struct fl_rule_spec *s)
{
	int id = -1;

	assert_int_equal(fl_engine__add_rule(E, s, fl_now_ns(), 60 * SEC_NS, &id), 0);
	return id;
}

static struct fl_counters counters(int id)
{
	struct fl_counters c;

	assert_int_equal(fl_engine__counters(E, id, &c), 0);
	return c;
}

/* Run the program of direction dir on p n times, one sample each. */
static void draw_prog(int prog_fd, struct pkt *p, int n, struct sample *out)
{
	uint8_t scratch[256];

	cur_pkt = p;
	for (int i = 0; i < n; i++) {
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = p->len,
				    .data_out = scratch, .data_size_out = sizeof(scratch),
				    .repeat = 1);
		struct sample *x = &out[i];
		int r;

		memset(x, 0, sizeof(*x));
		x->t0 = fl_now_ns();
		r = bpf_prog_test_run_opts(prog_fd, &o);
		x->t1 = fl_now_ns();
		if (r)
			print_error("test_run of a %u-byte packet: %d\n", p->len, r);
		assert_int_equal(r, 0);
		x->verdict = o.retval;
		cur = x;
		assert_true(ring_buffer__consume(RB) >= 0);
		cur = NULL;
	}
}

static void draw(int dir, struct pkt *p, int n, struct sample *out)
{
	draw_prog(fl_engine__prog_fd(E, dir), p, n, out);
}

/* The delay drawn, in ms, from the midpoint of the run. */
static double delay_ms(const struct sample *x)
{
	return ((double)x->due - ((double)x->t0 + (double)x->t1) / 2) / 1e6;
}

struct stats {
	double mean, std, min, max, r1, skew;
	int n;
};

/* Moments and lag-1 autocorrelation of the delays of the samples that were
 * delayed (in arrival order). */
static struct stats stats_of(const struct sample *x, int n)
{
	struct stats st = {.min = INFINITY, .max = -INFINITY};
	double m2 = 0, m3 = 0, c1 = 0, prev = 0;
	int k = 0;

	for (int i = 0; i < n; i++) {
		double d;

		if (x[i].nrec != 1)
			continue;
		d = delay_ms(&x[i]);
		st.mean += d;
		st.min = fmin(st.min, d);
		st.max = fmax(st.max, d);
		k++;
	}
	st.n = k;
	if (!k)
		return st;
	st.mean /= k;
	k = 0;
	for (int i = 0; i < n; i++) {
		double e;

		if (x[i].nrec != 1)
			continue;
		e = delay_ms(&x[i]) - st.mean;
		m2 += e * e;
		m3 += e * e * e;
		if (k++)
			c1 += e * prev;
		prev = e;
	}
	st.std = sqrt(m2 / st.n);
	st.skew = m2 > 0 ? (m3 / st.n) / pow(st.std, 3) : 0;
	st.r1 = m2 > 0 ? c1 / m2 : 0;
	return st;
}

static void print_stats(const char *what, const struct stats *st)
{
	print_message("# %s: n %d mean %.4f ms std %.4f ms min %.4f max %.4f skew %.3f "
		      "lag-1 r %.4f\n",
		      what, st->n, st->mean, st->std, st->min, st->max, st->skew, st->r1);
}

/* Every sample was delayed: verdict DROP (the sink), one record each. */
static void assert_all_delayed(const struct sample *x, int n, int id)
{
	struct fl_counters c = counters(id);

	for (int i = 0; i < n; i++) {
		assert_int_equal(x[i].verdict, DROP);
		assert_int_equal(x[i].nrec, 1);
		assert_true(x[i].frame_ok);
		assert_int_equal(x[i].rule, id);
		assert_int_equal(x[i].copies, 1);
	}
	assert_int_equal(c.matched, n);
	assert_int_equal(c.delayed, n);
	assert_int_equal(c.delay_overflow, 0);
	assert_int_equal(c.reordered, 0);
}

static struct stats jitter_run(uint64_t delay, uint64_t jitter, uint32_t dist, uint32_t corr_ppb,
			       int n)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS);
	struct pkt p;
	int id;

	s.delay.ns = delay;
	s.delay.jitter_ns = jitter;
	s.delay.dist = dist;
	s.delay.corr_ppb = corr_ppb;
	id = add(&s);
	v4udp(&p, 1, PORT);
	draw(FL_DIR_EGRESS, &p, n, S);
	assert_all_delayed(S, n, id);
	assert_int_equal(fl_engine__remove_rule(E, id), 0);
	return stats_of(S, n);
}

/* 1. A constant delay: due = now + 20 ms exactly, so in arrival order the
 * due times never go backwards (the delay line is FIFO). */
static void constant_delay_is_exact_and_fifo(void **state)
{
	struct stats st;
	uint64_t worst = 0;
	int late = 0;

	(void)state;
	st = jitter_run(20 * MS_NS, 0, FL_DIST_UNIFORM, 0, N);
	for (int i = 0; i < N; i++) {
		/* the program's clock was read in [t0, t1]: due - t0 is in
		 * [20 ms, 20 ms + the run's duration] */
		assert_true(S[i].due - S[i].t0 >= 20 * MS_NS);
		assert_true(S[i].due - S[i].t1 <= 20 * MS_NS);
		/* above 20 ms + 1 ms only when the run itself took that long
		 * (preempted): allowed for a handful */
		late += S[i].due - S[i].t0 > 21 * MS_NS;
		if (i)
			assert_true(S[i].due >= S[i - 1].due);
		if (S[i].due - S[i].t0 - 20 * MS_NS > worst)
			worst = S[i].due - S[i].t0 - 20 * MS_NS;
	}
	print_stats("constant 20ms", &st);
	print_message("# constant 20ms: due - t0 - 20ms at most %.1f us; %d above 1 ms\n",
		      (double)worst / 1e3, late);
	assert_true(late <= N / 100);
}

/* 2. Uniform jitter: netem's mu - sigma + rnd % (2 sigma), uniform in
 * [15 ms, 25 ms), standard deviation sigma / sqrt(3). */
static void uniform_jitter_has_the_uniform_moments(void **state)
{
	const double sd = 5 / sqrt(3);
	struct stats st;

	(void)state;
	st = jitter_run(20 * MS_NS, 5 * MS_NS, FL_DIST_UNIFORM, 0, N);
	print_stats("uniform 20ms 5ms", &st);
	assert_true(fabs(st.mean - 20) <= 0.02 * 20);
	assert_true(fabs(st.std - sd) <= 0.05 * sd);
	for (int i = 0; i < N; i++) {
		assert_true(S[i].due - S[i].t0 >= 15 * MS_NS); /* drawn >= 15 ms */
		assert_true(S[i].due - S[i].t1 < 25 * MS_NS);  /* drawn < 25 ms */
	}
	/* no dead zone: both ends are reached (within 1% of the range) */
	assert_true(st.min < 15.1 && st.max > 24.9);
}

/* 3. The tables are rescaled to mean 0 and standard deviation 8192 = one
 * sigma: the delay has mean 50 ms and standard deviation 5 ms. 20 000
 * samples: the pareto table's kurtosis is 11.4, which makes the standard
 * error of a 10 000-sample standard deviation 1.6% (a 5% bound would be 3.1
 * standard errors); with 20 000 it is 1.1% (4.4). */
/* Every delay drawn, known to be in [due - t1, due - t0], may be in
 * [lo_ms, hi_ms]. */
static int drawn_within(int n, double lo_ms, double hi_ms)
{
	for (int i = 0; i < n; i++) {
		if ((double)(S[i].due - S[i].t0) / 1e6 < lo_ms ||
		    (double)(S[i].due - S[i].t1) / 1e6 > hi_ms) {
			print_error("sample %d: drawn in [%.4f, %.4f] ms, outside [%.4f, %.4f]\n",
				    i, (double)(S[i].due - S[i].t1) / 1e6,
				    (double)(S[i].due - S[i].t0) / 1e6, lo_ms, hi_ms);
			return 0;
		}
	}
	return 1;
}

static struct stats tabled(uint32_t dist, const char *name)
{
	struct stats st = jitter_run(50 * MS_NS, 5 * MS_NS, dist, 0, 2 * N);

	print_stats(name, &st);
	assert_true(fabs(st.mean - 50) <= 0.05 * 50);
	/* far tighter in fact: the standard error of the mean is 0.035 ms */
	assert_true(fabs(st.mean - 50) <= 0.25);
	assert_true(fabs(st.std - 5) <= 0.05 * 5);
	assert_true(drawn_within(2 * N, 0, 50 + 8 * 5)); /* |t| < 65536: 8 sigma */
	return st;
}

static void normal_jitter_has_mean_and_sigma(void **state)
{
	struct stats st;

	(void)state;
	st = tabled(FL_DIST_NORMAL, "normal 50ms 5ms");
	assert_true(fabs(st.skew) < 0.1);
	/* the table reaches about +-4 sigma */
	assert_true(drawn_within(2 * N, 50 - 4.1 * 5, 50 + 4.1 * 5));
}

static void pareto_jitter_has_mean_sigma_and_a_long_right_tail(void **state)
{
	struct stats st;

	(void)state;
	st = tabled(FL_DIST_PARETO, "pareto 50ms 5ms");
	assert_true(st.max - st.mean > st.mean - st.min);
	assert_true(st.skew > 1);
	/* pareto has a floor: the table's least value is -0.77 sigma */
	assert_true(drawn_within(2 * N, 50 - 0.8 * 5, 50 + 8 * 5));
}

static void paretonormal_jitter_has_mean_sigma_and_a_right_tail(void **state)
{
	struct stats st;

	(void)state;
	st = tabled(FL_DIST_PARETONORMAL, "paretonormal 50ms 5ms");
	assert_true(st.max - st.mean > st.mean - st.min);
	assert_true(st.skew > 0.5);
}

/* 4. Correlation. netem's get_crandom() makes the random number an AR(1)
 * process, x_t = (1 - rho) u_t + rho x_{t-1}, whose lag-1 autocorrelation
 * is rho (Cov(x_t, x_{t-1}) = rho Var(x)) and whose variance shrinks to
 * (1 - rho) / (1 + rho) Var(u). A delay that is an affine function of x keeps
 * both: uniform jitter scaled as mu - sigma + x * 2 sigma / 2^32 has lag-1
 * autocorrelation rho and standard deviation sqrt((1 - rho) / (1 + rho))
 * sigma / sqrt(3) (1.667 ms at 50%, 0.662 ms at 90%, for 5 ms). netem's
 * rnd % (2 sigma) keeps only the low bits of x, which (1 - rho) u_t stirs by
 * (1 - rho) 2^32 / (2 sigma) periods (43 at 90%, 5 ms): its correlation is
 * lost (r = 0.00 at 50% and 90%). Uncorrelated, r is within 0.05 of 0 (its
 * standard error is 0.01). */
static void uniform_jitter_without_correlation_is_uncorrelated(void **state)
{
	struct stats st;

	(void)state;
	st = jitter_run(20 * MS_NS, 5 * MS_NS, FL_DIST_UNIFORM, 0, N);
	print_stats("uniform corr 0", &st);
	assert_true(fabs(st.r1) < 0.05);
}

static void uniform_jitter_correlation_carries_over(void **state)
{
	const uint32_t corr[] = {FL_PPB_100 / 2, FL_PPB_100 / 10 * 9};
	const double rho[] = {0.5, 0.9};
	struct stats st[2];

	(void)state;
	for (int k = 0; k < 2; k++) {
		char what[64];

		st[k] = jitter_run(20 * MS_NS, 5 * MS_NS, FL_DIST_UNIFORM, corr[k], N);
		snprintf(what, sizeof(what), "uniform corr %.0f%%", rho[k] * 100);
		print_stats(what, &st[k]);
		print_message("# uniform corr %.0f%%: expected r %.2f std %.4f ms\n", rho[k] * 100,
			      rho[k], sqrt((1 - rho[k]) / (1 + rho[k])) * 5 / sqrt(3));
	}
	for (int k = 0; k < 2; k++) {
		double sd = sqrt((1 - rho[k]) / (1 + rho[k])) * 5 / sqrt(3);

		assert_true(fabs(st[k].r1 - rho[k]) < 0.05);
		assert_true(fabs(st[k].mean - 20) <= 0.02 * 20);
		/* correlated samples: the standard error of the standard
		 * deviation is 2% at 90%, not 0.7% */
		assert_true(fabs(st[k].std - sd) <= 0.1 * sd);
	}
}

/* With a table, the index is the top 12 bits of the correlated number, so
 * the correlation carries over (netem's rnd % 4096 would lose it). */
static void normal_jitter_correlation_carries_over(void **state)
{
	struct stats st;

	(void)state;
	st = jitter_run(50 * MS_NS, 5 * MS_NS, FL_DIST_NORMAL, FL_PPB_100 / 10 * 9, N);
	print_stats("normal corr 90%", &st);
	assert_true(st.r1 > 0.3);
	/* in fact rho itself: the table is monotone in the index */
	assert_true(fabs(st.r1 - 0.9) < 0.05);
}

/* 5. Reorder: a packet goes at once, undelayed (PASS), with probability
 * 25% when gap is 1 (netem's default with reorder). */
static void reorder_sends_a_share_at_once(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS);
	const double pr = 0.25;
	struct fl_counters c;
	struct pkt p;
	int id, passed = 0, delayed = 0;

	(void)state;
	s.delay.ns = 20 * MS_NS;
	s.reorder.ppb = FL_PPB_100 / 4;
	id = add(&s);
	v4udp(&p, 1, PORT);
	draw(FL_DIR_EGRESS, &p, N, S);
	for (int i = 0; i < N; i++) {
		if (S[i].verdict == PASS) {
			assert_int_equal(S[i].nrec, 0);
			passed++;
		} else {
			assert_int_equal(S[i].verdict, DROP);
			assert_int_equal(S[i].nrec, 1);
			delayed++;
		}
	}
	c = counters(id);
	print_message("# reorder 25%%: passed %d delayed %d of %d (expected %.0f +- %.0f)\n",
		      passed, delayed, N, N * pr, 3.29 * sqrt(N * pr * (1 - pr)));
	assert_int_equal(c.reordered, passed);
	assert_int_equal(c.delayed, delayed);
	assert_int_equal(c.delay_overflow, 0);
	assert_true(fabs(passed - N * pr) <= 3.29 * sqrt(N * pr * (1 - pr)));
}

static void reorder_gap_5_passes_every_fifth(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS);
	struct pkt p;
	int id, n = 1000;

	(void)state;
	s.delay.ns = 20 * MS_NS;
	s.reorder.ppb = FL_PPB_100;
	s.reorder.gap = 5;
	id = add(&s);
	v4udp(&p, 1, PORT);
	draw(FL_DIR_EGRESS, &p, n, S);
	for (int i = 0; i < n; i++) {
		if (i % 5 == 4) {
			assert_int_equal(S[i].verdict, PASS);
			assert_int_equal(S[i].nrec, 0);
		} else {
			assert_int_equal(S[i].verdict, DROP);
			assert_int_equal(S[i].nrec, 1);
		}
	}
	assert_int_equal(counters(id).reordered, n / 5);
	assert_int_equal(counters(id).delayed, n - n / 5);
	print_message("# reorder 100%% gap 5: %d delayed, %d passed: D D D D P\n", n - n / 5,
		      n / 5);
}

static void reorder_without_delay_is_refused(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS);
	int id = -1;

	(void)state;
	s.reorder.ppb = FL_PPB_100 / 4;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), 60 * SEC_NS, &id), -EINVAL);
	s.loss.ppb = FL_PPB_100 / 10; /* another action does not make it valid */
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), 60 * SEC_NS, &id), -EINVAL);
}

/* 6. Ingress delay: the record says to re-inject the frame into the
 * device's ingress; bpf_prog_test_run runs on lo. */
static void ingress_delay_record_carries_the_flag_and_device(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_INGRESS);
	unsigned lo = if_nametoindex("lo");
	struct pkt p;
	int id;

	(void)state;
	assert_true(lo != 0);
	s.delay.ns = 20 * MS_NS;
	/* attaches fl_reinject to lo's egress: removed when the engine closes */
	id = add(&s);
	v4udp(&p, 1, PORT);
	draw(FL_DIR_INGRESS, &p, 10, S);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(S[i].verdict, DROP);
		assert_int_equal(S[i].nrec, 1);
		assert_true(S[i].frame_ok);
		assert_true(S[i].flags & FL_DELAY_F_INGRESS);
		assert_int_equal(S[i].ifindex, lo);
		assert_true(S[i].due - S[i].t0 >= 20 * MS_NS);
	}
	print_message("# ingress: flags 0x%x ifindex %u (lo %u)\n", S[0].flags, S[0].ifindex, lo);
	/* the ingress rule leaves egress alone */
	draw(FL_DIR_EGRESS, &p, 1, S);
	assert_int_equal(S[0].verdict, PASS);
	assert_int_equal(S[0].nrec, 0);
	assert_int_equal(counters(id).delayed, 10);
	assert_int_equal(fl_engine__remove_rule(E, id), 0);

	s.dir_mask = FL_DIRMASK_EGRESS;
	id = add(&s);
	draw(FL_DIR_EGRESS, &p, 10, S);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(S[i].verdict, DROP);
		assert_int_equal(S[i].nrec, 1);
		assert_false(S[i].flags & FL_DELAY_F_INGRESS);
		assert_int_equal(S[i].ifindex, lo);
	}
	print_message("# egress: flags 0x%x ifindex %u\n", S[0].flags, S[0].ifindex);
}

/* 7. fl_reinject, on lo's egress: a frame the delay line marked for a
 * device's ingress is redirected there (TC_ACT_REDIRECT; test_run does not
 * carry the redirect out) with only FL_DELAY_MARK left; anything else passes
 * untouched. */
static uint32_t reinject(uint32_t mark_in, uint32_t *mark_out)
{
	struct __sk_buff ctx = {.mark = mark_in};
	struct pkt p;
	int r;

	v4udp(&p, 1, PORT);
	{
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.b, .data_size_in = p.len,
				    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
				    .ctx_size_out = sizeof(ctx));

		r = bpf_prog_test_run_opts(fl_engine__reinject_fd(E), &o);
		if (r)
			print_error("test_run of fl_reinject, mark 0x%x: %d\n", mark_in, r);
		assert_int_equal(r, 0);
		*mark_out = ctx.mark;
		return o.retval;
	}
}

static void reinject_redirects_only_marked_frames(void **state)
{
	const uint32_t others[] = {
	    0, FL_REINJECT_MARK | 1, FL_DELAY_MARK | 1, FL_REINJECT_MARK, FL_DELAY_MARK, 5};
	uint32_t lo = if_nametoindex("lo"), mark, v;

	(void)state;
	assert_true(lo != 0);
	v = reinject(FL_DELAY_MARK | FL_REINJECT_MARK | lo, &mark);
	print_message("# reinject: mark 0x%x -> retval %u, mark 0x%x\n",
		      FL_DELAY_MARK | FL_REINJECT_MARK | lo, v, mark);
	assert_int_equal(v, TC_REDIRECT);
	assert_int_equal(mark, FL_DELAY_MARK);
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		v = reinject(others[i], &mark);
		assert_int_equal(v, PASS);
		assert_int_equal(mark, others[i]);
	}
}

/* 8. With a seed the delays are a function of the packet sequence (on one
 * CPU): two runs draw the same delays; another seed draws others. The
 * delays are known to within the runs' durations. */
static void seeded_delays_repeat(uint64_t seed, struct sample *out, int n)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS);
	struct pkt p;
	int id;

	s.delay.ns = 20 * MS_NS;
	s.delay.jitter_ns = 5 * MS_NS;
	s.delay.corr_ppb = FL_PPB_100 / 4;
	s.has_seed = 1;
	s.seed = seed;
	id = add(&s);
	v4udp(&p, 1, PORT);
	draw(FL_DIR_EGRESS, &p, n, out);
	assert_all_delayed(out, n, id);
	assert_int_equal(fl_engine__remove_rule(E, id), 0);
}

static void same_seed_gives_the_same_delays(void **state)
{
	const int n = 1000;
	struct sample *a = S, *b = S + n, *c = S + 2 * n;
	double worst = 0;
	int same_other = 0;

	(void)state;
	assert_true(3 * n <= 2 * N);
	seeded_delays_repeat(7, a, n);
	seeded_delays_repeat(7, b, n);
	seeded_delays_repeat(8, c, n);
	for (int i = 0; i < n; i++) {
		/* each delay is within [due - t1, due - t0] */
		double tol = (double)(a[i].t1 - a[i].t0 + b[i].t1 - b[i].t0) / 1e6 / 2 + 0.001;
		double diff = fabs(delay_ms(&a[i]) - delay_ms(&b[i]));

		assert_true(diff <= tol);
		worst = fmax(worst, diff);
		same_other += fabs(delay_ms(&a[i]) - delay_ms(&c[i])) <= tol;
	}
	print_message("# seed 7 twice: largest difference %.1f us; seed 8: %d of %d alike\n",
		      worst * 1e3, same_other, n);
	assert_true(same_other < n / 20);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(constant_delay_is_exact_and_fifo),
	    T(uniform_jitter_has_the_uniform_moments),
	    T(normal_jitter_has_mean_and_sigma),
	    T(pareto_jitter_has_mean_sigma_and_a_long_right_tail),
	    T(paretonormal_jitter_has_mean_sigma_and_a_right_tail),
	    T(uniform_jitter_without_correlation_is_uncorrelated),
	    T(uniform_jitter_correlation_carries_over),
	    T(normal_jitter_correlation_carries_over),
	    T(reorder_sends_a_share_at_once),
	    T(reorder_gap_5_passes_every_fifth),
	    T(reorder_without_delay_is_refused),
	    T(ingress_delay_record_carries_the_flag_and_device),
	    T(reinject_redirects_only_marked_frames),
	    T(same_seed_gives_the_same_delays),
	};
	cpu_set_t one;

	/* the random processes' state is per CPU */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return 1;
	return cmocka_run_group_tests_name("delay", tests, NULL, NULL);
}
