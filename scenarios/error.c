/*
 * scenarios/error.c - filling and formatting struct fl_error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "faultline/error.h"

int fl_error_set(struct fl_error *err, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *fl_error_str(const struct fl_error *err, char *buf, unsigned long len)
{
	if (err->line > 0)
		snprintf(buf, len, "%d:%d: %s: %s", err->line, err->col, err->field, err->msg);
	else if (err->field[0])
		snprintf(buf, len, "%s: %s", err->field, err->msg);
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}
