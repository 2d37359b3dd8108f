/*
 * yamlcfg.h - YAML configuration files read into a small tree that keeps,
 * for every node, the line and column it came from.
 *
 * Configuration errors must name file:line:column, so the tree is built
 * from libyaml's events (which carry marks) rather than its document API.
 * Aliases are refused (a rule file has no use for them and they make
 * "where did this come from" ambiguous); anchors are ignored.  Only the
 * first document of a file is read; a second one is an error.
 *
 * Ownership: yamlcfg_load() returns a tree owned by the caller, released with
 * yamlcfg_free(); every node, string and array in it belongs to the tree.
 */
#ifndef SLUICE_YAMLCFG_H
#define SLUICE_YAMLCFG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

enum ynode_kind { Y_SCALAR, Y_SEQ, Y_MAP };

struct ynode {
	enum ynode_kind kind;
	unsigned line, col;	/* 1-based, where the node starts */
	/* Y_SCALAR: the text (NUL-terminated; len excludes the NUL) and
	 * whether it was written quoted or as a block ("10" is a string,
	 * 10 a number). */
	char *str;
	size_t len;
	bool quoted;
	/* Y_SEQ: n items.  Y_MAP: n keys, item[2i] the key (a scalar) and
	 * item[2i + 1] its value. */
	struct ynode **item;
	size_t n;
};

struct ydoc {
	struct ynode *root;	/* NULL for an empty file */
	char *file;		/* the path, for messages */
};

/* Read path.  Returns 0, or -1 with e naming file:line:column. */
int yamlcfg_load(struct ydoc *d, const char *path, struct sl_err *e);

/* Read a YAML text (name is used in messages).  Same contract. */
int yamlcfg_load_string(struct ydoc *d, const char *name, const char *text,
    size_t len, struct sl_err *e);

void yamlcfg_free(struct ydoc *d);

/* The value of key in a map node, or NULL. */
const struct ynode *ymap_get(const struct ynode *map, const char *key);

/* Scalar classification, for typed settings: a plain (unquoted) scalar
 * that is null ("", "~", "null"), a boolean (true/false, any case), or a
 * number (JSON number syntax). */
bool yscalar_is_null(const struct ynode *n);
int yscalar_bool(const struct ynode *n);	/* 1, 0, or -1 when not one */
bool yscalar_number(const struct ynode *n, double *out);

/* Fill e with "file:line:col: message" for node n.  Returns -1. */
int yerr(struct sl_err *e, const struct ydoc *d, const struct ynode *n,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The kind of n in words ("a mapping"), for messages. */
const char *ykind_name(const struct ynode *n);

#endif
