/*
 * api/daemon.h - the parts of faultlined: the experiment manager
 * (api/manager.c: experiments as runner threads, their state, the store,
 * schedules), the HTTP front (api/server.c: libmicrohttpd, routing, auth,
 * problem+json) and the metrics (api/metrics.c). docs/api.md is the contract.
 */
#ifndef FAULTLINE_API_DAEMON_H
#define FAULTLINE_API_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "faultline/scenario.h"
#include "faultline/store.h"

#ifndef FL_VERSION
#define FL_VERSION "0.1.0"
#endif

#define FL_API_BODY_MAX	    (1u << 20)
#define FL_API_RUNNING_MAX  32			     /* experiments live at once */
#define FL_API_KEEP_DONE_NS (600ull * 1000000000ull) /* metrics of ended ones */

/* An HTTP problem (RFC 9457) in the making. */
struct fl_problem {
	int status;
	const char *type; /* after "urn:faultline:problem:" */
	char title[128];
	char detail[1024];
	cJSON *errors;	 /* array of {path, line, col, message}, or NULL */
	char holder[24]; /* 409: the experiment holding the flows */
};
void fl_problem_set(struct fl_problem *p, int status, const char *type, const char *title,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void fl_problem_clear(struct fl_problem *p);

void fl_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern bool fl_log_stderr;

struct fl_mgr;

struct fl_mgr_opts {
	struct fl_store *store;
	uint64_t lease_ns;
	enum fl_attach_mode mode;
	/* run `command` probes of posted scenarios (as root, with the daemon's
	 * capabilities); false: such a scenario is refused with 422 */
	bool allow_command_probes;
	/* the ended experiments the store keeps, newest first (with their
	 * reports); older ones are deleted at start-up and as each one ends.
	 * 0: keep all */
	size_t keep_history;
};
#define FL_KEEP_HISTORY_DEFAULT 10000

int fl_mgr_open(const struct fl_mgr_opts *o, struct fl_mgr **out);
/* Stop every experiment (rolled back), wait for them, stop the scheduler. */
void fl_mgr_close(struct fl_mgr *m);

/* Create and start an experiment from a scenario text (type "json" or
 * "yaml"). 0 with id set, or -errno with the problem filled. */
int fl_mgr_create(struct fl_mgr *m, const char *text, size_t len, const char *type,
		  const char *schedule_id, const char *created_by, char id[24],
		  struct fl_problem *pb);
/* The experiment object (docs/api.md); NULL with pb (404) when unknown. */
cJSON *fl_mgr_get(struct fl_mgr *m, const char *id, struct fl_problem *pb);
/* {"experiments": [...]}, newest first; state NULL: any. */
cJSON *fl_mgr_list(struct fl_mgr *m, const char *state, size_t limit, struct fl_problem *pb);
/* Stop, roll back, wait for the end; the final object, or NULL with pb
 * (404 unknown, 409 already ended). */
cJSON *fl_mgr_stop(struct fl_mgr *m, const char *id, struct fl_problem *pb);
/* The report text (malloc'd) in format "json" or "junit"; NULL with pb. */
char *fl_mgr_report(struct fl_mgr *m, const char *id, const char *format, struct fl_problem *pb);
unsigned fl_mgr_running(struct fl_mgr *m);

/* Schedules: create from a scenario with `schedule:`; list; get; delete. */
cJSON *fl_mgr_schedule_create(struct fl_mgr *m, const char *text, size_t len, const char *type,
			      const char *created_by, struct fl_problem *pb);
cJSON *fl_mgr_schedule_list(struct fl_mgr *m, struct fl_problem *pb);
cJSON *fl_mgr_schedule_get(struct fl_mgr *m, const char *id, struct fl_problem *pb);
int fl_mgr_schedule_delete(struct fl_mgr *m, const char *id, struct fl_problem *pb);

/* The Prometheus text exposition of everything (malloc'd). */
char *fl_mgr_metrics(struct fl_mgr *m);

/* The HTTP front. */
struct fl_server;
struct fl_server_opts {
	struct fl_mgr *mgr;
	const char *socket_path;       /* NULL: no unix socket */
	const char *listen;	       /* "ADDR:PORT" or NULL */
	const char *token;	       /* required with listen */
	const char *capabilities_json; /* faultline doctor --json, probed at start */
	/* per client (TCP: address; unix socket: peer uid), token buckets that
	 * refill this many per second and hold twice as many; 0: no limit */
	unsigned rate;	     /* every request */
	unsigned write_rate; /* POST and DELETE */
	/* listening sockets made beforehand (fl_server_listen_*), so that they can
	 * be made before the daemon drops its capabilities; <= 0: made here */
	int unix_fd, tcp_fd;
};
/* A listening unix socket at path (a dead daemon's socket is replaced, a live
 * one's refused) or TCP socket at "ADDR:PORT"; the fd, or -errno with err. */
int fl_server_listen_unix(const char *path, char *err, size_t errlen);
int fl_server_listen_tcp(const char *listen_on, char *err, size_t errlen);
int fl_server_start(const struct fl_server_opts *o, struct fl_server **out, char *err,
		    size_t errlen);
void fl_server_stop(struct fl_server *s);

#endif
