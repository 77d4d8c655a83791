/*
 * fuzz/fuzz_inject_args.c - libFuzzer harness for the argument parser of
 * `faultline inject` (cli/inject.c parse_args, through the FL_FUZZ wrapper
 * fl_inject_parse_for_fuzz).
 *
 * The input is argv after "inject": its words separated by NUL bytes (at
 * most 64). Parsing resolves the target as inject does: interface lookups,
 * a cgroup's stat, /proc/PID/cgroup; nothing is changed. Messages (stderr)
 * and the usage of --help (stdout) go to /dev/null.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"

#define MAX_ARGS 64

int fl_inject_parse_for_fuzz(int argc, char **argv);

/*
 * The messages go to /dev/null: the FILE pointers stdout and stderr are
 * swapped, not the descriptors, so that libFuzzer (which kept the original
 * stderr FILE) and the sanitizers (which write to fd 2) still report.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *null = fopen("/dev/null", "w");

	(void)argc;
	(void)argv;
	if (null) {
		stdout = null;
		stderr = null;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	char *text = malloc(size + 1);
	int argc = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = "inject";
	for (size_t i = 0; i <= size && argc < MAX_ARGS + 1;) {
		size_t n = strlen(text + i);

		argv[argc++] = text + i;
		i += n + 1;
	}
	argv[argc] = NULL;
	/*
	 * The CLI parses once per process; here every input parses again.
	 * parse_args restarts getopt_long with optind = 1, which keeps glibc's
	 * pointer into the previous argv when that one stopped inside a short
	 * option cluster ("-hx"): a full reinitialisation (optind = 0) forgets
	 * it, as a fresh process would.
	 */
	{
		char *none[] = {"inject", NULL};

		optind = 0;
		opterr = 0;
		(void)getopt(1, none, "");
	}
	(void)fl_inject_parse_for_fuzz(argc, argv);
	free(text);
	return 0;
}
