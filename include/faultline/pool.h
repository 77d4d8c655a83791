/*
 * faultline/pool.h - classifiers shared by every experiment of a process
 * (the daemon): one classifier per hook whatever the number of experiments,
 * so untargeted packets pay for one program, not one per experiment.
 *
 * The pool holds layers; layer k is one struct fl_engine of rank k + 1
 * (faultline/rule.h). A step goes to the lowest layer that
 *  - has room in its 64-rule table,
 *  - holds no step of the same owner (experiment) whose flows overlap the
 *    step's (fl_compiled_overlap) during a time that overlaps the step's
 *    [from_ns, to_ns) (the owner's own clock): an experiment's own
 *    overlapping steps stack in layers, and act on a packet once each,
 *  - keeps the order of layers on every hook of the step (a layer never goes
 *    onto a hook after a higher one: re-emitted frames rely on it).
 * Overlapping steps of different owners share a layer; the lower rule id
 * wins there (the daemon refuses such experiments with 409 before they get
 * here). A layer is attached to a hook while a step placed there needs it
 * (reference counted) and detached when the last one is released.
 *
 * Thread-safe: one mutex serialises every engine call. Functions return 0 or
 * a negative errno and never print.
 */
#ifndef FAULTLINE_POOL_H
#define FAULTLINE_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "faultline/engine.h"
#include "faultline/scenario.h"

#define FL_POOL_LAYERS_MAX FL_RANK_MAX

struct fl_pool;
struct fl_pool_step;

/* base: mode, run_dir (rank is the pool's). */
int fl_pool_open(const struct fl_engine_opts *base, struct fl_pool **out);
/* Every layer closed: rules, attachments, delay lines. Release every step
 * first. */
void fl_pool_close(struct fl_pool *p);

/* Place a step of owner: pick its layer, attach it where the step needs,
 * prepare what its rule will need (delay line). why gets a sentence on
 * failure (nothing stays attached for this step). */
int fl_pool_place(struct fl_pool *p, const void *owner, const struct fl_compiled_fault *cf,
		  uint64_t from_ns, uint64_t to_ns, struct fl_pool_step **out, char *why,
		  size_t len);
int fl_pool_add_rule(struct fl_pool_step *s, const struct fl_rule_spec *spec, uint64_t now_ns,
		     uint64_t lease_ns);
/* Remove the step's rule (kept placed and attached). */
void fl_pool_remove_rule(struct fl_pool_step *s);
/* fl_engine__renew / fl_engine__check of the step's layer. */
int fl_pool_renew(struct fl_pool_step *s, uint64_t now_ns, uint64_t lease_ns);
int fl_pool_check(struct fl_pool_step *s);
/* The step's rule counters (zeros without a rule). */
void fl_pool_stats(struct fl_pool_step *s, struct fl_counters *c, struct fl_delay_stats *d);
/* Remove the rule, drop the step's attachments (detaching what no other
 * step of the layer needs), free the step. */
void fl_pool_release(struct fl_pool_step *s);
const char *fl_pool_attach_mode(struct fl_pool_step *s);
/* Layers in use, and programs attached in all (for tests and metrics). */
unsigned fl_pool_layers(struct fl_pool *p);
unsigned fl_pool_attachments(struct fl_pool *p);

#endif
