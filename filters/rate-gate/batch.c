/*
 * batch.c - Redis mode: records queue with their keys while a batch
 * fills; a full batch is sent and the one before it finished, so the
 * server works while the next is parsed; on idle input everything queued
 * is decided and written, in input order.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "hash.h"
#include "log.h"
#include "rate-gate.h"

/* The Redis key: prefix, then the rendered key (or its hash when long) as
 * the hash tag, so one decision touches one Cluster slot. */
static void
redis_key(struct state *st, struct jw *w, const char *k, size_t n)
{
	jw_bytes(w, st->o.prefix, strlen(st->o.prefix));
	jw_bytes(w, "{", 1);
	if (n <= KEY_MAX && memchr(k, '}', n) == NULL && memchr(k, '{', n) == NULL) {
		jw_bytes(w, k, n);
	} else {
		char hex[32];
		struct hash128 h = hash128_seed(0);
		hash128_update(&h, k, n);
		hash128_hex(h, n, hex);
		jw_bytes(w, "#", 1);
		jw_bytes(w, hex, 32);
	}
	jw_bytes(w, "}", 1);
}

/* Send a batch's call without waiting for it. */
static void
send_batch(struct state *st, struct pend *p)
{
	/* Keys were appended to a growing buffer: point into it only now
	 * that it has stopped moving. */
	size_t koff = 0;
	for (size_t i = 0; i < p->n; i++) {
		p->req[i].key = p->rkeys.buf + koff;
		koff += p->req[i].key_len;
	}
	p->b.req = p->req;
	p->b.n = p->n;
	remote_send(&st->rem, &p->b);
}

/* Wait for a sent batch's answer, then write its records in order, the
 * unanswered ones as --fail says. */
static void
finish_batch(struct state *st, struct pend *p)
{
	size_t roff = 0;

	remote_wait(&st->rem, &p->b);
	for (size_t i = 0; i < p->n; i++) {
		struct rec *r = &p->q[i];
		struct remote_req *q = &p->req[i];
		const char *base = p->arena.buf + roff;
		struct verdict v = { 0 };
		roff += r->len + r->key_len;
		if (q->outcome != REMOTE_FAILED) {
			v.allowed = q->outcome == REMOTE_ALLOWED;
			v.known = true;
			v.count = q->count;
			v.retry_ms = q->retry_ms;
		} else {
			v.degraded = true;
			switch (st->o.fail) {
			case FAIL_OPEN:
				v.allowed = true;
				break;
			case FAIL_CLOSED:
				v.allowed = false;
				break;
			case FAIL_LOCAL:
				if (decide_local(&st->local, base + r->len, r->key_len,
				    st->o.event_clock ? r->t_us : clock_wall_us(), &v) != 0) {
					log_error("out of memory");
					st->status = EXIT_SOFTWARE;
					st->stop = true;
					v.allowed = true;
				}
				break;
			}
		}
		emit(st, base, r, base + r->len, &v);
	}
	p->n = 0;
	jw_reset(&p->arena);
	jw_reset(&p->rkeys);
}

/* A full batch: send it, then write the one sent before it (the server
 * works on the new one meanwhile), and start filling the other buffer. */
static void
launch(struct state *st)
{
	send_batch(st, &st->pend[st->cur]);
	if (st->flying)
		finish_batch(st, &st->pend[!st->cur]);
	st->flying = true;
	st->cur = !st->cur;
}

/* Decide and write every record read so far (input idle, or the end). */
void
settle(struct state *st)
{
	if (st->flying) {
		finish_batch(st, &st->pend[!st->cur]);
		st->flying = false;
	}
	struct pend *p = &st->pend[st->cur];
	if (p->n > 0) {
		send_batch(st, p);
		finish_batch(st, p);
	}
}

void
record_remote(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	struct jscan_member mstack[MAX_MEMBERS];
	const struct jscan_member *m;
	struct pend *p = &st->pend[st->cur];
	struct rec r;
	size_t count;

	if ((m = parse(st, s, n, lineno, &r, mstack, &count)) == NULL)
		return;
	find_rate(&r, s, m, count);
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct rec *q = realloc(p->q, cap * sizeof(*q));
		struct remote_req *rq = q ? realloc(p->req, cap * sizeof(*rq)) : NULL;
		if (q != NULL)
			p->q = q;
		if (rq == NULL) {
			log_error("out of memory");
			st->status = EXIT_SOFTWARE;
			st->stop = true;
			return;
		}
		p->req = rq;
		p->cap = cap;
	}
	size_t before = p->rkeys.len;
	redis_key(st, &p->rkeys, st->key.buf, st->key.len);
	jw_bytes(&p->arena, s, n);
	jw_bytes(&p->arena, st->key.buf, st->key.len);
	if (p->arena.err || p->rkeys.err) {
		log_error("out of memory");
		st->status = EXIT_SOFTWARE;
		st->stop = true;
		return;
	}
	p->q[p->n] = r;
	p->req[p->n].key_len = p->rkeys.len - before;
	p->req[p->n].t_us = r.t_us;
	p->n++;
	if (p->n >= (size_t)st->o.batch)
		launch(st);
}
