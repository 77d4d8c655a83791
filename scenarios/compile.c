/*
 * scenarios/compile.c - one step of a scenario into the rule `faultline
 * inject` would build for the same target flags and fault words: the
 * target's match fields, the step's actions, and the host's view of them
 * (cgroup ids, interfaces). This is the only part of scenarios/ that looks
 * at the system; it changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faultline/dist.h"
#include "faultline/errors.h"
#include "faultline/scenario.h"
#include "faultline/target.h"

/* The library's flag names become the target's keys. */
static void rename_field(struct fl_error *err, const struct fl_scenario_target *t)
{
	static const struct {
		const char *flag, *key;
	} map[] = {{"--dev", "dev"},	   {"--host", "host"},
		   {"--cidr", "cidr"},	   {"--allow-wide", "allow_wide"},
		   {"--cgroup", "cgroup"}, {"", ""}};
	char f[96];

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(err->field, map[i].flag)) {
			snprintf(f, sizeof(f), "targets.%s%s%s", t->name, map[i].key[0] ? "." : "",
				 map[i].key);
			snprintf(err->field, sizeof(err->field), "%s", f);
			break;
		}
	err->line = t->pos.line;
	err->col = t->pos.col;
}

int fl_scenario_compile_fault(const struct fl_scenario *s, size_t fault, uint64_t command_cgroup_id,
			      struct fl_compiled_fault *out, struct fl_error *err)
{
	const struct fl_scenario_fault *f;
	const struct fl_scenario_target *t;
	struct fl_rule_spec *spec = &out->spec;
	char field[96], cg[4096];
	int r, wide;

	memset(out, 0, sizeof(*out));
	if (fault >= s->n_faults || s->faults[fault].target < 0 ||
	    (size_t)s->faults[fault].target >= s->n_targets)
		return -EINVAL;
	f = &s->faults[fault];
	t = &s->targets[f->target];

	/* the actions, as the fault words set them */
	*spec = f->act;
	/* the match, as the target flags set them */
	spec->dir_mask = t->dir_mask;
	spec->protocol = t->protocol;
	spec->ports = t->ports;
	spec->local_ports = t->local_ports;
	spec->remote_ports = t->remote_ports;
	spec->n_cidrs = t->n_cidrs;
	memcpy(spec->cidrs, t->cidrs, sizeof(spec->cidrs));
	spec->share_ppb = t->share_ppb;
	spec->allow_management = t->allow_management;
	spec->end_ns = 0;

	if (t->cgroup) {
		snprintf(field, sizeof(field), "targets.%s.cgroup", t->name);
		r = fl_cgroup_id(t->cgroup, field, out->cgroup_abs, sizeof(out->cgroup_abs),
				 &spec->cgroup_id, err);
		if (r) {
			rename_field(err, t);
			return r;
		}
	} else if (t->pid) {
		snprintf(field, sizeof(field), "targets.%s.pid", t->name);
		r = fl_pid_cgroup(t->pid, field, cg, sizeof(cg), err);
		if (!r)
			r = fl_cgroup_id(cg, field, out->cgroup_abs, sizeof(out->cgroup_abs),
					 &spec->cgroup_id, err);
		if (r) {
			rename_field(err, t);
			return r;
		}
	} else if (t->command) {
		spec->cgroup_id = command_cgroup_id;
		out->command_pending = command_cgroup_id == 0;
	}

	{
		static const char *const keys[6] = {"protocol",	   "port",	"local_port",
						    "remote_port", "direction", "share"};
		char kf[6][96];
		const char *kp[6];

		for (int i = 0; i < 6; i++) {
			snprintf(kf[i], sizeof(kf[i]), "targets.%s.%s", t->name, keys[i]);
			kp[i] = kf[i];
		}
		r = fl_errors_complete(spec, t->direction_set, t->cgroup || t->pid || t->command,
				       kp, err);
		if (r) {
			err->line = t->pos.line;
			err->col = t->pos.col;
			return r;
		}
	}
	/* refuse acts on connect() in a cgroup, on no interface: the target's
	 * cgroup, or every process (the root of the cgroup v2 mount) */
	if (spec->refuse.err)
		return 0;

	/* A target narrowed by a port or a cgroup was accepted without
	 * allow_wide (the scenario's rule): with no dev and no address it
	 * acts on every interface that is up. */
	wide = t->allow_wide || t->ports.n || t->local_ports.n || t->remote_ports.n || t->cgroup ||
	       t->pid || t->command;
	r = fl_target_resolve_devs(spec, (const char *const *)t->devs, t->n_devs, wide,
				   out->ifindexes, &out->n_ifs, &out->devs_source, err);
	if (r) {
		rename_field(err, t);
		return r;
	}
	return 0;
}

/* The actions of a step in inject's words: "loss 1%, delay 10ms limit 1000". */
void fl_scenario_describe_actions(unsigned acts, const struct fl_rule_spec *s, char *buf,
				  size_t len)
{
	char p1[32], p2[32];
	size_t o = 0;

	buf[0] = '\0';
	if (acts & FL_SACT_RATE)
		fl_append(buf, len, &o, "%srate %s burst %s", o ? ", " : "",
			  fl_fmt_rate(s->rate.bits_per_sec, p1, sizeof(p1)),
			  fl_fmt_size(fl_rate_burst(s), p2, sizeof(p2)));
	if (acts & FL_SACT_BLACKHOLE) {
		fl_append(buf, len, &o, "%sblackhole", o ? ", " : "");
	} else if ((acts & FL_SACT_LOSS) && s->loss.model == FL_LOSS_RANDOM) {
		fl_append(buf, len, &o, "%sloss %s", o ? ", " : "",
			  fl_fmt_percent(s->loss.ppb, p1, sizeof(p1)));
		if (s->loss.corr_ppb)
			fl_append(buf, len, &o, " correlation %s",
				  fl_fmt_percent(s->loss.corr_ppb, p1, sizeof(p1)));
	} else if (acts & FL_SACT_LOSS) {
		static const char *const ge[] = {"p", "r", "1-h", "1-k"};
		static const char *const st[] = {"p13", "p31", "p32", "p23", "p14"};
		int gemodel = s->loss.model == FL_LOSS_GEMODEL;

		fl_append(buf, len, &o, "%sloss %s", o ? ", " : "", gemodel ? "gemodel" : "state");
		for (int k = 0; k < (gemodel ? 4 : 5); k++)
			fl_append(buf, len, &o, " %s %s", gemodel ? ge[k] : st[k],
				  fl_fmt_percent(s->loss.p_ppb[k], p1, sizeof(p1)));
	}
	if (acts & FL_SACT_CORRUPT)
		fl_append(buf, len, &o, "%scorrupt %s%s", o ? ", " : "",
			  fl_fmt_percent(s->corrupt.ppb, p1, sizeof(p1)),
			  s->corrupt.payload ? " payload" : "");
	if (acts & FL_SACT_DUPLICATE) {
		fl_append(buf, len, &o, "%sduplicate %s", o ? ", " : "",
			  fl_fmt_percent(s->duplicate.ppb, p1, sizeof(p1)));
		if (s->duplicate.corr_ppb)
			fl_append(buf, len, &o, " correlation %s",
				  fl_fmt_percent(s->duplicate.corr_ppb, p2, sizeof(p2)));
	}
	if (acts & FL_SACT_DELAY) {
		fl_append(buf, len, &o, "%sdelay %s", o ? ", " : "",
			  fl_fmt_duration(s->delay.ns, p1, sizeof(p1)));
		if (s->delay.jitter_ns)
			fl_append(buf, len, &o, " jitter %s",
				  fl_fmt_duration(s->delay.jitter_ns, p2, sizeof(p2)));
		if (s->delay.corr_ppb)
			fl_append(buf, len, &o, " correlation %s",
				  fl_fmt_percent(s->delay.corr_ppb, p2, sizeof(p2)));
		if (s->delay.jitter_ns)
			fl_append(buf, len, &o, " %s", fl_dist_name((enum fl_dist)s->delay.dist));
		fl_append(buf, len, &o, " limit %u",
			  s->delay.limit ? s->delay.limit : FL_DELAY_LIMIT_DEFAULT);
	}
	if (acts & FL_SACT_REORDER) {
		fl_append(buf, len, &o, "%sreorder %s", o ? ", " : "",
			  fl_fmt_percent(s->reorder.ppb, p1, sizeof(p1)));
		if (s->reorder.corr_ppb)
			fl_append(buf, len, &o, " correlation %s",
				  fl_fmt_percent(s->reorder.corr_ppb, p2, sizeof(p2)));
		fl_append(buf, len, &o, " gap %u", s->reorder.gap ? s->reorder.gap : 1);
	}
	if (acts & FL_SACT_REFUSE) {
		const char *name = fl_errno_name(s->refuse.err);

		fl_append(buf, len, &o, "%srefuse errno %s", o ? ", " : "", name ? name : "?");
		if (s->refuse.ppb && s->refuse.ppb < FL_PPB_100)
			fl_append(buf, len, &o, " percent %s",
				  fl_fmt_percent(s->refuse.ppb, p1, sizeof(p1)));
	}
	if (acts & FL_SACT_RESET) {
		fl_append(buf, len, &o, "%sreset", o ? ", " : "");
		if (s->reset.ppb && s->reset.ppb < FL_PPB_100)
			fl_append(buf, len, &o, " percent %s",
				  fl_fmt_percent(s->reset.ppb, p1, sizeof(p1)));
		if (s->reset.after_bytes)
			fl_append(buf, len, &o, " after-bytes %s",
				  fl_fmt_size(s->reset.after_bytes, p1, sizeof(p1)));
		if (s->reset.after_ns)
			fl_append(buf, len, &o, " after %s",
				  fl_fmt_duration(s->reset.after_ns, p1, sizeof(p1)));
	}
	if (acts & FL_SACT_DNS) {
		fl_append(buf, len, &o, "%sdns %s", o ? ", " : "", fl_dns_rcode_name(s->dns.rcode));
		if (s->dns.domains[0])
			fl_append(buf, len, &o, " domain %s", s->dns.domains);
		if (s->dns.ppb && s->dns.ppb < FL_PPB_100)
			fl_append(buf, len, &o, " percent %s",
				  fl_fmt_percent(s->dns.ppb, p1, sizeof(p1)));
		if (s->dns.port && s->dns.port != 53)
			fl_append(buf, len, &o, " port %u", s->dns.port);
	}
	if (acts & FL_SACT_HTTP) {
		fl_append(buf, len, &o, "%shttp", o ? ", " : "");
		if (s->http.status)
			fl_append(buf, len, &o, " status %d", s->http.status);
		if (s->delay.ns)
			fl_append(buf, len, &o, " delay %s",
				  fl_fmt_duration(s->delay.ns, p1, sizeof(p1)));
		if (s->http.ppb && s->http.ppb < FL_PPB_100)
			fl_append(buf, len, &o, " percent %s",
				  fl_fmt_percent(s->http.ppb, p1, sizeof(p1)));
		if (s->http.path[0])
			fl_append(buf, len, &o, " path %s", s->http.path);
	}
}
