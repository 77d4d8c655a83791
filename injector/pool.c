/*
 * injector/pool.c - classifiers shared by the experiments of one process
 * (faultline/pool.h has the rules of placement).
 */
#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/pool.h"
#include "faultline/probe.h"
#include "faultline/refuse.h"
#include "faultline/runner.h"
#include "faultline/target.h"

struct hook_ref {
	int ifindex, dir;
	unsigned refs;
};

struct layer {
	struct fl_engine *e;
	struct hook_ref *hooks;
	size_t n_hooks;
	struct fl_pool_step **steps;
	size_t n_steps;
};

struct fl_pool {
	pthread_mutex_t mu;
	struct fl_engine_opts base;
	struct layer layers[FL_POOL_LAYERS_MAX];
	unsigned n_layers;
};

struct fl_pool_step {
	struct fl_pool *p;
	unsigned layer;
	const void *owner;
	uint64_t from_ns, to_ns;
	struct fl_compiled_fault cf;
	int rule_id;
	bool has_rule;
	/* a refuse step: its own cgroup programs, in no layer */
	struct fl_refuse *refuse;
};

/* A refuse step: connect() hooks on the target's cgroup, or on the root of
 * the cgroup v2 mount for every process. Nothing is shared: cgroup hooks
 * take any number of programs, and each acts on connect() alone. */
static int place_refuse(struct fl_pool_step *s, char *why, size_t len)
{
	char root[4096];
	const char *dir = s->cf.cgroup_abs;
	int r;

	if (!dir[0]) {
		r = fl_cgroup2_mount(root, sizeof(root));
		if (r) {
			snprintf(why, len, "cannot find the cgroup v2 mount: %s", strerror(-r));
			return r;
		}
		dir = root;
	}
	r = fl_refuse__open(&s->refuse);
	if (r) {
		snprintf(why, len, "cannot load the connect() programs: %s%s", strerror(-r),
			 r == -EPERM ? " (faultline needs root: CAP_BPF and CAP_NET_ADMIN)" : "");
		return r;
	}
	r = fl_refuse__attach(s->refuse, dir);
	if (r) {
		snprintf(why, len, "cannot attach to the connect() hooks of cgroup %s: %s", dir,
			 strerror(-r));
		fl_refuse__close(s->refuse);
		s->refuse = NULL;
	}
	return r;
}

int fl_pool_open(const struct fl_engine_opts *base, struct fl_pool **out)
{
	struct fl_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	if (base)
		p->base = *base;
	p->base.sz = sizeof(p->base);
	*out = p;
	return 0;
}

void fl_pool_close(struct fl_pool *p)
{
	if (!p)
		return;
	for (unsigned k = 0; k < p->n_layers; k++) {
		fl_engine__close(p->layers[k].e);
		free(p->layers[k].hooks);
		free(p->layers[k].steps);
	}
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static struct hook_ref *hook_of(struct layer *l, int ifindex, int dir)
{
	for (size_t i = 0; i < l->n_hooks; i++)
		if (l->hooks[i].ifindex == ifindex && l->hooks[i].dir == dir)
			return &l->hooks[i];
	return NULL;
}

static bool attached(struct layer *l, int ifindex, int dir)
{
	struct hook_ref *h = hook_of(l, ifindex, dir);

	return h && h->refs;
}

/* May the step of owner go to layer k? (under mu) */
static bool fits(struct fl_pool *p, unsigned k, const struct fl_pool_step *s,
		 const struct fl_compiled_fault *cf)
{
	struct layer *l = &p->layers[k];

	if (l->n_steps >= FL_MAX_RULES)
		return false;
	for (size_t i = 0; i < l->n_steps; i++)
		if (l->steps[i]->owner == s->owner && l->steps[i]->from_ns < s->to_ns &&
		    s->from_ns < l->steps[i]->to_ns && fl_compiled_overlap(&l->steps[i]->cf, cf))
			return false;
	/* never onto a hook after a higher layer */
	for (int i = 0; i < cf->n_ifs; i++)
		for (int dir = 0; dir < FL_DIR_COUNT; dir++) {
			if (!(cf->spec.dir_mask & (1u << dir)) ||
			    attached(l, cf->ifindexes[i], dir))
				continue;
			for (unsigned m = k + 1; m < p->n_layers; m++)
				if (attached(&p->layers[m], cf->ifindexes[i], dir))
					return false;
		}
	return true;
}

/* Drop one reference of the step's hooks in its layer (under mu). */

/* what an attach failure R means, for "cannot attach to DEV: ..." */
static const char *attach_failure(int r, enum fl_attach_mode mode)
{
	/* the journal's refusal is -ELOOP or -EPERM of this attach; the engine
	 * may fail before fl_attach runs (-E2BIG), leaving an older refusal of
	 * this thread (a start-up replay's) in place */
	if ((r == -ELOOP || r == -EPERM) && fl_attach_journal_refusal())
		return fl_attach_journal_refusal();
	if (r == -ERANGE)
		return "it already carries the most BPF programs tcx allows on this hook (about "
		       "64)";
	if (r == -EINVAL && mode == FL_ATTACH_TCX)
		return "no tcx here (Linux 6.6+, not disabled by FAULTLINE_DISABLE); attach mode "
		       "auto falls back to clsact";
	return strerror(-r);
}

static void unref_hooks(struct fl_pool *p, unsigned k, const struct fl_compiled_fault *cf,
			int n_ifs)
{
	struct layer *l = &p->layers[k];

	for (int i = 0; i < n_ifs; i++)
		for (int dir = 0; dir < FL_DIR_COUNT; dir++) {
			struct hook_ref *h;

			if (!(cf->spec.dir_mask & (1u << dir)))
				continue;
			h = hook_of(l, cf->ifindexes[i], dir);
			if (h && h->refs && --h->refs == 0)
				fl_engine__detach(l->e, h->ifindex, 1u << dir);
		}
}

int fl_pool_place(struct fl_pool *p, const void *owner, const struct fl_compiled_fault *cf,
		  uint64_t from_ns, uint64_t to_ns, struct fl_pool_step **out, char *why,
		  size_t len)
{
	struct fl_pool_step *s = calloc(1, sizeof(*s));
	unsigned k;
	int r = 0;

	if (!s)
		return -ENOMEM;
	s->p = p;
	s->owner = owner;
	s->from_ns = from_ns;
	s->to_ns = to_ns > from_ns ? to_ns : from_ns + 1;
	s->cf = *cf;
	s->rule_id = -1;
	if (cf->spec.refuse.err) {
		r = place_refuse(s, why, len);
		if (r) {
			free(s);
			return r;
		}
		*out = s;
		return 0;
	}
	pthread_mutex_lock(&p->mu);
	for (k = 0; k < FL_POOL_LAYERS_MAX; k++) {
		if (k == p->n_layers) {
			struct fl_engine_opts eo = p->base;

			eo.rank = k + 1;
			r = fl_engine__open(&eo, &p->layers[k].e);
			if (r) {
				snprintf(why, len, "cannot load the classifier: %s%s", strerror(-r),
					 r == -EPERM ? " (faultline needs root: CAP_BPF and "
						       "CAP_NET_ADMIN)"
						     : "");
				goto fail;
			}
			p->n_layers++;
		}
		if (fits(p, k, s, cf))
			break;
	}
	if (k == FL_POOL_LAYERS_MAX) {
		snprintf(why, len, "%u layers of overlapping steps are in use, the most there are",
			 FL_POOL_LAYERS_MAX);
		r = -E2BIG;
		goto fail;
	}
	{
		struct layer *l = &p->layers[k];
		struct {
			int ifindex, dir;
		} taken[FL_TARGET_DEVS_MAX * FL_DIR_COUNT];
		size_t n_taken = 0;

		for (int i = 0; i < cf->n_ifs && !r; i++)
			for (int dir = 0; dir < FL_DIR_COUNT && !r; dir++) {
				struct hook_ref *h;

				if (!(cf->spec.dir_mask & (1u << dir)))
					continue;
				h = hook_of(l, cf->ifindexes[i], dir);
				if (!h) {
					void *v = realloc(l->hooks, (l->n_hooks + 1) * sizeof(*h));

					if (!v) {
						r = -ENOMEM;
						break;
					}
					l->hooks = v;
					h = &l->hooks[l->n_hooks++];
					*h = (struct hook_ref){cf->ifindexes[i], dir, 0};
				}
				if (!h->refs) {
					r = fl_engine__attach(l->e, h->ifindex, 1u << dir);
					if (r) {
						char name[IF_NAMESIZE];

						if (!if_indextoname((unsigned)h->ifindex, name))
							snprintf(name, sizeof(name), "#%d",
								 h->ifindex);
						snprintf(why, len, "cannot attach to %s: %s", name,
							 attach_failure(r, p->base.mode));
						break;
					}
				}
				h->refs++;
				taken[n_taken].ifindex = h->ifindex;
				taken[n_taken++].dir = dir;
			}
		if (r) {
			/* give back exactly the references this call took */
			for (size_t t = 0; t < n_taken; t++) {
				struct hook_ref *h = hook_of(l, taken[t].ifindex, taken[t].dir);

				if (h && h->refs && --h->refs == 0)
					fl_engine__detach(l->e, h->ifindex, 1u << h->dir);
			}
			goto fail;
		}
		r = fl_engine__prepare(l->e, &cf->spec);
		if (r) {
			snprintf(why, len, "cannot prepare the delay line: %s", strerror(-r));
			unref_hooks(p, k, cf, cf->n_ifs);
			goto fail;
		}
		if (!(l->n_steps & (l->n_steps + 1)) || !l->steps) {
			void *v = realloc(l->steps, (l->n_steps + 1) * 2 * sizeof(*l->steps));

			if (!v) {
				unref_hooks(p, k, cf, cf->n_ifs);
				r = -ENOMEM;
				goto fail;
			}
			l->steps = v;
		}
		l->steps[l->n_steps++] = s;
		s->layer = k;
	}
	pthread_mutex_unlock(&p->mu);
	*out = s;
	return 0;
fail:
	pthread_mutex_unlock(&p->mu);
	free(s);
	return r;
}

int fl_pool_add_rule(struct fl_pool_step *s, const struct fl_rule_spec *spec, uint64_t now_ns,
		     uint64_t lease_ns)
{
	struct fl_pool *p = s->p;
	int r;

	pthread_mutex_lock(&p->mu);
	if (s->refuse)
		r = s->has_rule ? -EEXIST : fl_refuse__set_rule(s->refuse, spec, now_ns, lease_ns);
	else
		r = s->has_rule ? -EEXIST
				: fl_engine__add_rule(p->layers[s->layer].e, spec, now_ns, lease_ns,
						      &s->rule_id);
	if (!r)
		s->has_rule = true;
	pthread_mutex_unlock(&p->mu);
	return r;
}

void fl_pool_remove_rule(struct fl_pool_step *s)
{
	struct fl_pool *p = s->p;

	pthread_mutex_lock(&p->mu);
	if (s->has_rule && s->refuse)
		fl_refuse__clear_rule(s->refuse);
	else if (s->has_rule)
		fl_engine__remove_rule(p->layers[s->layer].e, s->rule_id);
	s->has_rule = false;
	pthread_mutex_unlock(&p->mu);
}

int fl_pool_renew(struct fl_pool_step *s, uint64_t now_ns, uint64_t lease_ns)
{
	struct fl_pool *p = s->p;
	int r;

	pthread_mutex_lock(&p->mu);
	if (s->refuse)
		r = s->has_rule ? fl_refuse__renew(s->refuse, now_ns, lease_ns) : 0;
	else
		r = fl_engine__renew(p->layers[s->layer].e, now_ns, lease_ns);
	pthread_mutex_unlock(&p->mu);
	return r;
}

int fl_pool_check(struct fl_pool_step *s)
{
	struct fl_pool *p = s->p;
	int r;

	if (s->refuse)
		return 0;
	pthread_mutex_lock(&p->mu);
	r = fl_engine__check(p->layers[s->layer].e);
	pthread_mutex_unlock(&p->mu);
	return r;
}

void fl_pool_stats(struct fl_pool_step *s, struct fl_counters *c, struct fl_delay_stats *d)
{
	struct fl_pool *p = s->p;

	memset(c, 0, sizeof(*c));
	memset(d, 0, sizeof(*d));
	pthread_mutex_lock(&p->mu);
	if (s->has_rule && s->refuse) {
		fl_refuse__counters(s->refuse, c);
	} else if (s->has_rule) {
		fl_engine__counters(p->layers[s->layer].e, s->rule_id, c);
		fl_engine__delay_stats(p->layers[s->layer].e, s->rule_id, d);
	}
	pthread_mutex_unlock(&p->mu);
}

void fl_pool_release(struct fl_pool_step *s)
{
	struct fl_pool *p;
	struct layer *l;

	if (!s)
		return;
	p = s->p;
	if (s->refuse) {
		pthread_mutex_lock(&p->mu);
		fl_refuse__close(s->refuse); /* rule and links go with it */
		pthread_mutex_unlock(&p->mu);
		free(s);
		return;
	}
	pthread_mutex_lock(&p->mu);
	l = &p->layers[s->layer];
	if (s->has_rule)
		fl_engine__remove_rule(l->e, s->rule_id);
	unref_hooks(p, s->layer, &s->cf, s->cf.n_ifs);
	for (size_t i = 0; i < l->n_steps; i++)
		if (l->steps[i] == s) {
			l->steps[i] = l->steps[--l->n_steps];
			break;
		}
	pthread_mutex_unlock(&p->mu);
	free(s);
}

const char *fl_pool_attach_mode(struct fl_pool_step *s)
{
	if (s->refuse)
		return fl_refuse__errno_fixed(s->refuse)
			   ? "cgroup, no bpf_set_retval: connect() fails with EPERM"
			   : "cgroup";
	return fl_engine__attach_mode(s->p->layers[s->layer].e);
}

unsigned fl_pool_layers(struct fl_pool *p)
{
	unsigned n;

	pthread_mutex_lock(&p->mu);
	n = p->n_layers;
	pthread_mutex_unlock(&p->mu);
	return n;
}

unsigned fl_pool_attachments(struct fl_pool *p)
{
	unsigned n = 0;

	pthread_mutex_lock(&p->mu);
	for (unsigned k = 0; k < p->n_layers; k++)
		for (size_t i = 0; i < p->layers[k].n_hooks; i++)
			n += p->layers[k].hooks[i].refs > 0;
	pthread_mutex_unlock(&p->mu);
	return n;
}
