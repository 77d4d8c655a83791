/*
 * fuzz/fuzz_api_http.c - libFuzzer harness for faultlined's HTTP front,
 * api/server.c, with requests as they come over the wire: each input is
 * written raw (method, path, query, headers, body; several pipelined
 * requests are fine) to a unix socket of a running server, which parses it
 * with the real libmicrohttpd and answers through faultline's own code
 * (auth, routing, query parsing, body limits and UTF-8 check, problem+json).
 *
 * This file includes api/server.c (compiled with -DFL_FUZZ) to reach its
 * structures. The experiment manager is not what is tested here: the fl_mgr_*
 * functions and fl_log (api/manager.c, which is not linked; the problem
 * functions are the real ones, api/problem.c) are small deterministic fakes
 * below, chosen so that every response path of server.c can be reached:
 *   - fl_mgr_create by the body's first byte (mod 4): 0 created (id "e1",
 *     or "e2" when the body ends in 'x'), 1 422 with an errors array, 2 409
 *     with a holder, 3 500 (type NULL);
 *   - fl_mgr_get, fl_mgr_report: "e1" found, "e2" 500, else 404;
 *   - fl_mgr_stop: "e1" stopped, "e2" 409 (already ended), else 404;
 *   - fl_mgr_list: a list, but 500 for limit 999;
 *   - schedules: create by the body's first byte (even: 201, odd: 422),
 *     "s1" found/deleted, else 404; the list is there.
 *
 * Two servers run, each on its own unix socket in a mkdtemp directory,
 * without rate limits: one as faultlined's unix socket (trusted), one whose
 * unix listener needs "Authorization: Bearer " FUZZ_TOKEN like the TCP one.
 * An input whose first byte is odd goes to the second. Requests that start
 * with "GET" or "OPTIONS" (odd first byte) therefore meet the token check;
 * libmicrohttpd skips empty lines before a request line, so a seed starting
 * with "\n" (even) reaches the open server and one starting with "\r" (odd)
 * the token one, whatever the method.
 *
 * Per input: connect, write the input (reading at the same time: the server
 * may answer before it has read it all), shutdown(SHUT_WR), read until EOF
 * (poll timeout 2 s), close, and wait until the server has let the
 * connection go (its thread joined) so that no thread or fd outlives the
 * input. Invariants, abort() on violation:
 *   - the server closes the connection within 2 s of the end of the request;
 *   - the response, when there is one, is a sequence of responses each
 *     starting "HTTP/1.x NNN " with a header block ending in CRLF CRLF and
 *     (but for a HEAD answer) a body of exactly Content-Length bytes;
 *   - an application/problem+json body parses (cJSON) as an object with
 *     "type" "urn:faultline:problem:...", "title", "detail" strings and
 *     "status" equal to the HTTP status; a 401 carries WWW-Authenticate, a
 *     405 Allow, a 201 Location; an application/json body parses.
 */
#include "api/server.c"

#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>

#define FUZZ_TOKEN "fuzz-token-5b8e2f"
#define TIMEOUT_MS 2000
#define RESP_MAX   (8u << 20)

/* ------------------------------------------------------------------ */
/* Fakes of api/manager.c                                              */

bool fl_log_stderr = false;

void fl_log(int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	(void)prio;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

static cJSON *fake_exp(const char *id, const char *state)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddStringToObject(o, "name", "fuzz");
	cJSON_AddStringToObject(o, "state", state);
	return o;
}

static void not_found(struct fl_problem *pb, const char *what, const char *id)
{
	fl_problem_set(pb, 404, "not-found", "not found", "no %s %s", what, id);
}

int fl_mgr_create(struct fl_mgr *m, const char *text, size_t len, const char *type,
		  const char *schedule_id, const char *created_by, char id[24],
		  struct fl_problem *pb)
{
	cJSON *e;

	(void)m;
	(void)type;
	(void)schedule_id;
	(void)created_by;
	if (!len || !text)
		abort(); /* the server refuses an empty body itself */
	switch ((unsigned char)text[0] & 3) {
	case 0: /* "e2": created, but reading it back fails */
		snprintf(id, 24, "%s", text[len - 1] == 'x' ? "e2" : "e1");
		return 0;
	case 1:
		fl_problem_set(pb, 422, "invalid-scenario", "invalid scenario", "%zu bytes of %s",
			       len, type);
		pb->errors = cJSON_CreateArray();
		e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "path", "steps[0].fault");
		cJSON_AddNumberToObject(e, "line", 3);
		cJSON_AddNumberToObject(e, "col", 5);
		cJSON_AddStringToObject(e, "message", "\"x\" is not a fault \x01\"\\");
		cJSON_AddItemToArray(pb->errors, e);
		return -EINVAL;
	case 2:
		fl_problem_set(pb, 409, "conflict", "flows held", "experiment e7 holds them");
		snprintf(pb->holder, sizeof(pb->holder), "e7");
		return -EBUSY;
	default:
		fl_problem_set(pb, 500, NULL, "internal error", "fake");
		return -EIO;
	}
}

cJSON *fl_mgr_get(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	(void)m;
	if (!strcmp(id, "e1"))
		return fake_exp(id, "running");
	if (!strcmp(id, "e2")) {
		fl_problem_set(pb, 500, "internal", "internal error", "cannot read %s", id);
		return NULL;
	}
	not_found(pb, "experiment", id);
	return NULL;
}

cJSON *fl_mgr_list(struct fl_mgr *m, const char *state, size_t limit, struct fl_problem *pb)
{
	cJSON *o, *a;

	(void)m;
	if (limit < 1 || limit > 1000)
		abort(); /* the server checks the limit */
	if (limit == 999) {
		fl_problem_set(pb, 500, "internal", "internal error", "the store failed");
		return NULL;
	}
	o = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(o, "experiments");
	cJSON_AddItemToArray(a, fake_exp("e1", state ? state : "running"));
	return o;
}

cJSON *fl_mgr_stop(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	(void)m;
	if (!strcmp(id, "e1"))
		return fake_exp(id, "aborted");
	if (!strcmp(id, "e2")) {
		fl_problem_set(pb, 409, "conflict", "already ended", "%s has ended", id);
		return NULL;
	}
	not_found(pb, "experiment", id);
	return NULL;
}

char *fl_mgr_report(struct fl_mgr *m, const char *id, const char *format, struct fl_problem *pb)
{
	(void)m;
	if (strcmp(format, "json") && strcmp(format, "junit"))
		abort(); /* the server checks the format */
	if (!strcmp(id, "e1"))
		return strdup(!strcmp(format, "junit") ? "<testsuites/>\n" : "{\"id\": \"e1\"}\n");
	if (!strcmp(id, "e2")) {
		fl_problem_set(pb, 500, "internal", "internal error", "no report");
		return NULL;
	}
	not_found(pb, "experiment", id);
	return NULL;
}

unsigned fl_mgr_running(struct fl_mgr *m)
{
	(void)m;
	return 1;
}

cJSON *fl_mgr_schedule_create(struct fl_mgr *m, const char *text, size_t len, const char *type,
			      const char *created_by, struct fl_problem *pb)
{
	cJSON *o;

	(void)m;
	(void)type;
	(void)created_by;
	if (!len || !text)
		abort();
	if (text[0] & 1) {
		fl_problem_set(pb, 422, "invalid-scenario", "invalid scenario", "no schedule:");
		pb->errors = cJSON_CreateArray();
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", "s1");
	cJSON_AddStringToObject(o, "cron", "*/5 * * * *");
	return o;
}

cJSON *fl_mgr_schedule_list(struct fl_mgr *m, struct fl_problem *pb)
{
	cJSON *o = cJSON_CreateObject();

	(void)m;
	(void)pb;
	cJSON_AddArrayToObject(o, "schedules");
	return o;
}

cJSON *fl_mgr_schedule_get(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	cJSON *o;

	(void)m;
	if (strcmp(id, "s1")) {
		not_found(pb, "schedule", id);
		return NULL;
	}
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "id", id);
	return o;
}

int fl_mgr_schedule_delete(struct fl_mgr *m, const char *id, struct fl_problem *pb)
{
	(void)m;
	if (strcmp(id, "s1")) {
		not_found(pb, "schedule", id);
		return -ENOENT;
	}
	return 0;
}

char *fl_mgr_metrics(struct fl_mgr *m)
{
	(void)m;
	return strdup("# TYPE faultline_experiments_running gauge\n"
		      "faultline_experiments_running 1\n");
}

/* ------------------------------------------------------------------ */
/* The servers                                                         */

static char dir[64];
static struct fl_server *srv[2]; /* [0] trusted unix socket, [1] needs the token */
static char path[2][128];
static bool dump; /* FUZZ_API_HTTP_DUMP set: print every response to stderr */

static void stop_servers(void)
{
	for (int i = 0; i < 2; i++) {
		fl_server_stop(srv[i]); /* unlinks the socket */
		srv[i] = NULL;
	}
	if (dir[0])
		rmdir(dir);
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_api_http: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char err[256] = "";

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	dump = getenv("FUZZ_API_HTTP_DUMP") != NULL;
	snprintf(dir, sizeof(dir), "%s/fuzz-api-http.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		die("mkdtemp failed");
	for (int i = 0; i < 2; i++) {
		struct fl_server_opts o = {0};

		snprintf(path[i], sizeof(path[i]), "%s/%s.sock", dir, i ? "token" : "open");
		o.socket_path = path[i];
		o.capabilities_json = "{\"bpf\": true, \"nft\": false}";
		o.rate = 0;
		o.write_rate = 0;
		if (fl_server_start(&o, &srv[i], err, sizeof(err))) {
			fprintf(stderr, "fuzz_api_http: %s\n", err);
			die("fl_server_start failed");
		}
	}
	/* no client can have connected yet */
	srv[1]->unix_l.need_token = true;
	srv[1]->token = strdup(FUZZ_TOKEN);
	if (!srv[1]->token)
		die("out of memory");
	atexit(stop_servers);
	return 0;
}

/* ------------------------------------------------------------------ */
/* One exchange                                                        */

struct buf {
	char *p;
	size_t n, cap;
};

static void buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = (b->n + n + 1) * 2;
		char *q = realloc(b->p, cap);

		if (!q)
			die("out of memory");
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Send data, half-close, read everything into out. */
static void exchange(const char *sock, const uint8_t *data, size_t size, struct buf *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t off = 0;
	bool wr = true;
	long long deadline;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("socket failed");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect failed"); /* a unix socket connects at once, or not */
	if (!size) {
		shutdown(fd, SHUT_WR);
		wr = false;
	}
	deadline = ms_now() + TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN | (wr ? POLLOUT : 0)};
		long long left = deadline - ms_now();
		int r;

		if (left <= 0) {
			fprintf(stderr,
				"fuzz_api_http: no EOF %d ms after the request (%zu of %zu "
				"bytes sent, %zu received)\n",
				TIMEOUT_MS, off, size, out->n);
			abort();
		}
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll failed");
		if (wr && (pfd.revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t k = send(fd, data + off, size - off, MSG_NOSIGNAL);

			if (k > 0) {
				off += (size_t)k;
				if (off == size) {
					shutdown(fd, SHUT_WR);
					wr = false;
					/* the whole request is out: 2 s from here */
					deadline = ms_now() + TIMEOUT_MS;
				}
			} else if (k < 0 && errno != EAGAIN && errno != EINTR) {
				wr = false; /* EPIPE, ECONNRESET: the server hung up */
			}
		}
		if (pfd.revents & (POLLIN | POLLERR | POLLHUP)) {
			char tmp[65536];
			ssize_t k = recv(fd, tmp, sizeof(tmp), 0);

			if (k > 0) {
				if (out->n + (size_t)k > RESP_MAX)
					die("response too large");
				buf_add(out, tmp, (size_t)k);
			} else if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
				break; /* EOF or ECONNRESET */
			}
		}
	}
	close(fd);
}

/* Wait until the server has cleaned the connection up (its thread joined). */
static void settle(struct fl_server *s)
{
	long long deadline = ms_now() + TIMEOUT_MS;

	for (;;) {
		const union MHD_DaemonInfo *di =
		    MHD_get_daemon_info(s->unix_l.d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!di || !di->num_connections)
			return;
		if (ms_now() > deadline)
			die("the server kept a connection 2 s after it closed it");
		usleep(50);
	}
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

static void bad(const char *why, const char *resp, size_t n)
{
	fprintf(stderr, "fuzz_api_http: %s; the response (%zu bytes):\n%.*s\n", why, n,
		(int)(n > 4096 ? 4096 : n), resp);
	abort();
}

/* The value of header name in the block [h, e), NUL-terminated in v, or false. */
static bool header(const char *h, const char *e, const char *name, char *v, size_t vlen)
{
	size_t nl = strlen(name);

	while (h < e) {
		const char *eol = memmem(h, (size_t)(e - h), "\r\n", 2);
		size_t ll = eol ? (size_t)(eol - h) : (size_t)(e - h);

		if (ll > nl && !strncasecmp(h, name, nl) && h[nl] == ':') {
			const char *p = h + nl + 1, *q = h + ll;

			while (p < q && (*p == ' ' || *p == '\t'))
				p++;
			while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
				q--;
			snprintf(v, vlen, "%.*s", (int)(q - p), p);
			return true;
		}
		h += ll + 2;
	}
	return false;
}

static void check_problem(const char *body, size_t n, int status, const char *resp, size_t rn)
{
	cJSON *o = cJSON_ParseWithLength(body, n), *st, *ty;

	if (!cJSON_IsObject(o))
		bad("a problem+json body that is no JSON object", resp, rn);
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	ty = cJSON_GetObjectItemCaseSensitive(o, "type");
	if (!cJSON_IsNumber(st) || st->valuedouble != status)
		bad("a problem whose \"status\" is not the HTTP status", resp, rn);
	if (!cJSON_IsString(ty) || strncmp(ty->valuestring, "urn:faultline:problem:", 22) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "title")) ||
	    !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "detail")))
		bad("a problem without type, title or detail", resp, rn);
	cJSON_Delete(o);
}

static void check_response(const char *resp, size_t rn)
{
	const char *p = resp, *end = resp + rn;

	while (p < end) {
		const char *hdrs, *hend;
		char v[256], type[128] = "";
		size_t left = (size_t)(end - p), cl = 0, avail;
		bool has_cl;
		int status;

		if (left < 13 || memcmp(p, "HTTP/1.", 7) || !isdigit((unsigned char)p[7]) ||
		    p[8] != ' ' || !isdigit((unsigned char)p[9]) ||
		    !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
		    (p[12] != ' ' && p[12] != '\r'))
			bad("no \"HTTP/1.x NNN\" status line", resp, rn);
		status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
		if (status < 100 || status > 599)
			bad("a status out of 100..599", resp, rn);
		hdrs = memmem(p, left, "\r\n", 2);
		hend = memmem(p, left, "\r\n\r\n", 4);
		if (!hdrs || !hend)
			bad("a header block without its end", resp, rn);
		hdrs += 2;
		hend += 2; /* the last header's CRLF */
		p = hend + 2;
		if (status < 200)
			continue; /* 100 Continue and the like: the answer follows */
		header(hdrs, hend, "Content-Type", type, sizeof(type));
		if (status == 401 && !header(hdrs, hend, "WWW-Authenticate", v, sizeof(v)))
			bad("a 401 without WWW-Authenticate", resp, rn);
		if (status == 405 && !header(hdrs, hend, "Allow", v, sizeof(v)))
			bad("a 405 without Allow", resp, rn);
		if (status == 201 && !header(hdrs, hend, "Location", v, sizeof(v)))
			bad("a 201 without Location", resp, rn);
		has_cl = header(hdrs, hend, "Content-Length", v, sizeof(v));
		if (has_cl) {
			char *e;

			errno = 0;
			cl = strtoul(v, &e, 10);
			if (errno || *e || e == v)
				bad("a bad Content-Length", resp, rn);
		}
		if (status == 204 || status == 304)
			continue;
		avail = (size_t)(end - p);
		/* the answer to a HEAD: headers only, then the next answer or the end */
		if (!avail || (avail >= 7 && !memcmp(p, "HTTP/1.", 7)))
			continue;
		if (!has_cl)
			return; /* (chunked: none of faultline's) nothing more to delimit */
		if (avail < cl)
			bad("a body shorter than its Content-Length", resp, rn);
		if (!strncasecmp(type, "application/problem+json", 24)) {
			check_problem(p, cl, status, resp, rn);
		} else if (!strncasecmp(type, "application/json", 16)) {
			cJSON *o = cJSON_ParseWithLength(p, cl);

			if (!o)
				bad("an application/json body that does not parse", resp, rn);
			cJSON_Delete(o);
		}
		p += cl;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int which = size && (data[0] & 1);
	struct buf out = {0};

	exchange(path[which], data, size, &out);
	settle(srv[which]);
	if (dump)
		fprintf(stderr, "--- %s server, %zu bytes in, %zu out:\n%.*s\n",
			which ? "token" : "open", size, out.n, (int)out.n, out.p ? out.p : "");
	if (out.n)
		check_response(out.p, out.n);
	free(out.p);
	return 0;
}
