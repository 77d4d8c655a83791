/*
 * api/manager.c - faultlined's experiments: each one is the runner
 * (injector/runner.c, the same as `faultline run`) on a thread of its own;
 * this file checks what is posted, refuses flows another experiment holds,
 * keeps a live picture of each run for the API and the metrics (taken on
 * the runner's own events, so no other thread ever touches an engine), and
 * writes every state change to the store. A scheduler thread fires the
 * schedules and forgets ended experiments after FL_API_KEEP_DONE_NS.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "api/daemon.h"
#include "faultline/cron.h"
#include "faultline/pool.h"
#include "faultline/report.h"
#include "faultline/runner.h"
#include "faultline/units.h"
#include "scenarios/node.h"

#define NS_PER_S 1000000000ull

enum exp_state { EXP_PENDING, EXP_RUNNING, EXP_COMPLETED, EXP_ABORTED, EXP_FAILED };
static const char *const state_names[] = {"pending", "running", "completed", "aborted", "failed"};

struct step_snap {
	int state; /* 0 pending, 1 live, 2 done */
	struct fl_counters c;
	struct fl_delay_stats d;
};

struct probe_snap {
	uint64_t ok, failed;
	uint64_t last_duration_ns;
	bool last_ok;
};

struct exp {
	char id[24];
	char schedule_id[24];
	char created_by[64]; /* "uid:N", "ip:ADDR" (the API client), "" unknown */
	char *text, *type;
	struct fl_scenario *s;
	struct fl_compiled_fault *cf;
	struct fl_mgr *m;
	volatile sig_atomic_t stop;
	pthread_t thread;
	bool thread_started;

	/* under m->mu */
	enum exp_state state;
	char *reason;
	uint64_t created_ns, started_ns, ended_ns;
	struct step_snap *steps;
	struct probe_snap *probes;
	char *report_json, *report_junit;
	const char *verdict;
	int exit_code;
	bool done;
};

struct sched {
	struct fl_store_schedule row;
	struct fl_cron cron;
	char last_exp[24];
};

struct fl_mgr {
	struct fl_mgr_opts o;
	struct fl_pool *pool; /* one classifier per hook for every experiment */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exp **v;
	size_t n, cap;
	struct sched *sch;
	size_t n_sch;
	bool closing;
	pthread_t scheduler;
	bool scheduler_started;
	uint64_t pruned; /* ended experiments deleted by --keep-history (under mu) */
};

bool fl_log_stderr = true;

void fl_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (fl_log_stderr) {
		fputs("faultlined: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void add_time(cJSON *o, const char *key, uint64_t ns)
{
	char buf[40];

	if (ns)
		cJSON_AddStringToObject(o, key, fl_fmt_rfc3339(ns, buf, sizeof(buf)));
	else
		cJSON_AddNullToObject(o, key);
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* ------------------------------------------------------------------ */
/* Experiments                                                         */

static void exp_free(struct exp *x)
{
	if (!x)
		return;
	fl_scenario_free(x->s);
	free(x->cf);
	free(x->text);
	free(x->type);
	free(x->reason);
	free(x->steps);
	free(x->probes);
	free(x->report_json);
	free(x->report_junit);
	free(x);
}

/* The steps array of x (under mu). */
static cJSON *steps_json(const struct exp *x)
{
	static const char *const st[] = {"pending", "live", "done"};
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; x->s && i < x->s->n_faults; i++) {
		const struct fl_scenario_fault *f = &x->s->faults[i];
		const struct step_snap *sn = &x->steps[i];
		cJSON *o = cJSON_CreateObject();
		char words[512];

		fl_scenario_describe_actions(f->actions, &f->act, words, sizeof(words));
		cJSON_AddNumberToObject(o, "index", (double)i);
		cJSON_AddStringToObject(o, "target", x->s->targets[f->target].name);
		cJSON_AddStringToObject(o, "fault", words);
		cJSON_AddNumberToObject(o, "at_s", (double)f->at_ns / 1e9);
		if (f->for_ns)
			cJSON_AddNumberToObject(o, "for_s", (double)f->for_ns / 1e9);
		else
			cJSON_AddNullToObject(o, "for_s");
		cJSON_AddStringToObject(o, "state", st[sn->state]);
		cJSON_AddNumberToObject(o, "matched", (double)sn->c.matched);
		cJSON_AddNumberToObject(o, "bytes", (double)sn->c.bytes);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* The experiment object (under mu). */
static cJSON *exp_json(const struct exp *x)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", x->id);
	cJSON_AddStringToObject(o, "name", x->s->name);
	cJSON_AddStringToObject(o, "state", state_names[x->state]);
	add_str(o, "reason", x->reason);
	add_time(o, "created", x->created_ns);
	add_time(o, "started", x->started_ns);
	add_time(o, "ended", x->ended_ns);
	add_str(o, "verdict", x->verdict);
	if (x->done)
		cJSON_AddNumberToObject(o, "exit_code", x->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	add_str(o, "schedule_id", x->schedule_id[0] ? x->schedule_id : NULL);
	add_str(o, "created_by", x->created_by[0] ? x->created_by : NULL);
	cJSON_AddNumberToObject(o, "duration_s", (double)x->s->duration_ns / 1e9);
	cJSON_AddItemToObject(o, "steps", steps_json(x));
	return o;
}

/* The object of a stored experiment (not in memory any more). */
static cJSON *row_json(const struct fl_store_experiment *e)
{
	cJSON *o = cJSON_CreateObject(), *steps = NULL;

	cJSON_AddStringToObject(o, "id", e->id);
	add_str(o, "name", e->name);
	add_str(o, "state", e->state);
	add_str(o, "reason", e->reason);
	add_time(o, "created", e->created_ns);
	add_time(o, "started", e->started_ns);
	add_time(o, "ended", e->ended_ns);
	add_str(o, "verdict", e->verdict);
	if (e->exit_code >= 0)
		cJSON_AddNumberToObject(o, "exit_code", e->exit_code);
	else
		cJSON_AddNullToObject(o, "exit_code");
	add_str(o, "schedule_id", e->schedule_id[0] ? e->schedule_id : NULL);
	add_str(o, "created_by", e->created_by && e->created_by[0] ? e->created_by : NULL);
	/* the duration is the scenario's: read it again from the text stored */
	if (e->scenario) {
		struct fl_scenario *s = NULL;
		struct fl_diags d = {0};

		if (!fl_scenario_load_buf(e->scenario_type && !strcmp(e->scenario_type, "json")
					      ? "stored.json"
					      : "stored.yaml",
					  e->scenario, strlen(e->scenario), &s, &d))
			cJSON_AddNumberToObject(o, "duration_s", (double)s->duration_ns / 1e9);
		fl_scenario_free(s);
		fl_diags_free(&d);
	}
	if (e->steps_json)
		steps = cJSON_Parse(e->steps_json);
	/* stored while it ran, and the daemon died: a step live then is over */
	for (cJSON *st = steps ? steps->child : NULL; st; st = st->next)
		if (e->state && strcmp(e->state, "pending") && strcmp(e->state, "running") &&
		    !strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(st, "state")) ?: "", "live"))
			cJSON_ReplaceItemInObject(st, "state", cJSON_CreateString("done"));
	cJSON_AddItemToObject(o, "steps", steps ? steps : cJSON_CreateArray());
	return o;
}

/* Write x's state to the store (under mu). */
static void exp_persist(struct fl_mgr *m, struct exp *x)
{
	struct fl_store_experiment e = {0};
	cJSON *steps = steps_json(x);
	char *steps_text = cJSON_PrintUnformatted(steps);
	int r;

	cJSON_Delete(steps);
	snprintf(e.id, sizeof(e.id), "%s", x->id);
	snprintf(e.schedule_id, sizeof(e.schedule_id), "%s", x->schedule_id);
	e.created_by = x->created_by;
	e.name = x->s->name;
	e.state = (char *)state_names[x->state];
	e.reason = x->reason;
	e.created_ns = x->created_ns;
	e.started_ns = x->started_ns;
	e.ended_ns = x->ended_ns;
	e.scenario = x->text;
	e.scenario_type = x->type;
	e.verdict = (char *)x->verdict;
	e.exit_code = x->done ? x->exit_code : -1;
	e.report_json = x->report_json;
	e.report_junit = x->report_junit;
	e.steps_json = steps_text;
	r = fl_store_experiment_update(m->o.store, &e);
	if (r == -ENOENT)
		r = fl_store_experiment_insert(m->o.store, &e);
	if (r)
		fl_log(LOG_ERR, "experiment %s: cannot write to the store: %s", x->id,
		       strerror(-r));
	free(steps_text);
}

/* Keep the store's history to o.keep_history ended experiments. */
static void prune_history(struct fl_mgr *m)
{
	int r;

	if (!m->o.keep_history)
		return;
	r = fl_store_experiment_prune(m->o.store, m->o.keep_history);
	if (r > 0) {
		m->pruned += (uint64_t)r;
		fl_log(LOG_INFO,
		       "deleted %d ended experiment(s) from the store: it keeps the %zu newest", r,
		       m->o.keep_history);
	} else if (r < 0) {
		fl_log(LOG_ERR, "cannot prune the store's history: %s", strerror(-r));
	}
}

static void snapshot(struct exp *x, const struct fl_run *run)
{
	for (size_t i = 0; i < x->s->n_faults; i++)
		fl_run_step_stats(run, i, &x->steps[i].c, &x->steps[i].d);
}

static void on_event(void *ctx, const struct fl_run_event *ev)
{
	struct exp *x = ctx;
	struct fl_mgr *m = x->m;

	pthread_mutex_lock(&m->mu);
	switch (ev->kind) {
	case FL_RUN_EV_STARTED:
		x->state = EXP_RUNNING;
		x->started_ns = realtime_ns();
		exp_persist(m, x);
		break;
	case FL_RUN_EV_STEP_START:
		x->steps[ev->index].state = 1;
		snapshot(x, ev->run);
		exp_persist(m, x); /* what a restart after kill -9 will show */
		break;
	case FL_RUN_EV_STEP_END:
		snapshot(x, ev->run);
		x->steps[ev->index].state = 2;
		exp_persist(m, x);
		break;
	case FL_RUN_EV_TICK:
		snapshot(x, ev->run);
		break;
	case FL_RUN_EV_PROBE: {
		struct probe_snap *p = &x->probes[ev->index];

		if (ev->ok)
			p->ok++;
		else
			p->failed++;
		p->last_ok = ev->ok;
		p->last_duration_ns = ev->duration_ns;
		break;
	}
	default:
		break;
	}
	pthread_mutex_unlock(&m->mu);
}

static char *render(const struct fl_report *rep, int junit)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r;

	if (!f)
		return NULL;
	r = junit ? fl_report_write_junit(rep, f) : fl_report_write_json(rep, f);
	fclose(f);
	if (r) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void *exp_thread(void *arg)
{
	struct exp *x = arg;
	struct fl_mgr *m = x->m;
	struct fl_run_opts ro = {.sz = sizeof(ro)};
	struct fl_error err = {0};
	struct fl_run *run = NULL;
	int r;

	ro.mode = m->o.mode;
	ro.lease_ns = m->o.lease_ns;
	ro.stop = &x->stop;
	ro.on_event = on_event;
	ro.ctx = x;
	ro.compiled = x->cf;
	ro.pool = m->pool;
	r = fl_run(x->s, &ro, &run, &err);

	pthread_mutex_lock(&m->mu);
	x->ended_ns = realtime_ns();
	if (r) {
		char buf[512];

		x->state = EXP_FAILED;
		x->reason = strdup(fl_error_str(&err, buf, sizeof(buf)));
		x->exit_code = FL_RUN_EXIT_USAGE;
		x->verdict = "error";
	} else {
		const struct fl_report *rep = fl_run_report(run);

		snapshot(x, run);
		for (size_t i = 0; i < x->s->n_faults; i++)
			if (x->steps[i].state == 1)
				x->steps[i].state = 2;
		x->report_json = render(rep, 0);
		x->report_junit = render(rep, 1);
		x->exit_code = fl_run_exit_code(run);
		x->verdict = fl_verdict_name(rep->verdict);
		x->reason = rep->reason ? strdup(rep->reason) : NULL;
		switch (rep->verdict) {
		case FL_VERDICT_PASSED:
		case FL_VERDICT_FAILED:
			x->state = EXP_COMPLETED;
			break;
		case FL_VERDICT_ABORTED:
			x->state = EXP_ABORTED;
			break;
		case FL_VERDICT_ERROR:
			x->state = EXP_FAILED;
			break;
		}
	}
	x->done = true;
	exp_persist(m, x);
	fl_log(LOG_INFO, "experiment %s (%s) %s: %s", x->id, x->s->name, state_names[x->state],
	       x->reason ? x->reason : "");
	prune_history(m);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	fl_run_free(run);
	return NULL;
}

/* The scenario's diagnostics as problem errors: 400 for a body that does
 * not parse (syntax), 422 for one that parses but is no valid scenario. */
static void diags_problem(const struct fl_diags *d, struct fl_problem *pb, bool syntax)
{
	bool schema = !syntax;

	pb->errors = cJSON_CreateArray();
	for (size_t k = 0; k < d->n; k++) {
		cJSON *e = cJSON_CreateObject();

		cJSON_AddStringToObject(e, "path", d->v[k].path);
		cJSON_AddNumberToObject(e, "line", d->v[k].line);
		cJSON_AddNumberToObject(e, "col", d->v[k].col);
		cJSON_AddStringToObject(e, "message", d->v[k].message);
		cJSON_AddItemToArray(pb->errors, e);
	}
	if (schema)
		fl_problem_set(pb, 422, "invalid-scenario", "the scenario is invalid",
			       "%zu problem(s); the first: %s", d->n, d->n ? d->v[0].message : "");
	else
		fl_problem_set(pb, 400, "bad-request", "the body cannot be parsed", "%s",
			       d->n ? d->v[0].message : "syntax error");
}

static void error_problem_titled(const struct fl_error *err, struct fl_problem *pb,
				 const char *title)
{
	cJSON *e = cJSON_CreateObject();

	pb->errors = cJSON_CreateArray();
	cJSON_AddStringToObject(e, "path", err->field);
	cJSON_AddNumberToObject(e, "line", err->line);
	cJSON_AddNumberToObject(e, "col", err->col);
	cJSON_AddStringToObject(e, "message", err->msg);
	cJSON_AddItemToArray(pb->errors, e);
	fl_problem_set(pb, 422, "invalid-scenario", title, "%s: %s", err->field, err->msg);
}

static void error_problem(const struct fl_error *err, struct fl_problem *pb)
{
	error_problem_titled(err, pb, "the scenario cannot run here");
}

/*
 * A `command` probe runs a shell command in the daemon, as root: refused
 * (422, at the probe) unless the daemon was started with
 * --allow-command-probes. 0 or -EPERM with pb set; s is left to the caller.
 */
static int check_command_probes(const struct fl_mgr *m, const struct fl_scenario *s,
				struct fl_problem *pb)
{
	struct fl_error err = {0};

	if (m->o.allow_command_probes)
		return 0;
	for (size_t i = 0; i < s->n_probes; i++) {
		if (s->probes[i].spec.kind != FL_PROBE_COMMAND)
			continue;
		snprintf(err.field, sizeof(err.field), "steady_state[%zu].command", i);
		snprintf(err.msg, sizeof(err.msg),
			 "this daemon runs no command probes: they would run as root (start "
			 "faultlined with --allow-command-probes, or use an http or tcp probe)");
		err.line = s->probes[i].pos.line;
		err.col = s->probes[i].pos.col;
		error_problem_titled(&err, pb, "the scenario is not allowed here");
		return -EPERM;
	}
	return 0;
}

/* Load, check and compile a posted scenario. */
static int load_posted(const char *text, size_t len, const char *type, struct fl_scenario **out,
		       struct fl_compiled_fault **cf_out, struct fl_problem *pb)
{
	struct fl_diags d = {0};
	struct fl_scenario *s = NULL;
	struct fl_compiled_fault *cf;
	struct fl_error err = {0};
	int r;

	/* the syntax first: what does not parse is a bad request (400); what
	 * parses but is no valid scenario is unprocessable (422) */
	{
		struct fl_snode *root = NULL;

		r = fl_snode_parse(text, len, !strcmp(type, "json"), &root, &d);
		fl_snode_free(root);
		if (r || d.n) {
			diags_problem(&d, pb, true);
			fl_diags_free(&d);
			return -EINVAL;
		}
	}
	r = fl_scenario_load_buf(!strcmp(type, "json") ? "request.json" : "request.yaml", text, len,
				 &s, &d);
	if (r) {
		diags_problem(&d, pb, false);
		fl_diags_free(&d);
		return -EINVAL;
	}
	fl_diags_free(&d);
	for (size_t i = 0; i < s->n_targets; i++)
		if (s->targets[i].command) {
			snprintf(err.field, sizeof(err.field), "targets.%s.command",
				 s->targets[i].name);
			snprintf(err.msg, sizeof(err.msg),
				 "the daemon runs no command: a command target works only with "
				 "'faultline run FILE -- CMD' (expected cgroup, pid, ports or "
				 "addresses)");
			err.line = s->targets[i].pos.line;
			err.col = s->targets[i].pos.col;
			error_problem(&err, pb);
			fl_scenario_free(s);
			return -EINVAL;
		}
	cf = calloc(s->n_faults ? s->n_faults : 1, sizeof(*cf));
	if (!cf) {
		fl_scenario_free(s);
		fl_problem_set(pb, 500, "internal", "out of memory", "allocating the steps");
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_faults; i++) {
		r = fl_scenario_compile_fault(s, i, 0, &cf[i], &err);
		if (r) {
			error_problem(&err, pb);
			free(cf);
			fl_scenario_free(s);
			return r;
		}
	}
	*out = s;
	*cf_out = cf;
	return 0;
}

/* A running experiment holding flows that a step of (s, cf) would touch
 * (under mu). */
static const struct exp *holder_of(struct fl_mgr *m, const struct fl_scenario *s,
				   const struct fl_compiled_fault *cf, size_t *step)
{
	for (size_t k = 0; k < m->n; k++) {
		const struct exp *x = m->v[k];

		if (x->done)
			continue;
		for (size_t i = 0; i < s->n_faults; i++)
			for (size_t j = 0; j < x->s->n_faults; j++)
				if (fl_compiled_overlap(&cf[i], &x->cf[j])) {
					*step = i;
					return x;
				}
	}
	return NULL;
}

static int exp_start(struct fl_mgr *m, const char *text, size_t len, const char *type,
		     const char *schedule_id, const char *created_by, char id[24],
		     struct fl_problem *pb)
{
	struct fl_scenario *s = NULL;
	struct fl_compiled_fault *cf = NULL;
	const struct exp *h;
	struct exp *x;
	size_t step = 0;
	unsigned live = 0;
	int r;

	r = load_posted(text, len, type, &s, &cf, pb);
	if (r)
		return r;
	r = check_command_probes(m, s, pb);
	if (r) {
		free(cf);
		fl_scenario_free(s);
		return r;
	}
	x = calloc(1, sizeof(*x));
	if (x) {
		x->steps = calloc(s->n_faults ? s->n_faults : 1, sizeof(*x->steps));
		x->probes = calloc(s->n_probes ? s->n_probes : 1, sizeof(*x->probes));
		x->text = strndup(text, len);
		x->type = strdup(type);
	}
	if (!x || !x->steps || !x->probes || !x->text || !x->type) {
		if (x) {
			x->s = s;
			x->cf = cf;
		}
		exp_free(x);
		fl_problem_set(pb, 500, "internal", "out of memory", "allocating the experiment");
		return -ENOMEM;
	}
	x->s = s;
	x->cf = cf;
	x->m = m;
	x->exit_code = -1;
	x->state = EXP_PENDING;
	x->created_ns = realtime_ns();
	fl_store_new_id("e", x->id, sizeof(x->id));
	if (schedule_id)
		snprintf(x->schedule_id, sizeof(x->schedule_id), "%s", schedule_id);
	snprintf(x->created_by, sizeof(x->created_by), "%s", created_by ? created_by : "");

	pthread_mutex_lock(&m->mu);
	if (m->closing) {
		pthread_mutex_unlock(&m->mu);
		exp_free(x);
		fl_problem_set(pb, 503, "injection-failed", "the daemon is stopping",
			       "no new experiment starts while faultlined shuts down");
		return -ESHUTDOWN;
	}
	for (size_t k = 0; k < m->n; k++)
		live += !m->v[k]->done;
	if (live >= FL_API_RUNNING_MAX) {
		pthread_mutex_unlock(&m->mu);
		exp_free(x);
		fl_problem_set(pb, 409, "conflict", "too many experiments",
			       "%u experiments are running, the most faultlined runs at once",
			       FL_API_RUNNING_MAX);
		return -EBUSY;
	}
	h = holder_of(m, s, cf, &step);
	if (h) {
		snprintf(pb->holder, sizeof(pb->holder), "%s", h->id);
		fl_problem_set(pb, 409, "conflict", "the flows are held by another experiment",
			       "faults[%zu] would act on flows that running experiment %s (%s) "
			       "already faults; stop it first or narrow the target",
			       step, h->id, h->s->name);
		pthread_mutex_unlock(&m->mu);
		exp_free(x);
		return -EBUSY;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		void *v = realloc(m->v, cap * sizeof(*m->v));

		if (!v) {
			pthread_mutex_unlock(&m->mu);
			exp_free(x);
			fl_problem_set(pb, 500, "internal", "out of memory", "growing the list");
			return -ENOMEM;
		}
		m->v = v;
		m->cap = cap;
	}
	exp_persist(m, x);
	r = pthread_create(&x->thread, NULL, exp_thread, x);
	if (r) {
		x->state = EXP_FAILED;
		x->done = true;
		x->reason = strdup("cannot start a thread");
		exp_persist(m, x);
		pthread_mutex_unlock(&m->mu);
		exp_free(x);
		fl_problem_set(pb, 503, "injection-failed", "cannot start the experiment",
			       "pthread_create: %s", strerror(r));
		return -r;
	}
	x->thread_started = true;
	m->v[m->n++] = x;
	snprintf(id, 24, "%s", x->id);
	pthread_mutex_unlock(&m->mu);
	fl_log(LOG_INFO, "experiment %s (%s) created%s%s by %s", x->id, s->name,
	       schedule_id ? " by schedule " : "", schedule_id ? schedule_id : "",
	       x->created_by[0] ? x->created_by : "an unknown client");
	return 0;
}

int fl_mgr_create(struct fl_mgr *m, const char *text, size_t len, const char *type,
		  const char *schedule_id, const char *created_by, char id[24],
		  struct fl_problem *pb)
{
	return exp_start(m, text, len, type, schedule_id, created_by, id, pb);
}

static struct exp *find(struct fl_mgr *m, const char *id)
{
	for (size_t k = 0; k < m->n; k++)
		if (!strcmp(m->v[k]->id, id))
			return m->v[k];
	return NULL;
}

cJSON *fl_mgr_get(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	struct fl_store_experiment e = {0};
	struct exp *x;
	cJSON *o = NULL;

	pthread_mutex_lock(&m->mu);
	x = find(m, id);
	if (x)
		o = exp_json(x);
	pthread_mutex_unlock(&m->mu);
	if (o)
		return o;
	if (fl_store_experiment_get(m->o.store, id, &e)) {
		fl_problem_set(pb, 404, "not-found", "no such experiment", "no experiment '%s'",
			       id);
		return NULL;
	}
	o = row_json(&e);
	fl_store_experiment_clear(&e);
	return o;
}

cJSON *fl_mgr_list(struct fl_mgr *m, const char *state, size_t limit, struct fl_problem *pb)
{
	struct fl_store_experiment *v = NULL;
	size_t n = 0;
	cJSON *o, *a;
	int r;

	r = fl_store_experiment_list(m->o.store, state, NULL, limit, &v, &n);
	if (r) {
		fl_problem_set(pb, 500, "internal", "cannot read the store", "%s", strerror(-r));
		return NULL;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "experiments");
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < n; i++) {
		struct exp *x = find(m, v[i].id);

		cJSON_AddItemToArray(a, x ? exp_json(x) : row_json(&v[i]));
	}
	pthread_mutex_unlock(&m->mu);
	fl_store_experiment_list_free(v, n);
	return o;
}

cJSON *fl_mgr_stop(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	struct fl_store_experiment e = {0};
	struct exp *x;
	cJSON *o;

	pthread_mutex_lock(&m->mu);
	x = find(m, id);
	if (!x) {
		pthread_mutex_unlock(&m->mu);
		if (fl_store_experiment_get(m->o.store, id, &e)) {
			fl_problem_set(pb, 404, "not-found", "no such experiment",
				       "no experiment '%s'", id);
			return NULL;
		}
		fl_problem_set(pb, 409, "conflict", "the experiment has ended",
			       "experiment %s is %s already", id, e.state ? e.state : "over");
		fl_store_experiment_clear(&e);
		return NULL;
	}
	if (x->done) {
		fl_problem_set(pb, 409, "conflict", "the experiment has ended",
			       "experiment %s is %s already", id, state_names[x->state]);
		pthread_mutex_unlock(&m->mu);
		return NULL;
	}
	x->stop = FL_RUN_STOP_REQUESTED;
	while (!x->done)
		pthread_cond_wait(&m->cv, &m->mu);
	o = exp_json(x);
	pthread_mutex_unlock(&m->mu);
	fl_log(LOG_INFO, "experiment %s stopped on request", id);
	return o;
}

char *fl_mgr_report(struct fl_mgr *m, const char *id, const char *format, struct fl_problem *pb)
{
	struct fl_store_experiment e = {0};
	int junit = !strcmp(format, "junit");
	struct exp *x;
	char *text = NULL;
	bool known = false;

	pthread_mutex_lock(&m->mu);
	x = find(m, id);
	if (x) {
		known = true;
		if (x->done) {
			const char *t = junit ? x->report_junit : x->report_json;

			text = t ? strdup(t) : NULL;
		}
	}
	pthread_mutex_unlock(&m->mu);
	if (!x && !fl_store_experiment_get(m->o.store, id, &e)) {
		const char *t = junit ? e.report_junit : e.report_json;

		known = true;
		text = t ? strdup(t) : NULL;
		fl_store_experiment_clear(&e);
	}
	if (!text) {
		if (known)
			fl_problem_set(pb, 404, "not-found", "no report yet",
				       "experiment %s has no report: it is still running, or it "
				       "ended before it began",
				       id);
		else
			fl_problem_set(pb, 404, "not-found", "no such experiment",
				       "no experiment '%s'", id);
	}
	return text;
}

unsigned fl_mgr_running(struct fl_mgr *m)
{
	unsigned live = 0;

	pthread_mutex_lock(&m->mu);
	for (size_t k = 0; k < m->n; k++)
		live += !m->v[k]->done;
	pthread_mutex_unlock(&m->mu);
	return live;
}

/* ------------------------------------------------------------------ */
/* Schedules                                                           */

static cJSON *sched_json(struct fl_mgr *m, const struct fl_store_schedule *r)
{
	struct fl_store_experiment *v = NULL;
	cJSON *o = cJSON_CreateObject(), *a;
	size_t n = 0;

	cJSON_AddStringToObject(o, "id", r->id);
	add_str(o, "name", r->name);
	add_str(o, "schedule", r->spec);
	add_time(o, "created", r->created_ns);
	add_time(o, "next_run", r->next_run_ns);
	add_time(o, "last_run", r->last_run_ns);
	cJSON_AddNumberToObject(o, "runs", r->runs);
	cJSON_AddNumberToObject(o, "skipped", r->skipped);
	add_str(o, "created_by", r->created_by && r->created_by[0] ? r->created_by : NULL);
	a = cJSON_AddArrayToObject(o, "experiments");
	if (!fl_store_experiment_list(m->o.store, NULL, r->id, 20, &v, &n)) {
		for (size_t i = 0; i < n; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(v[i].id));
		fl_store_experiment_list_free(v, n);
	}
	return o;
}

static int sched_add(struct fl_mgr *m, const struct fl_store_schedule *row)
{
	struct fl_error err = {0};
	struct sched *v, *sc;

	v = realloc(m->sch, (m->n_sch + 1) * sizeof(*m->sch));
	if (!v)
		return -ENOMEM;
	m->sch = v;
	sc = &m->sch[m->n_sch];
	memset(sc, 0, sizeof(*sc));
	if (fl_cron_parse(row->spec, &sc->cron, &err))
		return -EINVAL;
	sc->row = *row;
	sc->row.name = row->name ? strdup(row->name) : NULL;
	sc->row.spec = strdup(row->spec);
	sc->row.scenario = strdup(row->scenario);
	sc->row.scenario_type = strdup(row->scenario_type);
	sc->row.created_by = strdup(row->created_by ? row->created_by : "");
	m->n_sch++;
	return 0;
}

cJSON *fl_mgr_schedule_create(struct fl_mgr *m, const char *text, size_t len, const char *type,
			      const char *created_by, struct fl_problem *pb)
{
	struct fl_store_schedule row = {0};
	struct fl_scenario *s = NULL;
	struct fl_compiled_fault *cf = NULL;
	uint64_t now = realtime_ns();
	struct fl_cron cron;
	struct fl_error err = {0};
	cJSON *o;
	int r;

	if (load_posted(text, len, type, &s, &cf, pb))
		return NULL;
	free(cf);
	if (check_command_probes(m, s, pb)) {
		fl_scenario_free(s);
		return NULL;
	}
	if (!s->schedule) {
		snprintf(err.field, sizeof(err.field), "schedule");
		snprintf(err.msg, sizeof(err.msg),
			 "a schedule needs a schedule: key (expected 5 cron fields or "
			 "\"@every DURATION\")");
		err.line = err.col = 1; /* the mapping that lacks it */
		error_problem_titled(&err, pb, "the scenario is invalid");
		fl_scenario_free(s);
		return NULL;
	}
	if (fl_cron_parse(s->schedule, &cron, &err) || fl_cron_next(&cron, now, &row.next_run_ns)) {
		snprintf(err.field, sizeof(err.field), "schedule");
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "\"%s\" never fires", s->schedule);
		error_problem(&err, pb);
		fl_scenario_free(s);
		return NULL;
	}
	fl_store_new_id("s", row.id, sizeof(row.id));
	row.name = s->name;
	row.spec = s->schedule;
	row.scenario = strndup(text, len);
	row.scenario_type = (char *)type;
	row.created_ns = now;
	row.created_by = (char *)(created_by ? created_by : "");
	r = row.scenario ? fl_store_schedule_insert(m->o.store, &row) : -ENOMEM;
	pthread_mutex_lock(&m->mu);
	if (!r)
		r = sched_add(m, &row);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (r) {
		fl_problem_set(pb, 500, "internal", "cannot keep the schedule", "%s", strerror(-r));
		o = NULL;
	} else {
		o = sched_json(m, &row);
		fl_log(LOG_INFO, "schedule %s (%s) added by %s: %s", row.id, s->name,
		       row.created_by[0] ? row.created_by : "an unknown client", s->schedule);
	}
	free(row.scenario);
	fl_scenario_free(s);
	return o;
}

cJSON *fl_mgr_schedule_list(struct fl_mgr *m, struct fl_problem *pb)
{
	struct fl_store_schedule *v = NULL;
	size_t n = 0;
	cJSON *o, *a;
	int r = fl_store_schedule_list(m->o.store, &v, &n);

	if (r) {
		fl_problem_set(pb, 500, "internal", "cannot read the store", "%s", strerror(-r));
		return NULL;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "schedules");
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, sched_json(m, &v[i]));
	fl_store_schedule_list_free(v, n);
	return o;
}

cJSON *fl_mgr_schedule_get(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	struct fl_store_schedule row = {0};
	cJSON *o;

	if (fl_store_schedule_get(m->o.store, id, &row)) {
		fl_problem_set(pb, 404, "not-found", "no such schedule", "no schedule '%s'", id);
		return NULL;
	}
	o = sched_json(m, &row);
	fl_store_schedule_clear(&row);
	return o;
}

int fl_mgr_schedule_delete(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	int r;

	pthread_mutex_lock(&m->mu);
	r = fl_store_schedule_delete(m->o.store, id);
	for (size_t k = 0; !r && k < m->n_sch; k++)
		if (!strcmp(m->sch[k].row.id, id)) {
			fl_store_schedule_clear(&m->sch[k].row);
			m->sch[k] = m->sch[--m->n_sch];
			break;
		}
	pthread_mutex_unlock(&m->mu);
	if (r == -ENOENT) {
		fl_problem_set(pb, 404, "not-found", "no such schedule", "no schedule '%s'", id);
		return r;
	}
	if (r) {
		fl_problem_set(pb, 500, "internal", "cannot write the store", "%s", strerror(-r));
		return r;
	}
	fl_log(LOG_INFO, "schedule %s removed", id);
	return 0;
}

/* Fire what is due, forget what ended long ago; returns when to look
 * again (realtime ns). Called with mu held. */
static uint64_t scheduler_pass(struct fl_mgr *m)
{
	uint64_t now = realtime_ns(), next = now + NS_PER_S;

	for (size_t k = 0; k < m->n;) {
		struct exp *x = m->v[k];

		if (x->done && x->ended_ns + FL_API_KEEP_DONE_NS < now) {
			if (x->thread_started)
				pthread_join(x->thread, NULL);
			m->v[k] = m->v[--m->n];
			exp_free(x);
			continue;
		}
		k++;
	}
	for (size_t k = 0; k < m->n_sch; k++) {
		struct sched *sc = &m->sch[k];
		struct exp *prev;
		bool skipped = false;
		uint64_t nx = 0;

		if (sc->row.next_run_ns > now) {
			if (sc->row.next_run_ns < next)
				next = sc->row.next_run_ns;
			continue;
		}
		prev = sc->last_exp[0] ? find(m, sc->last_exp) : NULL;
		if (prev && !prev->done) {
			skipped = true;
		} else {
			struct fl_problem pb = {0};
			char id[24];
			char *text = strdup(sc->row.scenario),
			     *type = strdup(sc->row.scenario_type);
			char sid[24], by[64];

			snprintf(sid, sizeof(sid), "%s", sc->row.id);
			snprintf(by, sizeof(by), "%s",
				 sc->row.created_by ? sc->row.created_by : "");
			pthread_mutex_unlock(&m->mu);
			if (text && type &&
			    !exp_start(m, text, strlen(text), type, sid, by, id, &pb)) {
				pthread_mutex_lock(&m->mu);
			} else {
				fl_log(LOG_WARNING, "schedule %s: the experiment did not start: %s",
				       sid, pb.detail);
				pthread_mutex_lock(&m->mu);
				id[0] = '\0';
			}
			fl_problem_clear(&pb);
			free(text);
			free(type);
			/* the list may have changed while unlocked */
			for (k = 0; k < m->n_sch && strcmp(m->sch[k].row.id, sid); k++)
				;
			if (k == m->n_sch)
				return now + NS_PER_S / 10;
			sc = &m->sch[k];
			snprintf(sc->last_exp, sizeof(sc->last_exp), "%s", id);
		}
		if (fl_cron_next(&sc->cron, now, &nx))
			nx = now + 365ull * 24 * 3600 * NS_PER_S;
		fl_store_schedule_fired(m->o.store, sc->row.id, now, nx, skipped);
		sc->row.last_run_ns = now;
		sc->row.next_run_ns = nx;
		if (skipped)
			sc->row.skipped++;
		else
			sc->row.runs++;
		if (nx < next)
			next = nx;
	}
	return next;
}

static void *scheduler_thread(void *arg)
{
	struct fl_mgr *m = arg;

	pthread_mutex_lock(&m->mu);
	while (!m->closing) {
		uint64_t next = scheduler_pass(m);
		struct timespec ts = {.tv_sec = (time_t)(next / NS_PER_S),
				      .tv_nsec = (long)(next % NS_PER_S)};

		if (m->closing)
			break;
		/* m->cv uses CLOCK_REALTIME: schedules are wall-clock times */
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

/* ------------------------------------------------------------------ */

int fl_mgr_open(const struct fl_mgr_opts *o, struct fl_mgr **out)
{
	struct fl_store_schedule *v = NULL;
	struct fl_mgr *m = calloc(1, sizeof(*m));
	size_t n = 0;
	int r;

	if (!m)
		return -ENOMEM;
	m->o = *o;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	{
		struct fl_engine_opts eo = {.sz = sizeof(eo), .mode = o->mode};

		r = fl_pool_open(&eo, &m->pool);
		if (r) {
			free(m);
			return r;
		}
	}
	r = fl_store_abort_unfinished(m->o.store, "daemon restarted", realtime_ns());
	if (r > 0)
		fl_log(LOG_WARNING,
		       "%d experiment(s) were running when the daemon stopped: marked aborted "
		       "(their faults went with it)",
		       r);
	prune_history(m);
	r = fl_store_schedule_list(m->o.store, &v, &n);
	for (size_t i = 0; !r && i < n; i++) {
		uint64_t now = realtime_ns();

		/* a slot missed while the daemon was down is not made up */
		if (v[i].next_run_ns < now) {
			struct fl_cron c;
			struct fl_error err;

			if (fl_cron_parse(v[i].spec, &c, &err) ||
			    fl_cron_next(&c, now, &v[i].next_run_ns))
				v[i].next_run_ns = now + 365ull * 24 * 3600 * NS_PER_S;
		}
		if (sched_add(m, &v[i]))
			fl_log(LOG_WARNING, "schedule %s: cannot be read back; ignored", v[i].id);
	}
	fl_store_schedule_list_free(v, n);
	r = pthread_create(&m->scheduler, NULL, scheduler_thread, m);
	if (r) {
		fl_mgr_close(m);
		return -r;
	}
	m->scheduler_started = true;
	*out = m;
	return 0;
}

void fl_mgr_close(struct fl_mgr *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->closing = true;
	for (size_t k = 0; k < m->n; k++)
		if (!m->v[k]->done)
			m->v[k]->stop = FL_RUN_STOP_REQUESTED;
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	if (m->scheduler_started)
		pthread_join(m->scheduler, NULL);
	for (size_t k = 0; k < m->n; k++) {
		if (m->v[k]->thread_started)
			pthread_join(m->v[k]->thread, NULL);
		exp_free(m->v[k]);
	}
	for (size_t k = 0; k < m->n_sch; k++)
		fl_store_schedule_clear(&m->sch[k].row);
	fl_pool_close(m->pool);
	free(m->sch);
	free(m->v);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}

/* ------------------------------------------------------------------ */
/* Metrics                                                             */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
}

/* The per-step families: one sample per experiment, step (and action);
 * entries of one family follow each other, its HELP goes once. */
static const struct step_family {
	const char *name, *type, *help;
	size_t off;	    /* of a uint64_t in struct step_snap */
	double scale;	    /* 0: an integer; else printed as value / scale */
	const char *action; /* the action label, or NULL */
} step_families[] = {
#define C(field) offsetof(struct step_snap, c.field)
    {"faultline_fault_matched_packets_total", "counter", "Packets a fault step's rule matched.",
     C(matched), 0, NULL},
    {"faultline_fault_matched_bytes_total", "counter",
     "Bytes of the packets a fault step's rule matched.", C(bytes), 0, NULL},
#define ACTED(a)                                                                                   \
	{                                                                                          \
		"faultline_fault_acted_packets_total", "counter",                                  \
		    "Packets a fault step acted on, by action.", C(a), 0, #a                       \
	}
    ACTED(dropped),
    ACTED(rate_dropped),
    ACTED(corrupted),
    ACTED(duplicated),
    ACTED(delayed),
    ACTED(reordered),
    ACTED(rewritten),
    ACTED(reset),
#undef ACTED
    {"faultline_fault_refused_connects_total", "counter",
     "connect() calls a refuse step failed with its errno.", C(refused), 0, NULL},
#undef C
    {"faultline_delay_line_held", "gauge", "Frames the delay line holds for a step.",
     offsetof(struct step_snap, d.held), 0, NULL},
    {"faultline_delay_line_late_max_seconds", "gauge",
     "The latest a delayed frame of a step left after its due time.",
     offsetof(struct step_snap, d.late_max_ns), 1e9, NULL},
};

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

char *fl_mgr_metrics(struct fl_mgr *m)
{
	uint64_t counts[5] = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fl_store_experiment_counts(m->o.store, counts);
	family(f, "faultline_build_info", "gauge", "The faultline version this daemon runs.");
	fprintf(f, "faultline_build_info{version=\"%s\"} 1\n", FL_VERSION);
	family(f, "faultline_experiments", "gauge", "Experiments known to the store, by state.");
	for (int i = 0; i < 5; i++)
		fprintf(f, "faultline_experiments{state=\"%s\"} %llu\n", state_names[i],
			(unsigned long long)counts[i]);

	pthread_mutex_lock(&m->mu);
	family(f, "faultline_store_pruned_total", "counter",
	       "Ended experiments deleted from the store to keep --keep-history of them.");
	fprintf(f, "faultline_store_pruned_total %llu\n", (unsigned long long)m->pruned);
	family(f, "faultline_schedules", "gauge", "Schedules that fire.");
	fprintf(f, "faultline_schedules %zu\n", m->n_sch);
	for (size_t fi = 0; fi < sizeof(step_families) / sizeof(step_families[0]); fi++) {
		const struct step_family *fam = &step_families[fi];

		if (!fi || strcmp(fam->name, step_families[fi - 1].name))
			family(f, fam->name, fam->type, fam->help);
		for (size_t k = 0; k < m->n; k++)
			for (size_t i = 0; i < m->v[k]->s->n_faults; i++) {
				uint64_t v = *(const uint64_t *)((const char *)&m->v[k]->steps[i] +
								 fam->off);

				fprintf(f, "%s{experiment=\"%s\",name=\"", fam->name, m->v[k]->id);
				esc(f, m->v[k]->s->name);
				fprintf(f, "\",step=\"%zu\"", i);
				if (fam->action)
					fprintf(f, ",action=\"%s\"", fam->action);
				if (fam->scale)
					fprintf(f, "} %.9f\n", (double)v / fam->scale);
				else
					fprintf(f, "} %llu\n", (unsigned long long)v);
			}
	}
	family(f, "faultline_probe_runs_total", "counter", "Steady-state probe runs, by result.");
	for (size_t k = 0; k < m->n; k++)
		for (size_t i = 0; i < m->v[k]->s->n_probes; i++)
			for (int ok = 1; ok >= 0; ok--) {
				fprintf(f, "faultline_probe_runs_total{experiment=\"%s\",probe=\"",
					m->v[k]->id);
				esc(f, m->v[k]->s->probes[i].name);
				fprintf(f, "\",result=\"%s\"} %llu\n", ok ? "ok" : "failed",
					(unsigned long long)(ok ? m->v[k]->probes[i].ok
								: m->v[k]->probes[i].failed));
			}
	family(f, "faultline_probe_last_duration_seconds", "gauge",
	       "How long the last run of a probe took.");
	for (size_t k = 0; k < m->n; k++)
		for (size_t i = 0; i < m->v[k]->s->n_probes; i++) {
			fprintf(f,
				"faultline_probe_last_duration_seconds{experiment=\"%s\",probe=\"",
				m->v[k]->id);
			esc(f, m->v[k]->s->probes[i].name);
			fprintf(f, "\"} %.6f\n", (double)m->v[k]->probes[i].last_duration_ns / 1e9);
		}
	pthread_mutex_unlock(&m->mu);
	fclose(f);
	return buf;
}
