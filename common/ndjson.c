/*
 * ndjson.c - the line reader: large-block reads, LF/CRLF/CR line ends,
 * bounded line length, and an idle signal before any blocking wait.
 *
 * Finding the end of a line means finding the first LF or CR.  Scanning
 * byte by byte costs more than everything else the reader does, and two
 * memchr() calls per line would rescan the whole buffer for a CR that a
 * LF-only file never has.  So each of the two bytes keeps a small cache:
 * where its next occurrence is, or how far the buffer is known to hold
 * none.  Each byte of input is then searched at most once per character.
 */
#include "ndjson.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (256 * 1024)

int
ndjson_init(struct ndjson_reader *r, int fd, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max_line = max_line ? max_line : NDJSON_DEFAULT_MAX_LINE;
	r->timeout_ms = -1;
	r->cap = r->max_line + BLOCK + 1;
	/* Zeroed, not just allocated: vector code searching a line (PCRE2's
	 * JIT among it) may load whole words past the line's end, and those
	 * bytes must be initialised for valgrind to keep quiet about it. */
	r->buf = calloc(1, r->cap);
	return r->buf == NULL ? -1 : 0;
}

static void
forget(struct ndjson_reader *r)
{
	memset(&r->lf, 0, sizeof(r->lf));
	memset(&r->cr, 0, sizeof(r->cr));
}

void
ndjson_reset(struct ndjson_reader *r, int fd)
{
	r->fd = fd;
	r->start = r->end = r->scan = 0;
	r->lineno = 0;
	r->eof = r->skip_lf = r->in_long = r->idle_told = false;
	forget(r);
}

void
ndjson_free(struct ndjson_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

static size_t
find(const char *buf, size_t end, struct ndjson_nextc *n, size_t cur, int c)
{
	const char *p;
	size_t from;

	if (n->found && n->pos >= cur)
		return n->pos;
	from = (!n->found && n->upto > cur) ? n->upto : cur;
	if (from < end && (p = memchr(buf + from, c, end - from)) != NULL) {
		n->found = true;
		n->pos = (size_t)(p - buf);
		return n->pos;
	}
	n->found = false;
	n->upto = end;
	return SIZE_MAX;
}


enum ndjson_status
ndjson_next(struct ndjson_reader *r)
{
	for (;;) {
		if (r->skip_lf && r->start < r->end) {
			if (r->buf[r->start] == '\n')
				r->start++;
			r->skip_lf = false;
		}

		size_t cur = r->start + r->scan;
		size_t lf = find(r->buf, r->end, &r->lf, cur, '\n');
		size_t cr = find(r->buf, r->end, &r->cr, cur, '\r');
		size_t eol = lf < cr ? lf : cr;

		if (eol != SIZE_MAX) {
			size_t len = eol - r->start;
			r->line = r->buf + r->start;
			r->len = len;
			r->start = eol + 1;
			r->scan = 0;
			if (r->buf[eol] == '\r') {
				if (r->start < r->end) {
					if (r->buf[r->start] == '\n')
						r->start++;
				} else if (!r->eof) {
					r->skip_lf = true;
				}
			}
			r->buf[eol] = '\0';
			if (r->in_long) {
				r->in_long = false;
				r->more = false;
				r->long_total += len;
				return NDJSON_LONG;
			}
			r->lineno++;
			if (len > r->max_line) {
				r->more = false;
				r->long_total = len;
				return NDJSON_LONG;
			}
			return NDJSON_LINE;
		}

		r->scan = r->end - r->start;
		if (r->in_long || r->scan > r->max_line) {
			if (!r->in_long) {
				r->in_long = true;
				r->lineno++;
				r->long_total = 0;
			}
			if (r->scan > 0) {
				r->line = r->buf + r->start;
				r->len = r->scan;
				r->long_total += r->scan;
				r->more = true;
				r->start = r->end = r->scan = 0;
				forget(r);
				return NDJSON_LONG;
			}
		}

		if (r->eof) {
			if (r->in_long) {
				r->in_long = false;
				r->line = r->buf;
				r->len = 0;
				r->more = false;
				return NDJSON_LONG;
			}
			if (r->start < r->end) {
				r->line = r->buf + r->start;
				r->len = r->end - r->start;
				r->buf[r->end] = '\0';
				r->start = r->end;
				r->scan = 0;
				r->lineno++;
				return NDJSON_LINE;
			}
			return NDJSON_EOF;
		}

		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
			forget(r);
		}

		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		int pr = poll(&pfd, 1, r->idle_told ? r->timeout_ms : 0);
		if (pr < 0) {
			if (errno == EINTR)
				return NDJSON_INTR;
			return NDJSON_ERROR;
		}
		if (pr == 0) {
			if (r->idle_told)
				return NDJSON_TIMEOUT;
			r->idle_told = true;
			return NDJSON_IDLE;
		}

		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
		if (n < 0) {
			if (errno == EINTR)
				return NDJSON_INTR;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return NDJSON_ERROR;
		}
		r->idle_told = false;
		if (n == 0)
			r->eof = true;
		else
			r->end += (size_t)n;
	}
}
