/*
 * injector/undo.h - the rollback list.
 *
 * Every step that changes the system pushes the step that undoes it, right
 * after it succeeds. Rolling back runs them in reverse, for a failure
 * half-way, a stop, an expiry or an exit alike: one code path for every
 * kind of fault.
 */
#ifndef FL_INJECTOR_UNDO_H
#define FL_INJECTOR_UNDO_H

#include <stddef.h>
#include <stdint.h>

typedef void (*fl_undo_fn)(void *ctx, uintptr_t arg);

struct fl_undo {
	struct fl_undo_step {
		fl_undo_fn fn;
		void *ctx;
		uintptr_t arg;
	} * steps;
	size_t n, cap;
};

/* Returns 0 or -ENOMEM; on -ENOMEM the caller must undo the step itself. */
int fl_undo_push(struct fl_undo *u, fl_undo_fn fn, void *ctx, uintptr_t arg);
/* Mark: the current depth, to roll back to with fl_undo_to(). */
static inline size_t fl_undo_mark(const struct fl_undo *u)
{
	return u->n;
}
/* Run the steps above mark in reverse and drop them. */
void fl_undo_to(struct fl_undo *u, size_t mark);
/* Run every step in reverse and free the list. */
void fl_undo_all(struct fl_undo *u);

#endif
