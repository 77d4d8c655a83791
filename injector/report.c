/*
 * injector/report.c - write a finished experiment as JSON or JUnit XML.
 *
 * JSON goes through a cJSON tree built in a fixed key order (cJSON keeps
 * insertion order), so two reports of the same run differ only in values;
 * numbers are written as raw text (exact u64 counters, durations in seconds
 * to the microsecond) rather than through cJSON's doubles. The layout is
 * documented in docs/report.md and checked by docs/report.schema.json.
 *
 * JUnit XML is written directly: it is a handful of elements, and every
 * piece of text goes through one escaping function that also repairs what
 * XML 1.0 cannot carry (invalid UTF-8, control characters). The shape is the
 * one Jenkins, GitLab and GitHub test reporters read (checked against
 * docs/junit.xsd).
 *
 * A probe's testcase fails when the probe broke the steady state: more
 * failures than its max_failures, or any failure before the faults or after
 * the rollback. Failures it was allowed are listed in its system-out.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "faultline/report.h"

#define NS_PER_S  UINT64_C(1000000000)
#define NS_PER_MS UINT64_C(1000000)

const char *fl_verdict_name(enum fl_verdict v)
{
	switch (v) {
	case FL_VERDICT_PASSED:
		return "passed";
	case FL_VERDICT_FAILED:
		return "failed";
	case FL_VERDICT_ABORTED:
		return "aborted";
	case FL_VERDICT_ERROR:
		return "error";
	}
	return "error";
}

const char *fl_phase_name(enum fl_phase p)
{
	switch (p) {
	case FL_PHASE_BEFORE:
		return "before";
	case FL_PHASE_DURING:
		return "during";
	case FL_PHASE_AFTER:
		return "after";
	}
	return "during";
}

const char *fl_fmt_rfc3339(uint64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / NS_PER_S);
	struct tm tm;
	char date[32];

	if (!gmtime_r(&s, &tm) || !strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(date, sizeof(date), "1970-01-01T00:00:00");
	snprintf(buf, len, "%s.%03uZ", date, (unsigned)(ns % NS_PER_S / NS_PER_MS));
	return buf;
}

/*
 * The length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one
 * (bad lead byte, truncated, overlong, surrogate, beyond U+10FFFF).
 */
static size_t utf8_seq(const unsigned char *s)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* U+FFFE and U+FFFF are not XML characters either */
	if (cp == 0xfffe || cp == 0xffff)
		return 0;
	return n;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* A malloc'd copy of s that is valid UTF-8 and, when for_xml, holds no
 * control character XML 1.0 refuses. */
static char *clean_text(const char *s, int for_xml)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0 || (for_xml && *p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')) {
			memcpy(o, REPLACEMENT, 3);
			o += 3;
			p++;
			continue;
		}
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	*o = '\0';
	return out;
}

/* ---- JSON ------------------------------------------------------------------ */

struct jctx {
	int oom;
};

static void jcheck(struct jctx *c, const void *item)
{
	if (!item)
		c->oom = 1;
}

static void jstr(struct jctx *c, cJSON *o, const char *key, const char *s)
{
	char *t;

	if (!s) {
		jcheck(c, cJSON_AddNullToObject(o, key));
		return;
	}
	t = clean_text(s, 0);
	if (!t) {
		c->oom = 1;
		return;
	}
	jcheck(c, cJSON_AddStringToObject(o, key, t));
	free(t);
}

static void jraw(struct jctx *c, cJSON *o, const char *key, const char *text)
{
	jcheck(c, cJSON_AddRawToObject(o, key, text));
}

static void jbool(struct jctx *c, cJSON *o, const char *key, int b)
{
	jcheck(c, cJSON_AddBoolToObject(o, key, b));
}

static void ju64(struct jctx *c, cJSON *o, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	jraw(c, o, key, buf);
}

static void jint(struct jctx *c, cJSON *o, const char *key, int v)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", v);
	jraw(c, o, key, buf);
}

/* Seconds, exact to the microsecond, without trailing zeros: 1.25, 60, 0.0002 */
static void jseconds(struct jctx *c, cJSON *o, const char *key, uint64_t ns)
{
	char buf[40];
	size_t n;

	snprintf(buf, sizeof(buf), "%" PRIu64 ".%06" PRIu64, ns / NS_PER_S,
		 (ns % NS_PER_S + 500) / 1000);
	if ((ns % NS_PER_S + 500) / 1000 >= 1000000) /* rounding carried */
		snprintf(buf, sizeof(buf), "%" PRIu64, ns / NS_PER_S + 1);
	n = strlen(buf);
	if (strchr(buf, '.')) {
		while (buf[n - 1] == '0')
			buf[--n] = '\0';
		if (buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	jraw(c, o, key, buf);
}

/* A time, or null when it did not happen. */
static void jtime(struct jctx *c, cJSON *o, const char *key, uint64_t ns)
{
	char buf[40];

	if (!ns)
		jcheck(c, cJSON_AddNullToObject(o, key));
	else
		jstr(c, o, key, fl_fmt_rfc3339(ns, buf, sizeof(buf)));
}

/* ended - started, or null when either is missing. */
static void jspan(struct jctx *c, cJSON *o, const char *key, uint64_t start, uint64_t end)
{
	if (!start || !end || end < start)
		jcheck(c, cJSON_AddNullToObject(o, key));
	else
		jseconds(c, o, key, end - start);
}

static cJSON *json_command(struct jctx *c, const struct fl_report_command *cmd)
{
	cJSON *o = cJSON_CreateObject(), *argv = cJSON_AddArrayToObject(o, "argv");

	jcheck(c, argv);
	for (char *const *a = cmd->argv; a && *a; a++) {
		char *t = clean_text(*a, 0);
		cJSON *s = t ? cJSON_CreateString(t) : NULL;

		free(t);
		jcheck(c, s);
		if (s && !cJSON_AddItemToArray(argv, s)) {
			cJSON_Delete(s);
			c->oom = 1;
		}
	}
	jbool(c, o, "ran", cmd->started);
	if (cmd->started)
		jint(c, o, "exit_code", cmd->exit_code);
	else
		jcheck(c, cJSON_AddNullToObject(o, "exit_code"));
	jtime(c, o, "started", cmd->started_ns);
	jtime(c, o, "ended", cmd->ended_ns);
	jspan(c, o, "duration_s", cmd->started_ns, cmd->ended_ns);
	jstr(c, o, "error", cmd->error);
	return o;
}

static cJSON *json_step(struct jctx *c, const struct fl_report_step *s)
{
	cJSON *o = cJSON_CreateObject(), *counters;

	ju64(c, o, "index", s->index);
	jstr(c, o, "target", s->target);
	jstr(c, o, "fault", s->fault);
	jseconds(c, o, "planned_at_s", s->planned_at_ns);
	if (s->planned_for_ns)
		jseconds(c, o, "planned_for_s", s->planned_for_ns);
	else
		jcheck(c, cJSON_AddNullToObject(o, "planned_for_s"));
	jbool(c, o, "applied", s->applied);
	jtime(c, o, "started", s->started_ns);
	jtime(c, o, "ended", s->ended_ns);
	jspan(c, o, "duration_s", s->started_ns, s->ended_ns);
	jbool(c, o, "cut_short", s->cut_short);
	jstr(c, o, "error", s->error);
	jstr(c, o, "end_cause", s->end_cause);
	counters = cJSON_AddObjectToObject(o, "counters");
	jcheck(c, counters);
	for (size_t i = 0; i < s->n_counters; i++) {
		char *name = clean_text(s->counters[i].name ? s->counters[i].name : "", 0);

		if (!name) {
			c->oom = 1;
			continue;
		}
		ju64(c, counters, name, s->counters[i].value);
		free(name);
	}
	return o;
}

static cJSON *json_probe(struct jctx *c, const struct fl_report_probe *p)
{
	cJSON *o = cJSON_CreateObject(), *runs;

	jstr(c, o, "name", p->name);
	jstr(c, o, "kind", p->kind);
	jstr(c, o, "target", p->target);
	ju64(c, o, "max_failures", p->max_failures);
	ju64(c, o, "runs", p->total_runs);
	ju64(c, o, "failures", p->total_failures);
	runs = cJSON_AddArrayToObject(o, "results");
	jcheck(c, runs);
	for (size_t i = 0; i < p->n_runs; i++) {
		const struct fl_report_probe_run *r = &p->runs[i];
		cJSON *ro = cJSON_CreateObject();

		jcheck(c, ro);
		jstr(c, ro, "phase", fl_phase_name(r->phase));
		jtime(c, ro, "time", r->started_ns);
		jbool(c, ro, "ok", r->ok);
		jseconds(c, ro, "duration_s", r->duration_ns);
		jstr(c, ro, "detail", r->detail);
		if (ro && !cJSON_AddItemToArray(runs, ro)) {
			cJSON_Delete(ro);
			c->oom = 1;
		}
	}
	return o;
}

static void jappend(struct jctx *c, cJSON *arr, cJSON *item)
{
	jcheck(c, item);
	if (item && !cJSON_AddItemToArray(arr, item)) {
		cJSON_Delete(item);
		c->oom = 1;
	}
}

int fl_report_write_json(const struct fl_report *rep, FILE *f)
{
	struct jctx c = {0};
	cJSON *root = cJSON_CreateObject(), *o, *arr;
	char *text;
	int r = 0;

	if (!root)
		return -ENOMEM;
	jint(&c, root, "report_version", 1);
	o = cJSON_AddObjectToObject(root, "scenario");
	jcheck(&c, o);
	jstr(&c, o, "name", rep->scenario);
	jstr(&c, o, "file", rep->file);
	jtime(&c, root, "started", rep->started_ns);
	jtime(&c, root, "ended", rep->ended_ns);
	jspan(&c, root, "duration_s", rep->started_ns, rep->ended_ns);
	jstr(&c, root, "verdict", fl_verdict_name(rep->verdict));
	jstr(&c, root, "reason", rep->reason);
	jint(&c, root, "exit_code", rep->exit_code);
	if (rep->command) {
		cJSON *cmd = json_command(&c, rep->command);

		jcheck(&c, cmd);
		if (cmd && !cJSON_AddItemToObject(root, "command", cmd)) {
			cJSON_Delete(cmd);
			c.oom = 1;
		}
	} else {
		jcheck(&c, cJSON_AddNullToObject(root, "command"));
	}
	arr = cJSON_AddArrayToObject(root, "steps");
	jcheck(&c, arr);
	for (size_t i = 0; i < rep->n_steps; i++)
		jappend(&c, arr, json_step(&c, &rep->steps[i]));
	arr = cJSON_AddArrayToObject(root, "probes");
	jcheck(&c, arr);
	for (size_t i = 0; i < rep->n_probes; i++)
		jappend(&c, arr, json_probe(&c, &rep->probes[i]));
	o = cJSON_AddObjectToObject(root, "rollback");
	jcheck(&c, o);
	jbool(&c, o, "ok", rep->rollback.ok);
	jstr(&c, o, "detail", rep->rollback.detail);
	jseconds(&c, o, "duration_s", rep->rollback.duration_ns);

	if (c.oom) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	if (fputs(text, f) == EOF || fputc('\n', f) == EOF || fflush(f) == EOF)
		r = -EIO;
	free(text);
	return r;
}

/* ---- JUnit XML ------------------------------------------------------------- */

/* Write s escaped for XML text (attr = 0) or a double-quoted attribute
 * (attr = 1, where newlines and tabs must be character references to
 * survive attribute normalisation). */
static void xml_text(FILE *f, const char *s, int attr)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	while (*p) {
		size_t n = utf8_seq(p);

		if (n == 0 || (*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r')) {
			fputs(REPLACEMENT, f);
			p++;
			continue;
		}
		switch (*p) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&apos;", f);
			break;
		case '\n':
			fputs(attr ? "&#10;" : "\n", f);
			break;
		case '\r':
			fputs("&#13;", f);
			break;
		case '\t':
			fputs(attr ? "&#9;" : "\t", f);
			break;
		default:
			fwrite(p, 1, n, f);
		}
		p += n;
	}
}

static void xml_seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%03" PRIu64, ns / NS_PER_S, ns % NS_PER_S / NS_PER_MS);
}

static uint64_t span(uint64_t start, uint64_t end)
{
	return start && end && end >= start ? end - start : 0;
}

/* Did this probe break the steady state? (see the top of this file) */
static int probe_broke(const struct fl_report_probe *p)
{
	if (p->total_failures > p->max_failures)
		return 1;
	for (size_t i = 0; i < p->n_runs; i++)
		if (!p->runs[i].ok && p->runs[i].phase != FL_PHASE_DURING)
			return 1;
	return 0;
}

static void xml_failed_runs(FILE *f, const struct fl_report_probe *p)
{
	char t[40];

	for (size_t i = 0; i < p->n_runs; i++) {
		const struct fl_report_probe_run *r = &p->runs[i];

		if (r->ok)
			continue;
		fprintf(f, "%s %s: ", fl_phase_name(r->phase),
			fl_fmt_rfc3339(r->started_ns, t, sizeof(t)));
		xml_text(f, r->detail, 0);
		fputc('\n', f);
	}
}

static void xml_testcase_open(FILE *f, const char *classname, const char *name, uint64_t ns)
{
	fprintf(f, "    <testcase classname=\"%s\" name=\"", classname);
	xml_text(f, name, 1);
	fputs("\" time=\"", f);
	xml_seconds(f, ns);
	fputs("\"", f);
}

/* <failure message="..." type="...">text</failure> (or error) */
static void xml_problem(FILE *f, const char *elem, const char *type, const char *message,
			const char *text)
{
	fprintf(f, "      <%s type=\"%s\" message=\"", elem, type);
	xml_text(f, message ? message : "", 1);
	fputs("\">", f);
	xml_text(f, text ? text : "", 0);
	fprintf(f, "</%s>\n", elem);
}

static void junit_probe(FILE *f, const struct fl_report_probe *p)
{
	uint64_t total = 0;
	const char *first = NULL;

	for (size_t i = 0; i < p->n_runs; i++) {
		total += p->runs[i].duration_ns;
		if (!p->runs[i].ok && !first)
			first = p->runs[i].detail ? p->runs[i].detail : "";
	}
	xml_testcase_open(f, "steady_state", p->name ? p->name : "probe", total);
	fputs(">\n", f);
	if (probe_broke(p)) {
		fputs("      <failure type=\"steady_state\" message=\"", f);
		xml_text(f, first ? first : "", 1);
		fprintf(f, "\">%u of %u runs failed (max_failures %u)\n", p->total_failures,
			p->total_runs, p->max_failures);
		xml_failed_runs(f, p);
		fputs("</failure>\n", f);
	}
	fprintf(f, "      <system-out>%u runs, %u failed (max_failures %u)", p->total_runs,
		p->total_failures, p->max_failures);
	if (p->target) {
		fputs("; ", f);
		xml_text(f, p->kind, 0);
		fputs(" ", f);
		xml_text(f, p->target, 0);
	}
	fputs("\n", f);
	if (!probe_broke(p))
		xml_failed_runs(f, p); /* the failures it was allowed */
	fputs("</system-out>\n    </testcase>\n", f);
}

static void junit_step(FILE *f, const struct fl_report_step *s)
{
	char name[64];
	char *full;
	size_t len;

	snprintf(name, sizeof(name), "faults[%u] ", s->index);
	len = strlen(name) + (s->target ? strlen(s->target) : 0) + 2 +
	      (s->fault ? strlen(s->fault) : 0) + 1;
	full = malloc(len);
	if (full)
		snprintf(full, len, "%s%s%s%s", name, s->target ? s->target : "",
			 s->target ? ": " : "", s->fault ? s->fault : "");
	xml_testcase_open(f, "faults", full ? full : name, span(s->started_ns, s->ended_ns));
	free(full);
	if (!s->applied || s->cut_short) {
		const char *why = s->error	 ? s->error
				  : s->end_cause ? s->end_cause
				  : !s->applied	 ? "not applied"
						 : "cut short";

		fputs(">\n", f);
		xml_problem(f, "failure", !s->applied ? "not_applied" : "cut_short", why, why);
		fputs("    </testcase>\n", f);
	} else {
		fputs("/>\n", f);
	}
}

static void junit_command(FILE *f, const struct fl_report_command *c)
{
	char msg[64];
	size_t len = 1;
	char *line;

	for (char *const *a = c->argv; a && *a; a++)
		len += strlen(*a) + 1;
	line = calloc(1, len);
	for (char *const *a = c->argv; line && a && *a; a++) {
		if (a != c->argv)
			strcat(line, " ");
		strcat(line, *a);
	}
	xml_testcase_open(f, "command", line && *line ? line : "command",
			  span(c->started_ns, c->ended_ns));
	free(line);
	if (!c->started) {
		fputs(">\n", f);
		xml_problem(f, "error", "not_started", c->error ? c->error : "could not run",
			    c->error);
		fputs("    </testcase>\n", f);
	} else if (c->exit_code != 0) {
		snprintf(msg, sizeof(msg), "exit %d", c->exit_code);
		fputs(">\n", f);
		xml_problem(f, "failure", "exit_code", msg, c->error ? c->error : msg);
		fputs("    </testcase>\n", f);
	} else {
		fputs("/>\n", f);
	}
}

int fl_report_write_junit(const struct fl_report *rep, FILE *f)
{
	unsigned tests = 0, failures = 0, errors = 0;
	char ts[40];

	for (size_t i = 0; i < rep->n_probes; i++, tests++)
		failures += probe_broke(&rep->probes[i]);
	for (size_t i = 0; i < rep->n_steps; i++, tests++)
		failures += !rep->steps[i].applied || rep->steps[i].cut_short;
	if (rep->command) {
		tests++;
		if (!rep->command->started)
			errors++;
		else if (rep->command->exit_code != 0)
			failures++;
	}
	tests++; /* the rollback */
	failures += !rep->rollback.ok;

	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fputs("<testsuites name=\"faultline\"", f);
	fprintf(f, " tests=\"%u\" failures=\"%u\" errors=\"%u\" time=\"", tests, failures, errors);
	xml_seconds(f, span(rep->started_ns, rep->ended_ns));
	fputs("\">\n  <testsuite name=\"", f);
	xml_text(f, rep->scenario ? rep->scenario : "scenario", 1);
	fprintf(f, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"0\" time=\"", tests,
		failures, errors);
	xml_seconds(f, span(rep->started_ns, rep->ended_ns));
	/* JUnit's timestamp has no zone; it is UTC, without the "Z" and ms */
	fl_fmt_rfc3339(rep->started_ns, ts, sizeof(ts));
	fprintf(f, "\" timestamp=\"%.19s\">\n", ts);

	fputs("    <properties>\n", f);
	fprintf(f, "      <property name=\"verdict\" value=\"%s\"/>\n",
		fl_verdict_name(rep->verdict));
	fprintf(f, "      <property name=\"exit_code\" value=\"%d\"/>\n", rep->exit_code);
	fputs("      <property name=\"reason\" value=\"", f);
	xml_text(f, rep->reason, 1);
	fputs("\"/>\n", f);
	if (rep->file) {
		fputs("      <property name=\"file\" value=\"", f);
		xml_text(f, rep->file, 1);
		fputs("\"/>\n", f);
	}
	fputs("    </properties>\n", f);

	for (size_t i = 0; i < rep->n_probes; i++)
		junit_probe(f, &rep->probes[i]);
	for (size_t i = 0; i < rep->n_steps; i++)
		junit_step(f, &rep->steps[i]);
	if (rep->command)
		junit_command(f, rep->command);
	xml_testcase_open(f, "rollback", "rollback", rep->rollback.duration_ns);
	if (!rep->rollback.ok) {
		fputs(">\n", f);
		xml_problem(f, "failure", "rollback",
			    rep->rollback.detail ? rep->rollback.detail : "rollback failed",
			    rep->rollback.detail);
		fputs("    </testcase>\n", f);
	} else {
		fputs("/>\n", f);
	}

	fputs("    <system-out>verdict ", f);
	fputs(fl_verdict_name(rep->verdict), f);
	if (rep->reason) {
		fputs(": ", f);
		xml_text(f, rep->reason, 0);
	}
	fputs("</system-out>\n  </testsuite>\n</testsuites>\n", f);
	return fflush(f) == EOF || ferror(f) ? -EIO : 0;
}
