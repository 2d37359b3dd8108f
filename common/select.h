/*
 * select.h - selections (Sigma-style field matching) compiled from YAML
 * and evaluated against the fields scan.h extracts from a record.
 *
 * A selection is a mapping of field conditions, all of which must hold
 * (AND), or a list of such mappings, any of which may hold (OR).  A field
 * condition is `path|modifier|...: value` or a list of values (any of them,
 * or every one with `all`).  `detection:` names several selections and
 * combines them with a `condition:` expression.  The grammar and the type
 * rules are written for operators in man 5 sluice-rules; in short:
 *
 *   1. A quoted or non-numeric YAML string compares as text: with a string
 *      field, with the JSON text of a number or boolean field, and with
 *      each element of an array field; case-insensitively unless `cased`;
 *      `*` and `?` are wildcards, `\` escapes them.
 *   2. A plain YAML number compares numerically, with a number field or a
 *      string field that holds exactly a number.
 *   3. true/false compare with booleans (and the strings "true"/"false").
 *   4. null (or ~) matches a missing field or a JSON null; every other
 *      value never matches a missing field, and `neq` always does.
 *   5. An object field matches only `exists`.
 *
 * Compilation registers every field path with the scan, so one
 * scan_record() gives select_match() everything it reads; matching does
 * not allocate.
 */
#ifndef SLUICE_SELECT_H
#define SLUICE_SELECT_H

#include <stdbool.h>

#include "err.h"
#include "scan.h"
#include "yamlcfg.h"

/* A named list of values (`lists:` of a rules file), for `expand`. */
struct select_list {
	const char *name;
	const struct ynode *values;	/* a sequence of scalars */
};

struct select_ctx {
	struct scan *scan;		/* paths are registered here */
	const struct ydoc *doc;		/* where the nodes come from */
	const struct select_list *lists;
	size_t nlists;
};

struct select;

/* Compile a selection: a mapping, or a list of mappings.  Returns NULL with
 * e naming file:line:column on error. */
struct select *select_where(const struct select_ctx *cx, const struct ynode *n,
    struct sl_err *e);

/* Compile a detection: a mapping of named selections plus `condition:`. */
struct select *select_detection(const struct select_ctx *cx,
    const struct ynode *n, struct sl_err *e);

/* Does the record whose fields are vals match?  vals is not changed
 * except for what the matcher caches in it (see struct sval). */
bool select_match(const struct select *s, struct sval *vals);

void select_free(struct select *s);

#endif
