/*
 * api/store.c - the daemon's embedded SQLite store (faultline/store.h).
 *
 * One connection, opened without SQLite's own mutexes (SQLITE_OPEN_NOMUTEX)
 * and guarded by the store's mutex instead: every public function holds it
 * from its first SQLite call to its last, so the prepared statements, which
 * are made once and reused (SQLITE_PREPARE_PERSISTENT), are never shared by
 * two threads at a time. Each statement is reset and its bindings cleared
 * before the mutex is released, so no read transaction stays open between
 * calls (a long-lived reader would stop WAL checkpoints).
 *
 * Every value goes in through a bound parameter: the SQL text below is
 * constant. The schema is versioned by PRAGMA user_version: migrations[v]
 * takes a database from version v to v + 1 and sets user_version itself, and
 * all the migrations a database needs run in one IMMEDIATE transaction, so a
 * crash mid-way leaves the old version intact.
 *
 * Times are uint64_t nanoseconds stored in SQLite's signed 64-bit INTEGER
 * (cast both ways, so every value reads back exactly); ids are checked to fit
 * their 24-byte buffers on the way in, and again on the way out in case the
 * file was edited by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "faultline/store.h"

#define DB_NAME		   "faultline.db"
#define BUSY_TIMEOUT_MS	   5000
#define DEFAULT_LIST_LIMIT 100

const char *const fl_store_states[FL_STORE_N_STATES] = {
    "pending", "running", "completed", "aborted", "failed",
};

/* ---- schema ----------------------------------------------------------------- */

/*
 * migrations[v]: version v -> v + 1. Never edit a released entry: append a
 * new one (ALTER TABLE ..., then PRAGMA user_version = N) and bump
 * FL_STORE_SCHEMA_VERSION.
 */
static const char *const migrations[FL_STORE_SCHEMA_VERSION] = {
    /* 0 -> 1 */
    "CREATE TABLE experiments ("
    "  id            TEXT PRIMARY KEY NOT NULL,"
    "  name          TEXT NOT NULL,"
    "  state         TEXT NOT NULL"
    "    CHECK (state IN ('pending', 'running', 'completed', 'aborted', 'failed')),"
    "  reason        TEXT,"
    "  created_ns    INTEGER NOT NULL,"
    "  started_ns    INTEGER NOT NULL DEFAULT 0,"
    "  ended_ns      INTEGER NOT NULL DEFAULT 0,"
    "  scenario      TEXT NOT NULL,"
    "  scenario_type TEXT NOT NULL CHECK (scenario_type IN ('yaml', 'json')),"
    "  verdict       TEXT,"
    "  exit_code     INTEGER NOT NULL DEFAULT -1,"
    "  report_json   TEXT,"
    "  report_junit  TEXT,"
    "  schedule_id   TEXT NOT NULL DEFAULT '',"
    "  steps_json    TEXT"
    ");"
    "CREATE INDEX experiments_by_created ON experiments (created_ns DESC, id);"
    "CREATE INDEX experiments_by_state ON experiments (state, created_ns DESC, id);"
    "CREATE INDEX experiments_by_schedule ON experiments (schedule_id, created_ns DESC, id);"
    "CREATE TABLE schedules ("
    "  id            TEXT PRIMARY KEY NOT NULL,"
    "  name          TEXT NOT NULL,"
    "  spec          TEXT NOT NULL,"
    "  scenario      TEXT NOT NULL,"
    "  scenario_type TEXT NOT NULL CHECK (scenario_type IN ('yaml', 'json')),"
    "  created_ns    INTEGER NOT NULL,"
    "  last_run_ns   INTEGER NOT NULL DEFAULT 0,"
    "  next_run_ns   INTEGER NOT NULL DEFAULT 0,"
    "  runs          INTEGER NOT NULL DEFAULT 0,"
    "  skipped       INTEGER NOT NULL DEFAULT 0"
    ");"
    "PRAGMA user_version = 1;",
    /* 1 -> 2: who created it (the API client; for a fired experiment, its
     * schedule's creator); '' in rows of version 1 */
    "ALTER TABLE experiments ADD COLUMN created_by TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE schedules ADD COLUMN created_by TEXT NOT NULL DEFAULT '';"
    "PRAGMA user_version = 2;",
};

/* ---- statements ------------------------------------------------------------- */

#define EXP_COLS                                                                                   \
	"id, name, state, reason, created_ns, started_ns, ended_ns, scenario, scenario_type, "     \
	"verdict, exit_code, report_json, report_junit, schedule_id, steps_json, created_by"
#define EXP_ORDER " ORDER BY created_ns DESC, id ASC LIMIT ?1"
#define SCH_COLS                                                                                   \
	"id, name, spec, scenario, scenario_type, created_ns, last_run_ns, next_run_ns, runs, "    \
	"skipped, created_by"

enum stmt_id {
	EXP_INSERT,
	EXP_UPDATE,
	EXP_GET,
	EXP_LIST_ALL,
	EXP_LIST_STATE,
	EXP_LIST_SCHEDULE,
	EXP_LIST_BOTH,
	EXP_ABORT,
	EXP_COUNTS,
	EXP_PRUNE,
	SCH_INSERT,
	SCH_GET,
	SCH_LIST,
	SCH_DELETE,
	SCH_FIRED,
	N_STMTS,
};

static const char *const stmt_sql[N_STMTS] = {
    [EXP_INSERT] = "INSERT INTO experiments (" EXP_COLS ") "
		   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [EXP_UPDATE] = "UPDATE experiments SET state = ?2, reason = ?3, started_ns = ?4, "
		   "ended_ns = ?5, verdict = ?6, exit_code = ?7, report_json = ?8, "
		   "report_junit = ?9, steps_json = ?10 WHERE id = ?1",
    [EXP_GET] = "SELECT " EXP_COLS " FROM experiments WHERE id = ?1",
    [EXP_LIST_ALL] = "SELECT " EXP_COLS " FROM experiments" EXP_ORDER,
    [EXP_LIST_STATE] = "SELECT " EXP_COLS " FROM experiments WHERE state = ?2" EXP_ORDER,
    [EXP_LIST_SCHEDULE] = "SELECT " EXP_COLS " FROM experiments WHERE schedule_id = ?3" EXP_ORDER,
    [EXP_LIST_BOTH] = "SELECT " EXP_COLS " FROM experiments "
		      "WHERE state = ?2 AND schedule_id = ?3" EXP_ORDER,
    [EXP_ABORT] = "UPDATE experiments SET state = 'aborted', reason = ?1, ended_ns = ?2 "
		  "WHERE state IN ('pending', 'running')",
    [EXP_COUNTS] = "SELECT state, count(*) FROM experiments GROUP BY state",
    [EXP_PRUNE] = "DELETE FROM experiments WHERE state IN ('completed', 'aborted', 'failed') "
		  "AND id NOT IN (SELECT id FROM experiments "
		  "WHERE state IN ('completed', 'aborted', 'failed')" EXP_ORDER ")",
    [SCH_INSERT] = "INSERT INTO schedules (" SCH_COLS ") "
		   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    [SCH_GET] = "SELECT " SCH_COLS " FROM schedules WHERE id = ?1",
    [SCH_LIST] = "SELECT " SCH_COLS " FROM schedules ORDER BY created_ns ASC, id ASC",
    [SCH_DELETE] = "DELETE FROM schedules WHERE id = ?1",
    [SCH_FIRED] = "UPDATE schedules SET last_run_ns = ?2, next_run_ns = ?3, "
		  "runs = runs + (CASE WHEN ?4 THEN 0 ELSE 1 END), "
		  "skipped = skipped + (CASE WHEN ?4 THEN 1 ELSE 0 END) WHERE id = ?1",
};

struct fl_store {
	pthread_mutex_t mu;
	sqlite3 *db;
	sqlite3_stmt *stmts[N_STMTS]; /* prepared on first use */
};

/* ---- helpers ---------------------------------------------------------------- */

static int map_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

static int state_index(const char *state)
{
	for (int i = 0; state && i < FL_STORE_N_STATES; i++)
		if (strcmp(state, fl_store_states[i]) == 0)
			return i;
	return -1;
}

static bool type_ok(const char *type)
{
	return type && (strcmp(type, "yaml") == 0 || strcmp(type, "json") == 0);
}

/* an id that can be stored: 1..23 chars */
static bool id_ok(const char *id)
{
	return id && id[0] && strnlen(id, FL_STORE_ID_LEN) < FL_STORE_ID_LEN;
}

static int stmt_get(struct fl_store *st, enum stmt_id id, sqlite3_stmt **out)
{
	if (!st->stmts[id]) {
		int rc = sqlite3_prepare_v3(st->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
					    &st->stmts[id], NULL);
		if (rc != SQLITE_OK) {
			st->stmts[id] = NULL;
			return map_rc(rc);
		}
	}
	*out = st->stmts[id];
	return 0;
}

/* end a statement's use: no transaction stays open, no pointer stays bound */
static void stmt_done(sqlite3_stmt *s)
{
	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
	}
}

/* The binders do nothing once *rc holds an error, so a run of them needs one check. */
static void bind_text(sqlite3_stmt *s, int i, const char *v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

static void bind_int(sqlite3_stmt *s, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(s, i, v);
}

static int col_text(sqlite3_stmt *s, int i, char **out)
{
	const unsigned char *t;
	int len;

	*out = NULL;
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	t = sqlite3_column_text(s, i);
	len = sqlite3_column_bytes(s, i);
	if (!t)
		return -ENOMEM;
	*out = malloc((size_t)len + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, t, (size_t)len);
	(*out)[len] = '\0';
	return 0;
}

static int col_id(sqlite3_stmt *s, int i, char buf[FL_STORE_ID_LEN])
{
	const unsigned char *t;
	int len;

	buf[0] = '\0';
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return 0;
	t = sqlite3_column_text(s, i);
	len = sqlite3_column_bytes(s, i);
	if (!t)
		return -ENOMEM;
	if (len >= FL_STORE_ID_LEN)
		return -EIO; /* not written by us */
	memcpy(buf, t, (size_t)len);
	buf[len] = '\0';
	return 0;
}

static uint64_t col_u64(sqlite3_stmt *s, int i)
{
	return (uint64_t)sqlite3_column_int64(s, i);
}

/* Step a statement that returns no row; -ENOENT when it changed nothing and must have. */
static int step_change(struct fl_store *st, sqlite3_stmt *s, bool must_change)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE)
		return rc == SQLITE_ROW ? -EIO : map_rc(rc);
	if (must_change && sqlite3_changes(st->db) == 0)
		return -ENOENT;
	return 0;
}

/* ---- open / close ----------------------------------------------------------- */

/* one row, one integer column */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(s, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_ERROR;
		}
	}
	sqlite3_finalize(s);
	return map_rc(rc);
}

static int set_wal(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
	int err;

	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(s, 0);

		/* a journal mode it cannot leave (in-memory) is answered, not refused */
		err = mode && strcmp(mode, "wal") == 0 ? 0 : -EIO;
	} else {
		err = rc == SQLITE_DONE ? -EIO : map_rc(rc);
	}
	sqlite3_finalize(s);
	return err;
}

static int migrate(sqlite3 *db)
{
	int64_t version = 0;
	int err;

	err = map_rc(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	if (err)
		return err;
	err = query_int(db, "PRAGMA user_version", &version);
	if (!err && (version < 0 || version > FL_STORE_SCHEMA_VERSION))
		err = -EPROTO; /* a newer faultline's database: leave it alone */
	for (int64_t v = version; !err && v < FL_STORE_SCHEMA_VERSION; v++)
		err = map_rc(sqlite3_exec(db, migrations[v], NULL, NULL, NULL));
	if (!err)
		err = map_rc(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
	if (err && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

static int make_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &sb) != 0)
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

int fl_store_open(const char *dir, struct fl_store **out)
{
	struct fl_store *st = NULL;
	sqlite3 *db = NULL;
	char *path = NULL;
	int err, fd;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!dir || !dir[0])
		return -EINVAL;
	err = make_dir(dir);
	if (err)
		return err;
	if (asprintf(&path, "%s/%s", dir, DB_NAME) < 0)
		return -ENOMEM;

	/* create the file ourselves, so it is 0600 whatever the umask (the WAL
	 * and shm files SQLite makes next to it take the same mode), and so that
	 * a directory we cannot write is told apart by its errno */
	/* never through a symbolic link: not the database, nor its WAL and shm
	 * files (SQLite opens those by name next to it) */
	for (const char *const *sfx = (const char *const[]){"-wal", "-shm", NULL}; *sfx; sfx++) {
		char side[PATH_MAX];
		struct stat sst;

		snprintf(side, sizeof(side), "%s%s", path, *sfx);
		if (lstat(side, &sst) == 0 && !S_ISREG(sst.st_mode)) {
			err = -ELOOP;
			goto fail;
		}
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	close(fd);

	err = map_rc(sqlite3_open_v2(path, &db,
				     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
					 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
				     NULL));
	if (err)
		goto fail;
	err = map_rc(sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS));
	if (!err)
		err = set_wal(db);
	if (!err)
		err = map_rc(sqlite3_exec(
		    db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL, NULL));
	if (!err)
		err = migrate(db);
	if (err)
		goto fail;

	st = calloc(1, sizeof(*st));
	if (!st) {
		err = -ENOMEM;
		goto fail;
	}
	err = -pthread_mutex_init(&st->mu, NULL);
	if (err)
		goto fail;
	st->db = db;
	free(path);
	*out = st;
	return 0;

fail:
	free(st);
	sqlite3_close(db); /* NULL is fine; a failed open still needs closing */
	free(path);
	return err;
}

void fl_store_close(struct fl_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < N_STMTS; i++)
		sqlite3_finalize(st->stmts[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* ---- ids -------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static void fill_random(unsigned char *buf, size_t len)
{
	static _Atomic uint64_t counter;
	size_t got = 0;
	struct timespec ts;
	uint64_t x;

	while (got < len) {
		ssize_t r = getrandom(buf + got, len - got, 0);

		if (r > 0)
			got += (size_t)r;
		else if (r < 0 && errno != EINTR)
			break;
	}
	if (got == len)
		return;
	/* getrandom(2) missing (seccomp?): still different ids, if not secret ones */
	clock_gettime(CLOCK_REALTIME, &ts);
	x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	x ^= ((uint64_t)getpid() << 40) ^
	     (atomic_fetch_add(&counter, 1) * UINT64_C(0x2545f4914f6cdd1d));
	for (size_t i = got; i < len; i += 8) {
		uint64_t r = splitmix64(&x);

		memcpy(buf + i, &r, len - i < 8 ? len - i : 8);
	}
}

void fl_store_new_id(const char *prefix, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t plen = prefix ? strlen(prefix) + 1 : 0; /* with its '-' */
	unsigned char r[6];

	if (!buf || !len)
		return;
	if (len < plen + 2 * sizeof(r) + 1) {
		buf[0] = '\0';
		return;
	}
	fill_random(r, sizeof(r));
	if (prefix) {
		memcpy(buf, prefix, plen - 1);
		buf[plen - 1] = '-';
	}
	for (size_t i = 0; i < sizeof(r); i++) {
		buf[plen + 2 * i] = hex[r[i] >> 4];
		buf[plen + 2 * i + 1] = hex[r[i] & 0xf];
	}
	buf[plen + 2 * sizeof(r)] = '\0';
}

/* ---- experiments ------------------------------------------------------------ */

/* Reads the current row of s into an item (fl_store_experiment or
 * fl_store_schedule); on failure frees what it read and returns -errno. */
typedef int (*row_reader)(sqlite3_stmt *s, void *item);

/* The row of statement which for id, into out; takes mu. */
static int get_one(struct fl_store *st, enum stmt_id which, const char *id, row_reader read,
		   void *out)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, which, &s);
	if (err)
		goto out;
	bind_text(s, 1, id, &rc);
	if (rc != SQLITE_OK) {
		err = map_rc(rc);
		goto out;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		err = read(s, out);
	else
		err = rc == SQLITE_DONE ? -ENOENT : map_rc(rc);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

/* Every row of s (bound, under mu) into a malloc'd array of items of size
 * sz, at most limit (0: no limit); *out and *n hold what was read even on
 * failure, for the caller to free. */
static int read_rows(sqlite3_stmt *s, size_t sz, size_t limit, row_reader read, void **out,
		     size_t *n)
{
	size_t len = 0, cap = 0;
	char *v = NULL;
	int rc, err = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			size_t ncap = cap ? 2 * cap : 16;
			char *nv;

			if (limit && ncap > limit)
				ncap = limit;
			nv = realloc(v, ncap * sz);
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		err = read(s, v + len * sz);
		if (err)
			break;
		len++;
	}
	if (!err && rc != SQLITE_DONE)
		err = map_rc(rc);
	*out = v;
	*n = len;
	return err;
}

void fl_store_experiment_clear(struct fl_store_experiment *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->state);
	free(e->reason);
	free(e->scenario);
	free(e->scenario_type);
	free(e->verdict);
	free(e->report_json);
	free(e->report_junit);
	free(e->steps_json);
	free(e->created_by);
	memset(e, 0, sizeof(*e));
}

/* a row in EXP_COLS order into *e (zeroed first; cleared on error) */
static int read_experiment(sqlite3_stmt *s, void *item)
{
	struct fl_store_experiment *e = item;
	int err;

	memset(e, 0, sizeof(*e));
	err = col_id(s, 0, e->id);
	if (!err)
		err = col_text(s, 1, &e->name);
	if (!err)
		err = col_text(s, 2, &e->state);
	if (!err)
		err = col_text(s, 3, &e->reason);
	e->created_ns = col_u64(s, 4);
	e->started_ns = col_u64(s, 5);
	e->ended_ns = col_u64(s, 6);
	if (!err)
		err = col_text(s, 7, &e->scenario);
	if (!err)
		err = col_text(s, 8, &e->scenario_type);
	if (!err)
		err = col_text(s, 9, &e->verdict);
	e->exit_code = sqlite3_column_int(s, 10);
	if (!err)
		err = col_text(s, 11, &e->report_json);
	if (!err)
		err = col_text(s, 12, &e->report_junit);
	if (!err)
		err = col_id(s, 13, e->schedule_id);
	if (!err)
		err = col_text(s, 14, &e->steps_json);
	if (!err)
		err = col_text(s, 15, &e->created_by);
	if (err)
		fl_store_experiment_clear(e);
	return err;
}

/* the mutable columns are checked by update as well as insert */
static bool experiment_mutable_ok(const struct fl_store_experiment *e)
{
	return state_index(e->state) >= 0;
}

int fl_store_experiment_insert(struct fl_store *st, const struct fl_store_experiment *e)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st || !e || !id_ok(e->id) || !e->name || !experiment_mutable_ok(e) || !e->scenario ||
	    !type_ok(e->scenario_type) ||
	    strnlen(e->schedule_id, FL_STORE_ID_LEN) >= FL_STORE_ID_LEN)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, EXP_INSERT, &s);
	if (err)
		goto out;
	bind_text(s, 1, e->id, &rc);
	bind_text(s, 2, e->name, &rc);
	bind_text(s, 3, e->state, &rc);
	bind_text(s, 4, e->reason, &rc);
	bind_int(s, 5, (int64_t)e->created_ns, &rc);
	bind_int(s, 6, (int64_t)e->started_ns, &rc);
	bind_int(s, 7, (int64_t)e->ended_ns, &rc);
	bind_text(s, 8, e->scenario, &rc);
	bind_text(s, 9, e->scenario_type, &rc);
	bind_text(s, 10, e->verdict, &rc);
	bind_int(s, 11, e->exit_code, &rc);
	bind_text(s, 12, e->report_json, &rc);
	bind_text(s, 13, e->report_junit, &rc);
	bind_text(s, 14, e->schedule_id, &rc);
	bind_text(s, 15, e->steps_json, &rc);
	bind_text(s, 16, e->created_by ? e->created_by : "", &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, false);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

int fl_store_experiment_update(struct fl_store *st, const struct fl_store_experiment *e)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st || !e || !experiment_mutable_ok(e))
		return -EINVAL;
	if (!id_ok(e->id))
		return -ENOENT;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, EXP_UPDATE, &s);
	if (err)
		goto out;
	bind_text(s, 1, e->id, &rc);
	bind_text(s, 2, e->state, &rc);
	bind_text(s, 3, e->reason, &rc);
	bind_int(s, 4, (int64_t)e->started_ns, &rc);
	bind_int(s, 5, (int64_t)e->ended_ns, &rc);
	bind_text(s, 6, e->verdict, &rc);
	bind_int(s, 7, e->exit_code, &rc);
	bind_text(s, 8, e->report_json, &rc);
	bind_text(s, 9, e->report_junit, &rc);
	bind_text(s, 10, e->steps_json, &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, true);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

int fl_store_experiment_get(struct fl_store *st, const char *id, struct fl_store_experiment *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!st || !id)
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	return get_one(st, EXP_GET, id, read_experiment, out);
}

void fl_store_experiment_list_free(struct fl_store_experiment *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		fl_store_experiment_clear(&v[i]);
	free(v);
}

int fl_store_experiment_list(struct fl_store *st, const char *state, const char *schedule_id,
			     size_t limit, struct fl_store_experiment **out, size_t *n)
{
	struct fl_store_experiment *v = NULL;
	void *items = NULL;
	size_t len = 0;
	sqlite3_stmt *s = NULL;
	enum stmt_id which;
	int rc = SQLITE_OK, err;

	if (!out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!st || (state && state_index(state) < 0))
		return -EINVAL;
	if (schedule_id && strnlen(schedule_id, FL_STORE_ID_LEN) >= FL_STORE_ID_LEN)
		return 0; /* no schedule has such an id */
	if (!limit)
		limit = DEFAULT_LIST_LIMIT;
	if (limit > INT64_MAX)
		limit = INT64_MAX;
	which = state ? (schedule_id ? EXP_LIST_BOTH : EXP_LIST_STATE)
		      : (schedule_id ? EXP_LIST_SCHEDULE : EXP_LIST_ALL);

	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, which, &s);
	if (err)
		goto out;
	bind_int(s, 1, (int64_t)limit, &rc);
	if (state)
		bind_text(s, 2, state, &rc);
	if (schedule_id)
		bind_text(s, 3, schedule_id, &rc);
	if (rc != SQLITE_OK) {
		err = map_rc(rc);
		goto out;
	}
	err = read_rows(s, sizeof(*v), limit, read_experiment, &items, &len);
	v = items;
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	if (err) {
		fl_store_experiment_list_free(v, len);
		return err;
	}
	*out = v;
	*n = len;
	return 0;
}

int fl_store_abort_unfinished(struct fl_store *st, const char *reason, uint64_t now_ns)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, EXP_ABORT, &s);
	if (err)
		goto out;
	bind_text(s, 1, reason, &rc);
	bind_int(s, 2, (int64_t)now_ns, &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, false);
	if (!err)
		err = sqlite3_changes(st->db);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

int fl_store_experiment_prune(struct fl_store *st, size_t keep)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st || keep > INT64_MAX)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, EXP_PRUNE, &s);
	if (err)
		goto out;
	bind_int(s, 1, (int64_t)keep, &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, false);
	if (!err)
		err = sqlite3_changes(st->db);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

int fl_store_experiment_counts(struct fl_store *st, uint64_t counts[FL_STORE_N_STATES])
{
	sqlite3_stmt *s = NULL;
	int rc, err;

	if (!counts)
		return -EINVAL;
	memset(counts, 0, FL_STORE_N_STATES * sizeof(counts[0]));
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, EXP_COUNTS, &s);
	if (err)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int i = state_index((const char *)sqlite3_column_text(s, 0));

		if (i >= 0)
			counts[i] = col_u64(s, 1);
	}
	err = rc == SQLITE_DONE ? 0 : map_rc(rc);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	if (err)
		memset(counts, 0, FL_STORE_N_STATES * sizeof(counts[0]));
	return err;
}

/* ---- schedules -------------------------------------------------------------- */

void fl_store_schedule_clear(struct fl_store_schedule *sc)
{
	if (!sc)
		return;
	free(sc->name);
	free(sc->spec);
	free(sc->scenario);
	free(sc->scenario_type);
	free(sc->created_by);
	memset(sc, 0, sizeof(*sc));
}

/* a row in SCH_COLS order into *sc (zeroed first; cleared on error) */
static int read_schedule(sqlite3_stmt *s, void *item)
{
	struct fl_store_schedule *sc = item;
	int err;

	memset(sc, 0, sizeof(*sc));
	err = col_id(s, 0, sc->id);
	if (!err)
		err = col_text(s, 1, &sc->name);
	if (!err)
		err = col_text(s, 2, &sc->spec);
	if (!err)
		err = col_text(s, 3, &sc->scenario);
	if (!err)
		err = col_text(s, 4, &sc->scenario_type);
	sc->created_ns = col_u64(s, 5);
	sc->last_run_ns = col_u64(s, 6);
	sc->next_run_ns = col_u64(s, 7);
	sc->runs = (unsigned)sqlite3_column_int64(s, 8);
	sc->skipped = (unsigned)sqlite3_column_int64(s, 9);
	if (!err)
		err = col_text(s, 10, &sc->created_by);
	if (err)
		fl_store_schedule_clear(sc);
	return err;
}

int fl_store_schedule_insert(struct fl_store *st, const struct fl_store_schedule *sc)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st || !sc || !id_ok(sc->id) || !sc->name || !sc->spec || !sc->scenario ||
	    !type_ok(sc->scenario_type))
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, SCH_INSERT, &s);
	if (err)
		goto out;
	bind_text(s, 1, sc->id, &rc);
	bind_text(s, 2, sc->name, &rc);
	bind_text(s, 3, sc->spec, &rc);
	bind_text(s, 4, sc->scenario, &rc);
	bind_text(s, 5, sc->scenario_type, &rc);
	bind_int(s, 6, (int64_t)sc->created_ns, &rc);
	bind_int(s, 7, (int64_t)sc->last_run_ns, &rc);
	bind_int(s, 8, (int64_t)sc->next_run_ns, &rc);
	bind_int(s, 9, sc->runs, &rc);
	bind_int(s, 10, sc->skipped, &rc);
	bind_text(s, 11, sc->created_by ? sc->created_by : "", &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, false);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

int fl_store_schedule_get(struct fl_store *st, const char *id, struct fl_store_schedule *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!st || !id)
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	return get_one(st, SCH_GET, id, read_schedule, out);
}

void fl_store_schedule_list_free(struct fl_store_schedule *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		fl_store_schedule_clear(&v[i]);
	free(v);
}

int fl_store_schedule_list(struct fl_store *st, struct fl_store_schedule **out, size_t *n)
{
	struct fl_store_schedule *v = NULL;
	void *items = NULL;
	size_t len = 0;
	sqlite3_stmt *s = NULL;
	int err;

	if (!out || !n)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	if (!st)
		return -EINVAL;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, SCH_LIST, &s);
	if (err)
		goto out;
	err = read_rows(s, sizeof(*v), 0, read_schedule, &items, &len);
	v = items;
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	if (err) {
		fl_store_schedule_list_free(v, len);
		return err;
	}
	*out = v;
	*n = len;
	return 0;
}

int fl_store_schedule_delete(struct fl_store *st, const char *id)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st || !id)
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, SCH_DELETE, &s);
	if (err)
		goto out;
	bind_text(s, 1, id, &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, true);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}

int fl_store_schedule_fired(struct fl_store *st, const char *id, uint64_t last_run_ns,
			    uint64_t next_run_ns, bool skipped)
{
	sqlite3_stmt *s = NULL;
	int rc = SQLITE_OK, err;

	if (!st || !id)
		return -EINVAL;
	if (!id_ok(id))
		return -ENOENT;
	pthread_mutex_lock(&st->mu);
	err = stmt_get(st, SCH_FIRED, &s);
	if (err)
		goto out;
	bind_text(s, 1, id, &rc);
	bind_int(s, 2, (int64_t)last_run_ns, &rc);
	bind_int(s, 3, (int64_t)next_run_ns, &rc);
	bind_int(s, 4, skipped ? 1 : 0, &rc);
	err = rc != SQLITE_OK ? map_rc(rc) : step_change(st, s, true);
out:
	stmt_done(s);
	pthread_mutex_unlock(&st->mu);
	return err;
}
