/*
 * fuzz/fuzz_scenario.c - libFuzzer harness for the scenario loader.
 *
 * The input is a scenario file, read as JSON (under a .json name) and again
 * as YAML (under a .yaml name; JSON is YAML too). Whatever loads is walked
 * the way validate and plan read it (without compiling: that touches the
 * system); every diagnostic is formatted. Everything is freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "faultline/scenario.h"

static void exercise(const struct fl_scenario *s)
{
	char buf[1024];

	for (size_t i = 0; i < s->n_faults; i++) {
		(void)fl_scenario_fault_end_ns(s, i);
		fl_scenario_describe_actions(s->faults[i].actions, &s->faults[i].act, buf,
					     sizeof(buf));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"fuzz.json", "fuzz.yaml"};
	char buf[2048];

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		struct fl_scenario *s = NULL;
		struct fl_diags d = {0};

		if (!fl_scenario_load_buf(names[k], (const char *)data, size, &s, &d) && s)
			exercise(s);
		for (size_t i = 0; i < d.n; i++)
			(void)fl_diag_format(&d.v[i], names[k], buf, sizeof(buf));
		fl_scenario_free(s);
		fl_diags_free(&d);
	}
	return 0;
}
