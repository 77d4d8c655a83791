/*
 * tests/unit/test_overlap.c - fl_compiled_overlap() (faultline/runner.h) on
 * compiled steps built by hand: each field that can keep two steps' flows
 * apart (interfaces, directions, protocol, ports on the same side, remote
 * prefixes, cgroup), the conservative answers (a local port against a
 * remote one, a step without a constraint), and symmetry: every answer is
 * checked both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "faultline/runner.h"
#include "faultline/target.h"
#include "faultline/units.h"

/* struct fl_compiled_fault is about 5 KiB: kept off the stack, zeroed. */
static struct fl_compiled_fault *A, *B;

static int setup(void **state)
{
	(void)state;
	A = calloc(1, sizeof(*A));
	B = calloc(1, sizeof(*B));
	return A && B ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(A);
	free(B);
	A = B = NULL;
	return 0;
}

/* A step on interface ifindex, directions dirs, protocol proto, nothing
 * else constrained. */
static void step(struct fl_compiled_fault *c, int ifindex, unsigned dirs, int proto)
{
	memset(c, 0, sizeof(*c));
	c->spec.dir_mask = dirs;
	c->spec.protocol = proto;
	c->ifindexes[0] = ifindex;
	c->n_ifs = 1;
}

static void ports(struct fl_port_set *ps, const char *text)
{
	struct fl_error err;

	memset(ps, 0, sizeof(*ps));
	assert_int_equal(fl_parse_ports(text, "port", ps, &err), 0);
}

static void cidrs(struct fl_compiled_fault *c, const char *text)
{
	struct fl_error err;

	c->spec.n_cidrs = 0;
	assert_int_equal(
	    fl_parse_cidrs(text, "cidr", 0, c->spec.cidrs, &c->spec.n_cidrs, FL_CIDRS_MAX, &err),
	    0);
}

/* overlap(a, b), asserted equal to overlap(b, a) */
static bool overlap(const struct fl_compiled_fault *a, const struct fl_compiled_fault *b)
{
	bool ab = fl_compiled_overlap(a, b), ba = fl_compiled_overlap(b, a);

	if (ab != ba)
		print_error("overlap(a, b) = %d but overlap(b, a) = %d\n", ab, ba);
	assert_int_equal(ab, ba);
	return ab;
}

static void identical_steps_overlap(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	ports(&A->spec.ports, "80,443");
	ports(&A->spec.local_ports, "1000-2000");
	ports(&A->spec.remote_ports, "5432");
	cidrs(A, "10.0.0.0/8,fd00::/16");
	A->spec.cgroup_id = 5;
	memcpy(B, A, sizeof(*A));
	assert_true(overlap(A, B));
	assert_true(overlap(A, A));
	/* the bare step, too */
	step(A, 2, FL_DIRMASK_BOTH, FL_PROTOCOL_ANY);
	memcpy(B, A, sizeof(*A));
	assert_true(overlap(A, B));
}

static void disjoint_interfaces_do_not_overlap(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_BOTH, FL_PROTOCOL_ANY);
	step(B, 3, FL_DIRMASK_BOTH, FL_PROTOCOL_ANY);
	assert_false(overlap(A, B));
	/* several each, none shared */
	A->ifindexes[1] = 4;
	A->n_ifs = 2;
	B->ifindexes[1] = 5;
	B->ifindexes[2] = 6;
	B->n_ifs = 3;
	assert_false(overlap(A, B));
	/* one shared is enough */
	B->ifindexes[2] = 4;
	assert_true(overlap(A, B));
}

static void disjoint_directions_do_not_overlap(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	step(B, 2, FL_DIRMASK_INGRESS, FL_PROTOCOL_ANY);
	assert_false(overlap(A, B));
	B->spec.dir_mask = FL_DIRMASK_BOTH;
	assert_true(overlap(A, B));
	A->spec.dir_mask = FL_DIRMASK_INGRESS;
	assert_true(overlap(A, B));
}

static void protocols(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTO_UDP);
	assert_false(overlap(A, B)); /* tcp vs udp */
	B->spec.protocol = FL_PROTO_ICMP;
	assert_false(overlap(A, B)); /* tcp vs icmp */
	A->spec.protocol = FL_PROTO_UDP;
	assert_false(overlap(A, B)); /* udp vs icmp */
	B->spec.protocol = FL_PROTOCOL_ANY;
	assert_true(overlap(A, B)); /* udp vs any */
	A->spec.protocol = FL_PROTO_TCP;
	assert_true(overlap(A, B)); /* tcp vs any */
	A->spec.protocol = FL_PROTOCOL_ANY;
	assert_true(overlap(A, B)); /* any vs any */
	A->spec.protocol = B->spec.protocol = FL_PROTO_TCP;
	assert_true(overlap(A, B)); /* tcp vs tcp */
}

static void ports_on_either_side(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	ports(&A->spec.ports, "80");
	ports(&B->spec.ports, "443");
	assert_false(overlap(A, B));
	ports(&A->spec.ports, "80-90");
	ports(&B->spec.ports, "85");
	assert_true(overlap(A, B));
	/* the ends of a range count */
	ports(&B->spec.ports, "90");
	assert_true(overlap(A, B));
	ports(&B->spec.ports, "91-100");
	assert_false(overlap(A, B));
	ports(&B->spec.ports, "1-79,91-100");
	assert_false(overlap(A, B));
	ports(&B->spec.ports, "1-79,88,91-100");
	assert_true(overlap(A, B)); /* any pair of items that meets */
	/* a step without ports takes them all */
	memset(&B->spec.ports, 0, sizeof(B->spec.ports));
	assert_true(overlap(A, B));
}

static void ports_on_one_side(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	/* the same side, apart */
	ports(&A->spec.local_ports, "80");
	ports(&B->spec.local_ports, "443");
	assert_false(overlap(A, B));
	ports(&B->spec.local_ports, "80");
	assert_true(overlap(A, B));
	memset(&A->spec.local_ports, 0, sizeof(A->spec.local_ports));
	memset(&B->spec.local_ports, 0, sizeof(B->spec.local_ports));
	ports(&A->spec.remote_ports, "80");
	ports(&B->spec.remote_ports, "443");
	assert_false(overlap(A, B));
	/* local 80 against remote 80 (and against remote 443): judged as
	 * meeting, conservatively (a flow 80 -> 80 or 80 -> 443 has both) */
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	ports(&A->spec.local_ports, "80");
	ports(&B->spec.remote_ports, "80");
	assert_true(overlap(A, B));
	ports(&B->spec.remote_ports, "443");
	assert_true(overlap(A, B));
	/* a port on either side against a local one: meets too */
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	ports(&B->spec.ports, "443");
	assert_true(overlap(A, B));
}

static void remote_prefixes(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	cidrs(A, "10.0.0.0/8");
	cidrs(B, "10.1.0.0/16");
	assert_true(overlap(A, B)); /* nested */
	cidrs(A, "10.0.0.0/16");
	assert_false(overlap(A, B)); /* siblings */
	cidrs(A, "10.1.2.3/32");
	assert_true(overlap(A, B)); /* a host inside */
	cidrs(A, "0.0.0.0/0");
	assert_true(overlap(A, B)); /* everything IPv4 */
	/* IPv4 against IPv6 */
	cidrs(A, "10.0.0.0/8");
	cidrs(B, "fd00::/8");
	assert_false(overlap(A, B));
	cidrs(A, "0.0.0.0/0");
	cidrs(B, "::/0");
	assert_false(overlap(A, B)); /* even the widest of each */
	/* IPv6 prefixes */
	cidrs(A, "fd00:1::/32");
	cidrs(B, "fd00:2::/32");
	assert_false(overlap(A, B));
	cidrs(B, "fd00:1:2::/48");
	assert_true(overlap(A, B));
	/* lists: any pair that meets */
	cidrs(A, "10.0.0.0/16,fd00::/16");
	cidrs(B, "192.168.0.0/16,fd00:5::/32");
	assert_true(overlap(A, B));
	cidrs(B, "192.168.0.0/16,fe80::/10");
	assert_false(overlap(A, B));
	/* one without prefixes takes every address */
	B->spec.n_cidrs = 0;
	assert_true(overlap(A, B));
	A->spec.n_cidrs = 0;
	assert_true(overlap(A, B));
}

static void cgroups(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	step(B, 2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	A->spec.cgroup_id = 5;
	B->spec.cgroup_id = 6;
	assert_false(overlap(A, B));
	B->spec.cgroup_id = 0; /* any cgroup */
	assert_true(overlap(A, B));
	B->spec.cgroup_id = 5;
	assert_true(overlap(A, B));
}

/* One field apart is enough, whatever the others say. */
static void one_field_apart_is_enough(void **state)
{
	(void)state;
	step(A, 2, FL_DIRMASK_BOTH, FL_PROTO_TCP);
	ports(&A->spec.ports, "80");
	cidrs(A, "10.0.0.0/8");
	A->spec.cgroup_id = 5;
	memcpy(B, A, sizeof(*A));
	assert_true(overlap(A, B));
	B->spec.cgroup_id = 6;
	assert_false(overlap(A, B));
	B->spec.cgroup_id = 5;
	cidrs(B, "11.0.0.0/8");
	assert_false(overlap(A, B));
	cidrs(B, "10.0.0.0/8");
	ports(&B->spec.ports, "81");
	assert_false(overlap(A, B));
	ports(&B->spec.ports, "80");
	B->spec.protocol = FL_PROTO_UDP;
	assert_false(overlap(A, B));
	B->spec.protocol = FL_PROTO_TCP;
	B->ifindexes[0] = 3;
	assert_false(overlap(A, B));
	B->ifindexes[0] = 2;
	assert_true(overlap(A, B));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(identical_steps_overlap),
	    T(disjoint_interfaces_do_not_overlap),
	    T(disjoint_directions_do_not_overlap),
	    T(protocols),
	    T(ports_on_either_side),
	    T(ports_on_one_side),
	    T(remote_prefixes),
	    T(cgroups),
	    T(one_field_apart_is_enough),
	};

	return cmocka_run_group_tests_name("overlap", tests, NULL, NULL);
}
