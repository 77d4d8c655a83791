/*
 * tests/unit/test_target.c - remote addresses are read exactly as written or
 * refused with a message naming the flag, the bad text and the expected
 * form; a cgroup path that is not a cgroup v2 directory is refused the same
 * way; interfaces are never guessed to be loopback.
 *
 * Accepted forms are checked byte for byte (family, prefix length, address in
 * network order), refused ones by a substring of the message.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/probe.h"
#include "faultline/target.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct accepted {
	const char *in;
	int host_only;
	uint8_t family;
	uint8_t prefixlen;
	uint8_t addr[16];
};

struct refused {
	const char *in;
	int host_only;
	const char *needle;
};

static const char *field_for(int host_only)
{
	return host_only ? "--host" : "--cidr";
}

static void check_accepted(const struct accepted *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fl_cidr out[FL_CIDRS_MAX];
		struct fl_error err = {0};
		unsigned count = 0;
		int r;

		memset(out, 0xa5, sizeof(out));
		r = fl_parse_cidrs(t[i].in, field_for(t[i].host_only), t[i].host_only, out, &count,
				   FL_CIDRS_MAX, &err);
		if (r)
			fail_msg("\"%s\" refused (%d): %s", t[i].in, r, err.msg);
		if (count != 1)
			fail_msg("\"%s\" gave %u entries, want 1", t[i].in, count);
		if (out[0].family != t[i].family || out[0].prefixlen != t[i].prefixlen)
			fail_msg("\"%s\" gave family %u /%u, want %u /%u", t[i].in, out[0].family,
				 out[0].prefixlen, t[i].family, t[i].prefixlen);
		if (memcmp(out[0].addr, t[i].addr, sizeof(t[i].addr)))
			fail_msg("\"%s\": address bytes differ", t[i].in);
	}
}

static void check_refused(const struct refused *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fl_cidr out[FL_CIDRS_MAX];
		struct fl_error err = {0};
		unsigned count = 0;
		int r;

		r = fl_parse_cidrs(t[i].in, field_for(t[i].host_only), t[i].host_only, out, &count,
				   FL_CIDRS_MAX, &err);
		if (r != -EINVAL)
			fail_msg("\"%s\" returned %d, want -EINVAL", t[i].in, r);
		if (strcmp(err.field, field_for(t[i].host_only)))
			fail_msg("\"%s\": field \"%s\", want \"%s\"", t[i].in, err.field,
				 field_for(t[i].host_only));
		if (!strstr(err.msg, t[i].needle))
			fail_msg("\"%s\": message <%s> lacks <%s>", t[i].in, err.msg, t[i].needle);
		if (count != 0)
			fail_msg("\"%s\": refused but counted %u entries", t[i].in, count);
	}
}

#define ACCEPTS(...)                                                                               \
	do {                                                                                       \
		static const struct accepted t_[] = {__VA_ARGS__};                                 \
		check_accepted(t_, ARRAY_SIZE(t_));                                                \
	} while (0)

#define REFUSES(...)                                                                               \
	do {                                                                                       \
		static const struct refused t_[] = {__VA_ARGS__};                                  \
		check_refused(t_, ARRAY_SIZE(t_));                                                 \
	} while (0)

#define HOST 1
#define NET  0

/* Addresses ---------------------------------------------------------------- */

static void host_is_a_full_length_prefix_in_network_order(void **state)
{
	(void)state;
	ACCEPTS(
	    {"10.0.0.2", HOST, AF_INET, 32, {10, 0, 0, 2}},
	    {"192.168.255.1", HOST, AF_INET, 32, {192, 168, 255, 1}},
	    {"0.0.0.0", HOST, AF_INET, 32, {0}},
	    {"fd00::2", HOST, AF_INET6, 128, {0xfd, 0, [15] = 2}},
	    {"2001:db8::1:2", HOST, AF_INET6, 128, {0x20, 0x01, 0x0d, 0xb8, [13] = 1, [15] = 2}},
	    {"::1", HOST, AF_INET6, 128, {[15] = 1}},
	    {"FD00::AB", HOST, AF_INET6, 128, {0xfd, 0, [15] = 0xab}});
}

static void cidr_keeps_the_written_prefix_length(void **state)
{
	(void)state;
	ACCEPTS({"10.0.0.0/8", NET, AF_INET, 8, {10}},
		{"10.200.0.0/24", NET, AF_INET, 24, {10, 200}},
		{"10.0.0.2/32", NET, AF_INET, 32, {10, 0, 0, 2}},
		{"0.0.0.0/0", NET, AF_INET, 0, {0}}, {"172.16.0.0/12", NET, AF_INET, 12, {172, 16}},
		{"fd00::/64", NET, AF_INET6, 64, {0xfd}},
		{"2001:db8::/32", NET, AF_INET6, 32, {0x20, 0x01, 0x0d, 0xb8}},
		{"fd00::2/128", NET, AF_INET6, 128, {0xfd, [15] = 2}},
		{"::/0", NET, AF_INET6, 0, {0}}, {"10.0.0.0/08", NET, AF_INET, 8, {10}});
}

static void lists_mix_families_and_several_calls_add_up(void **state)
{
	struct fl_cidr out[FL_CIDRS_MAX];
	struct fl_error err = {0};
	unsigned n = 0;

	(void)state;
	assert_int_equal(
	    fl_parse_cidrs("10.0.0.2,fd00::2", "--host", 1, out, &n, FL_CIDRS_MAX, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].family, AF_INET);
	assert_int_equal(out[1].family, AF_INET6);
	assert_int_equal(fl_parse_cidrs("10.0.0.0/8", "--cidr", 0, out, &n, FL_CIDRS_MAX, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[2].prefixlen, 8);
	/* the same entry again is kept once */
	assert_int_equal(
	    fl_parse_cidrs("10.0.0.2,10.0.0.2", "--host", 1, out, &n, FL_CIDRS_MAX, &err), 0);
	assert_int_equal(n, 3);
}

static void host_bits_are_refused_naming_the_network_meant(void **state)
{
	(void)state;
	REFUSES({"10.0.0.1/8", NET, "\"10.0.0.1/8\" has host bits set (did you mean 10.0.0.0/8?)"},
		{"10.200.0.1/24", NET, "(did you mean 10.200.0.0/24?)"},
		{"10.0.0.129/25", NET, "(did you mean 10.0.0.128/25?)"},
		{"172.31.0.0/12", NET, "(did you mean 172.16.0.0/12?)"},
		{"1.2.3.4/0", NET, "(did you mean 0.0.0.0/0?)"},
		{"fd00::1/64", NET, "\"fd00::1/64\" has host bits set (did you mean fd00::/64?)"},
		{"2001:db8:1::/31", NET, "(did you mean 2001:db8::/31?)"});
}

static void cidr_without_prefix_length_is_refused(void **state)
{
	(void)state;
	REFUSES({"10.0.0.1", NET,
		 "\"10.0.0.1\" has no prefix length (expected ADDR/LEN such as 10.0.0.0/8 or "
		 "fd00::/64; --host takes a single address)"},
		{"fd00::1", NET, "has no prefix length"},
		{"10.0.0.0/8,10.0.0.1", NET, "\"10.0.0.1\" has no prefix length"});
}

static void host_with_prefix_length_is_refused(void **state)
{
	(void)state;
	REFUSES({"10.0.0.0/8", HOST,
		 "\"10.0.0.0/8\" has a prefix length (expected a bare address such as 10.0.0.2 "
		 "or fd00::2; --cidr takes networks)"},
		{"fd00::2/128", HOST, "has a prefix length"});
}

static void bad_prefix_lengths_are_refused(void **state)
{
	(void)state;
	REFUSES({"10.0.0.0/33", NET, "\"10.0.0.0/33\" has no valid prefix length"},
		{"10.0.0.0/33", NET, "with LEN 0-32 for IPv4"},
		{"fd00::/129", NET, "with LEN 0-128 for IPv6"},
		{"10.0.0.0/", NET, "has no valid prefix length"},
		{"10.0.0.0/x", NET, "has no valid prefix length"},
		{"10.0.0.0/-1", NET, "has no valid prefix length"},
		{"10.0.0.0/+8", NET, "has no valid prefix length"},
		{"10.0.0.0/8/8", NET, "has no valid prefix length"},
		{"10.0.0.0/0008", NET, "has no valid prefix length"},
		{"10.0.0.0/ 8", NET, "has no valid prefix length"});
}

static void malformed_addresses_are_refused(void **state)
{
	(void)state;
	REFUSES({"fd00::zz", HOST,
		 "\"fd00::zz\" is not an IPv4 or IPv6 address (expected a bare address such "
		 "as 10.0.0.2 or fd00::2)"},
		{"10.1", HOST, "\"10.1\" is not an IPv4 or IPv6 address"},
		{"10.0.0.256", HOST, "is not an IPv4 or IPv6 address"},
		{"010.0.0.1", HOST, "is not an IPv4 or IPv6 address"},
		{"0x0a.0.0.1", HOST, "is not an IPv4 or IPv6 address"},
		{"fd00:::1", HOST, "is not an IPv4 or IPv6 address"},
		{"fe80::1%eth0", HOST, "is not an IPv4 or IPv6 address"},
		{"localhost", HOST, "\"localhost\" is not an IPv4 or IPv6 address"},
		{" 10.0.0.1", HOST, "\" 10.0.0.1\" is not an IPv4 or IPv6 address"},
		{"10.0.0.1 ", HOST, "is not an IPv4 or IPv6 address"},
		{"bad\"addr", HOST, "\"bad\\\"addr\" is not an IPv4 or IPv6 address"},
		{"10.0.0.1.2/8", NET, "is not an IPv4 or IPv6 address (expected ADDR/LEN"},
		{"1111:2222:3333:4444:5555:6666:7777:8888:9999", HOST,
		 "is not an IPv4 or IPv6 address"});
}

static void empty_items_are_refused(void **state)
{
	(void)state;
	REFUSES({"", HOST, "\"\" is not an address"},
		{"10.0.0.1,,10.0.0.2", HOST, "\"10.0.0.1,,10.0.0.2\" has an empty item"},
		{"10.0.0.1,", HOST, "has an empty item"}, {",10.0.0.1", HOST, "has an empty item"},
		{",", NET, "has an empty item"});
}

static void ipv4_mapped_ipv6_is_refused_naming_the_ipv4_form(void **state)
{
	(void)state;
	REFUSES({"::ffff:10.0.0.1", HOST,
		 "\"::ffff:10.0.0.1\" is an IPv4-mapped IPv6 address (expected the IPv4 address "
		 "itself, 10.0.0.1"},
		{"::ffff:10.0.0.0/104", NET, "is an IPv4-mapped IPv6 address"});
}

static void more_than_max_addresses_are_refused(void **state)
{
	struct fl_cidr out[FL_CIDRS_MAX];
	struct fl_error err = {0};
	char list[512] = "";
	unsigned n = 0;

	(void)state;
	for (int i = 1; i <= FL_CIDRS_MAX; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s10.0.0.%d",
			 i > 1 ? "," : "", i);
	assert_int_equal(fl_parse_cidrs(list, "--host", 1, out, &n, FL_CIDRS_MAX, &err), 0);
	assert_int_equal(n, FL_CIDRS_MAX);
	/* one more, in a second flag: refused, the count unchanged */
	assert_int_equal(fl_parse_cidrs("fd00::1", "--host", 1, out, &n, FL_CIDRS_MAX, &err),
			 -EINVAL);
	assert_int_equal(n, FL_CIDRS_MAX);
	assert_string_equal(err.field, "--host");
	assert_non_null(strstr(err.msg, "more than 16 addresses (expected at most 16 across "
					"every --host and --cidr)"));
	/* a duplicate still fits: nothing is added */
	assert_int_equal(fl_parse_cidrs("10.0.0.1", "--host", 1, out, &n, FL_CIDRS_MAX, &err), 0);
	assert_int_equal(n, FL_CIDRS_MAX);
}

static void refusal_midway_leaves_the_count_untouched(void **state)
{
	struct fl_cidr out[FL_CIDRS_MAX];
	struct fl_error err = {0};
	unsigned n = 0;

	(void)state;
	assert_int_equal(fl_parse_cidrs("10.0.0.1", "--host", 1, out, &n, FL_CIDRS_MAX, &err), 0);
	assert_int_equal(
	    fl_parse_cidrs("10.0.0.2,10.0.0.3,nope", "--host", 1, out, &n, FL_CIDRS_MAX, &err),
	    -EINVAL);
	assert_int_equal(n, 1);
	/* and without an error struct */
	assert_int_equal(fl_parse_cidrs("nope", "--host", 1, out, &n, FL_CIDRS_MAX, NULL), -EINVAL);
}

static void fmt_cidr_writes_what_the_parser_reads_back(void **state)
{
	static const char *const forms[] = {"10.0.0.0/8", "10.0.0.2/32", "fd00::/64",
					    "2001:db8::1:2/128", "0.0.0.0/0"};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		struct fl_cidr out[1];
		unsigned n = 0;

		assert_int_equal(fl_parse_cidrs(forms[i], "--cidr", 0, out, &n, 1, NULL), 0);
		assert_string_equal(fl_fmt_cidr(&out[0], 1, buf, sizeof(buf)), forms[i]);
	}
	{
		struct fl_cidr out[1];
		unsigned n = 0;

		assert_int_equal(fl_parse_cidrs("fd00::2", "--host", 1, out, &n, 1, NULL), 0);
		assert_string_equal(fl_fmt_cidr(&out[0], 0, buf, sizeof(buf)), "fd00::2");
	}
}

/* cgroups ------------------------------------------------------------------- */

static void cgroup_refusal(const char *path, const char *needle)
{
	struct fl_error err = {0};
	uint64_t id = 12345;
	int r = fl_cgroup_id(path, "--cgroup", NULL, 0, &id, &err);

	if (r != -EINVAL)
		fail_msg("\"%s\" returned %d, want -EINVAL", path, r);
	if (strcmp(err.field, "--cgroup"))
		fail_msg("\"%s\": field \"%s\"", path, err.field);
	if (!strstr(err.msg, needle))
		fail_msg("\"%s\": message <%s> lacks <%s>", path, err.msg, needle);
	if (id != 12345)
		fail_msg("\"%s\": refused but wrote the id", path);
}

static void cgroup_that_does_not_exist_is_refused(void **state)
{
	(void)state;
	cgroup_refusal("/nonexistent-faultline-test/x", "\"/nonexistent-faultline-test/x\" does "
							"not exist (expected a cgroup v2 "
							"directory");
	cgroup_refusal("", "\"\" is not a cgroup (expected a cgroup v2 directory");
}

static void cgroup_that_is_a_file_is_refused(void **state)
{
	char path[] = "/tmp/fl-test-cgroup-XXXXXX";
	int fd = mkstemp(path);
	char needle[128];

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	snprintf(needle, sizeof(needle), "\"%s\" is not a directory (expected a cgroup v2", path);
	cgroup_refusal(path, needle);
	unlink(path);
}

static void directory_outside_cgroup2_is_refused(void **state)
{
	char path[] = "/tmp/fl-test-cgroup-XXXXXX";
	char needle[128];

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(needle, sizeof(needle), "\"%s\" is not on a cgroup v2 file system", path);
	cgroup_refusal(path, needle);
	rmdir(path);
}

static void relative_cgroup_is_read_under_the_cgroup2_mount(void **state)
{
	char mnt[4096], abs[4096];
	struct fl_error err = {0};
	struct stat st;
	uint64_t id = 0;

	(void)state;
	if (fl_cgroup2_mount(mnt, sizeof(mnt))) {
		cgroup_refusal("no-such-cgroup", "no cgroup v2 file system is mounted here");
		skip();
	}
	cgroup_refusal("no-such-faultline-cgroup", "its path under that mount: system.slice or "
						   "/system.slice");
	/* the root of the hierarchy, named relatively and absolutely */
	assert_int_equal(stat(mnt, &st), 0);
	assert_int_equal(fl_cgroup_id(".", "--cgroup", abs, sizeof(abs), &id, &err), 0);
	assert_int_equal(id, (uint64_t)st.st_ino);
	id = 0;
	assert_int_equal(fl_cgroup_id(mnt, "--cgroup", abs, sizeof(abs), &id, &err), 0);
	assert_int_equal(id, (uint64_t)st.st_ino);
	assert_string_equal(abs, mnt);
}

static void hierarchy_path_as_proc_pid_cgroup_writes_it_is_read_under_the_mount(void **state)
{
	char mnt[4096], abs[4096], sub[4200];
	struct fl_error err = {0};
	struct stat st;
	uint64_t id = 0;

	(void)state;
	if (fl_cgroup2_mount(mnt, sizeof(mnt)))
		skip();
	/* "0::/" in /proc/PID/cgroup: the root of the hierarchy */
	assert_int_equal(stat(mnt, &st), 0);
	assert_int_equal(fl_cgroup_id("/", "--cgroup", abs, sizeof(abs), &id, &err), 0);
	assert_int_equal(id, (uint64_t)st.st_ino);
	assert_string_equal(abs, mnt);
	/* a child, "/fl-unit-PID" */
	snprintf(sub, sizeof(sub), "%s/fl-unit-%d", mnt, (int)getpid());
	if (mkdir(sub, 0755))
		skip(); /* not root */
	assert_int_equal(stat(sub, &st), 0);
	snprintf(abs, sizeof(abs), "/fl-unit-%d", (int)getpid());
	assert_int_equal(fl_cgroup_id(abs, "--cgroup", abs, sizeof(abs), &id, &err), 0);
	assert_int_equal(id, (uint64_t)st.st_ino);
	assert_string_equal(abs, sub);
	rmdir(sub);
}

/* Interfaces ---------------------------------------------------------------- */

static void unknown_dev_is_refused(void **state)
{
	const char *devs[] = {"lo", "nosuch-fl0"};
	struct fl_rule_spec spec = {0};
	struct fl_error err = {0};
	int ifs[FL_TARGET_DEVS_MAX], n = 7;

	(void)state;
	assert_int_equal(fl_target_resolve_devs(&spec, devs, 2, 0, ifs, &n, NULL, &err), -ENODEV);
	assert_int_equal(n, 0);
	assert_string_equal(err.field, "--dev");
	assert_string_equal(err.msg, "no interface named \"nosuch-fl0\" here");
}

static void named_devs_are_deduplicated_and_may_be_loopback(void **state)
{
	const char *devs[] = {"lo", "lo"};
	struct fl_rule_spec spec = {0};
	struct fl_error err = {0};
	enum fl_devs_source src = FL_DEVS_WIDE;
	int ifs[FL_TARGET_DEVS_MAX], n = 0;

	(void)state;
	assert_int_equal(fl_target_resolve_devs(&spec, devs, 2, 0, ifs, &n, &src, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ifs[0], (int)if_nametoindex("lo"));
	assert_int_equal(src, FL_DEVS_NAMED);
}

static void no_dev_and_no_address_is_refused_unless_wide(void **state)
{
	struct fl_rule_spec spec = {0};
	struct fl_error err = {0};
	int ifs[FL_TARGET_DEVS_MAX], n = 0;

	(void)state;
	assert_int_equal(fl_target_resolve_devs(&spec, NULL, 0, 0, ifs, &n, NULL, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "--dev is required when no --host or --cidr"));
	assert_non_null(strstr(err.msg, "--allow-wide"));
	/* a /0 says nothing about where traffic goes either */
	spec.n_cidrs = 1;
	spec.cidrs[0].family = AF_INET;
	assert_int_equal(fl_target_resolve_devs(&spec, NULL, 0, 0, ifs, &n, NULL, &err), -EINVAL);
	assert_string_equal(err.field, "--cidr");
	assert_non_null(strstr(err.msg, "0.0.0.0/0 covers every address"));
}

static void wide_never_includes_loopback(void **state)
{
	struct fl_rule_spec spec = {0};
	struct fl_error err = {0};
	int ifs[FL_TARGET_DEVS_MAX], n = 0, r;

	(void)state;
	r = fl_target_resolve_devs(&spec, NULL, 0, 1, ifs, &n, NULL, &err);
	if (r == -ENODEV) { /* nothing but lo is up here */
		assert_string_equal(err.msg, "no interface other than loopback is up here");
		return;
	}
	assert_int_equal(r, 0);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(ifs[i], (int)if_nametoindex("lo"));
}

static void address_routed_through_loopback_is_refused(void **state)
{
	struct fl_rule_spec spec = {0};
	struct fl_error err = {0};
	int ifs[FL_TARGET_DEVS_MAX], n = 0;
	unsigned nc = 0;

	(void)state;
	assert_int_equal(
	    fl_parse_cidrs("127.0.0.1", "--host", 1, spec.cidrs, &nc, FL_CIDRS_MAX, &err), 0);
	spec.n_cidrs = nc;
	assert_int_equal(fl_target_resolve_devs(&spec, NULL, 0, 0, ifs, &n, NULL, &err), -EINVAL);
	assert_int_equal(n, 0);
	assert_string_equal(err.field, "--host");
	assert_string_equal(
	    err.msg, "127.0.0.1 routes through lo; name it with --dev lo to target loopback");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(host_is_a_full_length_prefix_in_network_order),
	    cmocka_unit_test(cidr_keeps_the_written_prefix_length),
	    cmocka_unit_test(lists_mix_families_and_several_calls_add_up),
	    cmocka_unit_test(host_bits_are_refused_naming_the_network_meant),
	    cmocka_unit_test(cidr_without_prefix_length_is_refused),
	    cmocka_unit_test(host_with_prefix_length_is_refused),
	    cmocka_unit_test(bad_prefix_lengths_are_refused),
	    cmocka_unit_test(malformed_addresses_are_refused),
	    cmocka_unit_test(empty_items_are_refused),
	    cmocka_unit_test(ipv4_mapped_ipv6_is_refused_naming_the_ipv4_form),
	    cmocka_unit_test(more_than_max_addresses_are_refused),
	    cmocka_unit_test(refusal_midway_leaves_the_count_untouched),
	    cmocka_unit_test(fmt_cidr_writes_what_the_parser_reads_back),
	    cmocka_unit_test(cgroup_that_does_not_exist_is_refused),
	    cmocka_unit_test(cgroup_that_is_a_file_is_refused),
	    cmocka_unit_test(directory_outside_cgroup2_is_refused),
	    cmocka_unit_test(relative_cgroup_is_read_under_the_cgroup2_mount),
	    cmocka_unit_test(hierarchy_path_as_proc_pid_cgroup_writes_it_is_read_under_the_mount),
	    cmocka_unit_test(unknown_dev_is_refused),
	    cmocka_unit_test(named_devs_are_deduplicated_and_may_be_loopback),
	    cmocka_unit_test(no_dev_and_no_address_is_refused_unless_wide),
	    cmocka_unit_test(wide_never_includes_loopback),
	    cmocka_unit_test(address_routed_through_loopback_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
