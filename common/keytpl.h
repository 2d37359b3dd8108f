/*
 * keytpl.h - key templates ("{rule.id}:{alert.group}") rendered from a
 * record's raw JSON bytes, without building a tree.
 *
 * A template is literal text with dotted field paths in braces; "{{" and
 * "}}" stand for literal braces.  Rendering looks each path up among the
 * members jscan() found, following jpath.h's rule (at each level a flat
 * dotted key that matches the rest of the path wins, then the longest
 * prefix that names an object), and writes:
 *   - a string: its text with escapes decoded;
 *   - a number, true, false or null: its JSON text as written;
 *   - an object or array: canonical JSON (keys sorted, no white space),
 *     so {"b":1,"a":2} and {"a":2, "b":1} give the same key;
 *   - a missing field: nothing, and it is counted.
 *
 * Ownership: the template owns its compiled parts and a scratch array it
 * grows as records need; render output goes to the caller's memory jw.
 * Member keys written with escapes longer than 256 bytes are not matched.
 */
#ifndef SLUICE_KEYTPL_H
#define SLUICE_KEYTPL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "jscan.h"
#include "jw.h"

struct keytpl_part {
	char *text;		/* literal text, or a path when is_field */
	size_t len;
	bool is_field;
};

struct keytpl {
	struct keytpl_part *part;
	size_t nparts;
	size_t nfields;
	/* Private: members of nested objects while a path is followed. */
	struct jscan_member *scratch;
	size_t nscratch;
};

/* Compile text.  Returns 0, or -1 with e filled (column of the problem:
 * an unclosed or empty field, or out of memory). */
int keytpl_compile(struct keytpl *t, const char *text, struct sl_err *e);
void keytpl_free(struct keytpl *t);

/* Append the key of the object whose top-level members are m[0, count) to
 * out.  Returns the number of fields that were missing, or -1 when memory
 * ran short (out->err says so). */
int keytpl_render(struct keytpl *t, const struct jscan_member *m, size_t count,
    struct jw *out);

/* The value at the dotted path p[0, n) among m[0, count) (a member whose
 * key and value point into the record), or false when it is missing.  The
 * scratch space of t is used for nested objects. */
bool keytpl_get(struct keytpl *t, const struct jscan_member *m, size_t count,
    const char *p, size_t n, struct jscan_member *found);

#endif
