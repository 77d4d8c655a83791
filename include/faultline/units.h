/*
 * faultline/units.h - the one parser for the units users write.
 *
 * The vocabulary is tc/netem's (iproute2 tc/q_netem.c, tc/tc_util.c), so that
 * "30%", "0.5%", "500ms", "2m", "1mbit", "64kb" mean what a netem user
 * expects. CLI flags, scenario files and API bodies all go through these
 * functions, so a form accepted in one place is accepted everywhere.
 *
 * Each function returns 0, or -EINVAL with err filled: err->field is set to
 * the field argument and err->msg names the bad text and the expected form,
 * e.g. "\"130%\" is not a percentage between 0 and 100".
 */
#ifndef FAULTLINE_UNITS_H
#define FAULTLINE_UNITS_H

#include <stdint.h>
#include "faultline/error.h"

/* Durations: "250ns", "100us"/"usec", "500ms"/"msec", "1.5s"/"sec"/"secs",
 * "2m"/"min", "1h". A unit is required (a bare "60" is refused: seconds or
 * microseconds would both be plausible). Result in nanoseconds, > 0 unless
 * allow_zero. */
int fl_parse_duration(const char *s, const char *field, int allow_zero, uint64_t *ns,
		      struct fl_error *err);

/* Percentages: "30%", "0.5%", or a bare number "30" (meaning 30%), within
 * [0, 100]. Result in parts per billion (100% = 1000000000) so that 0.0001%
 * is still exact. */
#define FL_PPB_100 1000000000u
int fl_parse_percent(const char *s, const char *field, uint32_t *ppb, struct fl_error *err);

/* Rates as tc writes them: "bit", "kbit", "mbit", "gbit", "tbit" (SI, bits/s),
 * "kibit", "mibit", ... (IEC), "bps", "kbps", "mbps", "gbps" (bytes/s, SI).
 * A bare number is bits/s. Result in bits per second, > 0. */
int fl_parse_rate(const char *s, const char *field, uint64_t *bits_per_sec, struct fl_error *err);

/* Sizes as tc writes them: "b", "k"/"kb", "m"/"mb", "g"/"gb" (bytes, 1024
 * based as tc does), "kbit", "mbit", "gbit" (bits). A bare number is bytes.
 * Result in bytes, > 0. */
int fl_parse_size(const char *s, const char *field, uint64_t *bytes, struct fl_error *err);

/* Ports: "80", "8000-8100", "80,443,9000-9100". Ports are 1..65535, a range's
 * low end is <= its high end, at most FL_PORT_RANGES_MAX items. */
#define FL_PORT_RANGES_MAX 32
struct fl_port_set {
	unsigned n;
	struct {
		uint16_t lo, hi;
	} r[FL_PORT_RANGES_MAX];
};
int fl_parse_ports(const char *s, const char *field, struct fl_port_set *out, struct fl_error *err);

/* Formatting for messages and reports: "1.5s", "500ms", "30%", "1.5mbit". */
const char *fl_fmt_duration(uint64_t ns, char *buf, unsigned long len);
const char *fl_fmt_percent(uint32_t ppb, char *buf, unsigned long len);
const char *fl_fmt_rate(uint64_t bits_per_sec, char *buf, unsigned long len);
/* "64kb", "1mb", "1500b": a size as --burst takes it */
const char *fl_fmt_size(uint64_t bytes, char *buf, unsigned long len);
/* "80", "8000-8100,9000": the set as --port takes it */
const char *fl_fmt_ports(const struct fl_port_set *ps, char *buf, unsigned long len);

/* Every item of the set is the management port (22): a rule would match nothing. */
int fl_ports_only_management(const struct fl_port_set *ps);

/* Append printf output to buf at *o, never past len (truncates, stays terminated). */
void fl_append(char *buf, unsigned long len, unsigned long *o, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif /* FAULTLINE_UNITS_H */
