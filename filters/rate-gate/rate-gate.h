/*
 * rate-gate.h - what the parts of rate-gate share: its options, the state
 * of a run, and the functions each file offers the others.
 *
 * main.c parses options and runs the record loop; record.c validates a
 * line, renders its key and decides it in process; batch.c queues records
 * for Redis and writes them once decided; output.c writes a record as its
 * verdict says.  All state is in one struct state passed by pointer.
 */
#ifndef RATE_GATE_H
#define RATE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jscan.h"
#include "jw.h"
#include "keytpl.h"
#include "feed.h"
#include "reject.h"
#include "remote.h"
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
	struct feed in;			/* in.lines, in.empty, in.rejected */
	struct jw out, div, key;
	int div_fd;
	struct reject rj;
	struct window win;	/* embedded mode */
	struct window local;	/* --fail local */
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
	uint64_t allowed, exceeded, degraded, missing;
	int status;
	bool stop;
};

/* output.c */

/* Make the constant middle of the rate object, once options are known. */
void rate_mid(struct state *st);
/* Note where r's record (s, members m[0, count)) has a "rate" member, so
 * the one emit() writes replaces it. */
void find_rate(struct rec *r, const char *s, const struct jscan_member *m,
    size_t count);
/* Write the record at base (its rendered key at key) as v says: to
 * stdout, to the divert file, or nowhere; counts it. */
void emit(struct state *st, const char *base, const struct rec *r, const char *key,
    const struct verdict *v);

/* record.c */

/* Count a rejected line and hand it to the reject file (stop under
 * --strict). */
void reject_rec(struct state *st, uint64_t lineno, const char *why, const char *s,
    size_t n);
/* Validate s[0, n) and fill r; render the key into st->key.  Returns the
 * members (m, or a larger array of st's), or NULL when the line was
 * rejected. */
const struct jscan_member *parse(struct state *st, const char *s, size_t n,
    uint64_t lineno, struct rec *r, struct jscan_member *m, size_t *countp);
/* Decide key[0, n) at t_us in win.  0, or -1 when memory is short. */
int decide_local(struct window *win, const char *key, size_t n, int64_t t_us,
    struct verdict *v);
/* Embedded mode: one line, decided and written at once. */
void record_embedded(struct state *st, const char *s, size_t n, uint64_t lineno);

/* batch.c */

/* Redis mode: queue one line; a full batch is sent. */
void record_remote(struct state *st, const char *s, size_t n, uint64_t lineno);
/* Decide and write every queued record (input idle, or the end). */
void settle(struct state *st);

#endif
