/*
 * tests/bpf/test_classifier.c - bpf/classifier.bpf.c on crafted packets.
 *
 * Each test installs rules through the engine (the same calls the CLI makes),
 * runs the real classifier program in the kernel with
 * bpf_prog_test_run_opts() on a packet built here, and asserts the exact
 * verdict and the per-rule counters. Malformed and truncated packets must be
 * passed unchanged, never dropped by mistake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/lib/bpf_test.h"

static void no_rules_passes_everything(void **state)
{
	struct pkt p;

	(void)state;
	ipv4(&p, 17, 1000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
}

static void udp_dport_match_is_dropped_and_counted(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 17, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	assert_int_equal(counters(id).matched, 1);
	assert_int_equal(counters(id).dropped, 1);
	assert_int_equal(counters(id).bytes, p.len);
}

static void udp_sport_match_is_dropped(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 17, 7777, 40000, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void other_port_passes_uncounted(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 17, 40000, 7778, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(counters(id).matched, 0);
}

static void other_protocol_passes(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 6, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void other_direction_passes(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 17, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), PASS);
}

static void both_directions_match_both_programs(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_BOTH, FL_PROTO_TCP, 443, FL_PPB_100));
	ipv4(&p, 6, 443, 50000, 0);
	assert_int_equal(run(FL_DIR_INGRESS, &p, 1), DROP);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void vlan_tagged_ipv4_is_classified(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 17, 40000, 7777, 1);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void ipv6_tcp_is_classified(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_TCP, 6379, FL_PPB_100));
	ipv6(&p, 6, 50000, 6379, NULL, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	ipv6(&p, 6, 50000, 6380, NULL, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void ipv6_extension_headers_are_walked(void **state)
{
	static const uint8_t hbh_dst[] = {0, 60};
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 53, FL_PPB_100));
	ipv6(&p, 17, 40000, 53, hbh_dst, 2);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void ipv6_too_many_extension_headers_pass(void **state)
{
	static const uint8_t many[] = {0, 60, 60, 60, 60};
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY, 0, FL_PPB_100));
	ipv6(&p, 17, 40000, 53, many, 5);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void ipv6_first_fragment_has_ports(void **state)
{
	static const uint8_t frag[] = {44};
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 53, FL_PPB_100));
	ipv6(&p, 17, 40000, 53, frag, 1);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void ipv4_later_fragment_matches_no_port_rule(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100));
	ipv4(&p, 17, 40000, 7777, 0);
	put16(p.b + 14 + 6, 0x0010); /* fragment offset 16*8: no UDP header here */
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void icmp_rule_hits_icmp_and_icmpv6_only(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTO_ICMP, 0, FL_PPB_100));
	ipv4(&p, 1, 0, 0, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	ipv6(&p, 58, 0, 0, NULL, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
	ipv4(&p, 17, 1, 2, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void non_ip_is_never_matched(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY, 0, FL_PPB_100));
	p.len = eth(&p, 0x0806, 0) + 28; /* ARP */
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void truncated_packets_pass_unchanged(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(spec(FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY, 0, FL_PPB_100));
	/* The kernel's test runner refuses an untagged IPv4/IPv6 frame shorter
	 * than the IP header, so cut inside the ports; behind a VLAN tag every
	 * cut is accepted, down to a bare tag. */
	for (uint32_t cut = 14 + 20; cut < 14 + 20 + 4; cut++) {
		ipv4(&p, 17, 40000, 7777, 0);
		p.len = cut;
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	}
	for (uint32_t cut = 14 + 40; cut < 14 + 40 + 4; cut++) {
		ipv6(&p, 17, 40000, 7777, NULL, 0);
		p.len = cut;
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	}
	for (uint32_t cut = 15; cut < 18 + 20 + 4; cut++) {
		ipv4(&p, 17, 40000, 7777, 1);
		p.len = cut;
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	}
	/* IPv4 options announced (ihl 15: 60 bytes) but not there */
	ipv4(&p, 17, 40000, 7777, 0);
	p.b[14] = 0x4f;
	p.len = 14 + 40;
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(counters(id).matched, 0);
}

static void malformed_ipv4_header_passes(void **state)
{
	struct pkt p;

	(void)state;
	add(spec(FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY, 0, FL_PPB_100));
	ipv4(&p, 17, 40000, 7777, 0);
	p.b[14] = 0x44; /* ihl 4: shorter than the minimum */
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	ipv4(&p, 17, 40000, 7777, 0);
	p.b[14] = 0x65; /* version 6 inside an IPv4 ethertype */
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
}

static void expired_rule_passes_and_counts_expired(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100);
	struct pkt p;
	int id;

	(void)state;
	/* a lease that ran out long ago */
	assert_int_equal(fl_engine__add_rule(E, &s, 1000, 1000, &id), 0);
	ipv4(&p, 17, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(counters(id).expired, 1);
	assert_int_equal(counters(id).matched, 0);
	/* and a renewal after a lapse is refused: the fault was interrupted */
	assert_int_equal(fl_engine__renew(E, fl_now_ns(), SEC_NS), -ETIME);
}

static void end_of_experiment_caps_the_lease(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, FL_PPB_100);
	uint64_t now = fl_now_ns();
	struct pkt p;
	int id;

	(void)state;
	s.end_ns = now - 1; /* ended already, though the lease is long */
	assert_int_equal(fl_engine__add_rule(E, &s, now, 60 * SEC_NS, &id), 0);
	ipv4(&p, 17, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	/* renewal past the end is not a lapse */
	assert_int_equal(fl_engine__renew(E, fl_now_ns(), SEC_NS), 0);
}

static void zero_percent_matches_without_acting(void **state)
{
	struct pkt p;
	int id;

	(void)state;
	id = add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0));
	ipv4(&p, 17, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 100), PASS);
	assert_int_equal(counters(id).matched, 100);
	assert_int_equal(counters(id).dropped, 0);
}

static void loss_30pct_within_binomial_bound(void **state)
{
	const double n = 200000, pr = 0.3, z = 3.29;
	struct pkt p;
	double acted;
	int id;

	(void)state;
	id = add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 300000000));
	ipv4(&p, 17, 40000, 7777, 0);
	run(FL_DIR_EGRESS, &p, (int)n);
	acted = (double)counters(id).dropped;
	assert_int_equal(counters(id).matched, (uint64_t)n);
	assert_true(fabs(acted - n * pr) <= z * sqrt(n * pr * (1 - pr)));
}

static void each_of_64_rules_acts_on_its_own_port(void **state)
{
	struct pkt p;
	int ids[FL_MAX_RULES];

	(void)state;
	for (int i = 0; i < FL_MAX_RULES; i++)
		ids[i] =
		    add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, (uint16_t)(9000 + i), FL_PPB_100));
	for (int i = 0; i < FL_MAX_RULES; i++) {
		ipv4(&p, 17, 40000, (uint16_t)(9000 + i), 0);
		assert_int_equal(run(FL_DIR_EGRESS, &p, i + 1), DROP);
	}
	for (int i = 0; i < FL_MAX_RULES; i++) {
		assert_int_equal(ids[i], i);
		assert_int_equal(counters(ids[i]).dropped, (uint64_t)(i + 1));
	}
	/* a 65th rule does not fit */
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 1, FL_PPB_100);
	int id;
	assert_int_equal(fl_engine__add_rule(E, &s, fl_now_ns(), SEC_NS, &id), -ENOSPC);
}

static void lowest_rule_id_wins_an_overlap(void **state)
{
	struct pkt p;
	int first, second;

	(void)state;
	first = add(spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 7777, 0));
	second = add(spec(FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY, 0, FL_PPB_100));
	ipv4(&p, 17, 40000, 7777, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), PASS);
	assert_int_equal(counters(first).matched, 1);
	assert_int_equal(counters(second).matched, 0);
}

static void port_ranges_and_lists_match_every_member(void **state)
{
	struct fl_rule_spec s = spec(FL_DIRMASK_EGRESS, FL_PROTO_TCP, 0, FL_PPB_100);
	struct pkt p;

	(void)state;
	s.ports.n = 2;
	s.ports.r[0].lo = 8000;
	s.ports.r[0].hi = 8100;
	s.ports.r[1].lo = s.ports.r[1].hi = 443;
	add(s);
	for (uint16_t port = 7990; port <= 8110; port++) {
		ipv4(&p, 6, 50000, port, 0);
		assert_int_equal(run(FL_DIR_EGRESS, &p, 1),
				 port >= 8000 && port <= 8100 ? DROP : PASS);
	}
	ipv4(&p, 6, 443, 50000, 0);
	assert_int_equal(run(FL_DIR_EGRESS, &p, 1), DROP);
}

static void bad_specs_are_refused(void **state)
{
	struct fl_rule_spec s;
	int id;

	(void)state;
	s = spec(0, FL_PROTO_UDP, 1, 0);
	assert_int_equal(fl_engine__add_rule(E, &s, 0, SEC_NS, &id), -EINVAL);
	s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 1, FL_PPB_100 + 1);
	assert_int_equal(fl_engine__add_rule(E, &s, 0, SEC_NS, &id), -EINVAL);
	s = spec(FL_DIRMASK_EGRESS, 7, 1, 0);
	assert_int_equal(fl_engine__add_rule(E, &s, 0, SEC_NS, &id), -EINVAL);
	s = spec(FL_DIRMASK_EGRESS, FL_PROTO_UDP, 9, 0);
	s.ports.r[0].lo = 10;
	assert_int_equal(fl_engine__add_rule(E, &s, 0, SEC_NS, &id), -EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(no_rules_passes_everything),
	    T(udp_dport_match_is_dropped_and_counted),
	    T(udp_sport_match_is_dropped),
	    T(other_port_passes_uncounted),
	    T(other_protocol_passes),
	    T(other_direction_passes),
	    T(both_directions_match_both_programs),
	    T(vlan_tagged_ipv4_is_classified),
	    T(ipv6_tcp_is_classified),
	    T(ipv6_extension_headers_are_walked),
	    T(ipv6_too_many_extension_headers_pass),
	    T(ipv6_first_fragment_has_ports),
	    T(ipv4_later_fragment_matches_no_port_rule),
	    T(icmp_rule_hits_icmp_and_icmpv6_only),
	    T(non_ip_is_never_matched),
	    T(truncated_packets_pass_unchanged),
	    T(malformed_ipv4_header_passes),
	    T(expired_rule_passes_and_counts_expired),
	    T(end_of_experiment_caps_the_lease),
	    T(zero_percent_matches_without_acting),
	    T(loss_30pct_within_binomial_bound),
	    T(each_of_64_rules_acts_on_its_own_port),
	    T(lowest_rule_id_wins_an_overlap),
	    T(port_ranges_and_lists_match_every_member),
	    T(bad_specs_are_refused),
	};

	return cmocka_run_group_tests_name("classifier", tests, NULL, NULL);
}
