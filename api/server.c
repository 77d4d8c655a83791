/*
 * api/server.c - faultlined's HTTP front on libmicrohttpd: a unix socket
 * (trusted: whoever may open it) and, with a token, TCP (every request must
 * carry "Authorization: Bearer TOKEN", compared in constant time). Bodies are
 * read whole up to FL_API_BODY_MAX, checked for UTF-8 and handed to the
 * manager; every error leaves as application/problem+json (docs/api.md).
 * One thread per connection: a DELETE waits for its experiment's rollback
 * without holding up anyone else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/daemon.h"

#define CONN_LIMIT   256
#define CONN_TIMEOUT 10		 /* s */
#define MEM_LIMIT    (32 * 1024) /* per connection: headers and buffers */

/*
 * docs/openapi.json, built in (the assembler reads it at compile time, from
 * the directory make runs in), NUL-terminated; GET /v1/openapi.json.
 */
__asm__(".section .rodata\n"
	".global fl_openapi_json\n"
	".type fl_openapi_json, @object\n"
	".balign 8\n"
	"fl_openapi_json:\n"
	".incbin \"docs/openapi.json\"\n"
	".byte 0\n"
	".size fl_openapi_json, . - fl_openapi_json\n"
	".previous\n");
extern const char fl_openapi_json[];

struct listener {
	struct fl_server *srv;
	bool need_token;
	struct MHD_Daemon *d;
	int fd;
};

/*
 * Rate limits: per client (a TCP peer's address, a unix peer's uid), two
 * token buckets, every request and writes (POST, DELETE), each refilling
 * at its rate per second up to twice that. The table keeps the clients
 * seen most recently; a client pushed out starts again with full buckets.
 */
#define RL_CLIENTS 256

struct rl_client {
	char key[64];
	double all, writes; /* tokens */
	double at;	    /* last refill, s on CLOCK_MONOTONIC */
};

struct fl_server {
	struct fl_server_opts o;
	pthread_mutex_t rl_lock;
	struct rl_client rl[RL_CLIENTS];
	unsigned rl_n;
	unsigned long long rl_refused;
	struct listener unix_l, tcp_l;
	char *token;
	char *capabilities;
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct timespec started;
};

struct req {
	char *body;
	size_t len, cap;
	bool too_large;
	bool answered;
};

/* ------------------------------------------------------------------ */
/* Responses                                                           */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
				 char *text, const char *hname, const char *hvalue)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!text)
		text = strdup("");
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (hname)
		MHD_add_response_header(r, hname, hvalue);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* o as text with a final newline; o is freed. */
static char *json_text(cJSON *o)
{
	char *text = cJSON_Print(o), *nl;
	size_t n;

	cJSON_Delete(o);
	if (!text)
		return NULL;
	n = strlen(text);
	nl = realloc(text, n + 2);
	if (!nl)
		return text;
	nl[n] = '\n';
	nl[n + 1] = '\0';
	return nl;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *o,
				 const char *hname, const char *hvalue)
{
	return send_text(c, status, "application/json", json_text(o), hname, hvalue);
}

/* p as application/problem+json (p is cleared), with one extra header. */
static enum MHD_Result send_problem_hdr(struct MHD_Connection *c, struct fl_problem *p,
					const char *hname, const char *hvalue)
{
	cJSON *o = cJSON_CreateObject();
	char type[96];
	enum MHD_Result ret;

	snprintf(type, sizeof(type), "urn:faultline:problem:%s", p->type ? p->type : "internal");
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "title", p->title);
	cJSON_AddNumberToObject(o, "status", p->status);
	cJSON_AddStringToObject(o, "detail", p->detail);
	if (p->errors) {
		cJSON_AddItemToObject(o, "errors", p->errors);
		p->errors = NULL;
	}
	if (p->holder[0])
		cJSON_AddStringToObject(o, "holder", p->holder);
	ret = send_text(c, (unsigned)p->status, "application/problem+json", json_text(o), hname,
			hvalue);
	fl_problem_clear(p);
	return ret;
}

static enum MHD_Result send_problem(struct MHD_Connection *c, struct fl_problem *p)
{
	if (p->status == 401)
		return send_problem_hdr(c, p, "WWW-Authenticate", "Bearer realm=\"faultlined\"");
	return send_problem_hdr(c, p, NULL, NULL);
}

static enum MHD_Result problem(struct MHD_Connection *c, int status, const char *type,
			       const char *title, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static enum MHD_Result problem(struct MHD_Connection *c, int status, const char *type,
			       const char *title, const char *fmt, ...)
{
	struct fl_problem p = {0};
	va_list ap;

	p.status = status;
	p.type = type;
	snprintf(p.title, sizeof(p.title), "%s", title);
	va_start(ap, fmt);
	vsnprintf(p.detail, sizeof(p.detail), fmt, ap);
	va_end(ap);
	return send_problem(c, &p);
}

static enum MHD_Result not_allowed(struct MHD_Connection *c, const char *method, const char *allow)
{
	struct fl_problem p = {0};

	fl_problem_set(&p, 405, "method-not-allowed", "method not allowed",
		       "%s is not allowed here (expected %s)", method, allow);
	return send_problem_hdr(c, &p, "Allow", allow);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

/* have: hl bytes (not NUL-terminated), or NULL. */
static bool token_ok(const char *have, size_t hl, const char *want)
{
	size_t wl = strlen(want), n = hl > wl ? hl : wl;
	unsigned char diff = (unsigned char)(hl != wl);

	for (size_t i = 0; i < n; i++) {
		unsigned char a = i < hl ? (unsigned char)have[i] : 0;
		unsigned char b = i < wl ? (unsigned char)want[i] : 0;

		diff |= a ^ b;
	}
	return have && diff == 0;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF), and no NUL. */
static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t k;
		unsigned cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* "json", "yaml", or NULL for the Content-Type of a POST. */
static const char *body_type(struct MHD_Connection *c)
{
	const char *ct =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n;

	if (!ct)
		return NULL;
	n = strcspn(ct, "; \t");
	if ((n == 16 && !strncasecmp(ct, "application/json", n)))
		return "json";
	if ((n == 16 && !strncasecmp(ct, "application/yaml", n)) ||
	    (n == 18 && !strncasecmp(ct, "application/x-yaml", n)) ||
	    (n == 9 && !strncasecmp(ct, "text/yaml", n)))
		return "yaml";
	return NULL;
}

/* The id in "/v1/experiments/ID" and the rest after it. */
static bool split_id(const char *url, const char *prefix, char *id, size_t idlen, const char **rest)
{
	size_t pl = strlen(prefix), n;

	if (strncmp(url, prefix, pl) || !url[pl])
		return false;
	n = strcspn(url + pl, "/");
	if (!n)
		return false;
	if (n >= idlen) { /* no id is that long: a 404 for "..." */
		snprintf(id, idlen, "...");
		*rest = "";
		return true;
	}
	memcpy(id, url + pl, n);
	id[n] = '\0';
	*rest = url + pl + n;
	return true;
}

/* ------------------------------------------------------------------ */
/* Rate limits                                                         */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* "uid:N" of a unix peer, "ip:ADDR" of a TCP one, in key. */
static void client_key(struct MHD_Connection *c, char *key, size_t len)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa && sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
		snprintf(key, len, "ip:%s", addr);
		return;
	}
	if (sa && sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
			  sizeof(addr));
		snprintf(key, len, "ip:%s", addr);
		return;
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci) {
		struct ucred cr;
		socklen_t cl = sizeof(cr);

		if (getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) == 0) {
			snprintf(key, len, "uid:%u", (unsigned)cr.uid);
			return;
		}
	}
	snprintf(key, len, "unknown");
}

/*
 * Take one token for this request (and one write token for a write). 0 when
 * allowed; otherwise the seconds until a token is back (at least 1).
 */
static unsigned rate_take(struct fl_server *s, struct MHD_Connection *c, bool write,
			  bool *by_writes)
{
	struct rl_client *cl = NULL;
	unsigned wait = 0;
	char key[64];
	double t = now_s(), need = 0;

	if (!s->o.rate && !(write && s->o.write_rate))
		return 0;
	client_key(c, key, sizeof(key));
	pthread_mutex_lock(&s->rl_lock);
	for (unsigned i = 0; i < s->rl_n; i++) {
		if (!strcmp(s->rl[i].key, key)) {
			cl = &s->rl[i];
			break;
		}
	}
	if (!cl) {
		if (s->rl_n < RL_CLIENTS) {
			cl = &s->rl[s->rl_n++];
		} else { /* the one seen longest ago makes room */
			cl = &s->rl[0];
			for (unsigned i = 1; i < s->rl_n; i++)
				if (s->rl[i].at < cl->at)
					cl = &s->rl[i];
		}
		snprintf(cl->key, sizeof(cl->key), "%s", key);
		cl->all = 2.0 * s->o.rate;
		cl->writes = 2.0 * s->o.write_rate;
		cl->at = t;
	}
	if (s->o.rate)
		cl->all = fmin(2.0 * s->o.rate, cl->all + (t - cl->at) * s->o.rate);
	if (s->o.write_rate)
		cl->writes =
		    fmin(2.0 * s->o.write_rate, cl->writes + (t - cl->at) * s->o.write_rate);
	cl->at = t;
	*by_writes = false;
	if (s->o.rate && cl->all < 1.0)
		need = (1.0 - cl->all) / s->o.rate;
	if (write && s->o.write_rate && cl->writes < 1.0 &&
	    (1.0 - cl->writes) / s->o.write_rate > need) {
		need = (1.0 - cl->writes) / s->o.write_rate;
		*by_writes = true;
	}
	if (need > 0) {
		wait = (unsigned)ceil(need);
		s->rl_refused++;
	} else {
		if (s->o.rate)
			cl->all -= 1.0;
		if (write && s->o.write_rate)
			cl->writes -= 1.0;
	}
	pthread_mutex_unlock(&s->rl_lock);
	return wait;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */

static enum MHD_Result route(struct fl_server *srv, struct MHD_Connection *c, const char *url,
			     const char *method, struct req *rq)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST"), del = !strcmp(method, "DELETE");
	struct fl_problem pb = {0};
	const char *rest;
	char id[64];
	cJSON *o;

	if (!strcmp(url, "/v1/health")) {
		struct timespec now;

		if (!get)
			return not_allowed(c, method, "GET");
		clock_gettime(CLOCK_MONOTONIC, &now);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "status", "ok");
		cJSON_AddStringToObject(o, "version", FL_VERSION);
		cJSON_AddNumberToObject(o, "uptime_s",
					(double)(now.tv_sec - srv->started.tv_sec) +
					    (now.tv_nsec - srv->started.tv_nsec) / 1e9);
		cJSON_AddNumberToObject(o, "experiments_running", fl_mgr_running(srv->o.mgr));
		return send_json(c, 200, o, NULL, NULL);
	}
	if (!strcmp(url, "/v1/capabilities")) {
		if (!get)
			return not_allowed(c, method, "GET");
		return send_text(c, 200, "application/json",
				 strdup(srv->capabilities ? srv->capabilities : "{}"), NULL, NULL);
	}
	if (!strcmp(url, "/v1/openapi.json")) {
		if (!get)
			return not_allowed(c, method, "GET");
		return send_text(c, 200, "application/json", strdup(fl_openapi_json), NULL, NULL);
	}
	if (!strcmp(url, "/metrics")) {
		char *text, *all = NULL;
		unsigned long long refused;

		if (!get)
			return not_allowed(c, method, "GET");
		text = fl_mgr_metrics(srv->o.mgr);
		pthread_mutex_lock(&srv->rl_lock);
		refused = srv->rl_refused;
		pthread_mutex_unlock(&srv->rl_lock);
		if (text && asprintf(&all,
				     "%s# HELP faultline_api_rate_limited_total Requests refused "
				     "with 429 (rate limits).\n"
				     "# TYPE faultline_api_rate_limited_total counter\n"
				     "faultline_api_rate_limited_total %llu\n",
				     text, refused) < 0)
			all = NULL;
		free(text);
		return send_text(c, 200, "text/plain; version=0.0.4; charset=utf-8", all, NULL,
				 NULL);
	}
	if (!strcmp(url, "/v1/experiments") || !strcmp(url, "/v1/schedules")) {
		bool exp = url[4] == 'e';

		if (get && exp) {
			const char *state =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
			const char *lim =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
			static const char *const states[] = {"pending", "running", "completed",
							     "aborted", "failed"};
			long limit = 100;
			bool ok = !state;

			for (size_t i = 0; state && i < 5; i++)
				ok |= !strcmp(state, states[i]);
			if (!ok)
				return problem(c, 400, "bad-request", "bad query parameter",
					       "state: \"%s\" is not a state (expected pending, "
					       "running, completed, aborted or failed)",
					       state);
			if (lim) {
				char *end;

				errno = 0;
				limit = strtol(lim, &end, 10);
				if (errno || *end || end == lim || limit < 1 || limit > 1000)
					return problem(
					    c, 400, "bad-request", "bad query parameter",
					    "limit: \"%s\" is not a number from 1 to 1000", lim);
			}
			o = fl_mgr_list(srv->o.mgr, state, (size_t)limit, &pb);
			return o ? send_json(c, 200, o, NULL, NULL) : send_problem(c, &pb);
		}
		if (get) {
			o = fl_mgr_schedule_list(srv->o.mgr, &pb);
			return o ? send_json(c, 200, o, NULL, NULL) : send_problem(c, &pb);
		}
		if (post) {
			const char *type = body_type(c);
			char eid[24], loc[96], by[64];

			if (!type)
				return problem(
				    c, 415, "unsupported-media-type", "unsupported media type",
				    "Content-Type must be application/json or "
				    "application/yaml (also application/x-yaml, text/yaml)");
			if (!rq->len)
				return problem(c, 400, "bad-request", "empty body",
					       "the body must be a scenario (docs/scenario.md)");
			if (!utf8_ok((const unsigned char *)rq->body, rq->len))
				return problem(c, 400, "bad-request", "the body is not UTF-8",
					       "the body must be UTF-8 text without NUL bytes");
			client_key(c, by, sizeof(by));
			if (!exp) {
				o = fl_mgr_schedule_create(srv->o.mgr, rq->body, rq->len, type, by,
							   &pb);
				if (!o)
					return send_problem(c, &pb);
				snprintf(loc, sizeof(loc), "/v1/schedules/%s",
					 cJSON_GetStringValue(cJSON_GetObjectItem(o, "id")));
				return send_json(c, 201, o, "Location", loc);
			}
			if (fl_mgr_create(srv->o.mgr, rq->body, rq->len, type, NULL, by, eid, &pb))
				return send_problem(c, &pb);
			o = fl_mgr_get(srv->o.mgr, eid, &pb);
			if (!o)
				return send_problem(c, &pb);
			snprintf(loc, sizeof(loc), "/v1/experiments/%s", eid);
			return send_json(c, 201, o, "Location", loc);
		}
		return not_allowed(c, method, "GET, POST");
	}
	if (split_id(url, "/v1/experiments/", id, sizeof(id), &rest)) {
		if (!strcmp(rest, "/report")) {
			const char *fmt =
			    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "format");
			char *text;

			if (!get)
				return not_allowed(c, method, "GET");
			if (!fmt)
				fmt = "json";
			if (strcmp(fmt, "json") && strcmp(fmt, "junit"))
				return problem(c, 400, "bad-request", "bad query parameter",
					       "format: \"%s\" is not a report format (expected "
					       "json or junit)",
					       fmt);
			text = fl_mgr_report(srv->o.mgr, id, fmt, &pb);
			if (!text)
				return send_problem(c, &pb);
			return send_text(
			    c, 200, !strcmp(fmt, "junit") ? "application/xml" : "application/json",
			    text, NULL, NULL);
		}
		if (*rest)
			return problem(c, 404, "not-found", "no such route", "no route %s", url);
		if (get) {
			o = fl_mgr_get(srv->o.mgr, id, &pb);
			return o ? send_json(c, 200, o, NULL, NULL) : send_problem(c, &pb);
		}
		if (del) {
			o = fl_mgr_stop(srv->o.mgr, id, &pb);
			return o ? send_json(c, 200, o, NULL, NULL) : send_problem(c, &pb);
		}
		return not_allowed(c, method, "GET, DELETE");
	}
	if (split_id(url, "/v1/schedules/", id, sizeof(id), &rest)) {
		if (*rest)
			return problem(c, 404, "not-found", "no such route", "no route %s", url);
		if (get) {
			o = fl_mgr_schedule_get(srv->o.mgr, id, &pb);
			return o ? send_json(c, 200, o, NULL, NULL) : send_problem(c, &pb);
		}
		if (del) {
			if (fl_mgr_schedule_delete(srv->o.mgr, id, &pb))
				return send_problem(c, &pb);
			return send_text(c, 204, "text/plain", NULL, NULL, NULL);
		}
		return not_allowed(c, method, "GET, DELETE");
	}
	(void)rq;
	return problem(c, 404, "not-found", "no such route",
		       "no route %s (see docs/api.md: /v1/health, /v1/capabilities, "
		       "/v1/experiments, /v1/schedules, /v1/openapi.json, /metrics)",
		       url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct listener *l = cls;
	struct req *rq = *con_cls;

	(void)version;
	if (!rq) {
		const char *cl;

		bool write = !strcmp(method, "POST") || !strcmp(method, "DELETE"), by_writes;
		unsigned wait;

		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		wait = rate_take(l->srv, c, write, &by_writes);
		if (wait) {
			struct fl_problem p = {0};
			char after[16];

			rq->answered = true;
			fl_problem_set(&p, 429, "rate-limited", "too many requests",
				       "this client sent more than %u requests per second%s; "
				       "retry after %u s",
				       by_writes ? l->srv->o.write_rate : l->srv->o.rate,
				       by_writes ? " that change something (POST, DELETE)" : "",
				       wait);
			snprintf(after, sizeof(after), "%u", wait);
			return send_problem_hdr(c, &p, "Retry-After", after);
		}
		if (l->need_token) {
			const char *auth = MHD_lookup_connection_value(
			    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
			/* "Bearer" 1*SP token (RFC 6750), and the field's trailing
			 * white space is not part of it (RFC 9110) */
			const char *tok = auth && !strncasecmp(auth, "Bearer ", 7)
					      ? auth + 7 + strspn(auth + 7, " ")
					      : NULL;
			size_t tl = tok ? strlen(tok) : 0;

			while (tl && (tok[tl - 1] == ' ' || tok[tl - 1] == '\t'))
				tl--;
			if (!token_ok(tok, tl, l->srv->token)) {
				rq->answered = true;
				return problem(c, 401, "unauthorized", "unauthorized", "%s",
					       auth ? "the bearer token is wrong"
						    : "this listener needs "
						      "'Authorization: Bearer TOKEN'");
			}
		}
		cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > FL_API_BODY_MAX) {
			rq->answered = true;
			return problem(c, 413, "too-large", "the body is too large",
				       "%s bytes; the most a request may carry is %u", cl,
				       FL_API_BODY_MAX);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!rq->answered && !rq->too_large) {
			if (rq->len + *upload_data_size > FL_API_BODY_MAX) {
				rq->too_large = true;
			} else {
				if (rq->len + *upload_data_size + 1 > rq->cap) {
					size_t cap = (rq->len + *upload_data_size + 1) * 2;
					char *b;

					if (cap > FL_API_BODY_MAX + 1)
						cap = FL_API_BODY_MAX + 1;
					b = realloc(rq->body, cap);
					if (!b)
						return MHD_NO;
					rq->body = b;
					rq->cap = cap;
				}
				memcpy(rq->body + rq->len, upload_data, *upload_data_size);
				rq->len += *upload_data_size;
				rq->body[rq->len] = '\0';
			}
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq->answered)
		return MHD_YES;
	rq->answered = true;
	if (rq->too_large)
		return problem(c, 413, "too-large", "the body is too large",
			       "the most a request may carry is %u bytes", FL_API_BODY_MAX);
	return route(l->srv, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	fl_log(LOG_WARNING, "http: %s", buf);
}

static int start_listener(struct listener *l, int fd)
{
	l->fd = fd;
	l->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, on_request, l, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MEM_LIMIT, MHD_OPTION_NOTIFY_COMPLETED,
	    on_completed, NULL, MHD_OPTION_END);
	return l->d ? 0 : -EIO;
}

int fl_server_listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--socket: '%s' is too long for a unix socket path", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a socket nobody answers on is a dead daemon's: replace it; one that
	 * answers belongs to a live daemon: refuse */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		snprintf(err, errlen, "another faultlined answers on %s", path);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		int e = -errno;

		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(-e));
		close(fd);
		return e;
	}
	return fd;
}

int fl_server_listen_tcp(const char *listen_on, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {0};
	char host[128];
	const char *colon = strrchr(listen_on, ':');
	socklen_t sl;
	long port;
	char *end;
	int fd, one = 1;

	if (!colon || colon == listen_on || (size_t)(colon - listen_on) >= sizeof(host)) {
		snprintf(err, errlen, "--listen: \"%s\" is not ADDR:PORT (e.g. 127.0.0.1:7070)",
			 listen_on);
		return -EINVAL;
	}
	memcpy(host, listen_on, (size_t)(colon - listen_on));
	host[colon - listen_on] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535) {
		snprintf(err, errlen, "--listen: port \"%s\" is not 1..65535", colon + 1);
		return -EINVAL;
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		sl = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen, "--listen: \"%s\" is not an IPv4 or IPv6 address", host);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
		int e = -errno;

		snprintf(err, errlen, "cannot listen on %s: %s", listen_on, strerror(-e));
		close(fd);
		return e;
	}
	return fd;
}

int fl_server_start(const struct fl_server_opts *o, struct fl_server **out, char *err,
		    size_t errlen)
{
	struct fl_server *s = calloc(1, sizeof(*s));
	int fd, r;

	if (!s)
		return -ENOMEM;
	s->o = *o;
	pthread_mutex_init(&s->rl_lock, NULL);
	s->unix_l.srv = s->tcp_l.srv = s;
	s->unix_l.fd = s->tcp_l.fd = -1;
	s->tcp_l.need_token = true;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->capabilities = o->capabilities_json ? strdup(o->capabilities_json) : NULL;
	if (o->listen) {
		if (!o->token || !o->token[0]) {
			snprintf(err, errlen,
				 "--listen needs --token-file: TCP is never open "
				 "without a bearer token");
			free(s->capabilities);
			free(s);
			return -EINVAL;
		}
		s->token = strdup(o->token);
	}
	if (o->socket_path) {
		fd = o->unix_fd > 0 ? o->unix_fd
				    : fl_server_listen_unix(o->socket_path, err, errlen);
		if (fd < 0) {
			fl_server_stop(s);
			return fd;
		}
		snprintf(s->socket_path, sizeof(s->socket_path), "%s", o->socket_path);
		r = start_listener(&s->unix_l, fd);
		if (r) {
			close(fd);
			snprintf(err, errlen, "cannot start the HTTP server on %s", o->socket_path);
			fl_server_stop(s);
			return r;
		}
	}
	if (o->listen) {
		fd = o->tcp_fd > 0 ? o->tcp_fd : fl_server_listen_tcp(o->listen, err, errlen);
		if (fd < 0) {
			fl_server_stop(s);
			return fd;
		}
		r = start_listener(&s->tcp_l, fd);
		if (r) {
			close(fd);
			snprintf(err, errlen, "cannot start the HTTP server on %s", o->listen);
			fl_server_stop(s);
			return r;
		}
	}
	*out = s;
	return 0;
}

void fl_server_stop(struct fl_server *s)
{
	if (!s)
		return;
	if (s->unix_l.d) {
		MHD_stop_daemon(s->unix_l.d);
		close(s->unix_l.fd);
	}
	if (s->tcp_l.d) {
		MHD_stop_daemon(s->tcp_l.d);
		close(s->tcp_l.fd);
	}
	if (s->socket_path[0])
		unlink(s->socket_path);
	if (s->token) {
		explicit_bzero(s->token, strlen(s->token));
		free(s->token);
	}
	free(s->capabilities);
	pthread_mutex_destroy(&s->rl_lock);
	free(s);
}
