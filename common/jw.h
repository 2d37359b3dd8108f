/*
 * jw.h - a fast JSON writer for records: bytes go straight into a buffer,
 * strings are escaped on the way, no tree is built.
 *
 * The per-record path of every filter writes JSON here instead of building
 * a jansson tree and dumping it: a tree costs microseconds per record, this
 * costs what the bytes cost.  jansson stays for configuration and cold paths.
 *
 * Contract:
 *  1. A writer either owns a growing memory buffer (fd < 0) or fronts a file
 *     descriptor, to which jw_flush() and jw_end() write once the buffer
 *     passes its flush mark.  A record is never split across two write()s
 *     unless it is bigger than the mark.
 *  2. Separators are the writer's business: jw_key() and the value calls put
 *     commas where JSON needs them, for nesting up to JW_MAX_DEPTH.
 *  3. Strings passed in must be valid UTF-8 (the callers validate input
 *     once, when they read it); jw escapes '"', '\\' and control bytes.
 *  4. A failed write is remembered in ->err (errno) and later output is
 *     dropped; callers check ->err where they can stop (EPIPE: quietly).
 */
#ifndef SLUICE_JW_H
#define SLUICE_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 64

struct jw {
	int fd;			/* < 0: memory only */
	char *buf;
	size_t len, cap;
	size_t mark;		/* flush when a record ends past this many bytes */
	int err;		/* errno of the first failed write, or 0 */
	uint64_t written;	/* bytes handed to write() so far */
	unsigned depth;
	uint64_t comma;		/* bit d: the next item at depth d needs a comma */
	bool after_key;
};

/* Returns 0, or -1 when memory is short. */
int jw_init(struct jw *w, int fd);
void jw_free(struct jw *w);

/* Make room for n more bytes; returns a pointer to write them at (the caller
 * then adds n to ->len), or NULL when memory is short (->err is ENOMEM). */
char *jw_grow(struct jw *w, size_t n);

static inline char *
jw_reserve(struct jw *w, size_t n)
{
	if (w->cap - w->len >= n)
		return w->buf + w->len;
	return jw_grow(w, n);
}

void jw_obj_open(struct jw *w);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w);
void jw_arr_close(struct jw *w);
void jw_key(struct jw *w, const char *k, size_t n);
void jw_keyz(struct jw *w, const char *k);
/* A key known to need no escaping (a literal of ours). */
void jw_key_plain(struct jw *w, const char *k, size_t n);
#define JW_KEY_LIT(w, lit) jw_key_plain((w), (lit), sizeof(lit) - 1)
void jw_str(struct jw *w, const char *s, size_t n);
/* A string known to need no escaping (digits, hex, a time, a literal). */
void jw_str_plain(struct jw *w, const char *s, size_t n);
void jw_strz(struct jw *w, const char *s);
void jw_int(struct jw *w, int64_t v);
void jw_double(struct jw *w, double v);	/* shortest text that reads back equal */
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
void jw_raw(struct jw *w, const char *json, size_t n);	/* a value already in JSON */
void jw_b64(struct jw *w, const char *data, size_t n);	/* a base64 string value */

/* Append bytes as they are: no separator, no escaping. */
void jw_bytes(struct jw *w, const char *s, size_t n);
/* Escape s into the buffer without quotes (to build a string in pieces). */
void jw_escaped(struct jw *w, const char *s, size_t n);

/* 1 for the bytes that cannot stand in JSON string text as they are:
 * control bytes, '"' and '\\' (jscan uses it to find a string's end). */
extern const unsigned char jw_needs_escape[256];

/* Low-level pieces for callers that write into jw_reserve()d space
 * themselves: escape s[0, n) to o (room for 6n bytes), and an integer (room
 * for 20 bytes).  Both return the end of what they wrote. */
char *jw_escape_to(char *o, const char *s, size_t n);
char *jw_int_to(char *o, int64_t v);

/* End a record: newline, reset nesting, flush if past the mark. */
void jw_end(struct jw *w);
/* Write out everything buffered.  Returns 0 or -1 (->err says why). */
int jw_flush(struct jw *w);
/* Drop buffered bytes and nesting (memory writers reuse their buffer). */
void jw_reset(struct jw *w);

#endif
