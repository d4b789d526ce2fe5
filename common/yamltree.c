/*
 * yamltree.c - libyaml's event stream folded into a tree with line numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamltree.h"

#define YT_MAX_DEPTH 32

struct ybuild {
	yaml_parser_t	 parser;
	const char	*path;
	char		*err;
	size_t		 errlen;
};

static struct ynode *
ynode_new(enum ynode_kind kind, const yaml_event_t *ev)
{
	struct ynode *n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->kind = kind;
	n->line = (int)ev->start_mark.line + 1;
	return n;
}

void
ytree_free(struct ynode *n)
{
	struct ynode *next;

	for (; n != NULL; n = next) {
		next = n->next;
		ytree_free(n->child);
		ytree_free(n->value);
		free(n->str);
		free(n);
	}
}

struct ynode *
ytree_get(const struct ynode *map, const char *key)
{
	const struct ynode *e;

	if (map == NULL || map->kind != YN_MAP)
		return NULL;
	for (e = map->child; e != NULL; e = e->next)
		if (strcmp(e->str, key) == 0)
			return e->value;
	return NULL;
}

static int
fail(struct ybuild *b, int line, const char *what)
{
	snprintf(b->err, b->errlen, "%s:%d: %s", b->path, line, what);
	return -1;
}

static int next_event(struct ybuild *, yaml_event_t *);

static int
key_seen(const struct ynode *map, const struct ynode *key)
{
	const struct ynode *e;

	for (e = map->child; e != key; e = e->next)
		if (strcmp(e->str, key->str) == 0)
			return 1;
	return 0;
}
static struct ynode *parse_node(struct ybuild *, yaml_event_t *, int);

static int
next_event(struct ybuild *b, yaml_event_t *ev)
{
	char what[200];

	if (yaml_parser_parse(&b->parser, ev))
		return 0;
	snprintf(what, sizeof(what), "YAML syntax error: %s",
	    b->parser.problem ? b->parser.problem : "unknown");
	return fail(b, (int)b->parser.problem_mark.line + 1, what);
}

/* Parse entries until the closing event; maps alternate key and value. */
static int
parse_children(struct ybuild *b, struct ynode *parent, int depth)
{
	struct ynode **tail = &parent->child, *key, *val;
	yaml_event_t ev;
	yaml_event_type_t end = parent->kind == YN_MAP ?
	    YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;

	for (;;) {
		if (next_event(b, &ev) != 0)
			return -1;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if ((key = parse_node(b, &ev, depth + 1)) == NULL)
			return -1;
		*tail = key;
		tail = &key->next;
		if (parent->kind != YN_MAP)
			continue;
		if (key->kind != YN_SCALAR)
			return fail(b, key->line, "a map key must be a plain value");
		if (key_seen(parent, key))
			return fail(b, key->line, "duplicate key");
		if (next_event(b, &ev) != 0)
			return -1;
		if ((val = parse_node(b, &ev, depth + 1)) == NULL)
			return -1;
		key->value = val;
	}
}

/* Build the node that starts with ev (consumed). */
static struct ynode *
parse_node(struct ybuild *b, yaml_event_t *ev, int depth)
{
	struct ynode *n = NULL;
	enum ynode_kind kind;

	if (depth > YT_MAX_DEPTH) {
		fail(b, (int)ev->start_mark.line + 1, "nesting too deep");
		yaml_event_delete(ev);
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		if ((n = ynode_new(YN_SCALAR, ev)) != NULL &&
		    (n->str = strdup((char *)ev->data.scalar.value)) == NULL) {
			free(n);
			n = NULL;
		}
		if (n == NULL) {
			yaml_event_delete(ev);
			break;
		}
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		yaml_event_delete(ev);
		return n;
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		kind = ev->type == YAML_MAPPING_START_EVENT ? YN_MAP : YN_SEQ;
		n = ynode_new(kind, ev);
		yaml_event_delete(ev);
		if (n == NULL)
			break;
		if (parse_children(b, n, depth) != 0) {
			ytree_free(n);
			return NULL;
		}
		return n;
	case YAML_ALIAS_EVENT:
		fail(b, (int)ev->start_mark.line + 1,
		    "YAML aliases are not supported here");
		yaml_event_delete(ev);
		return NULL;
	default:
		fail(b, (int)ev->start_mark.line + 1, "unexpected YAML event");
		yaml_event_delete(ev);
		return NULL;
	}
	fail(b, 0, "out of memory");
	return NULL;
}

struct ynode *
ytree_load(const char *path, char *err, size_t errlen)
{
	struct ybuild b = { .path = path, .err = err, .errlen = errlen };
	struct ynode *root = NULL;
	yaml_event_t ev;
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	yaml_parser_initialize(&b.parser);
	yaml_parser_set_input_file(&b.parser, fp);
	/* STREAM-START, DOCUMENT-START, then the root node. */
	for (;;) {
		if (next_event(&b, &ev) != 0)
			goto done;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			fail(&b, 1, "empty configuration");
			goto done;
		}
		if (ev.type != YAML_STREAM_START_EVENT &&
		    ev.type != YAML_DOCUMENT_START_EVENT)
			break;
		yaml_event_delete(&ev);
	}
	root = parse_node(&b, &ev, 0);
	if (root != NULL && root->kind != YN_MAP) {
		fail(&b, root->line, "the configuration must be a map of settings");
		ytree_free(root);
		root = NULL;
	}
done:
	yaml_parser_delete(&b.parser);
	fclose(fp);
	return root;
}
