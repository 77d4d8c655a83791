/*
 * tests/unit/test_dist.c - faultline's jitter distributions are netem's.
 *
 *  - fl_dist_netem_table() gives, entry for entry, the tables iproute2
 *    generates: those installed with tc (/usr/lib/.../tc/NAME.dist), when
 *    they are, and always those of a step-by-step transcription of
 *    iproute2's generators (netem/normal.c, pareto.c, paretonormal.c) here,
 *    which also checks the shortcut dist.c takes through normal.c's loop.
 *    Exact equality, no tolerance: same algorithms, same libm, same doubles.
 *  - fl_dist_table() has mean 0 and standard deviation FL_DIST_SCALE.
 *  - fl_dist_sample() over every table entry has mean mu and standard
 *    deviation sigma; uniform has netem's sigma / sqrt(3); netem's rounding,
 *    the index taken from the top bits of rnd, the floor at 0.
 *  - names parse and print back; everything else is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/dist.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const enum fl_dist tabled[] = {FL_DIST_NORMAL, FL_DIST_PARETO, FL_DIST_PARETONORMAL};

/* Where Debian's iproute2 installs the generated tables (LIBDIR/tc). */
static const char *const dist_dirs[] = {
    "/usr/lib/x86_64-linux-gnu/tc",
    "/usr/lib64/tc",
    "/usr/lib/tc",
};

/* Read a .dist file as tc does: '#' lines are comments, the rest
 * whitespace-separated integers. The count read, or -1 if no file. */
static int read_dist_file(const char *name, long *vals, int max, char *path, size_t path_len)
{
	char line[4096], *p, *end;
	unsigned i;
	FILE *f = NULL;
	int n = 0;
	long v;

	for (i = 0; i < ARRAY_SIZE(dist_dirs) && !f; i++) {
		snprintf(path, path_len, "%s/%s.dist", dist_dirs[i], name);
		f = fopen(path, "r");
	}
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		for (p = line;; p = end) {
			v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (n < max)
				vals[n] = v;
			n++;
		}
	}
	fclose(f);
	return n;
}

/* iproute2's generators, step by step ----------------------------------------
 * The same expressions in the same order as netem/normal.c, pareto.c and
 * paretonormal.c, without dist.c's shortcut: erf() at every step of x. */

#define GEN_TABLESIZE 16384

static double gen_normal(double x, double mu, double sigma)
{
	return .5 + .5 * erf((x - mu) / (sqrt(2.0) * sigma));
}

/* normal.c's table[] (only every 4th entry is ever read) */
static void gen_normal_table(double *table)
{
	double x;
	int i;

	for (i = 0; i <= GEN_TABLESIZE; i++)
		table[i] = NAN; /* iproute2 leaves it uninitialised */
	for (x = -10.0; x < 10.05; x += .00005) {
		i = rint(GEN_TABLESIZE * gen_normal(x, 0.0, 1.0));
		table[i] = x;
	}
}

static int gen_clamp16(int v)
{
	return v < SHRT_MIN ? SHRT_MIN : v > SHRT_MAX ? SHRT_MAX : v;
}

static int gen_pareto(int i) /* paretonormal.c's paretovalue(), i = 0, 4, ... */
{
	const double a = 3.0;
	double dvalue;

	i = 65536 - 4 * i;
	dvalue = (double)i / (double)65536;
	dvalue = 1.0 / pow(dvalue, 1.0 / a);
	dvalue -= 1.5;
	dvalue *= (4.0 / 3.0) * (double)FL_DIST_SCALE;
	if (dvalue > 32767)
		dvalue = 32767;
	return (int)rint(dvalue);
}

static void gen_table(enum fl_dist d, const double *normal, long *out)
{
	int i, n = 0, normvalue;

	for (i = 0; i < GEN_TABLESIZE; i += 4) {
		assert_false(isnan(normal[i])); /* every entry read was written */
		normvalue = (int)rint(normal[i] * FL_DIST_SCALE);
		if (d == FL_DIST_NORMAL)
			out[n++] = gen_clamp16(normvalue);
		else if (d == FL_DIST_PARETO)
			out[n++] = gen_pareto(i); /* = pareto.c's, i = 65536, 65520, ... */
		else
			out[n++] = gen_clamp16((normvalue + 3 * gen_pareto(i)) / 4);
	}
	assert_int_equal(n, FL_DIST_SIZE);
}

static void assert_table_equal(enum fl_dist d, const char *what, const long *want,
			       const int16_t *got)
{
	int k, bad = 0;

	for (k = 0; k < FL_DIST_SIZE; k++) {
		if (want[k] == got[k])
			continue;
		if (bad++ < 5)
			print_message("# %s %s[%d]: want %ld, fl_dist_netem_table gave %d\n",
				      fl_dist_name(d), what, k, want[k], got[k]);
	}
	assert_int_equal(bad, 0);
}

static void moments32(const int32_t *t, double *mean, double *sd)
{
	double s = 0, ss = 0;
	int k;

	for (k = 0; k < FL_DIST_SIZE; k++)
		s += t[k];
	*mean = s / FL_DIST_SIZE;
	for (k = 0; k < FL_DIST_SIZE; k++)
		ss += (t[k] - *mean) * (t[k] - *mean);
	*sd = sqrt(ss / FL_DIST_SIZE);
}

/* netem tables --------------------------------------------------------------- */

static void netem_tables_equal_the_installed_dist_files(void **state)
{
	long *want = malloc(sizeof(*want) * FL_DIST_SIZE);
	int16_t got[FL_DIST_SIZE];
	char path[256];
	unsigned i;
	int n, found = 0;

	(void)state;
	assert_non_null(want);
	for (i = 0; i < ARRAY_SIZE(tabled); i++) {
		n = read_dist_file(fl_dist_name(tabled[i]), want, FL_DIST_SIZE, path, sizeof(path));
		if (n < 0) {
			print_message("# no %s.dist installed (iproute2's tc): not compared\n",
				      fl_dist_name(tabled[i]));
			continue;
		}
		found++;
		assert_int_equal(n, FL_DIST_SIZE);
		assert_int_equal(fl_dist_netem_table(tabled[i], got), 0);
		assert_table_equal(tabled[i], path, want, got);
	}
	free(want);
	if (!found)
		skip();
}

static void netem_tables_equal_iproute2s_generators_step_by_step(void **state)
{
	double *normal = malloc(sizeof(*normal) * (GEN_TABLESIZE + 1));
	long *want = malloc(sizeof(*want) * FL_DIST_SIZE);
	int16_t got[FL_DIST_SIZE];
	unsigned i;

	(void)state;
	assert_non_null(normal);
	assert_non_null(want);
	gen_normal_table(normal);
	for (i = 0; i < ARRAY_SIZE(tabled); i++) {
		gen_table(tabled[i], normal, want);
		assert_int_equal(fl_dist_netem_table(tabled[i], got), 0);
		assert_table_equal(tabled[i], "generator", want, got);
	}
	free(normal);
	free(want);
}

static void netem_tables_are_ascending_and_pareto_is_not_one_sigma(void **state)
{
	int32_t t32[FL_DIST_SIZE];
	int16_t t[FL_DIST_SIZE];
	double mean, sd;
	unsigned i;
	int k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tabled); i++) {
		assert_int_equal(fl_dist_netem_table(tabled[i], t), 0);
		for (k = 0; k < FL_DIST_SIZE; k++)
			t32[k] = t[k];
		for (k = 1; k < FL_DIST_SIZE; k++)
			assert_true(t[k - 1] <= t[k]);
		moments32(t32, &mean, &sd);
		print_message("# netem %s: mean %.2f (%.4f sigma), std %.2f (%.4f sigma)\n",
			      fl_dist_name(tabled[i]), mean, mean / FL_DIST_SCALE, sd,
			      sd / FL_DIST_SCALE);
		/* why faultline rescales: netem's pareto tails are cut at 32767 */
		if (tabled[i] == FL_DIST_NORMAL)
			assert_true(fabs(sd / FL_DIST_SCALE - 1) < 0.001);
		else
			assert_true(sd / FL_DIST_SCALE < 0.85);
	}
}

/* faultline tables ----------------------------------------------------------- */

static void rescaled_tables_have_mean_0_and_std_one_scale(void **state)
{
	int32_t t[FL_DIST_SIZE];
	int16_t n[FL_DIST_SIZE];
	double mean, sd;
	unsigned i;
	int k, max = 0;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tabled); i++) {
		assert_int_equal(fl_dist_table(tabled[i], t), 0);
		moments32(t, &mean, &sd);
		print_message("# faultline %s: mean %.3f, std %.3f\n", fl_dist_name(tabled[i]),
			      mean, sd);
		assert_true(fabs(mean) <= 0.005 * FL_DIST_SCALE);
		assert_true(fabs(sd - FL_DIST_SCALE) <= 0.005 * FL_DIST_SCALE);
		/* netem's order, kept: an increasing map of netem's table */
		assert_int_equal(fl_dist_netem_table(tabled[i], n), 0);
		for (k = 1; k < FL_DIST_SIZE; k++) {
			assert_true(t[k - 1] <= t[k]);
			if (n[k - 1] == n[k])
				assert_int_equal(t[k - 1], t[k]);
		}
		for (k = 0; k < FL_DIST_SIZE; k++)
			max = abs(t[k]) > max ? abs(t[k]) : max;
	}
	/* dist.h: entries stay below 65536 in magnitude, but exceed int16 */
	assert_true(max < 65536);
	assert_true(max > SHRT_MAX);
}

static void uniform_and_unknown_have_no_table_and_leave_out_untouched(void **state)
{
	const enum fl_dist bad[] = {FL_DIST_UNIFORM, (enum fl_dist)4, (enum fl_dist) - 1};
	int32_t t[FL_DIST_SIZE];
	int16_t n[FL_DIST_SIZE];
	unsigned i;
	int k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(t, 0x5a, sizeof(t));
		memset(n, 0x5a, sizeof(n));
		assert_int_equal(fl_dist_table(bad[i], t), -EINVAL);
		assert_int_equal(fl_dist_netem_table(bad[i], n), -EINVAL);
		for (k = 0; k < FL_DIST_SIZE; k++) {
			assert_int_equal(t[k], 0x5a5a5a5a);
			assert_int_equal((uint16_t)n[k], 0x5a5a);
		}
	}
}

/* sampling -------------------------------------------------------------------- */

#define MU    20000000ull /* 20 ms */
#define SIGMA 5000000ull  /* 5 ms */

static void samples_over_every_entry_have_mean_mu_and_std_sigma(void **state)
{
	int32_t t[FL_DIST_SIZE];
	double s, ss, mean, sd, v;
	unsigned i;
	uint32_t k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tabled); i++) {
		assert_int_equal(fl_dist_table(tabled[i], t), 0);
		s = ss = 0;
		for (k = 0; k < FL_DIST_SIZE; k++) {
			v = (double)fl_dist_sample(tabled[i], t, MU, SIGMA, k << 20);
			s += v;
			ss += v * v;
		}
		mean = s / FL_DIST_SIZE;
		sd = sqrt(ss / FL_DIST_SIZE - mean * mean);
		print_message("# sample %s 20ms 5ms: mean %.1f ns, std %.1f ns\n",
			      fl_dist_name(tabled[i]), mean, sd);
		assert_true(fabs(mean - MU) <= 0.01 * MU);
		assert_true(fabs(sd - SIGMA) <= 0.01 * SIGMA);
	}
}

static void uniform_samples_have_mean_mu_and_std_sigma_over_sqrt3(void **state)
{
	const uint32_t n = 1u << 20;
	double s = 0, ss = 0, mean, sd, v;
	uint64_t x, lo = UINT64_MAX, hi = 0;
	uint32_t k;

	(void)state;
	for (k = 0; k < n; k++) {
		/* a Weyl sequence: well spread over the 32 bits */
		x = fl_dist_sample(FL_DIST_UNIFORM, NULL, MU, SIGMA, k * 2654435761u);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
		v = (double)x;
		s += v;
		ss += v * v;
	}
	mean = s / n;
	sd = sqrt(ss / n - mean * mean);
	print_message("# sample uniform 20ms 5ms: mean %.1f ns, std %.1f ns (sigma/sqrt3 %.1f)\n",
		      mean, sd, SIGMA / sqrt(3));
	assert_true(fabs(mean - MU) <= 0.01 * MU);
	assert_true(fabs(sd - SIGMA / sqrt(3)) <= 0.01 * SIGMA / sqrt(3));
	/* mu - sigma + rnd * 2 sigma / 2^32, in [mu - sigma, mu + sigma): the
	 * scaled draw keeps close rnd values close (correlation survives) */
	assert_true(lo >= MU - SIGMA);
	assert_true(hi < MU + SIGMA);
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, MU, SIGMA, 0), MU - SIGMA);
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, MU, SIGMA, UINT32_MAX),
			 MU + SIGMA - 1);
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, MU, SIGMA, 1u << 31), MU);
	assert_true(fl_dist_sample(FL_DIST_UNIFORM, NULL, MU, SIGMA, (1u << 31) + 1000) - MU < 100);
}

static void sample_rounds_as_netem_and_indexes_by_the_top_bits(void **state)
{
	static int32_t t[FL_DIST_SIZE];

	(void)state;
	t[5] = 3;
	t[6] = -3;
	t[7] = 4096;
	/* 10000 * 3 / 8192 = 3.66 -> 4; -3.66 -> -4 (half away from zero) */
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 1000, 10000, 5u << 20), 1004);
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 1000, 10000, 6u << 20), 996);
	/* exactly half: 3 * 4096 / 8192 = 1.5 -> 2, -1.5 -> -2 */
	t[8] = 4096;
	t[9] = -4096;
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 1000, 3, 8u << 20), 1002);
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 1000, 3, 9u << 20), 998);
	/* sigma above one scale: (sigma / 8192) * t exactly, plus the rest */
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 0, 3 * 8192 + 1, 7u << 20),
			 3 * 4096 + 1);
	/* the top 12 bits choose the entry, the low 20 are ignored (netem:
	 * rnd % 4096 would be entry 4095 here, 0) */
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 1000, 10000, (5u << 20) | 0xfffff),
			 1004);
	assert_int_equal(fl_dist_sample(FL_DIST_PARETO, t, 1000, 10000, 0xfff), 1000);
	/* no jitter: mu, whatever the table */
	assert_int_equal(fl_dist_sample(FL_DIST_NORMAL, t, 1000, 0, 5u << 20), 1000);
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, 1000, 0, 12345), 1000);
}

static void sample_is_floored_at_0(void **state)
{
	int32_t t[FL_DIST_SIZE];
	unsigned i;
	uint32_t k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tabled); i++) {
		assert_int_equal(fl_dist_table(tabled[i], t), 0);
		assert_true(t[0] < -FL_DIST_SCALE / 2); /* at least half a sigma below */
		/* mu = 1ms, sigma = 5ms: the lowest entries go below 0 */
		assert_int_equal(fl_dist_sample(tabled[i], t, 1000000, SIGMA, 0), 0);
		for (k = 0; k < FL_DIST_SIZE; k++)
			assert_true(fl_dist_sample(tabled[i], t, 1000000, SIGMA, k << 20) <
				    UINT64_MAX / 2);
		/* and the highest are mu + sigma * t / scale */
		assert_true(fl_dist_sample(tabled[i], t, 1000000, SIGMA, UINT32_MAX) > 1000000);
	}
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, 1000000, SIGMA, 0), 0);
	/* 1 ms - 5 ms + rnd * 10 ms / 2^32 < 0 below rnd = 0.4 * 2^32 */
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, 1000000, SIGMA, 1717986918u), 0);
	assert_int_equal(fl_dist_sample(FL_DIST_UNIFORM, NULL, 1000000, SIGMA, 1717987348u), 1);
}

/* names ----------------------------------------------------------------------- */

static void names_parse_and_print_back(void **state)
{
	const char *names[] = {"uniform", "normal", "pareto", "paretonormal"};
	enum fl_dist d;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		d = (enum fl_dist)99;
		assert_int_equal(fl_dist_parse(names[i], &d), 0);
		assert_int_equal(d, (enum fl_dist)i);
		assert_string_equal(fl_dist_name(d), names[i]);
	}
	assert_int_equal(FL_DIST_UNIFORM, 0);
	assert_int_equal(FL_DIST_NORMAL, 1);
	assert_int_equal(FL_DIST_PARETO, 2);
	assert_int_equal(FL_DIST_PARETONORMAL, 3);
}

static void unknown_names_are_refused_and_leave_out_untouched(void **state)
{
	const char *bad[] = {"",	"Normal", "NORMAL",	   "gauss",	   "normal ",
			     " normal", "pare",	  "paretonormalx", "experimental", "uniform\n"};
	enum fl_dist d;
	unsigned i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		d = (enum fl_dist)99;
		assert_int_equal(fl_dist_parse(bad[i], &d), -EINVAL);
		assert_int_equal(d, (enum fl_dist)99);
	}
	d = (enum fl_dist)99;
	assert_int_equal(fl_dist_parse(NULL, &d), -EINVAL);
	assert_int_equal(d, (enum fl_dist)99);
	assert_string_equal(fl_dist_name((enum fl_dist)4), "?");
	assert_string_equal(fl_dist_name((enum fl_dist) - 1), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(netem_tables_equal_the_installed_dist_files),
	    cmocka_unit_test(netem_tables_equal_iproute2s_generators_step_by_step),
	    cmocka_unit_test(netem_tables_are_ascending_and_pareto_is_not_one_sigma),
	    cmocka_unit_test(rescaled_tables_have_mean_0_and_std_one_scale),
	    cmocka_unit_test(uniform_and_unknown_have_no_table_and_leave_out_untouched),
	    cmocka_unit_test(samples_over_every_entry_have_mean_mu_and_std_sigma),
	    cmocka_unit_test(uniform_samples_have_mean_mu_and_std_sigma_over_sqrt3),
	    cmocka_unit_test(sample_rounds_as_netem_and_indexes_by_the_top_bits),
	    cmocka_unit_test(sample_is_floored_at_0),
	    cmocka_unit_test(names_parse_and_print_back),
	    cmocka_unit_test(unknown_names_are_refused_and_leave_out_untouched),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
