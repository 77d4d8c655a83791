/*
 * scenarios/diags.c - the list of problems found in a scenario file, each
 * with its line:col and field path, and their one-line form
 * "FILE:LINE:COL: path: message".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultline/scenario.h"

int fl_diags_add(struct fl_diags *d, int line, int col, const char *path, const char *fmt, ...)
{
	struct fl_diag *g;
	va_list ap;
	char *msg = NULL;
	int r;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 8;
		struct fl_diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		d->v = v;
		d->cap = cap;
	}
	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	g = &d->v[d->n];
	g->path = strdup(path ? path : "");
	if (!g->path) {
		free(msg);
		return -ENOMEM;
	}
	g->line = line;
	g->col = col;
	g->message = msg;
	g->order = (unsigned)d->n;
	d->n++;
	return 0;
}

static int cmp_diag(const void *a, const void *b)
{
	const struct fl_diag *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

void fl_diags_sort(struct fl_diags *d)
{
	if (d->n > 1)
		qsort(d->v, d->n, sizeof(d->v[0]), cmp_diag);
}

void fl_diags_free(struct fl_diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].message);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

const char *fl_diag_format(const struct fl_diag *g, const char *file, char *buf, size_t len)
{
	if (g->line <= 0)
		snprintf(buf, len, "%s: %s%s%s", file, g->path, g->path[0] ? ": " : "", g->message);
	else if (g->path[0])
		snprintf(buf, len, "%s:%d:%d: %s: %s", file, g->line, g->col, g->path, g->message);
	else
		snprintf(buf, len, "%s:%d:%d: %s", file, g->line, g->col, g->message);
	return buf;
}
