/*
 * faultline/cron.h - schedules: when faultlined fires a scheduled experiment.
 *
 * A schedule is a 5-field cron line, a macro, or "@every DURATION"
 * (docs/scenario.md, "report and schedule"). The scenario checker
 * (scenarios/scenario.c) and the daemon read it with this one parser, so a
 * schedule `faultline validate` accepts is one the daemon can fire.
 *
 * Cron lines are read as Vixie cron / cronie read a crontab:
 *
 *   minute hour day-of-month month day-of-week
 *   0-59   0-23 1-31         1-12  0-7 (0 and 7 are Sunday)
 *
 * each field a comma list of items: "*", "N", "A-B", "*" or "A-B" or "N"
 * followed by "/STEP" ("N/STEP" is N to the field's maximum, as in
 * cronie and most later crons), months jan..dec and days sun..sat as
 * 3-letter names in any case. The macros: @yearly = @annually = "0 0 1 1 *",
 * @monthly = "0 0 1 * *", @weekly = "0 0 * * 0", @daily = @midnight =
 * "0 0 * * *", @hourly = "0 * * * *".
 *
 * Day rule (cron's): when the day-of-month or the day-of-week field starts
 * with '*', a day must match both fields (so the starred one, all days,
 * drops out); when neither does, a day matches if EITHER matches:
 * "0 0 13 * 5" fires on every 13th and on every Friday. As in cronie, a
 * field counts as starred by its first character: with a stepped star ("*"
 * followed by "/2") as its day of month, "0 0 ... * 1" fires on odd days
 * that are Mondays; with "1-31/2", the same days, on odd days and on
 * Mondays.
 */
#ifndef FAULTLINE_CRON_H
#define FAULTLINE_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/error.h"

struct fl_cron {
	bool every;		   /* "@every DURATION": the other fields are zero */
	uint64_t every_ns;	   /* >= 1s */
	uint64_t minute;	   /* bit per minute 0-59 */
	uint32_t hour;		   /* bits 0-23 */
	uint32_t mday;		   /* bits 1-31 */
	uint16_t month;		   /* bits 1-12 */
	uint8_t wday;		   /* bits 0-6, Sunday 0 (7 folds to 0) */
	bool mday_star, wday_star; /* the field started with '*': see the day rule above */
	/* The minute or hour field started with '*' (cronie's MIN_STAR, HR_STAR;
	 * @hourly has hour_star): a "wildcard" schedule as opposed to a
	 * fixed-time one, which fl_cron_next treats differently across DST
	 * changes, as cronie does. */
	bool minute_star, hour_star;
};

/* Look no further than this for a next fire time: 5 years, leap days included. */
#define FL_CRON_HORIZON_S (1827LL * 86400)

/*
 * Parse a schedule into out (which may be NULL to only check it). 0, or
 * -EINVAL with err filled: field "schedule" and a message naming the bad
 * part and the expected form, e.g. "hour: \"25\" is out of range (expected
 * 0-23)", "\"0 3 * *\" has 4 fields (expected 5: ...)", "@every: \"soon\"
 * is not a duration (...)", "@every 500ms is shorter than 1s (expected 1s
 * or more)". Tokens are separated by spaces and tabs; a macro must be the
 * whole text. out is left untouched on error.
 */
int fl_cron_parse(const char *text, struct fl_cron *out, struct fl_error *err);

/* The same, with the message written to msg[len] (cut to fit) instead of
 * into a struct fl_error, whose msg holds 256 bytes: for a caller that wants
 * a long schedule quoted whole, as the scenario checker does. */
int fl_cron_parse_msg(const char *text, struct fl_cron *out, char *msg, size_t len);

/*
 * The first fire time strictly after after_ns (CLOCK_REALTIME ns), into
 * *next_ns: always a whole second, the start of a local minute. "@every D"
 * is after_ns + D. Cron schedules are read in the local time zone (TZ, or
 * /etc/localtime; tzset() is called first, as mktime does, so a changed TZ
 * takes effect). 0, -ERANGE when there is none within FL_CRON_HORIZON_S
 * (e.g. "0 0 31 2 *", or a time past 2554 that does not fit in
 * nanoseconds), -EINVAL for a struct no parse produced (no bits set).
 *
 * Clock changes (DST, or any change of the zone's UTC offset) follow
 * cronie, which treats a change of up to 3 hours as DST:
 *  - Forward (a gap: 02:00-02:59 does not exist on the spring-forward day
 *    in America/New_York). A fixed-time schedule due inside a gap of less
 *    than 3 hours fires once at the first instant after it (03:00 EDT for
 *    "30 2 * * *", and for "0,30 2 * * *" once too); a wildcard schedule
 *    ("30 * * * *", "* * * * *") skips the times that do not exist, unless
 *    the gap is under 5 minutes (then every schedule catches up). A gap of
 *    3 hours or more is skipped by all.
 *  - Backward (an overlap: 01:00-01:59 happens twice on the fall-back day).
 *    A fixed-time schedule fires at the first occurrence only ("30 1 * * *"
 *    fires once, at 01:30 EDT); a wildcard schedule fires at both, so that
 *    "0 * * * *" still fires every real hour. A step back of more than 3
 *    hours is a new day for all: everything fires again.
 * The result depends on after_ns only (no state is kept): asked from inside
 * the repeated hour, a fixed-time schedule still does not fire a second
 * time, and asked at the end of a gap it has fired at, not again.
 * Safe from several threads, but not while one of them changes TZ.
 */
int fl_cron_next(const struct fl_cron *c, uint64_t after_ns, uint64_t *next_ns);

#endif /* FAULTLINE_CRON_H */
