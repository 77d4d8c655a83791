/*
 * cli/plan.c - `faultline plan FILE`: what a scenario would do here, with
 * nothing applied: each step's rule compiled for this host (interfaces,
 * directions, cgroup ids), the timeline, the probes, and which of the
 * faults used `faultline doctor`'s probes say cannot run on this kernel.
 *
 * Loading and compiling are the library's (fl_scenario_load,
 * fl_scenario_compile_fault); probing is fl_probe_all(). This file prints.
 */
#include <getopt.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "faultline/dist.h"
#include "faultline/probe.h"
#include "faultline/scenario.h"
#include "faultline/units.h"

static void plan_usage(FILE *f)
{
	fputs("Usage: faultline plan [--json] [--no-doctor] FILE\n"
	      "\n"
	      "Show what the scenario FILE would do on this host, and apply nothing: the rule\n"
	      "of each fault step as 'faultline inject' would build it, on each interface and\n"
	      "direction it would be attached to (interfaces named by dev, else found from\n"
	      "the routes to host/cidr; cgroup and pid resolved to cgroup ids), the timeline\n"
	      "(each step's start and end from the start of the experiment), the\n"
	      "steady-state probes, and which of the faults used this kernel cannot run,\n"
	      "by the probes of 'faultline doctor' (run as root for a true answer).\n"
	      "\n"
	      "Options:\n"
	      "  --json        print one JSON object: {\"file\", \"name\", \"duration_ns\",\n"
	      "                \"steps\": [{\"index\", \"target\", \"faults\", \"start_ns\", "
	      "\"end_ns\",\n"
	      "                \"rules\": [{\"dev\", \"direction\", \"match\"}]}], \"probes\": "
	      "[...],\n"
	      "                \"unsupported\": [{\"fault\", \"reason\"}]}\n"
	      "  --no-doctor   do not probe the kernel (\"unsupported\" is then null)\n"
	      "  -h, --help    show this help and exit\n"
	      "\n"
	      "Exit status: 0 when the scenario is valid and every step resolves here, 2 when\n"
	      "the file is invalid (every problem is printed as by 'faultline validate') or a\n"
	      "target cannot be resolved on this host (no such interface, no route, no such\n"
	      "cgroup or process).\n"
	      "\n"
	      "Examples:\n"
	      "  faultline plan examples/redis-latency.yaml\n"
	      "  sudo faultline plan --json chaos.yaml | jq '.steps[].rules'\n",
	      f);
}

/* "protocol tcp, port 6379, remote 10.0.0.2/32, cgroup ... (id N)" */
static void describe_match(const struct fl_scenario_target *t, const struct fl_compiled_fault *c,
			   char *buf, size_t len)
{
	const struct fl_rule_spec *s = &c->spec;
	char tmp[512];
	size_t o = 0;

	buf[0] = '\0';
	static const char *const protos[] = {"other", "tcp", "udp", "icmp"};

	/* the compiled protocol: an error fault may have narrowed it (http: tcp) */
	fl_append(buf, len, &o, "protocol %s",
		  s->protocol > FL_PROTO_OTHER && s->protocol < FL_PROTO_COUNT ? protos[s->protocol]
									       : t->protocol_name);
	if (s->ports.n)
		fl_append(buf, len, &o, ", port %s", fl_fmt_ports(&s->ports, tmp, sizeof(tmp)));
	if (s->local_ports.n)
		fl_append(buf, len, &o, ", local port %s",
			  fl_fmt_ports(&s->local_ports, tmp, sizeof(tmp)));
	if (s->remote_ports.n)
		fl_append(buf, len, &o, ", remote port %s",
			  fl_fmt_ports(&s->remote_ports, tmp, sizeof(tmp)));
	for (unsigned k = 0; k < s->n_cidrs; k++)
		fl_append(buf, len, &o, "%s%s", k ? "," : ", remote ",
			  fl_fmt_cidr(&s->cidrs[k], 1, tmp, sizeof(tmp)));
	if (c->cgroup_abs[0])
		fl_append(buf, len, &o, ", cgroup %s (id %llu)", c->cgroup_abs,
			  (unsigned long long)s->cgroup_id);
	if (t->pid)
		fl_append(buf, len, &o, " from pid %d", t->pid);
	if (t->command)
		fl_append(buf, len, &o, ", the command's cgroup (made by faultline run)");
	if (s->share_ppb && s->share_ppb < FL_PPB_100)
		fl_append(buf, len, &o, ", %s of flows",
			  fl_fmt_percent(s->share_ppb, tmp, sizeof(tmp)));
	if (s->allow_management)
		fl_append(buf, len, &o, ", management ports included");
}

static void describe_probe(const struct fl_scenario_probe *p, char *buf, size_t len)
{
	const struct fl_probe_spec *s = &p->spec;
	char t[32];
	size_t o = 0;

	buf[0] = '\0';
	switch (s->kind) {
	case FL_PROBE_HTTP:
		fl_append(buf, len, &o, "http %s %s, status %d-%d", s->method, s->url, s->status_lo,
			  s->status_hi);
		if (s->body_contains)
			fl_append(buf, len, &o, ", body contains \"%s\"", s->body_contains);
		break;
	case FL_PROBE_TCP:
		fl_append(buf, len, &o, "tcp connect %s port %u", s->host, s->port);
		break;
	case FL_PROBE_COMMAND:
		if (s->sh) {
			fl_append(buf, len, &o, "command sh -c \"%s\"", s->sh);
		} else {
			fl_append(buf, len, &o, "command");
			for (size_t k = 0; s->argv && s->argv[k]; k++)
				fl_append(buf, len, &o, " %s", s->argv[k]);
		}
		break;
	}
	fl_append(buf, len, &o, ", timeout %s", fl_fmt_duration(s->timeout_ns, t, sizeof(t)));
	fl_append(buf, len, &o, "; every %s", fl_fmt_duration(p->every_ns, t, sizeof(t)));
	fl_append(buf, len, &o, ", aborts after %u failure%s", p->max_failures + 1,
		  p->max_failures ? "s" : "");
}

static const struct {
	unsigned act;
	enum fl_fault_kind kind;
	const char *name;
} act_kinds[] = {
    {FL_SACT_LOSS, FL_FAULT_LOSS, "loss"},
    {FL_SACT_BLACKHOLE, FL_FAULT_BLACKHOLE, "blackhole"},
    {FL_SACT_DUPLICATE, FL_FAULT_DUPLICATE, "duplicate"},
    {FL_SACT_CORRUPT, FL_FAULT_CORRUPT, "corrupt"},
    {FL_SACT_RATE, FL_FAULT_RATE, "rate"},
    {FL_SACT_DELAY, FL_FAULT_DELAY, "delay"},
    {FL_SACT_REORDER, FL_FAULT_REORDER, "reorder"},
    {FL_SACT_RESET, FL_FAULT_RESET, "reset"},
    {FL_SACT_REFUSE, FL_FAULT_REFUSE, "refuse"},
    {FL_SACT_DNS, FL_FAULT_DNS, "dns"},
    {FL_SACT_HTTP, FL_FAULT_HTTP, "http"},
};

int fl_cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"no-doctor", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	static const char *const dirs[] = {"ingress", "egress"};
	struct fl_diags d = {0};
	struct fl_scenario *s = NULL;
	struct fl_compiled_fault *cf = NULL;
	struct fl_probe_report *rep = NULL;
	const char *file;
	unsigned used = 0, cgroup_used = 0;
	int c, json = 0, doctor = 1, code = FL_EXIT_OK;
	char buf[2048], match[1024], t1[32], t2[32];
	cJSON *root = NULL, *steps = NULL;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jnh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'n':
			doctor = 0;
			break;
		case 'h':
			plan_usage(stdout);
			return FL_EXIT_OK;
		default:
			fprintf(stderr,
				"faultline plan: unknown option %s (see 'faultline plan --help')\n",
				argv[optind - 1]);
			return FL_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "faultline plan: %s (see 'faultline plan --help')\n",
			optind >= argc ? "missing FILE (expected e.g. 'faultline plan chaos.yaml')"
				       : "one FILE at a time (expected 'faultline plan FILE')");
		return FL_EXIT_USAGE;
	}
	file = argv[optind];
	if (fl_scenario_load(file, &s, &d)) {
		for (size_t k = 0; k < d.n; k++)
			fprintf(stderr, "%s\n", fl_diag_format(&d.v[k], file, buf, sizeof(buf)));
		fl_diags_free(&d);
		return FL_EXIT_USAGE;
	}
	fl_diags_free(&d);

	cf = calloc(s->n_faults + 1, sizeof(*cf));
	if (!cf) {
		fl_cli_err("out of memory");
		fl_scenario_free(s);
		return FL_EXIT_INJECT;
	}
	for (size_t i = 0; i < s->n_faults; i++) {
		struct fl_error err = {0};

		used |= s->faults[i].actions;
		if (s->targets[s->faults[i].target].cgroup || s->targets[s->faults[i].target].pid ||
		    s->targets[s->faults[i].target].command)
			cgroup_used = 1;
		if (fl_scenario_compile_fault(s, i, 0, &cf[i], &err)) {
			char e[512];

			fprintf(stderr, "%s:%s (faults[%zu] cannot be resolved on this host)\n",
				file, fl_error_str(&err, e, sizeof(e)), i);
			code = FL_EXIT_USAGE;
		}
	}
	if (code) {
		free(cf);
		fl_scenario_free(s);
		return code;
	}
	if (doctor) {
		rep = calloc(1, sizeof(*rep));
		if (rep)
			fl_probe_all(rep);
	}

	if (json) {
		root = cJSON_CreateObject();
		cJSON_AddStringToObject(root, "file", file);
		cJSON_AddStringToObject(root, "name", s->name);
		cJSON_AddNumberToObject(root, "duration_ns", (double)s->duration_ns);
		steps = cJSON_AddArrayToObject(root, "steps");
	} else {
		printf("plan for %s: \"%s\", %s; nothing is applied\n", file, s->name,
		       fl_fmt_duration(s->duration_ns, t1, sizeof(t1)));
		printf("timeline:\n");
	}
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct fl_scenario_fault *f = &s->faults[i];
		const struct fl_scenario_target *t = &s->targets[f->target];
		uint64_t end = fl_scenario_fault_end_ns(s, i);
		cJSON *js = NULL, *rules = NULL;

		fl_scenario_describe_actions(f->actions, &cf[i].spec, buf, sizeof(buf));
		describe_match(t, &cf[i], match, sizeof(match));
		if (json) {
			js = cJSON_CreateObject();
			cJSON_AddNumberToObject(js, "index", (double)i);
			cJSON_AddStringToObject(js, "target", t->name);
			cJSON_AddStringToObject(js, "faults", buf);
			cJSON_AddNumberToObject(js, "start_ns", (double)f->at_ns);
			cJSON_AddNumberToObject(js, "end_ns", (double)end);
			rules = cJSON_AddArrayToObject(js, "rules");
			cJSON_AddItemToArray(steps, js);
		} else {
			printf("  faults[%zu] %s -> %s  %s: %s\n", i,
			       fl_fmt_duration(f->at_ns, t1, sizeof(t1)),
			       fl_fmt_duration(end, t2, sizeof(t2)), t->name, buf);
		}
		if (cf[i].spec.refuse.err) {
			const char *where = cf[i].cgroup_abs[0] ? cf[i].cgroup_abs
					    : t->command	? "the command's cgroup"
								: "every process (cgroup v2 root)";

			if (json) {
				cJSON *r = cJSON_CreateObject();

				cJSON_AddStringToObject(r, "hook", "connect4,connect6");
				cJSON_AddStringToObject(r, "cgroup", where);
				cJSON_AddStringToObject(r, "match", match);
				cJSON_AddItemToArray(rules, r);
			} else {
				printf("    connect() of %s: %s\n", where, match);
			}
		}
		for (int k = 0; k < cf[i].n_ifs; k++) {
			char ifname[IF_NAMESIZE];

			if (!if_indextoname((unsigned)cf[i].ifindexes[k], ifname))
				snprintf(ifname, sizeof(ifname), "if%d", cf[i].ifindexes[k]);
			for (int dir = 0; dir < 2; dir++) {
				if (!(cf[i].spec.dir_mask & (1u << dir)))
					continue;
				if (json) {
					cJSON *r = cJSON_CreateObject();

					cJSON_AddStringToObject(r, "dev", ifname);
					cJSON_AddStringToObject(r, "direction", dirs[dir]);
					cJSON_AddStringToObject(r, "match", match);
					cJSON_AddItemToArray(rules, r);
				} else {
					printf("    %s %s: %s\n", ifname, dirs[dir], match);
				}
			}
		}
	}
	if (!json && !s->n_faults)
		printf("  (no fault steps)\n");

	if (json) {
		cJSON *probes = cJSON_AddArrayToObject(root, "probes");

		for (size_t i = 0; i < s->n_probes; i++) {
			cJSON *p = cJSON_CreateObject();

			describe_probe(&s->probes[i], buf, sizeof(buf));
			cJSON_AddStringToObject(p, "name", s->probes[i].name);
			cJSON_AddStringToObject(p, "kind",
						fl_probe_kind_name(s->probes[i].spec.kind));
			cJSON_AddStringToObject(p, "check", buf);
			cJSON_AddNumberToObject(p, "every_ns", (double)s->probes[i].every_ns);
			cJSON_AddNumberToObject(p, "max_failures", s->probes[i].max_failures);
			cJSON_AddItemToArray(probes, p);
		}
	} else if (s->n_probes) {
		printf("steady state:\n");
		for (size_t i = 0; i < s->n_probes; i++) {
			describe_probe(&s->probes[i], buf, sizeof(buf));
			printf("  %s: %s\n", s->probes[i].name, buf);
		}
	}
	if (!json && (s->report_json || s->report_junit))
		printf("report:%s%s%s%s\n", s->report_json ? " json " : "",
		       s->report_json ? s->report_json : "", s->report_junit ? " junit " : "",
		       s->report_junit ? s->report_junit : "");
	if (!json && s->schedule)
		printf("schedule: %s (used by faultlined)\n", s->schedule);

	if (json && !rep) {
		cJSON_AddNullToObject(root, "unsupported");
	} else if (rep) {
		cJSON *un = json ? cJSON_AddArrayToObject(root, "unsupported") : NULL;
		int any = 0;

		for (size_t k = 0; k < sizeof(act_kinds) / sizeof(act_kinds[0]); k++) {
			const struct fl_fault_support *fs = &rep->faults[act_kinds[k].kind];

			if (!(used & act_kinds[k].act) || fs->works)
				continue;
			if (json) {
				cJSON *o = cJSON_CreateObject();

				cJSON_AddStringToObject(o, "fault", act_kinds[k].name);
				cJSON_AddStringToObject(o, "reason", fs->reason);
				cJSON_AddItemToArray(un, o);
			} else {
				if (!any++)
					printf("cannot run here (faultline doctor):\n");
				printf("  %s: %s\n", act_kinds[k].name, fs->reason);
			}
		}
		if (cgroup_used && !rep->targets[FL_TARGET_CGROUP].egress) {
			if (json) {
				cJSON *o = cJSON_CreateObject();

				cJSON_AddStringToObject(o, "fault", "cgroup target");
				cJSON_AddStringToObject(o, "reason",
							rep->targets[FL_TARGET_CGROUP].reason);
				cJSON_AddItemToArray(un, o);
			} else {
				if (!any++)
					printf("cannot run here (faultline doctor):\n");
				printf("  cgroup target: %s\n",
				       rep->targets[FL_TARGET_CGROUP].reason);
			}
		}
		if (!json && !any)
			printf("every fault used can run here (faultline doctor)\n");
	}
	if (json) {
		char *text = cJSON_Print(root);

		if (text)
			puts(text);
		cJSON_free(text);
		cJSON_Delete(root);
	}
	free(rep);
	free(cf);
	fl_scenario_free(s);
	return FL_EXIT_OK;
}
