/*
 * tests/bpf/test_rank.c - classifiers stacked on one hook (faultline/rule.h,
 * FL_RANK_*): a frame re-emitted by the classifier of rank r (a duplicate,
 * FL_DUP_MARK, or a delayed frame, FL_DELAY_MARK, with r in the rank bits)
 * passes every classifier of rank k <= r untouched, mark and bytes and
 * counters, and is classified like any packet by those of rank k > r; rank
 * bits without either mark bit mean nothing. The duplicate a classifier
 * makes, and the frame its delay line sends, carry its own rank; fl_reinject
 * keeps the rank bits; an engine opened with rank 0 has rank 1, and one above
 * FL_RANK_MAX has FL_RANK_MAX.
 *
 * Each engine runs in test_run only (nothing attached). The marks of the
 * frames the kernel really sends (the duplicate's bpf_clone_redirect() on lo,
 * the delay line's packet socket) are read by a packet socket on lo whose
 * classic BPF filter loads the mark (SKF_AD_MARK) and accepts a frame only
 * when it is the expected one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "tests/lib/bpf_test.h"

#define TC_REDIRECT 7u /* TC_ACT_REDIRECT: fl_reinject's verdict */
#define PORT	    7777
#define LOW	    0x42u /* an application's bits of the mark, below the rank */

static uint32_t rank_bits(uint32_t r)
{
	return r << FL_RANK_SHIFT;
}

/* ------------------------------------------------------------------ */
/* Engines of a given rank, closed by teardown whatever happens          */

#define MAX_ENGINES 8
static struct fl_engine *engines[MAX_ENGINES];
static int n_engines;

static struct fl_engine *open_opts(const struct fl_engine_opts *o)
{
	struct fl_engine *e = NULL;
	int r;

	assert_true(n_engines < MAX_ENGINES);
	r = fl_engine__open(o, &e);
	if (r)
		print_error("fl_engine__open(rank %u): %d\n", o ? o->rank : 0, r);
	assert_int_equal(r, 0);
	engines[n_engines++] = e;
	return e;
}

/* An engine of rank `rank` without a delay-line thread. */
static struct fl_engine *open_rank(unsigned rank)
{
	struct fl_engine_opts o = {.sz = sizeof(o), .rank = rank, .no_delay_line = 1};

	return open_opts(&o);
}

static int teardown_all(void **state)
{
	while (n_engines > 0) {
		fl_engine__close(engines[--n_engines]);
		engines[n_engines] = NULL;
	}
	return teardown(state);
}

static int add_to(struct fl_engine *e, const struct fl_rule_spec *s)
{
	int id = -1;

	assert_int_equal(fl_engine__add_rule(e, s, fl_now_ns(), 60 * SEC_NS, &id), 0);
	return id;
}

static struct fl_counters counters_of(struct fl_engine *e, int id)
{
	struct fl_counters c;

	assert_int_equal(fl_engine__counters(e, id, &c), 0);
	return c;
}

/* A rule that drops every UDP packet to or from PORT in dirs (blackhole). */
static struct fl_rule_spec loss_all(unsigned dirs)
{
	return spec(dirs, FL_PROTO_UDP, PORT, FL_PPB_100);
}

/* ------------------------------------------------------------------ */
/* A run with a mark                                                    */

/* One run of prog_fd on p with ctx.mark = mark_in: the verdict; the mark
 * after the run in *mark_out, the packet after it in last_out. */
static uint32_t run_marked(int prog_fd, const struct pkt *p, uint32_t mark_in, uint32_t *mark_out)
{
	struct __sk_buff ctx = {.mark = mark_in};
	DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->b, .data_size_in = p->len,
			    .data_out = last_out.b, .data_size_out = sizeof(last_out.b),
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
			    .ctx_size_out = sizeof(ctx));
	int r = bpf_prog_test_run_opts(prog_fd, &o);

	if (r)
		print_error("test_run with mark 0x%08x: %d\n", mark_in, r);
	assert_int_equal(r, 0);
	last_out.len = o.data_size_out;
	*mark_out = ctx.mark;
	return o.retval;
}

/* The classifier of engine e in direction dir on p with mark m: asserts
 * that it passes the frame untouched (bytes, mark, every counter of rule id)
 * when pass, else that rule id drops it and counts it once. */
static void expect(struct fl_engine *e, int id, int dir, const struct pkt *p, uint32_t m, int pass)
{
	struct fl_counters before = counters_of(e, id), after;
	uint32_t v, out = 0;

	v = run_marked(fl_engine__prog_fd(e, dir), p, m, &out);
	after = counters_of(e, id);
	if (v != (pass ? PASS : DROP))
		print_error("dir %d mark 0x%08x: verdict %u, expected %s\n", dir, m, v,
			    pass ? "PASS" : "DROP");
	assert_int_equal(v, pass ? PASS : DROP);
	if (pass) {
		assert_int_equal(out, m); /* nothing clears it */
		assert_int_equal(last_out.len, p->len);
		assert_memory_equal(last_out.b, p->b, p->len);
		assert_memory_equal(&after, &before, sizeof(after));
	} else {
		assert_int_equal(after.matched, before.matched + 1);
		assert_int_equal(after.dropped, before.dropped + 1);
		assert_int_equal(after.bytes, before.bytes + p->len);
		assert_int_equal(after.expired, before.expired);
		assert_int_equal(after.duplicated, before.duplicated);
		assert_int_equal(after.delayed, before.delayed);
	}
}

/* ------------------------------------------------------------------ */
/* 1. The matrix: ranks k = 1..3 against frames of rank r = 0..3         */

static void loss_matrix(uint32_t bit)
{
	const int dirs[] = {FL_DIR_EGRESS, FL_DIR_INGRESS};
	const uint32_t lows[] = {0, LOW};
	struct fl_engine *e[4];
	int id[4], dropped[4] = {0};
	struct pkt p4, p6;

	ipv4(&p4, 17, 40000, PORT, 0);
	ipv6(&p6, 17, 40000, PORT, NULL, 0);
	for (unsigned k = 1; k <= 3; k++) {
		struct fl_rule_spec s = loss_all(FL_DIRMASK_BOTH);

		e[k] = open_rank(k);
		id[k] = add_to(e[k], &s);
	}
	for (unsigned k = 1; k <= 3; k++)
		for (int d = 0; d < 2; d++)
			for (uint32_t r = 0; r <= 3; r++)
				for (int l = 0; l < 2; l++) {
					uint32_t m = bit | rank_bits(r) | lows[l];

					expect(e[k], id[k], dirs[d], &p4, m, k <= r);
					expect(e[k], id[k], dirs[d], &p6, m, k <= r);
					dropped[k] += k > r ? 2 : 0;
				}
	for (unsigned k = 1; k <= 3; k++) {
		struct fl_counters c = counters_of(e[k], id[k]);

		print_message("# mark bit 0x%08x, rank %u: dropped %llu of 32 (ranks 0..%u)\n", bit,
			      k, (unsigned long long)c.dropped, k - 1);
		assert_int_equal(c.dropped, dropped[k]);
		assert_int_equal(c.matched, dropped[k]);
		/* rank k drops the frames of the k ranks 0..k-1: 2 dirs x 2
		 * low marks x 2 families each */
		assert_int_equal(dropped[k], 8 * (int)k);
	}
}

static void delay_marked_frames_pass_up_to_their_rank(void **state)
{
	(void)state;
	loss_matrix(FL_DELAY_MARK);
}

static void dup_marked_frames_pass_up_to_their_rank(void **state)
{
	(void)state;
	loss_matrix(FL_DUP_MARK);
}

static void dup_and_delay_marked_frames_pass_up_to_their_rank(void **state)
{
	(void)state;
	loss_matrix(FL_DUP_MARK | FL_DELAY_MARK);
}

/* 2. Rank bits alone (or with the reinject bit only) are an ordinary mark. */
static void rank_bits_without_dup_or_delay_mean_nothing(void **state)
{
	const uint32_t marks[] = {
	    rank_bits(3),
	    rank_bits(3) | LOW,
	    FL_RANK_MASK,
	    FL_RANK_MASK | LOW,
	    FL_REINJECT_MARK | rank_bits(3),
	    FL_REINJECT_MARK | FL_RANK_MASK | 1,
	};
	struct pkt p;

	(void)state;
	ipv4(&p, 17, 40000, PORT, 0);
	for (unsigned k = 1; k <= 3; k++) {
		struct fl_engine *e = open_rank(k);
		struct fl_rule_spec s = loss_all(FL_DIRMASK_BOTH);
		int id = add_to(e, &s);

		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
			expect(e, id, FL_DIR_EGRESS, &p, marks[i], 0);
			expect(e, id, FL_DIR_INGRESS, &p, marks[i], 0);
		}
	}
}

/* 3. Rank 0 (and no options at all) is rank 1; above FL_RANK_MAX is
 * FL_RANK_MAX. Seen through behaviour: rank 1 drops frames of rank 0 and
 * passes those of rank 1; rank FL_RANK_MAX drops rank FL_RANK_MAX - 1 and
 * passes FL_RANK_MAX (an unclamped rank 32 would drop it: 32 > 31). */
static void rank_0_is_1_and_ranks_above_the_max_clamp(void **state)
{
	const unsigned big[] = {FL_RANK_MAX, FL_RANK_MAX + 1, 40, 255, UINT_MAX};
	struct fl_rule_spec s = loss_all(FL_DIRMASK_EGRESS);
	struct pkt p;
	int id;

	(void)state;
	ipv4(&p, 17, 40000, PORT, 0);
	/* E: fl_engine__open(NULL, ...) */
	id = add(s);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP); /* an unmarked frame */
	expect(E, id, FL_DIR_EGRESS, &p, FL_DELAY_MARK | rank_bits(0), 0);
	expect(E, id, FL_DIR_EGRESS, &p, FL_DELAY_MARK | rank_bits(1), 1);
	expect(E, id, FL_DIR_EGRESS, &p, FL_DUP_MARK | rank_bits(0), 0);
	expect(E, id, FL_DIR_EGRESS, &p, FL_DUP_MARK | rank_bits(1), 1);
	assert_int_equal(counters(id).dropped, 3);
	{
		struct fl_engine *e = open_rank(0);

		id = add_to(e, &s);
		expect(e, id, FL_DIR_EGRESS, &p, FL_DELAY_MARK | rank_bits(0), 0);
		expect(e, id, FL_DIR_EGRESS, &p, FL_DELAY_MARK | rank_bits(1), 1);
		expect(e, id, FL_DIR_EGRESS, &p, FL_DUP_MARK | rank_bits(0), 0);
		expect(e, id, FL_DIR_EGRESS, &p, FL_DUP_MARK | rank_bits(1), 1);
	}
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		struct fl_engine *e = open_rank(big[i]);
		const uint32_t bits[] = {FL_DELAY_MARK, FL_DUP_MARK};

		id = add_to(e, &s);
		for (int b = 0; b < 2; b++) {
			expect(e, id, FL_DIR_EGRESS, &p, bits[b] | rank_bits(0), 0);
			expect(e, id, FL_DIR_EGRESS, &p, bits[b] | rank_bits(FL_RANK_MAX - 1), 0);
			expect(e, id, FL_DIR_EGRESS, &p, bits[b] | rank_bits(FL_RANK_MAX), 1);
			expect(e, id, FL_DIR_EGRESS, &p, bits[b] | rank_bits(FL_RANK_MAX) | LOW, 1);
		}
		fl_engine__close(engines[--n_engines]);
		engines[n_engines] = NULL;
	}
}

/* ------------------------------------------------------------------ */
/* Reading the marks of the frames the kernel sends on lo               */

/* A packet socket on lo that receives only frames whose mark is want. The
 * filter is attached before the socket is bound, so that nothing unfiltered
 * is queued. */
static int capture_open(uint32_t want)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_MARK)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, want, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 0xffff),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct timeval tv = {.tv_sec = 0, .tv_usec = 20000};
	int fd = socket(AF_PACKET, SOCK_RAW, 0);

	assert_true(fd >= 0);
	sll.sll_ifindex = (int)if_nametoindex("lo");
	assert_true(sll.sll_ifindex > 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return fd;
}

/* Whether a frame with p's bytes arrives on fd within tries * 20 ms. */
static int captured(int fd, const struct pkt *p, int tries)
{
	uint8_t buf[512];

	for (int i = 0; i < tries; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == (ssize_t)p->len && !memcmp(buf, p->b, p->len))
			return 1;
	}
	return 0;
}

/* A UDP frame to PORT, told apart from any other frame on lo by its last
 * payload byte. */
static void tagged(struct pkt *p, uint8_t tag)
{
	ipv4(p, 17, 40000, PORT, 0);
	p->b[p->len - 1] = tag;
}

/* 4. A duplicate rule at 100% on a classifier of rank 2: the copy carries
 * FL_DUP_MARK and rank 2 (the rest of the mark kept, an older rank
 * replaced); the original leaves with its mark as it came; a frame of rank
 * >= 2 is not duplicated again. In both directions: the copy goes out of, or
 * into, lo (where test_run runs the program). */
static void duplicate_copy_carries_its_classifiers_rank(void **state)
{
	const int dirs[] = {FL_DIR_EGRESS, FL_DIR_INGRESS};
	struct fl_engine *e;
	uint8_t tag = 0x10;
	int id;

	(void)state;
	e = open_rank(2);
	{
		struct fl_rule_spec s = spec(FL_DIRMASK_BOTH, FL_PROTO_UDP, PORT, 0);

		s.duplicate.ppb = FL_PPB_100;
		id = add_to(e, &s);
	}
	for (int d = 0; d < 2; d++) {
		const struct {
			uint32_t in, copy;
		} cases[] = {
		    {0, FL_DUP_MARK | rank_bits(2)},
		    {LOW, FL_DUP_MARK | rank_bits(2) | LOW},
		    /* re-emitted by rank 1: classified here, the copy says 2 */
		    {FL_DELAY_MARK | rank_bits(1) | LOW,
		     FL_DELAY_MARK | FL_DUP_MARK | rank_bits(2) | LOW},
		    {FL_DUP_MARK | rank_bits(1), FL_DUP_MARK | rank_bits(2)},
		    {FL_DUP_MARK | rank_bits(0) | LOW, FL_DUP_MARK | rank_bits(2) | LOW},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			/* a control: the same copy with rank 1 or 3 is not seen,
			 * nor one with the mark unchanged */
			int fd = capture_open(cases[i].copy),
			    fd1 = capture_open((cases[i].copy & ~FL_RANK_MASK) | rank_bits(1)),
			    fd3 = capture_open((cases[i].copy & ~FL_RANK_MASK) | rank_bits(3)),
			    fd_in = capture_open(cases[i].in);
			struct fl_counters before = counters_of(e, id);
			uint32_t out = 0;
			struct pkt p;
			int seen, seen_other;

			tagged(&p, tag++);
			assert_int_equal(
			    run_marked(fl_engine__prog_fd(e, dirs[d]), &p, cases[i].in, &out),
			    PASS);
			seen = captured(fd, &p, 10);
			seen_other =
			    captured(fd1, &p, 1) + captured(fd3, &p, 1) + captured(fd_in, &p, 1);
			close(fd);
			close(fd1);
			close(fd3);
			close(fd_in);
			assert_int_equal(seen_other, 0);
			print_message("# rank 2 dir %d: mark 0x%08x -> copy with mark 0x%08x %s\n",
				      dirs[d], cases[i].in, cases[i].copy,
				      seen ? "seen" : "NOT seen");
			assert_int_equal(out, cases[i].in); /* the original keeps its mark */
			assert_int_equal(counters_of(e, id).duplicated, before.duplicated + 1);
			assert_true(seen);
		}
		/* a frame of rank >= 2 passes untouched: no copy */
		for (uint32_t r = 2; r <= 3; r++) {
			struct fl_counters before = counters_of(e, id);
			uint32_t m = FL_DUP_MARK | rank_bits(r) | LOW, out = 0;
			int fd = capture_open(FL_DUP_MARK | rank_bits(2) | LOW);
			struct pkt p;
			int seen;

			tagged(&p, tag++);
			assert_int_equal(run_marked(fl_engine__prog_fd(e, dirs[d]), &p, m, &out),
					 PASS);
			seen = captured(fd, &p, 3);
			close(fd);
			assert_int_equal(out, m);
			{
				struct fl_counters after = counters_of(e, id);

				assert_memory_equal(&after, &before, sizeof(after));
			}
			assert_false(seen);
		}
	}
}

/* The copy made by a classifier opened with a rank above the max says
 * FL_RANK_MAX. */
static void duplicate_copy_of_a_clamped_rank_says_the_max(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, PORT, 0);
	struct fl_engine *e;
	uint32_t out = 0;
	struct pkt p;
	int fd, fd0, id, seen;

	(void)state;
	e = open_rank(40);
	s.duplicate.ppb = FL_PPB_100;
	id = add_to(e, &s);
	fd = capture_open(FL_DUP_MARK | rank_bits(FL_RANK_MAX));
	fd0 = capture_open(FL_DUP_MARK | rank_bits(40 & (FL_RANK_MASK >> FL_RANK_SHIFT)));
	tagged(&p, 0x70);
	assert_int_equal(run_marked(fl_engine__prog_fd(e, FL_DIR_EGRESS), &p, 0, &out), PASS);
	seen = captured(fd, &p, 10);
	assert_false(captured(fd0, &p, 1)); /* not 40 truncated to 5 bits */
	close(fd);
	close(fd0);
	assert_int_equal(counters_of(e, id).duplicated, 1);
	assert_true(seen);
}

/* ------------------------------------------------------------------ */
/* 5. A delay rule acts on frames below its rank only                    */

static int n_records;

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	(void)data;
	(void)size;
	n_records++;
	return 0;
}

static void delay_rule_delays_only_frames_below_its_rank(void **state)
{
	struct ring_buffer *rb[4] = {NULL};
	struct fl_engine *e[4];
	int id[4];
	struct pkt p;

	(void)state;
	ipv4(&p, 17, 40000, PORT, 0);
	for (unsigned k = 1; k <= 3; k++) {
		struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, PORT, 0);

		s.delay.ns = 20000000;
		e[k] = open_rank(k);
		id[k] = add_to(e[k], &s);
		rb[k] = ring_buffer__new(fl_engine__delay_ring_fd(e[k]), on_record, NULL, NULL);
		assert_non_null(rb[k]);
	}
	for (unsigned k = 1; k <= 3; k++)
		for (int b = 0; b < 2; b++)
			for (uint32_t r = 0; r <= 3; r++) {
				uint32_t m = (b ? FL_DUP_MARK : FL_DELAY_MARK) | rank_bits(r) | LOW;
				struct fl_counters before = counters_of(e[k], id[k]), after;
				uint32_t v, out = 0;

				n_records = 0;
				v = run_marked(fl_engine__prog_fd(e[k], FL_DIR_EGRESS), &p, m,
					       &out);
				assert_true(ring_buffer__consume(rb[k]) >= 0);
				after = counters_of(e[k], id[k]);
				if (k <= r) {
					assert_int_equal(v, PASS);
					assert_int_equal(out, m);
					assert_int_equal(n_records, 0);
					assert_memory_equal(&after, &before, sizeof(after));
				} else {
					assert_int_equal(v, DROP); /* the sink */
					assert_int_equal(n_records, 1);
					assert_int_equal(after.delayed, before.delayed + 1);
					assert_int_equal(after.matched, before.matched + 1);
				}
			}
	for (unsigned k = 1; k <= 3; k++) {
		assert_int_equal(counters_of(e[k], id[k]).delayed, 2 * k);
		ring_buffer__free(rb[k]);
	}
}

/* 6. The frame the delay line sends again carries FL_DELAY_MARK and its
 * classifier's rank (an engine with its delay-line thread). */
static void delay_line_sends_with_its_rank(void **state)
{
	struct fl_engine_opts o = {.sz = sizeof(o), .rank = 2};
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, PORT, 0);
	struct fl_engine *e;
	uint32_t out = 0;
	struct pkt p;
	int fd, fd1, id, seen;

	(void)state;
	e = open_opts(&o);
	s.delay.ns = 5000000; /* 5 ms */
	id = add_to(e, &s);
	fd = capture_open(FL_DELAY_MARK | rank_bits(2));
	fd1 = capture_open(FL_DELAY_MARK | rank_bits(1)); /* a control */
	tagged(&p, 0x80);
	assert_int_equal(run_marked(fl_engine__prog_fd(e, FL_DIR_EGRESS), &p, 0, &out), DROP);
	seen = captured(fd, &p, 20);
	assert_false(captured(fd1, &p, 1));
	close(fd);
	close(fd1);
	print_message("# delay line of rank 2: frame with mark 0x%08x %s\n",
		      FL_DELAY_MARK | rank_bits(2), seen ? "seen" : "NOT seen");
	assert_int_equal(counters_of(e, id).delayed, 1);
	assert_true(seen);
	/* that frame coming around again passes its own classifier */
	expect(e, id, FL_DIR_EGRESS, &p, FL_DELAY_MARK | rank_bits(2), 1);
}

/* ------------------------------------------------------------------ */
/* 7. fl_reinject keeps the rank                                         */

static void reinject_keeps_the_rank_bits(void **state)
{
	uint32_t lo = if_nametoindex("lo"), out = 0;
	struct fl_engine *e[4];
	int id[4];
	struct pkt p;

	(void)state;
	assert_true(lo != 0);
	ipv4(&p, 17, 40000, PORT, 0);
	for (unsigned k = 1; k <= 3; k++) {
		struct fl_rule_spec s = loss_all(FL_DIRMASK_INGRESS);

		e[k] = open_rank(k);
		id[k] = add_to(e[k], &s);
	}
	/* the case of the brief, exactly */
	assert_int_equal(run_marked(fl_engine__reinject_fd(E), &p,
				    FL_DELAY_MARK | FL_REINJECT_MARK | rank_bits(2) | lo, &out),
			 TC_REDIRECT);
	assert_int_equal(out, FL_DELAY_MARK | rank_bits(2));
	for (uint32_t r = 0; r <= FL_RANK_MAX; r++) {
		uint32_t in = FL_DELAY_MARK | FL_REINJECT_MARK | rank_bits(r) | lo;

		assert_int_equal(run_marked(fl_engine__reinject_fd(E), &p, in, &out), TC_REDIRECT);
		assert_int_equal(out, FL_DELAY_MARK | rank_bits(r));
		/* and the classifiers on the device's ingress judge it by it */
		if (r <= 3)
			for (unsigned k = 1; k <= 3; k++)
				expect(e[k], id[k], FL_DIR_INGRESS, &p, out, k <= r);
	}
	/* not both reinject and delay bits: untouched, whatever the rank */
	{
		const uint32_t others[] = {
		    FL_REINJECT_MARK | rank_bits(2) | lo,
		    FL_DUP_MARK | FL_REINJECT_MARK | rank_bits(2) | lo,
		    FL_DELAY_MARK | rank_bits(2) | lo,
		    rank_bits(2) | lo,
		};

		for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
			assert_int_equal(run_marked(fl_engine__reinject_fd(E), &p, others[i], &out),
					 PASS);
			assert_int_equal(out, others[i]);
		}
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown_all)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(delay_marked_frames_pass_up_to_their_rank),
	    T(dup_marked_frames_pass_up_to_their_rank),
	    T(dup_and_delay_marked_frames_pass_up_to_their_rank),
	    T(rank_bits_without_dup_or_delay_mean_nothing),
	    T(rank_0_is_1_and_ranks_above_the_max_clamp),
	    T(duplicate_copy_carries_its_classifiers_rank),
	    T(duplicate_copy_of_a_clamped_rank_says_the_max),
	    T(delay_rule_delays_only_frames_below_its_rank),
	    T(delay_line_sends_with_its_rank),
	    T(reinject_keeps_the_rank_bits),
	};

	return cmocka_run_group_tests_name("rank", tests, NULL, NULL);
}
