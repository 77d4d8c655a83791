/*
 * api/problem.c - the HTTP problem (RFC 9457) the manager fills and the
 * server sends, on its own so that the fuzz harnesses of the server and of
 * the manager link the real functions.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api/daemon.h"

void fl_problem_set(struct fl_problem *p, int status, const char *type, const char *title,
		    const char *fmt, ...)
{
	va_list ap;

	p->status = status;
	p->type = type;
	snprintf(p->title, sizeof(p->title), "%s", title);
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

void fl_problem_clear(struct fl_problem *p)
{
	cJSON_Delete(p->errors);
	memset(p, 0, sizeof(*p));
}
