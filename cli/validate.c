/*
 * cli/validate.c - `faultline validate FILE...`: check scenario files
 * without touching the system, and print every problem of each file as
 * FILE:LINE:COL: path: message (or as JSON).
 *
 * The checking is the library's (scenarios/: fl_scenario_load); this file
 * parses the flags and prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/commands.h"
#include "faultline/scenario.h"

static void validate_usage(FILE *f)
{
	fputs(
	    "Usage: faultline validate [--json] FILE...\n"
	    "\n"
	    "Check scenario files (YAML, or JSON: a name ending in .json or text starting\n"
	    "with '{') against the schema of docs/scenario.md, and report every problem in\n"
	    "each file, not only the first, sorted by position, one per line:\n"
	    "\n"
	    "  FILE:LINE:COL: path.to.field: what is wrong (expected ...)\n"
	    "\n"
	    "A valid file prints \"FILE: ok\". Nothing is applied and nothing on this host is\n"
	    "looked up (interfaces, routes, cgroups and pids are resolved by 'faultline\n"
	    "plan' and 'faultline run').\n"
	    "\n"
	    "Options:\n"
	    "  --json       print one JSON object instead:\n"
	    "               {\"ok\": bool, \"files\": [{\"file\", \"ok\"}],\n"
	    "                \"errors\": [{\"file\", \"line\", \"col\", \"path\", \"message\"}]}\n"
	    "               (line and col 0 for a problem with the whole file, path \"\" for\n"
	    "               a syntax error)\n"
	    "  -h, --help   show this help and exit\n"
	    "\n"
	    "Exit status: 0 when every file is valid, 2 otherwise.\n"
	    "\n"
	    "Examples:\n"
	    "  faultline validate examples/*.yaml\n"
	    "  faultline validate --json chaos.json | jq -r '.errors[].message'\n",
	    f);
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "faultline validate: %s%s (see 'faultline validate --help')\n", msg, arg);
	return FL_EXIT_USAGE;
}

int fl_cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	cJSON *files = NULL, *errors = NULL, *root = NULL;
	int c, json = 0, all_ok = 1;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			validate_usage(stdout);
			return FL_EXIT_OK;
		default:
			return usage_error("unknown option ", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("missing FILE (expected e.g. 'faultline validate chaos.yaml')",
				   "");
	if (json) {
		root = cJSON_CreateObject();
		cJSON_AddBoolToObject(root, "ok", 1);
		files = cJSON_AddArrayToObject(root, "files");
		errors = cJSON_AddArrayToObject(root, "errors");
	}
	for (int i = optind; i < argc; i++) {
		struct fl_diags d = {0};
		struct fl_scenario *s = NULL;
		const char *file = argv[i];
		int r = fl_scenario_load(file, &s, &d);

		fl_scenario_free(s);
		if (r)
			all_ok = 0;
		if (json) {
			cJSON *f = cJSON_CreateObject();

			cJSON_AddStringToObject(f, "file", file);
			cJSON_AddBoolToObject(f, "ok", !r);
			cJSON_AddItemToArray(files, f);
			for (size_t k = 0; k < d.n; k++) {
				cJSON *e = cJSON_CreateObject();

				cJSON_AddStringToObject(e, "file", file);
				cJSON_AddNumberToObject(e, "line", d.v[k].line);
				cJSON_AddNumberToObject(e, "col", d.v[k].col);
				cJSON_AddStringToObject(e, "path", d.v[k].path);
				cJSON_AddStringToObject(e, "message", d.v[k].message);
				cJSON_AddItemToArray(errors, e);
			}
		} else if (!r) {
			printf("%s: ok\n", file);
		} else {
			char buf[1024];

			for (size_t k = 0; k < d.n; k++)
				puts(fl_diag_format(&d.v[k], file, buf, sizeof(buf)));
		}
		fl_diags_free(&d);
	}
	if (json) {
		char *text;

		cJSON_ReplaceItemInObject(root, "ok", cJSON_CreateBool(all_ok));
		text = cJSON_Print(root);
		if (text)
			puts(text);
		cJSON_free(text);
		cJSON_Delete(root);
	}
	fflush(stdout);
	return all_ok ? FL_EXIT_OK : FL_EXIT_USAGE;
}
