/*
 * feed.h - the input half of every filter's record loop: lines from the
 * NDJSON reader, with what no program can use already dealt with.
 *
 * Each program used to repeat the same steps around ndjson_next(): count
 * the line, skip it if empty, reject it if it holds a NUL byte, is not
 * UTF-8 or is longer than --max-line (streamed into the reject file), and
 * stop under --strict.  feed_next() does them once; a program sees only
 * lines worth decoding, and the reader's idle, timeout and signal events.
 */
#ifndef SLUICE_FEED_H
#define SLUICE_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ndjson.h"
#include "reject.h"

struct feed {
	struct ndjson_reader rd;	/* rd.line, rd.len, rd.lineno: the line */
	struct reject *rj;
	uint64_t lines, empty, rejected;
	bool in_long;			/* a line over --max-line is streaming */
};

enum feed_event {
	FEED_LINE,	/* a non-empty line of UTF-8 without NUL bytes */
	FEED_IDLE,	/* no more input ready: flush (as NDJSON_IDLE) */
	FEED_TIMEOUT,	/* idle for rd.timeout_ms after FEED_IDLE */
	FEED_INTR,	/* a signal arrived while waiting */
	FEED_STRICT,	/* a line was rejected and --strict says stop */
	FEED_EOF,
	FEED_ERROR	/* read error: errno is set */
};

/* Read fd through rj (which must outlive the feed).  0, or -1 with errno
 * when memory is short. */
int feed_init(struct feed *f, int fd, size_t max_line, struct reject *rj);
void feed_free(struct feed *f);

enum feed_event feed_next(struct feed *f);

/* Reject a line the program could not use, counted with the feed's own.
 * Returns 0 to go on, -1 when --strict says stop. */
int feed_reject(struct feed *f, uint64_t lineno, const char *why,
    const char *s, size_t n);

#endif
