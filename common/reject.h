/*
 * reject.h - what happens to a line a program cannot use.
 *
 * DESIGN.md's rule: bad input is never fatal and never silently lost.  A
 * rejected line is counted and, with --reject FILE, appended to FILE as
 *   {"reject":{"program":…,"line":N,"error":…,"raw":…}}
 * ("raw_b64" instead of "raw" when the bytes are not UTF-8 or hold NUL, and
 * always for a line over --max-line, which is streamed in whole with its
 * "bytes" length).  Without --reject a rate-limited warning goes to stderr.
 * With --strict the first reject tells the caller to stop (exit 65).
 */
#ifndef SLUICE_REJECT_H
#define SLUICE_REJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jw.h"
#include "log.h"

struct reject {
	char *path;		/* NULL: warnings on stderr only */
	struct jw out;
	bool strict;
	uint64_t count;
	struct log_limit limit;
	/* A long line being streamed in. */
	unsigned char carry[3];
	size_t ncarry;
	uint64_t long_lineno;
	const char *long_why;
};

/* path may be NULL.  Returns 0, or -1 with e filled when FILE cannot be
 * opened for appending. */
int reject_open(struct reject *rj, const char *path, bool strict, struct sl_err *e);

/* Reject one whole line.  Returns 0 to go on, -1 when --strict says stop. */
int reject_line(struct reject *rj, uint64_t lineno, const char *why,
    const char *raw, size_t n);

/* Reject a line that arrives in chunks (longer than --max-line). */
void reject_long_begin(struct reject *rj, uint64_t lineno, const char *why);
void reject_long_chunk(struct reject *rj, const char *p, size_t n);
int reject_long_end(struct reject *rj, uint64_t total);

/* One NDJSON_LONG chunk (see ndjson.h) of the line numbered lineno: the
 * first chunk of a line begins its reject record, the last (more false)
 * ends it; *open says whether a line is being rejected.  Returns 0, or -1
 * when the line ended and --strict says stop. */
int reject_long_step(struct reject *rj, bool *open, uint64_t lineno,
    const char *why, const char *p, size_t n, bool more, uint64_t total);

/* Write out buffered reject records.  0, or -1 with errno. */
int reject_flush(struct reject *rj);
/* Reopen the file (after logrotate moved it).  0 or -1 with e filled. */
int reject_reopen(struct reject *rj, struct sl_err *e);
/* Flush and close; 0, or -1 when a write failed. */
int reject_close(struct reject *rj);

#endif
