/*
 * faultline/error.h - how the library reports bad input.
 *
 * Library functions return a negative errno and never print. For bad input
 * (a flag value, a scenario field, an API body) they also fill a struct
 * fl_error naming the field and the expected form; cli/ and api/ turn it into
 * a message or a problem+json body.
 */
#ifndef FAULTLINE_ERROR_H
#define FAULTLINE_ERROR_H

#include <stdarg.h>

struct fl_error {
	char field[96]; /* "loss", "--port", "faults[0].delay.time" */
	int line;	/* 1-based position in a scenario file; 0 when not from a file */
	int col;
	char msg[256]; /* "\"130%\" is not a percentage between 0 and 100" */
};

/* Fill err (may be NULL) and return -EINVAL. */
int fl_error_set(struct fl_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "field: msg" (with "line:col: " first when known) into buf. */
const char *fl_error_str(const struct fl_error *err, char *buf, unsigned long len);

#endif /* FAULTLINE_ERROR_H */
