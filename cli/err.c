/*
 * cli/err.c - the commands' one-line error messages ("faultline: ..."),
 * apart from main() so that the fuzz harnesses link it too.
 */
#include <stdarg.h>
#include <stdio.h>

#include "cli/commands.h"

void fl_cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("faultline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
