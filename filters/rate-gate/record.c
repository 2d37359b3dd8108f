/*
 * record.c - one line read: checked (UTF-8, one JSON object, a usable
 * @timestamp under --clock event), its key rendered, and in embedded mode
 * decided by the in-process window.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "hash.h"
#include "rate-gate.h"
#include "rfc3339.h"

/* See rate-gate.h. */
void
reject_rec(struct state *st, uint64_t lineno, const char *why, const char *s, size_t n)
{
	if (feed_reject(&st->in, lineno, why, s, n) != 0) {
		st->status = EXIT_DATAERR;
		st->stop = true;
	}
}

/* Validate s and fill r; render the key into st->key.  Returns the
 * members, or NULL when the line was rejected. */
const struct jscan_member *
parse(struct state *st, const char *s, size_t n, uint64_t lineno, struct rec *r,
    struct jscan_member *m, size_t *countp)
{
	struct jscan_err e;
	size_t count;

	char type = jscan(s, n, m, MAX_MEMBERS, &count, &e);
	if (type != '{') {
		reject_rec(st, lineno, type == 0 ? e.msg : "not a JSON object", s, n);
		return NULL;
	}
	if (count > MAX_MEMBERS) {
		if (count > st->nmbig) {
			struct jscan_member *b = realloc(st->mbig, count * sizeof(*b));
			if (b == NULL) {
				reject_rec(st, lineno, "out of memory", s, n);
				return NULL;
			}
			st->mbig = b;
			st->nmbig = count;
		}
		m = st->mbig;
		jscan(s, n, m, count, &count, &e);
	}
	r->len = n;
	r->lineno = lineno;
	r->t_us = 0;		/* --clock wall: the deciding side stamps it */
	r->close = n - 1;
	while (s[r->close] != '}')
		r->close--;
	if (st->o.event_clock) {
		struct jscan_member ts;
		int64_t ms;
		if (!keytpl_get(&st->kt, m, count, "@timestamp", 10, &ts) || ts.type != '"') {
			reject_rec(st, lineno, "no @timestamp string (--clock event)", s, n);
			return NULL;
		}
		if (rfc3339_parse(ts.val + 1, ts.vlen - 2, &ms) != 0) {
			reject_rec(st, lineno, "@timestamp is not an RFC 3339 time with a zone", s, n);
			return NULL;
		}
		r->t_us = ms * 1000;
	}
	jw_reset(&st->key);
	int missing = keytpl_render(&st->kt, m, count, &st->key);
	if (missing < 0) {
		reject_rec(st, lineno, "out of memory", s, n);
		return NULL;
	}
	if (missing > 0)
		st->missing++;
	r->key_len = st->key.len;
	*countp = count;
	return m;
}

static struct hash128
key_hash(const char *k, size_t n)
{
	struct hash128 h = hash128_seed(0);
	hash128_update(&h, k, n);
	return hash128_final(h, n);
}

/* A decision the local window makes (embedded, or --fail local). */
int
decide_local(struct window *win, const char *key, size_t n, int64_t t_us,
    struct verdict *v)
{
	struct window_result wr;

	if (window_decide(win, key_hash(key, n), t_us, &wr) != 0)
		return -1;
	v->allowed = wr.allowed;
	v->known = true;
	v->count = wr.count;
	v->retry_ms = (wr.retry_us + 999) / 1000;
	return 0;
}

/* Embedded mode: decide and write at once. */
void
record_embedded(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	struct jscan_member mstack[MAX_MEMBERS];
	const struct jscan_member *m;
	struct verdict v = { 0 };
	struct rec r;
	size_t count;

	if ((m = parse(st, s, n, lineno, &r, mstack, &count)) == NULL)
		return;
	if (!st->o.event_clock)
		r.t_us = clock_wall_us();
	if (decide_local(&st->win, st->key.buf, st->key.len, r.t_us, &v) != 0) {
		log_error("out of memory");
		st->status = EXIT_SOFTWARE;
		st->stop = true;
		return;
	}
	if (st->o.annotate || (!v.allowed && st->o.exceed == EXCEED_TAG))
		find_rate(&r, s, m, count);
	emit(st, s, &r, st->key.buf, &v);
}
