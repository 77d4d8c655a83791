/*
 * fuzz/fuzz_api_body.c - libFuzzer harness for faultlined's handling of a
 * POSTed scenario body (POST /v1/experiments): api/manager.c load_posted,
 * which answers 400 (the body does not parse), 422 (it parses but is no
 * valid scenario, or cannot run here) or loads and compiles it.
 *
 * load_posted is static and needs no running daemon (no manager, store or
 * server): this file includes api/manager.c to reach it, unchanged. The
 * first byte of the input is the content type (even: YAML, odd: JSON), the
 * rest the body. Compiling a step resolves its target as the daemon does
 * (interface lookups, a cgroup's stat, /proc/PID/cgroup); nothing is
 * changed. The problem's errors are printed as the server would send them.
 */
#include "api/manager.c"

#include <stdint.h>
#include <stdio.h>

/*
 * fl_log's messages go to /dev/null: the FILE pointer stderr is swapped,
 * not the descriptor, so that libFuzzer (which kept the original
 * stderr FILE) and the sanitizers (which write to fd 2) still report.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	FILE *null = fopen("/dev/null", "w");

	(void)argc;
	(void)argv;
	if (null) {
		stderr = null;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_problem pb = {0};
	struct fl_scenario *s = NULL;
	struct fl_compiled_fault *cf = NULL;
	const char *type;
	int r;

	if (size < 1)
		return 0;
	type = (data[0] & 1) ? "json" : "yaml";
	r = load_posted((const char *)data + 1, size - 1, type, &s, &cf, &pb);
	if (!r) {
		free(cf);
		fl_scenario_free(s);
	} else if (pb.status != 400 && pb.status != 422 && pb.status != 500) {
		/* the only answers a bad body may get */
		abort();
	}
	if (pb.errors) {
		char *text = cJSON_PrintUnformatted(pb.errors);

		free(text);
	}
	fl_problem_clear(&pb);
	return 0;
}
