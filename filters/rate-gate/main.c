/*
 * rate-gate - let a record pass when fewer than --limit records with the
 * same key passed within the sliding --window; shared exactly through
 * Redis, or kept in process.
 *
 * Reads NDJSON records on standard input and writes those that pass on
 * standard output, byte for byte (with a "rate" object spliced in under
 * --annotate, for records tagged as exceeding, and for records decided
 * while Redis was unavailable).  Records over the limit are dropped,
 * tagged or diverted to a file (--exceed).  A line that is not a JSON
 * object is rejected with its line number, never dropped silently.
 *
 * Embedded mode decides each record as it is read.  With Redis, records
 * wait in a queue while their decisions travel to the server in one
 * pipelined batch; the batch is sent when it is full or as soon as the
 * input has nothing more ready, so a record of a slow stream never waits
 * for others to arrive, and output keeps the input's order.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "duration.h"
#include "hash.h"
#include "jscan.h"
#include "jw.h"
#include "keytpl.h"
#include "log.h"
#include "ndjson.h"
#include "reject.h"
#include "remote.h"
#include "rfc3339.h"
#include "sig.h"
#include "utf8.h"
#include "window.h"

#define MAX_MEMBERS 256
#define DEFAULT_PREFIX "rate-gate:"
/* A rendered key longer than this goes to Redis as its 128-bit hash. */
#define KEY_MAX 128

enum exceed { EXCEED_DROP, EXCEED_TAG, EXCEED_DIVERT };
enum fail { FAIL_OPEN, FAIL_CLOSED, FAIL_LOCAL };

struct opts {
	long long limit, local_limit, batch;
	int64_t window_ms, timeout_ms;
	const char *key, *redis, *prefix, *divert, *state, *reject;
	enum exceed exceed;
	enum fail fail;
	bool exceed_given, event_clock, annotate, strict, require_redis;
	uint64_t max_line;
};

/* Where a record's bytes are and what splicing "rate" into it needs. */
struct rec {
	size_t len;		/* the line */
	size_t close;		/* offset of the object's closing brace */
	size_t drop_from, drop_to;	/* an existing "rate" member to leave out */
	bool members;		/* members remain besides a dropped "rate" */
	size_t key_len;		/* the rendered key follows the line */
	int64_t t_us;
	uint64_t lineno;
};

/* Records of one Redis call: each record's bytes, then its rendered key,
 * in arena; the Redis keys in rkeys. */
struct pend {
	struct rec *q;
	struct remote_req *req;
	size_t n, cap;
	struct jw arena, rkeys;
	struct remote_batch b;
};

/* A decision, whoever made it. */
struct verdict {
	bool allowed, degraded, known;	/* known: count is meaningful */
	int64_t count, retry_ms;
};

struct state {
	struct opts o;
	struct keytpl kt;
	struct ndjson_reader rd;
	struct jw out, div, key;
	int div_fd;
	struct reject rj;
	struct window win;	/* embedded mode */
	struct window local;	/* --fail local */
	bool have_local;
	struct remote rem;
	bool remote;
	/* Redis mode: records waiting for their decisions, in two batches:
	 * one filling (pend[cur]) while the other may be in flight. */
	struct pend pend[2];
	int cur;
	bool flying;		/* pend[!cur] was sent and not yet written */
	struct jscan_member *mbig;
	size_t nmbig;
	char mid[2][96];	/* see rate_mid() */
	size_t mid_len[2];
	uint64_t lines, allowed, exceeded, degraded, rejected, empty, missing;
	int status;
	bool stop, in_long;
};

static void
usage(FILE *f)
{
	fputs(
"usage: rate-gate -l limit -w window [-aq] [-k template] [-R url] [-p prefix]\n"
"                 [-F open|closed|local] [-e drop|tag|divert] [-d file] [-s file]\n"
"                 [-c wall|event] [-r file] [-M bytes] [-b n] [-t timeout]\n"
"                 [--local-limit n] [--require-redis] [--strict]\n"
"\n"
"Pass a record when fewer than LIMIT records with its key passed within the\n"
"sliding WINDOW; exact across processes when they share a Redis server.\n"
"\n"
"  -l, --limit N            records per key per window (required)\n"
"  -w, --window DURATION    the sliding window: 250ms, 10s, 5m, 2h, 7d (required)\n"
"  -k, --key TEMPLATE       key from dotted fields, e.g. '{rule.id}:{alert.group}'\n"
"                           (default: one key for every record)\n"
"  -R, --redis URL          share the limit through Redis: redis://[[user]:pass@]host[:port][/db]\n"
"                           or unix:///path[?db=N] (default: $REDIS_URL, else in process)\n"
"  -p, --prefix TEXT        prefix of the Redis keys (default \"rate-gate:\")\n"
"  -F, --fail MODE          while Redis is unavailable: open (pass, marked degraded),\n"
"                           closed (treat as exceeding) or local (limit in process)\n"
"      --local-limit N      the limit under --fail local (default: --limit)\n"
"  -t, --redis-timeout D    longest wait for Redis per batch (default 250ms)\n"
"  -b, --batch N            decisions per Redis round trip (default 256)\n"
"      --require-redis      exit 69 when Redis is unreachable at start\n"
"  -e, --exceed ACTION      drop (default), tag (pass with rate.allowed false)\n"
"                           or divert (to --divert FILE)\n"
"  -d, --divert FILE        append exceeding records to FILE (implies -e divert)\n"
"  -a, --annotate           add rate: {key, count, limit, window_s, allowed,\n"
"                           remaining, retry_after_ms} to every record written\n"
"  -s, --state FILE         embedded mode: keep the windows in FILE across restarts\n"
"  -c, --clock CLOCK        wall (default; Redis' clock with Redis) or event (@timestamp)\n"
"  -r, --reject FILE        append rejected lines to FILE as NDJSON\n"
"      --strict             exit 65 at the first rejected line\n"
"  -M, --max-line BYTES     longest line accepted (default 1M)\n"
"  -q, --quiet              no warnings\n"
"  -v, --verbose            more diagnostics\n"
"  -h, --help               this help\n"
"  -V, --version            version\n", f);
}

enum { OPT_STRICT = 256, OPT_LOCAL_LIMIT, OPT_REQUIRE_REDIS };

static const struct option longopts[] = {
	{ "annotate", no_argument, NULL, 'a' },
	{ "batch", required_argument, NULL, 'b' },
	{ "clock", required_argument, NULL, 'c' },
	{ "divert", required_argument, NULL, 'd' },
	{ "exceed", required_argument, NULL, 'e' },
	{ "fail", required_argument, NULL, 'F' },
	{ "help", no_argument, NULL, 'h' },
	{ "key", required_argument, NULL, 'k' },
	{ "limit", required_argument, NULL, 'l' },
	{ "local-limit", required_argument, NULL, OPT_LOCAL_LIMIT },
	{ "max-line", required_argument, NULL, 'M' },
	{ "prefix", required_argument, NULL, 'p' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "redis", required_argument, NULL, 'R' },
	{ "redis-timeout", required_argument, NULL, 't' },
	{ "reject", required_argument, NULL, 'r' },
	{ "require-redis", no_argument, NULL, OPT_REQUIRE_REDIS },
	{ "state", required_argument, NULL, 's' },
	{ "strict", no_argument, NULL, OPT_STRICT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, 'V' },
	{ "window", required_argument, NULL, 'w' },
	{ NULL, 0, NULL, 0 },
};

/* --- output ------------------------------------------------------------- */

/* The constant middle of every rate object, for the limit (0) and for
 * --local-limit (1): ,"limit":L,"window_s":W,"allowed": */
static void
rate_mid(struct state *st)
{
	char w[32];
	int64_t ms = st->o.window_ms;

	if (ms % 1000 == 0) {
		snprintf(w, sizeof(w), "%lld", (long long)(ms / 1000));
	} else {
		/* Milliseconds: three decimals at most, trailing zeros cut. */
		size_t n = (size_t)snprintf(w, sizeof(w), "%lld.%03lld", (long long)(ms / 1000),
		    (long long)(ms % 1000));
		while (w[n - 1] == '0')
			w[--n] = '\0';
	}
	for (int i = 0; i < 2; i++)
		st->mid_len[i] = (size_t)snprintf(st->mid[i], sizeof(st->mid[i]),
		    ",\"limit\":%lld,\"window_s\":%s,\"allowed\":",
		    i ? st->o.local_limit : st->o.limit, w);
}

#define PUT_LIT(o, lit) (memcpy((o), (lit), sizeof(lit) - 1), (o) + sizeof(lit) - 1)

/* Write the record at base as the verdict says; key is its rendered key. */
static void
emit(struct state *st, const char *base, const struct rec *r, const char *key,
    const struct verdict *v)
{
	struct jw *w = &st->out;

	if (v->degraded)
		st->degraded++;
	if (v->allowed) {
		st->allowed++;
	} else {
		st->exceeded++;
		if (st->o.exceed == EXCEED_DROP)
			return;
		if (st->o.exceed == EXCEED_DIVERT)
			w = &st->div;
	}
	/* Plain bytes unless something must be said: --annotate, a tagged
	 * excess, or a record let through while Redis could not decide. */
	if (!st->o.annotate && (v->allowed ? !v->degraded : st->o.exceed != EXCEED_TAG)) {
		jw_bytes(w, base, r->len);
		jw_end(w);
		return;
	}
	/* The record up to its closing brace, less an old "rate", then ours. */
	if (r->drop_to > r->drop_from) {
		jw_bytes(w, base, r->drop_from);
		jw_bytes(w, base + r->drop_to, r->close - r->drop_to);
	} else {
		jw_bytes(w, base, r->close);
	}
	char *o = jw_reserve(w, 6 * r->key_len + 256);
	if (o == NULL)
		return;
	if (r->members)
		*o++ = ',';
	o = PUT_LIT(o, "\"rate\":{\"key\":\"");
	o = jw_escape_to(o, key, r->key_len);
	o = PUT_LIT(o, "\",\"count\":");
	o = v->known ? jw_int_to(o, v->count) : PUT_LIT(o, "null");
	int local = v->degraded && st->o.fail == FAIL_LOCAL;
	long long limit = local ? st->o.local_limit : st->o.limit;
	memcpy(o, st->mid[local], st->mid_len[local]);
	o += st->mid_len[local];
	o = v->allowed ? PUT_LIT(o, "true") : PUT_LIT(o, "false");
	o = PUT_LIT(o, ",\"remaining\":");
	o = v->known ? jw_int_to(o, v->count >= limit ? 0 : limit - v->count) : PUT_LIT(o, "null");
	o = PUT_LIT(o, ",\"retry_after_ms\":");
	o = jw_int_to(o, v->retry_ms);
	if (v->degraded)
		o = PUT_LIT(o, ",\"degraded\":true");
	o = PUT_LIT(o, "}}");
	w->len = (size_t)(o - w->buf);
	jw_end(w);
}

/* --- reading a record ------------------------------------------------ */

static void
reject(struct state *st, uint64_t lineno, const char *why, const char *s, size_t n)
{
	st->rejected++;
	if (reject_line(&st->rj, lineno, why, s, n) != 0) {
		st->status = EXIT_DATAERR;
		st->stop = true;
	}
}

/* Where the "rate" member is, so a new one replaces it. */
static void
find_rate(struct rec *r, const char *s, const struct jscan_member *m, size_t count)
{
	r->drop_from = r->drop_to = 0;
	r->members = count > 0;
	for (size_t i = 0; i < count; i++) {
		if (m[i].klen != 4 || memcmp(m[i].key, "rate", 4) != 0)
			continue;
		r->drop_from = (size_t)(m[i].key - 1 - s);
		r->drop_to = (size_t)(m[i].val + m[i].vlen - s);
		if (i + 1 < count)
			r->drop_to = (size_t)(m[i + 1].key - 1 - s);
		else if (i > 0)
			r->drop_from = (size_t)(m[i - 1].val + m[i - 1].vlen - s);
		r->members = count > 1;
		return;
	}
}

/* Validate s and fill r; render the key into st->key.  Returns the
 * members, or NULL when the line was rejected. */
static const struct jscan_member *
parse(struct state *st, const char *s, size_t n, uint64_t lineno, struct rec *r,
    struct jscan_member *m, size_t *countp)
{
	struct jscan_err e;
	size_t count;

	if (!utf8_valid(s, n)) {
		reject(st, lineno, "not valid UTF-8", s, n);
		return NULL;
	}
	char type = jscan(s, n, m, MAX_MEMBERS, &count, &e);
	if (type != '{') {
		reject(st, lineno, type == 0 ? e.msg : "not a JSON object", s, n);
		return NULL;
	}
	if (count > MAX_MEMBERS) {
		if (count > st->nmbig) {
			struct jscan_member *b = realloc(st->mbig, count * sizeof(*b));
			if (b == NULL) {
				reject(st, lineno, "out of memory", s, n);
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
	r->close = n - 1;
	while (s[r->close] != '}')
		r->close--;
	if (st->o.event_clock) {
		struct jscan_member ts;
		int64_t ms;
		if (!keytpl_get(&st->kt, m, count, "@timestamp", 10, &ts) || ts.type != '"') {
			reject(st, lineno, "no @timestamp string (--clock event)", s, n);
			return NULL;
		}
		if (rfc3339_parse(ts.val + 1, ts.vlen - 2, &ms) != 0) {
			reject(st, lineno, "@timestamp is not an RFC 3339 time with a zone", s, n);
			return NULL;
		}
		r->t_us = ms * 1000;
	}
	jw_reset(&st->key);
	int missing = keytpl_render(&st->kt, m, count, &st->key);
	if (missing < 0) {
		reject(st, lineno, "out of memory", s, n);
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
static int
decide_local(struct state *st, struct window *win, const char *key, size_t n,
    int64_t t_us, struct verdict *v)
{
	struct window_result wr;

	if (window_decide(win, key_hash(key, n), t_us, &wr) != 0)
		return -1;
	v->allowed = wr.allowed;
	v->known = true;
	v->count = wr.count;
	v->retry_ms = (wr.retry_us + 999) / 1000;
	(void)st;
	return 0;
}

/* Embedded mode: decide and write at once. */
static void
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
	if (decide_local(st, &st->win, st->key.buf, st->key.len, r.t_us, &v) != 0) {
		log_error("out of memory");
		st->status = EXIT_SOFTWARE;
		st->stop = true;
		return;
	}
	if (st->o.annotate || (!v.allowed && st->o.exceed == EXCEED_TAG))
		find_rate(&r, s, m, count);
	emit(st, s, &r, st->key.buf, &v);
}

/* --- Redis mode ---------------------------------------------------------- */

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
				if (decide_local(st, &st->local, base + r->len, r->key_len,
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
static void
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

static void
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

/* --- the record loop ---------------------------------------------------- */

static void
stats(struct state *st)
{
	log_error("lines %llu allowed %llu exceeded %llu degraded %llu rejected %llu "
	    "empty %llu missing-key %llu redis-errors %llu reconnects %llu keys %zu",
	    (unsigned long long)st->lines, (unsigned long long)st->allowed,
	    (unsigned long long)st->exceeded, (unsigned long long)st->degraded,
	    (unsigned long long)st->rejected, (unsigned long long)st->empty,
	    (unsigned long long)st->missing, (unsigned long long)st->rem.errors,
	    (unsigned long long)st->rem.reconnects,
	    st->remote ? window_keys(&st->local) : window_keys(&st->win));
}

static void
line(struct state *st, const char *s, size_t n, uint64_t lineno)
{
	st->lines++;
	if (n == 0) {
		st->empty++;
		return;
	}
	if (st->remote)
		record_remote(st, s, n, lineno);
	else
		record_embedded(st, s, n, lineno);
}

/* Write out one writer; false when the program must stop. */
static bool
flush_one(struct state *st, struct jw *w, const char *what)
{
	if (jw_flush(w) == 0)
		return true;
	if (w == &st->out && w->err == EPIPE) {
		st->status = EXIT_PIPE;
	} else {
		log_error("%s: write error: %s", what, strerror(w->err));
		st->status = EXIT_IOERR;
	}
	st->stop = true;
	return false;
}

static bool
flush(struct state *st)
{
	reject_flush(&st->rj);
	if (st->div_fd >= 0 && !flush_one(st, &st->div, st->o.divert))
		return false;
	return flush_one(st, &st->out, "stdout");
}

static int
open_divert(struct state *st)
{
	st->div_fd = open(st->o.divert, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (st->div_fd < 0) {
		log_error("%s: %s", st->o.divert, strerror(errno));
		return -1;
	}
	st->div.fd = st->div_fd;
	return 0;
}

static void
signals(struct state *st)
{
	if (sig_usr1) {
		sig_usr1 = 0;
		stats(st);
	}
	if (sig_hup) {
		struct sl_err e;
		sig_hup = 0;
		if (reject_reopen(&st->rj, &e) != 0)
			log_err(&e);
		if (st->div_fd >= 0) {
			/* logrotate moved the file: write what we hold to the
			 * old one, then start the new one. */
			flush(st);
			close(st->div_fd);
			if (open_divert(st) != 0) {
				st->status = EXIT_IOERR;
				st->stop = true;
			}
		}
	}
	if (sig_term)
		st->stop = true;
}

static void
run(struct state *st)
{
	struct ndjson_reader *r = &st->rd;
	int rc;

	while (!st->stop) {
		switch (ndjson_next(r)) {
		case NDJSON_LINE:
			line(st, r->line, r->len, r->lineno);
			if (st->out.err || st->div.err)
				flush(st);
			break;
		case NDJSON_LONG:
			rc = reject_long_step(&st->rj, &st->in_long, r->lineno,
			    "line longer than --max-line", r->line, r->len, r->more,
			    r->long_total);
			if (!r->more) {
				st->lines++;
				st->rejected++;
			}
			if (rc != 0) {
				st->status = EXIT_DATAERR;
				st->stop = true;
			}
			break;
		case NDJSON_IDLE:
		case NDJSON_TIMEOUT:
			settle(st);
			flush(st);
			break;
		case NDJSON_INTR:
			break;
		case NDJSON_EOF:
			return;
		case NDJSON_ERROR:
			log_error("stdin: read error: %s", strerror(errno));
			st->status = EXIT_IOERR;
			return;
		}
		signals(st);
	}
}

/* --- options ------------------------------------------------------------ */

static int
parse_options(struct state *st, int argc, char **argv)
{
	struct opts *o = &st->o;
	const char *why;
	static const char *const clock_names[] = { "wall", "event", NULL };
	static const char *const exceed_names[] = {	/* in enum exceed's order */
		"drop", "tag", "divert", NULL };
	static const char *const fail_names[] = {	/* in enum fail's order */
		"open", "closed", "local", NULL };
	int c, v, verbosity = LOG_NORMAL;
	bool have_limit = false, have_window = false;

	o->timeout_ms = 250;
	o->batch = 256;
	o->prefix = DEFAULT_PREFIX;
	o->key = "";
	o->max_line = NDJSON_DEFAULT_MAX_LINE;
	while ((c = getopt_long(argc, argv, "ab:c:d:e:F:hk:l:M:p:qR:r:s:t:vVw:", longopts, NULL)) != -1) {
		switch (c) {
		case 'a': o->annotate = true; break;
		case 'b':
			if (cli_number(optarg, 1, 1000, &o->batch, &why) != 0)
				return cli_usage_error("--batch %s: %s (1 to 1000)", optarg, why);
			break;
		case 'c':
			if ((v = cli_choice(optarg, clock_names)) < 0)
				return cli_usage_error("--clock %s: wall or event", optarg);
			o->event_clock = v == 1;
			break;
		case 'd': o->divert = optarg; break;
		case 'e':
			if ((v = cli_choice(optarg, exceed_names)) < 0)
				return cli_usage_error("--exceed %s: drop, tag or divert", optarg);
			o->exceed = (enum exceed)v;
			o->exceed_given = true;
			break;
		case 'F':
			if ((v = cli_choice(optarg, fail_names)) < 0)
				return cli_usage_error("--fail %s: open, closed or local", optarg);
			o->fail = (enum fail)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'k': o->key = optarg; break;
		case 'l':
			if (cli_number(optarg, 1, 100000000, &o->limit, &why) != 0)
				return cli_usage_error("--limit %s: %s (1 to 100000000)", optarg, why);
			have_limit = true;
			break;
		case OPT_LOCAL_LIMIT:
			if (cli_number(optarg, 1, 100000000, &o->local_limit, &why) != 0)
				return cli_usage_error("--local-limit %s: %s (1 to 100000000)", optarg, why);
			break;
		case 'M':
			if (cli_size(optarg, 64, (uint64_t)1 << 30, &o->max_line, &why) != 0)
				return cli_usage_error("--max-line %s: %s (64 bytes to 1G)", optarg, why);
			break;
		case 'p': o->prefix = optarg; break;
		case 'q': verbosity = LOG_QUIET; break;
		case 'R': o->redis = optarg; break;
		case 'r': o->reject = optarg; break;
		case OPT_REQUIRE_REDIS: o->require_redis = true; break;
		case 's': o->state = optarg; break;
		case OPT_STRICT: o->strict = true; break;
		case 't':
			if (duration_parse(optarg, &o->timeout_ms, &why) != 0)
				return cli_usage_error("--redis-timeout %s: %s", optarg, why);
			if (o->timeout_ms < 1 || o->timeout_ms > 60000)
				return cli_usage_error("--redis-timeout %s: 1ms to 1m", optarg);
			break;
		case 'v': verbosity = LOG_VERBOSE; break;
		case 'V':
			cli_version();
			exit(0);
		case 'w':
			if (duration_parse(optarg, &o->window_ms, &why) != 0)
				return cli_usage_error("--window %s: %s", optarg, why);
			if (o->window_ms < 1 || o->window_ms > 366LL * 86400 * 1000)
				return cli_usage_error("--window %s: 1ms to 366d", optarg);
			have_window = true;
			break;
		default:
			return cli_usage_error("unknown or incomplete option");
		}
	}
	log_init(argv[0], verbosity);
	if (optind < argc)
		return cli_usage_error("no operands are taken (records come on stdin): \"%s\"", argv[optind]);
	if (!have_limit || !have_window)
		return cli_usage_error("--limit and --window are required");
	if (o->redis == NULL) {
		const char *env = getenv("REDIS_URL");
		if (env != NULL && *env != '\0')
			o->redis = env;
	}
	if (o->divert != NULL && !o->exceed_given)
		o->exceed = EXCEED_DIVERT;
	if (o->exceed == EXCEED_DIVERT && o->divert == NULL)
		return cli_usage_error("--exceed divert needs --divert FILE");
	if (o->divert != NULL && o->exceed != EXCEED_DIVERT)
		return cli_usage_error("--divert FILE goes with --exceed divert");
	if (o->state != NULL && o->redis != NULL)
		return cli_usage_error("--state keeps the in-process windows; with Redis (--redis or REDIS_URL) they live in Redis");
	if (o->redis == NULL && (o->require_redis || o->local_limit))
		return cli_usage_error("%s needs --redis or REDIS_URL",
		    o->require_redis ? "--require-redis" : "--local-limit");
	if (o->local_limit == 0)
		o->local_limit = o->limit;
	return 0;
}

/* --- start and end ------------------------------------------------------ */

static const char *const fail_desc[] = {
	[FAIL_OPEN] = "records pass marked rate.degraded (--fail open)",
	[FAIL_CLOSED] = "records are treated as exceeding (--fail closed)",
	[FAIL_LOCAL] = "records are limited in this process (--fail local)",
};

static int
open_redis(struct state *st)
{
	struct sl_err e;

	if (remote_init(&st->rem, st->o.redis, (int)st->o.timeout_ms, (uint32_t)st->o.limit,
	    st->o.window_ms * 1000, st->o.event_clock,
	    st->o.annotate || st->o.exceed == EXCEED_TAG, fail_desc[st->o.fail], &e) != 0) {
		log_err(&e);
		return EXIT_CONFIG;
	}
	st->remote = true;
	switch (remote_connect(&st->rem, &e)) {
	case REDIS_UP:
		return 0;
	case REDIS_DENIED:
		log_error("redis %s: %s", st->rem.url.safe, e.msg);
		return EXIT_CONFIG;
	case REDIS_DOWN:
		if (st->o.require_redis) {
			log_error("redis %s: unreachable: %s (--require-redis)", st->rem.url.safe, e.msg);
			return EXIT_UNAVAILABLE;
		}
		break;
	}
	return 0;
}

static void
cleanup(struct state *st)
{
	ndjson_free(&st->rd);
	jw_free(&st->out);
	jw_free(&st->div);
	jw_free(&st->key);
	for (int i = 0; i < 2; i++) {
		jw_free(&st->pend[i].arena);
		jw_free(&st->pend[i].rkeys);
		free(st->pend[i].q);
		free(st->pend[i].req);
	}
	if (st->div_fd >= 0)
		close(st->div_fd);
	keytpl_free(&st->kt);
	window_free(&st->win);
	window_free(&st->local);
	remote_free(&st->rem);
	free(st->mbig);
}

int
main(int argc, char **argv)
{
	struct state st;
	struct sl_err e;
	int rc;

	memset(&st, 0, sizeof(st));
	st.div_fd = -1;
	log_init(argv[0], LOG_NORMAL);
	if ((rc = parse_options(&st, argc, argv)) != 0)
		return rc;
	if (keytpl_compile(&st.kt, st.o.key, &e) != 0) {
		log_error("--key %s: column %u: %s", st.o.key, e.col, e.msg);
		return EXIT_USAGE;
	}
	if (sig_install() != 0 ||
	    ndjson_init(&st.rd, STDIN_FILENO, st.o.max_line) != 0 ||
	    jw_init(&st.out, STDOUT_FILENO) != 0 ||
	    jw_init(&st.div, -1) != 0 || jw_init(&st.key, -1) != 0 ||
	    jw_init(&st.pend[0].arena, -1) != 0 || jw_init(&st.pend[0].rkeys, -1) != 0 ||
	    jw_init(&st.pend[1].arena, -1) != 0 || jw_init(&st.pend[1].rkeys, -1) != 0 ||
	    window_init(&st.win, (uint32_t)st.o.limit, st.o.window_ms * 1000) != 0 ||
	    window_init(&st.local, (uint32_t)st.o.local_limit, st.o.window_ms * 1000) != 0) {
		log_error("cannot start: %s", strerror(errno));
		cleanup(&st);
		return EXIT_SOFTWARE;
	}
	rate_mid(&st);
	if (st.o.redis != NULL && (rc = open_redis(&st)) != 0) {
		cleanup(&st);
		return rc;
	}
	if (st.o.divert != NULL && open_divert(&st) != 0) {
		cleanup(&st);
		return EXIT_IOERR;
	}
	if (reject_open(&st.rj, st.o.reject, st.o.strict, &e) != 0) {
		log_err(&e);
		cleanup(&st);
		return EXIT_IOERR;
	}
	if (st.o.state != NULL) {
		int lr = window_load(&st.win, st.o.state, st.o.event_clock ? "event" : "wall",
		    clock_wall_us(), &e);
		if (lr < 0)
			log_warn("%s: %s; starting with empty windows", st.o.state, e.msg);
	}

	run(&st);

	/* Drain: the batch in flight is decided and written before exit. */
	if (st.status != EXIT_PIPE)
		settle(&st);
	flush(&st);
	if (reject_close(&st.rj) != 0 && st.status == 0) {
		log_error("%s: write error", st.o.reject);
		st.status = EXIT_IOERR;
	}
	if (st.o.state != NULL && window_save(&st.win, st.o.state,
	    st.o.event_clock ? "event" : "wall", &e) != 0) {
		log_err(&e);
		if (st.status == 0)
			st.status = EXIT_IOERR;
	}
	if (log_verbosity() >= LOG_VERBOSE)
		stats(&st);
	cleanup(&st);
	return st.status;
}
