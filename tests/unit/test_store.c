/*
 * tests/unit/test_store.c - the daemon's SQLite store keeps what it is given:
 * every field of an experiment and a schedule reads back exactly (NULLs stay
 * NULL, "" stays "", UTF-8 and SQL-looking text are just text, u64 times
 * beyond INT64_MAX survive), lists come in the documented order and filter,
 * unfinished experiments are aborted on request and only they, everything
 * survives a close and reopen, and two threads writing at once lose nothing.
 *
 * What the store says about its file is checked from outside, through a
 * second SQLite connection as another process would see it: WAL mode, the
 * schema version, the file and directory modes, a lock held by someone else
 * (-EBUSY after the 5 s busy timeout), a newer schema (refused, untouched).
 *
 * Each test works in its own directory under one mkdtemp directory
 * (/tmp/fl-store-*), removed at the end unless FL_KEEP=1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultline/store.h"

#define S  1000000000ull
#define MS 1000000ull
/* 2024-05-01T12:00:00.123Z */
#define T0 (1714564800ull * S + 123 * MS)

#define NASTY "caf\xc3\xa9 \xe2\x9a\xa1 <&>\"' \xf0\x9f\x94\xa5 '); DROP TABLE experiments; --"

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl-store-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

/* a store in a directory of its own, which must not exist yet */
static struct fl_store *open_fresh(const char *name)
{
	struct fl_store *st = NULL;
	struct stat sb;
	char dir[256];

	tmp_path(name, dir, sizeof(dir));
	assert_int_equal(stat(dir, &sb), -1);
	assert_int_equal(fl_store_open(dir, &st), 0);
	assert_non_null(st);
	return st;
}

static struct fl_store *reopen(const char *name)
{
	struct fl_store *st = NULL;
	char dir[256];

	assert_int_equal(fl_store_open(tmp_path(name, dir, sizeof(dir)), &st), 0);
	assert_non_null(st);
	return st;
}

/* A second connection to a store's file, as another process would open it. */
static sqlite3 *peek(const char *name, int flags)
{
	char path[256], rel[128];
	sqlite3 *db = NULL;

	snprintf(rel, sizeof(rel), "%s/faultline.db", name);
	assert_int_equal(sqlite3_open_v2(tmp_path(rel, path, sizeof(path)), &db, flags, NULL),
			 SQLITE_OK);
	return db;
}

/* The first column of the first row of sql, as text (malloc'd). */
static char *peek_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s = NULL;
	char *out;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	out = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	assert_non_null(out);
	return out;
}

/* An experiment of borrowed literals (insert only reads; never clear it). */
static struct fl_store_experiment mk_exp(const char *id, const char *state, uint64_t created,
					 const char *schedule_id)
{
	struct fl_store_experiment e = {
	    .name = (char *)"plain",
	    .state = (char *)state,
	    .created_ns = created,
	    .scenario = (char *)"name: plain\n",
	    .scenario_type = (char *)"yaml",
	    .exit_code = -1,
	};

	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.schedule_id, sizeof(e.schedule_id), "%s", schedule_id ? schedule_id : "");
	return e;
}

static void insert_exp(struct fl_store *st, const char *id, const char *state, uint64_t created,
		       const char *schedule_id)
{
	struct fl_store_experiment e = mk_exp(id, state, created, schedule_id);

	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
}

static void assert_str_or_null(const char *got, const char *want)
{
	if (!want) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void assert_exp_equal(const struct fl_store_experiment *got,
			     const struct fl_store_experiment *want)
{
	assert_string_equal(got->id, want->id);
	assert_str_or_null(got->name, want->name);
	assert_str_or_null(got->state, want->state);
	assert_str_or_null(got->reason, want->reason);
	assert_true(got->created_ns == want->created_ns);
	assert_true(got->started_ns == want->started_ns);
	assert_true(got->ended_ns == want->ended_ns);
	assert_str_or_null(got->scenario, want->scenario);
	assert_str_or_null(got->scenario_type, want->scenario_type);
	assert_str_or_null(got->verdict, want->verdict);
	assert_int_equal(got->exit_code, want->exit_code);
	assert_str_or_null(got->report_json, want->report_json);
	assert_str_or_null(got->report_junit, want->report_junit);
	assert_string_equal(got->schedule_id, want->schedule_id);
	assert_str_or_null(got->steps_json, want->steps_json);
	assert_string_equal(got->created_by, want->created_by ? want->created_by : "");
}

static void assert_sched_equal(const struct fl_store_schedule *got,
			       const struct fl_store_schedule *want)
{
	assert_string_equal(got->id, want->id);
	assert_str_or_null(got->name, want->name);
	assert_str_or_null(got->spec, want->spec);
	assert_str_or_null(got->scenario, want->scenario);
	assert_str_or_null(got->scenario_type, want->scenario_type);
	assert_true(got->created_ns == want->created_ns);
	assert_true(got->last_run_ns == want->last_run_ns);
	assert_true(got->next_run_ns == want->next_run_ns);
	assert_int_equal(got->runs, want->runs);
	assert_int_equal(got->skipped, want->skipped);
	assert_string_equal(got->created_by, want->created_by ? want->created_by : "");
}

/* list(state, schedule_id, limit) gives exactly these ids, in this order */
static void assert_list(struct fl_store *st, const char *state, const char *schedule_id,
			size_t limit, const char *const *want, size_t n_want)
{
	struct fl_store_experiment *v = (void *)1;
	size_t n = 99;

	assert_int_equal(fl_store_experiment_list(st, state, schedule_id, limit, &v, &n), 0);
	assert_int_equal(n, n_want);
	if (!n_want)
		assert_null(v);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].id, want[i]);
	fl_store_experiment_list_free(v, n);
}

/* ---- a full experiment ------------------------------------------------------ */

static const char full_scenario[] = "# " NASTY "\n"
				    "name: caf\xc3\xa9-slow\n"
				    "targets:\n  redis: {host: 127.0.0.1, port: 6379}\n"
				    "faults:\n  - target: redis\n    delay: {time: 100ms}\n";

static struct fl_store_experiment full_exp(void)
{
	struct fl_store_experiment e = {
	    .id = "e-0123456789ab",
	    .name = (char *)NASTY,
	    .state = (char *)"completed",
	    .reason = (char *)"", /* "" is not NULL */
	    .created_ns = T0,
	    .started_ns = T0 + 120 * MS,
	    .ended_ns = UINT64_MAX - 5, /* beyond INT64_MAX: must still read back exactly */
	    .scenario = (char *)full_scenario,
	    .scenario_type = (char *)"yaml",
	    .verdict = (char *)"passed",
	    .exit_code = -7,
	    .report_json = (char *)"{\"name\": \"" NASTY "\", \"verdict\": \"passed\"}",
	    .report_junit = (char *)"<?xml version=\"1.0\"?><testsuites name=\"&amp;\"/>",
	    .schedule_id = "s-fedcba987654",
	    .steps_json =
		(char *)"[{\"index\": 0, \"fault\": \"delay 100ms\", \"state\": \"done\"}]",
	    .created_by = (char *)"ip:2001:db8::1",
	};
	return e;
}

/* ---- tests ------------------------------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static void new_id_is_prefix_dash_12_hex_and_unique(void **state)
{
	enum { N = 10000 };
	char(*ids)[FL_STORE_ID_LEN] = calloc(N, FL_STORE_ID_LEN);
	bool seen[16] = {0};
	char buf[FL_STORE_ID_LEN];
	(void)state;

	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		fl_store_new_id(i % 2 ? "e" : "s", ids[i], FL_STORE_ID_LEN);
		assert_int_equal(strlen(ids[i]), 14);
		assert_int_equal(ids[i][0], i % 2 ? 'e' : 's');
		assert_int_equal(ids[i][1], '-');
		for (int j = 2; j < 14; j++) {
			const char *p = strchr("0123456789abcdef", ids[i][j]);

			assert_true(ids[i][j] && p);
			seen[p - "0123456789abcdef"] = true;
		}
	}
	/* 480000 random digits use every one of them */
	for (int d = 0; d < 16; d++)
		assert_true(seen[d]);
	/* unique even across prefixes: compare the digits */
	for (int i = 0; i < N; i++)
		memmove(ids[i], ids[i] + 2, 13);
	qsort(ids, N, FL_STORE_ID_LEN, cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
	free(ids);

	/* the longest prefix a 24-byte buffer takes, then one too long */
	fl_store_new_id("0123456789", buf, sizeof(buf));
	assert_int_equal(strlen(buf), 23);
	assert_memory_equal(buf, "0123456789-", 11);
	memset(buf, 'x', sizeof(buf));
	fl_store_new_id("0123456789a", buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* no prefix: the digits alone */
	fl_store_new_id(NULL, buf, 13);
	assert_int_equal(strlen(buf), 12);
	assert_int_equal(strspn(buf, "0123456789abcdef"), 12);
}

static void experiment_round_trips_every_field(void **state)
{
	struct fl_store *st = open_fresh("roundtrip");
	struct fl_store_experiment full = full_exp(), got;
	struct fl_store_experiment bare = mk_exp("e-000000000001", "pending", T0, NULL);
	size_t big_len = 300000;
	char *big = malloc(big_len + 1);
	(void)state;

	/* a large scenario, multi-byte characters straddling every boundary */
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[big_len] = '\0';

	assert_int_equal(fl_store_experiment_insert(st, &full), 0);
	assert_int_equal(fl_store_experiment_get(st, full.id, &got), 0);
	assert_exp_equal(&got, &full);
	assert_non_null(got.reason);
	assert_string_equal(got.reason, "");
	fl_store_experiment_clear(&got);

	/* every nullable field NULL, every number at its "not yet" value */
	assert_int_equal(fl_store_experiment_insert(st, &bare), 0);
	assert_int_equal(fl_store_experiment_get(st, bare.id, &got), 0);
	assert_exp_equal(&got, &bare);
	assert_null(got.reason);
	assert_null(got.verdict);
	assert_null(got.report_json);
	assert_null(got.report_junit);
	assert_null(got.steps_json);
	assert_string_equal(got.schedule_id, "");
	assert_int_equal(got.exit_code, -1);
	assert_true(got.started_ns == 0 && got.ended_ns == 0);
	fl_store_experiment_clear(&got);

	bare = mk_exp("e-000000000002", "running", T0 + 1, NULL);
	bare.scenario = big;
	bare.scenario_type = (char *)"json";
	assert_int_equal(fl_store_experiment_insert(st, &bare), 0);
	assert_int_equal(fl_store_experiment_get(st, bare.id, &got), 0);
	assert_exp_equal(&got, &bare);
	fl_store_experiment_clear(&got);

	/* clear leaves nothing behind */
	assert_int_equal(fl_store_experiment_get(st, full.id, &got), 0);
	fl_store_experiment_clear(&got);
	assert_null(got.name);
	assert_int_equal(got.exit_code, 0);
	assert_string_equal(got.id, "");

	free(big);
	fl_store_close(st);
}

static void duplicate_id_is_eexist_and_changes_nothing(void **state)
{
	struct fl_store *st = open_fresh("duplicate");
	struct fl_store_experiment full = full_exp(), again = full_exp(), got;
	struct fl_store_schedule sc = {.id = "s-000000000001",
				       .name = (char *)"n",
				       .spec = (char *)"@every 5s",
				       .scenario = (char *)"{}",
				       .scenario_type = (char *)"json"};
	(void)state;

	assert_int_equal(fl_store_experiment_insert(st, &full), 0);
	again.name = (char *)"other";
	again.state = (char *)"failed";
	assert_int_equal(fl_store_experiment_insert(st, &again), -EEXIST);
	assert_int_equal(fl_store_experiment_get(st, full.id, &got), 0);
	assert_exp_equal(&got, &full);
	fl_store_experiment_clear(&got);

	assert_int_equal(fl_store_schedule_insert(st, &sc), 0);
	sc.name = (char *)"other";
	assert_int_equal(fl_store_schedule_insert(st, &sc), -EEXIST);
	fl_store_close(st);
}

static void unknown_ids_are_enoent(void **state)
{
	struct fl_store *st = open_fresh("unknown");
	struct fl_store_experiment e = mk_exp("e-nothere00000", "running", T0, NULL), got;
	struct fl_store_schedule sc;
	(void)state;

	insert_exp(st, "e-000000000001", "running", T0, NULL);
	got.name = (char *)"garbage";
	assert_int_equal(fl_store_experiment_get(st, "e-nothere00000", &got), -ENOENT);
	assert_null(got.name); /* zeroed on error */
	assert_int_equal(fl_store_experiment_get(st, "", &got), -ENOENT);
	assert_int_equal(fl_store_experiment_get(st, "e-0123456789abcdef0123456789", &got),
			 -ENOENT);
	assert_int_equal(fl_store_experiment_update(st, &e), -ENOENT);
	assert_int_equal(fl_store_schedule_get(st, "s-nothere00000", &sc), -ENOENT);
	assert_int_equal(fl_store_schedule_delete(st, "s-nothere00000"), -ENOENT);
	assert_int_equal(fl_store_schedule_fired(st, "s-nothere00000", T0, T0, false), -ENOENT);
	fl_store_close(st);
}

static void bad_arguments_are_einval(void **state)
{
	struct fl_store *st = open_fresh("einval");
	struct fl_store_experiment e = mk_exp("e-000000000001", "running", T0, NULL), *v;
	struct fl_store_schedule sc = {.id = "s-000000000001",
				       .name = (char *)"n",
				       .spec = (char *)"@every 5s",
				       .scenario = (char *)"{}",
				       .scenario_type = (char *)"toml"};
	struct fl_store *other = (struct fl_store *)1;
	size_t n;
	(void)state;

	e.state = (char *)"bogus";
	assert_int_equal(fl_store_experiment_insert(st, &e), -EINVAL);
	e.state = (char *)"running";
	e.scenario_type = (char *)"toml";
	assert_int_equal(fl_store_experiment_insert(st, &e), -EINVAL);
	e.scenario_type = (char *)"yaml";
	e.name = NULL;
	assert_int_equal(fl_store_experiment_insert(st, &e), -EINVAL);
	e.name = (char *)"n";
	e.id[0] = '\0';
	assert_int_equal(fl_store_experiment_insert(st, &e), -EINVAL);
	memset(e.id, 'a', sizeof(e.id)); /* no room for its NUL */
	assert_int_equal(fl_store_experiment_insert(st, &e), -EINVAL);
	assert_int_equal(fl_store_schedule_insert(st, &sc), -EINVAL);
	assert_int_equal(fl_store_experiment_list(st, "bogus", NULL, 0, &v, &n), -EINVAL);
	assert_int_equal(fl_store_open(NULL, &other), -EINVAL);
	assert_null(other);
	assert_int_equal(fl_store_open(tmpdir, NULL), -EINVAL);

	/* none of them was stored */
	assert_int_equal(fl_store_experiment_list(st, NULL, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 0);
	fl_store_close(st);
}

static void update_changes_the_mutable_columns_only(void **state)
{
	struct fl_store *st = open_fresh("update");
	struct fl_store_experiment e = mk_exp("e-000000000001", "pending", T0, "s-000000000009");
	struct fl_store_experiment want, got;
	(void)state;

	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
	insert_exp(st, "e-000000000002", "pending", T0, NULL);

	/* running, with steps */
	e.state = (char *)"running";
	e.started_ns = T0 + 5 * MS;
	e.steps_json = (char *)"[{\"index\": 0, \"state\": \"live\", \"matched\": 12}]";
	assert_int_equal(fl_store_experiment_update(st, &e), 0);
	assert_int_equal(fl_store_experiment_get(st, e.id, &got), 0);
	assert_exp_equal(&got, &e);
	fl_store_experiment_clear(&got);

	/* ended; the immutable columns given differently are ignored */
	want = e;
	want.state = (char *)"aborted";
	want.reason = (char *)"probe api failed 3 times: " NASTY;
	want.ended_ns = T0 + 60 * S;
	want.verdict = (char *)"aborted";
	want.exit_code = 3;
	want.report_json = (char *)"{\"verdict\": \"aborted\"}";
	want.report_junit = (char *)"<testsuites/>";
	want.steps_json = (char *)"[{\"index\": 0, \"state\": \"done\", \"matched\": 99}]";
	e = want;
	e.name = (char *)"renamed";
	e.created_ns = 1;
	e.scenario = (char *)"changed";
	e.scenario_type = (char *)"json";
	strcpy(e.schedule_id, "s-other");
	assert_int_equal(fl_store_experiment_update(st, &e), 0);
	assert_int_equal(fl_store_experiment_get(st, e.id, &got), 0);
	assert_exp_equal(&got, &want);
	fl_store_experiment_clear(&got);

	/* back to NULLs: update writes NULL, it does not skip it */
	want.reason = NULL;
	want.verdict = NULL;
	want.report_json = NULL;
	want.report_junit = NULL;
	want.steps_json = NULL;
	assert_int_equal(fl_store_experiment_update(st, &want), 0);
	assert_int_equal(fl_store_experiment_get(st, want.id, &got), 0);
	assert_exp_equal(&got, &want);
	fl_store_experiment_clear(&got);

	/* the other experiment was not touched */
	e = mk_exp("e-000000000002", "pending", T0, NULL);
	assert_int_equal(fl_store_experiment_get(st, e.id, &got), 0);
	assert_exp_equal(&got, &e);
	fl_store_experiment_clear(&got);

	e.state = (char *)"done";
	assert_int_equal(fl_store_experiment_update(st, &e), -EINVAL);
	fl_store_close(st);
}

static void list_is_newest_first_and_filters(void **state)
{
	struct fl_store *st = open_fresh("list");
	struct fl_store_experiment *v;
	char id[FL_STORE_ID_LEN];
	size_t n;
	(void)state;

	/* inserted out of order; a2 and a4 share created_ns (then by id) */
	insert_exp(st, "a4", "failed", 300, NULL);
	insert_exp(st, "a1", "running", 100, NULL);
	insert_exp(st, "a6", "completed", 400, "s1");
	insert_exp(st, "a3", "pending", 200, "s1");
	insert_exp(st, "a5", "completed", 50, "s2");
	insert_exp(st, "a2", "completed", 300, "s1");

	assert_list(st, NULL, NULL, 0, (const char *[]){"a6", "a2", "a4", "a3", "a1", "a5"}, 6);
	assert_list(st, "completed", NULL, 0, (const char *[]){"a6", "a2", "a5"}, 3);
	assert_list(st, NULL, "s1", 0, (const char *[]){"a6", "a2", "a3"}, 3);
	assert_list(st, "completed", "s1", 0, (const char *[]){"a6", "a2"}, 2);
	assert_list(st, NULL, "", 0, (const char *[]){"a4", "a1"}, 2);
	assert_list(st, "running", NULL, 0, (const char *[]){"a1"}, 1);
	assert_list(st, NULL, NULL, 2, (const char *[]){"a6", "a2"}, 2);
	assert_list(st, NULL, NULL, 1, (const char *[]){"a6"}, 1);
	assert_list(st, "completed", NULL, 2, (const char *[]){"a6", "a2"}, 2);
	assert_list(st, "aborted", NULL, 0, NULL, 0);
	assert_list(st, NULL, "s-none", 0, NULL, 0);
	assert_list(st, NULL, "s-0123456789abcdef0123456789", 0, NULL, 0);

	/* the rows are whole */
	assert_int_equal(fl_store_experiment_list(st, NULL, "s2", 0, &v, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "plain");
	assert_string_equal(v[0].state, "completed");
	assert_string_equal(v[0].scenario, "name: plain\n");
	assert_string_equal(v[0].schedule_id, "s2");
	assert_true(v[0].created_ns == 50);
	fl_store_experiment_list_free(v, n);

	/* limit 0 is 100 */
	for (int i = 0; i < 120; i++) {
		snprintf(id, sizeof(id), "b%03d", i);
		insert_exp(st, id, "completed", 1000 + (uint64_t)i, NULL);
	}
	assert_int_equal(fl_store_experiment_list(st, NULL, NULL, 0, &v, &n), 0);
	assert_int_equal(n, 100);
	assert_string_equal(v[0].id, "b119");
	assert_string_equal(v[99].id, "b020");
	fl_store_experiment_list_free(v, n);
	assert_int_equal(fl_store_experiment_list(st, NULL, NULL, 1000, &v, &n), 0);
	assert_int_equal(n, 126);
	assert_string_equal(v[119].id, "b000");
	assert_string_equal(v[125].id, "a5");
	fl_store_experiment_list_free(v, n);
	fl_store_close(st);
}

static void abort_unfinished_changes_only_pending_and_running(void **state)
{
	struct fl_store *st = open_fresh("abort");
	struct fl_store_experiment e, got;
	(void)state;

	insert_exp(st, "p1", "pending", T0, NULL);
	insert_exp(st, "r1", "running", T0, NULL);
	insert_exp(st, "r2", "running", T0, NULL);
	e = mk_exp("c1", "completed", T0, NULL);
	e.ended_ns = T0 + S;
	e.verdict = (char *)"passed";
	e.exit_code = 0;
	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
	insert_exp(st, "f1", "failed", T0, NULL);
	e = mk_exp("a1", "aborted", T0, NULL);
	e.reason = (char *)"earlier";
	e.ended_ns = 5;
	assert_int_equal(fl_store_experiment_insert(st, &e), 0);

	assert_int_equal(fl_store_abort_unfinished(st, "daemon restarted", T0 + 9 * S), 3);

	for (int i = 0; i < 3; i++) {
		assert_int_equal(
		    fl_store_experiment_get(st, (const char *[]){"p1", "r1", "r2"}[i], &got), 0);
		assert_string_equal(got.state, "aborted");
		assert_string_equal(got.reason, "daemon restarted");
		assert_true(got.ended_ns == T0 + 9 * S);
		fl_store_experiment_clear(&got);
	}
	assert_int_equal(fl_store_experiment_get(st, "c1", &got), 0);
	assert_string_equal(got.state, "completed");
	assert_null(got.reason);
	assert_true(got.ended_ns == T0 + S);
	fl_store_experiment_clear(&got);
	assert_int_equal(fl_store_experiment_get(st, "f1", &got), 0);
	assert_string_equal(got.state, "failed");
	assert_null(got.reason);
	assert_true(got.ended_ns == 0);
	fl_store_experiment_clear(&got);
	assert_int_equal(fl_store_experiment_get(st, "a1", &got), 0);
	assert_string_equal(got.reason, "earlier");
	assert_true(got.ended_ns == 5);
	fl_store_experiment_clear(&got);

	/* nothing left to abort */
	assert_int_equal(fl_store_abort_unfinished(st, "again", T0 + 10 * S), 0);
	assert_list(st, "aborted", NULL, 0, (const char *[]){"a1", "p1", "r1", "r2"}, 4);
	fl_store_close(st);
}

/* prune keeps the newest ended experiments, counted apart from the
 * unfinished ones, which it never deletes */
static void prune_keeps_the_newest_ended_and_every_unfinished(void **state)
{
	struct fl_store *st = open_fresh("prune");
	uint64_t counts[FL_STORE_N_STATES];
	(void)state;

	/* created in this order (newest last) */
	insert_exp(st, "c1", "completed", T0 + 1, NULL);
	insert_exp(st, "a1", "aborted", T0 + 2, NULL);
	insert_exp(st, "r1", "running", T0 + 3, NULL);
	insert_exp(st, "f1", "failed", T0 + 4, "s-1");
	insert_exp(st, "c2", "completed", T0 + 5, NULL);
	insert_exp(st, "p1", "pending", T0 + 6, NULL);
	insert_exp(st, "c3", "completed", T0 + 7, NULL);

	/* 5 ended: keeping 5 or more deletes nothing */
	assert_int_equal(fl_store_experiment_prune(st, 5), 0);
	assert_int_equal(fl_store_experiment_prune(st, 100), 0);
	/* keep 2: c3 and c2 stay; f1, a1 and c1 go; r1 and p1 are not counted */
	assert_int_equal(fl_store_experiment_prune(st, 2), 3);
	assert_list(st, NULL, NULL, 0, (const char *[]){"c3", "p1", "c2", "r1"}, 4);
	assert_int_equal(fl_store_experiment_prune(st, 2), 0);
	/* keep 0: every ended one goes, the unfinished stay */
	assert_int_equal(fl_store_experiment_prune(st, 0), 2);
	assert_list(st, NULL, NULL, 0, (const char *[]){"p1", "r1"}, 2);
	assert_int_equal(fl_store_experiment_counts(st, counts), 0);
	assert_true(counts[0] == 1 && counts[1] == 1 && counts[2] == 0 && counts[3] == 0 &&
		    counts[4] == 0);
	assert_int_equal(fl_store_experiment_prune(NULL, 1), -EINVAL);
	fl_store_close(st);
}

static void counts_are_by_state_in_order(void **state)
{
	static const char *const states[] = {"pending", "running", "completed", "aborted",
					     "failed"};
	struct fl_store *st = open_fresh("counts");
	uint64_t counts[FL_STORE_N_STATES] = {7, 7, 7, 7, 7};
	char id[FL_STORE_ID_LEN];
	int k = 0;
	(void)state;

	assert_int_equal(fl_store_experiment_counts(st, counts), 0);
	for (int i = 0; i < FL_STORE_N_STATES; i++)
		assert_true(counts[i] == 0);

	/* i + 1 experiments in state i: a mix-up of the order shows */
	for (int i = 0; i < FL_STORE_N_STATES; i++) {
		assert_string_equal(fl_store_states[i], states[i]);
		for (int j = 0; j <= i; j++) {
			snprintf(id, sizeof(id), "e-%d", k++);
			insert_exp(st, id, states[i], T0 + (uint64_t)k, NULL);
		}
	}
	assert_int_equal(fl_store_experiment_counts(st, counts), 0);
	for (int i = 0; i < FL_STORE_N_STATES; i++)
		assert_true(counts[i] == (uint64_t)i + 1);

	assert_int_equal(fl_store_abort_unfinished(st, "x", T0), 3);
	assert_int_equal(fl_store_experiment_counts(st, counts), 0);
	assert_true(counts[0] == 0 && counts[1] == 0 && counts[2] == 3 && counts[3] == 7 &&
		    counts[4] == 5);
	fl_store_close(st);
}

static void schedules_insert_list_get_fire_delete(void **state)
{
	struct fl_store *st = open_fresh("schedules");
	struct fl_store_schedule a = {.id = "s-aaaaaaaaaaaa",
				      .name = (char *)NASTY,
				      .spec = (char *)"0 3 * * 1-5",
				      .scenario = (char *)full_scenario,
				      .scenario_type = (char *)"yaml",
				      .created_ns = T0 + 100,
				      .next_run_ns = T0 + 3600 * S,
				      .created_by = (char *)"uid:4294967294"};
	struct fl_store_schedule b = {.id = "s-bbbbbbbbbbbb",
				      .name = (char *)"every5",
				      .spec = (char *)"@every 5s",
				      .scenario = (char *)"{\"name\": \"every5\"}",
				      .scenario_type = (char *)"json",
				      .created_ns = T0 + 200,
				      .last_run_ns = T0 + 1,
				      .next_run_ns = T0 + 5 * S,
				      .runs = 4000000000u,
				      .skipped = 2};
	struct fl_store_schedule c = {.id = "s-cccccccccccc",
				      .name = (char *)"hourly",
				      .spec = (char *)"@hourly",
				      .scenario = (char *)"name: hourly\n",
				      .scenario_type = (char *)"yaml",
				      .created_ns = T0 + 300};
	struct fl_store_schedule *v, got;
	struct fl_store_experiment e = mk_exp("e-fromschedule", "completed", T0, b.id), eg;
	size_t n;
	(void)state;

	assert_int_equal(fl_store_schedule_list(st, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);

	assert_int_equal(fl_store_schedule_insert(st, &c), 0);
	assert_int_equal(fl_store_schedule_insert(st, &a), 0);
	assert_int_equal(fl_store_schedule_insert(st, &b), 0);

	assert_int_equal(fl_store_schedule_list(st, &v, &n), 0);
	assert_int_equal(n, 3);
	assert_sched_equal(&v[0], &a);
	assert_sched_equal(&v[1], &b);
	assert_sched_equal(&v[2], &c);
	fl_store_schedule_list_free(v, n);

	assert_int_equal(fl_store_schedule_get(st, a.id, &got), 0);
	assert_sched_equal(&got, &a);
	fl_store_schedule_clear(&got);
	assert_null(got.name);

	/* a run, then a skipped slot */
	assert_int_equal(fl_store_schedule_fired(st, a.id, T0 + 3600 * S, T0 + 7200 * S, false), 0);
	a.runs = 1;
	a.last_run_ns = T0 + 3600 * S;
	a.next_run_ns = T0 + 7200 * S;
	assert_int_equal(fl_store_schedule_get(st, a.id, &got), 0);
	assert_sched_equal(&got, &a);
	fl_store_schedule_clear(&got);
	assert_int_equal(fl_store_schedule_fired(st, a.id, T0 + 7200 * S, T0 + 10800 * S, true), 0);
	a.skipped = 1;
	a.last_run_ns = T0 + 7200 * S;
	a.next_run_ns = T0 + 10800 * S;
	assert_int_equal(fl_store_schedule_get(st, a.id, &got), 0);
	assert_sched_equal(&got, &a);
	fl_store_schedule_clear(&got);
	assert_int_equal(fl_store_schedule_fired(st, b.id, T0 + 10 * S, T0 + 15 * S, false), 0);
	b.runs++;
	b.last_run_ns = T0 + 10 * S;
	b.next_run_ns = T0 + 15 * S;

	/* deleting a schedule leaves its experiments, and their schedule_id */
	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
	assert_int_equal(fl_store_schedule_delete(st, b.id), 0);
	assert_int_equal(fl_store_schedule_get(st, b.id, &got), -ENOENT);
	assert_int_equal(fl_store_schedule_delete(st, b.id), -ENOENT);
	assert_int_equal(fl_store_schedule_fired(st, b.id, T0, T0, false), -ENOENT);
	assert_int_equal(fl_store_experiment_get(st, e.id, &eg), 0);
	assert_string_equal(eg.schedule_id, b.id);
	fl_store_experiment_clear(&eg);
	assert_list(st, NULL, b.id, 20, (const char *[]){"e-fromschedule"}, 1);

	assert_int_equal(fl_store_schedule_list(st, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_sched_equal(&v[0], &a);
	assert_sched_equal(&v[1], &c);
	fl_store_schedule_list_free(v, n);
	fl_store_close(st);
}

static void everything_survives_close_and_reopen(void **state)
{
	struct fl_store *st = open_fresh("persist");
	struct fl_store_experiment full = full_exp(),
				   e = mk_exp("e-second", "running", T0 + 1, NULL);
	struct fl_store_experiment got;
	struct fl_store_schedule sc = {.id = "s-persist",
				       .name = (char *)"p",
				       .spec = (char *)"@every 1m",
				       .scenario = (char *)"name: p\n",
				       .scenario_type = (char *)"yaml",
				       .created_ns = T0},
				 sg;
	uint64_t counts[FL_STORE_N_STATES];
	(void)state;

	assert_int_equal(fl_store_experiment_insert(st, &full), 0);
	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
	e.state = (char *)"completed";
	e.ended_ns = T0 + S;
	e.verdict = (char *)"passed";
	e.exit_code = 0;
	e.report_json = (char *)"{}";
	assert_int_equal(fl_store_experiment_update(st, &e), 0);
	assert_int_equal(fl_store_schedule_insert(st, &sc), 0);
	assert_int_equal(fl_store_schedule_fired(st, sc.id, T0 + S, T0 + 61 * S, true), 0);
	sc.skipped = 1;
	sc.last_run_ns = T0 + S;
	sc.next_run_ns = T0 + 61 * S;
	fl_store_close(st);

	for (int round = 0; round < 2; round++) {
		st = reopen("persist");
		assert_int_equal(fl_store_experiment_get(st, full.id, &got), 0);
		assert_exp_equal(&got, &full);
		fl_store_experiment_clear(&got);
		assert_int_equal(fl_store_experiment_get(st, e.id, &got), 0);
		assert_exp_equal(&got, &e);
		fl_store_experiment_clear(&got);
		assert_int_equal(fl_store_schedule_get(st, sc.id, &sg), 0);
		assert_sched_equal(&sg, &sc);
		fl_store_schedule_clear(&sg);
		assert_int_equal(fl_store_experiment_counts(st, counts), 0);
		assert_true(counts[2] == 2);
		assert_list(st, NULL, NULL, 0, (const char *[]){"e-second", full.id}, 2);
		fl_store_close(st);
	}
}

struct writer {
	struct fl_store *st;
	char ids[500][FL_STORE_ID_LEN];
	int failures;
};

static void *write_500(void *arg)
{
	struct writer *w = arg;
	struct fl_store_experiment e, got;
	struct timespec ts;

	for (int i = 0; i < 500; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		e = mk_exp("", i % 3 ? "completed" : "running",
			   (uint64_t)ts.tv_sec * S + (uint64_t)ts.tv_nsec, NULL);
		fl_store_new_id("e", e.id, sizeof(e.id));
		strcpy(w->ids[i], e.id);
		if (fl_store_experiment_insert(w->st, &e) != 0)
			w->failures++;
		/* read it back at once: the other thread's statements run in between */
		if (fl_store_experiment_get(w->st, e.id, &got) != 0 || strcmp(got.id, e.id) != 0)
			w->failures++;
		fl_store_experiment_clear(&got);
	}
	return NULL;
}

static void two_threads_writing_at_once_lose_nothing(void **state)
{
	struct fl_store *st = open_fresh("threads");
	struct writer *w = calloc(2, sizeof(*w));
	char(*all)[FL_STORE_ID_LEN] = calloc(1000, FL_STORE_ID_LEN);
	char(*listed)[FL_STORE_ID_LEN] = calloc(1000, FL_STORE_ID_LEN);
	struct fl_store_experiment *v;
	uint64_t counts[FL_STORE_N_STATES];
	pthread_t t[2];
	size_t n;
	(void)state;

	assert_true(w && all && listed);
	for (int i = 0; i < 2; i++) {
		w[i].st = st;
		assert_int_equal(pthread_create(&t[i], NULL, write_500, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(w[0].failures, 0);
	assert_int_equal(w[1].failures, 0);

	assert_int_equal(fl_store_experiment_list(st, NULL, NULL, 5000, &v, &n), 0);
	assert_int_equal(n, 1000);
	for (size_t i = 0; i < n; i++)
		strcpy(listed[i], v[i].id);
	fl_store_experiment_list_free(v, n);
	memcpy(all, w[0].ids, sizeof(w[0].ids));
	memcpy(all + 500, w[1].ids, sizeof(w[1].ids));
	qsort(all, 1000, FL_STORE_ID_LEN, cmp_str);
	qsort(listed, 1000, FL_STORE_ID_LEN, cmp_str);
	for (int i = 0; i < 1000; i++) {
		assert_string_equal(listed[i], all[i]); /* the same set */
		if (i)
			assert_string_not_equal(all[i - 1], all[i]); /* of unique ids */
	}
	assert_int_equal(fl_store_experiment_counts(st, counts), 0);
	assert_true(counts[1] == 2 * 167 && counts[2] == 2 * 333);

	free(all);
	free(listed);
	free(w);
	fl_store_close(st);
}

static void the_file_is_wal_private_and_versioned(void **state)
{
	struct fl_store *st = open_fresh("wal");
	char dir[256], path[256], *s;
	struct stat sb;
	sqlite3 *db;
	(void)state;

	insert_exp(st, "e-seen", "running", T0, NULL);

	db = peek("wal", SQLITE_OPEN_READONLY);
	s = peek_text(db, "PRAGMA journal_mode");
	assert_string_equal(s, "wal");
	free(s);
	s = peek_text(db, "PRAGMA user_version");
	assert_string_equal(s, "2");
	free(s);
	/* what the store committed is visible to another connection */
	s = peek_text(db, "SELECT state FROM experiments WHERE id = 'e-seen'");
	assert_string_equal(s, "running");
	free(s);
	sqlite3_close(db);

	assert_int_equal(stat(tmp_path("wal", dir, sizeof(dir)), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(tmp_path("wal/faultline.db", path, sizeof(path)), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(stat(tmp_path("wal/faultline.db-wal", path, sizeof(path)), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	fl_store_close(st);
}

static void a_lock_held_elsewhere_is_ebusy_after_the_timeout(void **state)
{
	struct fl_store *st = open_fresh("busy");
	struct fl_store_experiment e = mk_exp("e-blocked", "running", T0, NULL), got;
	struct timespec a, b;
	double waited;
	sqlite3 *db;
	(void)state;

	db = peek("busy", SQLITE_OPEN_READWRITE);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(fl_store_experiment_insert(st, &e), -EBUSY);
	clock_gettime(CLOCK_MONOTONIC, &b);
	waited = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(waited > 4.5 && waited < 15);
	/* reads go on in WAL mode while another connection writes */
	assert_int_equal(fl_store_experiment_get(st, e.id, &got), -ENOENT);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
	fl_store_close(st);
}

/* A database of schema version 1 (before created_by), as that release
 * wrote it: opened, it is migrated in place; its rows read back with
 * created_by "" and new rows keep theirs. */
static void a_version_1_database_is_migrated_and_keeps_its_rows(void **state)
{
	static const char v1[] =
	    "CREATE TABLE experiments (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
	    " state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'completed', 'aborted',"
	    " 'failed')), reason TEXT, created_ns INTEGER NOT NULL,"
	    " started_ns INTEGER NOT NULL DEFAULT 0, ended_ns INTEGER NOT NULL DEFAULT 0,"
	    " scenario TEXT NOT NULL, scenario_type TEXT NOT NULL CHECK (scenario_type IN"
	    " ('yaml', 'json')), verdict TEXT, exit_code INTEGER NOT NULL DEFAULT -1,"
	    " report_json TEXT, report_junit TEXT, schedule_id TEXT NOT NULL DEFAULT '',"
	    " steps_json TEXT);"
	    "CREATE TABLE schedules (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,"
	    " spec TEXT NOT NULL, scenario TEXT NOT NULL, scenario_type TEXT NOT NULL CHECK"
	    " (scenario_type IN ('yaml', 'json')), created_ns INTEGER NOT NULL,"
	    " last_run_ns INTEGER NOT NULL DEFAULT 0, next_run_ns INTEGER NOT NULL DEFAULT 0,"
	    " runs INTEGER NOT NULL DEFAULT 0, skipped INTEGER NOT NULL DEFAULT 0);"
	    "INSERT INTO experiments (id, name, state, created_ns, scenario, scenario_type)"
	    " VALUES ('e-old', 'old', 'completed', 5, 'name: old', 'yaml');"
	    "INSERT INTO schedules (id, name, spec, scenario, scenario_type, created_ns)"
	    " VALUES ('s-old', 'old', '@every 5s', '{}', 'json', 6);"
	    "PRAGMA user_version = 1;";
	struct fl_store_experiment got, e = mk_exp("e-new", "running", 9, NULL);
	struct fl_store_schedule sc;
	char dir[256], path[256], *s;
	struct fl_store *st;
	sqlite3 *db;
	(void)state;

	assert_int_equal(mkdir(tmp_path("v1", dir, sizeof(dir)), 0700), 0);
	assert_int_equal(sqlite3_open(tmp_path("v1/faultline.db", path, sizeof(path)), &db),
			 SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	st = reopen("v1");
	assert_int_equal(fl_store_experiment_get(st, "e-old", &got), 0);
	assert_string_equal(got.name, "old");
	assert_string_equal(got.created_by, "");
	fl_store_experiment_clear(&got);
	assert_int_equal(fl_store_schedule_get(st, "s-old", &sc), 0);
	assert_string_equal(sc.created_by, "");
	fl_store_schedule_clear(&sc);
	e.created_by = (char *)"uid:1000";
	assert_int_equal(fl_store_experiment_insert(st, &e), 0);
	assert_int_equal(fl_store_experiment_get(st, "e-new", &got), 0);
	assert_string_equal(got.created_by, "uid:1000");
	fl_store_experiment_clear(&got);
	fl_store_close(st);

	db = peek("v1", SQLITE_OPEN_READONLY);
	s = peek_text(db, "PRAGMA user_version");
	assert_string_equal(s, "2");
	free(s);
	sqlite3_close(db);
}

static void open_refuses_what_it_cannot_use(void **state)
{
	struct fl_store *st = open_fresh("newer");
	char dir[256], path[256], *s;
	sqlite3 *db;
	FILE *f;
	(void)state;

	fl_store_close(st);

	/* a newer faultline's database: refused, and left as it was */
	db = peek("newer", SQLITE_OPEN_READWRITE);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	st = (struct fl_store *)1;
	assert_int_equal(fl_store_open(tmp_path("newer", dir, sizeof(dir)), &st), -EPROTO);
	assert_null(st);
	db = peek("newer", SQLITE_OPEN_READONLY);
	s = peek_text(db, "PRAGMA user_version");
	assert_string_equal(s, "3");
	free(s);
	sqlite3_close(db);

	/* not a database */
	assert_int_equal(mkdir(tmp_path("garbage", dir, sizeof(dir)), 0700), 0);
	f = fopen(tmp_path("garbage/faultline.db", path, sizeof(path)), "w");
	assert_non_null(f);
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database, just text\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fl_store_open(dir, &st), -EIO);

	/* a file where the directory should be, and a missing parent */
	assert_int_equal(fl_store_open(path, &st), -ENOTDIR);
	assert_int_equal(fl_store_open(tmp_path("no/such", dir, sizeof(dir)), &st), -ENOENT);
	fl_store_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(new_id_is_prefix_dash_12_hex_and_unique),
	    cmocka_unit_test(experiment_round_trips_every_field),
	    cmocka_unit_test(duplicate_id_is_eexist_and_changes_nothing),
	    cmocka_unit_test(unknown_ids_are_enoent),
	    cmocka_unit_test(bad_arguments_are_einval),
	    cmocka_unit_test(update_changes_the_mutable_columns_only),
	    cmocka_unit_test(list_is_newest_first_and_filters),
	    cmocka_unit_test(abort_unfinished_changes_only_pending_and_running),
	    cmocka_unit_test(counts_are_by_state_in_order),
	    cmocka_unit_test(prune_keeps_the_newest_ended_and_every_unfinished),
	    cmocka_unit_test(schedules_insert_list_get_fire_delete),
	    cmocka_unit_test(everything_survives_close_and_reopen),
	    cmocka_unit_test(two_threads_writing_at_once_lose_nothing),
	    cmocka_unit_test(the_file_is_wal_private_and_versioned),
	    cmocka_unit_test(a_lock_held_elsewhere_is_ebusy_after_the_timeout),
	    cmocka_unit_test(a_version_1_database_is_migrated_and_keeps_its_rows),
	    cmocka_unit_test(open_refuses_what_it_cannot_use),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, getenv("FL_KEEP") ? NULL : remove_tmpdir);
}
