/*
 * cli/ctl.c - the CLI as a client of faultlined (docs/api.md): ls, status,
 * stop, schedule, and the submission behind `run --detach` and
 * `inject --detach`. libcurl over the daemon's unix socket, or over TCP with
 * a bearer token.
 *
 * Exit codes: 0 ok; 2 bad input (a flag, or the daemon answered 400, 401,
 * 404, 405, 413, 415 or 422); 4 refused or failed (409, 5xx); 1 the daemon
 * cannot be reached.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "faultline/scenario.h"

#define SOCKET_DEFAULT	 "/run/faultline/faultlined.sock"
#define EXIT_UNREACHABLE 1

struct ctl {
	const char *socket; /* unix socket, or */
	const char *url;    /* http://ADDR:PORT */
	char *token;	    /* from the token file */
	int json;
};

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct buf *b = ud;
	size_t len = size * nmemb;
	char *p = realloc(b->p, b->n + len + 1);

	if (!p)
		return 0;
	memcpy(p + b->n, ptr, len);
	b->p = p;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

static void ctl_free(struct ctl *c)
{
	if (c->token) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
}

static int read_token(struct ctl *c, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "re");

	if (!f) {
		fl_cli_err("--token-file: cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	c->token = strdup(line);
	memset(line, 0, sizeof(line));
	return c->token ? 0 : -1;
}

/* The connection flags every client command takes; returns 0, or the exit
 * code of a usage error. */
static int ctl_setup(struct ctl *c, const char *socket_flag, const char *url_flag,
		     const char *token_flag)
{
	const char *tf = token_flag ? token_flag : getenv("FAULTLINE_TOKEN_FILE");

	c->url = url_flag ? url_flag : getenv("FAULTLINE_URL");
	c->socket = socket_flag ? socket_flag : getenv("FAULTLINE_SOCKET");
	if (socket_flag && url_flag) {
		fl_cli_err("--socket and --url: one or the other");
		return FL_EXIT_USAGE;
	}
	if (socket_flag)
		c->url = NULL;
	if (!c->url && !c->socket)
		c->socket = SOCKET_DEFAULT;
	if (c->url && strncmp(c->url, "http://", 7)) {
		fl_cli_err("--url: \"%s\" is not http://ADDR:PORT", c->url);
		return FL_EXIT_USAGE;
	}
	if (c->url && tf && read_token(c, tf))
		return FL_EXIT_USAGE;
	return 0;
}

/* One request; the status into *status, the body into *out (malloc'd).
 * Returns 0, or EXIT_UNREACHABLE after saying why. */
static int request(struct ctl *c, const char *method, const char *path, const char *body,
		   size_t len, const char *ctype, long timeout_s, long *status, char **out)
{
	struct curl_slist *h = NULL;
	struct buf b = {0};
	char url[1024], auth[4200], ct[128];
	CURLcode rc;
	CURL *e;

	*out = NULL;
	*status = 0;
	e = curl_easy_init();
	if (!e) {
		fl_cli_err("cannot start libcurl");
		return EXIT_UNREACHABLE;
	}
	if (c->url) {
		snprintf(url, sizeof(url), "%s%s", c->url, path);
	} else {
		snprintf(url, sizeof(url), "http://localhost%s", path);
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		h = curl_slist_append(h, auth);
	}
	if (h)
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(e);
	if (rc == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	if (rc != CURLE_OK) {
		free(b.p);
		fl_cli_err("cannot reach faultlined at %s: %s (is it running? 'sudo faultlined' or "
			   "'systemctl start faultlined')",
			   c->url ? c->url : c->socket, curl_easy_strerror(rc));
		return EXIT_UNREACHABLE;
	}
	*out = b.p ? b.p : strdup("");
	return 0;
}

/* "PREFIX" followed by value percent-encoded (an id or a query value from
 * the command line goes into the URL as data, never as path or query
 * syntax). */
static void url_with(char *dst, size_t len, const char *prefix, const char *value)
{
	char *v = curl_easy_escape(NULL, value, 0);

	snprintf(dst, len, "%s%s", prefix, v ? v : "");
	curl_free(v);
}

/* Print a problem+json answer; returns the exit code for its status. */
static int problem(long status, const char *text, const char *file)
{
	cJSON *o = cJSON_Parse(text), *errs;
	const char *title = o ? cJSON_GetStringValue(cJSON_GetObjectItem(o, "title")) : NULL;
	const char *detail = o ? cJSON_GetStringValue(cJSON_GetObjectItem(o, "detail")) : NULL;

	fl_cli_err("%s: %s", title ? title : "error", detail ? detail : text);
	errs = o ? cJSON_GetObjectItem(o, "errors") : NULL;
	for (cJSON *e = errs ? errs->child : NULL; e; e = e->next) {
		const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(e, "path"));
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
		int line = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "line"));
		int col = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "col"));

		if (line > 0)
			fprintf(stderr, "%s:%d:%d: %s%s%s\n", file ? file : "request", line, col,
				path && *path ? path : "", path && *path ? ": " : "",
				msg ? msg : "");
		else
			fprintf(stderr, "%s: %s%s%s\n", file ? file : "request",
				path && *path ? path : "", path && *path ? ": " : "",
				msg ? msg : "");
	}
	cJSON_Delete(o);
	if (status == 409 || status >= 500)
		return FL_EXIT_INJECT;
	return FL_EXIT_USAGE;
}

/* request(), and an answer other than want printed as the problem it is:
 * 0 with the body in *out (malloc'd), or the exit code (*out NULL). */
static int call(struct ctl *c, const char *method, const char *path, const char *body, size_t len,
		const char *ctype, long timeout_s, long want, const char *file, char **out)
{
	long status;
	int r = request(c, method, path, body, len, ctype, timeout_s, &status, out);

	if (!r && status != want) {
		r = problem(status, *out, file);
		free(*out);
		*out = NULL;
	}
	return r;
}

static void print_json(const char *text)
{
	cJSON *o = cJSON_Parse(text);
	char *p = o ? cJSON_Print(o) : NULL;

	puts(p ? p : text);
	free(p);
	cJSON_Delete(o);
}

static const char *str(const cJSON *o, const char *key)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return s ? s : "-";
}

static void print_experiment(const cJSON *o)
{
	const cJSON *steps = cJSON_GetObjectItem(o, "steps"),
		    *ec = cJSON_GetObjectItem(o, "exit_code");

	printf("%s  %s\n", str(o, "id"), str(o, "name"));
	printf("  state     %s%s%s\n", str(o, "state"),
	       cJSON_IsString(cJSON_GetObjectItem(o, "reason")) ? ": " : "",
	       cJSON_IsString(cJSON_GetObjectItem(o, "reason")) ? str(o, "reason") : "");
	printf("  created   %s\n  started   %s\n  ended     %s\n", str(o, "created"),
	       str(o, "started"), str(o, "ended"));
	if (cJSON_IsString(cJSON_GetObjectItem(o, "verdict")))
		printf("  verdict   %s (exit %d)\n", str(o, "verdict"),
		       cJSON_IsNumber(ec) ? (int)ec->valuedouble : -1);
	for (const cJSON *s = steps ? steps->child : NULL; s; s = s->next)
		printf("  step %d    %-8s %s on %s: matched %.0f packets (%.0f bytes)\n",
		       (int)cJSON_GetNumberValue(cJSON_GetObjectItem(s, "index")) + 1,
		       str(s, "state"), str(s, "fault"), str(s, "target"),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(s, "matched")),
		       cJSON_GetNumberValue(cJSON_GetObjectItem(s, "bytes")));
}

/* ------------------------------------------------------------------ */

enum { O_SOCKET = 300, O_URL, O_TOKEN, O_JSON, O_STATE, O_LIMIT, O_WAIT, O_ALL };

#define CONN_OPTS                                                                                  \
	{"socket", required_argument, NULL, O_SOCKET}, {"url", required_argument, NULL, O_URL},    \
	    {"token-file", required_argument, NULL, O_TOKEN}, {"json", no_argument, NULL, O_JSON}, \
	{                                                                                          \
		"help", no_argument, NULL, 'h'                                                     \
	}

#define CONN_HELP                                                                                  \
	"  --socket PATH      faultlined's unix socket (default $FAULTLINE_SOCKET, else\n"         \
	"                     " SOCKET_DEFAULT ")\n"                                               \
	"  --url URL          faultlined over TCP, http://ADDR:PORT (default $FAULTLINE_URL)\n"    \
	"  --token-file FILE  the bearer token for --url (default $FAULTLINE_TOKEN_FILE)\n"        \
	"  --json             print the daemon's JSON\n"                                           \
	"  -h, --help         show this help and exit\n"                                           \
	"\n"                                                                                       \
	"Exit status: 0 ok, 2 bad input or unknown id, 4 refused (409) or failed, 1 faultlined\n"  \
	"cannot be reached.\n"

static int usage_err(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "faultline %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see 'faultline %s --help')\n", cmd);
	return FL_EXIT_USAGE;
}

/* The options of a client command (GNU order: options anywhere). */
struct copts {
	const char *socket, *url, *token_file, *state, *limit;
	int json, wait, all;
};

static int parse(const char *cmd, const char *help, int argc, char **argv, struct copts *o)
{
	static const struct option opts[] = {
	    CONN_OPTS,
	    {"state", required_argument, NULL, O_STATE},
	    {"limit", required_argument, NULL, O_LIMIT},
	    {"wait", no_argument, NULL, O_WAIT},
	    {"all", no_argument, NULL, O_ALL},
	    {0},
	};
	int ch;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case O_SOCKET:
			o->socket = optarg;
			break;
		case O_URL:
			o->url = optarg;
			break;
		case O_TOKEN:
			o->token_file = optarg;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_STATE:
			o->state = optarg;
			break;
		case O_LIMIT:
			o->limit = optarg;
			break;
		case O_WAIT:
			o->wait = 1;
			break;
		case O_ALL:
			o->all = 1;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		case ':':
			return usage_err(cmd, "%s needs a value", argv[optind - 1]);
		default:
			return usage_err(cmd, "unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

static int done_parse(int r)
{
	return r < 0 ? FL_EXIT_OK : r;
}

int fl_cmd_ls(int argc, char **argv)
{
	static const char help[] =
	    "Usage: faultline ls [--state S] [--limit N] [OPTIONS]\n\n"
	    "List faultlined's experiments, newest first.\n\n"
	    "  --state S          pending, running, completed, aborted or failed\n"
	    "  --limit N          at most N (1..1000, default 100)\n" CONN_HELP;
	struct copts o = {0};
	struct ctl c = {0};
	char path[256], *out;
	int r = parse("ls", help, argc, argv, &o);
	cJSON *doc;

	if (r)
		return done_parse(r);
	if (optind < argc)
		return usage_err("ls", "unexpected argument '%s'", argv[optind]);
	r = ctl_setup(&c, o.socket, o.url, o.token_file);
	if (r)
		return r;
	{
		char lim[96], st[160] = "";

		url_with(lim, sizeof(lim), "?limit=", o.limit ? o.limit : "100");
		if (o.state)
			url_with(st, sizeof(st), "&state=", o.state);
		snprintf(path, sizeof(path), "/v1/experiments%s%s", lim, st);
	}
	r = call(&c, "GET", path, NULL, 0, NULL, 30, 200, NULL, &out);
	ctl_free(&c);
	if (r)
		return r;
	if (o.json) {
		print_json(out);
		free(out);
		return 0;
	}
	doc = cJSON_Parse(out);
	free(out);
	printf("%-16s %-20s %-10s %-25s %-8s %s\n", "ID", "NAME", "STATE", "STARTED", "VERDICT",
	       "REASON");
	for (const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "experiments"), 0); e;
	     e = e->next) {
		char reason[48];

		snprintf(reason, sizeof(reason), "%s", str(e, "reason"));
		printf("%-16s %-20.20s %-10s %-25s %-8s %s\n", str(e, "id"), str(e, "name"),
		       str(e, "state"), str(e, "started"), str(e, "verdict"), reason);
	}
	cJSON_Delete(doc);
	return 0;
}

int fl_cmd_status(int argc, char **argv)
{
	static const char help[] =
	    "Usage: faultline status ID [--wait] [OPTIONS]\n\n"
	    "Show one experiment of faultlined: its state, steps and their counters, verdict.\n\n"
	    "  --wait             wait until it has ended, then show it and exit with its exit\n"
	    "                     code (a CI job can wait on a detached run)\n" CONN_HELP;
	struct copts o = {0};
	struct ctl c = {0};
	char path[256], *out = NULL;
	int r = parse("status", help, argc, argv, &o);
	cJSON *doc;

	if (r)
		return done_parse(r);
	if (optind + 1 != argc)
		return usage_err("status", "%s", "expected one experiment ID");
	r = ctl_setup(&c, o.socket, o.url, o.token_file);
	if (r)
		return r;
	url_with(path, sizeof(path), "/v1/experiments/", argv[optind]);
	for (;;) {
		const char *state;

		free(out);
		r = call(&c, "GET", path, NULL, 0, NULL, 30, 200, NULL, &out);
		if (r || !o.wait)
			break;
		doc = cJSON_Parse(out);
		state = doc ? cJSON_GetStringValue(cJSON_GetObjectItem(doc, "state")) : NULL;
		r = state && (!strcmp(state, "pending") || !strcmp(state, "running"));
		cJSON_Delete(doc);
		if (!r)
			break;
		r = 0;
		usleep(500000);
	}
	ctl_free(&c);
	if (r)
		return r;
	doc = cJSON_Parse(out);
	if (o.json)
		print_json(out);
	else if (doc)
		print_experiment(doc);
	free(out);
	if (o.wait && doc && cJSON_IsNumber(cJSON_GetObjectItem(doc, "exit_code")))
		r = (int)cJSON_GetObjectItem(doc, "exit_code")->valuedouble;
	else if (o.wait)
		r = FL_EXIT_INJECT; /* ended with no exit code: the daemon restarted */
	cJSON_Delete(doc);
	return r;
}

static int stop_one(struct ctl *c, const char *id, int json)
{
	char path[256], *out;
	int r;

	url_with(path, sizeof(path), "/v1/experiments/", id);
	r = call(c, "DELETE", path, NULL, 0, NULL, 120, 200, NULL, &out);
	if (r)
		return r;
	if (json) {
		print_json(out);
	} else {
		cJSON *o = cJSON_Parse(out);

		printf("%s %s: %s%s%s\n", id, o ? str(o, "state") : "?", o ? str(o, "reason") : "",
		       "", "");
		cJSON_Delete(o);
	}
	free(out);
	return r;
}

int fl_cmd_stop(int argc, char **argv)
{
	static const char help[] =
	    "Usage: faultline stop ID... | --all [OPTIONS]\n\n"
	    "Stop experiments of faultlined: each is rolled back at once and its final report\n"
	    "kept. --all stops every pending and running one (the halt button).\n\n" CONN_HELP;
	struct copts o = {0};
	struct ctl c = {0};
	int r = parse("stop", help, argc, argv, &o), worst = 0;

	if (r)
		return done_parse(r);
	if (o.all == (optind < argc))
		return usage_err("stop", "%s",
				 o.all ? "expected experiment IDs or --all, not both"
				       : "expected experiment IDs or --all");
	r = ctl_setup(&c, o.socket, o.url, o.token_file);
	if (r)
		return r;
	if (o.all) {
		static const char *const states[] = {"running", "pending"};

		for (int s = 0; s < 2 && !worst; s++) {
			char path[128], *out;
			cJSON *doc;

			snprintf(path, sizeof(path), "/v1/experiments?state=%s&limit=1000",
				 states[s]);
			r = call(&c, "GET", path, NULL, 0, NULL, 30, 200, NULL, &out);
			if (r) {
				worst = r;
				break;
			}
			doc = cJSON_Parse(out);
			free(out);
			for (const cJSON *e =
				 cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "experiments"), 0);
			     e; e = e->next) {
				r = stop_one(&c, str(e, "id"), o.json);
				/* one that ended meanwhile is no failure of the halt */
				if (r && r != FL_EXIT_INJECT && !worst)
					worst = r;
			}
			cJSON_Delete(doc);
		}
	} else {
		for (int i = optind; i < argc; i++) {
			r = stop_one(&c, argv[i], o.json);
			if (r && !worst)
				worst = r;
		}
	}
	ctl_free(&c);
	return worst;
}

static char *slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "re");
	char *p = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *q = realloc(p, cap = (cap ? cap * 2 : 8192));

			if (!q) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = q;
		}
		size_t got = fread(p + n, 1, cap - n - 1, f);

		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

static const char *type_of(const char *file, const char *text)
{
	size_t n = strlen(file);

	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	return (n > 5 && !strcmp(file + n - 5, ".json")) || *text == '{' ? "application/json"
									 : "application/yaml";
}

/* POST a scenario text to path; prints the new object; returns the exit code. */
static int submit(struct ctl *c, const char *path, const char *text, size_t len, const char *type,
		  const char *file, int json, const char *what)
{
	char *out;
	int r = call(c, "POST", path, text, len, type, 30, 201, file, &out);
	cJSON *o;

	if (r)
		return r;
	if (json) {
		print_json(out);
	} else {
		o = cJSON_Parse(out);
		if (!strcmp(what, "experiment"))
			printf("faultline: experiment %s (%s) started on faultlined; 'faultline "
			       "status "
			       "%s' to follow it, 'faultline stop %s' to end it\n",
			       str(o, "id"), str(o, "name"), str(o, "id"), str(o, "id"));
		else
			printf("faultline: schedule %s (%s, %s) added; next run %s\n", str(o, "id"),
			       str(o, "name"), str(o, "schedule"), str(o, "next_run"));
		cJSON_Delete(o);
	}
	free(out);
	return 0;
}

int fl_client_submit_text(const char *text, size_t len, const char *name, const char *socket_path,
			  int json)
{
	struct ctl c = {0};
	int r = ctl_setup(&c, socket_path, NULL, NULL);

	if (r)
		return r;
	r = submit(&c, "/v1/experiments", text, len, type_of(name, text), name, json, "experiment");
	ctl_free(&c);
	return r;
}

int fl_client_submit(const char *file, const char *socket_path, const char *url,
		     const char *token_file, int json)
{
	struct ctl c = {0};
	size_t len = 0;
	char *text;
	int r;

	char why[PATH_MAX + 512];

	if (fl_scenario_path_trusted(file, why, sizeof(why))) {
		fl_cli_err("%s", why);
		return FL_EXIT_USAGE;
	}
	text = slurp(file, &len);
	if (!text) {
		fl_cli_err("cannot read '%s': %s", file, strerror(errno));
		return FL_EXIT_USAGE;
	}
	r = ctl_setup(&c, socket_path, url, token_file);
	if (!r)
		r = submit(&c, "/v1/experiments", text, len, type_of(file, text), file, json,
			   "experiment");
	ctl_free(&c);
	free(text);
	return r;
}

int fl_cmd_schedule(int argc, char **argv)
{
	static const char help[] =
	    "Usage: faultline schedule add FILE | ls | rm ID... [OPTIONS]\n\n"
	    "Manage faultlined's schedules: a scenario with a schedule: key (5 cron fields in the\n"
	    "daemon's time zone, @hourly and the like, or @every DURATION) runs each time it\n"
	    "fires; a firing while the previous run still goes on is skipped.\n\n" CONN_HELP;
	struct copts o = {0};
	struct ctl c = {0};
	const char *sub;
	int r;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(help, stdout);
		return 0;
	}
	if (argc < 2)
		return usage_err("schedule", "%s", "expected add FILE, ls or rm ID");
	sub = argv[1];
	r = parse("schedule", help, argc - 1, argv + 1, &o);
	if (r)
		return done_parse(r);
	optind++; /* back to argv's numbering */
	r = ctl_setup(&c, o.socket, o.url, o.token_file);
	if (r)
		return r;
	if (!strcmp(sub, "add")) {
		size_t len = 0;
		char *text;

		if (optind + 1 != argc) {
			ctl_free(&c);
			return usage_err("schedule", "%s", "add takes one scenario FILE");
		}
		char why[PATH_MAX + 512];

		if (fl_scenario_path_trusted(argv[optind], why, sizeof(why))) {
			fl_cli_err("%s", why);
			ctl_free(&c);
			return FL_EXIT_USAGE;
		}
		text = slurp(argv[optind], &len);
		if (!text) {
			fl_cli_err("cannot read '%s': %s", argv[optind], strerror(errno));
			ctl_free(&c);
			return FL_EXIT_USAGE;
		}
		r = submit(&c, "/v1/schedules", text, len, type_of(argv[optind], text),
			   argv[optind], o.json, "schedule");
		free(text);
	} else if (!strcmp(sub, "ls")) {
		char *out;

		r = call(&c, "GET", "/v1/schedules", NULL, 0, NULL, 30, 200, NULL, &out);
		if (!r && o.json) {
			print_json(out);
		} else if (!r) {
			cJSON *doc = cJSON_Parse(out);

			printf("%-16s %-20s %-16s %-25s %5s %7s\n", "ID", "NAME", "SCHEDULE",
			       "NEXT RUN", "RUNS", "SKIPPED");
			for (const cJSON *s =
				 cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "schedules"), 0);
			     s; s = s->next)
				printf("%-16s %-20.20s %-16.16s %-25s %5.0f %7.0f\n", str(s, "id"),
				       str(s, "name"), str(s, "schedule"), str(s, "next_run"),
				       cJSON_GetNumberValue(cJSON_GetObjectItem(s, "runs")),
				       cJSON_GetNumberValue(cJSON_GetObjectItem(s, "skipped")));
			cJSON_Delete(doc);
		}
		free(out);
	} else if (!strcmp(sub, "rm")) {
		if (optind >= argc) {
			ctl_free(&c);
			return usage_err("schedule", "%s", "rm takes schedule IDs");
		}
		for (int i = optind; i < argc; i++) {
			char path[256], *out;
			int e;

			url_with(path, sizeof(path), "/v1/schedules/", argv[i]);
			e = call(&c, "DELETE", path, NULL, 0, NULL, 30, 204, NULL, &out);
			if (!e)
				printf("%s removed\n", argv[i]);
			free(out);
			if (e && !r)
				r = e;
		}
	} else {
		r = usage_err("schedule", "unknown subcommand '%s' (expected add, ls or rm)", sub);
	}
	ctl_free(&c);
	return r;
}
