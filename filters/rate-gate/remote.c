/*
 * remote.c - the Lua script, its pipelined batches, and reconnection.
 */
#include "remote.h"
#include "clock.h"
#include "log.h"

#include <assert.h>
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
 * One call decides a batch: KEYS are the records' keys in input order.
 * ARGV: limit, window (us), worker id, first sequence number, "wall" or
 * "event", "1" when the retry time is wanted, then under "event" one time
 * (us) per key.  Returns three integers per key: allowed (0/1), the count
 * in the window, and the ms until the next record of the key can pass (0
 * when not wanted).  A member is the time, the worker and a sequence
 * number, so two admissions in the same microsecond, from any processes,
 * are two members.
 *
 * Under "wall" the time is the server's TIME, read once: the call runs
 * atomically, so every decision in it happens at that one instant, and a
 * key that occurs several times in the batch is trimmed, counted and
 * written once (a flood on one key costs little more than one record).
 * Trimming first and counting with ZCARD is cheaper than ZCOUNT: a small
 * sorted set is a listpack, which ZCOUNT scans whole while a trim stops at
 * the first stamp inside the window.  Under "event" each record has its own time, possibly out of order, and
 * is decided in turn: trim, count, admit, exactly as the embedded window.
 *
 * The "#!lua" line (Redis 7) makes the server refuse the whole call up
 * front when it is out of memory or a read-only replica, instead of
 * failing half way; older servers get the same script without it.
 */
static const char SCRIPT[] =
"#!lua\n"
"local limit = tonumber(ARGV[1])\n"
"local w = tonumber(ARGV[2])\n"
"local worker = ARGV[3]\n"
"local seq = tonumber(ARGV[4])\n"
"local want_retry = ARGV[6] == '1'\n"
"local ttl = math.ceil(w / 1000)\n"
"local out = {}\n"
"if ARGV[5] == 'wall' then\n"
"  local now = redis.call('TIME')\n"
"  local t = tonumber(now[1]) * 1000000 + tonumber(now[2])\n"
"  local ts = string.format('%.0f', t)\n"
"  local lo = string.format('%.0f', t - w)\n"
"  local cnt, n0, adds, retry, keys = {}, {}, {}, {}, {}\n"
"  for i = 1, #KEYS do\n"
"    local key = KEYS[i]\n"
"    local n = cnt[key]\n"
"    if n == nil then\n"
"      redis.call('ZREMRANGEBYSCORE', key, '-inf', lo)\n"
"      n = redis.call('ZCARD', key)\n"
"      n0[key] = n\n"
"    end\n"
"    local j = 3 * i\n"
"    if n < limit then\n"
"      n = n + 1\n"
"      local a = adds[key]\n"
"      if a == nil then\n"
"        a = {}\n"
"        adds[key] = a\n"
"        keys[#keys + 1] = key\n"
"      end\n"
"      a[#a + 1] = ts\n"
"      a[#a + 1] = ts .. ':' .. worker .. ':' .. string.format('%.0f', seq + i)\n"
"      out[j - 2] = 1; out[j - 1] = n; out[j] = 0\n"
"    else\n"
"      local r = retry[key]\n"
"      if r == nil then\n"
"        r = 0\n"
"        local k = n - limit\n"
"        if not want_retry then\n"
"        elseif k < n0[key] then\n"
"          local o = redis.call('ZRANGE', key, k, k, 'WITHSCORES')\n"
"          r = math.ceil((tonumber(o[2]) + w - t) / 1000)\n"
"        else\n"
"          r = ttl\n"
"        end\n"
"        retry[key] = r\n"
"      end\n"
"      out[j - 2] = 0; out[j - 1] = n; out[j] = r\n"
"    end\n"
"    cnt[key] = n\n"
"  end\n"
"  for _, key in ipairs(keys) do\n"
"    redis.call('ZADD', key, unpack(adds[key]))\n"
"    redis.call('PEXPIRE', key, ttl)\n"
"  end\n"
"  return out\n"
"end\n"
"for i = 1, #KEYS do\n"
"  local key = KEYS[i]\n"
"  local t = tonumber(ARGV[6 + i])\n"
"  redis.call('ZREMRANGEBYSCORE', key, '-inf', t - w)\n"
"  local n = redis.call('ZCARD', key)\n"
"  local j = 3 * i\n"
"  if n < limit then\n"
"    redis.call('ZADD', key, t, string.format('%.0f:%s:%.0f', t, worker, seq + i))\n"
"    redis.call('PEXPIRE', key, ttl)\n"
"    out[j - 2] = 1; out[j - 1] = n + 1; out[j] = 0\n"
"  else\n"
"    out[j - 2] = 0; out[j - 1] = n; out[j] = 0\n"
"    if want_retry then\n"
"      local o = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')\n"
"      out[j] = math.ceil((tonumber(o[2]) + w - t) / 1000)\n"
"    end\n"
"  end\n"
"end\n"
"return out\n";

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
    int64_t window_us, bool event_clock, bool want_retry, const char *fail_desc,
    struct sl_err *e)
{
	char host[64];

	memset(r, 0, sizeof(*r));
	if (redis_url_parse(url, &r->url, e) != 0)
		return -1;
	r->timeout_ms = timeout_ms;
	r->limit = limit;
	r->w_us = window_us;
	r->event_clock = event_clock;
	r->want_retry = want_retry;
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
		r->next_try_ms = clock_mono_ms() + half + (int64_t)(next_rand(r) % (uint64_t)(half + 1));
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

	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		/* Before Redis 7 a shebang does not compile: drop it. */
		freeReplyObject(rep);
		rep = redisCommand(r->c, "SCRIPT LOAD %s", strchr(SCRIPT, '\n') + 1);
	}

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
remote_connect(struct remote *r, bool say, struct sl_err *e)
{
	enum redis_status st = connect_within(r, r->timeout_ms, e);

	if (st == REDIS_DOWN) {
		r->away = !say;		/* already "said": no message */
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
		int64_t left = deadline - clock_mono_ms();
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

/* EVALSHA sha N key... limit window worker seq clock want-retry [time...] */
static int
append(struct remote *r, struct remote_req *req, size_t n)
{
	size_t argc = 4 + n + 6 + (r->event_clock ? n : 0);
	const char **argv = malloc(argc * sizeof(*argv));
	size_t *len = malloc(argc * sizeof(*len));
	char *times = r->event_clock ? malloc(n * 24) : NULL;
	char nkeys[24], seq[24];
	int rc = -1;

	if (argv == NULL || len == NULL || (r->event_clock && times == NULL))
		goto out;
	size_t a = 0;
	argv[a] = "EVALSHA"; len[a++] = 7;
	argv[a] = r->sha; len[a++] = 40;
	argv[a] = nkeys; len[a++] = (size_t)snprintf(nkeys, sizeof(nkeys), "%zu", n);
	for (size_t i = 0; i < n; i++) {
		argv[a] = req[i].key;
		len[a++] = req[i].key_len;
	}
	argv[a] = r->lim_arg; len[a++] = strlen(r->lim_arg);
	argv[a] = r->win_arg; len[a++] = strlen(r->win_arg);
	argv[a] = r->worker; len[a++] = r->worker_len;
	argv[a] = seq; len[a++] = (size_t)snprintf(seq, sizeof(seq), "%llu",
	    (unsigned long long)r->seq);
	r->seq += n;
	argv[a] = r->event_clock ? "event" : "wall"; len[a++] = r->event_clock ? 5 : 4;
	argv[a] = r->want_retry ? "1" : "0"; len[a++] = 1;
	for (size_t i = 0; r->event_clock && i < n; i++) {
		argv[a] = times + 24 * i;
		len[a++] = (size_t)snprintf(times + 24 * i, 24, "%lld",
		    (long long)req[i].t_us);
	}
	rc = redisAppendCommandArgv(r->c, (int)a, argv, len) == REDIS_OK ? 0 : -1;
out:
	free(argv);
	free(len);
	free(times);
	return rc;
}

/* Forget the connection and every call in flight on it: their replies
 * must never be read as answers to later calls. */
static void
drop(struct remote *r)
{
	for (size_t i = 0; i < r->nfly; i++) {
		r->fly[i]->sent = false;
		freeReplyObject(r->fly[i]->early);
		r->fly[i]->early = NULL;
	}
	r->nfly = 0;
	away(r, true);
}

/* Append and write one call for b.  0, or -1 with r->why. */
static int
write_call(struct remote *r, struct remote_batch *b)
{
	int done = 0;

	set_timeout(r, b->deadline - clock_mono_ms());
	if (append(r, b->req, b->n) != 0) {
		snprintf(r->why, sizeof(r->why), "out of memory");
		return -1;
	}
	while (!done)
		if (redisBufferWrite(r->c, &done) != REDIS_OK) {
			snprintf(r->why, sizeof(r->why), "%s", r->c->errstr);
			return -1;
		}
	return 0;
}

/* Fill b's requests from its reply.  Returns 1 for NOSCRIPT, 0 otherwise
 * (an error reply counts in r->errors and leaves the requests failed). */
static int
take(struct remote *r, struct remote_batch *b, redisReply *rep)
{
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0) {
		freeReplyObject(rep);
		return 1;
	}
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 * b->n) {
		r->errors++;
		b->error = true;
		snprintf(r->why, sizeof(r->why), "%s", rep->type == REDIS_REPLY_ERROR ?
		    rep->str : "unexpected reply to EVALSHA");
		freeReplyObject(rep);
		return 0;
	}
	for (size_t i = 0; i < b->n; i++) {
		redisReply **e = rep->element + 3 * i;
		struct remote_req *q = &b->req[i];
		if (e[0]->type != REDIS_REPLY_INTEGER || e[1]->type != REDIS_REPLY_INTEGER ||
		    e[2]->type != REDIS_REPLY_INTEGER)
			continue;
		q->outcome = e[0]->integer ? REMOTE_ALLOWED : REMOTE_EXCEEDED;
		q->count = e[1]->integer;
		q->retry_ms = e[2]->integer;
	}
	freeReplyObject(rep);
	return 0;
}

void
remote_send(struct remote *r, struct remote_batch *b)
{
	b->deadline = clock_mono_ms() + r->timeout_ms;
	b->sent = b->error = false;
	b->early = NULL;
	for (size_t i = 0; i < b->n; i++)
		b->req[i].outcome = REMOTE_FAILED;
	if (b->n == 0)
		return;
	assert(r->nfly < sizeof(r->fly) / sizeof(r->fly[0]));
	if (r->c == NULL) {
		struct sl_err e;
		if (clock_mono_ms() < r->next_try_ms)
			return;		/* backing off: the caller's --fail decides */
		if (connect_within(r, b->deadline - clock_mono_ms(), &e) != REDIS_UP) {
			r->errors++;
			away(r, true);
			return;
		}
	}
	if (write_call(r, b) != 0) {
		r->errors++;
		drop(r);
		return;
	}
	b->sent = true;
	r->fly[r->nfly++] = b;
}

void
remote_wait(struct remote *r, struct remote_batch *b)
{
	if (!b->sent)
		return;
	assert(r->nfly > 0 && r->fly[0] == b);
	redisReply *rep = b->early ? b->early : reply_by(r, b->deadline);
	b->early = NULL;
	if (rep == NULL) {
		r->errors++;
		drop(r);
		return;
	}
	memmove(r->fly, r->fly + 1, --r->nfly * sizeof(r->fly[0]));
	b->sent = false;
	if (take(r, b, rep) > 0) {
		/* The server lost the script (SCRIPT FLUSH, or a failover):
		 * nothing of the call ran.  Read ahead what the later calls in
		 * flight got, load the script, and send this call once more,
		 * waiting for it. */
		for (size_t i = 0; i < r->nfly; i++)
			if ((r->fly[i]->early = reply_by(r, r->fly[i]->deadline)) == NULL) {
				r->errors++;
				drop(r);
				return;
			}
		set_timeout(r, b->deadline - clock_mono_ms());
		if (load_script(r) != 0 || write_call(r, b) != 0 ||
		    (rep = reply_by(r, b->deadline)) == NULL) {
			r->errors++;
			drop(r);
			return;
		}
		if (take(r, b, rep) > 0) {
			r->errors++;
			b->error = true;
			snprintf(r->why, sizeof(r->why), "NOSCRIPT after loading the script");
		}
	}
	if (b->error)
		away(r, false);
	else
		back(r);
}

void
remote_run(struct remote *r, struct remote_req *req, size_t n)
{
	struct remote_batch b = { .req = req, .n = n };

	remote_send(r, &b);
	remote_wait(r, &b);
}
