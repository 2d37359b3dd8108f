/*
 * window.h - the exact sliding-window limiter kept in process: embedded
 * mode, and the fallback of --fail local.
 *
 * A record with key k at time t is admitted when fewer than `limit`
 * admitted records of k have stamps in (t - W, t].  Records that exceed do
 * not count, so a key never holds more than `limit` stamps: a ring of at
 * most `limit` stamps per key answers exactly, with no approximation and
 * no per-record allocation once a key's ring has grown.
 *
 * Invariants (assert()ed where they are relied on):
 *  1. A key's stamps are sorted ascending in its ring, and there are at
 *     most `limit` of them (ring capacity is a power of two).
 *  2. After window_decide(k, t), k holds no stamp <= t - W (trimmed from
 *     the oldest end, as Redis' ZREMRANGEBYSCORE does in remote mode, so
 *     both modes give the same answers, even for out-of-order stamps).
 *  3. A record is admitted iff fewer than `limit` stamps remain after the
 *     trim; only then is its stamp inserted, in order.
 *  4. A key whose newest stamp is <= now - W can never again affect a
 *     decision at a time >= now, so a sweep may drop it: memory is bounded
 *     by the keys seen within about two windows.
 *
 * Keys are 128-bit hashes of the rendered key (hash.h): two keys colliding
 * would share a window; at 2^-128 per pair that is not a practical risk.
 * Times are microseconds since the epoch.
 */
#ifndef RATE_GATE_WINDOW_H
#define RATE_GATE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "hash.h"

struct wkey {
	uint64_t h0, h1;	/* the key's hash; both 0: an empty slot */
	int64_t *ring;		/* cap stamps; NULL while cap == 1 (then `one`) */
	int64_t one;
	uint32_t head, n, cap;
};

struct window {
	uint32_t limit;
	int64_t w;		/* the window, microseconds */
	struct wkey *slot;
	size_t mask, used;	/* slots - 1; slots in use */
	int64_t now;		/* the latest time decided on */
	int64_t swept;		/* when the last sweep ran */
	uint64_t dropped;	/* idle keys dropped by sweeps */
};

struct window_result {
	bool allowed;
	uint32_t count;		/* admitted records of the key in the window, this one included */
	int64_t retry_us;	/* exceeded: until the oldest counted stamp leaves the window */
};

/* limit >= 1, window_us >= 1.  0, or -1 when memory is short. */
int window_init(struct window *win, uint32_t limit, int64_t window_us);
void window_free(struct window *win);

/* Decide on one record of key h at time t.  0, or -1 when memory is short
 * (r is then not filled). */
int window_decide(struct window *win, struct hash128 h, int64_t t,
    struct window_result *r);

/* Keys currently held. */
static inline size_t
window_keys(const struct window *win)
{
	return win->used;
}

/* --state FILE: write every live key's stamps (a temporary file, fsync,
 * rename: a crash leaves the old file or the new one).  0, or -1 with e
 * filled. */
int window_save(const struct window *win, const char *path, const char *clock,
    struct sl_err *e);

/* Read what window_save() wrote.  Stamps older than now - W are dropped,
 * and at most `limit` newest per key kept.  Returns 1 when loaded, 0 when
 * there is no file, -1 with e filled when the file is not a state file of
 * this clock (the caller warns and starts empty). */
int window_load(struct window *win, const char *path, const char *clock,
    int64_t now, struct sl_err *e);

#endif
