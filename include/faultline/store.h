/*
 * faultline/store.h - the daemon's embedded SQLite store: experiments (their
 * scenario, state, reports and last known steps) and schedules.
 *
 * One store is one file, DIR/faultline.db, opened through a single SQLite
 * connection in WAL mode (synchronous=NORMAL, busy_timeout 5000 ms, foreign
 * keys on). Every function takes the store's mutex for its whole duration, so
 * the daemon may call any of them from any thread; each call is one SQL
 * statement (or one transaction), so a reader never sees half a write.
 *
 * Conventions:
 *  - Every function returns 0 or a negative errno and prints nothing:
 *    -EINVAL  a required argument is NULL, an id does not fit its 24 bytes,
 *             a state or scenario_type is not one of the values listed below;
 *    -ENOENT  no experiment or schedule with that id;
 *    -EEXIST  an insert with an id that is already stored (SQLITE_CONSTRAINT);
 *    -EBUSY   the database stayed locked by another connection for 5 s;
 *    -ENOMEM  out of memory;
 *    -EIO     any other SQLite error.
 *  - Strings are UTF-8 text, copied in (insert/update only read them) and
 *    returned malloc'd (free them with the matching _clear or _list_free). A
 *    NULL string is stored as SQL NULL and comes back as NULL; "" comes back
 *    as "".
 *  - Times are CLOCK_REALTIME nanoseconds, 0 meaning "not yet" or "none";
 *    they are stored as SQLite's signed 64-bit INTEGER (exact up to the year
 *    2262, which is also the limit of the ordering).
 *  - Ids are short text, e.g. "e-5f1c0a9b2d3e" (fl_store_new_id); the
 *    caller chooses them.
 */
#ifndef FAULTLINE_STORE_H
#define FAULTLINE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The size of an id buffer, NUL included: at most 23 characters. */
#define FL_STORE_ID_LEN 24

/* The schema version this build writes (PRAGMA user_version). */
#define FL_STORE_SCHEMA_VERSION 2

/* The experiment states, in the order fl_store_experiment_counts() uses. */
#define FL_STORE_N_STATES 5
extern const char *const fl_store_states[FL_STORE_N_STATES]; /* "pending", ... "failed" */

struct fl_store;

/*
 * Open DIR/faultline.db, creating it (mode 0600) when missing, and DIR (mode
 * 0700) when missing; DIR's parent must exist (-ENOENT otherwise, -ENOTDIR
 * when DIR is not a directory). The schema is created, or migrated from an
 * older version, inside one transaction, as PRAGMA user_version says; a
 * database written by a newer faultline (a user_version above
 * FL_STORE_SCHEMA_VERSION) is refused with -EPROTO and left untouched. -EIO
 * also when the file is not a database or WAL mode cannot be set.
 */
int fl_store_open(const char *dir, struct fl_store **out);

/* Close the store (NULL: nothing). No other call may be running or follow. */
void fl_store_close(struct fl_store *st);

/*
 * Write a fresh id into buf: prefix, '-', then 12 lowercase hex digits (48
 * random bits from getrandom(2)), e.g. "e-5f1c0a9b2d3e". A NULL prefix gives
 * the 12 digits alone. When buf cannot hold the whole id (len below
 * strlen(prefix) + 14; a 24-byte buffer takes a prefix of up to 10 chars) it
 * is set to "" rather than truncated (a cut id would not be unique).
 */
void fl_store_new_id(const char *prefix, char *buf, size_t len);

/* ---- experiments ------------------------------------------------------------ */

struct fl_store_experiment {
	char id[FL_STORE_ID_LEN];
	char *name;	     /* required */
	char *state;	     /* required: "pending" "running" "completed" "aborted" "failed" */
	char *reason;	     /* why it was aborted or failed, or NULL */
	uint64_t created_ns; /* when it was POSTed (or fired) */
	uint64_t started_ns, ended_ns;	   /* 0 = not yet */
	char *scenario;			   /* required: the text as POSTed */
	char *scenario_type;		   /* required: "yaml" or "json" */
	char *verdict;			   /* "passed", "failed", ...; NULL until ended */
	int exit_code;			   /* -1 until ended */
	char *report_json;		   /* NULL until ended */
	char *report_junit;		   /* NULL until ended */
	char schedule_id[FL_STORE_ID_LEN]; /* "" when not from a schedule */
	char *steps_json; /* the last known steps array as JSON text (the daemon writes it), or NULL
			   */
	char *created_by; /* who created it: "uid:N" (unix socket), "ip:ADDR" (TCP), for a
			   * fired one its schedule's creator; "" when unknown (NULL: "") */
};

/* Free the strings of e and zero it (exit_code too). NULL: nothing. */
void fl_store_experiment_clear(struct fl_store_experiment *e);

/* Store a new experiment, every field as given. -EEXIST when its id is taken. */
int fl_store_experiment_insert(struct fl_store *st, const struct fl_store_experiment *e);

/*
 * Overwrite the mutable columns of the experiment e->id with e's: state,
 * reason, started_ns, ended_ns, verdict, exit_code, report_json,
 * report_junit, steps_json. The others (name, created_ns, scenario,
 * scenario_type, schedule_id) are never changed. -ENOENT when unknown.
 */
int fl_store_experiment_update(struct fl_store *st, const struct fl_store_experiment *e);

/*
 * Read the experiment id into *out, which is overwritten (its old strings are
 * not freed); release it with fl_store_experiment_clear(). On error *out is
 * zeroed. -ENOENT when unknown.
 */
int fl_store_experiment_get(struct fl_store *st, const char *id, struct fl_store_experiment *out);

/*
 * The experiments, newest first (created_ns descending, then id ascending),
 * only those in state (NULL: any) and from schedule_id (NULL: any; "" those
 * not from a schedule), at most limit of them (0: 100). *out is a malloc'd
 * array of *n entries (NULL when *n is 0); free it with
 * fl_store_experiment_list_free(). On error *out is NULL and *n 0.
 */
int fl_store_experiment_list(struct fl_store *st, const char *state, const char *schedule_id,
			     size_t limit, struct fl_store_experiment **out, size_t *n);

/* Clear each of the n entries of v, then free v (NULL: nothing). */
void fl_store_experiment_list_free(struct fl_store_experiment *v, size_t n);

/*
 * Mark every experiment still "pending" or "running" (left by a daemon that
 * died) as "aborted" with this reason and ended_ns = now_ns, in one
 * statement. Returns how many were changed (>= 0) or a negative errno.
 */
int fl_store_abort_unfinished(struct fl_store *st, const char *reason, uint64_t now_ns);

/*
 * Delete the ended experiments ("completed", "aborted", "failed") but the
 * keep newest (by created_ns, then id, as the lists order them), with their
 * reports; pending and running ones are never deleted. Returns how many were
 * deleted (>= 0) or a negative errno.
 */
int fl_store_experiment_prune(struct fl_store *st, size_t keep);

/*
 * How many experiments are in each state, into counts[] in the order of
 * fl_store_states: pending, running, completed, aborted, failed.
 */
int fl_store_experiment_counts(struct fl_store *st, uint64_t counts[FL_STORE_N_STATES]);

/* ---- schedules -------------------------------------------------------------- */

struct fl_store_schedule {
	char id[FL_STORE_ID_LEN];
	char *name;	     /* required */
	char *spec;	     /* required: "0 3 * * 1-5" or "@every 5s", as written */
	char *scenario;	     /* required: the text as POSTed */
	char *scenario_type; /* required: "yaml" or "json" */
	uint64_t created_ns;
	uint64_t last_run_ns, next_run_ns; /* 0 = none */
	unsigned runs;			   /* experiments it started */
	unsigned skipped;		   /* fires skipped: its previous experiment still ran */
	char *created_by;		   /* as fl_store_experiment's */
};

/* Free the strings of s and zero it. NULL: nothing. */
void fl_store_schedule_clear(struct fl_store_schedule *s);

/* Store a new schedule, every field as given. -EEXIST when its id is taken. */
int fl_store_schedule_insert(struct fl_store *st, const struct fl_store_schedule *s);

/* Read schedule id into *out (overwritten; zeroed on error). -ENOENT when unknown. */
int fl_store_schedule_get(struct fl_store *st, const char *id, struct fl_store_schedule *out);

/*
 * Every schedule, oldest first (created_ns ascending, then id). *out as for
 * fl_store_experiment_list(); free it with fl_store_schedule_list_free().
 */
int fl_store_schedule_list(struct fl_store *st, struct fl_store_schedule **out, size_t *n);

/* Clear each of the n entries of v, then free v (NULL: nothing). */
void fl_store_schedule_list_free(struct fl_store_schedule *v, size_t n);

/*
 * Delete schedule id. Its experiments keep their schedule_id text (so their
 * history still says where they came from). -ENOENT when unknown.
 */
int fl_store_schedule_delete(struct fl_store *st, const char *id);

/*
 * Record that schedule id fired: runs + 1, or skipped + 1 when skipped (its
 * previous experiment still ran); last_run_ns and next_run_ns are set as
 * given in both cases. -ENOENT when unknown.
 */
int fl_store_schedule_fired(struct fl_store *st, const char *id, uint64_t last_run_ns,
			    uint64_t next_run_ns, bool skipped);

#endif /* FAULTLINE_STORE_H */
