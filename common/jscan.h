/*
 * jscan.h - validate JSON text and find an object's members without
 * building a tree.
 *
 * Pass-through filters need two things from a record: "is this one valid
 * JSON object?" and "where are its members?".  jscan answers both in one
 * pass over the bytes; the member spans point into the caller's text, so
 * a record can be copied out byte for byte with fields inserted.
 * Strings are checked for escapes and control bytes, not for UTF-8 (the
 * line reader's caller validates that once for the whole line).
 */
#ifndef SLUICE_JSCAN_H
#define SLUICE_JSCAN_H

#include <stddef.h>

#define JSCAN_MAX_DEPTH 2048

struct jscan_member {
	const char *key;	/* inside the quotes, escapes left as written */
	size_t klen;
	const char *val;	/* the whole value text */
	size_t vlen;
	char type;		/* '{' '[' '"' '0' (number) 't' 'f' 'n' */
	size_t depth;		/* 1: a member of the top-level object */
	size_t next;		/* jscan_tape(): the index after this member's subtree */
};

struct jscan_err {
	const char *msg;
	size_t pos;		/* byte offset of the problem */
};

/* Check that s[0, n) is exactly one JSON value (white space around it is
 * allowed).  Returns its type character, or 0 with e filled.  When it is an
 * object, its first `max` members are stored in m and *count is set to the
 * number of members (which may exceed max). */
char jscan(const char *s, size_t n, struct jscan_member *m, size_t max,
    size_t *count, struct jscan_err *e);

/* jscan() that lists the members of every object, nested ones too, in
 * text order (a "tape"): a member whose value is an object is followed by
 * that object's members, up to index ->next, where its next sibling is.
 * Members of objects inside arrays are listed too (inside the array
 * member's span).  *count is the number of members at every depth. */
char jscan_tape(const char *s, size_t n, struct jscan_member *m, size_t max,
    size_t *count, struct jscan_err *e);

/* Members of an object value already validated by jscan() (as in a member's
 * val/vlen): same contract, cannot fail. */
size_t jscan_members(const char *obj, size_t n, struct jscan_member *m, size_t max);

/* In validated text, from just after a string's opening quote: the byte
 * after its closing quote. */
const char *jscan_string_end(const char *p, const char *end);

#endif
