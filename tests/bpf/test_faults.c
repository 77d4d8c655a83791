/*
 * tests/bpf/test_faults.c - the rule engine's targets and faults on crafted
 * packets: local/remote ports, remote prefixes, cgroups, flow shares, the
 * management guard, and the rate, loss-model, corrupt, duplicate and seed
 * behaviour of bpf/classifier.bpf.c, asserted on verdicts, output bytes and
 * counters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sched.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "tests/lib/bpf_test.h"

/* IPv4 packet from src to dst (dotted quads). */
static void v4(struct pkt *p, uint8_t proto, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport)
{
	ipv4(p, proto, sport, dport, 0);
	assert_int_equal(inet_pton(AF_INET, src, p->b + 14 + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p->b + 14 + 16), 1);
}

static void v6(struct pkt *p, uint8_t proto, const char *src, uint16_t sport, const char *dst,
	       uint16_t dport)
{
	ipv6(p, proto, sport, dport, NULL, 0);
	assert_int_equal(inet_pton(AF_INET6, src, p->b + 14 + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, p->b + 14 + 24), 1);
}

static struct fl_cidr cidr(const char *addr, int prefixlen)
{
	struct fl_cidr c = {.prefixlen = (uint8_t)prefixlen};

	c.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(c.family, addr, c.addr), 1);
	return c;
}

static struct fl_rule_spec drop_all(unsigned dirs)
{
	return spec(dirs, FL_PROTOCOL_ANY, 0, FL_PPB_100);
}

static void local_and_remote_ports_follow_the_direction(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_BOTH);
	struct pkt p;

	(void)state;
	s.local_ports.n = 1;
	s.local_ports.r[0].lo = s.local_ports.r[0].hi = 6379;
	add(s);
	/* egress: local = source port; ingress: local = destination port */
	v4(&p, 6, "10.0.0.1", 6379, "10.0.0.2", 50000);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
	v4(&p, 6, "10.0.0.2", 50000, "10.0.0.1", 6379);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), DROP);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void remote_port_range_matches_only_the_peer_side(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;

	(void)state;
	s.remote_ports.n = 1;
	s.remote_ports.r[0].lo = 8000;
	s.remote_ports.r[0].hi = 8100;
	add(s);
	v4(&p, 17, "10.0.0.1", 40000, "10.0.0.2", 8050);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	v4(&p, 17, "10.0.0.1", 8050, "10.0.0.2", 40000); /* 8050 is local here */
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void local_and_remote_ports_combine(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;

	(void)state;
	s.local_ports.n = s.remote_ports.n = 1;
	s.local_ports.r[0].lo = s.local_ports.r[0].hi = 1000;
	s.remote_ports.r[0].lo = s.remote_ports.r[0].hi = 2000;
	add(s);
	v4(&p, 17, "10.0.0.1", 1000, "10.0.0.2", 2000);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	v4(&p, 17, "10.0.0.1", 1000, "10.0.0.2", 2001);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	v4(&p, 17, "10.0.0.1", 1001, "10.0.0.2", 2000);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void remote_cidr_v4_and_v6_match_the_peer_address(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_BOTH);
	struct pkt p;

	(void)state;
	s.n_cidrs = 2;
	s.cidrs[0] = cidr("10.1.0.0", 16);
	s.cidrs[1] = cidr("fd00:1::", 64);
	add(s);
	v4(&p, 17, "10.9.0.1", 1, "10.1.2.3", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS); /* remote = source on ingress */
	v4(&p, 17, "10.1.2.3", 1, "10.9.0.1", 2);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), DROP);
	v4(&p, 17, "10.9.0.1", 1, "10.2.0.1", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	v6(&p, 17, "fd00:9::1", 1, "fd00:1::7", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	v6(&p, 17, "fd00:9::1", 1, "fd00:2::7", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void nested_prefixes_of_two_rules_both_apply(void **state)
{
	struct fl_rule_spec wide = spec(FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY, 0, 0);
	struct fl_rule_spec narrow = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;
	int w, n;

	(void)state;
	/* the /8 rule has the lower id but acts on udp only */
	wide.protocol = FL_PROTO_UDP;
	wide.n_cidrs = 1;
	wide.cidrs[0] = cidr("10.0.0.0", 8);
	narrow.n_cidrs = 1;
	narrow.cidrs[0] = cidr("10.1.0.0", 16);
	w = add(wide);
	n = add(narrow);
	/* inside both: the /8's rule wins for udp, the /16's for tcp */
	v4(&p, 17, "192.168.0.1", 1, "10.1.0.9", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(counters(w).matched, 1);
	v4(&p, 6, "192.168.0.1", 1, "10.1.0.9", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_int_equal(counters(n).matched, 1);
	/* inside the /8 only */
	v4(&p, 6, "192.168.0.1", 1, "10.2.0.9", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	/* removing the /8 rule leaves the /16 entry correct */
	assert_int_equal(fl_engine__remove_rule(E, w), 0);
	v4(&p, 17, "192.168.0.1", 1, "10.1.0.9", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void cgroup_rule_matches_the_sockets_cgroup_only(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;

	(void)state;
	/* test_run packets carry no socket: cgroup id 0 never matches */
	s.cgroup_id = 12345;
	add(s);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void share_takes_a_stable_share_of_flows(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_BOTH);
	const int flows = 4000;
	const double pr = 0.3;
	struct pkt p;
	int in = 0;

	(void)state;
	s.share_ppb = 300000000;
	add(s);
	for (int f = 0; f < flows; f++) {
		uint16_t port = (uint16_t)(10000 + f);
		uint32_t verdict;

		v4(&p, 17, "10.0.0.1", port, "10.0.0.2", 53);
		verdict = run(FL_DIR_EGRESS, &p, 1);
		/* the same flow always gets the same answer ... */
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), verdict);
		/* ... and so does its reply on ingress */
		v4(&p, 17, "10.0.0.2", 53, "10.0.0.1", port);
		assert_int_equal(run(FL_DIR_INGRESS, &p, 1), verdict);
		in += verdict == DROP;
	}
	assert_true(fabs(in - flows * pr) <= 3.29 * sqrt(flows * pr * (1 - pr)));
}

static void management_port_is_never_matched_unless_allowed(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;

	(void)state;
	add(s);
	v4(&p, 6, "10.0.0.1", 50000, "10.0.0.2", 22);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	v4(&p, 6, "10.0.0.1", 22, "10.0.0.2", 50000);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(fl_engine__protect_port(E, 8443), 0);
	v4(&p, 6, "10.0.0.1", 50000, "10.0.0.2", 8443);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	v4(&p, 6, "10.0.0.1", 50000, "10.0.0.2", 80);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void management_port_is_matched_when_allowed(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;

	(void)state;
	s.allow_management = 1;
	add(s);
	v4(&p, 6, "10.0.0.1", 50000, "10.0.0.2", 22);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void rate_policer_passes_the_burst_then_drops(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	struct fl_counters c;
	struct pkt p;
	double passed, burst_pkts;
	int id;

	(void)state;
	s.rate.bits_per_sec = 8000; /* 1000 bytes/s: nothing refills within the test */
	s.rate.burst_bytes = 10000;
	id = add(s);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	run(FL_DIR_EGRESS, &p, 1000);
	c = counters(id);
	passed = (double)(c.matched - c.rate_dropped);
	burst_pkts = 10000.0 / p.len;
	assert_int_equal(c.matched, 1000);
	assert_true(passed >= floor(burst_pkts) && passed <= ceil(burst_pkts) + 1);
}

static void gemodel_loss_has_the_stationary_rate(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	const double n = 400000, pbad = 0.05, r = 0.25;
	struct pkt p;
	double rate, want = pbad / (pbad + r);
	int id;

	(void)state;
	s.loss.model = FL_LOSS_GEMODEL;
	s.loss.p_ppb[0] = 50000000;    /* p = 5% */
	s.loss.p_ppb[1] = 250000000;   /* r = 25% */
	fl_loss_model_defaults(&s, 2); /* 1-h = 100%, 1-k = 0 */
	id = add(s);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	run(FL_DIR_EGRESS, &p, (int)n);
	rate = (double)counters(id).dropped / n;
	/* bursts make the variance larger than binomial: allow 5% relative */
	assert_true(fabs(rate - want) <= 0.05 * want);
}

static void four_state_loss_has_the_stationary_rate(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	const double n = 400000;
	/* p13 = 2%, p31 = 30%, p32 = 10%, p23 = 5%, p14 = 1% */
	const double p13 = .02, p31 = .3, p32 = .1, p23 = .05, p14 = .01;
	struct pkt p;
	double rate, want;
	int id;

	(void)state;
	s.loss.model = FL_LOSS_4STATE;
	s.loss.p_ppb[0] = 20000000;
	s.loss.p_ppb[1] = 300000000;
	s.loss.p_ppb[2] = 100000000;
	s.loss.p_ppb[3] = 50000000;
	s.loss.p_ppb[4] = 10000000;
	id = add(s);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	run(FL_DIR_EGRESS, &p, (int)n);
	rate = (double)counters(id).dropped / n;
	{
		/* stationary distribution of netem's chain (states 1..4) */
		double P[4][4] = {{1 - p13 - p14, 0, p14, p13},
				  {0, 1 - p23, 0, p23},
				  {1, 0, 0, 0},
				  {p31, p32, 0, 1 - p31 - p32}};
		double pi[4] = {1, 0, 0, 0};

		for (int it = 0; it < 10000; it++) {
			double nx[4] = {0};

			for (int i = 0; i < 4; i++)
				for (int j = 0; j < 4; j++)
					nx[j] += pi[i] * P[i][j];
			memcpy(pi, nx, sizeof(pi));
		}
		want = pi[2] + pi[3];
	}
	assert_true(fabs(rate - want) <= 0.05 * want);
}

static uint16_t csum16(const uint8_t *d, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		sum += (uint32_t)d[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP checksum of an IPv4 frame, computed from scratch. */
static uint16_t udp4_csum(const struct pkt *p)
{
	const uint8_t *ip = p->b + 14, *udp = ip + 20;
	uint32_t sum = 0;
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	uint8_t tmp[256];

	for (int i = 12; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	sum += 17 + (uint32_t)ulen;
	memcpy(tmp, udp, ulen);
	tmp[6] = tmp[7] = 0;
	return csum16(tmp, ulen, sum);
}

static int differing_bits(const struct pkt *a, const struct pkt *b, size_t *where)
{
	int bits = 0;

	for (size_t i = 0; i < a->len; i++)
		if (a->b[i] != b->b[i]) {
			bits += __builtin_popcount(a->b[i] ^ b->b[i]);
			*where = i;
		}
	return bits;
}

static void corrupt_flips_exactly_one_bit(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	struct pkt p;
	size_t where = 0;
	int id;

	(void)state;
	s.corrupt.ppb = FL_PPB_100;
	id = add(s);
	for (int i = 0; i < 50; i++) {
		v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
		assert_int_equal(last_out.len, p.len);
		assert_int_equal(differing_bits(&p, &last_out, &where), 1);
		assert_true(where >= 14);
	}
	assert_int_equal(counters(id).corrupted, 50);
}

static void corrupt_payload_keeps_the_udp_checksum_valid(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	struct pkt p;
	size_t where = 0;

	(void)state;
	s.corrupt.ppb = FL_PPB_100;
	s.corrupt.payload = 1;
	add(s);
	for (int i = 0; i < 50; i++) {
		v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
		p.b[14 + 20 + 6] = 0xff; /* a non-zero checksum: compute the real one */
		p.b[14 + 20 + 7] = 0xff;
		{
			uint16_t c = udp4_csum(&p);

			p.b[14 + 20 + 6] = (uint8_t)(c >> 8);
			p.b[14 + 20 + 7] = (uint8_t)c;
		}
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
		/* one payload bit and the checksum changed, nothing else */
		assert_true(memcmp(p.b, last_out.b, 14 + 20 + 6) == 0);
		{
			struct pkt a = p, b = last_out;

			a.b[40] = a.b[41] = b.b[40] = b.b[41] = 0;
			assert_int_equal(differing_bits(&a, &b, &where), 1);
			assert_true(where >= 14 + 20 + 8);
		}
		assert_int_equal(udp4_csum(&last_out),
				 (uint16_t)(last_out.b[40] << 8 | last_out.b[41]));
	}
}

static void duplicate_counts_its_copies_within_bound(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	const double n = 20000, pr = 0.5;
	struct pkt p;
	double dup;
	int id;

	(void)state;
	s.duplicate.ppb = 500000000;
	id = add(s);
	/* the copy goes out of the test's loopback to 10.0.0.2, which is not
	 * on this host: it is dropped by the stack */
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	assert_int_equal(run(FL_DIR_EGRESS, &p, (int)n), PASS);
	dup = (double)counters(id).duplicated;
	print_message("# duplicate 50%%: %.0f of %.0f, 99.9%% interval [%.0f, %.0f]\n", dup, n,
		      n * pr - 3.29 * sqrt(n * pr * (1 - pr)),
		      n * pr + 3.29 * sqrt(n * pr * (1 - pr)));
	assert_true(fabs(dup - n * pr) <= 3.29 * sqrt(n * pr * (1 - pr)));
}

static void duplicate_copy_is_not_classified_again(void **state)
{
	struct fl_rule_spec s = drop_all(FL_DIRMASK_EGRESS);
	struct pkt p;
	int id;

	(void)state;
	id = add(s);
	(void)id;
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	/* a frame carrying the duplicate mark of this classifier's rank (1,
	 * the default) passes, its mark untouched (faultline/rule.h) */
	{
		const uint32_t mark = FL_DUP_MARK | (1u << FL_RANK_SHIFT) | 5;
		struct __sk_buff ctx = {.mark = mark};
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.b, .data_size_in = p.len,
				    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
				    .ctx_size_out = sizeof(ctx));

		assert_int_equal(bpf_prog_test_run_opts(fl_engine__prog_fd(E, FL_DIR_EGRESS), &o),
				 0);
		assert_int_equal(o.retval, PASS);
		assert_int_equal(ctx.mark, mark);
	}
}

/* The delay action: the original is sunk (the verdict of a silent drop),
 * and the delay line sends the same bytes again on the device at the due
 * time. bpf_prog_test_run_opts() runs the program on the loopback device,
 * so the copy is captured there. */
static void delay_sinks_the_frame_and_resends_it_after_the_delay(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = 1};
	struct fl_delay_stats d;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};
	uint8_t buf[512];
	uint64_t t0, t_seen = 0;
	struct pkt p;
	int id, fd;

	(void)state;
	s.delay.ns = 20000000; /* 20 ms */
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	id = add(s);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	p.b[p.len - 1] = 0x5a; /* tell our frame from anything else on lo */
	t0 = fl_now_ns();
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_int_equal(counters(id).delayed, 1);
	for (int i = 0; i < 40 && !t_seen; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == (ssize_t)p.len && !memcmp(buf, p.b, p.len))
			t_seen = fl_now_ns();
	}
	close(fd);
	assert_true(t_seen != 0);
	assert_true(t_seen - t0 >= 20000000);
	assert_true(t_seen - t0 < 200000000);
	assert_int_equal(fl_engine__delay_stats(E, id, &d), 0);
	assert_int_equal(d.received, 1);
	assert_int_equal(d.released, 1);
	assert_int_equal(d.held, 0);
	/* an untargeted port passes undelayed */
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7778);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	/* a frame the delay line sends (its mark carries this classifier's
	 * rank) is passed, its mark untouched */
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	{
		const uint32_t mark = FL_DELAY_MARK | (1u << FL_RANK_SHIFT) | 5;
		struct __sk_buff ctx = {.mark = mark};
		DECLARE_LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.b, .data_size_in = p.len,
				    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .ctx_out = &ctx,
				    .ctx_size_out = sizeof(ctx));

		assert_int_equal(bpf_prog_test_run_opts(fl_engine__prog_fd(E, FL_DIR_EGRESS), &o),
				 0);
		assert_int_equal(o.retval, PASS);
		assert_int_equal(ctx.mark, mark);
	}
	assert_int_equal(counters(id).delayed, 1);
}

static void delay_rule_past_its_deadline_passes_undelayed(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0);
	struct pkt p;
	int id = -1;

	(void)state;
	s.delay.ns = 100000000;
	/* a lease that has already run out */
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns() - 2 * SEC_NS, SEC_NS, &id), 0);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(counters(id).delayed, 0);
	assert_int_equal(counters(id).expired, 1);
}

static void same_seed_gives_the_same_decisions(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 500000000);
	uint32_t first[400], again[400], other[400];
	cpu_set_t one;
	struct pkt p;
	int id, same = 0;

	(void)state;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	v4(&p, 17, "10.0.0.1", 1, "10.0.0.2", 7777);
	s.has_seed = 1;
	s.seed = 42;
	id = add(s);
	for (int i = 0; i < 400; i++)
		first[i] = run(FL_DIR_EGRESS, &p, 1);
	assert_int_equal(fl_engine__remove_rule(E, id), 0);
	id = add(s);
	for (int i = 0; i < 400; i++)
		again[i] = run(FL_DIR_EGRESS, &p, 1);
	assert_memory_equal(first, again, sizeof(first));
	assert_int_equal(fl_engine__remove_rule(E, id), 0);
	s.seed = 43;
	add(s);
	for (int i = 0; i < 400; i++) {
		other[i] = run(FL_DIR_EGRESS, &p, 1);
		same += other[i] == first[i];
	}
	assert_true(same < 300); /* 200 expected by chance */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(local_and_remote_ports_follow_the_direction),
	    T(remote_port_range_matches_only_the_peer_side),
	    T(local_and_remote_ports_combine),
	    T(remote_cidr_v4_and_v6_match_the_peer_address),
	    T(nested_prefixes_of_two_rules_both_apply),
	    T(cgroup_rule_matches_the_sockets_cgroup_only),
	    T(share_takes_a_stable_share_of_flows),
	    T(management_port_is_never_matched_unless_allowed),
	    T(management_port_is_matched_when_allowed),
	    T(rate_policer_passes_the_burst_then_drops),
	    T(gemodel_loss_has_the_stationary_rate),
	    T(four_state_loss_has_the_stationary_rate),
	    T(corrupt_flips_exactly_one_bit),
	    T(corrupt_payload_keeps_the_udp_checksum_valid),
	    T(duplicate_counts_its_copies_within_bound),
	    T(duplicate_copy_is_not_classified_again),
	    T(same_seed_gives_the_same_decisions),
	    T(delay_sinks_the_frame_and_resends_it_after_the_delay),
	    T(delay_rule_past_its_deadline_passes_undelayed),
	};

	return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
