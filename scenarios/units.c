/*
 * scenarios/units.c - the one parser for the units users write.
 *
 * Durations, percentages, rates, sizes and port lists, in tc/netem's
 * vocabulary (iproute2 tc/tc_util.c get_time, get_percent, get_rate,
 * get_size): "500ms", "0.5%", "1.5mbit", "64kb". CLI flags, scenario files
 * and API bodies all call these, so one form means one thing everywhere.
 *
 * tc parses with strtod(), which also takes " 5", "+5", "0x10", "1e3",
 * "inf" and "nan" and rounds through a double. We scan the characters
 * ourselves instead: a number is digits with an optional decimal part
 * ("1.5", ".5"), nothing else, and it is scaled with exact integer
 * arithmetic, so "30%" is exactly 300000000 ppb and "1.5s" exactly
 * 1500000000 ns. A value that does not land on a whole unit of the result
 * ("0.5ns", "1.5bit") is refused rather than rounded. Unit names are
 * case-insensitive, as in tc ("1Mbit", "64KB").
 */
#include <stdarg.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "faultline/units.h"

typedef unsigned __int128 u128;

struct unit {
	const char *name;
	uint64_t scale; /* result units per one of this unit */
};

#define NS_PER_NS	1ull
#define NS_PER_US	1000ull
#define NS_PER_MS	1000000ull
#define NS_PER_S	1000000000ull
#define NS_PER_MIN	(60 * NS_PER_S)
#define NS_PER_HOUR	(60 * NS_PER_MIN)
#define KIB		1024ull
#define MIB		(1024 * KIB)
#define GIB		(1024 * MIB)
#define TIB		(1024 * GIB)
#define PPB_PER_PERCENT (FL_PPB_100 / 100)

/* tc's get_time() names, plus minutes and hours. */
static const struct unit duration_units[] = {
    {"ns", NS_PER_NS},	{"nsec", NS_PER_NS},   {"nsecs", NS_PER_NS},
    {"us", NS_PER_US},	{"usec", NS_PER_US},   {"usecs", NS_PER_US},
    {"ms", NS_PER_MS},	{"msec", NS_PER_MS},   {"msecs", NS_PER_MS},
    {"s", NS_PER_S},	{"sec", NS_PER_S},     {"secs", NS_PER_S},
    {"m", NS_PER_MIN},	{"min", NS_PER_MIN},   {"mins", NS_PER_MIN},
    {"h", NS_PER_HOUR}, {"hour", NS_PER_HOUR}, {"hours", NS_PER_HOUR},
    {NULL, 0},
};

/* tc's table (tc_util.c suffixes[]); "bps" is bytes per second there too. */
static const struct unit rate_units[] = {
    {"bit", 1},
    {"kbit", 1000ull},
    {"mbit", 1000000ull},
    {"gbit", 1000000000ull},
    {"tbit", 1000000000000ull},
    {"kibit", KIB},
    {"mibit", MIB},
    {"gibit", GIB},
    {"tibit", TIB},
    {"bps", 8},
    {"kbps", 8 * 1000ull},
    {"mbps", 8 * 1000000ull},
    {"gbps", 8 * 1000000000ull},
    {"tbps", 8 * 1000000000000ull},
    {"kibps", 8 * KIB},
    {"mibps", 8 * MIB},
    {"gibps", 8 * GIB},
    {"tibps", 8 * TIB},
    {NULL, 0},
};

/* tc's get_size(): 1024-based, and "kbit" is 1024 bits = 128 bytes. */
static const struct unit size_units[] = {
    {"b", 1},	 {"k", KIB},	    {"kb", KIB},       {"m", MIB},	  {"mb", MIB}, {"g", GIB},
    {"gb", GIB}, {"kbit", KIB / 8}, {"mbit", MIB / 8}, {"gbit", GIB / 8}, {NULL, 0},
};

/*
 * The bad text as it goes between quotes in a message: control characters,
 * quotes and non-ASCII bytes escaped (the message may end up in a terminal
 * or a JSON body), long text cut to its first 48 bytes and "...".
 */
#define QUOTE_MAX 48
struct quoted {
	char s[QUOTE_MAX * 4 + 4];
};

static const char *quote_n(const char *s, size_t n, struct quoted *q)
{
	size_t i, o = 0;

	for (i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)c;
		} else if (c == '\t') {
			q->s[o++] = '\\';
			q->s[o++] = 't';
		} else if (c == '\n') {
			q->s[o++] = '\\';
			q->s[o++] = 'n';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "\\x%02x", c);
		} else {
			q->s[o++] = (char)c;
		}
	}
	if (i < n) {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o] = '\0';
	return q->s;
}

static const char *quote(const char *s, struct quoted *q)
{
	return quote_n(s, strlen(s), q);
}

/*
 * A decimal number as written, before scaling: ipart.frac, where frac holds
 * frac_digits digits with trailing zeros dropped ("1.50" is ipart 1, frac 5,
 * frac_digits 1).
 */
struct decimal {
	uint64_t ipart;
	bool ipart_overflow; /* more than UINT64_MAX */
	uint64_t frac;
	unsigned frac_digits;
	bool frac_too_long; /* more significant fractional digits than fit in frac */
};

#define FRAC_DIGITS_MAX 19 /* 10^19 < 2^64 */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Scan "123", "1.5" or ".5" at s. Returns the first character after the
 * number, or NULL when s does not start with one. "5." is the number 5
 * followed by ".", which no unit matches.
 */
static const char *scan_decimal(const char *s, struct decimal *d)
{
	const char *p = s;
	unsigned zeros = 0;

	memset(d, 0, sizeof(*d));
	for (; is_digit(*p); p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (d->ipart > (UINT64_MAX - digit) / 10)
			d->ipart_overflow = true;
		else
			d->ipart = d->ipart * 10 + digit;
	}
	if (*p == '.' && is_digit(p[1])) {
		for (p++; is_digit(*p); p++) {
			if (*p == '0') {
				zeros++;
				continue;
			}
			if (d->frac_digits + zeros + 1 > FRAC_DIGITS_MAX) {
				d->frac_too_long = true;
				continue;
			}
			for (; zeros; zeros--, d->frac_digits++)
				d->frac *= 10;
			d->frac = d->frac * 10 + (uint64_t)(*p - '0');
			d->frac_digits++;
		}
	}
	return p == s ? NULL : p;
}

enum scale_result { SCALE_OK, SCALE_OVERFLOW, SCALE_INEXACT };

/*
 * d * scale as an integer no larger than max, exactly or not at all. Too
 * large wins over inexact, so "100.00000001%" is out of range rather than
 * too fine. Nothing here overflows: ipart < 2^64, frac < 10^19 < 2^64 and
 * scale < 2^44, so every product is below 2^108.
 */
static enum scale_result scale_decimal(const struct decimal *d, uint64_t scale, uint64_t max,
				       uint64_t *out)
{
	u128 pow10 = 1, frac, value;
	bool remainder;
	unsigned i;

	if (d->ipart_overflow)
		return SCALE_OVERFLOW;
	for (i = 0; i < d->frac_digits; i++)
		pow10 *= 10;
	frac = (u128)d->frac * scale;
	value = (u128)d->ipart * scale + frac / pow10;
	remainder = frac % pow10 != 0 || d->frac_too_long;
	if (value > max || (value == max && remainder))
		return SCALE_OVERFLOW;
	if (remainder)
		return SCALE_INEXACT;
	*out = (uint64_t)value;
	return SCALE_OK;
}

static const struct unit *find_unit(const struct unit *units, const char *name)
{
	for (; units->name; units++)
		if (strcasecmp(units->name, name) == 0)
			return units;
	return NULL;
}

/* "-5ms", "-.5%": a minus sign in front of what would otherwise be a number. */
static bool looks_negative(const char *s)
{
	return s[0] == '-' && (is_digit(s[1]) || (s[1] == '.' && is_digit(s[2])));
}

/*
 * The common shape: a number, then a unit from the table (or none, when
 * bare_scale is non-zero). Returns the scaled value through out; on a
 * refusal returns which one, and the caller words the message.
 */
enum amount_result {
	AMOUNT_OK,
	AMOUNT_MALFORMED, /* not a number and a known unit */
	AMOUNT_BARE,	  /* a number without a unit where one is required */
	AMOUNT_NEGATIVE,
	AMOUNT_OVERFLOW,
	AMOUNT_INEXACT,
};

static enum amount_result parse_amount(const char *s, const struct unit *units, uint64_t bare_scale,
				       uint64_t max, uint64_t *out)
{
	struct decimal d;
	const struct unit *u;
	const char *rest;
	uint64_t scale;

	if (looks_negative(s))
		return AMOUNT_NEGATIVE;
	rest = scan_decimal(s, &d);
	if (!rest)
		return AMOUNT_MALFORMED;
	if (*rest == '\0') {
		if (!bare_scale)
			return AMOUNT_BARE;
		scale = bare_scale;
	} else {
		u = find_unit(units, rest);
		if (!u)
			return AMOUNT_MALFORMED;
		scale = u->scale;
	}
	switch (scale_decimal(&d, scale, max, out)) {
	case SCALE_OVERFLOW:
		return AMOUNT_OVERFLOW;
	case SCALE_INEXACT:
		return AMOUNT_INEXACT;
	case SCALE_OK:
		break;
	}
	return AMOUNT_OK;
}

/* A bare "0" or "0.0": zero in any unit, so not ambiguous the way "60" is. */
static bool is_bare_zero(const char *s)
{
	struct decimal d;
	const char *rest = scan_decimal(s, &d);

	return rest && *rest == '\0' && !d.ipart_overflow && d.ipart == 0 && d.frac_digits == 0 &&
	       !d.frac_too_long;
}

int fl_parse_duration(const char *s, const char *field, int allow_zero, uint64_t *ns,
		      struct fl_error *err)
{
	struct quoted q;
	uint64_t v = 0;
	enum amount_result r;

	if (!s)
		s = "";
	if (allow_zero && is_bare_zero(s))
		r = AMOUNT_OK;
	else
		r = parse_amount(s, duration_units, 0, UINT64_MAX, &v);

	switch (r) {
	case AMOUNT_OK:
		break;
	case AMOUNT_MALFORMED:
		return fl_error_set(err, field,
				    "\"%s\" is not a duration (expected a number and a unit: "
				    "ns, us, ms, s, m, h)",
				    quote(s, &q));
	case AMOUNT_BARE:
		if (is_bare_zero(s))
			break; /* refused below as zero */
		return fl_error_set(err, field, "\"%s\" needs a unit, e.g. %ss, 500ms, 2m",
				    quote(s, &q), q.s);
	case AMOUNT_NEGATIVE:
		return fl_error_set(err, field,
				    "\"%s\" is negative (expected a duration such as 500ms)",
				    quote(s, &q));
	case AMOUNT_OVERFLOW:
		return fl_error_set(err, field, "\"%s\" is too long (at most 5124095h, 584 years)",
				    quote(s, &q));
	case AMOUNT_INEXACT:
		return fl_error_set(err, field, "\"%s\" is not a whole number of nanoseconds",
				    quote(s, &q));
	}
	if (v == 0 && !allow_zero)
		return fl_error_set(err, field, "\"%s\" is zero (expected a duration above 0)",
				    quote(s, &q));
	*ns = v;
	return 0;
}

int fl_parse_percent(const char *s, const char *field, uint32_t *ppb, struct fl_error *err)
{
	static const struct unit percent_units[] = {{"%", PPB_PER_PERCENT}, {NULL, 0}};
	struct quoted q;
	uint64_t v;

	if (!s)
		s = "";
	switch (parse_amount(s, percent_units, PPB_PER_PERCENT, FL_PPB_100, &v)) {
	case AMOUNT_OK:
		break;
	case AMOUNT_MALFORMED:
	case AMOUNT_BARE:
		return fl_error_set(err, field,
				    "\"%s\" is not a percentage (expected a number between 0 and "
				    "100, e.g. 30%% or 0.5%%)",
				    quote(s, &q));
	case AMOUNT_NEGATIVE:
	case AMOUNT_OVERFLOW:
		return fl_error_set(err, field, "\"%s\" is not a percentage between 0 and 100",
				    quote(s, &q));
	case AMOUNT_INEXACT:
		return fl_error_set(err, field,
				    "\"%s\" is finer than 0.0000001%%, the smallest step",
				    quote(s, &q));
	}
	*ppb = (uint32_t)v;
	return 0;
}

int fl_parse_rate(const char *s, const char *field, uint64_t *bits_per_sec, struct fl_error *err)
{
	struct quoted q;
	uint64_t v;

	if (!s)
		s = "";
	switch (parse_amount(s, rate_units, 1, UINT64_MAX, &v)) {
	case AMOUNT_OK:
		break;
	case AMOUNT_MALFORMED:
	case AMOUNT_BARE:
		return fl_error_set(
		    err, field,
		    "\"%s\" is not a rate (expected a number and a unit: bit, kbit, "
		    "mbit, gbit, tbit, kibit, mibit, gibit, tibit, or bps, kbps, "
		    "mbps, gbps for bytes/s)",
		    quote(s, &q));
	case AMOUNT_NEGATIVE:
		return fl_error_set(
		    err, field, "\"%s\" is negative (expected a rate such as 1mbit)", quote(s, &q));
	case AMOUNT_OVERFLOW:
		return fl_error_set(err, field,
				    "\"%s\" is too large (at most 18446744073709551615bit)",
				    quote(s, &q));
	case AMOUNT_INEXACT:
		return fl_error_set(err, field, "\"%s\" is not a whole number of bits per second",
				    quote(s, &q));
	}
	if (v == 0)
		return fl_error_set(err, field, "\"%s\" is zero (expected a rate above 0)",
				    quote(s, &q));
	*bits_per_sec = v;
	return 0;
}

int fl_parse_size(const char *s, const char *field, uint64_t *bytes, struct fl_error *err)
{
	struct quoted q;
	uint64_t v;

	if (!s)
		s = "";
	switch (parse_amount(s, size_units, 1, UINT64_MAX, &v)) {
	case AMOUNT_OK:
		break;
	case AMOUNT_MALFORMED:
	case AMOUNT_BARE:
		return fl_error_set(err, field,
				    "\"%s\" is not a size (expected a number and a unit: b, kb, "
				    "mb, gb, or kbit, mbit, gbit)",
				    quote(s, &q));
	case AMOUNT_NEGATIVE:
		return fl_error_set(err, field, "\"%s\" is negative (expected a size such as 64kb)",
				    quote(s, &q));
	case AMOUNT_OVERFLOW:
		return fl_error_set(err, field,
				    "\"%s\" is too large (at most 18446744073709551615b)",
				    quote(s, &q));
	case AMOUNT_INEXACT:
		return fl_error_set(err, field, "\"%s\" is not a whole number of bytes",
				    quote(s, &q));
	}
	if (v == 0)
		return fl_error_set(err, field, "\"%s\" is zero (expected a size above 0)",
				    quote(s, &q));
	*bytes = v;
	return 0;
}

/* Digits only between p and end; saturates above 65535 so "99999999999" stays out of range. */
static bool scan_port(const char *p, const char *end, uint32_t *port)
{
	uint32_t v = 0;

	if (p == end)
		return false;
	for (; p < end; p++) {
		if (!is_digit(*p))
			return false;
		v = v * 10 + (uint32_t)(*p - '0');
		if (v > 65536)
			v = 65536;
	}
	*port = v;
	return true;
}

/* One item of a port list, "80" or "8000-8100", between item and end. */
static int parse_port_item(const char *item, const char *end, const char *field, uint16_t *lo,
			   uint16_t *hi, struct fl_error *err)
{
	const char *dash = memchr(item, '-', (size_t)(end - item));
	const char *lo_end = dash ? dash : end;
	uint32_t a, b;
	struct quoted q, q2;

	if (!scan_port(item, lo_end, &a) || (dash && !scan_port(dash + 1, end, &b)))
		return fl_error_set(err, field,
				    "\"%s\" is not a port (expected a number 1-65535, a range "
				    "such as 8000-8100, or a list such as 80,443,9000-9100)",
				    quote_n(item, (size_t)(end - item), &q));
	if (!dash)
		b = a;
	if (a < 1 || a > 65535)
		return fl_error_set(err, field, "\"%s\" is not a port between 1 and 65535",
				    quote_n(item, (size_t)(lo_end - item), &q));
	if (b < 1 || b > 65535)
		return fl_error_set(err, field, "\"%s\" is not a port between 1 and 65535",
				    quote_n(dash + 1, (size_t)(end - dash - 1), &q));
	if (a > b)
		return fl_error_set(err, field,
				    "\"%s\" is not a range: its low end %s is above its high end",
				    quote_n(item, (size_t)(end - item), &q),
				    quote_n(item, (size_t)(lo_end - item), &q2));
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

int fl_parse_ports(const char *s, const char *field, struct fl_port_set *out, struct fl_error *err)
{
	struct fl_port_set set = {0};
	struct quoted q;
	const char *item, *end;
	int r;

	if (!s || !*s)
		return fl_error_set(
		    err, field,
		    "\"\" is not a port (expected a number 1-65535, a range such as "
		    "8000-8100, or a list such as 80,443,9000-9100)");
	for (item = s;; item = end + 1) {
		end = strchr(item, ',');
		if (!end)
			end = item + strlen(item);
		if (end == item)
			return fl_error_set(err, field,
					    "\"%s\" has an empty item (expected a list such as "
					    "80,443,9000-9100)",
					    quote(s, &q));
		if (set.n == FL_PORT_RANGES_MAX)
			return fl_error_set(err, field, "\"%s\" has more than %d items",
					    quote(s, &q), FL_PORT_RANGES_MAX);
		r = parse_port_item(item, end, field, &set.r[set.n].lo, &set.r[set.n].hi, err);
		if (r < 0)
			return r;
		set.n++;
		if (*end == '\0')
			break;
	}
	*out = set;
	return 0;
}

/*
 * v / scale as an exact decimal ("1.5", "500"), or -1 when it does not
 * terminate (61s in minutes). scale <= NS_PER_HOUR, so r * 10 cannot overflow.
 */
static int exact_decimal(uint64_t v, uint64_t scale, char *out, size_t len)
{
	uint64_t r = v % scale;
	int n = snprintf(out, len, "%llu", (unsigned long long)(v / scale));
	unsigned digits = 0;

	if (r && (size_t)n < len - 1)
		out[n++] = '.';
	while (r) {
		if (++digits > FRAC_DIGITS_MAX || (size_t)n >= len - 1)
			return -1;
		r *= 10;
		out[n++] = (char)('0' + r / scale);
		r %= scale;
	}
	out[n] = '\0';
	return n;
}

/* A unit for output; max_frac bounds the decimals it may be written with. */
struct fmt_unit {
	const char *name;
	uint64_t scale;
	int max_frac;
};

/* Digits after the decimal point in an exact_decimal() string. */
static int frac_len(const char *num)
{
	const char *dot = strchr(num, '.');

	return dot ? (int)strlen(dot + 1) : 0;
}

/*
 * The shortest exact form among the units, counting only those the value
 * reaches at least once ("500ms", not "0.5s"); a tie goes to the larger unit
 * ("2.5kbit", not "2500bit"). units[] is largest first.
 */
static const char *fmt_shortest(uint64_t v, const struct fmt_unit *units, const char *zero,
				char *buf, unsigned long len)
{
	char best[64] = "", num[48];
	int best_len = -1;

	if (v == 0) {
		snprintf(buf, len, "%s", zero);
		return buf;
	}
	for (; units->name; units++) {
		int n;

		if (v < units->scale)
			continue;
		n = exact_decimal(v, units->scale, num, sizeof(num));
		if (n < 0 || frac_len(num) > units->max_frac)
			continue;
		n += (int)strlen(units->name);
		if (best_len < 0 || n < best_len) {
			snprintf(best, sizeof(best), "%s%s", num, units->name);
			best_len = n;
		}
	}
	snprintf(buf, len, "%s", best);
	return buf;
}

/*
 * Minutes and hours are not decimal units: "1.5m" reads well,
 * "307445734.56182586025m" does not, so they get at most two decimals.
 */
const char *fl_fmt_duration(uint64_t ns, char *buf, unsigned long len)
{
	static const struct fmt_unit units[] = {
	    {"h", NS_PER_HOUR, 2},
	    {"m", NS_PER_MIN, 2},
	    {"s", NS_PER_S, FRAC_DIGITS_MAX},
	    {"ms", NS_PER_MS, FRAC_DIGITS_MAX},
	    {"us", NS_PER_US, FRAC_DIGITS_MAX},
	    {"ns", NS_PER_NS, FRAC_DIGITS_MAX},
	    {NULL, 0, 0},
	};

	return fmt_shortest(ns, units, "0s", buf, len);
}

const char *fl_fmt_percent(uint32_t ppb, char *buf, unsigned long len)
{
	char num[32];

	exact_decimal(ppb, PPB_PER_PERCENT, num, sizeof(num));
	snprintf(buf, len, "%s%%", num);
	return buf;
}

/* SI only, as tc prints rates by default ("1.5mbit", not "1.43mibit"). */
const char *fl_fmt_size(uint64_t bytes, char *buf, unsigned long len)
{
	if (bytes && bytes % (1024 * 1024) == 0)
		snprintf(buf, len, "%llumb", (unsigned long long)(bytes / (1024 * 1024)));
	else if (bytes && bytes % 1024 == 0)
		snprintf(buf, len, "%llukb", (unsigned long long)(bytes / 1024));
	else
		snprintf(buf, len, "%llub", (unsigned long long)bytes);
	return buf;
}

const char *fl_fmt_rate(uint64_t bits_per_sec, char *buf, unsigned long len)
{
	static const struct fmt_unit units[] = {
	    {"tbit", 1000000000000ull, FRAC_DIGITS_MAX},
	    {"gbit", 1000000000ull, FRAC_DIGITS_MAX},
	    {"mbit", 1000000ull, FRAC_DIGITS_MAX},
	    {"kbit", 1000ull, FRAC_DIGITS_MAX},
	    {"bit", 1, FRAC_DIGITS_MAX},
	    {NULL, 0, 0},
	};

	return fmt_shortest(bits_per_sec, units, "0bit", buf, len);
}

void fl_append(char *buf, unsigned long len, unsigned long *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o += (unsigned long)n < len - *o ? (unsigned long)n : len - *o - 1;
}

const char *fl_fmt_ports(const struct fl_port_set *ps, char *buf, unsigned long len)
{
	unsigned long o = 0;

	buf[0] = '\0';
	for (unsigned k = 0; k < ps->n; k++) {
		if (ps->r[k].lo == ps->r[k].hi)
			fl_append(buf, len, &o, "%s%u", k ? "," : "", ps->r[k].lo);
		else
			fl_append(buf, len, &o, "%s%u-%u", k ? "," : "", ps->r[k].lo, ps->r[k].hi);
	}
	return buf;
}

int fl_ports_only_management(const struct fl_port_set *ps)
{
	if (!ps->n)
		return 0;
	for (unsigned k = 0; k < ps->n; k++)
		if (ps->r[k].lo != 22 || ps->r[k].hi != 22)
			return 0;
	return 1;
}
