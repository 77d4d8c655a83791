/*
 * scenarios/cron.c - schedules (faultline/cron.h): the parser the scenario
 * checker and faultlined share, and the next fire time in local time, with
 * cronie's handling of clock changes.
 *
 * fl_cron_next works on two clocks: real time (seconds since the epoch) and
 * civil time (the local wall clock, as seconds since 1970-01-01 00:00 read
 * as if it were UTC, so that calendar arithmetic is gmtime_r/timegm's and
 * has no DST). Between two changes of the zone's UTC offset, civil = real +
 * offset. The walk goes from one offset change to the next: within a stretch
 * of constant offset the next matching civil minute is found on the
 * calendar; where the offset changes before it, the change is handled as
 * cronie handles it (faultline/cron.h) and the walk goes on from there.
 * Offset changes are found by probing the offset once a day and bisecting
 * to the second; two changes less than a day apart would be seen as one
 * (tzdata has none in use).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "faultline/cron.h"
#include "faultline/units.h"

#define NS_PER_S 1000000000ull

/* cronie: a clock change of up to 3 hours is DST, not someone setting the clock */
#define DST_MAX (3 * 3600)
/* cronie: a forward change under 5 minutes is caught up by every schedule */
#define CATCH_UP_ALL (5 * 60)
#define PROBE_STEP   86400

/* ------------------------------------------------------------------ */
/* Parsing                                                             */

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
					  "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct field {
	const char *name;
	int lo, hi, base;
	const char *const *names;
} fields[5] = {{"minute", 0, 59, 0, NULL},
	       {"hour", 0, 23, 0, NULL},
	       {"day of month", 1, 31, 0, NULL},
	       {"month", 1, 12, 1, month_names},
	       {"day of week", 0, 7, 0, dow_names}};

static const struct {
	const char *name, *line;
} macros[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	      {"@hourly", "0 * * * *"}};

static int fail(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (msg && len) {
		va_start(ap, fmt);
		vsnprintf(msg, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A number or (month, day of week) a name; -1 when neither. */
static int cron_value(const char *s, size_t len, const char *const *names, int base)
{
	int v = 0;

	if (!len)
		return -1;
	if (names && len == 3)
		for (int i = 0; names[i]; i++)
			if (!strncasecmp(s, names[i], 3))
				return i + base;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > 1000)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* The values of field text f[0..n) into *bits; NULL when valid, else why not into why. */
static const char *cron_field(const char *f, size_t n, const struct field *fd, uint64_t *bits,
			      char *why, size_t len)
{
	const char *item = f, *fend = f + n, *end;

	*bits = 0;
	for (;; item = end + 1) {
		const char *slash, *dash, *stop;
		int a = fd->lo, b = fd->hi, step = 1;

		end = memchr(item, ',', (size_t)(fend - item));
		if (!end)
			end = fend;
		slash = memchr(item, '/', (size_t)(end - item));
		stop = slash ? slash : end;
		if (stop - item == 1 && *item == '*') {
			/* every value */
		} else {
			dash = memchr(item, '-', (size_t)(stop - item));
			a = cron_value(item, (size_t)((dash ? dash : stop) - item), fd->names,
				       fd->base);
			b = dash ? cron_value(dash + 1, (size_t)(stop - dash - 1), fd->names,
					      fd->base)
				 : a;
			if (a < 0 || b < 0) {
				snprintf(why, len, "\"%.*s\" is not a value or range",
					 (int)(end - item), item);
				return why;
			}
			if (a < fd->lo || b > fd->hi || a > b) {
				snprintf(why, len, "\"%.*s\" is out of range (expected %d-%d)",
					 (int)(end - item), item, fd->lo, fd->hi);
				return why;
			}
			if (slash && !dash)
				b = fd->hi; /* "N/STEP": N to the end, as cronie */
		}
		if (slash) {
			step = cron_value(slash + 1, (size_t)(end - slash - 1), NULL, 0);
			if (step < 1 || step > fd->hi) {
				snprintf(why, len, "\"%.*s\" has a bad step (expected /1 to /%d)",
					 (int)(end - item), item, fd->hi);
				return why;
			}
		}
		for (int v = a; v <= b; v += step)
			*bits |= 1ull << v;
		if (end == fend)
			return NULL;
	}
}

/* The 5 fields of line into *c; text is the schedule as written, for the message. */
static int parse_fields(const char *text, const char *line, struct fl_cron *c, char *msg,
			size_t len)
{
	uint64_t bits[5] = {0};
	const char *p = line;
	int nf = 0;

	for (;;) {
		size_t n;

		p += strspn(p, " \t");
		if (!*p)
			break;
		n = strcspn(p, " \t");
		if (nf < 5) {
			char why[160];

			if (cron_field(p, n, &fields[nf], &bits[nf], why, sizeof(why)))
				return fail(msg, len, "%s: %s", fields[nf].name, why);
			if (*p == '*') {
				c->minute_star |= nf == 0;
				c->hour_star |= nf == 1;
				c->mday_star |= nf == 2;
				c->wday_star |= nf == 4;
			}
		}
		nf++;
		p += n;
	}
	if (nf != 5)
		return fail(msg, len,
			    "\"%s\" has %d field%s (expected 5: minute hour day-of-month month "
			    "day-of-week, e.g. \"0 3 * * 1-5\", or \"@every 1h\")",
			    text, nf, nf == 1 ? "" : "s");
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* Sunday is 0 and 7 */
	return 0;
}

int fl_cron_parse_msg(const char *text, struct fl_cron *out, char *msg, size_t len)
{
	struct fl_cron c = {0};
	int r;

	if (!text)
		text = "";
	if (!strncmp(text, "@every", 6) && (text[6] == ' ' || !text[6])) {
		struct fl_error e = {0};
		uint64_t ns;

		text += 6;
		while (*text == ' ')
			text++;
		if (fl_parse_duration(text, "schedule", 0, &ns, &e))
			return fail(msg, len, "@every: %s", e.msg);
		if (ns < NS_PER_S)
			return fail(msg, len, "@every %s is shorter than 1s (expected 1s or more)",
				    text);
		c.every = true;
		c.every_ns = ns;
	} else if (text[0] == '@') {
		size_t i;

		for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
			if (!strcmp(text, macros[i].name))
				break;
		if (i == sizeof(macros) / sizeof(macros[0]))
			return fail(msg, len,
				    "\"%s\" is not a schedule (expected 5 cron fields, \"@every "
				    "DURATION\", @hourly, @daily, @weekly, @monthly or @yearly)",
				    text);
		if ((r = parse_fields(text, macros[i].line, &c, msg, len)))
			return r;
	} else if ((r = parse_fields(text, text, &c, msg, len))) {
		return r;
	}
	if (out)
		*out = c;
	return 0;
}

int fl_cron_parse(const char *text, struct fl_cron *out, struct fl_error *err)
{
	char msg[sizeof(err->msg)];

	if (fl_cron_parse_msg(text, out, msg, sizeof(msg)))
		return fl_error_set(err, "schedule", "%s", msg);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Next fire time                                                      */

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The zone's UTC offset at real time t, seconds east. localtime_r cannot
 * fail for the times used here (year < 2600). */
static long offset_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	return localtime_r(&tt, &tm) ? tm.tm_gmtoff : 0;
}

/* The first real time in (from, to] whose offset is not o (the offset at from). */
static bool first_change(int64_t from, int64_t to, long o, int64_t *at)
{
	while (from < to) {
		int64_t n = to - from > PROBE_STEP ? from + PROBE_STEP : to;

		if (offset_at(n) != o) {
			int64_t lo = from, hi = n;

			while (hi - lo > 1) {
				int64_t mid = lo + (hi - lo) / 2;

				if (offset_at(mid) != o)
					hi = mid;
				else
					lo = mid;
			}
			*at = hi;
			return true;
		}
		from = n;
	}
	return false;
}

static int next_bit(uint64_t bits, int from, int n)
{
	for (int i = from; i < n; i++)
		if (bits >> i & 1)
			return i;
	return -1;
}

static bool day_matches(const struct fl_cron *c, int mday, int wday)
{
	bool dom = c->mday >> mday & 1, dow = c->wday >> wday & 1;

	return c->mday_star || c->wday_star ? dom && dow : dom || dow;
}

/* The first civil minute at or after civil time from (and not after limit)
 * that c matches, into *at; -ERANGE when none. */
static int civil_next(const struct fl_cron *c, int64_t from, int64_t limit, int64_t *at)
{
	int64_t cs = -floor_div(-from, 60) * 60;

	while (cs <= limit) {
		time_t t = (time_t)cs;
		int64_t day = floor_div(cs, 86400) * 86400;
		struct tm tm;
		int h, m;

		if (!gmtime_r(&t, &tm))
			return -ERANGE;
		if (!(c->month >> (tm.tm_mon + 1) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			cs = timegm(&tm);
			continue;
		}
		if (!day_matches(c, tm.tm_mday, tm.tm_wday) ||
		    (h = next_bit(c->hour, tm.tm_hour, 24)) < 0) {
			cs = day + 86400;
			continue;
		}
		if (h > tm.tm_hour) {
			cs = day + h * 3600;
			continue;
		}
		if ((m = next_bit(c->minute, tm.tm_min, 60)) < 0) {
			cs = day + (h + 1) * 3600;
			continue;
		}
		if (day + h * 3600 + m * 60 > limit)
			break;
		*at = day + h * 3600 + m * 60;
		return 0;
	}
	return -ERANGE;
}

/* The offset goes from o to o2 > o at real time x: does c fire at x for a
 * time in the gap? Fixed-time schedules catch up gaps under DST_MAX, every
 * schedule those under CATCH_UP_ALL; vt: civil times before it have fired. */
static bool gap_fires(const struct fl_cron *c, bool wild, int64_t vt, int64_t x, long o, long o2)
{
	int64_t from = x + o, cm;

	if (!(o2 - o < CATCH_UP_ALL || (!wild && o2 - o < DST_MAX)))
		return false;
	if (!wild && vt > from)
		from = vt;
	return civil_next(c, from, x + o2 - 1, &cm) == 0;
}

/* The offset goes back from o to o2 at real time x: the civil times up to
 * x + o come again; fixed-time schedules do not fire again for them, unless
 * the step is so large that cronie takes it for a clock reset. */
static int64_t step_back(int64_t vt, int64_t x, long o, long o2)
{
	if (o - o2 > DST_MAX)
		return INT64_MIN;
	return x + o > vt ? x + o : vt;
}

static int fire_at(int64_t t, int64_t horizon, uint64_t *next_ns)
{
	if (t > horizon || t < 0 || (uint64_t)t > UINT64_MAX / NS_PER_S)
		return -ERANGE;
	*next_ns = (uint64_t)t * NS_PER_S;
	return 0;
}

int fl_cron_next(const struct fl_cron *c, uint64_t after_ns, uint64_t *next_ns)
{
	int64_t a, horizon, p, x, cm, vt = INT64_MIN;
	bool wild;
	long o, o2;

	if (!c || !next_ns)
		return -EINVAL;
	if (c->every) {
		if (!c->every_ns)
			return -EINVAL;
		if (after_ns > UINT64_MAX - c->every_ns)
			return -ERANGE;
		*next_ns = after_ns + c->every_ns;
		return 0;
	}
	if (!c->minute || !c->hour || !c->mday || !c->month || !c->wday)
		return -EINVAL;
	tzset();
	wild = c->minute_star || c->hour_star;
	a = (int64_t)(after_ns / NS_PER_S); /* fire at a + 1 or later */
	horizon = a + FL_CRON_HORIZON_S;

	/*
	 * Where the clock stands at a: a step back in the last 3 hours whose
	 * repeated civil times are not over yet (fixed-time schedules must not
	 * fire in them), or a step forward at a + 1 exactly, whose gap may
	 * have to be caught up now.
	 */
	p = a - DST_MAX;
	o = offset_at(p + 1);
	while (first_change(p + 1, a + 1, o, &x)) {
		o2 = offset_at(x);
		if (o2 < o)
			vt = step_back(vt, x, o, o2);
		else if (x == a + 1 && gap_fires(c, wild, vt, x, o, o2))
			return fire_at(x, horizon, next_ns);
		p = x - 1;
		o = o2;
	}

	/* From p + 1 (offset o) on: the next matching civil minute, unless the
	 * offset changes first. */
	for (p = a;;) {
		int64_t from = p + 1 + o;

		if (!wild && vt > from)
			from = vt;
		if (civil_next(c, from, horizon + o + 86400, &cm))
			return -ERANGE;
		if (!first_change(p + 1, cm - o, o, &x))
			return fire_at(cm - o, horizon, next_ns);
		o2 = offset_at(x);
		if (o2 > o) {
			if (gap_fires(c, wild, vt, x, o, o2))
				return fire_at(x, horizon, next_ns);
		} else {
			vt = step_back(vt, x, o, o2);
		}
		if (x > horizon)
			return -ERANGE;
		p = x - 1;
		o = o2;
	}
}
