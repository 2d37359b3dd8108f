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
#include <stddef.h>
#include <stdint.h>

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

/* select_match() of each of s[0, n) against one record, in one loop (a
 * call per selection costs more than a memoised test): the indexes of
 * those that match go to hit, in order; returns how many. */
size_t select_match_all(const struct select *const *s, size_t n, struct sval *vals,
    uint32_t *hit);

void select_free(struct select *s);

/* A guard: a condition every record the selection matches meets, for
 * indexing many selections by field value (Falco indexes its rules by
 * event type the same way).  The field at *slot equals one of the keys:
 * text ('s', compared lower-cased: a cased match is also a caseless one)
 * or a number ('n'), or starts with one ('p', lower-cased text).  Returns the number of keys, 0 when the selection
 * has no such guard (then every record must be tried).  The keys belong
 * to the selection. */
struct select_key {
	char kind;		/* 's', 'p' or 'n' */
	const char *s;		/* 's', 'p': lower-cased text */
	size_t len;
	double num;		/* 'n' */
};
size_t select_guard(const struct select *s, int *slot, struct select_key **keys);

/* The keys a record's field v yields for looking guards up (its text
 * lower-cased, and its number if it holds one), with s the selection of
 * any guard on that field.  Returns how many (at most 2; 0 for a missing,
 * null or object field, which no guard key equals), or -1 for an array,
 * any of whose elements may match: then no guard on it rules anything
 * out. */
int select_field_keys(const struct select *s, struct sval *v, struct select_key out[2]);

/* Memoised matching, for a program that matches many selections against
 * every record of a stream (anomaly-detect's rules): the results of all
 * the conditions on one field are worked out once per distinct value of
 * that field and kept (a bounded table per field), so a value seen again
 * costs a hash and a compare, however many selections test it.  Results
 * are exactly those of plain matching.
 *
 * select_memo_add() makes s match through m from then on; every
 * selection added must outlive m's use, and m must be fed records only
 * through its scan's scan_record().  On failure (memory) s still
 * matches, partly through m.  Returns 0 or -1. */
struct select_memo;
struct select_memo *select_memo_new(struct scan *sc);
int select_memo_add(struct select_memo *m, struct select *s);
void select_memo_stats(const struct select_memo *m, uint64_t *hits, uint64_t *misses);

/* Make select_match_all(s, n, ...) with this very array (all of it added
 * to m, and no selection added after) try only the members no field
 * value of the record rules out: each value m keeps also keeps which
 * members one of their conditions, known false for it, excludes.  s
 * must outlive m's use.  On failure (memory) nothing changes.  Returns 0
 * or -1. */
int select_memo_list(struct select_memo *m, const struct select *const *s, size_t n);
void select_memo_free(struct select_memo *m);

#endif
