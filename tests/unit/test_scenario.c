/*
 * tests/unit/test_scenario.c - the scenario model: YAML and JSON forms of a
 * scenario load to the same model; units are read as the CLI reads them;
 * defaults are those of docs/scenario.md; every problem is reported, sorted,
 * with its line:col; and a compiled step is the rule `faultline inject`
 * builds for the same flags and fault words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/dist.h"
#include "faultline/scenario.h"

static const char yaml_text[] =
    "version: 1\n"
    "name: local\n"
    "duration: 30s\n"
    "targets:\n"
    "  echo: {dev: lo, protocol: udp, port: \"7777,8000-8100\", share: 50%}\n"
    "  web:\n"
    "    dev: [lo]\n"
    "    direction: both\n"
    "    protocol: tcp\n"
    "    local_port: 8080\n"
    "    host: [10.0.0.2, \"fd00::2\"]\n"
    "steady_state:\n"
    "  - {name: web-up, tcp: {host: 127.0.0.1, port: 8080}, every: 2s, max_failures: 2}\n"
    "  - name: cmd\n"
    "    command: {run: [sh, -c, \"exit 0\"]}\n"
    "  - name: api\n"
    "    http: {url: \"http://127.0.0.1/\"}\n"
    "faults:\n"
    "  - {target: echo, at: 0s, for: 10s, loss: {gemodel: {p: 1%, r: 20%}}, duplicate: 0.5%}\n"
    "  - target: web\n"
    "    at: 5s\n"
    "    delay: {time: 10ms, jitter: 2ms, correlation: 25, distribution: normal, limit: 500}\n"
    "    reorder: {percent: 10, gap: 3}\n"
    "report: {json: out.json}\n"
    "schedule: \"*/5 3 * jan-mar 1-5\"\n";

static const char json_text[] =
    "{\"version\": 1, \"name\": \"local\", \"duration\": \"30s\",\n"
    " \"targets\": {\n"
    "  \"echo\": {\"dev\": \"lo\", \"protocol\": \"udp\", \"port\": \"7777,8000-8100\", "
    "\"share\": \"50%\"},\n"
    "  \"web\": {\"dev\": [\"lo\"], \"direction\": \"both\", \"protocol\": \"tcp\", "
    "\"local_port\": 8080, \"host\": [\"10.0.0.2\", \"fd00::2\"]}},\n"
    " \"steady_state\": [\n"
    "  {\"name\": \"web-up\", \"tcp\": {\"host\": \"127.0.0.1\", \"port\": 8080}, \"every\": "
    "\"2s\", \"max_failures\": 2},\n"
    "  {\"name\": \"cmd\", \"command\": {\"run\": [\"sh\", \"-c\", \"exit 0\"]}},\n"
    "  {\"name\": \"api\", \"http\": {\"url\": \"http://127.0.0.1/\"}}],\n"
    " \"faults\": [\n"
    "  {\"target\": \"echo\", \"at\": \"0s\", \"for\": \"10s\", \"loss\": {\"gemodel\": {\"p\": "
    "\"1%\", \"r\": \"20%\"}}, \"duplicate\": \"0.5%\"},\n"
    "  {\"target\": \"web\", \"at\": \"5s\", \"delay\": {\"time\": \"10ms\", \"jitter\": \"2ms\", "
    "\"correlation\": 25, \"distribution\": \"normal\", \"limit\": 500},\n"
    "   \"reorder\": {\"percent\": 10, \"gap\": 3}}],\n"
    " \"report\": {\"json\": \"out.json\"},\n"
    " \"schedule\": \"*/5 3 * jan-mar 1-5\"}\n";

static struct fl_scenario *load(const char *name, const char *text)
{
	struct fl_diags d = {0};
	struct fl_scenario *s = NULL;
	int r = fl_scenario_load_buf(name, text, strlen(text), &s, &d);

	for (size_t i = 0; i < d.n; i++)
		print_message("%d:%d: %s: %s\n", d.v[i].line, d.v[i].col, d.v[i].path,
			      d.v[i].message);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	fl_diags_free(&d);
	return s;
}

static void yaml_and_json_give_the_same_model(void **state)
{
	struct fl_scenario *y = load("a.yaml", yaml_text), *j = load("a.json", json_text);

	(void)state;
	assert_string_equal(y->name, j->name);
	assert_int_equal(y->version, 1);
	assert_int_equal(y->duration_ns, j->duration_ns);
	assert_int_equal(y->n_targets, 2);
	assert_int_equal(j->n_targets, 2);
	for (size_t i = 0; i < y->n_targets; i++) {
		struct fl_scenario_target *a = &y->targets[i], *b = &j->targets[i];

		assert_string_equal(a->name, b->name);
		assert_int_equal(a->n_devs, b->n_devs);
		assert_string_equal(a->devs[0], b->devs[0]);
		assert_int_equal(a->dir_mask, b->dir_mask);
		assert_int_equal(a->protocol, b->protocol);
		assert_memory_equal(&a->ports, &b->ports, sizeof(a->ports));
		assert_memory_equal(&a->local_ports, &b->local_ports, sizeof(a->local_ports));
		assert_int_equal(a->n_cidrs, b->n_cidrs);
		assert_memory_equal(a->cidrs, b->cidrs, sizeof(a->cidrs));
		assert_int_equal(a->share_ppb, b->share_ppb);
	}
	assert_int_equal(y->n_faults, 2);
	assert_int_equal(j->n_faults, 2);
	for (size_t i = 0; i < y->n_faults; i++) {
		struct fl_scenario_fault *a = &y->faults[i], *b = &j->faults[i];

		assert_int_equal(a->target, b->target);
		assert_int_equal(a->at_ns, b->at_ns);
		assert_int_equal(a->for_ns, b->for_ns);
		assert_int_equal(a->actions, b->actions);
		assert_memory_equal(&a->act, &b->act, sizeof(a->act));
	}
	assert_int_equal(y->n_probes, 3);
	assert_int_equal(j->n_probes, 3);
	for (size_t i = 0; i < y->n_probes; i++) {
		struct fl_scenario_probe *a = &y->probes[i], *b = &j->probes[i];

		assert_string_equal(a->name, b->name);
		assert_int_equal(a->every_ns, b->every_ns);
		assert_int_equal(a->max_failures, b->max_failures);
		assert_int_equal(a->spec.kind, b->spec.kind);
		assert_int_equal(a->spec.timeout_ns, b->spec.timeout_ns);
	}
	assert_string_equal(y->probes[1].spec.argv[2], "exit 0");
	assert_string_equal(j->probes[1].spec.argv[2], "exit 0");
	assert_string_equal(y->report_json, j->report_json);
	assert_string_equal(y->schedule, j->schedule);
	/* positions are the file's, 1-based */
	assert_int_equal(y->targets[1].pos.line, 6);
	assert_int_equal(y->targets[1].pos.col, 3);
	assert_int_equal(y->faults[1].pos.line, 20);
	assert_int_equal(j->faults[1].pos.line, 11);
	fl_scenario_free(y);
	fl_scenario_free(j);
}

static void defaults_are_the_documented_ones(void **state)
{
	struct fl_scenario *s = load("a.yaml", yaml_text);

	(void)state;
	/* every 1s, max_failures 0, http: GET, 200-299, 1s; command 5s; tcp 1s */
	assert_int_equal(s->probes[2].every_ns, 1000000000ull);
	assert_int_equal(s->probes[2].max_failures, 0);
	assert_string_equal(s->probes[2].spec.method, "GET");
	assert_int_equal(s->probes[2].spec.status_lo, 200);
	assert_int_equal(s->probes[2].spec.status_hi, 299);
	assert_int_equal(s->probes[2].spec.timeout_ns, FL_PROBE_HTTP_TIMEOUT_NS);
	assert_int_equal(s->probes[1].spec.timeout_ns, FL_PROBE_COMMAND_TIMEOUT_NS);
	assert_int_equal(s->probes[0].spec.timeout_ns, FL_PROBE_TCP_TIMEOUT_NS);
	/* direction egress and protocol any unless written; for 0 = to the end */
	assert_int_equal(s->targets[0].dir_mask, FL_DIRMASK_EGRESS);
	assert_int_equal(s->faults[1].for_ns, 0);
	assert_int_equal(fl_scenario_fault_end_ns(s, 1), 30000000000ull);
	/* gemodel: netem's defaults for 1-h and 1-k */
	assert_int_equal(s->faults[0].act.loss.p_ppb[2], FL_PPB_100);
	assert_int_equal(s->faults[0].act.loss.p_ppb[3], 0);
	fl_scenario_free(s);
}

static void percent_and_duration_forms_are_the_clis(void **state)
{
	static const struct {
		const char *loss;
		uint32_t ppb;
	} forms[] = {{"5", 50000000u},	{"\"5%\"", 50000000u},	{"5%", 50000000u},
		     {"0.5", 5000000u}, {"\"0.5%\"", 5000000u}, {"100", FL_PPB_100},
		     {"0.0001%", 1000u}};
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		struct fl_scenario *s;

		snprintf(text, sizeof(text),
			 "version: 1\nname: t\nduration: 1.5s\ntargets: {t: {dev: lo}}\n"
			 "faults: [{target: t, at: 500ms, for: 1s, loss: {percent: %s}}]\n",
			 forms[i].loss);
		s = load("t.yaml", text);
		assert_int_equal(s->faults[0].act.loss.ppb, forms[i].ppb);
		assert_int_equal(s->duration_ns, 1500000000ull);
		assert_int_equal(s->faults[0].at_ns, 500000000ull);
		assert_int_equal(s->faults[0].for_ns, 1000000000ull);
		fl_scenario_free(s);
	}
}

static void every_problem_is_reported_sorted_with_line_and_col(void **state)
{
	static const char text[] = "version: 2\n"
				   "name: t\n"
				   "duration: 10s\n"
				   "targets: {t: {dev: lo, prot: tcp}}\n"
				   "faults:\n"
				   "  - {target: x, loss: 130%}\n"
				   "  - {target: t, at: 20s, delay: {time: 1ms}}\n";
	struct fl_diags d = {0};
	struct fl_scenario *s = (void *)1;
	char buf[512];

	(void)state;
	assert_int_equal(fl_scenario_load_buf("t.yaml", text, strlen(text), &s, &d), -EINVAL);
	assert_null(s);
	assert_int_equal(d.n, 5);
	assert_string_equal(fl_diag_format(&d.v[0], "t.yaml", buf, sizeof(buf)),
			    "t.yaml:1:10: version: \"2\" is not a version this faultline reads "
			    "(expected 1)");
	assert_string_equal(d.v[1].path, "targets.t.prot");
	assert_string_equal(d.v[1].message, "unknown key (did you mean \"port\"?)");
	assert_int_equal(d.v[1].line, 4);
	assert_int_equal(d.v[1].col, 24);
	assert_string_equal(d.v[2].path, "faults[0].target");
	assert_string_equal(d.v[3].path, "faults[0].loss");
	assert_string_equal(d.v[4].path, "faults[1].at");
	for (size_t i = 1; i < d.n; i++)
		assert_true(d.v[i - 1].line < d.v[i].line ||
			    (d.v[i - 1].line == d.v[i].line && d.v[i - 1].col <= d.v[i].col));
	fl_diags_free(&d);
}

static void oversized_and_non_utf8_input_is_refused(void **state)
{
	size_t n = FL_SCENARIO_MAX_BYTES + 1;
	char *big = malloc(n);
	struct fl_diags d = {0};
	struct fl_scenario *s;

	(void)state;
	assert_non_null(big);
	memset(big, '#', n);
	assert_int_equal(fl_scenario_load_buf("big.yaml", big, n, &s, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	free(big);
	fl_diags_free(&d);
	assert_int_equal(fl_scenario_load_buf("x.yaml", "name: \xff\n", 8, &s, &d), -EINVAL);
	assert_int_equal(d.v[0].line, 1);
	assert_int_equal(d.v[0].col, 7);
	fl_diags_free(&d);
}

/*
 * What cli/inject.c builds for
 *   faultline inject delay 10ms 2ms 25% --distribution normal --limit 500 \
 *       reorder 10% --gap 3 --dev lo --direction both --protocol tcp \
 *       --local-port 8080 --host 10.0.0.2,fd00::2
 * written out field by field in inject's order (parse_args, parse_delay,
 * parse_reorder, parse_options), so a change to either side shows here.
 */
static void compiled_step_is_what_inject_builds(void **state)
{
	struct fl_scenario *s = load("a.yaml", yaml_text);
	struct fl_compiled_fault cf;
	struct fl_rule_spec want;
	struct fl_error err = {0};

	(void)state;
	memset(&want, 0, sizeof(want));
	want.dir_mask = FL_DIRMASK_BOTH;
	want.protocol = FL_PROTO_TCP;
	want.delay.ns = 10000000ull;
	want.delay.jitter_ns = 2000000ull;
	want.delay.corr_ppb = 250000000u;
	want.delay.dist = FL_DIST_NORMAL;
	want.delay.limit = 500;
	want.reorder.ppb = 100000000u;
	want.reorder.gap = 3;
	want.local_ports.n = 1;
	want.local_ports.r[0].lo = want.local_ports.r[0].hi = 8080;
	assert_int_equal(fl_parse_cidrs("10.0.0.2,fd00::2", "--host", 1, want.cidrs, &want.n_cidrs,
					FL_CIDRS_MAX, &err),
			 0);

	assert_int_equal(fl_scenario_compile_fault(s, 1, 0, &cf, &err), 0);
	assert_memory_equal(&cf.spec, &want, sizeof(want));
	assert_int_equal(cf.n_ifs, 1);
	assert_int_equal(cf.ifindexes[0], (int)if_nametoindex("lo"));
	assert_int_equal(cf.devs_source, FL_DEVS_NAMED);

	/* loss gemodel 1% 20% duplicate 0.5% --dev lo --protocol udp
	 * --port 7777,8000-8100 --share 50% */
	memset(&want, 0, sizeof(want));
	want.dir_mask = FL_DIRMASK_EGRESS;
	want.protocol = FL_PROTO_UDP;
	want.loss.model = FL_LOSS_GEMODEL;
	want.loss.p_ppb[0] = 10000000u;
	want.loss.p_ppb[1] = 200000000u;
	fl_loss_model_defaults(&want, 2);
	want.duplicate.ppb = 5000000u;
	want.share_ppb = 500000000u;
	assert_int_equal(fl_parse_ports("7777,8000-8100", "--port", &want.ports, &err), 0);
	assert_int_equal(fl_scenario_compile_fault(s, 0, 0, &cf, &err), 0);
	assert_memory_equal(&cf.spec, &want, sizeof(want));
	fl_scenario_free(s);
}

static void compile_names_the_target_when_the_host_cannot_resolve_it(void **state)
{
	static const char text[] = "version: 1\nname: t\nduration: 10s\n"
				   "targets:\n  t: {dev: fl-none0}\n"
				   "faults: [{target: t, blackhole: {}}]\n";
	struct fl_scenario *s = load("t.yaml", text);
	struct fl_compiled_fault cf;
	struct fl_error err = {0};

	(void)state;
	assert_int_not_equal(fl_scenario_compile_fault(s, 0, 0, &cf, &err), 0);
	assert_string_equal(err.field, "targets.t.dev");
	assert_int_equal(err.line, 5);
	assert_int_equal(err.col, 3);
	/* blackhole is loss 100% as inject makes it */
	assert_int_equal(s->faults[0].act.loss.ppb, FL_PPB_100);
	fl_scenario_free(s);
}

static void error_steps_compile_as_inject_builds_them(void **state)
{
	static const char text[] =
	    "version: 1\nname: t\nduration: 60s\n"
	    "targets:\n"
	    "  web: {dev: lo, port: 8080}\n"
	    "  ns: {dev: lo}\n"
	    "  db: {host: 10.0.0.2, port: 5432}\n"
	    "  in: {dev: lo, port: 9000, direction: ingress}\n"
	    "faults:\n"
	    "  - {target: web, http: {status: 503, percent: 25, path: /api, delay: 50ms}}\n"
	    "  - {target: ns, dns: {rcode: nxdomain, domains: [A.Example.COM., \"*.svc.local\"]}}\n"
	    "  - {target: db, refuse: ETIMEDOUT}\n"
	    "  - {target: in, reset: {percent: 50, after_bytes: 1000b, after: 2s}}\n"
	    "  - {target: ns, dns: drop}\n";
	struct fl_scenario *s = load("e.yaml", text);
	struct fl_compiled_fault cf;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(s->faults[0].actions, FL_SACT_HTTP);
	assert_int_equal(fl_scenario_compile_fault(s, 0, 0, &cf, &err), 0);
	assert_int_equal(cf.spec.dir_mask, FL_DIRMASK_BOTH); /* no direction: both */
	assert_int_equal(cf.spec.protocol, FL_PROTO_TCP);
	assert_int_equal(cf.spec.http.on, 1);
	assert_int_equal(cf.spec.http.status, 503);
	assert_int_equal(cf.spec.http.ppb, 250000000u);
	assert_string_equal(cf.spec.http.path, "/api");
	assert_int_equal(cf.spec.delay.ns, 50000000ull);
	assert_int_equal(cf.n_ifs, 1);

	assert_int_equal(fl_scenario_compile_fault(s, 1, 0, &cf, &err), 0);
	assert_int_equal(cf.spec.dns.rcode, FL_DNS_RCODE_NXDOMAIN);
	assert_int_equal(cf.spec.dns.port, 53);
	assert_int_equal(cf.spec.ports.n, 1); /* port 53 added */
	assert_int_equal(cf.spec.ports.r[0].lo, 53);
	assert_string_equal(cf.spec.dns.domains, "a.example.com,*.svc.local");
	assert_int_equal(cf.spec.dir_mask, FL_DIRMASK_BOTH);
	assert_int_equal(cf.spec.protocol, FL_PROTOCOL_ANY);

	/* refuse: connect() hooks, no interface */
	assert_int_equal(fl_scenario_compile_fault(s, 2, 0, &cf, &err), 0);
	assert_int_equal(cf.spec.refuse.err, ETIMEDOUT);
	assert_int_equal(cf.n_ifs, 0);
	assert_int_equal(cf.spec.ports.r[0].lo, 5432);
	assert_string_equal(cf.cgroup_abs, "");

	assert_int_equal(fl_scenario_compile_fault(s, 3, 0, &cf, &err), 0);
	assert_int_equal(cf.spec.dir_mask, FL_DIRMASK_INGRESS); /* as written */
	assert_int_equal(cf.spec.reset.on, 1);
	assert_int_equal(cf.spec.reset.ppb, 500000000u);
	assert_int_equal(cf.spec.reset.after_bytes, 1000);
	assert_int_equal(cf.spec.reset.after_ns, 2000000000ull);

	assert_int_equal(fl_scenario_compile_fault(s, 4, 0, &cf, &err), 0);
	assert_int_equal(cf.spec.dns.rcode, FL_DNS_RCODE_DROP);
	fl_scenario_free(s);
}

static void error_steps_refuse_what_their_mechanism_cannot_do(void **state)
{
	static const char text[] = "version: 1\nname: t\nduration: 60s\n"
				   "targets:\n"
				   "  u: {dev: lo, protocol: udp, port: 80}\n"
				   "  l: {dev: lo, local_port: 80}\n"
				   "  r: {dev: lo, port: \"53,5353\"}\n"
				   "faults:\n"
				   "  - {target: u, reset: {}}\n"
				   "  - {target: l, refuse: {}}\n"
				   "  - {target: r, dns: servfail}\n";
	struct fl_scenario *s = load("e.yaml", text);
	struct fl_compiled_fault cf;
	struct fl_error err = {0};

	(void)state;
	assert_int_equal(fl_scenario_compile_fault(s, 0, 0, &cf, &err), -EINVAL);
	assert_string_equal(err.field, "targets.u.protocol");
	assert_int_equal(fl_scenario_compile_fault(s, 1, 0, &cf, &err), -EINVAL);
	assert_string_equal(err.field, "targets.l.local_port");
	assert_int_equal(fl_scenario_compile_fault(s, 2, 0, &cf, &err), -EINVAL);
	assert_string_equal(err.field, "targets.r.port");
	fl_scenario_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(yaml_and_json_give_the_same_model),
	    cmocka_unit_test(defaults_are_the_documented_ones),
	    cmocka_unit_test(percent_and_duration_forms_are_the_clis),
	    cmocka_unit_test(every_problem_is_reported_sorted_with_line_and_col),
	    cmocka_unit_test(oversized_and_non_utf8_input_is_refused),
	    cmocka_unit_test(compiled_step_is_what_inject_builds),
	    cmocka_unit_test(compile_names_the_target_when_the_host_cannot_resolve_it),
	    cmocka_unit_test(error_steps_compile_as_inject_builds_them),
	    cmocka_unit_test(error_steps_refuse_what_their_mechanism_cannot_do),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
