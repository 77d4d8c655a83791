/*
 * cli/commands.h - the subcommands of the faultline CLI.
 *
 * cli/ is a thin front on the library (injector/ + scenarios/): it parses
 * argv, calls the library, prints. Each subcommand gets argv starting at its
 * own name and returns the process exit code (DESIGN.md section 8).
 */
#ifndef FAULTLINE_CLI_COMMANDS_H
#define FAULTLINE_CLI_COMMANDS_H

#include <stdio.h>

/* Exit codes, DESIGN.md section 8. */
#define FL_EXIT_OK	  0
#define FL_EXIT_USAGE	  2   /* bad input, nothing applied */
#define FL_EXIT_STEADY	  3   /* steady state broken */
#define FL_EXIT_INJECT	  4   /* injection failed, rolled back */
#define FL_EXIT_INTERRUPT 130 /* interrupted, rolled back */

int fl_cmd_inject(int argc, char **argv);
int fl_cmd_doctor(int argc, char **argv);
int fl_cmd_run(int argc, char **argv);
int fl_cmd_validate(int argc, char **argv);
int fl_cmd_plan(int argc, char **argv);

/* "faultline: <msg>" on stderr. */
void fl_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
