/*
 * injector/undo.c - the rollback list (see undo.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "injector/undo.h"

int fl_undo_push(struct fl_undo *u, fl_undo_fn fn, void *ctx, uintptr_t arg)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct fl_undo_step *s = realloc(u->steps, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		u->steps = s;
		u->cap = cap;
	}
	u->steps[u->n++] = (struct fl_undo_step){fn, ctx, arg};
	return 0;
}

void fl_undo_to(struct fl_undo *u, size_t mark)
{
	while (u->n > mark) {
		struct fl_undo_step *s = &u->steps[--u->n];

		s->fn(s->ctx, s->arg);
	}
}

void fl_undo_all(struct fl_undo *u)
{
	fl_undo_to(u, 0);
	free(u->steps);
	u->steps = NULL;
	u->cap = 0;
}
