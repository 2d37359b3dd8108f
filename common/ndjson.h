/*
 * ndjson.h - the line reader every filter uses: large-block reads, LF, CRLF
 * and CR line ends, a hard cap on line length, line numbers, and a signal to
 * the caller whenever the input has no more data ready (so it can flush).
 *
 * Ownership: the reader owns its buffer.  A line returned by ndjson_next()
 * points into that buffer and stays valid until the next call.  The line is
 * not NUL-terminated by contract, but the byte after it is writable and is
 * set to NUL, so parsers may rely on a terminator.
 *
 * Invariants:
 *  1. buf[start, end) holds bytes read but not yet returned.
 *  2. lineno counts every line end consumed, so the next line returned has
 *     number lineno + 1, whatever it turns out to be (empty, too long, ...).
 *  3. A line longer than max_line is never split into several lines: it is
 *     returned as NDJSON_LONG chunks, the last one with `more` false, and
 *     the reader's memory stays bounded by max_line plus one block.
 */
#ifndef SLUICE_NDJSON_H
#define SLUICE_NDJSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define NDJSON_DEFAULT_MAX_LINE (1024 * 1024)

enum ndjson_status {
	NDJSON_LINE,	/* a complete line in ->line/->len */
	NDJSON_LONG,	/* a chunk of an over-long line; ->more says if more follow */
	NDJSON_IDLE,	/* no more data ready right now: flush output */
	NDJSON_TIMEOUT,	/* idle for timeout_ms after NDJSON_IDLE */
	NDJSON_INTR,	/* a signal arrived while waiting: check the flags */
	NDJSON_EOF,	/* end of input (a last unterminated line came before) */
	NDJSON_ERROR	/* read error: errno is set */
};

struct ndjson_reader {
	int fd;
	size_t max_line;	/* longest line accepted, without its line end */
	int timeout_ms;		/* wait after NDJSON_IDLE before NDJSON_TIMEOUT; -1 forever */

	/* Output of ndjson_next(). */
	const char *line;
	size_t len;
	uint64_t lineno;	/* number of the line just returned (1-based) */
	bool more;		/* NDJSON_LONG: further chunks of this line follow */
	uint64_t long_total;	/* NDJSON_LONG: bytes of the long line so far */
	/* NDJSON_LINE: the line is known to be ASCII without NUL bytes (found
	 * while looking for its end).  false says only "not known". */
	bool plain;

	/* Private. */
	char *buf;
	size_t cap, start, end;
	size_t scan;		/* bytes of buf[start..] known to hold no line end */
	bool eof, skip_lf, in_long, idle_told, nonblock_hint;
};

/* Set up a reader on fd; max_line 0 means the default.  Returns 0, or -1
 * with errno set when memory is short. */
int ndjson_init(struct ndjson_reader *r, int fd, size_t max_line);

/* Next line or event (see enum ndjson_status).  Never blocks without first
 * returning NDJSON_IDLE once, so a caller that flushes on IDLE never sits on
 * buffered output while waiting for input. */
enum ndjson_status ndjson_next(struct ndjson_reader *r);

/* Start reading another descriptor with the same buffer and settings (the
 * next file operand); line numbers restart at 1. */
void ndjson_reset(struct ndjson_reader *r, int fd);

void ndjson_free(struct ndjson_reader *r);

#endif
