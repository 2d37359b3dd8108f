/*
 * feed.c - lines worth a program's attention, from the NDJSON reader.
 */
#include "feed.h"

#include <string.h>

#include "utf8.h"

int
feed_init(struct feed *f, int fd, size_t max_line, struct reject *rj)
{
	memset(f, 0, sizeof(*f));
	f->rj = rj;
	return ndjson_init(&f->rd, fd, max_line);
}

void
feed_free(struct feed *f)
{
	ndjson_free(&f->rd);
}

int
feed_reject(struct feed *f, uint64_t lineno, const char *why, const char *s,
    size_t n)
{
	f->rejected++;
	return reject_line(f->rj, lineno, why, s, n);
}

enum feed_event
feed_next(struct feed *f)
{
	struct ndjson_reader *r = &f->rd;

	for (;;) {
		const char *why = NULL;
		switch (ndjson_next(r)) {
		case NDJSON_LINE:
			f->lines++;
			if (r->len == 0) {
				f->empty++;
				continue;
			}
			if (r->plain)
				why = NULL;	/* the reader checked it on the way */
			else if (memchr(r->line, '\0', r->len) != NULL)
				why = "NUL byte in line";
			else if (!utf8_valid(r->line, r->len))
				why = "not valid UTF-8";
			if (why == NULL)
				return FEED_LINE;
			if (feed_reject(f, r->lineno, why, r->line, r->len) != 0)
				return FEED_STRICT;
			continue;
		case NDJSON_LONG:
			if (!f->in_long) {
				f->lines++;
				f->rejected++;
			}
			if (reject_long_step(f->rj, &f->in_long, r->lineno,
			    "line longer than --max-line", r->line, r->len, r->more,
			    r->long_total) != 0)
				return FEED_STRICT;
			continue;
		case NDJSON_IDLE: return FEED_IDLE;
		case NDJSON_TIMEOUT: return FEED_TIMEOUT;
		case NDJSON_INTR: return FEED_INTR;
		case NDJSON_EOF: return FEED_EOF;
		case NDJSON_ERROR: return FEED_ERROR;
		}
	}
}
