/*
 * remote.c - the Lua script, its pipelined batches, and reconnection.
 */
#include "remote.h"
#include "log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/*
 * KEYS[1]: the key.  ARGV: limit, window (us), time (us; empty: the
 * server's TIME), member suffix (worker:sequence).
 * Returns {allowed 0/1, count in window, retry after (ms)}.
 * A member is the time and the worker's unique suffix, so two admissions
 * in the same microsecond, from any processes, are two members.
 */
static const char SCRIPT[] =
"local key = KEYS[1]\n"
"local limit = tonumber(ARGV[1])\n"
"local w = tonumber(ARGV[2])\n"
"local t\n"
"if ARGV[3] == '' then\n"
"  local now = redis.call('TIME')\n"
"  t = tonumber(now[1]) * 1000000 + tonumber(now[2])\n"
"else\n"
"  t = tonumber(ARGV[3])\n"
"end\n"
"redis.call('ZREMRANGEBYSCORE', key, '-inf', t - w)\n"
"local n = redis.call('ZCARD', key)\n"
"if n < limit then\n"
"  redis.call('ZADD', key, t, string.format('%.0f', t) .. ':' .. ARGV[4])\n"
"  redis.call('PEXPIRE', key, math.ceil(w / 1000))\n"
"  return {1, n + 1, 0}\n"
"end\n"
"local oldest = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')\n"
"return {0, n, math.ceil((tonumber(oldest[2]) + w - t) / 1000)}\n";

static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
next_rand(struct remote *r)
{
	/* xorshift64*: jitter only, not security. */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545f4914f6cdd1dULL;
}

int
remote_init(struct remote *r, const char *url, int timeout_ms, uint32_t limit,
    int64_t window_us, bool event_clock, const char *fail_desc, struct sl_err *e)
{
	char host[64];

	memset(r, 0, sizeof(*r));
	if (redis_url_parse(url, &r->url, e) != 0)
		return -1;
	r->timeout_ms = timeout_ms;
	r->limit = limit;
	r->w_us = window_us;
	r->event_clock = event_clock;
	r->fail_desc = fail_desc;
	r->backoff_ms = BACKOFF_MIN_MS;
	snprintf(r->lim_arg, sizeof(r->lim_arg), "%lu", (unsigned long)limit);
	snprintf(r->win_arg, sizeof(r->win_arg), "%lld", (long long)window_us);
	if (getrandom(&r->rng, sizeof(r->rng), 0) != (ssize_t)sizeof(r->rng))
		r->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	r->rng |= 1;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	r->worker_len = (size_t)snprintf(r->worker, sizeof(r->worker), "%s:%ld:%016llx",
	    host, (long)getpid(), (unsigned long long)next_rand(r));
	if (r->worker_len >= sizeof(r->worker))
		r->worker_len = sizeof(r->worker) - 1;
	return 0;
}

void
remote_free(struct remote *r)
{
	redisFree(r->c);
	redis_url_free(&r->url);
	memset(r, 0, sizeof(*r));
}

static void
set_timeout(struct remote *r, int64_t ms)
{
	if (ms < 1)
		ms = 1;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	redisSetTimeout(r->c, tv);
}

/* Mark Redis away: say so once, and wait a while before trying again. */
static void
away(struct remote *r, bool drop)
{
	if (drop && r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
	if (!r->away)
		log_warn("redis %s: unavailable: %s; %s until it is back", r->url.safe,
		    r->why, r->fail_desc);
	r->away = true;
	if (drop) {
		/* Full jitter in the upper half of the step, so a fleet of
		 * workers does not reconnect in step. */
		int half = r->backoff_ms / 2;
		r->next_try_ms = mono_ms() + half + (int64_t)(next_rand(r) % (uint64_t)(half + 1));
		r->backoff_ms = r->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : r->backoff_ms * 2;
	}
}

static void
back(struct remote *r)
{
	if (r->away)
		log_warn("redis %s: back", r->url.safe);
	r->away = false;
	r->backoff_ms = BACKOFF_MIN_MS;
}

static int
load_script(struct remote *r)
{
	redisReply *rep = redisCommand(r->c, "SCRIPT LOAD %s", SCRIPT);

	if (rep == NULL) {
		snprintf(r->why, sizeof(r->why), "SCRIPT LOAD: %s", r->c->errstr);
		return -1;
	}
	if (rep->type != REDIS_REPLY_STRING || rep->len != 40) {
		snprintf(r->why, sizeof(r->why), "SCRIPT LOAD: %s",
		    rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected reply");
		freeReplyObject(rep);
		return -1;
	}
	memcpy(r->sha, rep->str, 40);
	r->sha[40] = '\0';
	freeReplyObject(rep);
	return 0;
}

/* Connect with every step bounded by ms. */
static enum redis_status
connect_within(struct remote *r, int64_t ms, struct sl_err *e)
{
	enum redis_status st;

	r->c = redis_open(&r->url, (int)(ms < 1 ? 1 : ms), &st, e);
	if (r->c == NULL) {
		snprintf(r->why, sizeof(r->why), "%s", e->msg);
		return st;
	}
	if (load_script(r) != 0) {
		snprintf(e->msg, sizeof(e->msg), "%.500s", r->why);
		redisFree(r->c);
		r->c = NULL;
		return REDIS_DOWN;
	}
	if (r->ever_up)
		r->reconnects++;
	r->ever_up = true;
	return REDIS_UP;
}

enum redis_status
remote_connect(struct remote *r, struct sl_err *e)
{
	enum redis_status st = connect_within(r, r->timeout_ms, e);

	if (st != REDIS_UP) {
		r->away = false;
		away(r, true);
	}
	return st;
}

/* The next reply, waiting until deadline at most.  NULL on a timeout or a
 * broken connection (r->why says which). */
static redisReply *
reply_by(struct remote *r, int64_t deadline)
{
	void *rep = NULL;

	for (;;) {
		if (redisGetReplyFromReader(r->c, &rep) != REDIS_OK) {
			snprintf(r->why, sizeof(r->why), "%s", r->c->errstr);
			return NULL;
		}
		if (rep != NULL)
			return rep;
		int64_t left = deadline - mono_ms();
		if (left <= 0) {
			snprintf(r->why, sizeof(r->why), "no answer within --redis-timeout %d ms",
			    r->timeout_ms);
			return NULL;
		}
		struct pollfd p = { .fd = r->c->fd, .events = POLLIN };
		int pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno != EINTR) {
			snprintf(r->why, sizeof(r->why), "poll: %s", strerror(errno));
			return NULL;
		}
		if (pr > 0 && redisBufferRead(r->c) != REDIS_OK) {
			snprintf(r->why, sizeof(r->why), "%s", r->c->errstr[0] ?
			    r->c->errstr : "connection closed");
			return NULL;
		}
	}
}

static int
append(struct remote *r, struct remote_req *q)
{
	char t[24], member[128];
	size_t tlen = 0;

	if (r->event_clock)
		tlen = (size_t)snprintf(t, sizeof(t), "%lld", (long long)q->t_us);
	size_t mlen = (size_t)snprintf(member, sizeof(member), "%s:%llu", r->worker,
	    (unsigned long long)++r->seq);
	/* EVALSHA sha 1 KEY limit window time member */
	const char *argv[8] = { "EVALSHA", r->sha, "1", q->key, r->lim_arg,
	    r->win_arg, t, member };
	size_t len[8] = { 7, 40, 1, q->key_len, strlen(r->lim_arg),
	    strlen(r->win_arg), tlen, mlen < sizeof(member) ? mlen : sizeof(member) - 1 };
	return redisAppendCommandArgv(r->c, 8, argv, len) == REDIS_OK ? 0 : -1;
}

/* Send the requests idx[0, n) and read their answers.  Returns the number
 * that failed with NOSCRIPT (their indices moved to the front of idx), or
 * -1 when the connection broke (the rest stay REMOTE_FAILED). */
static long
round_trip(struct remote *r, struct remote_req *req, size_t *idx, size_t n,
    int64_t deadline, size_t *errors)
{
	size_t noscript = 0;
	int done = 0;

	set_timeout(r, deadline - mono_ms());
	for (size_t i = 0; i < n; i++)
		if (append(r, &req[idx[i]]) != 0) {
			snprintf(r->why, sizeof(r->why), "out of memory");
			return -1;
		}
	while (!done)
		if (redisBufferWrite(r->c, &done) != REDIS_OK) {
			snprintf(r->why, sizeof(r->why), "%s", r->c->errstr);
			return -1;
		}
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = reply_by(r, deadline);
		struct remote_req *q = &req[idx[i]];
		if (rep == NULL)
			return -1;
		if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
		    rep->element[0]->type == REDIS_REPLY_INTEGER &&
		    rep->element[1]->type == REDIS_REPLY_INTEGER &&
		    rep->element[2]->type == REDIS_REPLY_INTEGER) {
			q->outcome = rep->element[0]->integer ? REMOTE_ALLOWED : REMOTE_EXCEEDED;
			q->count = rep->element[1]->integer;
			q->retry_ms = rep->element[2]->integer;
		} else if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
			idx[noscript++] = idx[i];
		} else {
			(*errors)++;
			snprintf(r->why, sizeof(r->why), "%s", rep->type == REDIS_REPLY_ERROR ?
			    rep->str : "unexpected reply to EVALSHA");
		}
		freeReplyObject(rep);
	}
	return (long)noscript;
}

void
remote_run(struct remote *r, struct remote_req *req, size_t n)
{
	int64_t deadline = mono_ms() + r->timeout_ms;
	size_t errors = 0, *idx;

	for (size_t i = 0; i < n; i++)
		req[i].outcome = REMOTE_FAILED;
	if (n == 0)
		return;
	if (r->c == NULL) {
		struct sl_err e;
		if (mono_ms() < r->next_try_ms)
			return;		/* backing off: the caller's --fail decides */
		if (connect_within(r, deadline - mono_ms(), &e) != REDIS_UP) {
			r->errors++;
			away(r, true);
			return;
		}
	}
	if ((idx = malloc(n * sizeof(*idx))) == NULL) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		r->errors++;
		return;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	long again = round_trip(r, req, idx, n, deadline, &errors);
	if (again > 0) {
		/* The server lost the script (restarted or SCRIPT FLUSH): load
		 * it again and send those once more, in their order. */
		set_timeout(r, deadline - mono_ms());
		if (load_script(r) == 0)
			again = round_trip(r, req, idx, (size_t)again, deadline, &errors);
		if (again > 0) {
			errors += (size_t)again;
			snprintf(r->why, sizeof(r->why), "NOSCRIPT after loading the script");
		}
	}
	free(idx);
	if (again < 0) {
		/* A timeout or a broken connection: replies still on their way
		 * must never be read as answers to later commands. */
		r->errors += errors + 1;
		away(r, true);
		return;
	}
	r->errors += errors;
	if (errors > 0)
		away(r, false);
	else
		back(r);
}
