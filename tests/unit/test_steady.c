/*
 * tests/unit/test_steady.c - steady-state probes judge what they see, say
 * why in one sentence, keep to their timeout, and leave nothing running.
 *
 * Everything is local to the test process: TCP listeners on 127.0.0.1 and
 * ::1 ephemeral ports, a tiny HTTP responder thread with canned answers, a
 * port that was just closed (refused), and a listener whose accept queue is
 * full, so the kernel drops the probe's SYN (a timeout, as a blackhole fault
 * would cause). No external address is ever contacted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "faultline/steady.h"

#define MS 1000000ull

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A listening socket on an ephemeral loopback port (family AF_INET or
 * AF_INET6); -1 when the family is unavailable. */
static int listener(int family, int backlog, uint16_t *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* A loopback port nothing listens on: bound, then closed. */
static uint16_t refused_port(void)
{
	uint16_t port;
	int fd = listener(AF_INET, 1, &port);

	assert_true(fd >= 0);
	close(fd);
	return port;
}

/* ---- a tiny HTTP responder ------------------------------------------------ */

struct http_server {
	int lfd;
	uint16_t port;
	int stop[2]; /* a pipe: written to stop the thread */
	pthread_t thread;
	char base[64]; /* "http://127.0.0.1:PORT" */
};

static void respond(int fd, int status, const char *reason, const char *extra, const char *body)
{
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
			 status, reason, strlen(body), extra, body);

	if (write(fd, buf, (size_t)n) < 0) {
		/* the client gave up (a timeout test); nothing to do */
	}
}

static void serve_one(struct http_server *s, int fd)
{
	char req[2048], method[16] = "", path[256] = "", body[64];
	size_t len = 0;

	/* the request head, until the blank line (no request here has a body) */
	while (len < sizeof(req) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			return;
		n = read(fd, req + len, sizeof(req) - 1 - len);
		if (n <= 0)
			return;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (sscanf(req, "%15s %255s", method, path) != 2)
		return;
	if (strcmp(path, "/ok") == 0) {
		respond(fd, 200, "OK", "", "all systems ok");
	} else if (strcmp(path, "/fail") == 0) {
		respond(fd, 503, "Service Unavailable", "", "down");
	} else if (strcmp(path, "/redirect") == 0) {
		respond(fd, 302, "Found", "Location: /ok\r\n", "");
	} else if (strcmp(path, "/method") == 0) {
		snprintf(body, sizeof(body), "method=%s", method);
		respond(fd, 200, "OK", "", strcmp(method, "HEAD") == 0 ? "" : body);
	} else if (strcmp(path, "/slow") == 0) {
		/* answer after 1 s, or at once when the server is stopped */
		struct pollfd p = {.fd = s->stop[0], .events = POLLIN};

		poll(&p, 1, 1000);
		respond(fd, 200, "OK", "", "late");
	} else {
		respond(fd, 404, "Not Found", "", "no such path");
	}
}

static void *server_main(void *arg)
{
	struct http_server *s = arg;

	for (;;) {
		struct pollfd p[2] = {{.fd = s->lfd, .events = POLLIN},
				      {.fd = s->stop[0], .events = POLLIN}};
		int fd;

		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(s, fd);
		close(fd);
	}
}

static int server_setup(void **state)
{
	struct http_server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->lfd = listener(AF_INET, 64, &s->port);
	assert_true(s->lfd >= 0);
	assert_int_equal(pipe2(s->stop, O_CLOEXEC), 0);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", s->port);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	*state = s;
	return 0;
}

static int server_teardown(void **state)
{
	struct http_server *s = *state;

	if (write(s->stop[1], "x", 1) != 1)
		return -1;
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	free(s);
	return 0;
}

static void http_spec(struct fl_probe_spec *p, const struct http_server *s, const char *path,
		      char *url, size_t len)
{
	snprintf(url, len, "%s%s", s->base, path);
	*p = (struct fl_probe_spec){.name = "api", .kind = FL_PROBE_HTTP, .url = url};
}

/* ---- tcp ------------------------------------------------------------------ */

static void tcp_connects_to_a_listener(void **state)
{
	struct fl_probe_result r;
	uint16_t port;
	int fd = listener(AF_INET, 8, &port);
	char want[64];
	(void)state;

	assert_true(fd >= 0);
	struct fl_probe_spec p = {.kind = FL_PROBE_TCP, .host = "127.0.0.1", .port = port};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.code, 0);
	snprintf(want, sizeof(want), "connected to 127.0.0.1:%u in ", port);
	assert_non_null(strstr(r.detail, want));
	assert_true(r.started_ns > 1600000000ull * 1000000000ull); /* wall clock, not uptime */
	close(fd);
}

static void tcp_ipv6_and_names_resolve(void **state)
{
	struct fl_probe_result r;
	uint16_t port6, port4;
	int fd6 = listener(AF_INET6, 8, &port6), fd4 = listener(AF_INET, 8, &port4);
	char want[64];
	(void)state;

	assert_true(fd4 >= 0);
	if (fd6 >= 0) {
		struct fl_probe_spec p = {.kind = FL_PROBE_TCP, .host = "::1", .port = port6};
		assert_int_equal(fl_probe_run(&p, &r), 0);
		assert_true(r.ok);
		snprintf(want, sizeof(want), "connected to [::1]:%u", port6);
		assert_non_null(strstr(r.detail, want));
		close(fd6);
	}
	/* "localhost" may resolve to ::1 first (refused here) and then
	 * 127.0.0.1: every address is tried within the one timeout */
	struct fl_probe_spec p = {.kind = FL_PROBE_TCP, .host = "localhost", .port = port4};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	snprintf(want, sizeof(want), "connected to 127.0.0.1:%u", port4);
	assert_non_null(strstr(r.detail, want));
	close(fd4);
}

static void tcp_refused_port_fails_at_once(void **state)
{
	struct fl_probe_result r;
	char want[96];
	(void)state;

	struct fl_probe_spec p = {
	    .kind = FL_PROBE_TCP, .host = "127.0.0.1", .port = refused_port()};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_false(r.timed_out);
	snprintf(want, sizeof(want), "connect to 127.0.0.1:%u: Connection refused after ", p.port);
	assert_non_null(strstr(r.detail, want));
	assert_non_null(strstr(r.detail, " ms"));
	assert_true(r.duration_ns < 500 * MS);
}

static void tcp_dropped_syn_times_out_on_time(void **state)
{
	struct fl_probe_result r;
	uint16_t port;
	int lfd = listener(AF_INET, 0, &port), fill[4], nfill = 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	(void)state;

	/* never accept, and fill the accept queue (backlog 0 holds one): the
	 * kernel then drops further SYNs, as a blackhole would */
	assert_true(lfd >= 0);
	a.sin_port = htons(port);
	for (int i = 0; i < 4; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (connect(fill[i], (struct sockaddr *)&a, sizeof(a)) < 0) {
			assert_int_equal(errno, EINPROGRESS);
		}
		nfill++;
		usleep(20000);
	}
	struct fl_probe_spec p = {
	    .kind = FL_PROBE_TCP, .host = "127.0.0.1", .port = port, .timeout_ns = 200 * MS};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_true(r.timed_out);
	assert_non_null(strstr(r.detail, "timed out after 200ms"));
	assert_true(r.duration_ns >= 200 * MS);
	assert_true(r.duration_ns < 600 * MS);
	for (int i = 0; i < nfill; i++)
		close(fill[i]);
	close(lfd);
}

/* ---- http ----------------------------------------------------------------- */

static void http_status_in_range_passes(void **state)
{
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128];

	http_spec(&p, *state, "/ok", url, sizeof(url));
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.detail, "HTTP 200 in "));
}

static void http_wrong_status_names_the_expected_range(void **state)
{
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128];

	http_spec(&p, *state, "/fail", url, sizeof(url));
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.detail, "HTTP 503, expected 200-299");

	/* an exact status, as `status: 503` writes it */
	p.status_lo = 503;
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	p.status_lo = 200;
	p.status_hi = 200;
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_string_equal(r.detail, "HTTP 503, expected 200");
}

static void http_body_must_contain_the_text(void **state)
{
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128];

	http_spec(&p, *state, "/ok", url, sizeof(url));
	p.body_contains = "systems ok";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	p.body_contains = "banana";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.detail, "HTTP 200, but body does not contain \"banana\"");
}

static void http_redirects_are_judged_not_followed(void **state)
{
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128];

	http_spec(&p, *state, "/redirect", url, sizeof(url));
	p.status_lo = p.status_hi = 200;
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.detail, "HTTP 302, expected 200");
	p.follow_redirects = true;
	p.body_contains = "systems ok";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
}

static void http_sends_the_method(void **state)
{
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128];

	http_spec(&p, *state, "/method", url, sizeof(url));
	p.method = "POST";
	p.body_contains = "method=POST";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	p.method = NULL; /* GET */
	p.body_contains = "method=GET";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	p.method = "HEAD";
	p.body_contains = NULL;
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
}

static void http_slow_answer_times_out_on_time(void **state)
{
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128];

	http_spec(&p, *state, "/slow", url, sizeof(url));
	p.timeout_ns = 200 * MS;
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_true(r.timed_out);
	assert_int_equal(r.code, -1);
	assert_non_null(strstr(r.detail, "timed out after 200ms"));
	assert_true(r.duration_ns >= 190 * MS);
	assert_true(r.duration_ns < 700 * MS);
}

static void http_refused_port_fails(void **state)
{
	struct fl_probe_result r;
	char url[64];
	(void)state;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", refused_port());
	struct fl_probe_spec p = {.kind = FL_PROBE_HTTP, .url = url};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_false(r.timed_out);
	assert_int_equal(r.code, -1);
	assert_non_null(strstr(r.detail, url));
	assert_true(r.duration_ns < 500 * MS);
}

static void http_ignores_proxy_environment(void **state)
{
	static const char *const vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy",
					   "ALL_PROXY"};
	struct fl_probe_spec p;
	struct fl_probe_result r;
	char url[128], proxy[64];

	/* a proxy that refuses everything: a probe through it would fail */
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%u", refused_port());
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		setenv(vars[i], proxy, 1);
	http_spec(&p, *state, "/ok", url, sizeof(url));
	assert_int_equal(fl_probe_run(&p, &r), 0);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	assert_true(r.ok);
}

static void http_refuses_other_schemes(void **state)
{
	struct fl_probe_result r;
	(void)state;

	struct fl_probe_spec p = {.kind = FL_PROBE_HTTP, .url = "file:///etc/hostname"};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
}

/* ---- threads -------------------------------------------------------------- */

struct worker {
	const struct http_server *s;
	uint16_t tcp_port;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct fl_probe_result *r = malloc(sizeof(*r));
	char url[128];

	if (!r) {
		w->failures = 1;
		return NULL;
	}
	snprintf(url, sizeof(url), "%s/ok", w->s->base);
	struct fl_probe_spec specs[] = {
	    {.kind = FL_PROBE_HTTP, .url = url, .body_contains = "ok"},
	    {.kind = FL_PROBE_TCP, .host = "127.0.0.1", .port = w->tcp_port},
	    {.kind = FL_PROBE_COMMAND, .sh = "echo fine"},
	};
	for (int i = 0; i < 10; i++)
		for (size_t k = 0; k < 3; k++)
			if (fl_probe_run(&specs[k], r) != 0 || !r->ok)
				w->failures++;
	free(r);
	return NULL;
}

static void probes_run_concurrently_from_threads(void **state)
{
	struct worker w[8];
	pthread_t t[8];
	uint16_t port;
	int lfd = listener(AF_INET, 512, &port);

	assert_true(lfd >= 0);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){.s = *state, .tcp_port = port};
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	close(lfd);
}

/* ---- command -------------------------------------------------------------- */

static void command_exit_code_is_the_verdict(void **state)
{
	struct fl_probe_result r;
	(void)state;

	struct fl_probe_spec p = {.kind = FL_PROBE_COMMAND, .sh = "true"};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.detail, "exit 0");

	p.sh = "exit 3";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, 3);
	assert_string_equal(r.detail, "exit 3");

	p.sh = "kill -TERM $$";
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_int_equal(r.code, 128 + SIGTERM);
	assert_non_null(strstr(r.detail, "killed by signal 15"));
}

static void command_output_follows_the_verdict(void **state)
{
	struct fl_probe_result r;
	(void)state;

	struct fl_probe_spec p = {.kind = FL_PROBE_COMMAND,
				  .sh = "echo hello; echo 'no <db> & \"x\"' >&2; exit 3"};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.detail, "exit 3\nhello\nno <db> & \"x\"");
}

static void command_output_is_cut_at_4k(void **state)
{
	struct fl_probe_result r;
	size_t xs = 0;
	(void)state;

	struct fl_probe_spec p = {.kind = FL_PROBE_COMMAND,
				  .sh = "head -c 1000000 /dev/zero | tr '\\0' x"};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	for (const char *c = strchr(r.detail, '\n'); c && *c; c++)
		xs += *c == 'x';
	assert_int_equal(xs, FL_PROBE_OUTPUT_MAX);
	assert_non_null(strstr(r.detail, "[output cut at 4096 bytes]"));
}

/* pid from the first line of the output after the verdict line */
static pid_t pid_in_detail(const char *detail)
{
	const char *nl = strchr(detail, '\n');

	return nl ? (pid_t)atoi(nl + 1) : 0;
}

/* gone, or a zombie waiting for init: either way no longer running */
static int process_is_dead_within(pid_t pid, int ms)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < ms / 10; i++) {
		FILE *f = fopen(path, "r");
		char *rp;

		if (!f)
			return 1;
		rp = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		if (!rp || rp[2] == 'Z' || rp[2] == 'X')
			return 1;
		usleep(10000);
	}
	return 0;
}

static void command_timeout_kills_it_and_its_children(void **state)
{
	struct fl_probe_result r;
	uint64_t t0 = mono_ns();
	pid_t child;
	(void)state;

	struct fl_probe_spec p = {
	    .kind = FL_PROBE_COMMAND, .sh = "sleep 30 & echo $!; sleep 5", .timeout_ns = 200 * MS};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_true(r.timed_out);
	assert_true(mono_ns() - t0 < 1000 * MS);
	assert_true(r.duration_ns >= 200 * MS);
	assert_non_null(strstr(r.detail, "timed out after 200ms, killed"));
	child = pid_in_detail(r.detail);
	assert_true(child > 1);
	assert_true(process_is_dead_within(child, 2000));

	p.sh = "sleep 5";
	t0 = mono_ns();
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.timed_out);
	assert_true(mono_ns() - t0 < 1000 * MS);
}

static void command_leaves_nothing_running_after_exit(void **state)
{
	struct fl_probe_result r;
	uint64_t t0 = mono_ns();
	pid_t child;
	(void)state;

	/* the shell exits at once; the sleep it left holds the output pipe */
	struct fl_probe_spec p = {.kind = FL_PROBE_COMMAND, .sh = "sleep 30 & echo $!"};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	assert_true(mono_ns() - t0 < 1000 * MS);
	child = pid_in_detail(r.detail);
	assert_true(child > 1);
	assert_true(process_is_dead_within(child, 2000));
}

static void command_argv_is_not_a_shell(void **state)
{
	struct fl_probe_result r;
	char *argv[] = {"printf", "%s|", "a b", "$HOME", "<&>", NULL};
	(void)state;

	struct fl_probe_spec p = {.kind = FL_PROBE_COMMAND, .argv = argv};
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_true(r.ok);
	assert_string_equal(r.detail, "exit 0\na b|$HOME|<&>|");

	char *missing[] = {"/nonexistent/faultline-probe", NULL};
	p.argv = missing;
	assert_int_equal(fl_probe_run(&p, &r), 0);
	assert_false(r.ok);
	assert_string_equal(r.detail,
			    "cannot run /nonexistent/faultline-probe: No such file or directory");
}

/* ---- specs and scheduling --------------------------------------------------- */

static void incomplete_specs_are_refused(void **state)
{
	struct fl_probe_result r;
	(void)state;

	struct fl_probe_spec bad[] = {
	    {.kind = FL_PROBE_HTTP},
	    {.kind = FL_PROBE_TCP, .host = "127.0.0.1"},
	    {.kind = FL_PROBE_TCP, .port = 80},
	    {.kind = FL_PROBE_COMMAND},
	    {.kind = (enum fl_probe_kind)42},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(fl_probe_run(&bad[i], &r), -EINVAL);
		assert_false(r.ok);
		assert_true(r.detail[0] != '\0');
	}
	assert_string_equal(fl_probe_kind_name(FL_PROBE_COMMAND), "command");
}

static void schedule_keeps_a_grid_and_skips_missed_slots(void **state)
{
	struct fl_probe_clock c = {0};
	const uint64_t s = 1000 * MS, t = 5000 * MS;
	(void)state;

	assert_int_equal(fl_probe_wait_ns(&c, t), 0);
	assert_true(fl_probe_due(&c, s, t)); /* the first run is at once */
	assert_false(fl_probe_due(&c, s, t + 999 * MS));
	assert_int_equal(fl_probe_wait_ns(&c, t + 400 * MS), 600 * MS);
	assert_true(fl_probe_due(&c, s, t + 1010 * MS)); /* late, but on the grid */
	assert_int_equal(c.next_ns, t + 2000 * MS);
	/* a probe that took 3.5 s: the missed slots are not run in a burst */
	assert_true(fl_probe_due(&c, s, t + 5500 * MS));
	assert_false(fl_probe_due(&c, s, t + 5600 * MS));
	assert_int_equal(c.next_ns, t + 6000 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tcp_connects_to_a_listener),
	    cmocka_unit_test(tcp_ipv6_and_names_resolve),
	    cmocka_unit_test(tcp_refused_port_fails_at_once),
	    cmocka_unit_test(tcp_dropped_syn_times_out_on_time),
	    cmocka_unit_test_setup_teardown(http_status_in_range_passes, server_setup,
					    server_teardown),
	    cmocka_unit_test_setup_teardown(http_wrong_status_names_the_expected_range,
					    server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(http_body_must_contain_the_text, server_setup,
					    server_teardown),
	    cmocka_unit_test_setup_teardown(http_redirects_are_judged_not_followed, server_setup,
					    server_teardown),
	    cmocka_unit_test_setup_teardown(http_sends_the_method, server_setup, server_teardown),
	    cmocka_unit_test_setup_teardown(http_slow_answer_times_out_on_time, server_setup,
					    server_teardown),
	    cmocka_unit_test(http_refused_port_fails),
	    cmocka_unit_test_setup_teardown(http_ignores_proxy_environment, server_setup,
					    server_teardown),
	    cmocka_unit_test(http_refuses_other_schemes),
	    cmocka_unit_test_setup_teardown(probes_run_concurrently_from_threads, server_setup,
					    server_teardown),
	    cmocka_unit_test(command_exit_code_is_the_verdict),
	    cmocka_unit_test(command_output_follows_the_verdict),
	    cmocka_unit_test(command_output_is_cut_at_4k),
	    cmocka_unit_test(command_timeout_kills_it_and_its_children),
	    cmocka_unit_test(command_leaves_nothing_running_after_exit),
	    cmocka_unit_test(command_argv_is_not_a_shell),
	    cmocka_unit_test(incomplete_specs_are_refused),
	    cmocka_unit_test(schedule_keeps_a_grid_and_skips_missed_slots),
	};

	/* a client that gave up must not kill the responder with SIGPIPE */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
