/*
 * tests/unit/test_units.c - the unit parser accepts what a tc user writes,
 * with exact values, and refuses everything else with a message that names
 * the field, the bad text and the expected form.
 *
 * Each test is a table: accepted forms with the exact integer they must give,
 * refused forms with a substring the message must contain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faultline/units.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct accept64 {
	const char *in;
	uint64_t want;
};

struct refusal {
	const char *in;
	const char *needle; /* a substring of err->msg */
};

enum kind { DURATION, DURATION_ALLOW_ZERO, PERCENT, RATE, SIZE, PORTS };

static const char *const field_of[] = {
    [DURATION] = "faults[0].delay.time",
    [DURATION_ALLOW_ZERO] = "faults[0].delay.jitter",
    [PERCENT] = "loss",
    [RATE] = "--rate",
    [SIZE] = "limit",
    [PORTS] = "--port",
};

/* Run one parser on s; the value goes to *v (ports: the count of ranges). */
static int parse(enum kind k, const char *s, uint64_t *v, struct fl_error *err)
{
	struct fl_port_set ports;
	uint32_t ppb;
	int r;

	switch (k) {
	case DURATION:
		return fl_parse_duration(s, field_of[k], 0, v, err);
	case DURATION_ALLOW_ZERO:
		return fl_parse_duration(s, field_of[k], 1, v, err);
	case PERCENT:
		r = fl_parse_percent(s, field_of[k], &ppb, err);
		if (r == 0)
			*v = ppb;
		return r;
	case RATE:
		return fl_parse_rate(s, field_of[k], v, err);
	case SIZE:
		return fl_parse_size(s, field_of[k], v, err);
	case PORTS:
		r = fl_parse_ports(s, field_of[k], &ports, err);
		if (r == 0)
			*v = ports.n;
		return r;
	}
	return -1;
}

static void check_accepts(enum kind k, const struct accept64 *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fl_error err = {0};
		uint64_t v = 0xdeadbeef;
		int r = parse(k, t[i].in, &v, &err);

		if (r != 0)
			fail_msg("\"%s\" refused (%d): %s", t[i].in, r, err.msg);
		if (v != t[i].want)
			fail_msg("\"%s\" gave %llu, want %llu", t[i].in, (unsigned long long)v,
				 (unsigned long long)t[i].want);
	}
}

static void check_refuses(enum kind k, const struct refusal *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fl_error err = {0};
		uint64_t v = 0xdeadbeef;
		int r = parse(k, t[i].in, &v, &err);

		if (r != -EINVAL)
			fail_msg("\"%s\" returned %d (value %llu), want -EINVAL", t[i].in, r,
				 (unsigned long long)v);
		if (strcmp(err.field, field_of[k]) != 0)
			fail_msg("\"%s\": field \"%s\", want \"%s\"", t[i].in, err.field,
				 field_of[k]);
		if (!strstr(err.msg, t[i].needle))
			fail_msg("\"%s\": message <%s> lacks <%s>", t[i].in, err.msg, t[i].needle);
		if (v != 0xdeadbeef)
			fail_msg("\"%s\": refused but wrote the output", t[i].in);
	}
}

#define ACCEPTS(k, ...)                                                                            \
	do {                                                                                       \
		static const struct accept64 t_[] = {__VA_ARGS__};                                 \
		check_accepts(k, t_, ARRAY_SIZE(t_));                                              \
	} while (0)

#define REFUSES(k, ...)                                                                            \
	do {                                                                                       \
		static const struct refusal t_[] = {__VA_ARGS__};                                  \
		check_refuses(k, t_, ARRAY_SIZE(t_));                                              \
	} while (0)

/* Durations --------------------------------------------------------------- */

static void duration_accepts_every_unit_and_alias_with_exact_ns(void **state)
{
	(void)state;
	ACCEPTS(DURATION, {"250ns", 250}, {"250nsec", 250}, {"250nsecs", 250}, {"100us", 100000},
		{"100usec", 100000}, {"100usecs", 100000}, {"500ms", 500000000},
		{"500msec", 500000000}, {"500msecs", 500000000}, {"1s", 1000000000},
		{"1sec", 1000000000}, {"30secs", 30000000000}, {"2m", 120000000000},
		{"2min", 120000000000}, {"2mins", 120000000000}, {"1h", 3600000000000},
		{"1hour", 3600000000000}, {"3hours", 10800000000000});
}

static void duration_accepts_decimal_with_exact_ns(void **state)
{
	(void)state;
	ACCEPTS(DURATION, {"1.5s", 1500000000}, {"0.5ms", 500000}, {"2.5us", 2500},
		{"1.25m", 75000000000}, {"0.5h", 1800000000000}, {".5s", 500000000},
		{"0.000000001s", 1}, {"1.000000000s", 1000000000},
		{"1.50000000000000000000s", 1500000000}, {"0.1s", 100000000}, {"0.001ms", 1000},
		{"007ms", 7000000});
}

static void duration_units_are_case_insensitive_as_in_tc(void **state)
{
	(void)state;
	ACCEPTS(DURATION, {"1S", 1000000000}, {"500MS", 500000000}, {"100Usec", 100000},
		{"2Min", 120000000000}, {"1H", 3600000000000});
}

static void duration_accepts_up_to_uint64_max_ns(void **state)
{
	(void)state;
	ACCEPTS(DURATION, {"18446744073709551615ns", UINT64_MAX},
		{"18446744073.709551615s", UINT64_MAX}, {"5124095h", 5124095 * 3600000000000ull});
}

static void duration_accepts_zero_only_when_allowed(void **state)
{
	(void)state;
	ACCEPTS(DURATION_ALLOW_ZERO, {"0s", 0}, {"0ms", 0}, {"0.0s", 0}, {"0", 0}, {"0.0", 0},
		{"10ms", 10000000});
	REFUSES(DURATION, {"0s", "\"0s\" is zero (expected a duration above 0)"},
		{"0ms", "is zero"}, {"0.000s", "is zero"},
		{"0", "\"0\" is zero (expected a duration above 0)"});
}

static void duration_refuses_bare_number(void **state)
{
	(void)state;
	REFUSES(DURATION, {"60", "\"60\" needs a unit, e.g. 60s, 500ms, 2m"},
		{"1.5", "\"1.5\" needs a unit, e.g. 1.5s, 500ms, 2m"},
		{"100", "\"100\" needs a unit"});
	REFUSES(DURATION_ALLOW_ZERO, {"60", "\"60\" needs a unit, e.g. 60s, 500ms, 2m"});
}

static void duration_refuses_unknown_unit(void **state)
{
	(void)state;
	REFUSES(DURATION,
		{"10 parsecs", "\"10 parsecs\" is not a duration (expected a number and a unit: "
			       "ns, us, ms, s, m, h)"},
		{"10parsecs", "\"10parsecs\" is not a duration"},
		{"1d", "\"1d\" is not a duration"}, {"5mss", "\"5mss\" is not a duration"},
		{"5µs", "\"5\\xc2\\xb5s\" is not a duration"}, {"ms", "\"ms\" is not a duration"},
		{"s", "\"s\" is not a duration"});
}

static void duration_refuses_empty_and_whitespace(void **state)
{
	(void)state;
	REFUSES(DURATION, {"", "\"\" is not a duration"}, {" ", "\" \" is not a duration"},
		{" 5ms", "\" 5ms\" is not a duration"}, {"5ms ", "\"5ms \" is not a duration"},
		{"5 ms", "\"5 ms\" is not a duration"}, {"\t5ms", "\"\\t5ms\" is not a duration"},
		{"5ms\n", "\"5ms\\n\" is not a duration"});
}

static void duration_refuses_signs(void **state)
{
	(void)state;
	REFUSES(DURATION, {"-5ms", "\"-5ms\" is negative (expected a duration such as 500ms)"},
		{"-0s", "\"-0s\" is negative"}, {"-.5s", "\"-.5s\" is negative"},
		{"+5ms", "\"+5ms\" is not a duration"}, {"--5ms", "\"--5ms\" is not a duration"},
		{"-", "\"-\" is not a duration"});
	REFUSES(DURATION_ALLOW_ZERO, {"-0s", "is negative"}, {"-0", "is negative"});
}

static void duration_refuses_nan_inf_hex_and_exponent(void **state)
{
	(void)state;
	REFUSES(DURATION, {"nan", "\"nan\" is not a duration"},
		{"nans", "\"nans\" is not a duration"}, {"inf", "\"inf\" is not a duration"},
		{"infs", "\"infs\" is not a duration"}, {"infinity", "is not a duration"},
		{"0x10ms", "\"0x10ms\" is not a duration"}, {"0x1p3s", "is not a duration"},
		{"1e3ms", "\"1e3ms\" is not a duration"}, {"1E3s", "is not a duration"});
}

static void duration_refuses_malformed_decimals(void **state)
{
	(void)state;
	REFUSES(DURATION, {"5.s", "\"5.s\" is not a duration"}, {".s", "\".s\" is not a duration"},
		{".", "\".\" is not a duration"}, {"1.5.5s", "\"1.5.5s\" is not a duration"},
		{"1,5s", "\"1,5s\" is not a duration"}, {"1_000ms", "is not a duration"});
}

static void duration_refuses_trailing_garbage(void **state)
{
	(void)state;
	REFUSES(DURATION, {"5ms;", "\"5ms;\" is not a duration"},
		{"5ms5", "\"5ms5\" is not a duration"}, {"5s5ms", "\"5s5ms\" is not a duration"},
		{"30%", "\"30%\" is not a duration"}, {"1mbit", "\"1mbit\" is not a duration"});
}

static void duration_refuses_overflow_of_uint64(void **state)
{
	(void)state;
	REFUSES(DURATION, {"18446744073709551616ns", "\"18446744073709551616ns\" is too long"},
		{"18446744074s", "\"18446744074s\" is too long (at most 5124095h, 584 years)"},
		{"18446744073.709551616s", "is too long"}, {"5124096h", "is too long"},
		{"99999999999999999999999999999h", "is too long"},
		{"18446744073709551615.5ns", "is too long"});
}

static void duration_refuses_fraction_of_a_nanosecond(void **state)
{
	(void)state;
	REFUSES(DURATION, {"0.5ns", "\"0.5ns\" is not a whole number of nanoseconds"},
		{"1.0000000001s", "\"1.0000000001s\" is not a whole number of nanoseconds"},
		{"1.5ns", "is not a whole number of nanoseconds"},
		{"0.00000000000000000000001s", "is not a whole number of nanoseconds"});
}

/* Percentages ------------------------------------------------------------- */

static void percent_accepts_integer_with_exact_ppb(void **state)
{
	(void)state;
	ACCEPTS(PERCENT, {"30%", 300000000}, {"0%", 0}, {"100%", 1000000000}, {"1%", 10000000},
		{"030%", 300000000});
}

static void percent_accepts_bare_number_as_percent(void **state)
{
	(void)state;
	ACCEPTS(PERCENT, {"30", 300000000}, {"0", 0}, {"100", 1000000000}, {"0.5", 5000000});
}

static void percent_accepts_decimal_with_exact_ppb(void **state)
{
	(void)state;
	ACCEPTS(PERCENT, {"0.5%", 5000000}, {"0.0000001%", 1}, {"0.0001%", 1000},
		{"99.9999999%", 999999999}, {"12.345%", 123450000}, {"100.0%", 1000000000},
		{"100.000000000000%", 1000000000}, {".5%", 5000000}, {"0.10000000000%", 1000000},
		{"33.3333333%", 333333333});
}

static void percent_refuses_above_100(void **state)
{
	(void)state;
	REFUSES(PERCENT, {"130%", "\"130%\" is not a percentage between 0 and 100"},
		{"100.0000001%", "\"100.0000001%\" is not a percentage between 0 and 100"},
		{"100.00000000001%", "is not a percentage between 0 and 100"},
		{"101", "\"101\" is not a percentage between 0 and 100"},
		{"99999999999999999999999%", "is not a percentage between 0 and 100"});
}

static void percent_refuses_negative(void **state)
{
	(void)state;
	REFUSES(PERCENT, {"-1%", "\"-1%\" is not a percentage between 0 and 100"},
		{"-0%", "\"-0%\" is not a percentage between 0 and 100"},
		{"-0.5", "is not a percentage between 0 and 100"});
}

static void percent_refuses_double_percent_and_garbage(void **state)
{
	(void)state;
	REFUSES(PERCENT,
		{"30%%", "\"30%%\" is not a percentage (expected a number between 0 and 100, "
			 "e.g. 30% or 0.5%)"},
		{"%", "\"%\" is not a percentage"}, {"%30", "\"%30\" is not a percentage"},
		{"30%x", "\"30%x\" is not a percentage"},
		{"30pct", "\"30pct\" is not a percentage"},
		{"3 0%", "\"3 0%\" is not a percentage"}, {"30 %", "\"30 %\" is not a percentage"},
		{"1/2", "\"1/2\" is not a percentage"}, {"5.%", "\"5.%\" is not a percentage"});
}

static void percent_refuses_empty_whitespace_and_plus(void **state)
{
	(void)state;
	REFUSES(PERCENT, {"", "\"\" is not a percentage"}, {" 30%", "\" 30%\" is not a percentage"},
		{"30% ", "\"30% \" is not a percentage"}, {"+30%", "\"+30%\" is not a percentage"});
}

static void percent_refuses_nan_inf_hex_and_exponent(void **state)
{
	(void)state;
	REFUSES(PERCENT, {"nan", "\"nan\" is not a percentage"},
		{"nan%", "\"nan%\" is not a percentage"}, {"inf%", "\"inf%\" is not a percentage"},
		{"0x1e%", "\"0x1e%\" is not a percentage"},
		{"1e1%", "\"1e1%\" is not a percentage"});
}

static void percent_refuses_finer_than_one_ppb(void **state)
{
	(void)state;
	REFUSES(PERCENT,
		{"0.00000001%", "\"0.00000001%\" is finer than 0.0000001%, the smallest step"},
		{"33.33333333%", "is finer than 0.0000001%"});
}

/* Rates -------------------------------------------------------------------- */

static void rate_accepts_si_bit_units(void **state)
{
	(void)state;
	ACCEPTS(RATE, {"1bit", 1}, {"1kbit", 1000}, {"1mbit", 1000000}, {"1gbit", 1000000000},
		{"1tbit", 1000000000000}, {"100mbit", 100000000});
}

static void rate_accepts_iec_bit_units(void **state)
{
	(void)state;
	ACCEPTS(RATE, {"1kibit", 1024}, {"1mibit", 1048576}, {"1gibit", 1073741824},
		{"1tibit", 1099511627776}, {"10mibit", 10485760});
}

static void rate_accepts_byte_units_as_eight_bits(void **state)
{
	(void)state;
	ACCEPTS(RATE, {"1bps", 8}, {"1kbps", 8000}, {"1mbps", 8000000}, {"1gbps", 8000000000},
		{"1tbps", 8000000000000}, {"1kibps", 8192}, {"1mibps", 8388608},
		{"1gibps", 8589934592}, {"1tibps", 8796093022208});
}

static void rate_accepts_decimal_with_exact_bits(void **state)
{
	(void)state;
	ACCEPTS(RATE, {"1.5mbit", 1500000}, {"0.5kbit", 500}, {"1.5kibit", 1536},
		{"2.5mbps", 20000000}, {"0.125bps", 1}, {".5gbit", 500000000},
		{"1.000000000000kbit", 1000});
}

static void rate_units_are_case_insensitive_as_in_tc(void **state)
{
	(void)state;
	ACCEPTS(RATE, {"1Mbit", 1000000}, {"10GBit", 10000000000}, {"1KBps", 8000},
		{"1Kibit", 1024}, {"1MiBps", 8388608});
}

static void rate_accepts_bare_number_as_bits(void **state)
{
	(void)state;
	ACCEPTS(RATE, {"1000", 1000}, {"1", 1}, {"18446744073709551615", UINT64_MAX});
}

static void rate_refuses_zero(void **state)
{
	(void)state;
	REFUSES(RATE, {"0", "\"0\" is zero (expected a rate above 0)"},
		{"0mbit", "\"0mbit\" is zero"}, {"0.0kbit", "\"0.0kbit\" is zero"});
}

static void rate_refuses_fraction_of_a_bit(void **state)
{
	(void)state;
	REFUSES(RATE, {"1.5bit", "\"1.5bit\" is not a whole number of bits per second"},
		{"0.1bps", "is not a whole number of bits per second"},
		{"1.0001kbit", "is not a whole number of bits per second"},
		{"0.5", "is not a whole number of bits per second"});
}

static void rate_refuses_negative_signs_and_garbage(void **state)
{
	(void)state;
	REFUSES(RATE, {"-1mbit", "\"-1mbit\" is negative (expected a rate such as 1mbit)"},
		{"+1mbit", "\"+1mbit\" is not a rate (expected a number and a unit: bit, kbit"},
		{"", "\"\" is not a rate"}, {"1 mbit", "\"1 mbit\" is not a rate"},
		{" 1mbit", "\" 1mbit\" is not a rate"}, {"1mbit ", "\"1mbit \" is not a rate"},
		{"1mbitx", "\"1mbitx\" is not a rate"}, {"1mb", "\"1mb\" is not a rate"},
		{"mbit", "\"mbit\" is not a rate"}, {"nan", "\"nan\" is not a rate"},
		{"inf", "\"inf\" is not a rate"}, {"0x10mbit", "\"0x10mbit\" is not a rate"},
		{"1e6bit", "\"1e6bit\" is not a rate"}, {"1.mbit", "\"1.mbit\" is not a rate"},
		{"1mbit/s", "\"1mbit/s\" is not a rate"});
}

static void rate_refuses_overflow_of_uint64(void **state)
{
	(void)state;
	REFUSES(RATE, {"18446744073709551616", "\"18446744073709551616\" is too large"},
		{"18446744073709551616bit", "is too large"}, {"18446745tbit", "is too large"},
		{"2305843009213693952bps", "is too large"},
		{"18446744073709551615.5bit", "is too large"});
}

/* Sizes -------------------------------------------------------------------- */

static void size_accepts_bytes(void **state)
{
	(void)state;
	ACCEPTS(SIZE, {"1", 1}, {"1b", 1}, {"1500b", 1500}, {"1500", 1500},
		{"18446744073709551615b", UINT64_MAX});
}

static void size_accepts_1024_based_units_as_tc(void **state)
{
	(void)state;
	ACCEPTS(SIZE, {"1k", 1024}, {"1kb", 1024}, {"64kb", 65536}, {"1m", 1048576},
		{"1mb", 1048576}, {"1g", 1073741824}, {"1gb", 1073741824});
}

static void size_accepts_bit_units_as_tc(void **state)
{
	(void)state;
	ACCEPTS(SIZE, {"1kbit", 128}, {"1mbit", 131072}, {"1gbit", 134217728}, {"8kbit", 1024});
}

static void size_accepts_decimal_with_exact_bytes(void **state)
{
	(void)state;
	ACCEPTS(SIZE, {"1.5k", 1536}, {"0.5mb", 524288}, {"1.5kbit", 192}, {"2.0b", 2},
		{".25k", 256});
}

static void size_units_are_case_insensitive_as_in_tc(void **state)
{
	(void)state;
	ACCEPTS(SIZE, {"64KB", 65536}, {"1M", 1048576}, {"1B", 1}, {"1Gb", 1073741824},
		{"1KBit", 128});
}

static void size_refuses_zero_and_fraction_of_a_byte(void **state)
{
	(void)state;
	REFUSES(SIZE, {"0", "\"0\" is zero (expected a size above 0)"}, {"0kb", "is zero"},
		{"0.5b", "\"0.5b\" is not a whole number of bytes"},
		{"0.001k", "is not a whole number of bytes"},
		{"1.5", "is not a whole number of bytes"});
}

static void size_refuses_negative_signs_garbage_and_overflow(void **state)
{
	(void)state;
	REFUSES(SIZE, {"-1kb", "\"-1kb\" is negative (expected a size such as 64kb)"},
		{"+1kb", "\"+1kb\" is not a size (expected a number and a unit: b, kb, mb, gb"},
		{"", "\"\" is not a size"}, {"1 kb", "\"1 kb\" is not a size"},
		{"1kib", "\"1kib\" is not a size"}, {"1tb", "\"1tb\" is not a size"},
		{"1bit", "\"1bit\" is not a size"}, {"1kbps", "\"1kbps\" is not a size"},
		{"nan", "is not a size"}, {"inf", "is not a size"}, {"0x10", "is not a size"},
		{"1e3", "is not a size"}, {"17179869184g", "\"17179869184g\" is too large"},
		{"18446744073709551616", "is too large"});
	ACCEPTS(SIZE, {"17179869183g", 17179869183ull * 1073741824ull});
}

/* Ports -------------------------------------------------------------------- */

static void ports_parses_a_single_port_into_one_range(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(fl_parse_ports("80", "--port", &set, &err), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.r[0].lo, 80);
	assert_int_equal(set.r[0].hi, 80);
}

static void ports_parses_a_range(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(fl_parse_ports("8000-8100", "--port", &set, &err), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.r[0].lo, 8000);
	assert_int_equal(set.r[0].hi, 8100);
}

static void ports_parses_a_list_of_ports_and_ranges_in_order(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(fl_parse_ports("80,443,9000-9100,22", "--port", &set, &err), 0);
	assert_int_equal(set.n, 4);
	assert_int_equal(set.r[0].lo, 80);
	assert_int_equal(set.r[0].hi, 80);
	assert_int_equal(set.r[1].lo, 443);
	assert_int_equal(set.r[1].hi, 443);
	assert_int_equal(set.r[2].lo, 9000);
	assert_int_equal(set.r[2].hi, 9100);
	assert_int_equal(set.r[3].lo, 22);
	assert_int_equal(set.r[3].hi, 22);
}

static void ports_accepts_bounds_and_single_port_ranges(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(fl_parse_ports("1,65535,1-65535,80-80,080", "--port", &set, &err), 0);
	assert_int_equal(set.n, 5);
	assert_int_equal(set.r[0].lo, 1);
	assert_int_equal(set.r[0].hi, 1);
	assert_int_equal(set.r[1].lo, 65535);
	assert_int_equal(set.r[1].hi, 65535);
	assert_int_equal(set.r[2].lo, 1);
	assert_int_equal(set.r[2].hi, 65535);
	assert_int_equal(set.r[3].lo, 80);
	assert_int_equal(set.r[3].hi, 80);
	assert_int_equal(set.r[4].lo, 80);
	assert_int_equal(set.r[4].hi, 80);
}

static void ports_keeps_duplicates_and_overlaps_as_written(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(fl_parse_ports("80,80,70-90", "--port", &set, &err), 0);
	assert_int_equal(set.n, 3);
	assert_int_equal(set.r[1].lo, 80);
	assert_int_equal(set.r[2].lo, 70);
	assert_int_equal(set.r[2].hi, 90);
}

/* "1,2,...,n" */
static void port_list(char *buf, size_t len, unsigned n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 1; i <= n; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%u", i > 1 ? "," : "", i);
}

static void ports_accepts_32_items(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};
	char list[256];

	(void)state;
	port_list(list, sizeof(list), FL_PORT_RANGES_MAX);
	assert_int_equal(fl_parse_ports(list, "--port", &set, &err), 0);
	assert_int_equal(set.n, FL_PORT_RANGES_MAX);
	for (unsigned i = 0; i < FL_PORT_RANGES_MAX; i++) {
		assert_int_equal(set.r[i].lo, i + 1);
		assert_int_equal(set.r[i].hi, i + 1);
	}
}

static void ports_refuses_more_than_32_items(void **state)
{
	struct fl_port_set set;
	struct fl_error err = {0};
	char list[256];

	(void)state;
	port_list(list, sizeof(list), FL_PORT_RANGES_MAX + 1);
	assert_int_equal(fl_parse_ports(list, "--port", &set, &err), -EINVAL);
	assert_string_equal(err.field, "--port");
	assert_non_null(strstr(err.msg, "has more than 32 items"));
	/* The long list is cut in the message. */
	assert_non_null(strstr(err.msg, "\"1,2,3,4,5,6,7,8,9,10,"));
	assert_non_null(strstr(err.msg, "...\""));
}

static void ports_refuses_0_and_above_65535(void **state)
{
	(void)state;
	REFUSES(PORTS, {"0", "\"0\" is not a port between 1 and 65535"},
		{"65536", "\"65536\" is not a port between 1 and 65535"},
		{"99999999999999999999", "is not a port between 1 and 65535"},
		{"0-80", "\"0\" is not a port between 1 and 65535"},
		{"80-65536", "\"65536\" is not a port between 1 and 65535"},
		{"80,0", "\"0\" is not a port between 1 and 65535"});
}

static void ports_refuses_inverted_range(void **state)
{
	(void)state;
	REFUSES(PORTS, {"9-1", "\"9-1\" is not a range: its low end 9 is above its high end"},
		{"80,8100-8000", "\"8100-8000\" is not a range"});
}

static void ports_refuses_empty_items(void **state)
{
	(void)state;
	REFUSES(
	    PORTS,
	    {"80,,81", "\"80,,81\" has an empty item (expected a list such as 80,443,9000-9100)"},
	    {"80,", "\"80,\" has an empty item"}, {",80", "\",80\" has an empty item"},
	    {",", "\",\" has an empty item"},
	    {"", "\"\" is not a port (expected a number 1-65535, a range such as 8000-8100, or "
		 "a list such as 80,443,9000-9100)"});
}

static void ports_refuses_signs_whitespace_and_garbage(void **state)
{
	(void)state;
	REFUSES(PORTS, {"-80", "\"-80\" is not a port (expected a number 1-65535"},
		{"+80", "\"+80\" is not a port"}, {"80-", "\"80-\" is not a port"},
		{"-", "\"-\" is not a port"}, {"1-2-3", "\"1-2-3\" is not a port"},
		{" 80", "\" 80\" is not a port"}, {"80 ", "\"80 \" is not a port"},
		{"80, 443", "\" 443\" is not a port"}, {"80 - 90", "\"80 - 90\" is not a port"},
		{"http", "\"http\" is not a port"}, {"0x50", "\"0x50\" is not a port"},
		{"80.0", "\"80.0\" is not a port"}, {"80;443", "\"80;443\" is not a port"});
}

static void ports_refusal_leaves_the_set_untouched(void **state)
{
	struct fl_port_set set = {.n = 7};
	struct fl_error err = {0};

	(void)state;
	set.r[0].lo = 1234;
	assert_int_equal(fl_parse_ports("80,443,0", "--port", &set, &err), -EINVAL);
	assert_int_equal(set.n, 7);
	assert_int_equal(set.r[0].lo, 1234);
}

/* Errors ------------------------------------------------------------------- */

static void refusal_leaves_percent_output_untouched(void **state)
{
	struct fl_error err = {0};
	uint32_t ppb = 42;

	(void)state;
	assert_int_equal(fl_parse_percent("130%", "loss", &ppb, &err), -EINVAL);
	assert_int_equal(ppb, 42);
}

static void refusal_without_an_error_struct_still_returns_einval(void **state)
{
	struct fl_port_set set;
	uint64_t v;
	uint32_t ppb;

	(void)state;
	assert_int_equal(fl_parse_duration("60", "delay", 0, &v, NULL), -EINVAL);
	assert_int_equal(fl_parse_percent("130%", "loss", &ppb, NULL), -EINVAL);
	assert_int_equal(fl_parse_rate("fast", "rate", &v, NULL), -EINVAL);
	assert_int_equal(fl_parse_size("big", "limit", &v, NULL), -EINVAL);
	assert_int_equal(fl_parse_ports("9-1", "port", &set, NULL), -EINVAL);
}

static void null_text_is_refused_like_an_empty_string(void **state)
{
	struct fl_error err = {0};
	struct fl_port_set set;
	uint64_t v;
	uint32_t ppb;

	(void)state;
	assert_int_equal(fl_parse_duration(NULL, "delay", 1, &v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "\"\" is not a duration"));
	assert_int_equal(fl_parse_percent(NULL, "loss", &ppb, &err), -EINVAL);
	assert_int_equal(fl_parse_rate(NULL, "rate", &v, &err), -EINVAL);
	assert_int_equal(fl_parse_size(NULL, "limit", &v, &err), -EINVAL);
	assert_int_equal(fl_parse_ports(NULL, "port", &set, &err), -EINVAL);
}

static void message_escapes_quotes_and_control_characters(void **state)
{
	(void)state;
	REFUSES(DURATION, {"5\"ms", "\"5\\\"ms\" is not a duration"},
		{"5\\ms", "\"5\\\\ms\" is not a duration"},
		{"5\x01ms", "\"5\\x01ms\" is not a duration"});
}

static void message_cuts_long_text_and_fits_the_buffer(void **state)
{
	struct fl_error err = {0};
	char in[1000];
	uint64_t v;

	(void)state;
	memset(in, 'x', sizeof(in) - 1);
	in[sizeof(in) - 1] = '\0';
	assert_int_equal(fl_parse_duration(in, "delay", 0, &v, &err), -EINVAL);
	/* 48 bytes of the text, "...", then the whole expected form. */
	assert_int_equal(strncmp(err.msg,
				 "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is "
				 "not a duration (expected a number and a unit: ns, us, ms, "
				 "s, m, h)",
				 sizeof(err.msg)),
			 0);
}

/* Formatting --------------------------------------------------------------- */

struct fmt_case {
	uint64_t v;
	const char *want;
};

static void fmt_duration_writes_the_shortest_natural_form(void **state)
{
	static const struct fmt_case t[] = {
	    {1500000000, "1.5s"},
	    {500000000, "500ms"},
	    {100000000, "100ms"},
	    {1000000000, "1s"},
	    {1250000000, "1.25s"},
	    {1001000000, "1.001s"},
	    {150000000000, "2.5m"},
	    {8100000000000, "135m"},
	    {3601000000000, "3601s"},
	    {1234500000, "1.2345s"},
	    {120000000000, "2m"},
	    {90000000000, "90s"},
	    {61000000000, "61s"},
	    {3600000000000, "1h"},
	    {5400000000000, "90m"},
	    {1, "1ns"},
	    {1500, "1.5us"},
	    {250, "250ns"},
	    {0, "0s"},
	    {UINT64_MAX, "18446744073.709551615s"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_string_equal(fl_fmt_duration(t[i].v, buf, sizeof(buf)), t[i].want);
}

static void fmt_percent_writes_the_shortest_natural_form(void **state)
{
	static const struct fmt_case t[] = {
	    {300000000, "30%"}, {5000000, "0.5%"},	{1000000000, "100%"},	    {0, "0%"},
	    {1, "0.0000001%"},	{123450000, "12.345%"}, {999999999, "99.9999999%"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_string_equal(fl_fmt_percent((uint32_t)t[i].v, buf, sizeof(buf)), t[i].want);
}

static void fmt_rate_writes_the_shortest_natural_form(void **state)
{
	static const struct fmt_case t[] = {
	    {1000000, "1mbit"},	    {1500000, "1.5mbit"},     {1, "1bit"},
	    {1000, "1kbit"},	    {1024, "1024bit"},	      {0, "0bit"},
	    {8000000000, "8gbit"},  {1000000000000, "1tbit"}, {1000000000000000, "1000tbit"},
	    {100000000, "100mbit"}, {2500, "2.5kbit"},
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_string_equal(fl_fmt_rate(t[i].v, buf, sizeof(buf)), t[i].want);
}

static void fmt_output_parses_back_to_the_same_value(void **state)
{
	static const uint64_t durations[] = {1,		  999,		 1500,	       1500000000,
					     61000000000, 5400000000000, 123456789012, UINT64_MAX};
	static const uint32_t percents[] = {0, 1, 5000000, 300000000, 333333333, 1000000000};
	static const uint64_t rates[] = {1, 1024, 1500000, 8000000000, 123456789, UINT64_MAX};
	struct fl_error err = {0};
	char buf[64];
	uint64_t v;
	uint32_t ppb;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(durations); i++) {
		assert_int_equal(fl_parse_duration(fl_fmt_duration(durations[i], buf, sizeof(buf)),
						   "d", 0, &v, &err),
				 0);
		assert_true(v == durations[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(percents); i++) {
		assert_int_equal(fl_parse_percent(fl_fmt_percent(percents[i], buf, sizeof(buf)),
						  "p", &ppb, &err),
				 0);
		assert_int_equal(ppb, percents[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		assert_int_equal(
		    fl_parse_rate(fl_fmt_rate(rates[i], buf, sizeof(buf)), "r", &v, &err), 0);
		assert_true(v == rates[i]);
	}
}

static void fmt_truncates_to_the_buffer_and_terminates_it(void **state)
{
	char buf[4];

	(void)state;
	assert_string_equal(fl_fmt_duration(1500000000, buf, sizeof(buf)), "1.5");
	assert_string_equal(fl_fmt_percent(5000000, buf, sizeof(buf)), "0.5");
	assert_string_equal(fl_fmt_rate(1500000, buf, sizeof(buf)), "1.5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(duration_accepts_every_unit_and_alias_with_exact_ns),
	    cmocka_unit_test(duration_accepts_decimal_with_exact_ns),
	    cmocka_unit_test(duration_units_are_case_insensitive_as_in_tc),
	    cmocka_unit_test(duration_accepts_up_to_uint64_max_ns),
	    cmocka_unit_test(duration_accepts_zero_only_when_allowed),
	    cmocka_unit_test(duration_refuses_bare_number),
	    cmocka_unit_test(duration_refuses_unknown_unit),
	    cmocka_unit_test(duration_refuses_empty_and_whitespace),
	    cmocka_unit_test(duration_refuses_signs),
	    cmocka_unit_test(duration_refuses_nan_inf_hex_and_exponent),
	    cmocka_unit_test(duration_refuses_malformed_decimals),
	    cmocka_unit_test(duration_refuses_trailing_garbage),
	    cmocka_unit_test(duration_refuses_overflow_of_uint64),
	    cmocka_unit_test(duration_refuses_fraction_of_a_nanosecond),
	    cmocka_unit_test(percent_accepts_integer_with_exact_ppb),
	    cmocka_unit_test(percent_accepts_bare_number_as_percent),
	    cmocka_unit_test(percent_accepts_decimal_with_exact_ppb),
	    cmocka_unit_test(percent_refuses_above_100),
	    cmocka_unit_test(percent_refuses_negative),
	    cmocka_unit_test(percent_refuses_double_percent_and_garbage),
	    cmocka_unit_test(percent_refuses_empty_whitespace_and_plus),
	    cmocka_unit_test(percent_refuses_nan_inf_hex_and_exponent),
	    cmocka_unit_test(percent_refuses_finer_than_one_ppb),
	    cmocka_unit_test(rate_accepts_si_bit_units),
	    cmocka_unit_test(rate_accepts_iec_bit_units),
	    cmocka_unit_test(rate_accepts_byte_units_as_eight_bits),
	    cmocka_unit_test(rate_accepts_decimal_with_exact_bits),
	    cmocka_unit_test(rate_units_are_case_insensitive_as_in_tc),
	    cmocka_unit_test(rate_accepts_bare_number_as_bits),
	    cmocka_unit_test(rate_refuses_zero),
	    cmocka_unit_test(rate_refuses_fraction_of_a_bit),
	    cmocka_unit_test(rate_refuses_negative_signs_and_garbage),
	    cmocka_unit_test(rate_refuses_overflow_of_uint64),
	    cmocka_unit_test(size_accepts_bytes),
	    cmocka_unit_test(size_accepts_1024_based_units_as_tc),
	    cmocka_unit_test(size_accepts_bit_units_as_tc),
	    cmocka_unit_test(size_accepts_decimal_with_exact_bytes),
	    cmocka_unit_test(size_units_are_case_insensitive_as_in_tc),
	    cmocka_unit_test(size_refuses_zero_and_fraction_of_a_byte),
	    cmocka_unit_test(size_refuses_negative_signs_garbage_and_overflow),
	    cmocka_unit_test(ports_parses_a_single_port_into_one_range),
	    cmocka_unit_test(ports_parses_a_range),
	    cmocka_unit_test(ports_parses_a_list_of_ports_and_ranges_in_order),
	    cmocka_unit_test(ports_accepts_bounds_and_single_port_ranges),
	    cmocka_unit_test(ports_keeps_duplicates_and_overlaps_as_written),
	    cmocka_unit_test(ports_accepts_32_items),
	    cmocka_unit_test(ports_refuses_more_than_32_items),
	    cmocka_unit_test(ports_refuses_0_and_above_65535),
	    cmocka_unit_test(ports_refuses_inverted_range),
	    cmocka_unit_test(ports_refuses_empty_items),
	    cmocka_unit_test(ports_refuses_signs_whitespace_and_garbage),
	    cmocka_unit_test(ports_refusal_leaves_the_set_untouched),
	    cmocka_unit_test(refusal_leaves_percent_output_untouched),
	    cmocka_unit_test(refusal_without_an_error_struct_still_returns_einval),
	    cmocka_unit_test(null_text_is_refused_like_an_empty_string),
	    cmocka_unit_test(message_escapes_quotes_and_control_characters),
	    cmocka_unit_test(message_cuts_long_text_and_fits_the_buffer),
	    cmocka_unit_test(fmt_duration_writes_the_shortest_natural_form),
	    cmocka_unit_test(fmt_percent_writes_the_shortest_natural_form),
	    cmocka_unit_test(fmt_rate_writes_the_shortest_natural_form),
	    cmocka_unit_test(fmt_output_parses_back_to_the_same_value),
	    cmocka_unit_test(fmt_truncates_to_the_buffer_and_terminates_it),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
