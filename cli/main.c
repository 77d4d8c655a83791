/*
 * cli/main.c - entry point of the faultline CLI: dispatches to a subcommand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "cli/commands.h"
#include "faultline/probe.h"

#ifndef FL_VERSION
#define FL_VERSION "0.1.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"inject", fl_cmd_inject, "apply a fault in the foreground until its time is up or Ctrl-C"},
    {"run", fl_cmd_run, "run a scenario's experiment around a command, roll back, report"},
    {"validate", fl_cmd_validate, "check scenario files and report every problem, with line:col"},
    {"plan", fl_cmd_plan, "show what a scenario would apply, and when; nothing is applied"},
    {"doctor", fl_cmd_doctor, "probe this kernel and tell which faults work here"},
    {"ls", fl_cmd_ls, "list faultlined's experiments"},
    {"status", fl_cmd_status, "show one experiment of faultlined (--wait: until it ends)"},
    {"stop", fl_cmd_stop, "stop experiments of faultlined and roll them back (--all)"},
    {"schedule", fl_cmd_schedule, "add, list and remove faultlined's schedules"},
};

/* libbpf's messages are for debugging; errors reach the user through the
 * library's return codes. FAULTLINE_DEBUG=1 shows them. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static int debug = -1;

	if (debug < 0)
		debug = getenv("FAULTLINE_DEBUG") != NULL;
	if (!debug || (level == LIBBPF_DEBUG && debug < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: faultline COMMAND [OPTIONS]\n\n"
		"Inject network faults into chosen flows with eBPF, and always roll them back.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'faultline COMMAND --help' for the options of a command.\n"
		   "Exit codes: 0 ok, 2 bad input (nothing applied), 3 steady state broken,\n"
		   "4 injection failed (rolled back), 130 interrupted (rolled back).\n\n"
		   "Environment:\n"
		   "  FAULTLINE_SOCKET   the daemon's socket for ls, status, stop, schedule and\n"
		   "                     --detach (default /run/faultline/faultlined.sock)\n"
		   "  FAULTLINE_DEBUG    1: libbpf's warnings on stderr; 2: its debug lines too\n"
		   "  FAULTLINE_DISABLE  forced fallbacks, as on an older kernel: tcx (attach\n"
		   "                     with clsact), bpf_set_retval (refuse fails connect()\n"
		   "                     with EPERM), bpf_lsm; comma separated\n");
}

int main(int argc, char **argv)
{
	libbpf_set_print(libbpf_print);
	if (argc < 2) {
		usage(stderr);
		return FL_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("faultline %s\n", FL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		char err[256];

		if (strcmp(argv[1], commands[i].name))
			continue;
		if (fl_feature_check_env(err, sizeof(err))) {
			fl_cli_err("%s", err);
			return FL_EXIT_USAGE;
		}
		return commands[i].fn(argc - 1, argv + 1);
	}
	fl_cli_err("unknown command '%s' (see 'faultline --help')", argv[1]);
	return FL_EXIT_USAGE;
}
