/*
 * cli/commands.h - the subcommands of the faultline CLI.
 *
 * cli/ is a thin front on the library (injector/ + scenarios/): it parses
 * argv, calls the library, prints. Each subcommand gets argv starting at its
 * own name and returns the process exit code (DESIGN.md section 8).
 */
#ifndef FAULTLINE_CLI_COMMANDS_H
#define FAULTLINE_CLI_COMMANDS_H

#include <stddef.h>
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
int fl_cmd_ls(int argc, char **argv);
int fl_cmd_status(int argc, char **argv);
int fl_cmd_stop(int argc, char **argv);
int fl_cmd_schedule(int argc, char **argv);

/* Clients of faultlined (cli/ctl.c): POST a scenario file or text to
 * /v1/experiments and print the new experiment; the exit code. socket_path
 * or url NULL: $FAULTLINE_SOCKET / $FAULTLINE_URL, else the default socket. */
int fl_client_submit(const char *file, const char *socket_path, const char *url,
		     const char *token_file, int json);
int fl_client_submit_text(const char *text, size_t len, const char *name, const char *socket_path,
			  int json);
int fl_cmd_validate(int argc, char **argv);
int fl_cmd_plan(int argc, char **argv);

/* "faultline: <msg>" on stderr. */
void fl_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
