/*
 * tests/unit/test_report.c - a finished experiment written as JSON and as
 * JUnit XML reads back exactly, passes its schema, and survives any text a
 * name, a detail or a command's output can hold (unicode, <&>"', invalid
 * UTF-8, control characters).
 *
 * Validation is real, by the tools a user would use: the JSON is parsed back
 * with cJSON and checked field by field, then validated against
 * docs/report.schema.json by python3-jsonschema (Draft 7); the XML is checked
 * against docs/junit.xsd by xmllint --schema and read back with xmllint
 * --xpath. Each validator is also shown a broken file, which it must refuse,
 * so a validator that accepts everything cannot pass these tests.
 *
 * Run from the top of the tree (tests/run.sh does), or set FL_TOP. FL_KEEP=1
 * keeps the written files (the path is /tmp/fl-report-*) to look at.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultline/report.h"

#define S  1000000000ull
#define MS 1000000ull
/* 2024-05-01T12:00:00.123Z */
#define T0 (1714564800ull * S + 123 * MS)

#define NASTY "caf\xc3\xa9 \xe2\x9a\xa1 <&>\"' \xf0\x9f\x94\xa5"

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fl-report-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];
	(void)state;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
	return buf;
}

static const char *top_path(const char *rel, char *buf, size_t len)
{
	const char *top = getenv("FL_TOP");

	snprintf(buf, len, "%s/%s", top ? top : ".", rel);
	return buf;
}

/* ---- the report ------------------------------------------------------------ */

static const struct fl_report_counter delay_counters[] = {
    {"matched", 18446744073709551615ull}, /* exact u64, beyond a double */
    {"delayed", 120000},
    {"dropped", 0},
};

static const struct fl_report_step steps[] = {
    {
	.index = 0,
	.target = "redis " NASTY,
	.fault = "delay 50ms jitter 5ms normal",
	.planned_at_ns = 0,
	.planned_for_ns = 30 * S,
	.started_ns = T0 + 2 * S,
	.ended_ns = T0 + 32 * S + 7 * MS,
	.applied = true,
	.end_cause = "expired",
	.counters = delay_counters,
	.n_counters = 3,
    },
    {
	.index = 1,
	.target = "redis",
	.fault = "loss 5%",
	.planned_at_ns = 30 * S,
	.planned_for_ns = 20 * S,
	.started_ns = T0 + 32 * S,
	.ended_ns = T0 + 35 * S,
	.applied = true,
	.cut_short = true,
	.end_cause = "aborted: probe api <&> failed 4 times (max_failures 3)",
    },
    {
	.index = 2,
	.target = "db",
	.fault = "rate 1mbit",
	.planned_at_ns = 40 * S,
	.applied = false,
	.error = "no route to 10.0.0.9 & none to fd00::9",
    },
};

static const struct fl_report_probe_run api_runs[] = {
    {FL_PHASE_BEFORE, T0 + 1 * S, 1200 * 1000, true, "HTTP 200 in 1.2 ms"},
    {FL_PHASE_DURING, T0 + 3 * S, 1000 * MS, false, "GET http://10.0.0.2/h: timed out after 1s"},
    {FL_PHASE_DURING, T0 + 4 * S, 2 * MS, false, "HTTP 503, expected 200-299 <&>\"'"},
    {FL_PHASE_DURING, T0 + 5 * S, 2 * MS, false,
     "exit 3\nbad bytes \xff\xfe and a bell \x07 and \xc3 cut"},
    {FL_PHASE_DURING, T0 + 6 * S, 2 * MS, false, NASTY},
    {FL_PHASE_AFTER, T0 + 40 * S, 3 * MS, true, "HTTP 200 in 3.0 ms"},
};

static const struct fl_report_probe_run tcp_runs[] = {
    {FL_PHASE_BEFORE, T0 + 1 * S, 200 * 1000, true, "connected to 10.0.0.2:6379 in 0.2 ms"},
    {FL_PHASE_DURING, T0 + 3 * S, 1000 * MS, false, "connect to 10.0.0.2:6379: timed out after 1s"},
    {FL_PHASE_AFTER, T0 + 40 * S, 200 * 1000, true, "connected to 10.0.0.2:6379 in 0.2 ms"},
};

static const struct fl_report_probe probes[] = {
    {
	.name = "api " NASTY,
	.kind = "http",
	.target = "http://10.0.0.2:8080/health?a=1&b=<2>",
	.max_failures = 3,
	.total_runs = 40,
	.total_failures = 4,
	.runs = api_runs,
	.n_runs = 6,
    },
    {
	.name = "redis-port",
	.kind = "tcp",
	.target = "10.0.0.2:6379",
	.max_failures = 3,
	.total_runs = 3,
	.total_failures = 1, /* allowed: the testcase passes */
	.runs = tcp_runs,
	.n_runs = 3,
    },
};

static char *const cmd_argv[] = {"./load-test", "--name", NASTY, NULL};

static const struct fl_report_command command = {
    .argv = cmd_argv,
    .started = true,
    .exit_code = 3,
    .started_ns = T0 + 2 * S,
    .ended_ns = T0 + 38 * S + 500 * MS,
};

static struct fl_report full_report(void)
{
	return (struct fl_report){
	    .scenario = "redis-slow " NASTY,
	    .file = "scenarios/redis <slow>.yaml",
	    .started_ns = T0,
	    .ended_ns = T0 + 41 * S + 250 * MS,
	    .verdict = FL_VERDICT_ABORTED,
	    .reason = "probe \"api\" failed 4 times, more than max_failures 3",
	    .exit_code = 3,
	    .command = &command,
	    .steps = steps,
	    .n_steps = 3,
	    .probes = probes,
	    .n_probes = 2,
	    .rollback = {.ok = true, .detail = "2 rules removed", .duration_ns = 4 * MS},
	};
}

/* ---- helpers ----------------------------------------------------------------- */

static void write_json(const struct fl_report *rep, const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fl_report_write_json(rep, f), 0);
	assert_int_equal(fclose(f), 0);
}

static void write_junit(const struct fl_report *rep, const char *path)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fl_report_write_junit(rep, f), 0);
	assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* python3-jsonschema, Draft 7, strict UTF-8; quiet: no complaints on stderr
 * (for the files that must be refused) */
static int schema_check(const char *json_path, int quiet)
{
	char cmd[1024], schema[256];

	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json, sys, jsonschema\n"
		 "schema = json.load(open(sys.argv[1], encoding=\"utf-8\"))\n"
		 "jsonschema.Draft7Validator.check_schema(schema)\n"
		 "doc = json.load(open(sys.argv[2], encoding=\"utf-8\", errors=\"strict\"))\n"
		 "jsonschema.Draft7Validator(schema).validate(doc)' '%s' '%s' 2>%s",
		 top_path("docs/report.schema.json", schema, sizeof(schema)), json_path,
		 quiet ? "/dev/null" : "&2");
	return run(cmd);
}

/* xmllint --schema; its "validates" line is kept quiet, its complaints are not */
static int xsd_check(const char *xml_path, int quiet)
{
	char cmd[1024], xsd[256];

	snprintf(cmd, sizeof(cmd),
		 "out=$(xmllint --noout --schema '%s' '%s' 2>&1); rc=$?; "
		 "[ $rc -eq 0 ] || [ %d -eq 1 ] || echo \"$out\" >&2; exit $rc",
		 top_path("docs/junit.xsd", xsd, sizeof(xsd)), xml_path, quiet);
	return run(cmd);
}

/* xmllint --xpath EXPR FILE, its output in a malloc'd string */
static char *xpath(const char *file, const char *expr)
{
	char cmd[1024], *out = calloc(1, 65536);
	size_t n = 0;
	FILE *p;

	assert_non_null(out);
	snprintf(cmd, sizeof(cmd), "xmllint --xpath '%s' '%s'", expr, file);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (n < 65535) {
		size_t k = fread(out + n, 1, 65535 - n, p);

		if (k == 0)
			break;
		n += k;
	}
	assert_int_equal(pclose(p), 0);
	if (n > 0 && out[n - 1] == '\n') /* xmllint ends a string result with one */
		out[n - 1] = '\0';
	return out;
}

static cJSON *obj(const cJSON *o, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!v)
		fail_msg("no key \"%s\"", key);
	return v;
}

static const char *str(const cJSON *o, const char *key)
{
	cJSON *v = obj(o, key);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double num(const cJSON *o, const char *key)
{
	cJSON *v = obj(o, key);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

/* ---- JSON ---------------------------------------------------------------------- */

static void json_reads_back_every_field(void **state)
{
	struct fl_report rep = full_report();
	char path[128], *text;
	cJSON *root, *o, *a;
	(void)state;

	write_json(&rep, tmp_path("report.json", path, sizeof(path)));
	text = slurp(path);
	root = cJSON_Parse(text);
	assert_non_null(root);

	/* the key order is part of the format */
	const char *order[] = {"report_version", "scenario", "started", "ended",
			       "duration_s",	 "verdict",  "reason",	"exit_code",
			       "command",	 "steps",    "probes",	"rollback"};
	o = root->child;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++, o = o->next) {
		assert_non_null(o);
		assert_string_equal(o->string, order[i]);
	}
	assert_null(o);

	assert_int_equal((int)num(root, "report_version"), 1);
	assert_string_equal(str(obj(root, "scenario"), "name"), "redis-slow " NASTY);
	assert_string_equal(str(obj(root, "scenario"), "file"), "scenarios/redis <slow>.yaml");
	assert_string_equal(str(root, "started"), "2024-05-01T12:00:00.123Z");
	assert_string_equal(str(root, "ended"), "2024-05-01T12:00:41.373Z");
	assert_true(num(root, "duration_s") == 41.25);
	assert_string_equal(str(root, "verdict"), "aborted");
	assert_int_equal((int)num(root, "exit_code"), 3);

	o = obj(root, "command");
	assert_int_equal(cJSON_GetArraySize(obj(o, "argv")), 3);
	assert_string_equal(cJSON_GetArrayItem(obj(o, "argv"), 2)->valuestring, NASTY);
	assert_true(cJSON_IsTrue(obj(o, "ran")));
	assert_int_equal((int)num(o, "exit_code"), 3);
	assert_true(num(o, "duration_s") == 36.5);
	assert_true(cJSON_IsNull(obj(o, "error")));

	a = obj(root, "steps");
	assert_int_equal(cJSON_GetArraySize(a), 3);
	o = cJSON_GetArrayItem(a, 0);
	assert_string_equal(str(o, "target"), "redis " NASTY);
	assert_string_equal(str(o, "fault"), "delay 50ms jitter 5ms normal");
	assert_true(num(o, "planned_at_s") == 0);
	assert_true(num(o, "planned_for_s") == 30);
	assert_true(num(o, "duration_s") == 30.007);
	assert_string_equal(str(o, "started"), "2024-05-01T12:00:02.123Z");
	assert_string_equal(str(o, "end_cause"), "expired");
	assert_true(cJSON_IsFalse(obj(o, "cut_short")));
	assert_true(num(obj(o, "counters"), "delayed") == 120000);
	/* u64 counters are written exactly, not through a double */
	assert_non_null(strstr(text, "\"matched\":\t18446744073709551615"));
	o = cJSON_GetArrayItem(a, 1);
	assert_true(cJSON_IsTrue(obj(o, "cut_short")));
	o = cJSON_GetArrayItem(a, 2);
	assert_true(cJSON_IsFalse(obj(o, "applied")));
	assert_true(cJSON_IsNull(obj(o, "started")));
	assert_true(cJSON_IsNull(obj(o, "duration_s")));
	assert_true(cJSON_IsNull(obj(o, "planned_for_s")));
	assert_string_equal(str(o, "error"), "no route to 10.0.0.9 & none to fd00::9");

	a = obj(root, "probes");
	assert_int_equal(cJSON_GetArraySize(a), 2);
	o = cJSON_GetArrayItem(a, 0);
	assert_string_equal(str(o, "name"), "api " NASTY);
	assert_string_equal(str(o, "kind"), "http");
	assert_int_equal((int)num(o, "runs"), 40);
	assert_int_equal((int)num(o, "failures"), 4);
	assert_int_equal((int)num(o, "max_failures"), 3);
	a = obj(o, "results");
	assert_int_equal(cJSON_GetArraySize(a), 6);
	assert_string_equal(str(cJSON_GetArrayItem(a, 0), "phase"), "before");
	assert_string_equal(str(cJSON_GetArrayItem(a, 0), "time"), "2024-05-01T12:00:01.123Z");
	assert_true(num(cJSON_GetArrayItem(a, 0), "duration_s") == 0.0012);
	assert_true(cJSON_IsTrue(obj(cJSON_GetArrayItem(a, 0), "ok")));
	assert_string_equal(str(cJSON_GetArrayItem(a, 2), "detail"),
			    "HTTP 503, expected 200-299 <&>\"'");
	/* invalid UTF-8 became U+FFFD, one per bad byte; control characters stay
	 * (JSON escapes them) */
	assert_string_equal(str(cJSON_GetArrayItem(a, 3), "detail"),
			    "exit 3\nbad bytes \xef\xbf\xbd\xef\xbf\xbd and a bell \x07 and "
			    "\xef\xbf\xbd cut");
	assert_string_equal(str(cJSON_GetArrayItem(a, 4), "detail"), NASTY);
	assert_string_equal(str(cJSON_GetArrayItem(a, 5), "phase"), "after");

	o = obj(root, "rollback");
	assert_true(cJSON_IsTrue(obj(o, "ok")));
	assert_string_equal(str(o, "detail"), "2 rules removed");
	assert_true(num(o, "duration_s") == 0.004);

	cJSON_Delete(root);
	free(text);
}

static void json_passes_the_schema_and_a_broken_one_does_not(void **state)
{
	struct fl_report rep = full_report();
	char path[128], bad[128], *text, *out;
	cJSON *root;
	FILE *f;
	(void)state;

	write_json(&rep, tmp_path("report.json", path, sizeof(path)));
	assert_int_equal(schema_check(path, 0), 0);

	/* the same document with a verdict the schema does not know */
	text = slurp(path);
	root = cJSON_Parse(text);
	assert_non_null(root);
	cJSON_ReplaceItemInObject(root, "verdict", cJSON_CreateString("maybe"));
	out = cJSON_Print(root);
	f = fopen(tmp_path("bad.json", bad, sizeof(bad)), "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
	assert_int_not_equal(schema_check(bad, 1), 0);
	free(out);
	cJSON_Delete(root);
	free(text);
}

static void empty_report_is_valid_too(void **state)
{
	struct fl_report rep = {.verdict = FL_VERDICT_ERROR, .exit_code = 4};
	char path[128], *text;
	cJSON *root;
	(void)state;

	write_json(&rep, tmp_path("empty.json", path, sizeof(path)));
	assert_int_equal(schema_check(path, 0), 0);
	text = slurp(path);
	root = cJSON_Parse(text);
	assert_non_null(root);
	assert_true(cJSON_IsNull(obj(obj(root, "scenario"), "name")));
	assert_true(cJSON_IsNull(obj(root, "started")));
	assert_true(cJSON_IsNull(obj(root, "command")));
	assert_int_equal(cJSON_GetArraySize(obj(root, "steps")), 0);
	cJSON_Delete(root);
	free(text);

	write_junit(&rep, tmp_path("empty.xml", path, sizeof(path)));
	assert_int_equal(xsd_check(path, 0), 0);
}

static void a_full_disk_is_an_error(void **state)
{
	struct fl_report rep = full_report();
	FILE *f = fopen("/dev/full", "w");
	(void)state;

	if (!f)
		skip();
	assert_int_equal(fl_report_write_json(&rep, f), -EIO);
	clearerr(f);
	assert_int_equal(fl_report_write_junit(&rep, f), -EIO);
	fclose(f);
}

static void rfc3339_is_utc_with_milliseconds(void **state)
{
	char buf[40];
	(void)state;

	assert_string_equal(fl_fmt_rfc3339(T0, buf, sizeof(buf)), "2024-05-01T12:00:00.123Z");
	assert_string_equal(fl_fmt_rfc3339(999999, buf, sizeof(buf)), "1970-01-01T00:00:00.000Z");
	assert_string_equal(fl_verdict_name(FL_VERDICT_FAILED), "failed");
	assert_string_equal(fl_phase_name(FL_PHASE_AFTER), "after");
}

/* ---- JUnit -------------------------------------------------------------------------- */

static void junit_passes_the_xsd_and_a_broken_one_does_not(void **state)
{
	struct fl_report rep = full_report();
	char path[128], bad[128], cmd[300];
	FILE *f;
	(void)state;

	write_junit(&rep, tmp_path("report.xml", path, sizeof(path)));
	snprintf(cmd, sizeof(cmd), "xmllint --noout '%s'", path);
	assert_int_equal(run(cmd), 0); /* well-formed */
	assert_int_equal(xsd_check(path, 0), 0);

	f = fopen(tmp_path("bad.xml", bad, sizeof(bad)), "w");
	assert_non_null(f);
	fputs("<?xml version=\"1.0\"?>\n<testsuites name=\"x\" tests=\"1\" failures=\"0\" "
	      "errors=\"0\" time=\"1.5\"><testsuite name=\"s\"/></testsuites>\n",
	      f);
	fclose(f);
	assert_int_not_equal(xsd_check(bad, 1), 0);
}

static void junit_has_a_testcase_per_probe_step_command_and_rollback(void **state)
{
	struct fl_report rep = full_report();
	char path[128], *s;
	(void)state;

	write_junit(&rep, tmp_path("report.xml", path, sizeof(path)));

	/* 2 probes + 3 steps + command + rollback; failing: the api probe (4 >
	 * 3), step 1 (cut short), step 2 (not applied), the command (exit 3) */
	s = xpath(path, "string(/testsuites/testsuite/@tests)");
	assert_string_equal(s, "7");
	free(s);
	s = xpath(path, "string(/testsuites/@failures)");
	assert_string_equal(s, "4");
	free(s);
	s = xpath(path, "count(//testcase/failure)");
	assert_string_equal(s, "4");
	free(s);
	s = xpath(path, "string(/testsuites/testsuite/@name)");
	assert_string_equal(s, "redis-slow " NASTY);
	free(s);
	s = xpath(path, "string(/testsuites/testsuite/@time)");
	assert_string_equal(s, "41.250");
	free(s);
	s = xpath(path, "string(/testsuites/testsuite/@timestamp)");
	assert_string_equal(s, "2024-05-01T12:00:00");
	free(s);

	/* the probe's failure: the first failed detail, then every failure */
	s = xpath(path, "string(//testcase[@classname=\"steady_state\"][1]/@name)");
	assert_string_equal(s, "api " NASTY);
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"steady_state\"][1]/failure/@message)");
	assert_string_equal(s, "GET http://10.0.0.2/h: timed out after 1s");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"steady_state\"][1]/failure)");
	assert_non_null(strstr(s, "4 of 40 runs failed (max_failures 3)"));
	assert_non_null(strstr(s, "during 2024-05-01T12:00:04.123Z: HTTP 503, expected "
				  "200-299 <&>\"'"));
	assert_non_null(strstr(s, "bad bytes \xef\xbf\xbd\xef\xbf\xbd and a bell \xef\xbf\xbd"));
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"steady_state\"][1]/@time)");
	assert_string_equal(s, "1.010"); /* the sum of its runs */
	free(s);
	/* the tcp probe failed once, within max_failures: passes, says so */
	s = xpath(path, "count(//testcase[@name=\"redis-port\"]/failure)");
	assert_string_equal(s, "0");
	free(s);
	s = xpath(path, "string(//testcase[@name=\"redis-port\"]/system-out)");
	assert_non_null(strstr(s, "3 runs, 1 failed (max_failures 3)"));
	assert_non_null(strstr(s, "connect to 10.0.0.2:6379: timed out after 1s"));
	free(s);

	/* fault steps */
	s = xpath(path, "string(//testcase[@classname=\"faults\"][1]/@name)");
	assert_string_equal(s, "faults[0] redis " NASTY ": delay 50ms jitter 5ms normal");
	free(s);
	s = xpath(path, "count(//testcase[@classname=\"faults\"][1]/failure)");
	assert_string_equal(s, "0");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"faults\"][2]/failure/@message)");
	assert_string_equal(s, "aborted: probe api <&> failed 4 times (max_failures 3)");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"faults\"][3]/failure/@message)");
	assert_string_equal(s, "no route to 10.0.0.9 & none to fd00::9");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"faults\"][1]/@time)");
	assert_string_equal(s, "30.007");
	free(s);

	/* the command and the rollback */
	s = xpath(path, "string(//testcase[@classname=\"command\"]/@name)");
	assert_string_equal(s, "./load-test --name " NASTY);
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"command\"]/failure/@message)");
	assert_string_equal(s, "exit 3");
	free(s);
	s = xpath(path, "count(//testcase[@classname=\"rollback\"]/failure)");
	assert_string_equal(s, "0");
	free(s);
	s = xpath(path, "string(//property[@name=\"verdict\"]/@value)");
	assert_string_equal(s, "aborted");
	free(s);
	s = xpath(path, "string(//property[@name=\"reason\"]/@value)");
	assert_string_equal(s, "probe \"api\" failed 4 times, more than max_failures 3");
	free(s);
}

static void junit_of_a_passing_run_has_no_failures(void **state)
{
	static const struct fl_report_probe_run runs[] = {
	    {FL_PHASE_BEFORE, T0, 1 * MS, true, "HTTP 200 in 1.0 ms"},
	    {FL_PHASE_DURING, T0 + S, 1 * MS, true, "HTTP 200 in 1.0 ms"},
	};
	static const struct fl_report_probe probe = {
	    .name = "api", .kind = "http", .total_runs = 2, .runs = runs, .n_runs = 2};
	static const struct fl_report_step step = {
	    .fault = "loss 30%", .applied = true, .started_ns = T0, .ended_ns = T0 + S};
	struct fl_report rep = {.scenario = "ok",
				.started_ns = T0,
				.ended_ns = T0 + 2 * S,
				.probes = &probe,
				.n_probes = 1,
				.steps = &step,
				.n_steps = 1,
				.rollback = {.ok = true}};
	char path[128], *s;
	(void)state;

	write_junit(&rep, tmp_path("pass.xml", path, sizeof(path)));
	assert_int_equal(xsd_check(path, 0), 0);
	s = xpath(path, "concat(/testsuites/@tests, \" \", /testsuites/@failures, \" \", "
			"/testsuites/@errors, \" \", count(//failure))");
	assert_string_equal(s, "3 0 0 0");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"faults\"]/@name)");
	assert_string_equal(s, "faults[0] loss 30%");
	free(s);

	/* a failure before the faults breaks the steady state whatever max_failures */
	static const struct fl_report_probe_run before_fail[] = {
	    {FL_PHASE_BEFORE, T0, 1 * MS, false, "connect to [::1]:80: Connection refused"},
	};
	struct fl_report_probe p2 = {.name = "api",
				     .kind = "tcp",
				     .max_failures = 5,
				     .total_runs = 1,
				     .total_failures = 1,
				     .runs = before_fail,
				     .n_runs = 1};
	struct fl_report_command not_run = {.argv = (char *const[]){"nope", NULL},
					    .error = "cannot run nope: No such file"};
	rep.probes = &p2;
	rep.command = &not_run;
	rep.rollback = (struct fl_report_rollback){.ok = false, .detail = "tc filter del: EBUSY"};
	write_junit(&rep, tmp_path("fail.xml", path, sizeof(path)));
	assert_int_equal(xsd_check(path, 0), 0);
	s = xpath(path, "concat(/testsuites/@tests, \" \", /testsuites/@failures, \" \", "
			"/testsuites/@errors)");
	assert_string_equal(s, "4 2 1");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"command\"]/error/@message)");
	assert_string_equal(s, "cannot run nope: No such file");
	free(s);
	s = xpath(path, "string(//testcase[@classname=\"rollback\"]/failure/@message)");
	assert_string_equal(s, "tc filter del: EBUSY");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(json_reads_back_every_field),
	    cmocka_unit_test(json_passes_the_schema_and_a_broken_one_does_not),
	    cmocka_unit_test(empty_report_is_valid_too),
	    cmocka_unit_test(a_full_disk_is_an_error),
	    cmocka_unit_test(rfc3339_is_utc_with_milliseconds),
	    cmocka_unit_test(junit_passes_the_xsd_and_a_broken_one_does_not),
	    cmocka_unit_test(junit_has_a_testcase_per_probe_step_command_and_rollback),
	    cmocka_unit_test(junit_of_a_passing_run_has_no_failures),
	};

	int rc =
	    cmocka_run_group_tests(tests, make_tmpdir, getenv("FL_KEEP") ? NULL : remove_tmpdir);

	return rc;
}
