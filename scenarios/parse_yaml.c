/*
 * scenarios/parse_yaml.c - scenario text into a tree of maps, lists and
 * scalars that remember their line:col.
 *
 * libyaml's event parser builds the tree; JSON is YAML flow syntax, so the
 * same parser reads it, after cJSON has judged its syntax (a JSON file must
 * be JSON, not any YAML that happens to look like it), which gives JSON
 * errors a line:col too. Refused here, because the schema could not tell
 * what the author meant or because tools would read the file differently:
 * bytes that are not UTF-8, duplicate keys, anchors and aliases, tags,
 * several documents.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <yaml.h>

#include "scenarios/node.h"

#define DEPTH_MAX    64
#define PATH_MAX_LEN 256

struct frame {
	struct fl_snode *node;
	char path[PATH_MAX_LEN];
};

static struct fl_snode *node_new(enum fl_snode_kind kind, yaml_mark_t m)
{
	struct fl_snode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->line = (int)m.line + 1;
	n->col = (int)m.column + 1;
	return n;
}

void fl_snode_free(struct fl_snode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++)
		fl_snode_free(n->items[i]);
	free(n->items);
	free(n->text);
	free(n);
}

int fl_snode_is_null(const struct fl_snode *n)
{
	return n->kind == FL_SNODE_SCALAR && n->plain &&
	       (!n->text[0] || !strcmp(n->text, "null") || !strcmp(n->text, "~") ||
		!strcmp(n->text, "Null") || !strcmp(n->text, "NULL"));
}

static int push_item(struct fl_snode *parent, struct fl_snode *c)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct fl_snode **v = realloc(parent->items, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		parent->items = v;
		parent->cap = cap;
	}
	parent->items[parent->n++] = c;
	return 0;
}

static void join(char *out, const char *parent, const char *key)
{
	/* a path longer than PATH_MAX_LEN is cut: it only names the field */
	if (snprintf(out, PATH_MAX_LEN, "%s%s%s", parent, parent[0] ? "." : "", key) >=
	    PATH_MAX_LEN)
		out[PATH_MAX_LEN - 1] = '\0';
}

/* Line and column (in characters) of byte offset off. */
static void offset_pos(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			++*line;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			++*col;
		}
	}
}

/* The offset of the first byte that is not well-formed UTF-8 (or a NUL),
 * or len. */
static size_t bad_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t need;
		uint32_t cp, min;

		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return i;
		for (size_t k = 1; k <= need; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += need + 1;
	}
	return len;
}

/* cJSON as the syntax gate of a JSON file. */
static int json_gate(const char *buf, size_t len, struct fl_diags *d)
{
	const char *end = NULL, *text = buf;
	char *copy = malloc(len + 1);
	cJSON *j;
	int line, col, at_eof;

	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[len] = '\0';
	if (len >= 3 && !memcmp(copy, "\xef\xbb\xbf", 3))
		text = copy + 3;
	else
		text = copy;
	j = cJSON_ParseWithOpts(text, &end, 1);
	if (j) {
		cJSON_Delete(j);
		free(copy);
		return 0;
	}
	if (!end)
		end = text;
	at_eof = !*end;
	/* cJSON stops past the offending character at times: point at the last
	 * one that is not white space */
	while (*end && end > text && (*end == '\n' || *end == ' ' || *end == '\t' || *end == '\r'))
		end--;
	if (end > text && !*end)
		while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
	offset_pos(copy, (size_t)(end - copy), &line, &col);
	if (at_eof) {
		fl_diags_add(d, line, col, "",
			     "JSON syntax: the text ends before the value does (expected a "
			     "closing '}' or ']', or the rest of a string)");
	} else {
		char near[16];
		size_t n = 0;

		while (end[n] && end[n] != '\n' && n < 10)
			n++;
		snprintf(near, sizeof(near), "%.*s", (int)n, end);
		fl_diags_add(d, line, col, "",
			     "JSON syntax: unexpected text at \"%s\" (expected a JSON value, ',' "
			     "or a closing bracket)",
			     near);
	}
	free(copy);
	return -EINVAL;
}

static void yaml_error(yaml_parser_t *p, const char *buf, struct fl_diags *d)
{
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;

	if (p->error == YAML_READER_ERROR)
		offset_pos(buf, p->problem_offset, &line, &col);
	if (p->context)
		fl_diags_add(d, line, col, "", "YAML syntax: %s (%s that starts at %d:%d)",
			     p->problem ? p->problem : "error", p->context,
			     (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
	else
		fl_diags_add(d, line, col, "", "YAML syntax: %s",
			     p->problem ? p->problem : "error");
}

/* Anchors and tags on a node. */
static void check_props(const char *anchor, const char *tag, int implicit, struct fl_snode *n,
			const char *path, struct fl_diags *d)
{
	if (anchor)
		fl_diags_add(d, n->line, n->col, path,
			     "anchors (&%s) are not supported (expected the value written out: a "
			     "scenario reads the same in every tool)",
			     anchor);
	if (tag && !implicit)
		fl_diags_add(d, n->line, n->col, path,
			     "tags (%s) are not supported (expected a plain value: the schema "
			     "decides each value's type)",
			     tag);
}

/* Attach n under the top frame; its path into path. */
static int attach(struct frame *st, int depth, struct fl_snode **root, struct fl_snode *n,
		  char *path, struct fl_diags *d)
{
	struct frame *top;

	if (depth == 0) {
		*root = n;
		path[0] = '\0';
		return 0;
	}
	top = &st[depth - 1];
	if (top->node->kind == FL_SNODE_SEQ) {
		if (snprintf(path, PATH_MAX_LEN, "%s[%zu]", top->path, top->node->n) >=
		    PATH_MAX_LEN)
			path[PATH_MAX_LEN - 1] = '\0';
	} else if (top->node->n % 2 == 0) {
		/* a key */
		if (n->kind != FL_SNODE_SCALAR) {
			fl_diags_add(d, n->line, n->col, top->path,
				     "a %s as a key (expected a name such as \"port\")",
				     n->kind == FL_SNODE_MAP ? "mapping" : "list");
			snprintf(path, PATH_MAX_LEN, "%s", top->path);
		} else {
			join(path, top->path, n->text);
			for (size_t i = 0; i < top->node->n; i += 2) {
				const struct fl_snode *k = top->node->items[i];

				if (k->kind == FL_SNODE_SCALAR && !strcmp(k->text, n->text)) {
					fl_diags_add(d, n->line, n->col, path,
						     "given twice (first at %d:%d; expected each "
						     "key once)",
						     k->line, k->col);
					break;
				}
			}
		}
	} else {
		const struct fl_snode *k = top->node->items[top->node->n - 1];

		if (k->kind == FL_SNODE_SCALAR)
			join(path, top->path, k->text);
		else
			snprintf(path, PATH_MAX_LEN, "%s", top->path);
	}
	return push_item(top->node, n);
}

int fl_snode_parse(const char *buf, size_t len, int json, struct fl_snode **out, struct fl_diags *d)
{
	struct frame *st = calloc(DEPTH_MAX, sizeof(*st));
	struct fl_snode *root = NULL;
	yaml_parser_t p;
	size_t bad;
	int depth = 0, docs = 0, done = 0, r = 0;

	*out = NULL;
	if (!st)
		return -ENOMEM;
	bad = bad_utf8((const unsigned char *)buf, len);
	if (bad < len) {
		int line, col;

		offset_pos(buf, bad, &line, &col);
		if (buf[bad] == '\0')
			fl_diags_add(d, line, col, "",
				     "a NUL byte (expected text: a scenario is UTF-8 text)");
		else
			fl_diags_add(d, line, col, "",
				     "byte 0x%02x is not valid UTF-8 (expected the file in UTF-8)",
				     (unsigned char)buf[bad]);
		free(st);
		return -EINVAL;
	}
	if (json) {
		r = json_gate(buf, len, d);
		if (r) {
			free(st);
			return r;
		}
	}
	if (!yaml_parser_initialize(&p)) {
		free(st);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&p, YAML_UTF8_ENCODING);
	while (!done) {
		yaml_event_t ev;
		struct fl_snode *n = NULL;
		char path[PATH_MAX_LEN];

		if (!yaml_parser_parse(&p, &ev)) {
			yaml_error(&p, buf, d);
			r = -EINVAL;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				fl_diags_add(d, (int)ev.start_mark.line + 1,
					     (int)ev.start_mark.column + 1, "",
					     "a second YAML document (expected one scenario per "
					     "file)");
				r = -EINVAL;
				done = 1;
			}
			break;
		case YAML_ALIAS_EVENT:
			/* stands in as a null so that the tree keeps its shape */
			n = node_new(FL_SNODE_SCALAR, ev.start_mark);
			if (n) {
				n->plain = 1;
				n->text = strdup("null");
			}
			if (!n || !n->text || attach(st, depth, &root, n, path, d)) {
				fl_snode_free(n);
				r = -ENOMEM;
				done = 1;
				break;
			}
			fl_diags_add(d, n->line, n->col, path,
				     "aliases (*%s) are not supported (expected the value written "
				     "out where it is used)",
				     (const char *)ev.data.alias.anchor);
			break;
		case YAML_SCALAR_EVENT:
			n = node_new(FL_SNODE_SCALAR, ev.start_mark);
			if (n) {
				n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
				n->text = strndup((const char *)ev.data.scalar.value,
						  ev.data.scalar.length);
			}
			if (!n || !n->text || attach(st, depth, &root, n, path, d)) {
				fl_snode_free(n);
				r = -ENOMEM;
				done = 1;
				break;
			}
			check_props((const char *)ev.data.scalar.anchor,
				    (const char *)ev.data.scalar.tag,
				    ev.data.scalar.plain_implicit || ev.data.scalar.quoted_implicit,
				    n, path, d);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT: {
			int is_map = ev.type == YAML_MAPPING_START_EVENT;

			if (depth == DEPTH_MAX) {
				fl_diags_add(d, (int)ev.start_mark.line + 1,
					     (int)ev.start_mark.column + 1, "",
					     "nested deeper than %d levels (expected a scenario)",
					     DEPTH_MAX);
				r = -EINVAL;
				done = 1;
				break;
			}
			n = node_new(is_map ? FL_SNODE_MAP : FL_SNODE_SEQ, ev.start_mark);
			if (!n || attach(st, depth, &root, n, path, d)) {
				fl_snode_free(n);
				r = -ENOMEM;
				done = 1;
				break;
			}
			if (is_map)
				check_props((const char *)ev.data.mapping_start.anchor,
					    (const char *)ev.data.mapping_start.tag,
					    ev.data.mapping_start.implicit, n, path, d);
			else
				check_props((const char *)ev.data.sequence_start.anchor,
					    (const char *)ev.data.sequence_start.tag,
					    ev.data.sequence_start.implicit, n, path, d);
			st[depth].node = n;
			snprintf(st[depth].path, PATH_MAX_LEN, "%s", path);
			depth++;
			break;
		}
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	free(st);
	if (r) {
		/* a partial tree is of no use once the syntax is broken */
		fl_snode_free(root);
		return r;
	}
	if (!root) {
		fl_diags_add(d, 1, 1, "",
			     "the file is empty (expected a scenario: version: 1, name, duration, "
			     "targets, faults)");
		return -EINVAL;
	}
	*out = root;
	return 0;
}
