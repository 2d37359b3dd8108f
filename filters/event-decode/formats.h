/*
 * formats.h - the line formats event-decode understands.
 *
 * Each decoder reads one line s[0, n) (valid UTF-8, no NUL, no line end)
 * into ev and returns 0, or -1 with ev->why saying why the line is not in
 * its format.  Decoders set ev->dataset to their default dataset.
 */
#ifndef EVENT_DECODE_FORMATS_H
#define EVENT_DECODE_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"
#include "jw.h"

enum format {
	F_JSON, F_LOGFMT, F_SYSLOG, F_SSHD, F_COMBINED, F_REGEX, F_AUTO,
	F_COUNT
};

extern const char *const format_names[F_COUNT];

int fmt_logfmt(struct decode_ctx *c, struct event *ev, const char *s, size_t n);
int fmt_syslog(struct decode_ctx *c, struct event *ev, const char *s, size_t n);
int fmt_sshd(struct decode_ctx *c, struct event *ev, const char *s, size_t n);
int fmt_combined(struct decode_ctx *c, struct event *ev, const char *s, size_t n);
int fmt_regex(struct decode_ctx *c, struct event *ev, const char *s, size_t n);

/* What fmt_json() adds to a record that lacks it. */
struct json_extra {
	const char *id;		/* 32 hex digits */
	struct rfc3339_cache *tsc;	/* for @timestamp: arrival time */
	const char *dataset;	/* --source, or NULL */
	const char *host;	/* --host, or NULL */
	const char *file;	/* log.file.path, or NULL */
	bool keep_raw;
	bool dataset_plain, file_plain;	/* need no escaping */
};

/* The json format writes its record itself: the line byte for byte with
 * the missing fields spliced in.  Returns 0, or -1 with *why set. */
int fmt_json(struct jw *w, const char *s, size_t n, const struct json_extra *x,
    const char **why);

/* Does the line look like JSON (for auto detection)? */
static inline bool
looks_json(const char *s, size_t n)
{
	return n > 0 && s[0] == '{';
}

/* Regex patterns (-p, -P), compiled once with PCRE2's JIT. */
struct regex_set;

struct regex_set *regex_new(void);
void regex_free(struct regex_set *rs);
/* Add a pattern; file/line name where it came from for errors.  Returns 0,
 * or -1 with e naming file:line:column. */
int regex_add(struct regex_set *rs, const char *pattern, size_t len,
    const char *file, unsigned line, struct sl_err *e);
/* Read a patterns file: one per line, '#' comments and blank lines skipped. */
int regex_load(struct regex_set *rs, const char *path, struct sl_err *e);
size_t regex_count(const struct regex_set *rs);
const char *regex_source(const struct regex_set *rs, size_t i);
/* Index of the pattern that matched the last successful fmt_regex(). */
size_t regex_last(const struct regex_set *rs);

#endif
