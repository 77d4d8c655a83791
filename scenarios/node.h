/*
 * scenarios/node.h - the position-carrying node tree a scenario file is
 * read into (scenarios/parse_yaml.c), before the schema walker
 * (scenarios/scenario.c) turns it into the model. Internal to scenarios/.
 */
#ifndef FAULTLINE_SCENARIOS_NODE_H
#define FAULTLINE_SCENARIOS_NODE_H

#include <stddef.h>

#include "faultline/scenario.h"

enum fl_snode_kind { FL_SNODE_SCALAR, FL_SNODE_MAP, FL_SNODE_SEQ };

struct fl_snode {
	enum fl_snode_kind kind;
	int line, col; /* 1-based */
	int plain;     /* scalar: written without quotes (so `null`, `true`, `5` are not strings) */
	char *text;    /* scalar: its value */
	/* seq: the items; map: key, value, key, value... (keys are scalars) */
	struct fl_snode **items;
	size_t n, cap;
};

/* Parse buf (YAML, or JSON when json: its syntax checked by cJSON first)
 * into a tree. Duplicate keys, anchors, aliases, tags and several
 * documents are reported into d; returns 0 and *out (possibly with
 * problems reported: the tree is still usable), or -EINVAL when no tree
 * could be built. */
int fl_snode_parse(const char *buf, size_t len, int json, struct fl_snode **out,
		   struct fl_diags *d);
void fl_snode_free(struct fl_snode *n);

/* A null: an empty plain scalar, `null`, `~`. */
int fl_snode_is_null(const struct fl_snode *n);

#endif
