/*
 * ndjson.c - the line reader: large-block reads, LF/CRLF/CR line ends,
 * bounded line length, and an idle signal before any blocking wait.
 *
 * Finding the end of a line means finding the first LF or CR.  Scanning
 * byte by byte costs more than everything else the reader does, so one
 * vector pass (eol_find) looks for both at once, 64 bytes a step while
 * there is none, and notes on the way whether the line held a NUL or a
 * byte over 0x7f: the caller then need not read it again to know it is
 * plain ASCII (ndjson_reader.plain).
 */
#include "ndjson.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

void
ndjson_reset(struct ndjson_reader *r, int fd)
{
	r->fd = fd;
	r->start = r->end = r->scan = 0;
	r->lineno = 0;
	r->eof = r->skip_lf = r->in_long = r->idle_told = false;
}

void
ndjson_free(struct ndjson_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* The first LF or CR in buf[from, end), or SIZE_MAX; *plain says whether
 * the bytes before it (all of them when there is none) are ASCII without
 * NUL. */
static size_t
eol_find(const char *buf, size_t from, size_t end, bool *plain)
{
	const char *p = buf + from, *e = buf + end;
	bool clean = true;
#ifdef __SSE2__
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	const __m128i one = _mm_set1_epi8(1), low = _mm_set1_epi8(0x0e);
	for (;;) {
		/* 64 bytes a step while none is below 0x0e or above 0x7f
		 * (one signed compare): no line end, nothing unplain. */
		for (; e - p >= 64; p += 64) {
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)p);
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
			__m128i c = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
			__m128i d = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
			__m128i x = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(a, low),
			    _mm_cmplt_epi8(b, low)), _mm_or_si128(_mm_cmplt_epi8(c, low),
			    _mm_cmplt_epi8(d, low)));
			if (_mm_movemask_epi8(x) != 0)
				break;
		}
		/* Then 16 a step, exactly, for as many: a NUL or a byte over
		 * 0x7f is below 1 as a signed byte. */
		for (int k = 0; k < 4 && e - p >= 16; k++, p += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, lf),
			    _mm_cmpeq_epi8(x, cr)));
			unsigned bad = (unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(x, one));
			if (m != 0) {
				unsigned at = (unsigned)__builtin_ctz(m);
				*plain = clean && (bad & ((1u << at) - 1)) == 0;
				return (size_t)(p - buf) + at;
			}
			clean = clean && bad == 0;
		}
		if (e - p < 16)
			break;
	}
#endif
	for (; p < e; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n' || c == '\r') {
			*plain = clean;
			return (size_t)(p - buf);
		}
		clean = clean && c != 0 && c < 0x80;
	}
	*plain = clean;
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
		bool plain;
		size_t eol = eol_find(r->buf, cur, r->end, &plain);

		if (eol != SIZE_MAX) {
			size_t len = eol - r->start;
			r->line = r->buf + r->start;
			r->len = len;
			/* Only a line found in one search is known plain. */
			r->plain = plain && r->scan == 0;
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
				r->plain = false;	/* not known */
				return NDJSON_LINE;
			}
			return NDJSON_EOF;
		}

		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->end - r->start);
			r->end -= r->start;
			r->start = 0;
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
