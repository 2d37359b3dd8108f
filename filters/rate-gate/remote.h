/*
 * remote.h - the limit shared through Redis: one Lua script decides each
 * record atomically, pipelined a batch per round trip.
 *
 * The script (see remote.c) counts a key's sorted set in the window,
 * admits the record when the count is below the limit (a unique member
 * scored by the time), trims what left the window and sets the key's
 * expiry to the window, atomically on the server.  One call decides a
 * whole batch, in input order: Redis spends far more on starting a script
 * than on the few commands a decision needs.  Under --clock wall the time
 * is the server's (TIME inside the script), so the clocks of the machines
 * running rate-gate do not matter; under --clock event it is the record's.
 *
 * Failure is part of the contract: no call here waits longer than the
 * timeout given per batch (connect, AUTH, SCRIPT LOAD and the replies
 * share one deadline), a lost connection is retried with capped
 * exponential backoff and jitter, and every record of a batch that gets no
 * answer comes back as REMOTE_FAILED for the caller's --fail policy.
 *
 * Invariants:
 *  1. Answers are matched to records by position in the one reply of a
 *     call, and calls by their order on the connection (fly[]); a call
 *     whose reply did not come in time drops the connection and fails
 *     every call in flight, so a late reply can never be taken for a
 *     later call's.
 *  2. The script is only ever run by its SHA1 (EVALSHA); after NOSCRIPT
 *     (a restarted or flushed server, where nothing of the batch ran) it
 *     is loaded again and the batch sent once more.
 *  3. Keys and members are passed as KEYS/ARGV, never spliced into the
 *     script's text.
 */
#ifndef RATE_GATE_REMOTE_H
#define RATE_GATE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "redis.h"
#include "redisurl.h"

enum remote_outcome { REMOTE_FAILED, REMOTE_ALLOWED, REMOTE_EXCEEDED };

/* One decision of a batch: the caller fills key and t; remote_run()
 * fills the rest. */
struct remote_req {
	const char *key;	/* the Redis key (prefix and hash tag included) */
	size_t key_len;
	int64_t t_us;		/* --clock event: the record's time; else ignored */
	enum remote_outcome outcome;
	int64_t count;		/* admitted records of the key in the window */
	int64_t retry_ms;	/* exceeded, when wanted: when the next one can pass */
};

/* One call: up to --batch requests, sent together, answered together. */
struct remote_batch {
	struct remote_req *req;
	size_t n;
	/* Filled by remote_send() and remote_wait(). */
	int64_t deadline;	/* monotonic ms: no waiting for it after this */
	bool sent;		/* written on the connection, reply not yet read */
	bool error;		/* the server answered with an error */
	struct redisReply *early;	/* its reply, read ahead (NOSCRIPT recovery) */
};

struct remote {
	struct redis_url url;
	redisContext *c;	/* NULL while disconnected */
	char sha[41];
	int timeout_ms;
	uint32_t limit;
	int64_t w_us;
	bool event_clock;
	bool want_retry;	/* compute retry_ms for records over the limit */
	const char *fail_desc;	/* what happens to records meanwhile, for messages */
	char lim_arg[24], win_arg[24];
	char worker[96];	/* host:pid:random, unique per process */
	size_t worker_len;
	uint64_t seq;
	/* Health, for the messages when Redis goes away and comes back. */
	bool away;		/* we have said it is away */
	int64_t next_try_ms;	/* no connection attempt before this */
	int backoff_ms;
	uint64_t errors;	/* failed decisions: timeouts, I/O and error replies */
	uint64_t reconnects;	/* successful connections after the first */
	bool ever_up;
	/* Calls in flight on the connection, oldest first. */
	struct remote_batch *fly[2];
	size_t nfly;
	uint64_t rng;
	char why[600];		/* the last failure */
};

/* Set up (no connection yet).  url is parsed here.  0, or -1 with e. */
int remote_init(struct remote *r, const char *url, int timeout_ms,
    uint32_t limit, int64_t window_us, bool event_clock, bool want_retry,
    const char *fail_desc, struct sl_err *e);
void remote_free(struct remote *r);

/* Connect now (at start).  Returns REDIS_UP, REDIS_DOWN (say: tell the
 * operator that records go by --fail meanwhile; retries follow) or
 * REDIS_DENIED (a wrong password: not worth retrying), with e saying
 * why. */
enum redis_status remote_connect(struct remote *r, bool say, struct sl_err *e);

/* Send b's requests as one call (connecting first when the backoff
 * allows) and return without waiting, so the next batch can be read and
 * parsed while the server works: at most two calls are in flight.  Every
 * request starts as REMOTE_FAILED; one that is never answered stays so. */
void remote_send(struct remote *r, struct remote_batch *b);

/* Wait for the answer to b, the oldest call in flight, until its deadline
 * (--redis-timeout after it was sent).  A timeout or a broken connection
 * fails every call in flight.  Messages for the operator (away / back) go
 * to stderr through log.h. */
void remote_wait(struct remote *r, struct remote_batch *b);

/* remote_send() then remote_wait(): n requests in one round trip. */
void remote_run(struct remote *r, struct remote_req *req, size_t n);

#endif
