/*
 * injector/runner.c - one experiment from start to report (faultline/runner.h
 * has the order of things and the exit codes).
 *
 * Threads: the caller's thread runs the timeline (step starts and ends, lease
 * renewal, the command's exit, the end of the experiment) in a ppoll loop
 * that wakes at least every TICK_NS; each steady-state probe has a thread
 * that runs it every `every` and records the result under mu, waking the
 * timeline through an eventfd. Only the timeline thread calls on_event and
 * touches the engines.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP are blocked while the runner runs and
 * only let through inside ppoll, so a Ctrl-C always wakes the timeline at
 * once (the probe threads and the delay lines inherit the blocked mask; the
 * command gets a clean one).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/pool.h"
#include "faultline/probe.h"
#include "faultline/runner.h"
#include "faultline/units.h"

#define NS_PER_S      1000000000ull
#define NS_PER_MS     1000000ull
#define TICK_NS	      (100 * NS_PER_MS)
#define EVENT_TICK_NS (250 * NS_PER_MS)
/* Probe results kept per probe for the report (the totals count them all);
 * failures are always kept. */
#define RUNS_KEPT	  2000
#define STEP_COUNTERS_MAX 24

enum step_state { STEP_PENDING, STEP_LIVE, STEP_DONE };

struct run_step {
	struct fl_compiled_fault cf;
	struct fl_pool_step *ps; /* its place in the classifiers (faultline/pool.h) */
	enum step_state state;
	uint64_t start_at, end_at; /* CLOCK_MONOTONIC */
	char words[512];	   /* "delay 100ms limit 1000" */
	char text[640];		   /* "delay 100ms limit 1000 on redis" */
	char *error, *end_cause;
	struct fl_report_counter counters[STEP_COUNTERS_MAX];
	size_t n_counters;
	struct fl_counters raw; /* as the step ended */
	struct fl_delay_stats draw;
};

struct run_probe {
	struct fl_run *run;
	const struct fl_scenario_probe *sp;
	size_t index;
	char *target;
	struct fl_report_probe_run *runs;
	size_t n_runs, cap_runs, n_reported;
	unsigned total_runs, total_failures;
	unsigned during_failures;
	struct fl_probe_clock clock;
	pthread_t thread;
	bool thread_started;
};

struct fl_run {
	const struct fl_scenario *s;
	struct fl_run_opts o;
	struct run_step *steps;
	struct run_probe *probes;
	struct fl_report rep;
	struct fl_report_step *rep_steps;
	struct fl_report_probe *rep_probes;
	struct fl_report_command cmd;
	char *reason, *cmd_error, *rollback_detail;
	int exit_code;

	uint64_t t0; /* start of the timeline, CLOCK_MONOTONIC; 0 before */

	/* shared with the probe threads */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool probes_stop;
	size_t abort_probe; /* 1 + index of the probe that exceeded max_failures */
	int wake_fd;

	/* the command */
	char cgroup_dir[PATH_MAX];
	uint64_t cgroup_id;
	pid_t pid;
	int pidfd;
	bool cmd_running;

	enum fl_run_end end;
	int end_signal;
	struct fl_pool *own_pool; /* when opts gave none: this run's classifiers */
	const char *attach_mode;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void set_reason(struct fl_run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(struct fl_run *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	free(r->reason);
	r->reason = s;
}

static void emit(struct fl_run *r, struct fl_run_event *ev)
{
	if (!r->o.on_event)
		return;
	ev->t_ns = r->t0 ? fl_now_ns() - r->t0 : 0;
	ev->run = r;
	r->o.on_event(r->o.ctx, ev);
}

/* ------------------------------------------------------------------ */
/* Probes                                                              */

static char *probe_target(const struct fl_probe_spec *p)
{
	char buf[1024];
	size_t o = 0;

	switch (p->kind) {
	case FL_PROBE_HTTP:
		return xasprintf("%s %s", p->method ? p->method : "GET", p->url ? p->url : "");
	case FL_PROBE_TCP:
		return xasprintf(strchr(p->host ? p->host : "", ':') ? "[%s]:%u" : "%s:%u",
				 p->host ? p->host : "", p->port);
	case FL_PROBE_COMMAND:
		if (p->sh)
			return strdup(p->sh);
		buf[0] = '\0';
		for (char *const *a = p->argv; a && *a; a++)
			fl_append(buf, sizeof(buf), &o, "%s%s", o ? " " : "", *a);
		return strdup(buf);
	}
	return NULL;
}

/* Keep one result (under mu when threads run). Failures are always kept;
 * successes only while fewer than RUNS_KEPT are kept. */
static void record(struct run_probe *p, enum fl_phase phase, const struct fl_probe_result *res)
{
	struct fl_report_probe_run *x;

	p->total_runs++;
	if (!res->ok)
		p->total_failures++;
	if (res->ok && p->n_runs >= RUNS_KEPT)
		return;
	if (p->n_runs == p->cap_runs) {
		size_t cap = p->cap_runs ? p->cap_runs * 2 : 16;
		void *v = realloc(p->runs, cap * sizeof(*p->runs));

		if (!v)
			return;
		p->runs = v;
		p->cap_runs = cap;
	}
	x = &p->runs[p->n_runs++];
	x->phase = phase;
	x->started_ns = res->started_ns;
	x->duration_ns = res->duration_ns;
	x->ok = res->ok;
	x->detail = strdup(res->detail);
}

/* Report the results recorded since the last call (timeline thread). */
static void report_probe_events(struct fl_run *r)
{
	for (size_t i = 0; i < r->s->n_probes; i++) {
		struct run_probe *p = &r->probes[i];

		for (;;) {
			struct fl_run_event ev = {.kind = FL_RUN_EV_PROBE};
			struct fl_report_probe_run run;

			pthread_mutex_lock(&r->mu);
			if (p->n_reported >= p->n_runs) {
				pthread_mutex_unlock(&r->mu);
				break;
			}
			run = p->runs[p->n_reported++];
			ev.failures = run.phase == FL_PHASE_DURING ? p->during_failures : !run.ok;
			pthread_mutex_unlock(&r->mu);
			ev.phase = run.phase;
			ev.index = i;
			ev.name = p->sp->name;
			ev.ok = run.ok;
			ev.text = run.detail;
			ev.duration_ns = run.duration_ns;
			ev.max_failures = p->sp->max_failures;
			emit(r, &ev);
		}
	}
}

static void wake(struct fl_run *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow in practice; the timeline also
		 * wakes every TICK_NS */
	}
}

static void *probe_thread(void *arg)
{
	struct run_probe *p = arg;
	struct fl_run *r = p->run;

	pthread_mutex_lock(&r->mu);
	while (!r->probes_stop) {
		uint64_t now = fl_now_ns(), until;
		struct timespec ts;

		if (fl_probe_due(&p->clock, p->sp->every_ns, now)) {
			struct fl_probe_result res;

			pthread_mutex_unlock(&r->mu);
			fl_probe_run(&p->sp->spec, &res);
			pthread_mutex_lock(&r->mu);
			/* a verdict reached while the rollback began says nothing
			 * about the faults: dropped */
			if (r->probes_stop)
				break;
			record(p, FL_PHASE_DURING, &res);
			if (!res.ok && ++p->during_failures > p->sp->max_failures &&
			    !r->abort_probe)
				r->abort_probe = p->index + 1;
			wake(r);
			continue;
		}
		until = now + fl_probe_wait_ns(&p->clock, now);
		ts.tv_sec = (time_t)(until / NS_PER_S);
		ts.tv_nsec = (long)(until % NS_PER_S);
		pthread_cond_timedwait(&r->cond, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Every probe once, in phase (before or after); returns the index + 1 of
 * the first that failed, 0 when all held. */
static size_t probe_all_once(struct fl_run *r, enum fl_phase phase)
{
	size_t failed = 0;

	for (size_t i = 0; i < r->s->n_probes; i++) {
		struct run_probe *p = &r->probes[i];
		struct fl_probe_result res;

		fl_probe_run(&p->sp->spec, &res);
		pthread_mutex_lock(&r->mu);
		record(p, phase, &res);
		pthread_mutex_unlock(&r->mu);
		if (!res.ok && !failed)
			failed = i + 1;
		report_probe_events(r);
	}
	return failed;
}

/* The detail of the last failure of probe p. */
static const char *last_failure(const struct run_probe *p)
{
	for (size_t k = p->n_runs; k-- > 0;)
		if (!p->runs[k].ok)
			return p->runs[k].detail ? p->runs[k].detail : "";
	return "";
}

/* ------------------------------------------------------------------ */
/* The command and its cgroup                                          */

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* "populated 0" in cgroup.events: no process left in it. */
static bool cgroup_empty(const char *dir)
{
	char path[PATH_MAX], line[128];
	bool empty = true;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.events", dir);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "populated ", 10))
			empty = line[10] == '0';
	fclose(f);
	return empty;
}

/* Kill every process in the cgroup (cgroup.kill, Linux 5.14; else SIGKILL
 * to each pid in cgroup.procs until it is empty), wait up to 2 s for it to
 * empty and remove it. */
static int cgroup_destroy(const char *dir)
{
	char parent[PATH_MAX], *slash;

	for (int k = 0; k < 200 && !cgroup_empty(dir); k++) {
		if (write_file(dir, "cgroup.kill", "1") < 0) {
			char path[PATH_MAX];
			FILE *f;
			int pid;

			snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
			f = fopen(path, "re");
			while (f && fscanf(f, "%d", &pid) == 1)
				kill(pid, SIGKILL);
			if (f)
				fclose(f);
		}
		usleep(10000);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return -errno;
	/* the parent too when this was its last run (it is busy otherwise) */
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash) {
		*slash = '\0';
		slash = strrchr(parent, '/');
		if (slash && !strcmp(slash + 1, FL_RUN_CGROUP_PARENT))
			rmdir(parent);
	}
	return 0;
}

/* Signal every process of the cgroup. */
static void cgroup_signal(const char *dir, int sig)
{
	char path[PATH_MAX];
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fscanf(f, "%d", &pid) == 1)
		kill(pid, sig);
	fclose(f);
}

static int cgroup_create(struct fl_run *r)
{
	static unsigned seq;
	char mnt[PATH_MAX], parent[PATH_MAX + 32];
	struct stat st;
	int n;

	n = fl_cgroup2_mount(mnt, sizeof(mnt));
	if (n)
		return n;
	snprintf(parent, sizeof(parent), "%s/" FL_RUN_CGROUP_PARENT, mnt);
	n = snprintf(r->cgroup_dir, sizeof(r->cgroup_dir), "%s/run-%d-%u", parent, (int)getpid(),
		     __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
	if (n < 0 || (size_t)n >= sizeof(r->cgroup_dir))
		return -ENAMETOOLONG;
	/* another runner may remove the parent between the two mkdirs */
	for (int tries = 0; tries < 3; tries++) {
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			break;
		if (!mkdir(r->cgroup_dir, 0755) || errno != ENOENT)
			break;
	}
	if (access(r->cgroup_dir, F_OK) < 0) {
		int e = -errno;

		r->cgroup_dir[0] = '\0';
		return e;
	}
	if (stat(r->cgroup_dir, &st) < 0) {
		int e = -errno;

		rmdir(r->cgroup_dir);
		r->cgroup_dir[0] = '\0';
		return e;
	}
	r->cgroup_id = (uint64_t)st.st_ino;
	return 0;
}

int fl_run_cgroup_sweep(void)
{
	char mnt[PATH_MAX], parent[PATH_MAX + 32], dir[PATH_MAX * 2];
	struct dirent *d;
	int n = 0, pid;
	unsigned seq;
	DIR *dp;

	if (fl_cgroup2_mount(mnt, sizeof(mnt)))
		return 0;
	snprintf(parent, sizeof(parent), "%s/" FL_RUN_CGROUP_PARENT, mnt);
	dp = opendir(parent);
	if (!dp)
		return 0;
	while ((d = readdir(dp))) {
		if (sscanf(d->d_name, "run-%d-%u", &pid, &seq) != 2 || pid <= 0)
			continue;
		if (kill(pid, 0) == 0 || errno == EPERM)
			continue; /* its runner lives */
		snprintf(dir, sizeof(dir), "%s/%s", parent, d->d_name);
		if (!cgroup_destroy(dir))
			n++;
	}
	closedir(dp);
	return n;
}

/* argv[0] as execvp would find it: 0, or -errno. */
static int executable(const char *cmd)
{
	const char *path;
	char buf[PATH_MAX];

	if (strchr(cmd, '/'))
		return access(cmd, X_OK) ? -errno : 0;
	path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)(len ? len : 1), len ? path : ".", cmd);
		if (!access(buf, X_OK)) {
			struct stat st;

			if (!stat(buf, &st) && S_ISREG(st.st_mode))
				return 0;
		}
		path += len + (path[len] == ':');
	}
	return -ENOENT;
}

/* Fork the command into its cgroup; exec failures come back by a pipe. */
static int cmd_start(struct fl_run *r, const sigset_t *orig_mask)
{
	int pfd[2], procs = -1, e = 0;
	char path[PATH_MAX + 16];
	ssize_t n;
	pid_t pid;

	if (r->cgroup_dir[0]) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", r->cgroup_dir);
		procs = open(path, O_WRONLY | O_CLOEXEC);
		if (procs < 0)
			return -errno;
	}
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		e = -errno;
		if (procs >= 0)
			close(procs);
		return e;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		close(pfd[0]);
		close(pfd[1]);
		if (procs >= 0)
			close(procs);
		return e;
	}
	if (pid == 0) {
		struct sigaction dfl = {.sa_handler = SIG_DFL};

		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		sigprocmask(SIG_SETMASK, orig_mask, NULL);
		if (procs >= 0 && write(procs, "0", 1) < 0)
			e = errno;
		if (!e && r->o.user) {
			const struct fl_run_user *u = r->o.user;

			/* groups first: after setresuid there is no right left to
			 * change them */
			if (setgroups(u->n_groups, u->groups) ||
			    setresgid(u->gid, u->gid, u->gid) || setresuid(u->uid, u->uid, u->uid))
				e = errno;
		}
		if (!e) {
			if (r->o.user && r->o.user->envp)
				execvpe(r->o.argv[0], r->o.argv, r->o.user->envp);
			else
				execvp(r->o.argv[0], r->o.argv);
			e = errno;
		}
		if (write(pfd[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(pfd[1]);
	if (procs >= 0)
		close(procs);
	do
		n = read(pfd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(e)) {
		waitpid(pid, NULL, 0);
		return -e;
	}
	r->pid = pid;
	r->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r->cmd_running = true;
	return 0;
}

static int status_code(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* Reap the command if it has exited (block: wait for it). */
static bool cmd_reap(struct fl_run *r, bool block)
{
	int st;
	pid_t w;

	if (!r->cmd_running)
		return true;
	do
		w = waitpid(r->pid, &st, block ? 0 : WNOHANG);
	while (w < 0 && errno == EINTR);
	if (w == 0)
		return false;
	r->cmd_running = false;
	r->cmd.ended_ns = realtime_ns();
	r->cmd.exit_code = w > 0 ? status_code(st) : 255;
	if (r->pidfd >= 0) {
		close(r->pidfd);
		r->pidfd = -1;
	}
	return true;
}

/* SIGTERM to the command's whole tree, SIGKILL after the grace time. */
static void cmd_stop(struct fl_run *r)
{
	uint64_t until;

	if (!r->cmd_running)
		return;
	if (r->cgroup_dir[0])
		cgroup_signal(r->cgroup_dir, SIGTERM);
	kill(r->pid, SIGTERM);
	until = fl_now_ns() + r->o.grace_ns;
	while (!cmd_reap(r, false)) {
		uint64_t now = fl_now_ns();
		struct pollfd pfd = {.fd = r->pidfd, .events = POLLIN};

		if (now >= until) {
			if (r->cgroup_dir[0])
				cgroup_signal(r->cgroup_dir, SIGKILL);
			kill(r->pid, SIGKILL);
			cmd_reap(r, true);
			break;
		}
		if (r->pidfd >= 0)
			poll(&pfd, 1, (int)((until - now) / NS_PER_MS) + 1);
		else
			usleep(10000);
	}
}

/* ------------------------------------------------------------------ */
/* Steps                                                               */

static void step_counters(struct run_step *st)
{
	struct fl_counters c = {0};
	struct fl_delay_stats d = {0};
	size_t n = 0;

	if (!st->ps)
		return;
	fl_pool_stats(st->ps, &c, &d);
	st->raw = c;
	st->draw = d;
#define PUT(nm, v) st->counters[n++] = (struct fl_report_counter){nm, (uint64_t)(v)}
	PUT("matched", c.matched);
	PUT("bytes", c.bytes);
	PUT("dropped", c.dropped);
	PUT("rate_dropped", c.rate_dropped);
	PUT("corrupted", c.corrupted);
	PUT("duplicated", c.duplicated);
	PUT("delayed", c.delayed);
	PUT("delay_overflow", c.delay_overflow);
	PUT("reordered", c.reordered);
	PUT("expired", c.expired);
	if (st->cf.spec.dns.rcode || (st->cf.spec.http.on && st->cf.spec.http.status))
		PUT("rewritten", c.rewritten);
	if (st->cf.spec.reset.on)
		PUT("reset", c.reset);
	if (st->cf.spec.refuse.err)
		PUT("refused", c.refused);
	if (st->cf.spec.delay.ns || st->cf.spec.delay.jitter_ns) {
		PUT("delay_released", d.released);
		PUT("delay_limit_dropped", d.limit_dropped);
		PUT("delay_send_errors", d.send_errors);
		PUT("delay_held_max", d.held_max);
		PUT("delay_late_max_ns", d.late_max_ns);
		PUT("delay_backup_released", d.backup_released);
	}
#undef PUT
	st->n_counters = n;
}

/* End a live step: counters first, then the rule goes. */
static void step_end(struct fl_run *r, size_t i, const char *cause, bool cut_short)
{
	struct run_step *st = &r->steps[i];
	struct fl_run_event ev = {.kind = FL_RUN_EV_STEP_END, .index = i};

	if (st->state != STEP_LIVE)
		return;
	step_counters(st);
	fl_pool_remove_rule(st->ps);
	st->state = STEP_DONE;
	r->rep_steps[i].ended_ns = realtime_ns();
	r->rep_steps[i].cut_short = cut_short;
	free(st->end_cause);
	st->end_cause = strdup(cause);
	r->rep_steps[i].end_cause = st->end_cause;
	ev.name = r->s->targets[r->s->faults[i].target].name;
	ev.text = cause;
	emit(r, &ev);
}

static int step_start(struct fl_run *r, size_t i, uint64_t now)
{
	struct run_step *st = &r->steps[i];
	struct fl_run_event ev = {.kind = FL_RUN_EV_STEP_START, .index = i};
	int err;

	st->cf.spec.end_ns = st->end_at;
	err = fl_pool_add_rule(st->ps, &st->cf.spec, now, r->o.lease_ns);
	if (err) {
		struct fl_run_event eev = {.kind = FL_RUN_EV_STEP_ERROR, .index = i};

		st->error = xasprintf("cannot install the rule: %s", strerror(-err));
		r->rep_steps[i].error = st->error;
		eev.name = r->s->targets[r->s->faults[i].target].name;
		eev.text = st->error;
		emit(r, &eev);
		return err;
	}
	st->state = STEP_LIVE;
	r->rep_steps[i].applied = true;
	r->rep_steps[i].started_ns = realtime_ns();
	ev.name = r->s->targets[r->s->faults[i].target].name;
	ev.text = st->text;
	emit(r, &ev);
	return 0;
}

/* Load and attach one classifier per step, no rule yet. */
static int steps_prepare(struct fl_run *r, char *why, size_t len)
{
	for (size_t i = 0; i < r->s->n_faults; i++) {
		struct run_step *st = &r->steps[i];
		char pwhy[512];
		int err;

		err = fl_pool_place(r->o.pool, r, &st->cf, r->s->faults[i].at_ns,
				    fl_scenario_fault_end_ns(r->s, i), &st->ps, pwhy, sizeof(pwhy));
		if (err) {
			st->ps = NULL;
			st->error = strdup(pwhy);
			r->rep_steps[i].error = st->error;
			snprintf(why, len, "step %zu (%s): %s", i + 1, st->text, pwhy);
			return err;
		}
		r->attach_mode = fl_pool_attach_mode(st->ps);
	}
	return 0;
}

/* Roll back every step: rules, attachments, delay lines. */
static void steps_close(struct fl_run *r, const char *cause, bool cut_short)
{
	for (size_t i = 0; i < r->s->n_faults; i++) {
		struct run_step *st = &r->steps[i];

		if (st->state == STEP_LIVE)
			step_end(r, i, cause, cut_short);
		if (st->ps) {
			fl_pool_release(st->ps);
			st->ps = NULL;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Overlap of two steps' flows                                          */

static bool ports_meet(const struct fl_port_set *a, const struct fl_port_set *b)
{
	if (!a->n || !b->n)
		return true;
	for (unsigned i = 0; i < a->n; i++)
		for (unsigned k = 0; k < b->n; k++)
			if (a->r[i].lo <= b->r[k].hi && b->r[k].lo <= a->r[i].hi)
				return true;
	return false;
}

static bool prefix_meets(const struct fl_cidr *a, const struct fl_cidr *b)
{
	unsigned len = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;

	if (a->family != b->family)
		return false;
	for (unsigned bit = 0; bit < len; bit++) {
		unsigned byte = bit / 8, mask = 0x80u >> (bit % 8);

		if ((a->addr[byte] & mask) != (b->addr[byte] & mask))
			return false;
	}
	return true;
}

bool fl_compiled_overlap(const struct fl_compiled_fault *a, const struct fl_compiled_fault *b)
{
	const struct fl_rule_spec *x = &a->spec, *y = &b->spec;
	bool dev = false, cidr;

	/* refuse acts on connect(), the others on packets: they never meet */
	if (!x->refuse.err != !y->refuse.err)
		return false;
	dev = x->refuse.err != 0; /* connect() hooks see every interface */
	if (!dev && !(x->dir_mask & y->dir_mask))
		return false;
	for (int i = 0; i < a->n_ifs && !dev; i++)
		for (int k = 0; k < b->n_ifs && !dev; k++)
			dev = a->ifindexes[i] == b->ifindexes[k];
	if (!dev)
		return false;
	if (x->protocol != FL_PROTOCOL_ANY && y->protocol != FL_PROTOCOL_ANY &&
	    x->protocol != y->protocol)
		return false;
	if (!ports_meet(&x->ports, &y->ports) || !ports_meet(&x->local_ports, &y->local_ports) ||
	    !ports_meet(&x->remote_ports, &y->remote_ports))
		return false;
	if (x->cgroup_id && y->cgroup_id && x->cgroup_id != y->cgroup_id)
		return false;
	cidr = !x->n_cidrs || !y->n_cidrs;
	for (unsigned i = 0; i < x->n_cidrs && !cidr; i++)
		for (unsigned k = 0; k < y->n_cidrs && !cidr; k++)
			cidr = prefix_meets(&x->cidrs[i], &y->cidrs[k]);
	return cidr;
}

/* ------------------------------------------------------------------ */
/* Checks before anything runs                                         */

int fl_run_check(const struct fl_scenario *s, const struct fl_run_opts *opts, struct fl_error *err)
{
	bool has_argv = opts && opts->argv && opts->argv[0];
	struct fl_compiled_fault *cf;
	int e;

	for (size_t i = 0; i < s->n_targets; i++) {
		const struct fl_scenario_target *t = &s->targets[i];

		if (t->command && !has_argv) {
			char field[96];

			snprintf(field, sizeof(field), "targets.%s.command", t->name);
			fl_error_set(err, field,
				     "a command target needs a command to run (expected "
				     "'faultline run FILE -- CMD [ARGS...]')");
			err->line = t->pos.line;
			err->col = t->pos.col;
			return -EINVAL;
		}
	}
	if (has_argv) {
		e = executable(opts->argv[0]);
		if (e)
			return fl_error_set(err, "CMD",
					    "'%s': %s (expected a program in PATH or a path)",
					    opts->argv[0], strerror(-e));
	}
	if (opts && opts->compiled)
		return 0;
	cf = malloc(sizeof(*cf));
	if (!cf)
		return -ENOMEM;
	for (size_t i = 0; i < s->n_faults; i++) {
		/* a placeholder id: the command's cgroup is made later */
		e = fl_scenario_compile_fault(s, i, 1, cf, err);
		if (e)
			break;
	}
	free(cf);
	return e;
}

/* ------------------------------------------------------------------ */
/* The experiment                                                      */

static int run_alloc(const struct fl_scenario *s, const struct fl_run_opts *opts,
		     struct fl_run **out)
{
	struct fl_run *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->s = s;
	if (opts)
		memcpy(&r->o, opts, opts->sz < sizeof(r->o) ? opts->sz : sizeof(r->o));
	r->o.sz = sizeof(r->o);
	if (!r->o.lease_ns)
		r->o.lease_ns = FL_RUN_LEASE_DEFAULT_NS;
	if (!r->o.grace_ns)
		r->o.grace_ns = FL_RUN_GRACE_DEFAULT_NS;
	if (r->o.argv && !r->o.argv[0])
		r->o.argv = NULL;
	r->pidfd = -1;
	r->wake_fd = -1;
	pthread_mutex_init(&r->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&r->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	r->steps = calloc(s->n_faults ? s->n_faults : 1, sizeof(*r->steps));
	r->rep_steps = calloc(s->n_faults ? s->n_faults : 1, sizeof(*r->rep_steps));
	r->probes = calloc(s->n_probes ? s->n_probes : 1, sizeof(*r->probes));
	r->rep_probes = calloc(s->n_probes ? s->n_probes : 1, sizeof(*r->rep_probes));
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!r->steps || !r->rep_steps || !r->probes || !r->rep_probes || r->wake_fd < 0) {
		fl_run_free(r);
		return -ENOMEM;
	}
	for (size_t i = 0; i < s->n_probes; i++) {
		r->probes[i].run = r;
		r->probes[i].sp = &s->probes[i];
		r->probes[i].index = i;
		r->probes[i].target = probe_target(&s->probes[i].spec);
	}
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct fl_scenario_fault *f = &s->faults[i];
		struct fl_report_step *rs = &r->rep_steps[i];
		struct run_step *st = &r->steps[i];

		fl_scenario_describe_actions(f->actions, &f->act, st->words, sizeof(st->words));
		snprintf(st->text, sizeof(st->text), "%s on %s", st->words,
			 s->targets[f->target].name);
		rs->index = (unsigned)i;
		rs->target = s->targets[f->target].name;
		rs->fault = st->words;
		rs->planned_at_ns = f->at_ns;
		rs->planned_for_ns = f->for_ns;
		rs->counters = st->counters;
	}
	r->rep.scenario = s->name;
	r->rep.file = s->file;
	r->rep.steps = r->rep_steps;
	r->rep.n_steps = s->n_faults;
	r->rep.probes = r->rep_probes;
	r->rep.n_probes = s->n_probes;
	if (r->o.argv) {
		r->cmd.argv = r->o.argv;
		r->rep.command = &r->cmd;
	}
	*out = r;
	return 0;
}

/* Fill the report's probe records from the runs kept. */
static void finish_report(struct fl_run *r, enum fl_verdict v)
{
	for (size_t i = 0; i < r->s->n_probes; i++) {
		struct run_probe *p = &r->probes[i];
		struct fl_report_probe *rp = &r->rep_probes[i];

		rp->name = p->sp->name;
		rp->kind = fl_probe_kind_name(p->sp->spec.kind);
		rp->target = p->target;
		rp->max_failures = p->sp->max_failures;
		rp->total_runs = p->total_runs;
		rp->total_failures = p->total_failures;
		rp->runs = p->runs;
		rp->n_runs = p->n_runs;
	}
	for (size_t i = 0; i < r->s->n_faults; i++)
		r->rep_steps[i].n_counters = r->steps[i].n_counters;
	r->rep.verdict = v;
	r->rep.reason = r->reason;
	r->rep.exit_code = r->exit_code;
	r->rep.ended_ns = realtime_ns();
}

/* The run ends before anything was applied. */
static void end_untouched(struct fl_run *r, enum fl_verdict v, int exit_code)
{
	r->exit_code = exit_code;
	r->rollback_detail = strdup("nothing was applied");
	r->rep.rollback.ok = true;
	r->rep.rollback.detail = r->rollback_detail;
	finish_report(r, v);
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

int fl_run(const struct fl_scenario *s, const struct fl_run_opts *opts, struct fl_run **out,
	   struct fl_error *err)
{
	sigset_t block, orig;
	struct fl_run *r;
	enum fl_run_end end = FL_RUN_END_NONE;
	enum fl_verdict verdict = FL_VERDICT_PASSED;
	uint64_t cap_end, next_tick = 0, rb_start;
	size_t failed;
	char why[2048] = "";
	int e, sig = 0;

	*out = NULL;
	e = fl_run_check(s, opts, err);
	if (e)
		return e;
	e = run_alloc(s, opts, &r);
	if (e)
		return e;
	r->rep.started_ns = realtime_ns();

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &orig);

	fl_run_cgroup_sweep();

	/* 1. compile every step for this host (the command's cgroup comes
	 * later; its id is filled in then) */
	for (size_t i = 0; i < s->n_faults; i++) {
		if (r->o.compiled) {
			r->steps[i].cf = r->o.compiled[i];
			continue;
		}
		e = fl_scenario_compile_fault(s, i, 1, &r->steps[i].cf, err);
		if (e) {
			pthread_sigmask(SIG_SETMASK, &orig, NULL);
			fl_run_free(r);
			return e;
		}
	}

	/* 2. the hypothesis, before anything is touched; a stop meanwhile
	 * also ends the run with nothing applied */
	failed = probe_all_once(r, FL_PHASE_BEFORE);
	sig = r->o.stop ? *r->o.stop : 0;
	if (failed || sig) {
		if (failed) {
			set_reason(r,
				   "the steady state did not hold before injection (probe %s: %s); "
				   "nothing was injected",
				   s->probes[failed - 1].name,
				   last_failure(&r->probes[failed - 1]));
			end_untouched(r, FL_VERDICT_FAILED, FL_RUN_EXIT_STEADY);
		} else {
			set_reason(r, "%s before anything was applied",
				   sig == FL_RUN_STOP_REQUESTED ? "stopped on request"
								: "interrupted");
			r->end =
			    sig == FL_RUN_STOP_REQUESTED ? FL_RUN_END_STOPPED : FL_RUN_END_SIGNAL;
			r->end_signal = sig;
			end_untouched(r, FL_VERDICT_ABORTED, FL_RUN_EXIT_INTERRUPT);
		}
		pthread_sigmask(SIG_SETMASK, &orig, NULL);
		*out = r;
		return 0;
	}

	/* 3. the command's cgroup, then every classifier attached, inert */
	for (size_t i = 0; i < s->n_targets && r->o.argv; i++) {
		if (!s->targets[i].command)
			continue;
		e = cgroup_create(r);
		if (e)
			snprintf(why, sizeof(why), "cannot make a cgroup for the command: %s",
				 strerror(-e));
		break;
	}
	for (size_t i = 0; i < s->n_faults && !e; i++)
		if (s->targets[s->faults[i].target].command) {
			r->steps[i].cf.spec.cgroup_id = r->cgroup_id;
			/* where refuse attaches its connect() hooks */
			snprintf(r->steps[i].cf.cgroup_abs, sizeof(r->steps[i].cf.cgroup_abs), "%s",
				 r->cgroup_dir);
		}
	if (!e && !r->o.pool) {
		struct fl_engine_opts eo = {
		    .sz = sizeof(eo), .mode = r->o.mode, .run_dir = r->o.run_dir};

		e = fl_pool_open(&eo, &r->own_pool);
		if (e)
			snprintf(why, sizeof(why), "%s", strerror(-e));
		r->o.pool = r->own_pool;
	}
	if (!e)
		e = steps_prepare(r, why, sizeof(why));
	if (e) {
		end = FL_RUN_END_SETUP;
		goto rollback;
	}

	/* 4. the timeline */
	r->t0 = fl_now_ns();
	{
		struct fl_run_event ev = {.kind = FL_RUN_EV_STARTED};

		emit(r, &ev);
	}
	cap_end = r->t0 + s->duration_ns;
	for (size_t i = 0; i < s->n_faults; i++) {
		r->steps[i].start_at = r->t0 + s->faults[i].at_ns;
		r->steps[i].end_at = r->t0 + fl_scenario_fault_end_ns(s, i);
		if (r->steps[i].end_at > cap_end)
			r->steps[i].end_at = cap_end;
	}
	for (size_t i = 0; i < s->n_faults; i++) {
		if (r->steps[i].start_at > r->t0)
			continue;
		if (step_start(r, i, fl_now_ns())) {
			snprintf(why, sizeof(why), "step %zu (%s) could not be applied: %s", i + 1,
				 r->steps[i].text, r->steps[i].error);
			end = FL_RUN_END_SETUP;
			goto rollback;
		}
	}
	for (size_t i = 0; i < s->n_probes; i++)
		if (!pthread_create(&r->probes[i].thread, NULL, probe_thread, &r->probes[i]))
			r->probes[i].thread_started = true;
	if (r->o.argv) {
		struct fl_run_event ev = {.kind = FL_RUN_EV_CMD_START};

		r->cmd.started_ns = realtime_ns();
		e = cmd_start(r, &orig);
		if (e) {
			r->cmd_error = xasprintf("cannot run '%s': %s", r->o.argv[0], strerror(-e));
			r->cmd.error = r->cmd_error;
			r->cmd.started_ns = 0;
			snprintf(why, sizeof(why), "%s", r->cmd_error);
			end = FL_RUN_END_SETUP;
			goto rollback;
		}
		r->cmd.started = true;
		ev.code = r->pid;
		emit(r, &ev);
	}

	while (end == FL_RUN_END_NONE) {
		struct pollfd pfd[2] = {{.fd = r->wake_fd, .events = POLLIN},
					{.fd = r->pidfd, .events = POLLIN}};
		uint64_t now = fl_now_ns(), wake_at, v;
		struct timespec ts;
		unsigned live = 0, failing = 0;

		if (r->o.stop && *r->o.stop) {
			sig = *r->o.stop;
			end = sig == FL_RUN_STOP_REQUESTED ? FL_RUN_END_STOPPED : FL_RUN_END_SIGNAL;
			break;
		}
		report_probe_events(r);
		pthread_mutex_lock(&r->mu);
		failed = r->abort_probe;
		pthread_mutex_unlock(&r->mu);
		if (failed) {
			const struct run_probe *p = &r->probes[failed - 1];

			snprintf(why, sizeof(why),
				 "probe %s failed %u times, more than max_failures %u (last: %s)",
				 p->sp->name, p->during_failures, p->sp->max_failures,
				 last_failure(p));
			end = FL_RUN_END_PROBE;
			break;
		}
		if (r->o.argv && cmd_reap(r, false)) {
			struct fl_run_event ev = {.kind = FL_RUN_EV_CMD_EXIT,
						  .code = r->cmd.exit_code};

			emit(r, &ev);
			end = FL_RUN_END_COMMAND;
			break;
		}
		if (now >= cap_end) {
			end = FL_RUN_END_DURATION;
			break;
		}
		for (size_t i = 0; i < s->n_faults && end == FL_RUN_END_NONE; i++) {
			struct run_step *st = &r->steps[i];

			if (st->state == STEP_LIVE && now >= st->end_at)
				step_end(r, i, "expired", false);
			if (st->state == STEP_PENDING && now >= st->start_at &&
			    step_start(r, i, now)) {
				snprintf(why, sizeof(why), "step %zu (%s) could not be applied: %s",
					 i + 1, st->text, st->error);
				end = FL_RUN_END_SETUP;
			}
		}
		for (size_t i = 0; i < s->n_faults && end == FL_RUN_END_NONE; i++) {
			struct run_step *st = &r->steps[i];

			if (!st->ps)
				continue;
			if (fl_pool_check(st->ps) == -ENODEV) {
				snprintf(why, sizeof(why),
					 "an interface of step %zu (%s) went away while the "
					 "faults were live",
					 i + 1, st->text);
				end = FL_RUN_END_DEVICE;
			} else if (st->state == STEP_LIVE &&
				   fl_pool_renew(st->ps, now, r->o.lease_ns) == -ETIME) {
				char lease[32];

				snprintf(why, sizeof(why),
					 "the lease lapsed: this process was stopped or starved "
					 "for more than %s, so the kernel ended the faults",
					 fl_fmt_duration(r->o.lease_ns, lease, sizeof(lease)));
				end = FL_RUN_END_LEASE;
			}
			live += st->state == STEP_LIVE;
		}
		if (end != FL_RUN_END_NONE)
			break;
		if (now >= next_tick) {
			struct fl_run_event ev = {.kind = FL_RUN_EV_TICK};

			pthread_mutex_lock(&r->mu);
			for (size_t i = 0; i < s->n_probes; i++)
				failing += r->probes[i].during_failures > 0;
			pthread_mutex_unlock(&r->mu);
			ev.cap_ns = s->duration_ns;
			ev.live_steps = live;
			ev.n_steps = (unsigned)s->n_faults;
			ev.failing_probes = failing;
			emit(r, &ev);
			next_tick = now + EVENT_TICK_NS;
		}

		/* sleep until the next tick, step boundary or the cap */
		wake_at = now + TICK_NS;
		if (cap_end < wake_at)
			wake_at = cap_end;
		for (size_t i = 0; i < s->n_faults; i++) {
			const struct run_step *st = &r->steps[i];

			if (st->state == STEP_PENDING && st->start_at < wake_at)
				wake_at = st->start_at;
			if (st->state == STEP_LIVE && st->end_at < wake_at)
				wake_at = st->end_at;
		}
		now = fl_now_ns();
		wake_at = wake_at > now ? wake_at - now : 0;
		ts.tv_sec = (time_t)(wake_at / NS_PER_S);
		ts.tv_nsec = (long)(wake_at % NS_PER_S);
		if (ppoll(pfd, r->pidfd >= 0 ? 2 : 1, &ts, &orig) > 0 && (pfd[0].revents & POLLIN))
			if (read(r->wake_fd, &v, sizeof(v)) < 0)
				v = 0;
	}

rollback:
	/* 5-6. everything off at once, then the command, then the cgroup */
	{
		struct fl_run_event ev = {.kind = FL_RUN_EV_STOPPING};
		const char *cause = "ended";

		switch (end) {
		case FL_RUN_END_DURATION:
			cause = "the duration cap was reached";
			break;
		case FL_RUN_END_COMMAND:
			cause = "the command exited";
			break;
		case FL_RUN_END_PROBE:
		case FL_RUN_END_SETUP:
		case FL_RUN_END_DEVICE:
		case FL_RUN_END_LEASE:
			cause = why;
			break;
		case FL_RUN_END_SIGNAL:
			snprintf(why, sizeof(why), "interrupted by %s", signame(sig));
			cause = why;
			break;
		case FL_RUN_END_STOPPED:
			snprintf(why, sizeof(why), "stopped on request");
			cause = why;
			break;
		case FL_RUN_END_NONE:
			break;
		}
		ev.text = cause;
		emit(r, &ev);
	}
	pthread_mutex_lock(&r->mu);
	r->probes_stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);

	rb_start = fl_now_ns();
	{
		const char *cause = "aborted: injection failed";
		size_t n_engines = 0;

		if (end == FL_RUN_END_DURATION)
			cause = "expired";
		else if (end == FL_RUN_END_COMMAND)
			cause = "the command exited";
		else if (end == FL_RUN_END_SIGNAL)
			cause = "aborted: interrupted";
		else if (end == FL_RUN_END_STOPPED)
			cause = "aborted: stopped on request";
		else if (end == FL_RUN_END_PROBE)
			cause = "aborted: steady state broken";

		for (size_t i = 0; i < s->n_faults; i++)
			n_engines += r->steps[i].ps != NULL;
		/* at the cap or the command's exit a step "to the end" ends as
		 * planned; anything else cut it short */
		steps_close(r, cause, end != FL_RUN_END_DURATION && end != FL_RUN_END_COMMAND);
		if (r->own_pool) {
			unsigned layers = fl_pool_layers(r->own_pool);

			fl_pool_close(r->own_pool);
			r->own_pool = NULL;
			r->rollback_detail = xasprintf(
			    "%u classifier(s) detached and the rules of %zu step(s) removed",
			    layers, n_engines);
		} else {
			r->rollback_detail = xasprintf(
			    "the rules of %zu step(s) removed from the shared classifiers",
			    n_engines);
		}
		r->rep.rollback.duration_ns = fl_now_ns() - rb_start;
		r->rep.rollback.ok = true;
	}
	if (r->o.argv && r->cmd_running) {
		bool still = !cmd_reap(r, false);

		if (still) {
			cmd_stop(r);
			if (end == FL_RUN_END_DURATION || end == FL_RUN_END_NONE) {
				free(r->cmd_error);
				r->cmd_error = xasprintf(
				    "still running at the duration cap; stopped (SIGTERM, then "
				    "SIGKILL after the grace time)");
				r->cmd.error = r->cmd_error;
			}
		}
		{
			struct fl_run_event ev = {.kind = FL_RUN_EV_CMD_EXIT,
						  .code = r->cmd.exit_code};

			emit(r, &ev);
		}
	}
	if (r->cgroup_dir[0]) {
		e = cgroup_destroy(r->cgroup_dir);
		if (e) {
			char *d = xasprintf("%s; the command's cgroup %s could not be removed: %s",
					    r->rollback_detail ? r->rollback_detail : "",
					    r->cgroup_dir, strerror(-e));

			free(r->rollback_detail);
			r->rollback_detail = d;
			r->rep.rollback.ok = false;
		}
	}
	r->rep.rollback.detail = r->rollback_detail;
	{
		struct fl_run_event ev = {.kind = FL_RUN_EV_ROLLBACK,
					  .ok = r->rep.rollback.ok,
					  .text = r->rollback_detail,
					  .duration_ns = r->rep.rollback.duration_ns};

		emit(r, &ev);
	}
	for (size_t i = 0; i < s->n_probes; i++)
		if (r->probes[i].thread_started)
			pthread_join(r->probes[i].thread, NULL);
	report_probe_events(r);

	r->end = end;
	r->end_signal = sig;

	/* 7. the steady state after (not after a signal: the user wants out) */
	failed = end == FL_RUN_END_SIGNAL ? 0 : probe_all_once(r, FL_PHASE_AFTER);

	switch (end) {
	case FL_RUN_END_SIGNAL:
	case FL_RUN_END_STOPPED:
		r->exit_code = FL_RUN_EXIT_INTERRUPT;
		verdict = FL_VERDICT_ABORTED;
		set_reason(r, "%s; rolled back", why);
		break;
	case FL_RUN_END_SETUP:
	case FL_RUN_END_DEVICE:
	case FL_RUN_END_LEASE:
		r->exit_code = FL_RUN_EXIT_INJECT;
		verdict = FL_VERDICT_ERROR;
		set_reason(r, "%s; rolled back", why);
		break;
	case FL_RUN_END_PROBE:
		r->exit_code = FL_RUN_EXIT_STEADY;
		verdict = FL_VERDICT_ABORTED;
		set_reason(r, "steady state broken: %s; rolled back", why);
		break;
	default:
		if (r->o.argv && r->cmd.exit_code != 0) {
			r->exit_code = r->cmd.exit_code;
			verdict = FL_VERDICT_FAILED;
			if (r->cmd.error)
				set_reason(r, "the command was %s (exit %d)", r->cmd.error,
					   r->cmd.exit_code);
			else
				set_reason(r, "the command exited with %d", r->cmd.exit_code);
		} else if (failed) {
			r->exit_code = FL_RUN_EXIT_STEADY;
			verdict = FL_VERDICT_FAILED;
			set_reason(
			    r, "the steady state did not hold after the rollback (probe %s: %s)",
			    s->probes[failed - 1].name, last_failure(&r->probes[failed - 1]));
		} else {
			r->exit_code = FL_RUN_EXIT_OK;
			set_reason(r, "the steady state held%s",
				   r->o.argv ? " and the command exited with 0" : "");
		}
	}
	finish_report(r, verdict);
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	*out = r;
	return 0;
}

enum fl_run_end fl_run_end_kind(const struct fl_run *r)
{
	return r->end;
}

int fl_run_end_signal(const struct fl_run *r)
{
	return r->end_signal;
}

void fl_run_step_stats(const struct fl_run *r, size_t i, struct fl_counters *c,
		       struct fl_delay_stats *d)
{
	const struct run_step *st = &r->steps[i];

	memset(c, 0, sizeof(*c));
	memset(d, 0, sizeof(*d));
	if (i >= r->s->n_faults)
		return;
	if (st->state == STEP_LIVE && st->ps) {
		fl_pool_stats(st->ps, c, d);
		return;
	}
	*c = st->raw;
	*d = st->draw;
}

const char *fl_run_step_error(const struct fl_run *r, size_t i)
{
	return i < r->s->n_faults ? r->steps[i].error : NULL;
}

const char *fl_run_attach_mode(const struct fl_run *r)
{
	return r->attach_mode ? r->attach_mode : "";
}

const struct fl_report *fl_run_report(const struct fl_run *r)
{
	return &r->rep;
}

int fl_run_exit_code(const struct fl_run *r)
{
	return r->exit_code;
}

void fl_run_free(struct fl_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->steps && i < r->s->n_faults; i++) {
		if (r->steps[i].ps)
			fl_pool_release(r->steps[i].ps);
		free(r->steps[i].error);
		free(r->steps[i].end_cause);
	}
	for (size_t i = 0; r->probes && i < r->s->n_probes; i++) {
		for (size_t k = 0; k < r->probes[i].n_runs; k++)
			free((char *)r->probes[i].runs[k].detail);
		free(r->probes[i].runs);
		free(r->probes[i].target);
	}
	fl_pool_close(r->own_pool);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	if (r->pidfd >= 0)
		close(r->pidfd);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
	free(r->steps);
	free(r->rep_steps);
	free(r->probes);
	free(r->rep_probes);
	free(r->reason);
	free(r->cmd_error);
	free(r->rollback_detail);
	free(r);
}
