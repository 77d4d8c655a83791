/*
 * injector/dist.c - netem's jitter distribution tables, computed the way
 * iproute2's generators compute them (netem/normal.c, netem/pareto.c,
 * netem/paretonormal.c, "taken from the uncopyrighted NISTnet code"), and
 * faultline's rescaled versions of them. See faultline/dist.h.
 *
 * The generators, as iproute2 has them (iproute2 6.1, the Debian 12 package):
 *  - normal: x runs from -10 to 10.05 in steps of 0.00005, accumulated in a
 *    double (x += .00005, so the float rounding of the sum is part of the
 *    result); each x is stored at index i = rint(16384 * Phi(x)) of a
 *    16385-entry table, Phi(x) = .5 + .5 * erf(x / (sqrt(2) * 1)), the last
 *    x to land on an index winning. Every 4th entry, i = 0, 4, ..., 16380, is
 *    emitted as rint(x * 8192) clamped to [SHRT_MIN, SHRT_MAX].
 *  - pareto (a = 3): for i = 65536, 65520, ..., 16: rint(min(32767,
 *    (1 / pow(i / 65536, 1 / a) - 1.5) * (4/3 * 8192))).
 *  - paretonormal: (normal + 3 * pareto) / 4 in C integer division (toward
 *    zero), where normal is rint(x * 8192) before the clamp and pareto the
 *    value above for the same index, then clamped to [SHRT_MIN, SHRT_MAX].
 * The expressions below are written as iproute2 writes them (the same
 * operations in the same order, no contraction: x86-64 without -march has no
 * FMA), so that the doubles, and so the tables, come out bit for bit equal.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "faultline/dist.h"

#define GEN_TABLESIZE 16384 /* iproute2's TABLESIZE: entries of the generators' table */

/* iproute2's normal(x, 0.0, 1.0) */
static double phi(double x)
{
	double mu = 0.0, sigma = 1.0;

	return .5 + .5 * erf((x - mu) / (sqrt(2.0) * sigma));
}

/* iproute2's table index for x: rint(TABLESIZE * normal(x, 0.0, 1.0)) */
static int gen_index(double x)
{
	return rint(GEN_TABLESIZE * phi(x));
}

#define BLOCK 64 /* steps of x per block (see normal_raw) */

/*
 * rint(table[4k] * NETEM_DIST_SCALE) of normal.c and paretonormal.c, before
 * any clamp: for each k, the x of the last step of normal.c's loop whose
 * index is 4k (the last write wins), rounded. -EIO if some 4k is never
 * written (iproute2 would then print stack garbage; it does not happen).
 *
 * normal.c calls erf() at each of its 401,000 steps: 15-20 ms. This walks the
 * same steps (the same x, summed the same way) in blocks of BLOCK, but calls
 * erf() only at block ends and then bisects inside the blocks that contain
 * the last step of some 4k: 26,000 calls, 2 ms. That is exact as long as the
 * index never decreases from one step to the next. It cannot: a step moves
 * Phi(x) by 0.00005 * pdf(x), which wherever the index can change (|x| < 4.1,
 * Phi(x) near a (m + 1/2) / 16384) is more than 1e-9, while erf()'s error is
 * a few ulps, 1e-16. tests/unit/test_dist.c checks the result against a
 * step-by-step transcription of normal.c.
 */
static int normal_raw(int32_t raw[FL_DIST_SIZE])
{
	double buf[BLOCK], x = -10.0;
	int idx[BLOCK], next_i, i_lo, i_hi, m, j, lo, hi, mid, k;
	unsigned char seen[FL_DIST_SIZE];

	memset(seen, 0, sizeof(seen));
	next_i = gen_index(x);
	while (x < 10.05) {
		/* the block's steps, and the index of the step after it */
		for (m = 0; m < BLOCK && x < 10.05; m++) {
			buf[m] = x;
			idx[m] = -1; /* not computed yet */
			x += .00005;
		}
		idx[0] = i_lo = next_i;
		i_hi = next_i = x < 10.05 ? gen_index(x) : INT_MAX;

		/* every 4k in [i_lo, i_hi) has its last step in this block */
		for (j = (i_lo + 3) & ~3; j < i_hi && j < GEN_TABLESIZE; j += 4) {
			lo = 0; /* idx[lo] <= j */
			hi = m; /* idx[hi] > j (hi == m: the next step) */
			while (hi - lo > 1) {
				mid = lo + (hi - lo) / 2;
				if (idx[mid] < 0)
					idx[mid] = gen_index(buf[mid]);
				if (idx[mid] <= j)
					lo = mid;
				else
					hi = mid;
			}
			if (idx[lo] != j)
				continue; /* j was skipped: never written */
			raw[j >> 2] = (int32_t)rint(buf[lo] * FL_DIST_SCALE);
			seen[j >> 2] = 1;
		}
	}
	for (k = 0; k < FL_DIST_SIZE; k++)
		if (!seen[k])
			return -EIO;
	return 0;
}

static const double pareto_a = 3.0;

/* pareto.c's value for its k-th output (i = 65536 - 16k), which is also
 * paretonormal.c's paretovalue(4k). */
static int pareto_value(int k)
{
	int i = 65536 - 16 * k;
	double dvalue;

	dvalue = (double)i / (double)65536;
	dvalue = 1.0 / pow(dvalue, 1.0 / pareto_a);
	dvalue -= 1.5;
	dvalue *= (4.0 / 3.0) * (double)FL_DIST_SCALE;
	if (dvalue > 32767)
		dvalue = 32767;
	return (int)rint(dvalue);
}

static int16_t clamp16(int32_t v)
{
	return v < SHRT_MIN ? SHRT_MIN : v > SHRT_MAX ? SHRT_MAX : (int16_t)v;
}

/* netem's table as int32 (the values are in int16's range). */
static int netem_table32(enum fl_dist d, int32_t t[FL_DIST_SIZE])
{
	int k, r;

	switch (d) {
	case FL_DIST_NORMAL:
		r = normal_raw(t);
		if (r)
			return r;
		for (k = 0; k < FL_DIST_SIZE; k++)
			t[k] = clamp16(t[k]);
		return 0;
	case FL_DIST_PARETO:
		for (k = 0; k < FL_DIST_SIZE; k++)
			t[k] = pareto_value(k);
		return 0;
	case FL_DIST_PARETONORMAL:
		r = normal_raw(t);
		if (r)
			return r;
		for (k = 0; k < FL_DIST_SIZE; k++)
			t[k] = clamp16((t[k] + 3 * pareto_value(k)) / 4);
		return 0;
	default:
		return -EINVAL;
	}
}

int fl_dist_netem_table(enum fl_dist d, int16_t out[FL_DIST_SIZE])
{
	int32_t t[FL_DIST_SIZE];
	int k, r;

	r = netem_table32(d, t);
	if (r)
		return r;
	for (k = 0; k < FL_DIST_SIZE; k++)
		out[k] = (int16_t)t[k];
	return 0;
}

int fl_dist_table(enum fl_dist d, int32_t out[FL_DIST_SIZE])
{
	int32_t t[FL_DIST_SIZE];
	double sum = 0, ss = 0, mean, sd;
	int k, r;

	r = netem_table32(d, t);
	if (r)
		return r;
	/* the table is the distribution (each entry drawn with probability
	 * 1/4096), so these are its exact moments, not estimates */
	for (k = 0; k < FL_DIST_SIZE; k++)
		sum += t[k];
	mean = sum / FL_DIST_SIZE;
	for (k = 0; k < FL_DIST_SIZE; k++)
		ss += (t[k] - mean) * (t[k] - mean);
	sd = sqrt(ss / FL_DIST_SIZE);
	if (!(sd > 0))
		return -EIO;
	for (k = 0; k < FL_DIST_SIZE; k++)
		out[k] = (int32_t)lrint((t[k] - mean) * (FL_DIST_SCALE / sd));
	return 0;
}

static const char *const dist_names[] = {
    [FL_DIST_UNIFORM] = "uniform",
    [FL_DIST_NORMAL] = "normal",
    [FL_DIST_PARETO] = "pareto",
    [FL_DIST_PARETONORMAL] = "paretonormal",
};

#define N_DISTS (int)(sizeof(dist_names) / sizeof(dist_names[0]))

int fl_dist_parse(const char *name, enum fl_dist *out)
{
	int d;

	if (!name)
		return -EINVAL;
	for (d = 0; d < N_DISTS; d++) {
		if (strcmp(name, dist_names[d]) == 0) {
			*out = (enum fl_dist)d;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fl_dist_name(enum fl_dist d)
{
	if ((int)d < 0 || (int)d >= N_DISTS)
		return "?";
	return dist_names[d];
}

uint64_t fl_dist_sample(enum fl_dist d, const int32_t *table, uint64_t mu_ns, uint64_t sigma_ns,
			uint32_t rnd)
{
	int64_t mu = (int64_t)mu_ns, sigma = (int64_t)sigma_ns, t, x, v;

	if (sigma == 0)
		return mu_ns;
	if (d == FL_DIST_UNIFORM) {
		/* scaled, not netem's rnd % (2 * sigma): dist.h */
		v = (int64_t)(((uint64_t)rnd * (uint64_t)(2 * sigma)) >> 32) + mu - sigma;
	} else {
		/* netem: t = table[rnd % size]; the top bits here (dist.h) */
		t = table[rnd >> 20];
		x = (sigma % FL_DIST_SCALE) * t;
		if (x >= 0)
			x += FL_DIST_SCALE / 2;
		else
			x -= FL_DIST_SCALE / 2;
		v = x / FL_DIST_SCALE + (sigma / FL_DIST_SCALE) * t + mu;
	}
	return v < 0 ? 0 : (uint64_t)v;
}
