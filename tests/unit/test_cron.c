/*
 * tests/unit/test_cron.c - schedules: every form a scenario's schedule: may
 * take parses to the times it names, every bad form is refused with the
 * message the scenario checker gives, and the next fire time is cron's,
 * across weekends, month and year ends, leap days and DST changes.
 *
 * Times are checked in UTC (TZ=UTC) unless a test says otherwise; the DST
 * tests set their zone and go back to UTC after. The last tests compare
 * fl_cron_next with a minute-by-minute replay of cronie's main loop around
 * real DST changes of four zones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faultline/cron.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NS	      1000000000ull
#define MIN	      60
#define HOUR	      3600
#define DAY	      86400

static void use_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int tz_utc(void **state)
{
	(void)state;
	use_tz("UTC");
	return 0;
}

static int tz_new_york(void **state)
{
	(void)state;
	use_tz("America/New_York");
	return 0;
}

/* Seconds since the epoch of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
			.tm_mon = mo - 1,
			.tm_mday = d,
			.tm_hour = h,
			.tm_min = mi,
			.tm_sec = s};

	return (int64_t)timegm(&tm);
}

static struct fl_cron parse_ok(const char *text)
{
	struct fl_error err = {0};
	struct fl_cron c;

	memset(&c, 0xa5, sizeof(c));
	if (fl_cron_parse(text, &c, &err))
		fail_msg("\"%s\" refused: %s", text, err.msg);
	return c;
}

/* The next fire time after `after` (seconds, plus extra_ns), in seconds; -errno if none. */
static int64_t next_after_ns(const struct fl_cron *c, int64_t after, uint64_t extra_ns)
{
	uint64_t nx = 0;
	int r = fl_cron_next(c, (uint64_t)after * NS + extra_ns, &nx);

	if (r)
		return r;
	assert_int_equal(nx % NS, 0);
	return (int64_t)(nx / NS);
}

static int64_t next_after(const struct fl_cron *c, int64_t after)
{
	return next_after_ns(c, after, 0);
}

static int64_t next_of(const char *text, int64_t after)
{
	struct fl_cron c = parse_ok(text);

	return next_after(&c, after);
}

/* Assert that text's next fire after `after` is `want` (seconds), naming both on failure. */
#define assert_next(text, after, want)                                                             \
	do {                                                                                       \
		int64_t got_ = next_of(text, after), want_ = (want);                               \
		if (got_ != want_)                                                                 \
			fail_msg("\"%s\" after %lld: got %lld, want %lld (%+lld s)", text,         \
				 (long long)(after), (long long)got_, (long long)want_,            \
				 (long long)(got_ - want_));                                       \
	} while (0)

static uint64_t bits(const int *v, size_t n)
{
	uint64_t b = 0;

	for (size_t i = 0; i < n; i++)
		b |= 1ull << v[i];
	return b;
}

static uint64_t span(int lo, int hi, int step)
{
	uint64_t b = 0;

	for (int i = lo; i <= hi; i += step)
		b |= 1ull << i;
	return b;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

static void parse_five_fields_sets_the_bits_and_stars(void **state)
{
	struct fl_cron c = parse_ok("*/5 3 * jan-mar 1-5");

	(void)state;
	assert_false(c.every);
	assert_int_equal(c.every_ns, 0);
	assert_int_equal(c.minute, span(0, 59, 5));
	assert_int_equal(c.hour, 1u << 3);
	assert_int_equal(c.mday, span(1, 31, 1));
	assert_int_equal(c.month, span(1, 3, 1));
	assert_int_equal(c.wday, span(1, 5, 1));
	assert_true(c.minute_star);
	assert_false(c.hour_star);
	assert_true(c.mday_star);
	assert_false(c.wday_star);

	c = parse_ok("  0\t12 1,15 *  sun  ");
	assert_int_equal(c.minute, 1);
	assert_int_equal(c.hour, 1u << 12);
	assert_int_equal(c.mday, (1u << 1) | (1u << 15));
	assert_int_equal(c.month, span(1, 12, 1));
	assert_int_equal(c.wday, 1);
	assert_false(c.minute_star || c.hour_star || c.mday_star || c.wday_star);
}

static void parse_lists_ranges_and_steps(void **state)
{
	static const int m1[] = {1, 4, 7, 10, 50, 59};
	static const int m2[] = {5, 25, 45};
	struct fl_cron c;

	(void)state;
	c = parse_ok("1-10/3,50,59 */6 1-31/10 */4 0-6/2");
	assert_int_equal(c.minute, bits(m1, ARRAY_SIZE(m1)));
	assert_int_equal(c.hour, span(0, 23, 6));
	assert_int_equal(c.mday, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
	assert_int_equal(c.month, (1u << 1) | (1u << 5) | (1u << 9));
	assert_int_equal(c.wday, span(0, 6, 2));
	assert_true(c.hour_star);
	assert_false(c.minute_star);
	assert_false(c.mday_star); /* "1-31/10" does not start with '*' */
	assert_false(c.wday_star);

	/* "N/STEP" is N to the end of the field */
	c = parse_ok("5/20 22/1 30/1 11/1 6/1");
	assert_int_equal(c.minute, bits(m2, ARRAY_SIZE(m2)));
	assert_int_equal(c.hour, span(22, 23, 1));
	assert_int_equal(c.mday, span(30, 31, 1));
	assert_int_equal(c.month, span(11, 12, 1));
	assert_int_equal(c.wday, (1u << 6) | 1u); /* 6-7: Saturday and Sunday */

	/* a star anywhere but first does not make the field starred */
	c = parse_ok("0 0 1,* * 1");
	assert_false(c.mday_star);
	assert_int_equal(c.mday, span(1, 31, 1));
	c = parse_ok("*/59 */23 */31 */12 */7");
	assert_int_equal(c.minute, 1 | (1ull << 59));
	assert_int_equal(c.hour, 1 | (1u << 23));
	assert_int_equal(c.mday, 1u << 1);
	assert_int_equal(c.month, 1u << 1);
	assert_int_equal(c.wday, 1); /* 0 and 7, both Sunday */
}

static void parse_names_in_any_case_and_sunday_as_7(void **state)
{
	struct fl_cron c;

	(void)state;
	c = parse_ok("0 0 * JAN,Feb,mAr,apr-JUN,jul,aug,sep,oct,nov,dec SUN-sat");
	assert_int_equal(c.month, span(1, 12, 1));
	assert_int_equal(c.wday, 0x7f);
	c = parse_ok("0 0 * * 7");
	assert_int_equal(c.wday, 1);
	c = parse_ok("0 0 * * fri-7");
	assert_int_equal(c.wday, (1u << 5) | (1u << 6) | 1u);
	c = parse_ok("0 0 * * Mon,WED,fri");
	assert_int_equal(c.wday, (1u << 1) | (1u << 3) | (1u << 5));
	c = parse_ok("0 0 * dec/1 *");
	assert_int_equal(c.month, 1u << 12);
}

static void assert_cron_equal(const struct fl_cron *a, const struct fl_cron *b)
{
	assert_int_equal(a->every, b->every);
	assert_int_equal(a->every_ns, b->every_ns);
	assert_int_equal(a->minute, b->minute);
	assert_int_equal(a->hour, b->hour);
	assert_int_equal(a->mday, b->mday);
	assert_int_equal(a->month, b->month);
	assert_int_equal(a->wday, b->wday);
	assert_int_equal(a->mday_star, b->mday_star);
	assert_int_equal(a->wday_star, b->wday_star);
	assert_int_equal(a->minute_star, b->minute_star);
	assert_int_equal(a->hour_star, b->hour_star);
}

static void parse_macros_are_their_cron_lines(void **state)
{
	static const struct {
		const char *macro, *line;
	} m[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
		 {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
		 {"@hourly", "0 * * * *"}};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(m); i++) {
		struct fl_cron a = parse_ok(m[i].macro), b = parse_ok(m[i].line);

		assert_cron_equal(&a, &b);
	}
	assert_true(parse_ok("@hourly").hour_star);
	assert_false(parse_ok("@daily").hour_star || parse_ok("@daily").minute_star);
}

static void parse_every_duration(void **state)
{
	struct fl_cron c;

	(void)state;
	c = parse_ok("@every 1h");
	assert_true(c.every);
	assert_int_equal(c.every_ns, 3600 * NS);
	assert_int_equal(c.minute, 0);
	assert_int_equal(c.wday, 0);
	assert_int_equal(parse_ok("@every 1s").every_ns, NS);
	assert_int_equal(parse_ok("@every    1.5s").every_ns, 1500000000ull);
	assert_int_equal(parse_ok("@every 1000ms").every_ns, NS);
	assert_int_equal(parse_ok("@every 2m").every_ns, 120 * NS);
}

/* Each refused form with the exact message scenario.c gave before it used this parser. */
static void parse_refuses_with_the_checkers_messages(void **state)
{
	static const struct {
		const char *in, *msg;
	} bad[] = {
	    /* field count */
	    {"0 3 * *", "\"0 3 * *\" has 4 fields (expected 5: minute hour day-of-month month "
			"day-of-week, e.g. \"0 3 * * 1-5\", or \"@every 1h\")"},
	    {"0 3 * * * *", "\"0 3 * * * *\" has 6 fields (expected 5: minute hour day-of-month "
			    "month day-of-week, e.g. \"0 3 * * 1-5\", or \"@every 1h\")"},
	    {"5", "\"5\" has 1 field (expected 5: minute hour day-of-month month day-of-week, "
		  "e.g. \"0 3 * * 1-5\", or \"@every 1h\")"},
	    {"", "\"\" has 0 fields (expected 5: minute hour day-of-month month day-of-week, "
		 "e.g. \"0 3 * * 1-5\", or \"@every 1h\")"},
	    {" \t ", "\" \t \" has 0 fields (expected 5: minute hour day-of-month month "
		     "day-of-week, e.g. \"0 3 * * 1-5\", or \"@every 1h\")"},
	    /* out of range, each field */
	    {"60 * * * *", "minute: \"60\" is out of range (expected 0-59)"},
	    {"0 25 * * mon-fri", "hour: \"25\" is out of range (expected 0-23)"},
	    {"0 0 0 * *", "day of month: \"0\" is out of range (expected 1-31)"},
	    {"0 0 32 * *", "day of month: \"32\" is out of range (expected 1-31)"},
	    {"0 0 * 13 *", "month: \"13\" is out of range (expected 1-12)"},
	    {"0 0 * 0 *", "month: \"0\" is out of range (expected 1-12)"},
	    {"0 0 * * 8", "day of week: \"8\" is out of range (expected 0-7)"},
	    {"0 0 * * 1-8/2", "day of week: \"1-8/2\" is out of range (expected 0-7)"},
	    /* reversed ranges */
	    {"30-10 * * * *", "minute: \"30-10\" is out of range (expected 0-59)"},
	    {"0 0 * dec-jan *", "month: \"dec-jan\" is out of range (expected 1-12)"},
	    {"0 0 * * fri-mon", "day of week: \"fri-mon\" is out of range (expected 0-7)"},
	    /* bad steps */
	    {"*/0 * * * *", "minute: \"*/0\" has a bad step (expected /1 to /59)"},
	    {"*/60 * * * *", "minute: \"*/60\" has a bad step (expected /1 to /59)"},
	    {"0 */24 * * *", "hour: \"*/24\" has a bad step (expected /1 to /23)"},
	    {"0 0 */x * *", "day of month: \"*/x\" has a bad step (expected /1 to /31)"},
	    {"0 0 * */ *", "month: \"*/\" has a bad step (expected /1 to /12)"},
	    {"0 0 * * 1-5/2/1", "day of week: \"1-5/2/1\" has a bad step (expected /1 to /7)"},
	    /* unknown names and other non-values */
	    {"0 0 * foo *", "month: \"foo\" is not a value or range"},
	    {"0 0 * january *", "month: \"january\" is not a value or range"},
	    {"0 0 * * monday", "day of week: \"monday\" is not a value or range"},
	    {"0 0 * * jan", "day of week: \"jan\" is not a value or range"},
	    {"0 0 mon * *", "day of month: \"mon\" is not a value or range"},
	    {"1,,2 * * * *", "minute: \"\" is not a value or range"},
	    {"1, * * * *", "minute: \"\" is not a value or range"},
	    {"-1 * * * *", "minute: \"-1\" is not a value or range"},
	    {"*-5 * * * *", "minute: \"*-5\" is not a value or range"},
	    {"1-2-3 * * * *", "minute: \"1-2-3\" is not a value or range"},
	    {"100000 * * * *", "minute: \"100000\" is not a value or range"},
	    {"10000 * * * *", "minute: \"10000\" is out of range (expected 0-59)"},
	    /* the first bad field wins over a wrong count */
	    {"0 25 *", "hour: \"25\" is out of range (expected 0-23)"},
	    /* macros and @every */
	    {"@reboot", "\"@reboot\" is not a schedule (expected 5 cron fields, \"@every "
			"DURATION\", @hourly, @daily, @weekly, @monthly or @yearly)"},
	    {"@Daily", "\"@Daily\" is not a schedule (expected 5 cron fields, \"@every "
		       "DURATION\", @hourly, @daily, @weekly, @monthly or @yearly)"},
	    {"@daily ", "\"@daily \" is not a schedule (expected 5 cron fields, \"@every "
			"DURATION\", @hourly, @daily, @weekly, @monthly or @yearly)"},
	    {"@every500ms", "\"@every500ms\" is not a schedule (expected 5 cron fields, \"@every "
			    "DURATION\", @hourly, @daily, @weekly, @monthly or @yearly)"},
	    {"@every soon", "@every: \"soon\" is not a duration (expected a number and a unit: "
			    "ns, us, ms, s, m, h)"},
	    {"@every", "@every: \"\" is not a duration (expected a number and a unit: ns, us, "
		       "ms, s, m, h)"},
	    {"@every 60", "@every: \"60\" needs a unit, e.g. 60s, 500ms, 2m"},
	    {"@every 0s", "@every: \"0s\" is zero (expected a duration above 0)"},
	    {"@every 500ms", "@every 500ms is shorter than 1s (expected 1s or more)"},
	    {"@every 999999999ns", "@every 999999999ns is shorter than 1s (expected 1s or more)"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct fl_error err = {0};
		struct fl_cron c, before;
		int r;

		memset(&c, 0x5a, sizeof(c));
		before = c;
		r = fl_cron_parse(bad[i].in, &c, &err);
		if (r != -EINVAL)
			fail_msg("\"%s\": returned %d, want -EINVAL", bad[i].in, r);
		if (strcmp(err.msg, bad[i].msg))
			fail_msg("\"%s\":\n got  %s\n want %s", bad[i].in, err.msg, bad[i].msg);
		assert_string_equal(err.field, "schedule");
		assert_memory_equal(&c, &before, sizeof(c)); /* untouched */
		/* without an error struct, or an output */
		assert_int_equal(fl_cron_parse(bad[i].in, &c, NULL), -EINVAL);
		assert_int_equal(fl_cron_parse(bad[i].in, NULL, &err), -EINVAL);
	}
	assert_int_equal(fl_cron_parse("@daily", NULL, NULL), 0);
	assert_int_equal(fl_cron_parse(NULL, NULL, NULL), -EINVAL);
}

/* The message of a long schedule is whole in fl_cron_parse_msg's buffer, and
 * cut (still terminated) in struct fl_error's. */
static void parse_msg_quotes_a_long_schedule_whole(void **state)
{
	char text[300], msg[512], want[512];
	struct fl_error err = {0};
	size_t o = 0;

	(void)state;
	for (int i = 0; i < 59; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%d,", i);
	snprintf(text + o, sizeof(text) - o, "59 0 * *");
	assert_true(strlen(text) > 170);
	snprintf(want, sizeof(want),
		 "\"%s\" has 4 fields (expected 5: minute hour day-of-month month "
		 "day-of-week, e.g. \"0 3 * * 1-5\", or \"@every 1h\")",
		 text);
	assert_int_equal(fl_cron_parse_msg(text, NULL, msg, sizeof(msg)), -EINVAL);
	assert_string_equal(msg, want);
	assert_int_equal(fl_cron_parse(text, NULL, &err), -EINVAL);
	assert_int_equal(strlen(err.msg), sizeof(err.msg) - 1);
	assert_memory_equal(err.msg, want, sizeof(err.msg) - 1);
	/* a small buffer is cut and terminated; none at all is fine */
	assert_int_equal(fl_cron_parse_msg("0 3 * *", NULL, msg, 8), -EINVAL);
	assert_string_equal(msg, "\"0 3 * ");
	assert_int_equal(fl_cron_parse_msg("0 3 * *", NULL, NULL, 0), -EINVAL);
	assert_int_equal(fl_cron_parse_msg("0 3 * * *", NULL, NULL, 0), 0);
}

/* ------------------------------------------------------------------ */
/* Next fire time, UTC                                                 */

static void next_every_minute(void **state)
{
	int64_t t = utc(2025, 6, 10, 10, 0, 0);
	struct fl_cron c = parse_ok("* * * * *");

	(void)state;
	assert_next("* * * * *", t, t + MIN);
	assert_next("* * * * *", t - 1, t);
	assert_next("* * * * *", t + 30, t + MIN);
	/* strictly after, to the nanosecond */
	assert_int_equal(next_after_ns(&c, t - 1, 999999999), t);
	assert_int_equal(next_after_ns(&c, t, 1), t + MIN);
	/* across the end of a day, a month, a year */
	assert_next("* * * * *", utc(2025, 12, 31, 23, 59, 0), utc(2026, 1, 1, 0, 0, 0));
	/* a chain of 1500 fires is one a minute */
	for (int i = 0; i < 1500; i++) {
		int64_t n = next_after(&c, t);

		assert_int_equal(n, t + MIN);
		t = n;
	}
}

static void next_weekdays_across_a_weekend(void **state)
{
	(void)state;
	/* 2025-01-03 is a Friday */
	assert_next("0 3 * * 1-5", utc(2025, 1, 3, 2, 59, 59), utc(2025, 1, 3, 3, 0, 0));
	assert_next("0 3 * * 1-5", utc(2025, 1, 3, 3, 0, 0), utc(2025, 1, 6, 3, 0, 0));
	assert_next("0 3 * * 1-5", utc(2025, 1, 4, 12, 0, 0), utc(2025, 1, 6, 3, 0, 0));
	assert_next("0 3 * * mon-fri", utc(2025, 1, 5, 23, 0, 0), utc(2025, 1, 6, 3, 0, 0));
	assert_next("0 3 * * 1-5", utc(2025, 1, 6, 3, 0, 0), utc(2025, 1, 7, 3, 0, 0));
	/* and the weekend itself, Sunday written 0 or 7 */
	assert_next("0 12 * * 6,7", utc(2025, 1, 3, 3, 0, 0), utc(2025, 1, 4, 12, 0, 0));
	assert_next("0 12 * * 6,7", utc(2025, 1, 4, 12, 0, 0), utc(2025, 1, 5, 12, 0, 0));
	assert_next("0 12 * * sat,sun", utc(2025, 1, 5, 12, 0, 0), utc(2025, 1, 11, 12, 0, 0));
}

static void next_every_15_minutes(void **state)
{
	(void)state;
	assert_next("*/15 * * * *", utc(2025, 6, 10, 10, 7, 0), utc(2025, 6, 10, 10, 15, 0));
	assert_next("*/15 * * * *", utc(2025, 6, 10, 10, 15, 0), utc(2025, 6, 10, 10, 30, 0));
	assert_next("*/15 * * * *", utc(2025, 6, 10, 10, 45, 0), utc(2025, 6, 10, 11, 0, 0));
	assert_next("*/15 * * * *", utc(2025, 6, 10, 23, 59, 59), utc(2025, 6, 11, 0, 0, 0));
	assert_next("7-59/15 9-17 * * *", utc(2025, 6, 10, 17, 52, 0), utc(2025, 6, 11, 9, 7, 0));
}

static void next_first_of_the_month_across_month_and_year_ends(void **state)
{
	(void)state;
	assert_next("0 0 1 * *", utc(2025, 1, 15, 12, 0, 0), utc(2025, 2, 1, 0, 0, 0));
	assert_next("0 0 1 * *", utc(2025, 2, 28, 23, 59, 59), utc(2025, 3, 1, 0, 0, 0));
	assert_next("0 0 1 * *", utc(2025, 4, 30, 23, 0, 0), utc(2025, 5, 1, 0, 0, 0));
	assert_next("0 0 1 * *", utc(2025, 12, 31, 23, 59, 59), utc(2026, 1, 1, 0, 0, 0));
	assert_next("0 0 1 * *", utc(2026, 1, 1, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0));
	assert_next("@monthly", utc(2025, 12, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0));
	assert_next("@yearly", utc(2025, 1, 1, 0, 0, 0), utc(2026, 1, 1, 0, 0, 0));
	assert_next("0 0 31 * *", utc(2025, 1, 31, 0, 0, 0), utc(2025, 3, 31, 0, 0, 0));
	assert_next("0 0 31 * *", utc(2025, 3, 31, 0, 0, 0), utc(2025, 5, 31, 0, 0, 0));
	assert_next("30 6 * 11,12,1,2 *", utc(2025, 2, 28, 7, 0, 0), utc(2025, 11, 1, 6, 30, 0));
}

static void next_leap_day(void **state)
{
	(void)state;
	assert_next("0 0 29 2 *", utc(2024, 2, 28, 12, 0, 0), utc(2024, 2, 29, 0, 0, 0));
	assert_next("0 0 29 2 *", utc(2024, 2, 29, 0, 0, 0), utc(2028, 2, 29, 0, 0, 0));
	assert_next("0 0 29 2 *", utc(2025, 3, 1, 0, 0, 0), utc(2028, 2, 29, 0, 0, 0));
	assert_next("0 0 29 feb *", utc(2023, 3, 1, 0, 0, 0), utc(2024, 2, 29, 0, 0, 0));
	/* 2000 was a leap year (divisible by 400) */
	assert_next("0 0 29 feb *", utc(1999, 3, 1, 0, 0, 0), utc(2000, 2, 29, 0, 0, 0));
	assert_next("0 12 28,29 2 *", utc(2025, 2, 28, 12, 0, 0), utc(2026, 2, 28, 12, 0, 0));
}

static void next_none_within_5_years_is_erange(void **state)
{
	(void)state;
	assert_next("0 0 31 2 *", utc(2025, 1, 1, 0, 0, 0), -ERANGE);
	assert_next("0 0 30 feb *", utc(2025, 1, 1, 0, 0, 0), -ERANGE);
	assert_next("0 0 31 4,6,9,11 *", utc(2025, 1, 1, 0, 0, 0), -ERANGE);
	/* 2100 is not a leap year: after 2096 the next Feb 29 is in 2104, 8 years on */
	assert_next("0 0 29 2 *", utc(2096, 3, 1, 0, 0, 0), -ERANGE);
	/* but a day of week can still make such a day-of-month line fire (the OR rule) */
	assert_next("0 0 31 2 1", utc(2025, 1, 1, 0, 0, 0), utc(2025, 2, 3, 0, 0, 0));
}

static void next_day_of_month_or_day_of_week(void **state)
{
	(void)state;
	/* both fields restricted: the 13th, and every Friday (June 2025: Fridays 6, 13, 20, 27) */
	assert_next("0 0 13 * 5", utc(2025, 6, 1, 0, 0, 0), utc(2025, 6, 6, 0, 0, 0));
	assert_next("0 0 13 * 5", utc(2025, 6, 6, 0, 0, 0), utc(2025, 6, 13, 0, 0, 0));
	assert_next("0 0 13 * 5", utc(2025, 6, 13, 0, 0, 0), utc(2025, 6, 20, 0, 0, 0));
	/* January 13, 2025 is a Monday: it fires as the 13th */
	assert_next("0 0 13 * fri", utc(2025, 1, 11, 0, 0, 0), utc(2025, 1, 13, 0, 0, 0));
	assert_next("0 0 13 * fri", utc(2025, 1, 13, 0, 0, 0), utc(2025, 1, 17, 0, 0, 0));
	/* one field starred: both must match (Fridays in June only, 13th in any month) */
	assert_next("0 0 * 6 5", utc(2025, 5, 1, 0, 0, 0), utc(2025, 6, 6, 0, 0, 0));
	assert_next("0 0 13 * *", utc(2025, 6, 1, 0, 0, 0), utc(2025, 6, 13, 0, 0, 0));
	/* a stepped star is starred (AND); the same days as a range are not (OR):
	 * June 2, 2025 is a Monday */
	assert_next("0 0 */2 * 1", utc(2025, 6, 1, 0, 0, 0), utc(2025, 6, 9, 0, 0, 0));
	assert_next("0 0 1-31/2 * 1", utc(2025, 6, 1, 0, 0, 0), utc(2025, 6, 2, 0, 0, 0));
	/* Friday the 13th only would need both: that is not cron */
	assert_next("0 0 13 6 5", utc(2025, 6, 7, 0, 0, 0), utc(2025, 6, 13, 0, 0, 0));
}

static void next_every_duration(void **state)
{
	struct fl_cron c = parse_ok("@every 90s");
	uint64_t nx = 0;

	(void)state;
	assert_int_equal(fl_cron_next(&c, 1234567891ull, &nx), 0);
	assert_int_equal(nx, 1234567891ull + 90 * NS);
	assert_int_equal(fl_cron_next(&c, 0, &nx), 0);
	assert_int_equal(nx, 90 * NS);
	assert_int_equal(fl_cron_next(&c, UINT64_MAX - 90 * NS, &nx), 0);
	assert_int_equal(nx, UINT64_MAX);
	assert_int_equal(fl_cron_next(&c, UINT64_MAX - 90 * NS + 1, &nx), -ERANGE);
}

static void next_refuses_what_no_parse_makes(void **state)
{
	struct fl_cron zero = {0}, c = parse_ok("0 0 * * *"), every = {.every = true};
	uint64_t nx = 7;

	(void)state;
	assert_int_equal(fl_cron_next(&zero, 0, &nx), -EINVAL);
	assert_int_equal(fl_cron_next(&every, 0, &nx), -EINVAL);
	assert_int_equal(fl_cron_next(NULL, 0, &nx), -EINVAL);
	assert_int_equal(fl_cron_next(&c, 0, NULL), -EINVAL);
	assert_int_equal(nx, 7);
	/* beyond what nanoseconds since 1970 hold */
	assert_int_equal(fl_cron_next(&c, UINT64_MAX - NS, &nx), -ERANGE);
	/* the epoch itself */
	assert_int_equal(fl_cron_next(&c, 0, &nx), 0);
	assert_int_equal(nx, DAY * NS);
}

/* ------------------------------------------------------------------ */
/* Next fire time across DST (America/New_York)                        */

/* 2025-03-09: 02:00 EST (-5) becomes 03:00 EDT (-4) at 07:00 UTC.
 * 2025-11-02: 02:00 EDT (-4) becomes 01:00 EST (-5) at 06:00 UTC. */
#define EST (-5 * HOUR)
#define EDT (-4 * HOUR)
static int64_t ny(int y, int mo, int d, int h, int mi, int off)
{
	return utc(y, mo, d, h, mi, 0) - off;
}

static void dst_spring_forward_fires_a_skipped_time_once_after_the_gap(void **state)
{
	int64_t gap_end = utc(2025, 3, 9, 7, 0, 0);

	(void)state;
	assert_int_equal(ny(2025, 3, 9, 3, 0, EDT), gap_end);
	/* the days before and after, as usual */
	assert_next("30 2 * * *", ny(2025, 3, 7, 12, 0, EST), ny(2025, 3, 8, 2, 30, EST));
	/* 02:30 does not exist on the 9th: it fires at 03:00 EDT, the end of the gap */
	assert_next("30 2 * * *", ny(2025, 3, 8, 2, 30, EST), gap_end);
	assert_next("30 2 * * *", ny(2025, 3, 9, 1, 59, EST), gap_end);
	assert_next("30 2 * * *", gap_end - 1, gap_end);
	/* once: asked at or after 03:00, the next is the 10th */
	assert_next("30 2 * * *", gap_end, ny(2025, 3, 10, 2, 30, EDT));
	assert_next("30 2 * * *", gap_end + 30, ny(2025, 3, 10, 2, 30, EDT));
	/* several skipped times still fire once */
	assert_next("0,15,30 2 * * *", ny(2025, 3, 9, 1, 0, EST), gap_end);
	assert_next("0,15,30 2 * * *", gap_end, ny(2025, 3, 10, 2, 0, EDT));
	/* a time on each side of the gap fires as usual */
	assert_next("59 1 * * *", ny(2025, 3, 9, 0, 0, EST), ny(2025, 3, 9, 1, 59, EST));
	assert_next("0 3 * * *", ny(2025, 3, 9, 1, 59, EST), gap_end);
	assert_next("30 3 * * *", ny(2025, 3, 9, 1, 59, EST), ny(2025, 3, 9, 3, 30, EDT));
	/* wildcard schedules skip the times that do not exist */
	assert_next("30 * * * *", ny(2025, 3, 9, 1, 30, EST), ny(2025, 3, 9, 3, 30, EDT));
	assert_next("*/15 * * * *", ny(2025, 3, 9, 1, 45, EST), gap_end);
	assert_next("* * * * *", ny(2025, 3, 9, 1, 59, EST), gap_end);
	assert_next("* * * * *", gap_end, gap_end + MIN);
	/* a fixed time in the gap on a day the line does not name: no fire */
	assert_next("30 2 * * 1", ny(2025, 3, 9, 0, 0, EST), ny(2025, 3, 10, 2, 30, EDT));
}

static void dst_fall_back_fires_a_repeated_time_once(void **state)
{
	int64_t back = utc(2025, 11, 2, 6, 0, 0);

	(void)state;
	assert_int_equal(ny(2025, 11, 2, 2, 0, EDT), back);
	assert_int_equal(ny(2025, 11, 2, 1, 0, EST), back);
	/* 01:30 happens at 05:30 and 06:30 UTC: the first only */
	assert_next("30 1 * * *", ny(2025, 11, 1, 12, 0, EDT), ny(2025, 11, 2, 1, 30, EDT));
	assert_next("30 1 * * *", ny(2025, 11, 2, 1, 30, EDT), ny(2025, 11, 3, 1, 30, EST));
	/* asked from within the repeated hour, before or after its second 01:30 */
	assert_next("30 1 * * *", ny(2025, 11, 2, 1, 10, EST), ny(2025, 11, 3, 1, 30, EST));
	assert_next("30 1 * * *", ny(2025, 11, 2, 1, 40, EST), ny(2025, 11, 3, 1, 30, EST));
	assert_next("30 1 * * *", back - 1, ny(2025, 11, 3, 1, 30, EST));
	/* the first time after the repeated hour fires as usual */
	assert_next("0 2 * * *", ny(2025, 11, 2, 1, 30, EDT), ny(2025, 11, 2, 2, 0, EST));
	assert_next("0 2 * * *", ny(2025, 11, 2, 1, 30, EST), ny(2025, 11, 2, 2, 0, EST));
	/* wildcard schedules fire in both passes: every real hour, every 15 minutes */
	assert_next("30 * * * *", ny(2025, 11, 2, 1, 30, EDT), ny(2025, 11, 2, 1, 30, EST));
	assert_next("0 * * * *", ny(2025, 11, 2, 0, 0, EDT), ny(2025, 11, 2, 1, 0, EDT));
	assert_next("0 * * * *", ny(2025, 11, 2, 1, 0, EDT), back);
	assert_next("0 * * * *", back, ny(2025, 11, 2, 2, 0, EST));
	assert_next("*/15 * * * *", ny(2025, 11, 2, 1, 45, EDT), back);
	assert_next("@hourly", ny(2025, 11, 2, 1, 0, EDT), back);
}

/* ------------------------------------------------------------------ */
/* Against cronie's main loop, around real offset changes              */

static bool sim_matches(const struct fl_cron *c, int64_t civil_min)
{
	time_t t = (time_t)(civil_min * 60);
	struct tm tm;
	bool dom, dow;

	gmtime_r(&t, &tm);
	dom = c->mday >> tm.tm_mday & 1;
	dow = c->wday >> tm.tm_wday & 1;
	return (c->minute >> tm.tm_min & 1) && (c->hour >> tm.tm_hour & 1) &&
	       (c->month >> (tm.tm_mon + 1) & 1) &&
	       (c->mday_star || c->wday_star ? dom && dow : dom || dow);
}

static int64_t civil_minute(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	return (t + tm.tm_gmtoff) / 60; /* times after 1970 here */
}

/*
 * cronie's cron.c main loop, waking at each minute from 4 hours before
 * `after`: the first wake after `after` at which it runs c, or -1 if none by
 * `until`. Wildcard jobs are those with a starred minute or hour.
 */
static int64_t cronie_next(const struct fl_cron *c, int64_t after, int64_t until)
{
	bool wild = c->minute_star || c->hour_star;
	int64_t t = (after - 4 * HOUR) / 60 * 60;
	int64_t virt = civil_minute(t), running;

	for (t += 60; t <= until; t += 60) {
		int64_t diff;
		bool run = false;

		running = civil_minute(t);
		diff = running - virt;
		if (diff == 1) {
			virt = running;
			run = sim_matches(c, virt);
		} else if (diff > 180 || diff < -180) {
			virt = running;
			run = sim_matches(c, running);
		} else if (diff > 5) {
			run = wild && sim_matches(c, running);
			do {
				virt++;
				run |= !wild && sim_matches(c, virt);
			} while (virt < running);
		} else if (diff > 0) {
			do {
				virt++;
				run |= sim_matches(c, virt);
			} while (virt < running);
		} else {
			run = wild && sim_matches(c, running);
		}
		if (run && t > after)
			return t;
	}
	return -1;
}

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;
static unsigned rnd(unsigned n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (unsigned)(rng_state % n);
}

static void agrees_with_cronie_around_offset_changes(void **state)
{
	static const struct {
		const char *tz;
		int64_t at; /* an offset change */
		int hour;   /* local hour it happens around */
	} changes[] = {
	    {"America/New_York", 1741503600, 2},    /* 2025-03-09 02:00 -> 03:00 */
	    {"America/New_York", 1762063200, 1},    /* 2025-11-02 02:00 -> 01:00 */
	    {"Australia/Lord_Howe", 1743865200, 1}, /* 2025-04-06 02:00 -> 01:30 */
	    {"Australia/Lord_Howe", 1759591800, 2}, /* 2025-10-05 02:00 -> 02:30 */
	    {"Europe/London", 1743296400, 1},	    /* 2025-03-30 01:00 -> 02:00 */
	    {"Europe/London", 1761440400, 1},	    /* 2025-10-26 02:00 -> 01:00 */
	    {"America/Sao_Paulo", 1541300400, 0},   /* 2018-11-04 00:00 -> 01:00 */
	    {"America/Sao_Paulo", 1518919200, 23},  /* 2018-02-18 00:00 -> 02-17 23:00 */
	};
	static const char *const minutes[] = {"0",  "30",  "*",	   "*/15", "0,30",
					      "45", "*/7", "5-10", "59"};
	static const char *const mdays[] = {"*", "*", "*", "1-31", "*/2", "2-5", "17,18"};
	static const char *const months[] = {"*", "*", "2-4", "10,11", "jan"};
	static const char *const wdays[] = {"*", "*", "0", "1-5", "sat,sun", "6"};
	int checked = 0, fired = 0;

	(void)state;
	for (size_t z = 0; z < ARRAY_SIZE(changes); z++) {
		time_t before = (time_t)changes[z].at - 1, at = (time_t)changes[z].at;
		struct tm a, b;

		use_tz(changes[z].tz);
		localtime_r(&before, &a);
		localtime_r(&at, &b);
		assert_int_not_equal(a.tm_gmtoff, b.tm_gmtoff);
		for (int i = 0; i < 250; i++) {
			char line[96], hours[32];
			int h = changes[z].hour;
			int64_t after, got, want;
			struct fl_cron c;

			switch (rnd(6)) {
			case 0:
				snprintf(hours, sizeof(hours), "*");
				break;
			case 1:
				snprintf(hours, sizeof(hours), "*/2");
				break;
			case 2:
				snprintf(hours, sizeof(hours), "%d-%d", h > 0 ? h - 1 : 0,
					 h < 22 ? h + 1 : 23);
				break;
			default:
				snprintf(hours, sizeof(hours), "%d", (h + (int)rnd(3)) % 24);
				break;
			}
			snprintf(line, sizeof(line), "%s %s %s %s %s",
				 minutes[rnd(ARRAY_SIZE(minutes))], hours,
				 mdays[rnd(ARRAY_SIZE(mdays))], months[rnd(ARRAY_SIZE(months))],
				 wdays[rnd(ARRAY_SIZE(wdays))]);
			c = parse_ok(line);
			after = changes[z].at - 6 * HOUR + (int64_t)rnd(12 * HOUR);
			if (rnd(4) == 0)
				after = after / 60 * 60; /* on a minute */
			want = cronie_next(&c, after, after + 2 * DAY);
			got = next_after(&c, after);
			if (want < 0 ? got >= 0 && got <= after + 2 * DAY : got != want)
				fail_msg("%s \"%s\" after %lld: got %lld, cronie %lld (%+lld s)",
					 changes[z].tz, line, (long long)after, (long long)got,
					 (long long)want, (long long)(got - want));
			checked++;
			fired += want >= 0;
		}
	}
	use_tz("UTC");
	print_message("# %d schedules checked against cronie, %d fired within 2 days\n", checked,
		      fired);
	assert_true(fired > checked / 3);
}

/* A chain of fires, each asked with the previous one as `after`, through a
 * whole year of New York time: each is cronie's, none is repeated. */
static void a_year_of_fires_matches_cronie(void **state)
{
	static const char *const lines[] = {"30 1 * * *",     "30 2 * * *",    "0 * * * 0",
					    "*/20 1-3 * * 0", "15 2 8-14 3 0", "0 1,2 1-7 11 *"};

	(void)state;
	for (size_t l = 0; l < ARRAY_SIZE(lines); l++) {
		struct fl_cron c = parse_ok(lines[l]);
		int64_t t = utc(2025, 1, 1, 0, 0, 0), end = utc(2026, 1, 1, 0, 0, 0);
		int n = 0;

		while (t < end) {
			int64_t got = next_after(&c, t), want;

			assert_true(got > t);
			/* cronie replayed only near the offset changes, to keep this quick */
			if (llabs(got - 1741503600) < 2 * DAY ||
			    llabs(got - 1762063200) < 2 * DAY) {
				want = cronie_next(&c, t, got + DAY);
				if (got != want)
					fail_msg("\"%s\" after %lld: got %lld, cronie %lld",
						 lines[l], (long long)t, (long long)got,
						 (long long)want);
			}
			t = got;
			n++;
		}
		assert_true(n > 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_five_fields_sets_the_bits_and_stars),
	    cmocka_unit_test(parse_lists_ranges_and_steps),
	    cmocka_unit_test(parse_names_in_any_case_and_sunday_as_7),
	    cmocka_unit_test(parse_macros_are_their_cron_lines),
	    cmocka_unit_test(parse_every_duration),
	    cmocka_unit_test(parse_refuses_with_the_checkers_messages),
	    cmocka_unit_test(parse_msg_quotes_a_long_schedule_whole),
	    cmocka_unit_test_setup(next_every_minute, tz_utc),
	    cmocka_unit_test_setup(next_weekdays_across_a_weekend, tz_utc),
	    cmocka_unit_test_setup(next_every_15_minutes, tz_utc),
	    cmocka_unit_test_setup(next_first_of_the_month_across_month_and_year_ends, tz_utc),
	    cmocka_unit_test_setup(next_leap_day, tz_utc),
	    cmocka_unit_test_setup(next_none_within_5_years_is_erange, tz_utc),
	    cmocka_unit_test_setup(next_day_of_month_or_day_of_week, tz_utc),
	    cmocka_unit_test_setup(next_every_duration, tz_utc),
	    cmocka_unit_test_setup(next_refuses_what_no_parse_makes, tz_utc),
	    cmocka_unit_test_setup_teardown(
		dst_spring_forward_fires_a_skipped_time_once_after_the_gap, tz_new_york, tz_utc),
	    cmocka_unit_test_setup_teardown(dst_fall_back_fires_a_repeated_time_once, tz_new_york,
					    tz_utc),
	    cmocka_unit_test_teardown(agrees_with_cronie_around_offset_changes, tz_utc),
	    cmocka_unit_test_setup_teardown(a_year_of_fires_matches_cronie, tz_new_york, tz_utc),
	};

	use_tz("UTC");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
