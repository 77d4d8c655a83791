/*
 * faultline/dist.h - netem's jitter distributions, computed at run time.
 *
 * `delay TIME JITTER distribution normal|pareto|paretonormal` means what it
 * means to netem: the delay is TIME + JITTER * t / FL_DIST_SCALE, where t is
 * an entry drawn at random from a table of FL_DIST_SIZE values. netem reads
 * its tables from the files iproute2 generates at build time
 * (/usr/lib/.../tc/{normal,pareto,paretonormal}.dist, from iproute2's
 * netem/normal.c, pareto.c, paretonormal.c); faultline computes the same
 * tables itself with the same algorithms, so it needs no file, and checks
 * them against the files where they are installed (tests/unit/test_dist.c).
 *
 * Two kinds of table:
 *  - fl_dist_netem_table(): netem's, exactly as iproute2 generates it;
 *  - fl_dist_table(): faultline's, the same values shifted and rescaled so
 *    that JITTER is the standard deviation of the delay. netem's tables are
 *    not: their mean is not 0 and their standard deviation is 0.82 sigma for
 *    pareto (its long tail is cut at 32767), so under netem "20ms 5ms
 *    distribution pareto" has a standard deviation of 4.1ms, not 5ms.
 *
 * Uniform, netem's default, has no table: fl_dist_sample() computes it.
 * Nothing here allocates, prints or changes the system.
 */
#ifndef FAULTLINE_DIST_H
#define FAULTLINE_DIST_H

#include <stdint.h>

#define FL_DIST_SIZE 4096 /* entries per table */
/* the largest jitter (sigma) the uniform draw takes: 2 * sigma <= 2^32 */
#define FL_JITTER_MAX_NS 2147483647ull
#define FL_DIST_SCALE	 8192 /* netem's NETEM_DIST_SCALE: table value 8192 = one sigma */

enum fl_dist {
	FL_DIST_UNIFORM = 0,
	FL_DIST_NORMAL = 1,
	FL_DIST_PARETO = 2,
	FL_DIST_PARETONORMAL = 3,
};

/* netem's raw table exactly as iproute2 generates it (int16 range: what
 * netem's TCA_NETEM_DELAY_DIST carries), in iproute2's order (ascending).
 * 0, or -EINVAL for FL_DIST_UNIFORM (no table) or an unknown d; out is then
 * untouched. Takes about 2 ms for normal and paretonormal (the 401,000 steps
 * of iproute2's generator, with erf() at 26,000 of them), 0.2 ms for pareto. */
int fl_dist_netem_table(enum fl_dist d, int16_t out[FL_DIST_SIZE]);

/* faultline's table: netem's, shifted and rescaled so that its mean is 0
 * (within rounding) and its standard deviation FL_DIST_SCALE (within 0.01%),
 * rounded to the nearest integer, in netem's order. int32, because the
 * rescaled pareto tail exceeds int16 (every |entry| stays below 65536).
 * 0, or -EINVAL for FL_DIST_UNIFORM or an unknown d; out is then untouched. */
int fl_dist_table(enum fl_dist d, int32_t out[FL_DIST_SIZE]);

/* "uniform", "normal", "pareto", "paretonormal" -> enum (exact, lower case,
 * as tc spells them); -EINVAL otherwise, *out untouched. */
int fl_dist_parse(const char *name, enum fl_dist *out);

/* The enum's name as fl_dist_parse() takes it; "?" for an unknown value. */
const char *fl_dist_name(enum fl_dist d);

/* One delay, in ns: netem's tabledist() in 64-bit arithmetic, the reference
 * the BPF code mirrors. rnd is a uniform 32-bit random value.
 *  - FL_DIST_UNIFORM (table unused, may be NULL): mu - sigma + rnd * 2 *
 *    sigma / 2^32, whose standard deviation is sigma / sqrt(3). Deviation
 *    from netem, which takes rnd % (2 * sigma): the remainder keeps only the
 *    low digits of a correlated rnd, so netem's correlated uniform jitter is
 *    barely correlated; scaling keeps the correlation. Needs 2 * sigma <=
 *    2^32 ns (FL_JITTER_MAX_NS, a jitter of up to 2.1 s, also netem's limit:
 *    its sigma is an s32).
 *  - the others, with table from fl_dist_table() of the same d (or any table
 *    whose entries are below 65536 in magnitude): t = table[rnd >> 20] and
 *    mu + sigma * t / FL_DIST_SCALE, rounded as netem rounds (half away from
 *    zero: (sigma % SCALE) * t +- SCALE/2, divided, plus (sigma / SCALE) * t).
 *    Deviation from netem: the index is the TOP 12 bits of rnd, where netem
 *    takes rnd % 4096, the bottom ones. A correlated random value
 *    (netem's get_crandom(): rnd' = ((2^32 - rho) * rnd + rho * last) >> 32)
 *    keeps its correlation in its high bits; its low bits are close to
 *    uncorrelated, so netem's delay correlation with a table barely works.
 * sigma == 0 gives mu. The result is floored at 0 (a delay cannot be
 * negative). Exact while mu_ns and sigma_ns are below 2^60 ns (36 years). */
uint64_t fl_dist_sample(enum fl_dist d, const int32_t *table, uint64_t mu_ns, uint64_t sigma_ns,
			uint32_t rnd);

#endif /* FAULTLINE_DIST_H */
