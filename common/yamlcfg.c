/*
 * yamlcfg.c - YAML configuration read into a tree of marked nodes.
 *
 * libyaml's event stream is turned into nodes with an explicit stack of
 * open collections, so nesting depth costs no recursion; a depth limit
 * keeps a hostile file from eating memory one bracket at a time.
 */
#include "yamlcfg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define MAX_DEPTH 256

static void
node_free(struct ynode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->item[i]);
	free(n->item);
	free(n->str);
	free(n);
}

static struct ynode *
node_new(enum ynode_kind kind, const yaml_mark_t *m)
{
	struct ynode *n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->line = (unsigned)m->line + 1;
	n->col = (unsigned)m->column + 1;
	return n;
}

static int
append(struct ynode *parent, struct ynode *child)
{
	if ((parent->n & (parent->n - 1)) == 0) {	/* 0, 1, 2, 4, ...: grow */
		size_t cap = parent->n ? parent->n * 2 : 4;
		struct ynode **item = realloc(parent->item, cap * sizeof(*item));
		if (item == NULL)
			return -1;
		parent->item = item;
	}
	parent->item[parent->n++] = child;
	return 0;
}

/* Check a finished mapping: keys are scalars and unique. */
static int
check_map(const struct ydoc *d, const struct ynode *n, struct sl_err *e)
{
	for (size_t i = 0; i < n->n; i += 2) {
		const struct ynode *k = n->item[i];
		if (k->kind != Y_SCALAR)
			return yerr(e, d, k, "a mapping key must be a plain value, not %s",
			    ykind_name(k));
		for (size_t j = 0; j < i; j += 2)
			if (strcmp(n->item[j]->str, k->str) == 0)
				return yerr(e, d, k, "duplicate key \"%s\" (first at line %u)",
				    k->str, n->item[j]->line);
	}
	return 0;
}

static struct ynode *
scalar(const yaml_event_t *ev)
{
	struct ynode *n = node_new(Y_SCALAR, &ev->start_mark);
	if (n == NULL)
		return NULL;
	n->len = ev->data.scalar.length;
	n->str = malloc(n->len + 1);
	if (n->str == NULL) {
		free(n);
		return NULL;
	}
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
	return n;
}

/* One event: open a collection (push), close one (pop), or make a scalar.
 * *done is set to a node complete and ready to attach to its parent.
 * Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int
event(struct ydoc *d, const yaml_event_t *ev, struct ynode **stack,
    size_t *depth, int *docs, struct ynode **done, struct sl_err *e)
{
	const yaml_mark_t *m = &ev->start_mark;
	unsigned line = (unsigned)m->line + 1, col = (unsigned)m->column + 1;

	*done = NULL;
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++*docs > 1)
			return err_set(e, d->file, line, col,
			    "a second YAML document; one file holds one document");
		return 0;
	case YAML_ALIAS_EVENT:
		return err_set(e, d->file, line, col,
		    "YAML aliases are not supported here; write the value out");
	case YAML_SCALAR_EVENT:
		if ((*done = scalar(ev)) == NULL)
			return err_set(e, d->file, line, col, "out of memory");
		return 0;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (*depth >= MAX_DEPTH)
			return err_set(e, d->file, line, col,
			    "nested more than %d levels deep", MAX_DEPTH);
		stack[*depth] = node_new(ev->type == YAML_SEQUENCE_START_EVENT ?
		    Y_SEQ : Y_MAP, m);
		if (stack[*depth] == NULL)
			return err_set(e, d->file, line, col, "out of memory");
		++*depth;
		return 0;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		*done = stack[--*depth];
		if ((*done)->kind == Y_MAP && check_map(d, *done, e) != 0) {
			node_free(*done);
			*done = NULL;
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

static int
parse(struct ydoc *d, yaml_parser_t *p, struct sl_err *e)
{
	struct ynode *stack[MAX_DEPTH];
	size_t depth = 0;
	int docs = 0, rc;
	yaml_event_t ev;

	d->root = NULL;
	for (;;) {
		struct ynode *done;
		if (!yaml_parser_parse(p, &ev)) {
			rc = err_set(e, d->file, (unsigned)p->problem_mark.line + 1,
			    (unsigned)p->problem_mark.column + 1, "%s%s%s",
			    p->problem ? p->problem : "YAML syntax error",
			    p->context ? " " : "", p->context ? p->context : "");
			break;
		}
		rc = event(d, &ev, stack, &depth, &docs, &done, e);
		yaml_event_delete(&ev);
		if (rc != 0)
			break;
		if (done == NULL)
			continue;
		if (depth == 0) {
			d->root = done;
		} else if (append(stack[depth - 1], done) != 0) {
			node_free(done);
			rc = err_set(e, d->file, 0, 0, "out of memory");
			break;
		}
	}
	while (depth > 0)
		node_free(stack[--depth]);
	if (rc < 0) {
		node_free(d->root);
		d->root = NULL;
		return -1;
	}
	return 0;
}

int
yamlcfg_load_string(struct ydoc *d, const char *name, const char *text,
    size_t len, struct sl_err *e)
{
	yaml_parser_t p;
	int rc;

	d->root = NULL;
	d->file = strdup(name);
	if (d->file == NULL)
		return err_set(e, name, 0, 0, "out of memory");
	if (!yaml_parser_initialize(&p)) {
		yamlcfg_free(d);
		return err_set(e, name, 0, 0, "out of memory");
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	rc = parse(d, &p, e);
	yaml_parser_delete(&p);
	if (rc != 0)
		yamlcfg_free(d);
	return rc;
}

int
yamlcfg_load(struct ydoc *d, const char *path, struct sl_err *e)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	d->root = NULL;
	d->file = NULL;
	if (f == NULL)
		return err_set(e, path, 0, 0, "%s", strerror(errno));
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			char *t = realloc(text, cap);
			if (t == NULL) {
				free(text);
				fclose(f);
				return err_set(e, path, 0, 0, "out of memory");
			}
			text = t;
		}
		size_t got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		int saved = errno;
		free(text);
		fclose(f);
		return err_set(e, path, 0, 0, "%s", strerror(saved));
	}
	fclose(f);
	rc = yamlcfg_load_string(d, path, text, len, e);
	free(text);
	return rc;
}

void
yamlcfg_free(struct ydoc *d)
{
	node_free(d->root);
	free(d->file);
	d->root = NULL;
	d->file = NULL;
}

const struct ynode *
ymap_get(const struct ynode *map, const char *key)
{
	if (map == NULL || map->kind != Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2)
		if (strcmp(map->item[i]->str, key) == 0)
			return map->item[i + 1];
	return NULL;
}

bool
yscalar_is_null(const struct ynode *n)
{
	return n->kind == Y_SCALAR && !n->quoted &&
	    (n->len == 0 || strcmp(n->str, "~") == 0 || strcasecmp(n->str, "null") == 0);
}

int
yscalar_bool(const struct ynode *n)
{
	if (n->kind != Y_SCALAR || n->quoted)
		return -1;
	if (strcasecmp(n->str, "true") == 0)
		return 1;
	if (strcasecmp(n->str, "false") == 0)
		return 0;
	return -1;
}

bool
yscalar_number(const struct ynode *n, double *out)
{
	if (n->kind != Y_SCALAR || n->quoted || n->len == 0)
		return false;
	/* JSON number syntax: no leading '+', no hex, no inf/nan. */
	const char *s = n->str;
	size_t i = 0;
	if (s[i] == '-')
		i++;
	if (s[i] < '0' || s[i] > '9' || (s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9'))
		return false;	/* no leading zeros, as in JSON */
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (*end != '\0' || errno == ERANGE || strpbrk(s, "xXnNiI") != NULL)
		return false;
	*out = v;
	return true;
}

const char *
ykind_name(const struct ynode *n)
{
	switch (n->kind) {
	case Y_MAP: return "a mapping";
	case Y_SEQ: return "a list";
	default: return "a plain value";
	}
}

int
yerr(struct sl_err *e, const struct ydoc *d, const struct ynode *n,
    const char *fmt, ...)
{
	char msg[sizeof(e->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return err_set(e, d->file, n ? n->line : 0, n ? n->col : 0, "%s", msg);
}
