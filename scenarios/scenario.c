/*
 * scenarios/scenario.c - the schema: one walk over the node tree of a
 * scenario file (scenarios/parse_yaml.c) that builds the model
 * (faultline/scenario.h) and reports every problem it meets, each with the
 * field's path and line:col, instead of stopping at the first.
 *
 * Values go through the shared unit parsers (faultline/units.h,
 * faultline/target.h), and the limits and cross-field rules are those of
 * `faultline inject` (cli/inject.c), with the same wording where the CLI's
 * flag becomes a key (--allow-management is allow_management: true): a
 * scenario step accepts exactly what the CLI's fault words accept.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "faultline/cron.h"
#include "faultline/dist.h"
#include "faultline/errors.h"
#include "faultline/scenario.h"
#include "faultline/units.h"
#include "scenarios/node.h"

#define PATH_LEN 256

/* The smallest share: one of the FL_SHARE_BUCKETS flow-hash buckets (as inject). */
#define SHARE_MIN_PPB (FL_PPB_100 / FL_SHARE_BUCKETS)

struct walk {
	struct fl_diags *d;
	struct fl_scenario *s;
};

static void errf(struct walk *w, const struct fl_snode *n, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void errf(struct walk *w, const struct fl_snode *n, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fl_diags_add(w->d, n ? n->line : 0, n ? n->col : 0, path, "%s", msg);
}

/* An error a unit parser filled. */
static void err_from(struct walk *w, const struct fl_snode *n, const char *path,
		     const struct fl_error *e)
{
	fl_diags_add(w->d, n->line, n->col, path, "%s", e->msg);
}

static const char *path_key(char *buf, const char *parent, const char *key)
{
	/* a path longer than PATH_LEN is cut: it only names the field */
	if (snprintf(buf, PATH_LEN, "%s%s%s", parent, parent[0] ? "." : "", key) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
	return buf;
}

static const char *path_idx(char *buf, const char *parent, size_t i)
{
	if (snprintf(buf, PATH_LEN, "%s[%zu]", parent, i) >= PATH_LEN)
		buf[PATH_LEN - 1] = '\0';
	return buf;
}

static const char *kind_name(const struct fl_snode *n)
{
	if (fl_snode_is_null(n))
		return "null";
	switch (n->kind) {
	case FL_SNODE_MAP:
		return "a mapping";
	case FL_SNODE_SEQ:
		return "a list";
	default:
		return "a scalar";
	}
}

/* ------------------------------------------------------------------ */
/* did you mean                                                        */

static size_t levenshtein(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* The candidate closest to word: edit distance <= 2, else one that word is
 * a prefix of (or that is a prefix of word); NULL when none. */
static const char *did_you_mean(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = 3, wl = strlen(word);

	for (size_t i = 0; i < n; i++) {
		size_t dist = levenshtein(word, cands[i]);

		if (dist < best_d) {
			best_d = dist;
			best = cands[i];
		}
	}
	if (best || !wl)
		return best;
	for (size_t i = 0; i < n; i++) {
		size_t cl = strlen(cands[i]);

		if ((wl >= 2 && !strncmp(cands[i], word, wl)) ||
		    (cl >= 2 && !strncmp(word, cands[i], cl)))
			return cands[i];
	}
	return NULL;
}

static size_t count_of(const char *const *v)
{
	size_t n = 0;

	while (v[n])
		n++;
	return n;
}

/* "a, b or c" */
static const char *or_list(const char *const *v, char *buf, size_t len)
{
	size_t n = count_of(v), o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
				      i == 0	   ? ""
				      : i + 1 == n ? " or "
						   : ", ",
				      v[i]);
	return buf;
}

/* Report every key of map not in allowed[] (NULL-terminated). */
static void check_keys(struct walk *w, const struct fl_snode *map, const char *path,
		       const char *const *allowed)
{
	char kp[PATH_LEN], list[512];

	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct fl_snode *k = map->items[i];
		const char *sugg;
		size_t j;

		if (k->kind != FL_SNODE_SCALAR)
			continue; /* reported by the parser */
		for (j = 0; allowed[j]; j++)
			if (!strcmp(k->text, allowed[j]))
				break;
		if (allowed[j])
			continue;
		path_key(kp, path, k->text);
		if (!strcmp(k->text, "interface") && !strcmp(allowed[0], "dev")) {
			errf(w, k, kp,
			     "unknown key (expected dev, as the CLI's --dev: e.g. dev: eth0)");
			continue;
		}
		sugg = did_you_mean(k->text, allowed, count_of(allowed));
		if (sugg)
			errf(w, k, kp, "unknown key (did you mean \"%s\"?)", sugg);
		else
			errf(w, k, kp, "unknown key (expected %s)",
			     or_list(allowed, list, sizeof(list)));
	}
}

/* The value of key in map, or NULL; the key node into *key. */
static const struct fl_snode *get_k(const struct fl_snode *map, const char *key,
				    const struct fl_snode **keynode)
{
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct fl_snode *k = map->items[i];

		if (k->kind == FL_SNODE_SCALAR && !strcmp(k->text, key)) {
			if (keynode)
				*keynode = k;
			return map->items[i + 1];
		}
	}
	return NULL;
}

static const struct fl_snode *get(const struct fl_snode *map, const char *key)
{
	return get_k(map, key, NULL);
}

static void missing(struct walk *w, const struct fl_snode *map, const char *path, const char *key,
		    const char *expected)
{
	char kp[PATH_LEN];

	errf(w, map, path_key(kp, path, key), "missing (expected %s)", expected);
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */

/* 0 when n is a scalar that is not null; else reported. */
static int want_scalar(struct walk *w, const struct fl_snode *n, const char *path,
		       const char *expected)
{
	if (n->kind == FL_SNODE_SCALAR && !fl_snode_is_null(n))
		return 0;
	errf(w, n, path, "expected %s, not %s", expected, kind_name(n));
	return -EINVAL;
}

static int get_string(struct walk *w, const struct fl_snode *n, const char *path,
		      const char *expected, char **out)
{
	if (want_scalar(w, n, path, expected))
		return -EINVAL;
	if (!n->text[0]) {
		errf(w, n, path, "is empty (expected %s)", expected);
		return -EINVAL;
	}
	free(*out);
	*out = strdup(n->text);
	return *out ? 0 : -ENOMEM;
}

static int get_bool(struct walk *w, const struct fl_snode *n, const char *path, bool *out)
{
	if (n->kind == FL_SNODE_SCALAR && n->plain && !strcmp(n->text, "true")) {
		*out = true;
		return 0;
	}
	if (n->kind == FL_SNODE_SCALAR && n->plain && !strcmp(n->text, "false")) {
		*out = false;
		return 0;
	}
	if (n->kind == FL_SNODE_SCALAR && !fl_snode_is_null(n))
		errf(w, n, path, "\"%s\" is not a boolean (expected true or false%s)", n->text,
		     n->plain ? "" : ", without quotes");
	else
		errf(w, n, path, "expected true or false, not %s", kind_name(n));
	return -EINVAL;
}

static int get_duration(struct walk *w, const struct fl_snode *n, const char *path, int allow_zero,
			uint64_t *ns)
{
	struct fl_error e = {0};

	if (want_scalar(w, n, path, "a duration such as \"30s\" or \"500ms\""))
		return -EINVAL;
	if (fl_parse_duration(n->text, path, allow_zero, ns, &e)) {
		err_from(w, n, path, &e);
		return -EINVAL;
	}
	return 0;
}

static int get_percent(struct walk *w, const struct fl_snode *n, const char *path, uint32_t *ppb)
{
	struct fl_error e = {0};

	if (want_scalar(w, n, path, "a percentage such as 5 or \"0.5%\""))
		return -EINVAL;
	if (fl_parse_percent(n->text, path, ppb, &e)) {
		err_from(w, n, path, &e);
		return -EINVAL;
	}
	return 0;
}

/* A whole number in [lo, hi]; what: "a packet count". */
static int get_count(struct walk *w, const struct fl_snode *n, const char *path, unsigned long lo,
		     unsigned long hi, const char *what, unsigned long *out)
{
	const char *t;
	char *end;
	unsigned long v;

	if (want_scalar(w, n, path, "a whole number"))
		return -EINVAL;
	t = n->text;
	errno = 0;
	v = strtoul(t, &end, 10);
	if (errno || *end || !*t || *t == '-' || *t == '+' || *t == ' ' || v < lo || v > hi) {
		errf(w, n, path, "\"%s\" is not %s (expected a whole number from %lu to %lu)", t,
		     what, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* A string, or a list of strings joined by commas (the CLI's lists). */
static int
each_item(struct walk *w, const struct fl_snode *n, const char *path, const char *expected,
	  int (*fn)(struct walk *w, const struct fl_snode *n, const char *path, void *arg),
	  void *arg)
{
	char ip[PATH_LEN];
	int bad = 0;

	if (n->kind != FL_SNODE_SEQ) {
		if (want_scalar(w, n, path, expected))
			return -EINVAL;
		return fn(w, n, path, arg);
	}
	if (!n->n) {
		errf(w, n, path, "is an empty list (expected %s)", expected);
		return -EINVAL;
	}
	for (size_t i = 0; i < n->n; i++) {
		const struct fl_snode *it = n->items[i];

		path_idx(ip, path, i);
		if (want_scalar(w, it, ip, expected) || fn(w, it, ip, arg))
			bad = 1;
	}
	return bad ? -EINVAL : 0;
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */

static const char *const target_keys[] = {
    "dev",	  "direction", "protocol", "port", "local_port", "remote_port",
    "host",	  "cidr",      "cgroup",   "pid",  "command",	 "allow_management",
    "allow_wide", "share",     NULL,
};

struct ports_arg {
	struct fl_port_set *set;
	const char *field; /* "port" */
};

static int add_ports(struct walk *w, const struct fl_snode *n, const char *path, void *arg)
{
	struct ports_arg *a = arg;
	struct fl_port_set more;
	struct fl_error e = {0};

	if (fl_parse_ports(n->text, path, &more, &e)) {
		err_from(w, n, path, &e);
		return -EINVAL;
	}
	if (a->set->n + more.n > FL_PORT_RANGES_MAX) {
		errf(w, n, path,
		     "more than %d items in all (expected at most %d ports and ranges across every "
		     "%s)",
		     FL_PORT_RANGES_MAX, FL_PORT_RANGES_MAX, a->field);
		return -EINVAL;
	}
	for (unsigned k = 0; k < more.n; k++)
		a->set->r[a->set->n++] = more.r[k];
	return 0;
}

struct cidr_arg {
	struct fl_scenario_target *t;
	int host_only;
};

static int add_cidrs(struct walk *w, const struct fl_snode *n, const char *path, void *arg)
{
	struct cidr_arg *a = arg;
	struct fl_error e = {0};

	if (fl_parse_cidrs(n->text, path, a->host_only, a->t->cidrs, &a->t->n_cidrs, FL_CIDRS_MAX,
			   &e)) {
		err_from(w, n, path, &e);
		return -EINVAL;
	}
	return 0;
}

static int add_devs(struct walk *w, const struct fl_snode *n, const char *path, void *arg)
{
	struct fl_scenario_target *t = arg;
	const char *item = n->text, *end;

	for (;; item = end + 1) {
		size_t len;
		char **v;

		end = strchr(item, ',');
		if (!end)
			end = item + strlen(item);
		len = (size_t)(end - item);
		if (!len) {
			errf(w, n, path,
			     "\"%s\" has an empty item (expected IF or a list such as eth0,eth1)",
			     n->text);
			return -EINVAL;
		}
		if (len >= IF_NAMESIZE) {
			errf(w, n, path,
			     "\"%.*s\" is not an interface name (expected at most %d characters)",
			     (int)len, item, IF_NAMESIZE - 1);
			return -EINVAL;
		}
		if (t->n_devs == FL_TARGET_DEVS_MAX) {
			errf(w, n, path, "more than %d interfaces (expected at most %d)",
			     FL_TARGET_DEVS_MAX, FL_TARGET_DEVS_MAX);
			return -EINVAL;
		}
		v = realloc(t->devs, (size_t)(t->n_devs + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		t->devs = v;
		t->devs[t->n_devs] = strndup(item, len);
		if (!t->devs[t->n_devs])
			return -ENOMEM;
		t->n_devs++;
		if (!*end)
			return 0;
	}
}

static void check_ports(struct walk *w, const struct fl_scenario_target *t,
			const struct fl_snode *n, const struct fl_port_set *ps, const char *path)
{
	if (!n || !ps->n)
		return;
	if (t->protocol != FL_PROTO_TCP && t->protocol != FL_PROTO_UDP &&
	    t->protocol != FL_PROTOCOL_ANY)
		errf(w, n, path, "ports need protocol tcp, udp or any, not %s", t->protocol_name);
	else if (!t->allow_management && fl_ports_only_management(ps))
		errf(
		    w, n, path,
		    "22 is a management port (ssh), never faulted unless allow_management: true is "
		    "given (expected another port, or allow_management: true)");
}

static void walk_target(struct walk *w, const struct fl_snode *key, const struct fl_snode *m,
			struct fl_scenario_target *t)
{
	char p[PATH_LEN], fp[PATH_LEN];
	const struct fl_snode *v, *port_n, *lport_n, *rport_n, *cg_n = NULL;
	const char *cg_key = NULL;
	unsigned long ul;
	bool narrowed;

	path_key(p, "targets", key->text);
	t->name = strdup(key->text);
	t->pos = (struct fl_pos){key->line, key->col};
	t->direction = "egress";
	t->dir_mask = FL_DIRMASK_EGRESS;
	t->protocol_name = "any";
	t->protocol = FL_PROTOCOL_ANY;
	if (m->kind != FL_SNODE_MAP) {
		errf(w, m, p,
		     "expected a mapping of target fields (e.g. {protocol: tcp, port: 6379}), "
		     "not %s",
		     kind_name(m));
		return;
	}
	check_keys(w, m, p, target_keys);
	if ((v = get(m, "dev")))
		each_item(w, v, path_key(fp, p, "dev"), "an interface name such as eth0", add_devs,
			  t);
	if ((v = get(m, "direction")) &&
	    !want_scalar(w, v, path_key(fp, p, "direction"), "egress, ingress or both")) {
		t->direction_set = true;
		if (!strcmp(v->text, "egress")) {
			t->direction = "egress";
			t->dir_mask = FL_DIRMASK_EGRESS;
		} else if (!strcmp(v->text, "ingress")) {
			t->direction = "ingress";
			t->dir_mask = FL_DIRMASK_INGRESS;
		} else if (!strcmp(v->text, "both")) {
			t->direction = "both";
			t->dir_mask = FL_DIRMASK_BOTH;
		} else {
			errf(w, v, fp,
			     "\"%s\" is not a direction (expected egress, ingress or both)",
			     v->text);
		}
	}
	if ((v = get(m, "protocol")) &&
	    !want_scalar(w, v, path_key(fp, p, "protocol"), "tcp, udp, icmp or any")) {
		static const struct {
			const char *name;
			int proto;
		} protos[] = {{"tcp", FL_PROTO_TCP},
			      {"udp", FL_PROTO_UDP},
			      {"icmp", FL_PROTO_ICMP},
			      {"any", FL_PROTOCOL_ANY}};
		size_t k;

		for (k = 0; k < 4; k++)
			if (!strcmp(v->text, protos[k].name))
				break;
		if (k < 4) {
			t->protocol_name = protos[k].name;
			t->protocol = protos[k].proto;
		} else {
			errf(w, v, fp, "\"%s\" is not a protocol (expected tcp, udp, icmp or any)",
			     v->text);
		}
	}
	port_n = get(m, "port");
	lport_n = get(m, "local_port");
	rport_n = get(m, "remote_port");
	if (port_n)
		each_item(w, port_n, path_key(fp, p, "port"),
			  "ports such as 80, 8000-8100 or 80,443", add_ports,
			  &(struct ports_arg){&t->ports, "port"});
	if (lport_n)
		each_item(w, lport_n, path_key(fp, p, "local_port"),
			  "ports such as 80, 8000-8100 or 80,443", add_ports,
			  &(struct ports_arg){&t->local_ports, "local_port"});
	if (rport_n)
		each_item(w, rport_n, path_key(fp, p, "remote_port"),
			  "ports such as 80, 8000-8100 or 80,443", add_ports,
			  &(struct ports_arg){&t->remote_ports, "remote_port"});
	if ((v = get(m, "host")))
		each_item(w, v, path_key(fp, p, "host"), "an address such as 10.0.0.2 or fd00::2",
			  add_cidrs, &(struct cidr_arg){t, 1});
	if ((v = get(m, "cidr")))
		each_item(w, v, path_key(fp, p, "cidr"), "a network such as 10.0.0.0/8", add_cidrs,
			  &(struct cidr_arg){t, 0});
	if ((v = get(m, "cgroup")) &&
	    !get_string(w, v, path_key(fp, p, "cgroup"), "a cgroup v2 path", &t->cgroup)) {
		cg_n = v;
		cg_key = "cgroup";
	}
	if ((v = get(m, "pid")) &&
	    !get_count(w, v, path_key(fp, p, "pid"), 1, 4194304, "a process id", &ul)) {
		t->pid = (int)ul;
		if (cg_n)
			errf(w, v, fp,
			     "pid and %s both name a cgroup (expected one of cgroup, pid or "
			     "command)",
			     cg_key);
		cg_n = v;
		cg_key = "pid";
	}
	if ((v = get(m, "command")) && !get_bool(w, v, path_key(fp, p, "command"), &t->command) &&
	    t->command) {
		if (cg_n)
			errf(w, v, fp,
			     "command and %s both name a cgroup (expected one of cgroup, pid or "
			     "command)",
			     cg_key);
		cg_n = v;
		cg_key = "command";
	}
	if ((v = get(m, "share")) && !get_percent(w, v, path_key(fp, p, "share"), &t->share_ppb)) {
		char buf[32];

		if (t->share_ppb == 0)
			errf(w, v, fp,
			     "\"%s\" is zero (expected a share of the flows above 0%%, up to "
			     "100%%)",
			     v->text);
		else if (t->share_ppb < SHARE_MIN_PPB)
			errf(w, v, fp,
			     "\"%s\" is below the smallest share, %s (flows are hashed into %u "
			     "buckets)",
			     v->text, fl_fmt_percent(SHARE_MIN_PPB, buf, sizeof(buf)),
			     FL_SHARE_BUCKETS);
	}
	if ((v = get(m, "allow_management")))
		get_bool(w, v, path_key(fp, p, "allow_management"), &t->allow_management);
	if ((v = get(m, "allow_wide")))
		get_bool(w, v, path_key(fp, p, "allow_wide"), &t->allow_wide);

	/* across fields, as inject's finish_args() */
	check_ports(w, t, port_n, &t->ports, path_key(fp, p, "port"));
	check_ports(w, t, lport_n, &t->local_ports, path_key(fp, p, "local_port"));
	check_ports(w, t, rport_n, &t->remote_ports, path_key(fp, p, "remote_port"));
	if (cg_n && t->dir_mask != FL_DIRMASK_EGRESS)
		errf(
		    w, cg_n, path_key(fp, p, cg_key),
		    "targets egress only, not direction %s: on ingress the kernel reports the "
		    "sender's cgroup on veth and none from a real NIC (expected direction: egress)",
		    t->direction);
	/* a key written but refused above counts: its own error says enough */
	narrowed = get(m, "dev") || get(m, "host") || get(m, "cidr") || port_n || lport_n ||
		   rport_n || get(m, "cgroup") || get(m, "pid") || t->command;
	if (!narrowed && !t->allow_wide)
		errf(w, key, p,
		     "dev is required when no host, cidr, port, cgroup, pid or command says where "
		     "the traffic goes (e.g. dev: eth0), or allow_wide: true for every interface "
		     "that is up");
}

static void walk_targets(struct walk *w, const struct fl_snode *m)
{
	struct fl_scenario *s = w->s;

	if (fl_snode_is_null(m))
		return;
	if (m->kind != FL_SNODE_MAP) {
		errf(
		    w, m, "targets",
		    "expected a mapping of names to targets (e.g. targets: {redis: {port: 6379}}), "
		    "not %s",
		    kind_name(m));
		return;
	}
	s->targets = calloc(m->n / 2 + 1, sizeof(*s->targets));
	if (!s->targets)
		return;
	for (size_t i = 0; i + 1 < m->n; i += 2) {
		if (m->items[i]->kind != FL_SNODE_SCALAR)
			continue;
		walk_target(w, m->items[i], m->items[i + 1], &s->targets[s->n_targets++]);
	}
}

/* ------------------------------------------------------------------ */
/* Fault steps                                                         */

static const char *const action_names[] = {"loss",   "blackhole", "duplicate", "corrupt",
					   "rate",   "delay",	  "reorder",   "reset",
					   "refuse", "dns",	  "http",      NULL};
static const char *const step_keys[] = {"target",    "at",	"for",	"loss",	 "blackhole",
					"duplicate", "corrupt", "rate", "delay", "reorder",
					"reset",     "refuse",	"dns",	"http",	 NULL};

#define ACTIONS_TEXT                                                                               \
	"loss, blackhole, duplicate, corrupt, rate, delay, reorder, reset, refuse, dns or http"

/* The parameters of an action: a mapping of allowed keys, or (shorthand)
 * a scalar that is its first parameter. Returns the map, or NULL with
 * *scalar set to a shorthand value (or NULL when invalid). */
static const struct fl_snode *action_map(struct walk *w, const struct fl_snode *n, const char *path,
					 const char *const *keys, const char *example,
					 const struct fl_snode **scalar)
{
	*scalar = NULL;
	if (n->kind == FL_SNODE_MAP) {
		check_keys(w, n, path, keys);
		return n;
	}
	if (n->kind == FL_SNODE_SCALAR && !fl_snode_is_null(n)) {
		*scalar = n;
		return NULL;
	}
	errf(w, n, path, "expected a mapping such as %s, not %s", example, kind_name(n));
	return NULL;
}

static void walk_delay(struct walk *w, const struct fl_snode *n, const char *path,
		       struct fl_rule_spec *s)
{
	static const char *const keys[] = {"time",	   "jitter", "correlation",
					   "distribution", "limit",  NULL};
	const struct fl_snode *m, *t = NULL, *j = NULL, *c, *v;
	char fp[PATH_LEN], buf[32];
	int time_ok = 0, jit_ok = 0;

	m = action_map(w, n, path, keys, "{time: 100ms, jitter: 10ms}", &t);
	if (!m && !t)
		return;
	if (m) {
		t = get(m, "time");
		if (!t) {
			missing(w, m, path, "time", "a duration such as 100ms");
			return;
		}
		j = get(m, "jitter");
	}
	path_key(fp, path, "time");
	if (!m)
		snprintf(fp, sizeof(fp), "%s", path);
	if (!get_duration(w, t, fp, 0, &s->delay.ns)) {
		time_ok = 1;
		if (s->delay.ns > FL_DELAY_MAX_NS)
			errf(w, t, fp, "\"%s\" is above %s (expected a shorter delay)", t->text,
			     fl_fmt_duration(FL_DELAY_MAX_NS, buf, sizeof(buf)));
	}
	if (!m)
		return;
	if (j && !get_duration(w, j, path_key(fp, path, "jitter"), 1, &s->delay.jitter_ns)) {
		jit_ok = 1;
		if (s->delay.jitter_ns > FL_JITTER_MAX_NS)
			errf(w, j, fp,
			     "\"%s\" is above %s, netem's limit too (expected a smaller jitter)",
			     j->text, fl_fmt_duration(FL_JITTER_MAX_NS, buf, sizeof(buf)));
	}
	(void)time_ok;
	if ((c = get(m, "correlation")) &&
	    !get_percent(w, c, path_key(fp, path, "correlation"), &s->delay.corr_ppb) &&
	    (!j || (jit_ok && !s->delay.jitter_ns)))
		errf(w, c, fp,
		     "\"%s\": a correlation needs a jitter (expected delay: {time, jitter, "
		     "correlation})",
		     c->text);
	if ((v = get(m, "distribution")) &&
	    !want_scalar(w, v, path_key(fp, path, "distribution"),
			 "uniform, normal, pareto or paretonormal")) {
		enum fl_dist d;

		if (fl_dist_parse(v->text, &d))
			errf(w, v, fp,
			     "\"%s\" is not a distribution (expected uniform, normal, pareto or "
			     "paretonormal)",
			     v->text);
		else if ((!j || (jit_ok && !s->delay.jitter_ns)) && d != FL_DIST_UNIFORM)
			errf(
			    w, v, fp,
			    "%s shapes the jitter, and none was given (expected e.g. delay: {time: "
			    "100ms, jitter: 10ms, distribution: %s})",
			    v->text, v->text);
		else
			s->delay.dist = (uint32_t)d;
	}
	if ((v = get(m, "limit"))) {
		unsigned long n2;

		if (!get_count(w, v, path_key(fp, path, "limit"), 1, 1000000, "a packet count",
			       &n2))
			s->delay.limit = (uint32_t)n2;
	}
}

static void walk_loss_model(struct walk *w, const struct fl_snode *n, const char *path, int gemodel,
			    struct fl_scenario_fault *f)
{
	static const char *const ge[] = {"p", "r", "1-h", "1-k", NULL};
	static const char *const st[] = {"p13", "p31", "p32", "p23", "p14", NULL};
	const char *const *names = gemodel ? ge : st;
	struct fl_rule_spec *s = &f->act;
	int max = gemodel ? 4 : 5, given[5] = {0}, bad = 0;
	char fp[PATH_LEN];

	s->loss.model = gemodel ? FL_LOSS_GEMODEL : FL_LOSS_4STATE;
	if (n->kind != FL_SNODE_MAP) {
		errf(w, n, path, "expected a mapping such as %s, not %s",
		     gemodel ? "{p: 1%, r: 20%}" : "{p13: 1%, p31: 50%}", kind_name(n));
		return;
	}
	check_keys(w, n, path, names);
	if (!get(n, names[0])) {
		missing(w, n, path, names[0],
			gemodel ? "a percentage, the chance of going from good to bad"
				: "a percentage, the chance of going from state 1 to 3");
		return;
	}
	for (int k = 0; k < max; k++) {
		const struct fl_snode *v = get(n, names[k]);

		if (!v)
			continue;
		if (get_percent(w, v, path_key(fp, path, names[k]), &s->loss.p_ppb[k]))
			bad = 1;
		given[k] = 1;
		f->loss_values = k + 1;
	}
	/* netem's defaults for what was not written (tc-netem(8)) */
	if (gemodel) {
		if (!given[1])
			s->loss.p_ppb[1] = FL_PPB_100;
		if (!given[2])
			s->loss.p_ppb[2] = FL_PPB_100;
		if (!given[3])
			s->loss.p_ppb[3] = 0;
	} else {
		const uint32_t *p = s->loss.p_ppb;

		if (!given[1])
			s->loss.p_ppb[1] = FL_PPB_100 - (p[0] <= FL_PPB_100 ? p[0] : 0);
		if (!given[2])
			s->loss.p_ppb[2] = 0;
		if (!given[3])
			s->loss.p_ppb[3] = FL_PPB_100;
		if (!given[4])
			s->loss.p_ppb[4] = 0;
		if (!bad && (uint64_t)p[0] + p[4] > FL_PPB_100)
			errf(w, n, path,
			     "p13 + p14 is above 100%% (expected the chances of leaving state 1 to "
			     "add up to at most 100%%)");
		if (!bad && (uint64_t)p[1] + p[2] > FL_PPB_100)
			errf(w, n, path,
			     "p31 + p32 is above 100%% (expected the chances of leaving state 4 to "
			     "add up to at most 100%%)");
	}
}

static void walk_loss(struct walk *w, const struct fl_snode *n, const char *path,
		      struct fl_scenario_fault *f)
{
	static const char *const keys[] = {"percent", "correlation", "gemodel", "state", NULL};
	struct fl_rule_spec *s = &f->act;
	const struct fl_snode *m, *sc, *pct, *ge, *st, *c;
	char fp[PATH_LEN];

	s->loss.model = FL_LOSS_RANDOM;
	m = action_map(w, n, path, keys, "{percent: 5}", &sc);
	if (sc) {
		get_percent(w, sc, path, &s->loss.ppb);
		return;
	}
	if (!m)
		return;
	pct = get(m, "percent");
	ge = get(m, "gemodel");
	st = get(m, "state");
	c = get(m, "correlation");
	if (!pct && !ge && !st) {
		errf(w, m, path,
		     "no loss model (expected percent, gemodel or state, e.g. loss: {percent: "
		     "5})");
		return;
	}
	if (!!pct + !!ge + !!st > 1) {
		const struct fl_snode *second = pct && ge ? ge : st;

		errf(w, second, path_key(fp, path, second == ge ? "gemodel" : "state"),
		     "a second loss model (expected one of percent, gemodel or state)");
		return;
	}
	if (pct) {
		get_percent(w, pct, path_key(fp, path, "percent"), &s->loss.ppb);
		if (c)
			get_percent(w, c, path_key(fp, path, "correlation"), &s->loss.corr_ppb);
		return;
	}
	walk_loss_model(w, ge ? ge : st, path_key(fp, path, ge ? "gemodel" : "state"), !!ge, f);
	if (c)
		errf(w, c, path_key(fp, path, "correlation"),
		     "applies to random loss (loss: {percent, correlation}), not to loss %s, whose "
		     "model is its correlation",
		     ge ? "gemodel" : "state");
}

/* {percent, correlation} of duplicate and reorder, {percent, payload} of
 * corrupt: the first parameter required. */
static const struct fl_snode *walk_percent_action(struct walk *w, const struct fl_snode *n,
						  const char *path, const char *const *keys,
						  const char *example, uint32_t *ppb)
{
	const struct fl_snode *m, *sc, *pct;
	char fp[PATH_LEN];

	m = action_map(w, n, path, keys, example, &sc);
	if (sc) {
		get_percent(w, sc, path, ppb);
		return NULL;
	}
	if (!m)
		return NULL;
	pct = get(m, "percent");
	if (!pct) {
		missing(w, m, path, "percent", "a percentage such as 5 or \"0.5%\"");
		return NULL;
	}
	get_percent(w, pct, path_key(fp, path, "percent"), ppb);
	return m;
}

static void walk_rate(struct walk *w, const struct fl_snode *n, const char *path,
		      struct fl_rule_spec *s)
{
	static const char *const keys[] = {"rate", "burst", NULL};
	const struct fl_snode *m, *sc, *r, *b;
	struct fl_error e = {0};
	char fp[PATH_LEN], buf[32];

	m = action_map(w, n, path, keys, "{rate: 1mbit, burst: 64kb}", &sc);
	if (!m && !sc)
		return;
	r = sc;
	if (m) {
		r = get(m, "rate");
		if (!r) {
			missing(w, m, path, "rate", "a rate such as 1mbit");
			return;
		}
		path_key(fp, path, "rate");
	} else {
		snprintf(fp, sizeof(fp), "%s", path);
	}
	if (!want_scalar(w, r, fp, "a rate such as 1mbit")) {
		if (fl_parse_rate(r->text, fp, &s->rate.bits_per_sec, &e))
			err_from(w, r, fp, &e);
		else if (s->rate.bits_per_sec > FL_RATE_MAX_BPS)
			errf(w, r, fp,
			     "\"%s\" is above %s, the fastest rate the policer can count (expected "
			     "a lower rate)",
			     r->text, fl_fmt_rate(FL_RATE_MAX_BPS, buf, sizeof(buf)));
		else if (s->rate.bits_per_sec < FL_RATE_MIN_BPS)
			errf(w, r, fp,
			     "\"%s\" is below %s, the slowest rate the policer counts (expected "
			     "e.g. "
			     "1kbit or more)",
			     r->text, fl_fmt_rate(FL_RATE_MIN_BPS, buf, sizeof(buf)));
	}
	if (m && (b = get(m, "burst")) &&
	    !want_scalar(w, b, path_key(fp, path, "burst"), "a size such as 64kb") &&
	    fl_parse_size(b->text, fp, &s->rate.burst_bytes, &e))
		err_from(w, b, fp, &e);
}

/* A percent of an error fault: above 0. */
static void get_share(struct walk *w, const struct fl_snode *n, const char *path, uint32_t *ppb)
{
	if (!get_percent(w, n, path, ppb) && *ppb == 0)
		errf(w, n, path, "\"%s\" is zero (expected a percentage above 0, up to 100)",
		     n->text);
}

/* The parameters of an error fault: null, {} or a mapping of keys. */
static const struct fl_snode *error_map(struct walk *w, const struct fl_snode *n, const char *path,
					const char *const *keys, const char *example)
{
	if (fl_snode_is_null(n))
		return NULL;
	if (n->kind != FL_SNODE_MAP) {
		errf(w, n, path, "expected a mapping such as %s, not %s", example, kind_name(n));
		return NULL;
	}
	check_keys(w, n, path, keys);
	return n;
}

/* reset: {} | {percent, after_bytes, after} */
static void walk_reset(struct walk *w, const struct fl_snode *n, const char *path,
		       struct fl_rule_spec *s)
{
	static const char *const keys[] = {"percent", "after_bytes", "after", NULL};
	const struct fl_snode *m, *v;
	struct fl_error e = {0};
	char fp[PATH_LEN];

	s->reset.on = 1;
	m = error_map(w, n, path, keys, "{percent: 50, after_bytes: 1mb, after: 2s}");
	if (!m)
		return;
	if ((v = get(m, "percent")))
		get_share(w, v, path_key(fp, path, "percent"), &s->reset.ppb);
	if ((v = get(m, "after_bytes")) &&
	    !want_scalar(w, v, path_key(fp, path, "after_bytes"), "a size such as 1mb") &&
	    fl_parse_size(v->text, fp, &s->reset.after_bytes, &e))
		err_from(w, v, fp, &e);
	if ((v = get(m, "after")))
		get_duration(w, v, path_key(fp, path, "after"), 1, &s->reset.after_ns);
}

/* refuse: ERRNO | {errno, percent} */
static void walk_refuse(struct walk *w, const struct fl_snode *n, const char *path,
			struct fl_rule_spec *s)
{
	static const char *const keys[] = {"errno", "percent", NULL};
	const struct fl_snode *m = NULL, *v = NULL;
	struct fl_error e = {0};
	char fp[PATH_LEN];

	s->refuse.err = ECONNREFUSED;
	snprintf(fp, sizeof(fp), "%s", path);
	if (n->kind == FL_SNODE_SCALAR && !fl_snode_is_null(n))
		v = n;
	else if ((m = error_map(w, n, path, keys, "{errno: ETIMEDOUT, percent: 50}")))
		v = get(m, "errno"), path_key(fp, path, "errno");
	if (v && !want_scalar(w, v, fp, FL_ERRNO_NAMES) &&
	    fl_parse_errno_name(v->text, fp, &s->refuse.err, &e))
		err_from(w, v, fp, &e);
	if (m && (v = get(m, "percent")))
		get_share(w, v, path_key(fp, path, "percent"), &s->refuse.ppb);
}

static int add_domain_item(struct walk *w, const struct fl_snode *n, const char *path, void *arg)
{
	struct fl_error e = {0};

	if (fl_parse_dns_domains(n->text, path, arg, &e)) {
		err_from(w, n, path, &e);
		return -EINVAL;
	}
	return 0;
}

/* dns: RCODE | {rcode, domains, percent, port} */
static void walk_dns(struct walk *w, const struct fl_snode *n, const char *path,
		     struct fl_rule_spec *s)
{
	static const char *const keys[] = {"rcode", "domains", "percent", "port", NULL};
	const struct fl_snode *m = NULL, *v = NULL;
	struct fl_error e = {0};
	char fp[PATH_LEN];
	unsigned long port;

	s->dns.rcode = FL_DNS_RCODE_SERVFAIL;
	snprintf(fp, sizeof(fp), "%s", path);
	if (n->kind == FL_SNODE_SCALAR && !fl_snode_is_null(n)) {
		v = n;
	} else if ((m = error_map(w, n, path, keys,
				  "{rcode: nxdomain, domains: [\"*.svc.local\"]}"))) {
		v = get(m, "rcode");
		if (!v)
			missing(w, m, path, "rcode", "servfail, nxdomain, refused or drop");
		path_key(fp, path, "rcode");
	} else if (fl_snode_is_null(n)) {
		errf(w, n, path, "needs an rcode (expected servfail, nxdomain, refused or drop)");
	}
	if (v && !want_scalar(w, v, fp, "servfail, nxdomain, refused or drop") &&
	    fl_parse_dns_rcode(v->text, fp, &s->dns.rcode, &e))
		err_from(w, v, fp, &e);
	if (!m)
		return;
	if ((v = get(m, "domains")))
		each_item(w, v, path_key(fp, path, "domains"),
			  "a name such as db.example.com or *.example.com", add_domain_item,
			  s->dns.domains);
	if ((v = get(m, "percent")))
		get_share(w, v, path_key(fp, path, "percent"), &s->dns.ppb);
	if ((v = get(m, "port")) &&
	    !get_count(w, v, path_key(fp, path, "port"), 1, 65535, "a port", &port))
		s->dns.port = (uint16_t)port;
}

/* http: STATUS | {status, percent, path, delay} */
static void walk_http_fault(struct walk *w, const struct fl_snode *n, const char *path,
			    struct fl_rule_spec *s)
{
	static const char *const keys[] = {"status", "percent", "path", "delay", NULL};
	const struct fl_snode *m = NULL, *v = NULL;
	struct fl_error e = {0};
	char fp[PATH_LEN], buf[32];

	s->http.on = 1;
	snprintf(fp, sizeof(fp), "%s", path);
	if (n->kind == FL_SNODE_SCALAR && !fl_snode_is_null(n)) {
		v = n;
	} else if ((m = error_map(w, n, path, keys, "{status: 503, percent: 50, path: /api}"))) {
		v = get(m, "status");
		path_key(fp, path, "status");
		if (!v && !get(m, "delay"))
			errf(w, m, path,
			     "needs a status, a delay or both (expected e.g. {status: 503} or "
			     "{delay: 200ms})");
	} else {
		errf(w, n, path, "needs a status (expected e.g. http: 503)");
	}
	if (v && !want_scalar(w, v, fp, "an HTTP status code such as 503") &&
	    fl_parse_http_status(v->text, fp, &s->http.status, &e))
		err_from(w, v, fp, &e);
	if (!m)
		return;
	if ((v = get(m, "percent")))
		get_share(w, v, path_key(fp, path, "percent"), &s->http.ppb);
	if ((v = get(m, "path")) &&
	    !want_scalar(w, v, path_key(fp, path, "path"), "a path prefix such as /api") &&
	    fl_parse_http_path(v->text, fp, s->http.path, &e))
		err_from(w, v, fp, &e);
	if ((v = get(m, "delay")) &&
	    !get_duration(w, v, path_key(fp, path, "delay"), 0, &s->delay.ns) &&
	    s->delay.ns > FL_DELAY_MAX_NS)
		errf(w, v, fp, "\"%s\" is above %s (expected a shorter delay)", v->text,
		     fl_fmt_duration(FL_DELAY_MAX_NS, buf, sizeof(buf)));
}

/* An error fault is alone in its step: it acts on connections, names and
 * responses, not on every packet as the others do. */
static void check_error_alone(struct walk *w, const struct fl_scenario_fault *f, const char *p)
{
	unsigned errs = f->actions & FL_SACT_ERRORS, others = f->actions & ~FL_SACT_ERRORS;
	unsigned bit;
	char fp[PATH_LEN];
	struct fl_snode at = {0};

	if (!errs || (!(errs & (errs - 1)) && !others))
		return;
	bit = (unsigned)__builtin_ctz(errs & (errs - 1) ? errs & (errs - 1) : others);
	at.line = f->act_pos[bit].line;
	at.col = f->act_pos[bit].col;
	errf(w, &at, path_key(fp, p, action_names[bit]),
	     "cannot share a step with %s: each error fault (reset, refuse, dns, http) is a step "
	     "of its own (expected another step in faults)",
	     action_names[__builtin_ctz(errs)]);
}

static void walk_step(struct walk *w, const struct fl_snode *m, size_t idx,
		      struct fl_scenario_fault *f)
{
	struct fl_scenario *s = w->s;
	char p[PATH_LEN], fp[PATH_LEN], list[256];
	const struct fl_snode *v, *k, *at_n = NULL, *for_n = NULL;
	int times_ok = 1;

	path_idx(p, "faults", idx);
	f->pos = (struct fl_pos){m->line, m->col};
	f->target = -1;
	if (m->kind != FL_SNODE_MAP) {
		errf(w, m, p,
		     "expected a mapping such as {target: redis, at: 0s, for: 30s, delay: {time: "
		     "100ms}}, not %s",
		     kind_name(m));
		return;
	}
	check_keys(w, m, p, step_keys);
	if (!(v = get(m, "target"))) {
		missing(w, m, p, "target", "the name of a target under targets");
	} else if (!want_scalar(w, v, path_key(fp, p, "target"), "the name of a target")) {
		size_t i;

		for (i = 0; i < s->n_targets; i++)
			if (!strcmp(s->targets[i].name, v->text))
				break;
		if (i < s->n_targets) {
			f->target = (int)i;
		} else if (!s->n_targets) {
			errf(w, v, fp, "no target named \"%s\" (no targets are defined)", v->text);
		} else {
			const char *names[64];
			size_t n = s->n_targets < 63 ? s->n_targets : 63;
			const char *sugg;

			for (i = 0; i < n; i++)
				names[i] = s->targets[i].name;
			names[n] = NULL;
			sugg = did_you_mean(v->text, names, n);
			if (sugg)
				errf(w, v, fp, "no target named \"%s\" (did you mean \"%s\"?)",
				     v->text, sugg);
			else
				errf(w, v, fp, "no target named \"%s\" (expected %s)", v->text,
				     or_list(names, list, sizeof(list)));
		}
	}
	if ((at_n = get(m, "at")) && get_duration(w, at_n, path_key(fp, p, "at"), 1, &f->at_ns))
		times_ok = 0;
	if ((for_n = get(m, "for")) &&
	    get_duration(w, for_n, path_key(fp, p, "for"), 0, &f->for_ns))
		times_ok = 0;
	if (times_ok && s->duration_ns) {
		char b1[32], b2[32];

		if (f->at_ns >= s->duration_ns)
			errf(w, at_n, path_key(fp, p, "at"),
			     "%s is at or after the end of the experiment (expected less than the "
			     "duration, %s)",
			     fl_fmt_duration(f->at_ns, b1, sizeof(b1)),
			     fl_fmt_duration(s->duration_ns, b2, sizeof(b2)));
		else if (for_n && f->for_ns > s->duration_ns - f->at_ns)
			errf(w, for_n, path_key(fp, p, "for"),
			     "the step would end after the experiment's duration, %s (expected at "
			     "most %s)",
			     fl_fmt_duration(s->duration_ns, b1, sizeof(b1)),
			     fl_fmt_duration(s->duration_ns - f->at_ns, b2, sizeof(b2)));
	}

	for (size_t i = 0; i + 1 < m->n; i += 2) {
		const char *name;
		unsigned bit = 0;

		k = m->items[i];
		v = m->items[i + 1];
		if (k->kind != FL_SNODE_SCALAR)
			continue;
		name = k->text;
		path_key(fp, p, name);
		for (unsigned j = 0; action_names[j]; j++)
			if (!strcmp(name, action_names[j]))
				bit = 1u << j;
		if (!bit)
			continue;
		f->actions |= bit;
		f->act_pos[__builtin_ctz(bit)] = (struct fl_pos){k->line, k->col};
		switch (bit) {
		case FL_SACT_LOSS:
			walk_loss(w, v, fp, f);
			break;
		case FL_SACT_BLACKHOLE:
			if (!fl_snode_is_null(v) && !(v->kind == FL_SNODE_MAP && v->n == 0))
				errf(w, v, fp,
				     "takes no parameters: it drops every matching packet "
				     "(expected blackhole: {}, or loss: {percent: PCT} for a "
				     "share)");
			break;
		case FL_SACT_DUPLICATE: {
			static const char *const keys[] = {"percent", "correlation", NULL};
			const struct fl_snode *mm = walk_percent_action(
			    w, v, fp, keys, "{percent: 1}", &f->act.duplicate.ppb);
			const struct fl_snode *c = mm ? get(mm, "correlation") : NULL;
			char cp[PATH_LEN];

			if (c)
				get_percent(w, c, path_key(cp, fp, "correlation"),
					    &f->act.duplicate.corr_ppb);
			break;
		}
		case FL_SACT_CORRUPT: {
			static const char *const keys[] = {"percent", "payload", NULL};
			const struct fl_snode *mm = walk_percent_action(
			    w, v, fp, keys, "{percent: 1, payload: true}", &f->act.corrupt.ppb);
			const struct fl_snode *pl = mm ? get(mm, "payload") : NULL;
			char cp[PATH_LEN];
			bool b = false;

			if (pl && !get_bool(w, pl, path_key(cp, fp, "payload"), &b))
				f->act.corrupt.payload = b;
			break;
		}
		case FL_SACT_RATE:
			walk_rate(w, v, fp, &f->act);
			break;
		case FL_SACT_DELAY:
			walk_delay(w, v, fp, &f->act);
			break;
		case FL_SACT_RESET:
			walk_reset(w, v, fp, &f->act);
			break;
		case FL_SACT_REFUSE:
			walk_refuse(w, v, fp, &f->act);
			break;
		case FL_SACT_DNS:
			walk_dns(w, v, fp, &f->act);
			break;
		case FL_SACT_HTTP:
			walk_http_fault(w, v, fp, &f->act);
			break;
		case FL_SACT_REORDER: {
			static const char *const keys[] = {"percent", "correlation", "gap", NULL};
			const struct fl_snode *mm = walk_percent_action(
			    w, v, fp, keys, "{percent: 25, gap: 5}", &f->act.reorder.ppb);
			const struct fl_snode *c = mm ? get(mm, "correlation") : NULL;
			const struct fl_snode *g = mm ? get(mm, "gap") : NULL;
			char cp[PATH_LEN];
			unsigned long gap;

			if (c)
				get_percent(w, c, path_key(cp, fp, "correlation"),
					    &f->act.reorder.corr_ppb);
			if (g && !get_count(w, g, path_key(cp, fp, "gap"), 1, 1000000,
					    "a packet count", &gap))
				f->act.reorder.gap = (uint32_t)gap;
			break;
		}
		}
	}
	if ((f->actions & FL_SACT_LOSS) && (f->actions & FL_SACT_BLACKHOLE)) {
		const struct fl_pos *bp = &f->act_pos[1];
		struct fl_snode at = {.line = bp->line, .col = bp->col};

		errf(
		    w, &at, path_key(fp, p, "blackhole"),
		    "cannot be combined with loss: blackhole is loss 100%% (expected one of them)");
	} else if (f->actions & FL_SACT_BLACKHOLE) {
		f->act.loss.model = FL_LOSS_RANDOM;
		f->act.loss.ppb = FL_PPB_100;
	}
	if ((f->actions & FL_SACT_REORDER) && !(f->actions & FL_SACT_DELAY)) {
		const struct fl_pos *rp = &f->act_pos[6];
		struct fl_snode at = {.line = rp->line, .col = rp->col};

		errf(
		    w, &at, path_key(fp, p, "reorder"),
		    "sends some packets ahead of delayed ones, and nothing is delayed in this step "
		    "(expected e.g. delay: {time: 10ms} in the same step)");
	}
	check_error_alone(w, f, p);
	if (!f->actions)
		errf(w, m, p, "no fault (expected one of " ACTIONS_TEXT ")");
}

static void walk_faults(struct walk *w, const struct fl_snode *n)
{
	struct fl_scenario *s = w->s;

	if (fl_snode_is_null(n))
		return;
	if (n->kind != FL_SNODE_SEQ) {
		errf(w, n, "faults",
		     "expected a list of steps (e.g. - {target: redis, delay: {time: 100ms}}), not "
		     "%s",
		     kind_name(n));
		return;
	}
	s->faults = calloc(n->n + 1, sizeof(*s->faults));
	if (!s->faults)
		return;
	for (size_t i = 0; i < n->n; i++)
		walk_step(w, n->items[i], i, &s->faults[s->n_faults++]);
}

/* ------------------------------------------------------------------ */
/* Steady-state probes                                                 */

static const char *const probe_keys[] = {"name",    "every", "max_failures", "http", "tcp",
					 "command", NULL};
static const char *const http_keys[] = {"url",	   "method",	       "status", "body_contains",
					"timeout", "follow_redirects", NULL};
static const char *const tcp_keys[] = {"host", "port", "timeout", NULL};
static const char *const command_keys[] = {"run", "timeout", NULL};

static void walk_status(struct walk *w, const struct fl_snode *v, const char *path,
			struct fl_probe_spec *ps)
{
	int lo, hi, n = 0;
	char c;

	if (want_scalar(w, v, path, "a status such as 200 or \"200-299\""))
		return;
	if (sscanf(v->text, "%3d-%3d%c%n", &lo, &hi, &c, &n) == 2 ||
	    (sscanf(v->text, "%3d%c", &lo, &c) == 1 && (hi = lo)))
		if (strspn(v->text, "0123456789-") == strlen(v->text) && lo >= 100 && hi <= 599 &&
		    lo <= hi) {
			ps->status_lo = lo;
			ps->status_hi = hi;
			return;
		}
	errf(
	    w, v, path,
	    "\"%s\" is not an HTTP status or range (expected a status from 100 to 599 such as 200, "
	    "or a range such as \"200-299\")",
	    v->text);
}

static void walk_http(struct walk *w, const struct fl_snode *m, const char *path,
		      struct fl_probe_spec *ps)
{
	static const char *const methods[] = {"GET",	"HEAD",	   "POST",  "PUT",
					      "DELETE", "OPTIONS", "PATCH", NULL};
	const struct fl_snode *v;
	char fp[PATH_LEN], list[128];
	char *s = NULL;

	ps->kind = FL_PROBE_HTTP;
	ps->timeout_ns = FL_PROBE_HTTP_TIMEOUT_NS;
	ps->status_lo = 200;
	ps->status_hi = 299;
	check_keys(w, m, path, http_keys);
	if (!(v = get(m, "url"))) {
		missing(w, m, path, "url", "a URL such as http://10.0.0.2:8080/health");
	} else if (!get_string(w, v, path_key(fp, path, "url"), "a URL", &s)) {
		if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
			errf(w, v, fp,
			     "\"%s\" is not an http:// or https:// URL (expected e.g. "
			     "http://10.0.0.2:8080/health)",
			     s);
		ps->url = s;
		s = NULL;
	}
	if ((v = get(m, "method")) &&
	    !get_string(w, v, path_key(fp, path, "method"), "an HTTP method", &s)) {
		size_t i;

		for (i = 0; methods[i]; i++)
			if (!strcmp(s, methods[i]))
				break;
		if (!methods[i])
			errf(w, v, fp, "\"%s\" is not a method (expected %s)", s,
			     or_list(methods, list, sizeof(list)));
		ps->method = s;
		s = NULL;
	} else {
		ps->method = strdup("GET");
	}
	if ((v = get(m, "status")))
		walk_status(w, v, path_key(fp, path, "status"), ps);
	if ((v = get(m, "body_contains")) &&
	    !get_string(w, v, path_key(fp, path, "body_contains"), "text", &s)) {
		ps->body_contains = s;
		s = NULL;
	}
	if ((v = get(m, "timeout")))
		get_duration(w, v, path_key(fp, path, "timeout"), 0, &ps->timeout_ns);
	if ((v = get(m, "follow_redirects")))
		get_bool(w, v, path_key(fp, path, "follow_redirects"), &ps->follow_redirects);
	free(s);
}

static void walk_tcp(struct walk *w, const struct fl_snode *m, const char *path,
		     struct fl_probe_spec *ps)
{
	const struct fl_snode *v;
	char fp[PATH_LEN];
	char *s = NULL;
	unsigned long port;

	ps->kind = FL_PROBE_TCP;
	ps->timeout_ns = FL_PROBE_TCP_TIMEOUT_NS;
	check_keys(w, m, path, tcp_keys);
	if (!(v = get(m, "host")))
		missing(w, m, path, "host", "an address or name such as 10.0.0.2");
	else if (!get_string(w, v, path_key(fp, path, "host"), "an address or name", &s))
		ps->host = s;
	if (!(v = get(m, "port")))
		missing(w, m, path, "port", "a port from 1 to 65535");
	else if (!get_count(w, v, path_key(fp, path, "port"), 1, 65535, "a port", &port))
		ps->port = (uint16_t)port;
	if ((v = get(m, "timeout")))
		get_duration(w, v, path_key(fp, path, "timeout"), 0, &ps->timeout_ns);
}

static void walk_command(struct walk *w, const struct fl_snode *m, const char *path,
			 struct fl_probe_spec *ps)
{
	const struct fl_snode *v;
	char fp[PATH_LEN], ip[PATH_LEN];
	char *s = NULL;

	ps->kind = FL_PROBE_COMMAND;
	ps->timeout_ns = FL_PROBE_COMMAND_TIMEOUT_NS;
	check_keys(w, m, path, command_keys);
	path_key(fp, path, "run");
	if (!(v = get(m, "run"))) {
		missing(w, m, path, "run", "a shell command, or a list [argv0, arg...]");
	} else if (v->kind == FL_SNODE_SEQ) {
		char **argv = calloc(v->n + 1, sizeof(*argv));

		if (!argv)
			return;
		ps->argv = argv;
		if (!v->n)
			errf(w, v, fp, "is an empty list (expected [argv0, arg...])");
		for (size_t i = 0; i < v->n; i++)
			if (!get_string(w, v->items[i], path_idx(ip, fp, i), "a string", &s)) {
				argv[i] = s;
				s = NULL;
			} else {
				argv[i] = strdup("");
			}
	} else if (!get_string(w, v, fp, "a shell command, or a list [argv0, arg...]", &s)) {
		ps->sh = s;
	}
	if ((v = get(m, "timeout")))
		get_duration(w, v, path_key(fp, path, "timeout"), 0, &ps->timeout_ns);
}

static void walk_probe(struct walk *w, const struct fl_snode *m, size_t idx,
		       struct fl_scenario_probe *pr)
{
	static const char *const kinds[] = {"http", "tcp", "command", NULL};
	char p[PATH_LEN], fp[PATH_LEN];
	const struct fl_snode *v, *kind_n = NULL;
	const char *kind = NULL;
	unsigned long ul;

	path_idx(p, "steady_state", idx);
	pr->pos = (struct fl_pos){m->line, m->col};
	pr->every_ns = 1000000000ull;
	if (m->kind != FL_SNODE_MAP) {
		errf(w, m, p,
		     "expected a mapping such as {name: api, http: {url: \"http://...\"}}, not %s",
		     kind_name(m));
		return;
	}
	check_keys(w, m, p, probe_keys);
	if (!(v = get(m, "name"))) {
		missing(w, m, p, "name", "a name for the report, e.g. name: api-healthy");
	} else if (!get_string(w, v, path_key(fp, p, "name"), "a name", &pr->name)) {
		for (size_t i = 0; i < idx; i++)
			if (w->s->probes[i].name && !strcmp(w->s->probes[i].name, pr->name)) {
				errf(w, v, fp,
				     "\"%s\" is the name of steady_state[%zu] too (expected a "
				     "unique name)",
				     pr->name, i);
				break;
			}
	}
	pr->spec.name = pr->name;
	if ((v = get(m, "every")))
		get_duration(w, v, path_key(fp, p, "every"), 0, &pr->every_ns);
	if ((v = get(m, "max_failures")) &&
	    !get_count(w, v, path_key(fp, p, "max_failures"), 0, 1000000, "a count", &ul))
		pr->max_failures = (unsigned)ul;
	for (size_t i = 0; kinds[i]; i++) {
		const struct fl_snode *kv = get(m, kinds[i]), *kk = NULL;

		if (!kv)
			continue;
		get_k(m, kinds[i], &kk);
		if (kind) {
			errf(w, kk, path_key(fp, p, kinds[i]),
			     "a probe makes one check, and %s is given too (expected one of http, "
			     "tcp or command)",
			     kind);
			continue;
		}
		kind = kinds[i];
		kind_n = kv;
	}
	if (!kind) {
		errf(w, m, p, "no check (expected one of http, tcp or command)");
		return;
	}
	path_key(fp, p, kind);
	if (kind_n->kind != FL_SNODE_MAP) {
		errf(w, kind_n, fp, "expected a mapping such as %s, not %s",
		     !strcmp(kind, "http")  ? "{url: \"http://10.0.0.2/health\"}"
		     : !strcmp(kind, "tcp") ? "{host: 10.0.0.2, port: 6379}"
					    : "{run: \"redis-cli ping\"}",
		     kind_name(kind_n));
		return;
	}
	if (!strcmp(kind, "http"))
		walk_http(w, kind_n, fp, &pr->spec);
	else if (!strcmp(kind, "tcp"))
		walk_tcp(w, kind_n, fp, &pr->spec);
	else
		walk_command(w, kind_n, fp, &pr->spec);
}

static void walk_probes(struct walk *w, const struct fl_snode *n)
{
	struct fl_scenario *s = w->s;

	if (fl_snode_is_null(n))
		return;
	if (n->kind != FL_SNODE_SEQ) {
		errf(w, n, "steady_state",
		     "expected a list of probes (e.g. - {name: api, http: {url: ...}}), not %s",
		     kind_name(n));
		return;
	}
	s->probes = calloc(n->n + 1, sizeof(*s->probes));
	if (!s->probes)
		return;
	for (size_t i = 0; i < n->n; i++)
		walk_probe(w, n->items[i], i, &s->probes[s->n_probes++]);
}

/* ------------------------------------------------------------------ */
/* schedule: 5-field cron or @every DURATION (faultline/cron.h)        */

static void walk_schedule(struct walk *w, const struct fl_snode *n)
{
	struct fl_scenario *s = w->s;
	char msg[512]; /* errf's: a long schedule is quoted whole, as errf would */

	if (get_string(w, n, "schedule", "a cron line such as \"0 3 * * 1-5\", or \"@every 1h\"",
		       &s->schedule))
		return;
	s->schedule_pos = (struct fl_pos){n->line, n->col};
	if (fl_cron_parse_msg(s->schedule, NULL, msg, sizeof(msg)))
		errf(w, n, "schedule", "%s", msg);
}

/* ------------------------------------------------------------------ */
/* The whole file                                                      */

static const char *const top_keys[] = {"version",      "name",	 "duration", "targets", "faults",
				       "steady_state", "report", "schedule", NULL};

static void walk_root(struct walk *w, const struct fl_snode *root)
{
	static const char *const report_keys[] = {"json", "junit", NULL};
	struct fl_scenario *s = w->s;
	const struct fl_snode *v;

	if (root->kind != FL_SNODE_MAP) {
		errf(w, root, "",
		     "expected a mapping with version, name, duration, targets and faults, not %s",
		     kind_name(root));
		return;
	}
	check_keys(w, root, "", top_keys);
	if (!(v = get(root, "version")))
		missing(w, root, "", "version", "version: 1");
	else if (v->kind != FL_SNODE_SCALAR || strcmp(v->text, "1"))
		errf(w, v, "version", "%s%s%s is not a version this faultline reads (expected 1)",
		     v->kind == FL_SNODE_SCALAR ? "\"" : "",
		     v->kind == FL_SNODE_SCALAR ? v->text : kind_name(v),
		     v->kind == FL_SNODE_SCALAR ? "\"" : "");
	else
		s->version = 1;
	if (!(v = get(root, "name"))) {
		missing(w, root, "", "name", "a name for the experiment, e.g. name: redis-slow");
	} else if (!get_string(w, v, "name", "a name", &s->name)) {
		s->name_pos = (struct fl_pos){v->line, v->col};
	}
	if (!(v = get(root, "duration"))) {
		missing(w, root, "", "duration",
			"the experiment's hard time limit, e.g. duration: 60s");
	} else if (!get_duration(w, v, "duration", 0, &s->duration_ns)) {
		s->duration_pos = (struct fl_pos){v->line, v->col};
	}
	if ((v = get(root, "targets")))
		walk_targets(w, v);
	if ((v = get(root, "faults")))
		walk_faults(w, v);
	if ((v = get(root, "steady_state")))
		walk_probes(w, v);
	if ((v = get(root, "report"))) {
		s->report_pos = (struct fl_pos){v->line, v->col};
		if (v->kind != FL_SNODE_MAP) {
			errf(w, v, "report",
			     "expected a mapping such as {json: report.json, junit: report.xml}, "
			     "not "
			     "%s",
			     kind_name(v));
		} else {
			const struct fl_snode *r;

			check_keys(w, v, "report", report_keys);
			if ((r = get(v, "json")))
				get_string(w, r, "report.json", "a file name", &s->report_json);
			if ((r = get(v, "junit")))
				get_string(w, r, "report.junit", "a file name", &s->report_junit);
		}
	}
	if ((v = get(root, "schedule")))
		walk_schedule(w, v);
}

void fl_scenario_free(struct fl_scenario *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct fl_scenario_target *t = &s->targets[i];

		free(t->name);
		for (int k = 0; k < t->n_devs; k++)
			free(t->devs[k]);
		free(t->devs);
		free(t->cgroup);
	}
	free(s->targets);
	free(s->faults);
	for (size_t i = 0; i < s->n_probes; i++) {
		struct fl_probe_spec *p = &s->probes[i].spec;

		free(s->probes[i].name);
		free((char *)p->url);
		free((char *)p->method);
		free((char *)p->body_contains);
		free((char *)p->host);
		free((char *)p->sh);
		if (p->argv) {
			for (size_t k = 0; p->argv[k]; k++)
				free(p->argv[k]);
			free((char **)p->argv);
		}
	}
	free(s->probes);
	free(s->name);
	free(s->report_json);
	free(s->report_junit);
	free(s->schedule);
	free(s->file);
	free(s);
}

static int looks_json(const char *name, const char *buf, size_t len)
{
	size_t nl = name ? strlen(name) : 0;

	if (nl >= 5 && !strcasecmp(name + nl - 5, ".json"))
		return 1;
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		buf += 3, len -= 3;
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')
			continue;
		return buf[i] == '{';
	}
	return 0;
}

int fl_scenario_load_buf(const char *name, const char *buf, size_t len, struct fl_scenario **out,
			 struct fl_diags *diags)
{
	struct fl_snode *root = NULL;
	struct walk w = {.d = diags};
	size_t before = diags->n;
	int r;

	*out = NULL;
	if (len > FL_SCENARIO_MAX_BYTES) {
		fl_diags_add(diags, 0, 0, "",
			     "is %zu bytes, more than a scenario may have (expected at most 1 MiB)",
			     len);
		return -EINVAL;
	}
	r = fl_snode_parse(buf, len, looks_json(name, buf, len), &root, diags);
	if (r) {
		fl_diags_sort(diags);
		return r;
	}
	w.s = calloc(1, sizeof(*w.s));
	if (!w.s) {
		fl_snode_free(root);
		return -ENOMEM;
	}
	w.s->file = strdup(name ? name : "-");
	walk_root(&w, root);
	fl_snode_free(root);
	if (diags->n > before || !w.s->file) {
		fl_scenario_free(w.s);
		fl_diags_sort(diags);
		return diags->n > before ? -EINVAL : -ENOMEM;
	}
	*out = w.s;
	return 0;
}

int fl_scenario_path_trusted(const char *path, char *err, size_t errlen)
{
	char real[PATH_MAX], *slash;
	struct stat st, dst;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !realpath(path, real))
		return 0; /* not a file: the load says what is wrong */
	if (st.st_mode & S_IWOTH) {
		snprintf(
		    err, errlen,
		    "%s: anyone may write this file (mode %04o), so anyone could choose what "
		    "faultline runs as root (expected it not writable by others: chmod o-w %s)",
		    path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	slash = strrchr(real, '/');
	if (slash == real)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (stat(real, &dst) == 0 && (dst.st_mode & S_IWOTH) && !(dst.st_mode & S_ISVTX)) {
		snprintf(err, errlen,
			 "%s: anyone may write its directory %s (mode %04o, no sticky bit), so "
			 "anyone could replace it (expected a directory not writable by others)",
			 path, real, (unsigned)(dst.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int fl_scenario_load(const char *path, struct fl_scenario **out, struct fl_diags *diags)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		r = -errno;
		fl_diags_add(diags, 0, 0, "", "cannot read: %s", strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		fl_diags_add(diags, 0, 0, "", "is a directory (expected a scenario file)");
		return -EISDIR;
	}
	if (st.st_size > FL_SCENARIO_MAX_BYTES) {
		close(fd);
		fl_diags_add(
		    diags, 0, 0, "",
		    "is %lld bytes, more than a scenario may have (expected at most 1 MiB)",
		    (long long)st.st_size);
		return -EFBIG;
	}
	/* read to the end whatever fstat said (pipes, /proc), one byte past the cap */
	buf = malloc(FL_SCENARIO_MAX_BYTES + 2);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf + got, FL_SCENARIO_MAX_BYTES + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			fl_diags_add(diags, 0, 0, "", "cannot read: %s", strerror(-r));
			free(buf);
			close(fd);
			return r;
		}
		if (n == 0 || got + (size_t)n > FL_SCENARIO_MAX_BYTES) {
			got += (size_t)n;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	r = fl_scenario_load_buf(path, buf, got, out, diags);
	free(buf);
	return r;
}

uint64_t fl_scenario_fault_end_ns(const struct fl_scenario *s, size_t fault)
{
	const struct fl_scenario_fault *f = &s->faults[fault];

	return f->for_ns ? f->at_ns + f->for_ns : s->duration_ns;
}
