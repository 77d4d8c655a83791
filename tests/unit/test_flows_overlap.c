/*
 * tests/unit/test_flows_overlap.c - fl_compiled_overlap() (faultline/runner.h):
 * when two compiled steps may act on the same packets. The daemon refuses an
 * experiment whose steps overlap a running one's (409), and the pool stacks a
 * run's own overlapping steps; both rely on this answer, which must be
 * conservative (never "apart" for flows that can meet) and symmetric.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/socket.h>

#include "faultline/runner.h"
#include "faultline/target.h"

static struct fl_compiled_fault step(int ifindex, unsigned dirs, int proto)
{
	struct fl_compiled_fault c;

	memset(&c, 0, sizeof(c));
	c.spec.dir_mask = dirs;
	c.spec.protocol = proto;
	c.ifindexes[0] = ifindex;
	c.n_ifs = 1;
	return c;
}

static void ports(struct fl_port_set *ps, const char *text)
{
	struct fl_error err;

	assert_int_equal(fl_parse_ports(text, "port", ps, &err), 0);
}

static void cidrs(struct fl_compiled_fault *c, const char *text)
{
	struct fl_error err;

	assert_int_equal(
	    fl_parse_cidrs(text, "cidr", 0, c->spec.cidrs, &c->spec.n_cidrs, FL_CIDRS_MAX, &err),
	    0);
}

/* overlap(a, b), checked to equal overlap(b, a) */
static bool meet(const struct fl_compiled_fault *a, const struct fl_compiled_fault *b)
{
	bool x = fl_compiled_overlap(a, b);

	assert_int_equal(x, fl_compiled_overlap(b, a));
	return x;
}

static void interfaces_and_directions(void **state)
{
	struct fl_compiled_fault a = step(2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	struct fl_compiled_fault b = a;

	(void)state;
	assert_true(meet(&a, &b));
	b.ifindexes[0] = 3;
	assert_false(meet(&a, &b));
	b.ifindexes[1] = 2;
	b.n_ifs = 2;
	assert_true(meet(&a, &b)); /* one shared interface is enough */
	b = a;
	b.spec.dir_mask = FL_DIRMASK_INGRESS;
	assert_false(meet(&a, &b));
	b.spec.dir_mask = FL_DIRMASK_BOTH;
	assert_true(meet(&a, &b));
}

static void protocols(void **state)
{
	struct fl_compiled_fault a = step(2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	struct fl_compiled_fault b = step(2, FL_DIRMASK_EGRESS, FL_PROTO_UDP);

	(void)state;
	assert_false(meet(&a, &b));
	b.spec.protocol = FL_PROTOCOL_ANY;
	assert_true(meet(&a, &b));
	b.spec.protocol = FL_PROTO_TCP;
	assert_true(meet(&a, &b));
}

static void port_sets(void **state)
{
	struct fl_compiled_fault a = step(2, FL_DIRMASK_EGRESS, FL_PROTO_TCP);
	struct fl_compiled_fault b = a;

	(void)state;
	ports(&a.spec.ports, "80");
	ports(&b.spec.ports, "443");
	assert_false(meet(&a, &b));
	memset(&b.spec.ports, 0, sizeof(b.spec.ports));
	ports(&b.spec.ports, "8000,85");
	ports(&a.spec.ports, "80-90");
	assert_true(meet(&a, &b));
	memset(&b.spec.ports, 0, sizeof(b.spec.ports));
	assert_true(meet(&a, &b)); /* b names no port: all of them */
	/* a local port against a remote one: judged as meeting (conservative) */
	memset(&a.spec.ports, 0, sizeof(a.spec.ports));
	ports(&a.spec.local_ports, "80");
	ports(&b.spec.remote_ports, "80");
	assert_true(meet(&a, &b));
	ports(&b.spec.local_ports, "81");
	assert_false(meet(&a, &b)); /* both name the local side, apart */
}

static void prefixes(void **state)
{
	struct fl_compiled_fault a = step(2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	struct fl_compiled_fault b = a;

	(void)state;
	cidrs(&a, "10.0.0.0/8");
	cidrs(&b, "10.1.0.0/16");
	assert_true(meet(&a, &b));
	a.spec.n_cidrs = 0;
	cidrs(&a, "10.0.0.0/16");
	assert_false(meet(&a, &b));
	b.spec.n_cidrs = 0;
	cidrs(&b, "fd00::/8");
	assert_false(meet(&a, &b)); /* IPv4 against IPv6 */
	cidrs(&b, "10.0.128.0/17");
	assert_true(meet(&a, &b)); /* any pair that meets */
	b.spec.n_cidrs = 0;
	assert_true(meet(&a, &b)); /* b names no address */
}

static void cgroups(void **state)
{
	struct fl_compiled_fault a = step(2, FL_DIRMASK_EGRESS, FL_PROTOCOL_ANY);
	struct fl_compiled_fault b = a;

	(void)state;
	a.spec.cgroup_id = 5;
	b.spec.cgroup_id = 6;
	assert_false(meet(&a, &b));
	b.spec.cgroup_id = 0;
	assert_true(meet(&a, &b));
	b.spec.cgroup_id = 5;
	assert_true(meet(&a, &b));
	/* a share separates nothing here: conservative */
	a.spec.share_ppb = FL_PPB_100 / 2;
	assert_true(meet(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(interfaces_and_directions),
	    cmocka_unit_test(protocols),
	    cmocka_unit_test(port_sets),
	    cmocka_unit_test(prefixes),
	    cmocka_unit_test(cgroups),
	};

	return cmocka_run_group_tests_name("flows_overlap", tests, NULL, NULL);
}
