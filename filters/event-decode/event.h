/*
 * event.h - an event being decoded: a flat list of (dotted path, value)
 * fields that the emitter writes as nested JSON.
 *
 * Parsers add fields that point into the input line wherever they can; a
 * value that has to be rewritten (an unescaped quoted string, a formatted
 * time) goes into the event's scratch arena.  Nothing here allocates per
 * line: the arena and the field table are sized once, for --max-line.
 *
 * Invariants:
 *  1. Every path and string value is valid UTF-8 (the line was validated
 *     before any parser saw it, and parsers split only at ASCII bytes).
 *  2. Field paths are dotted ECS names; the emitter nests them, writes
 *     repeated paths as one array, and puts a value whose path is also a
 *     parent of other paths under the key "_" of that object.
 */
#ifndef EVENT_DECODE_EVENT_H
#define EVENT_DECODE_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "jw.h"
#include "rfc3339.h"

#define EV_MAX_FIELDS 256	/* field indices fit in a uint8_t */
_Static_assert(EV_MAX_FIELDS <= 256, "sort orders are stored as uint8_t");

enum vtype {
	V_STR,		/* string, escaped when written */
	V_PLAIN,	/* string known to need no escaping */
	V_INT,		/* integer in .i */
	V_NUM,		/* number text already in JSON syntax */
	V_TRUE,
	V_RAW		/* JSON text written as is */
};

struct field {
	const char *path;
	const char *v;
	uint32_t plen, vlen;
	uint8_t type;
	bool stable;		/* path is the same pointer on every line */
	int64_t i;
};

/* The JSON between two fields whose paths are stable pointers is the same
 * on every line; event_emit() caches it (see event.c). */
struct transition;
struct sortmemo;

struct event {
	struct field f[EV_MAX_FIELDS];
	unsigned n;
	bool overflow;		/* more fields than EV_MAX_FIELDS were offered */
	int64_t ts;		/* @timestamp, ms UTC */
	bool has_ts;
	const char *dataset;	/* the format's default event.dataset */
	const char *why;	/* why the line did not decode */
	char *scratch;
	size_t used, cap;
	uintptr_t plain_lo, plain_hi;	/* bytes known to need no escaping */
	bool slices;		/* the decoder's strings are mostly raw slices of
				 * the line, worth one scan for escapes */
	struct transition *cache;
	struct sortmemo *memo;
};

/* Context shared by the parsers: settings and the state that runs across
 * lines (year inference for year-less stamps). */
struct decode_ctx {
	struct tz tz;
	int year;		/* --year, or 0 */
	int64_t now_ms;		/* wall clock when the current input block was read */
	/* Year inference: the year in use, and the last month seen. */
	int cur_year;
	unsigned last_month;
	struct regex_set *rx;	/* -p/-P patterns, or NULL */
};

int event_init(struct event *ev, size_t max_line);
void event_free(struct event *ev);
void event_clear(struct event *ev);

/* Add a field; NULL when the table is full (ev->overflow is then set). */
static inline struct field *
ev_add(struct event *ev, const char *path, size_t plen, uint8_t type,
    const char *v, size_t n, bool stable)
{
	if (ev->n >= EV_MAX_FIELDS) {
		ev->overflow = true;
		return NULL;
	}
	struct field *f = &ev->f[ev->n++];
	f->path = path;
	f->plen = (uint32_t)plen;
	f->type = type;
	f->stable = stable;
	f->v = v;
	f->vlen = (uint32_t)n;
	f->i = 0;
	return f;
}

/* The common cases take a string literal as path (inline, so its length is
 * a constant). */
static inline void
ev_str(struct event *ev, const char *path, const char *v, size_t n)
{
	ev_add(ev, path, strlen(path), V_STR, v, n, true);
}

static inline void
ev_strz(struct event *ev, const char *path, const char *v)
{
	ev_add(ev, path, strlen(path), V_STR, v, strlen(v), true);
}

/* A value that is a string literal of ours: nothing in it to escape. */
static inline void
ev_lit(struct event *ev, const char *path, const char *lit)
{
	ev_add(ev, path, strlen(path), V_PLAIN, lit, strlen(lit), true);
}

static inline void
ev_int(struct event *ev, const char *path, int64_t v)
{
	struct field *f = ev_add(ev, path, strlen(path), V_INT, NULL, 0, true);
	if (f != NULL)
		f->i = v;
}

static inline void
ev_true(struct event *ev, const char *path)
{
	ev_add(ev, path, strlen(path), V_TRUE, NULL, 0, true);
}

/* True when s[0, n) is a JSON number every reader can hold (canonical form,
 * integers within 64 bits, moderate exponents). */
bool is_json_number(const char *s, size_t n);

/* A field whose path is not a literal: logfmt keys and the like, which
 * live in the line (ev_field), or paths built once at start, such as
 * capture names (ev_field_stable). */
void ev_field(struct event *ev, const char *path, size_t plen, uint8_t type,
    const char *v, size_t n);
void ev_field_stable(struct event *ev, const char *path, size_t plen,
    uint8_t type, const char *v, size_t n);
/* The value of the first field with this path, or NULL. */
struct field *ev_find(struct event *ev, const char *path);

/* Room in the scratch arena; NULL when it is full (the caller fails the
 * line). */
char *ev_alloc(struct event *ev, size_t n);

/* When the decoder set ev->slices: if s[0, n) (the line) holds nothing
 * JSON must escape, string fields that are slices of it are copied, not
 * escaped.  (A decoder that knows better sets plain_lo and plain_hi
 * itself.)  Call after the decoder, before event_emit(). */
void event_plain(struct event *ev, const char *s, size_t n);

/* Write the event as one JSON object and end the record. */
void event_emit(struct event *ev, struct jw *w);

/* True when s[0, n) is a JSON number in canonical form. */
/* Parse a whole unsigned decimal in s[0, n) into *v (no sign, no spaces). */
bool parse_uint(const char *s, size_t n, int64_t *v);
/* True when s[0, n) is an IPv4 or IPv6 address. */
bool is_ip(const char *s, size_t n);

/* Index of the first space in s[i, n), or n. */
static inline size_t
token_end(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != ' ')
		i++;
	return i;
}

/* Quoted text with backslash escapes (logfmt values, RFC 5424 parameter
 * values, access-log fields): s[i] is just past the opening '"'.  Returns
 * the index of the closing '"' (the first not escaped), or n when there is
 * none; *esc says whether any backslash came before it. */
static inline size_t
quoted_end(const char *s, size_t n, size_t i, bool *esc)
{
	*esc = false;
	while (i < n && s[i] != '"') {
		if (s[i] == '\\' && i + 1 < n) {
			*esc = true;
			i++;
		}
		i++;
	}
	return i;
}

/* Timestamps.  Each returns the number of characters read at the start of
 * s, or 0, and sets *ms (UTC). */
size_t ts_syslog(struct decode_ctx *c, const char *s, size_t n, int64_t *ms);
size_t ts_clf(const char *s, size_t n, int64_t *ms);
size_t ts_iso(struct decode_ctx *c, const char *s, size_t n, int64_t *ms);
/* A whole string in any of the known forms (regex captures, logfmt). */
bool ts_any(struct decode_ctx *c, const char *s, size_t n, int64_t *ms);

#endif
