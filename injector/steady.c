/*
 * injector/steady.c - run one steady-state probe and judge it.
 *
 * Three kinds, one shape: note the start (CLOCK_REALTIME for the report,
 * CLOCK_MONOTONIC for the duration), do the check within the timeout, write
 * a one-line verdict into the result's detail.
 *
 * - http: libcurl's easy interface, one handle per call (handles are not
 *   shared, so any number of threads may probe at once); curl_global_init runs
 *   once under pthread_once. No proxy from the environment, no redirects
 *   unless asked, no signals (CURLOPT_NOSIGNAL: a runner's threads keep their
 *   signal dispositions).
 * - tcp: getaddrinfo, then a non-blocking connect per address, waited for
 *   with ppoll until the deadline. A refused port answers at once; a dropped
 *   SYN (the fault faultline is there to inject) is a timeout.
 * - command: posix_spawn (vfork-based in glibc, so safe from a threaded
 *   runner, and an exec failure comes back as its return value) into a
 *   process group of its own, output to a pipe. A pidfd tells when the
 *   command exits; then, or at the deadline, the whole group gets SIGKILL
 *   before the leader is reaped, so the group id cannot have been reused and
 *   nothing the command left running (`sleep 30 &`) outlives the probe.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultline/steady.h"
#include "faultline/units.h"

extern char **environ;

#define NS_PER_S  1000000000ull
#define NS_PER_MS 1000000ull

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / NS_PER_S),
				 .tv_nsec = (long)(ns % NS_PER_S)};
}

/* A measured time for a person: "0.2 ms", "250.0 ms", "1.25 s". */
static const char *fmt_elapsed(uint64_t ns, char *buf, size_t len)
{
	if (ns < NS_PER_S)
		snprintf(buf, len, "%.1f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.2f s", (double)ns / 1e9);
	return buf;
}

__attribute__((format(printf, 2, 3))) static void set_detail(struct fl_probe_result *r,
							     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static void append_detail(struct fl_probe_result *r,
								const char *fmt, ...)
{
	size_t used = strlen(r->detail);
	va_list ap;

	if (used + 1 >= sizeof(r->detail))
		return;
	va_start(ap, fmt);
	vsnprintf(r->detail + used, sizeof(r->detail) - used, fmt, ap);
	va_end(ap);
}

const char *fl_probe_kind_name(enum fl_probe_kind k)
{
	switch (k) {
	case FL_PROBE_HTTP:
		return "http";
	case FL_PROBE_TCP:
		return "tcp";
	case FL_PROBE_COMMAND:
		return "command";
	}
	return NULL;
}

/* ---- http ---------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct body {
	char *buf;
	size_t len, cap;
	bool keep; /* only kept when body_contains needs it */
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb, take;

	if (!b->keep || b->len >= FL_PROBE_BODY_MAX)
		return n;
	take = n < FL_PROBE_BODY_MAX - b->len ? n : FL_PROBE_BODY_MAX - b->len;
	if (b->len + take > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + take)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (!p)
			return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
		b->buf = p;
		b->cap = cap;
	}
	memcpy(b->buf + b->len, data, take);
	b->len += take;
	return n;
}

static int probe_http(const struct fl_probe_spec *p, struct fl_probe_result *r, uint64_t timeout,
		      uint64_t t0)
{
	const char *method = p->method && *p->method ? p->method : "GET";
	int lo = p->status_lo, hi = p->status_hi;
	char errbuf[CURL_ERROR_SIZE] = "", el[32], tbuf[32], expected[32];
	struct body body = {.keep = p->body_contains != NULL};
	long status = 0;
	CURLcode rc;
	CURL *h;

	if (!p->url || !*p->url) {
		set_detail(r, "http probe without a url");
		return -EINVAL;
	}
	if (lo == 0 && hi == 0) {
		lo = 200;
		hi = 299;
	} else if (hi == 0) {
		hi = lo;
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		set_detail(r, "libcurl: %s", curl_easy_strerror(curl_init_rc));
		return -EIO;
	}
	h = curl_easy_init();
	if (!h) {
		set_detail(r, "libcurl: cannot create a handle");
		return -ENOMEM;
	}
	curl_easy_setopt(h, CURLOPT_URL, p->url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, p->follow_redirects ? 1L : 0L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)((timeout + NS_PER_MS - 1) / NS_PER_MS));
	curl_easy_setopt(h, CURLOPT_USERAGENT, "faultline-probe/1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "GET") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);

	rc = curl_easy_perform(h);
	r->duration_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	fmt_elapsed(r->duration_ns, el, sizeof(el));
	if (lo == hi)
		snprintf(expected, sizeof(expected), "%d", lo);
	else
		snprintf(expected, sizeof(expected), "%d-%d", lo, hi);

	if (rc == CURLE_OPERATION_TIMEDOUT) {
		r->timed_out = true;
		set_detail(r, "%s %s: timed out after %s", method, p->url,
			   fl_fmt_duration(timeout, tbuf, sizeof(tbuf)));
	} else if (rc != CURLE_OK) {
		set_detail(r, "%s %s: %s (after %s)", method, p->url,
			   *errbuf ? errbuf : curl_easy_strerror(rc), el);
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		r->code = (int)status;
		if (status < lo || status > hi) {
			set_detail(r, "HTTP %ld, expected %s", status, expected);
		} else if (p->body_contains &&
			   !memmem(body.buf ? body.buf : "", body.len, p->body_contains,
				   strlen(p->body_contains))) {
			set_detail(r, "HTTP %ld, but body does not contain \"%s\"", status,
				   p->body_contains);
		} else {
			r->ok = true;
			set_detail(r, "HTTP %ld in %s", status, el);
		}
	}
	free(body.buf);
	curl_easy_cleanup(h);
	return 0;
}

/* ---- tcp ----------------------------------------------------------------- */

/* "10.0.0.2:80", "[fd00::2]:80" */
static void fmt_sockaddr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, buflen, "?");
		return;
	}
	if (sa->sa_family == AF_INET6)
		snprintf(buf, buflen, "[%s]:%s", host, serv);
	else
		snprintf(buf, buflen, "%s:%s", host, serv);
}

/* One connect attempt until deadline (CLOCK_MONOTONIC). Returns 0 when
 * connected, else a positive errno (ETIMEDOUT when the deadline passed). */
static int connect_until(const struct addrinfo *ai, uint64_t deadline)
{
	int fd, err = 0;
	socklen_t len = sizeof(err);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		goto out;
	if (errno != EINPROGRESS) {
		err = errno;
		goto out;
	}
	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		struct timespec ts;
		int n;

		if (now >= deadline) {
			err = ETIMEDOUT;
			break;
		}
		ts = ns_to_ts(deadline - now);
		n = ppoll(&pfd, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		if (n == 0)
			continue; /* the loop head sees the deadline */
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		break;
	}
out:
	close(fd);
	return err;
}

static int probe_tcp(const struct fl_probe_spec *p, struct fl_probe_result *r, uint64_t timeout,
		     uint64_t t0)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
	struct addrinfo *res, *ai;
	char port[8], addr[NI_MAXHOST + NI_MAXSERV + 4] = "", el[32], tbuf[32];
	uint64_t deadline = t0 + timeout;
	int gai, err = EHOSTUNREACH;

	if (!p->host || !*p->host || p->port == 0) {
		set_detail(r, "tcp probe needs a host and a port");
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%u", p->port);
	gai = getaddrinfo(p->host, port, &hints, &res);
	if (gai != 0) {
		r->duration_ns = clock_ns(CLOCK_MONOTONIC) - t0;
		set_detail(r, "resolve %s: %s", p->host,
			   gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return 0;
	}
	/* every address in getaddrinfo's order, within the one deadline */
	for (ai = res; ai; ai = ai->ai_next) {
		fmt_sockaddr(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
		err = connect_until(ai, deadline);
		if (err == 0 || err == ETIMEDOUT)
			break;
	}
	freeaddrinfo(res);
	r->duration_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	fmt_elapsed(r->duration_ns, el, sizeof(el));
	if (err == 0) {
		r->ok = true;
		r->code = 0;
		set_detail(r, "connected to %s in %s", addr, el);
	} else if (err == ETIMEDOUT) {
		r->timed_out = true;
		set_detail(r, "connect to %s: timed out after %s", addr,
			   fl_fmt_duration(timeout, tbuf, sizeof(tbuf)));
	} else {
		set_detail(r, "connect to %s: %s after %s", addr, strerror(err), el);
	}
	return 0;
}

/* ---- command ------------------------------------------------------------- */

struct output {
	char buf[FL_PROBE_OUTPUT_MAX];
	size_t len;
	bool truncated;
};

/* Read what is there; false at end of file (or an error). */
static bool read_output(int fd, struct output *o)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN;
	if (n == 0)
		return false;
	size_t take = (size_t)n < sizeof(o->buf) - o->len ? (size_t)n : sizeof(o->buf) - o->len;
	memcpy(o->buf + o->len, chunk, take);
	o->len += take;
	if (take < (size_t)n)
		o->truncated = true;
	return true;
}

/* Has pid exited? (without reaping it, so its pid stays ours) */
static bool exited(pid_t pid)
{
	siginfo_t si = {0};

	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		return errno == ECHILD;
	return si.si_pid != 0;
}

static int spawn(char *const *argv, int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int err;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	err = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

static int probe_command(const struct fl_probe_spec *p, struct fl_probe_result *r, uint64_t timeout,
			 uint64_t t0)
{
	char *shargv[] = {"/bin/sh", "-c", (char *)p->sh, NULL};
	char *const *argv = p->sh ? shargv : p->argv;
	uint64_t deadline = t0 + timeout;
	struct output *out;
	char tbuf[32];
	int pfd[2], pidfd, status = 0, err;
	bool open_pipe = true, done = false;
	pid_t pid;

	if (!argv || !argv[0] || !*argv[0]) {
		set_detail(r, "command probe without a command");
		return -EINVAL;
	}
	out = calloc(1, sizeof(*out));
	if (!out) {
		set_detail(r, "out of memory");
		return -ENOMEM;
	}
	/* non-blocking on our end only: the command's writes must block */
	if (pipe2(pfd, O_CLOEXEC) < 0 || fcntl(pfd[0], F_SETFL, O_NONBLOCK) < 0) {
		err = errno;
		free(out);
		set_detail(r, "pipe: %s", strerror(err));
		return -err;
	}
	err = spawn(argv, pfd[1], &pid);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		free(out);
		r->duration_ns = clock_ns(CLOCK_MONOTONIC) - t0;
		set_detail(r, "cannot run %s: %s", argv[0], strerror(err));
		return 0; /* a command that is not there is the probe failing */
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	while (!(done = exited(pid))) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct pollfd fds[2] = {{.fd = open_pipe ? pfd[0] : -1, .events = POLLIN},
					{.fd = pidfd, .events = POLLIN}};
		struct timespec ts;
		uint64_t wait;

		if (now >= deadline)
			break;
		wait = deadline - now;
		if (pidfd < 0 && wait > 5 * NS_PER_MS)
			wait = 5 * NS_PER_MS; /* no pidfd (before Linux 5.3): look again soon */
		ts = ns_to_ts(wait);
		if (ppoll(fds, 2, &ts, NULL) > 0 && open_pipe && fds[0].revents)
			open_pipe = read_output(pfd[0], out);
	}
	/* the leader is a zombie or alive, so the group id is still its own */
	kill(-pid, SIGKILL);
	if (!done)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	r->duration_ns = clock_ns(CLOCK_MONOTONIC) - t0;
	/* what the group wrote before it died; the writers are gone (or, if one
	 * left the group with setsid, not waited for beyond 50 ms) */
	for (uint64_t end = clock_ns(CLOCK_MONOTONIC) + 50 * NS_PER_MS; open_pipe;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);
		struct pollfd fd = {.fd = pfd[0], .events = POLLIN};
		struct timespec ts;

		if (now >= end)
			break;
		ts = ns_to_ts(end - now);
		if (ppoll(&fd, 1, &ts, NULL) <= 0)
			break;
		open_pipe = read_output(pfd[0], out);
	}
	close(pfd[0]);
	if (pidfd >= 0)
		close(pidfd);

	if (!done) {
		r->timed_out = true;
		r->code = -1;
		set_detail(r, "timed out after %s, killed",
			   fl_fmt_duration(timeout, tbuf, sizeof(tbuf)));
	} else if (WIFEXITED(status)) {
		r->code = WEXITSTATUS(status);
		r->ok = r->code == 0;
		set_detail(r, "exit %d", r->code);
	} else if (WIFSIGNALED(status)) {
		const char *name = sigdescr_np(WTERMSIG(status)); /* strsignal is not thread-safe */

		r->code = 128 + WTERMSIG(status);
		set_detail(r, "killed by signal %d (%s)", WTERMSIG(status), name ? name : "?");
	}
	/* the output, without its final newline, after the sentence */
	while (out->len > 0 && out->buf[out->len - 1] == '\n' && !out->truncated)
		out->len--;
	if (out->len > 0)
		append_detail(r, "\n%.*s", (int)out->len, out->buf);
	if (out->truncated)
		append_detail(r, "\n[output cut at %d bytes]", FL_PROBE_OUTPUT_MAX);
	free(out);
	return 0;
}

/* ---- entry points -------------------------------------------------------- */

int fl_probe_run(const struct fl_probe_spec *p, struct fl_probe_result *r)
{
	uint64_t t0, timeout;

	memset(r, 0, sizeof(*r));
	r->code = -1;
	r->started_ns = clock_ns(CLOCK_REALTIME);
	t0 = clock_ns(CLOCK_MONOTONIC);
	if (!p) {
		set_detail(r, "no probe");
		return -EINVAL;
	}
	timeout = p->timeout_ns;
	switch (p->kind) {
	case FL_PROBE_HTTP:
		return probe_http(p, r, timeout ? timeout : FL_PROBE_HTTP_TIMEOUT_NS, t0);
	case FL_PROBE_TCP:
		return probe_tcp(p, r, timeout ? timeout : FL_PROBE_TCP_TIMEOUT_NS, t0);
	case FL_PROBE_COMMAND:
		return probe_command(p, r, timeout ? timeout : FL_PROBE_COMMAND_TIMEOUT_NS, t0);
	}
	set_detail(r, "unknown probe kind %d", (int)p->kind);
	return -EINVAL;
}

bool fl_probe_due(struct fl_probe_clock *c, uint64_t every_ns, uint64_t now_ns)
{
	if (c->next_ns != 0 && now_ns < c->next_ns)
		return false;
	if (c->next_ns == 0 || every_ns == 0)
		c->next_ns = now_ns + every_ns;
	else
		c->next_ns += ((now_ns - c->next_ns) / every_ns + 1) * every_ns;
	if (c->next_ns == 0)
		c->next_ns = 1; /* 0 means "never run" */
	return true;
}

uint64_t fl_probe_wait_ns(const struct fl_probe_clock *c, uint64_t now_ns)
{
	return c->next_ns == 0 || now_ns >= c->next_ns ? 0 : c->next_ns - now_ns;
}
