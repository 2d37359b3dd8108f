/*
 * deliver.c - deliveries, their attempts and their records.
 *
 * An attempt is one POST on a reused easy handle: the body is signed at
 * the moment the attempt starts (webhook-timestamp is the attempt's time),
 * and its outcome decides the delivery's fate:
 *
 *   2xx                               success, final
 *   408, 425, 429, 5xx, no response   retry after a backoff, while attempts
 *   (refused, reset, timed out)       remain; else final failure
 *   anything else (3xx, other 4xx),   final failure: not followed, not
 *   an address refused by ssrf.c      retried
 *
 * The backoff is full jitter: before attempt n+1 a delivery waits a random
 * time in [0, min(cap, base * 2^(n-1))], raised to Retry-After (capped) when
 * the receiver sent one.  Each attempt writes one delivery record.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "deliver.h"
#include "rfc3339.h"
#include "utf8.h"

#define RESPONSE_KEEP 512		/* bytes of a response body recorded */
#define RESPONSE_MAX (1 << 20)		/* bytes read before giving up on it */

/* One input record, shared by its deliveries. */
struct record {
	unsigned refs;
	size_t len;
	size_t id_off, id_len;		/* event.id within data, when has_id */
	bool has_id;
	char data[];			/* the line, NUL-terminated */
};

struct delivery {
	struct delivery *next;		/* in its host's queue */
	struct delivery *fprev, *fnext;	/* in flight: the deliverer's list */
	struct config *cfg;		/* held: the webhook lives in it */
	const struct webhook *h;
	struct record *rec;
	char *body;			/* chat formats; NULL: rec->data */
	size_t body_len;
	char id[DELIVERY_ID_LEN + 1];
	int attempts;			/* made so far */
	int64_t due_ms;			/* wall clock: when a retry may start */
	/* The attempt in flight. */
	struct deliverer *d;
	CURL *easy;
	struct curl_slist *hdrs;
	int64_t start_ms;		/* monotonic */
	int64_t retry_after_ms;		/* -1: none given */
	size_t resp_len, resp_total;
	char resp[RESPONSE_KEEP];
	char refused[96];		/* why ssrf.c refused, or "" */
	char errbuf[CURL_ERROR_SIZE];
};

/* --- small things ----------------------------------------------------- */

static uint64_t
rnd(struct deliverer *d)
{
	/* xorshift64*: jitter needs spread, not secrecy. */
	d->rng ^= d->rng >> 12;
	d->rng ^= d->rng << 25;
	d->rng ^= d->rng >> 27;
	return d->rng * 0x2545F4914F6CDD1DULL;
}

static const char *
now_text(struct deliverer *d, int64_t ms)
{
	rfc3339_format(ms, d->tsbuf);
	d->tsbuf[RFC3339_LEN] = '\0';
	return d->tsbuf;
}

static void
record_unref(struct record *r)
{
	if (--r->refs == 0)
		free(r);
}

static void
delivery_free(struct delivery *dv)
{
	record_unref(dv->rec);
	config_unref(dv->cfg);
	free(dv->body);
	free(dv);
}

/* --- the retry heap ----------------------------------------------------- */

static void
heap_swap(struct delivery **a, size_t i, size_t j)
{
	struct delivery *t = a[i];
	a[i] = a[j];
	a[j] = t;
}

static int
heap_push(struct deliverer *d, struct delivery *dv)
{
	if (d->nheap == d->heapcap) {
		size_t cap = d->heapcap ? d->heapcap * 2 : 64;
		struct delivery **h = realloc(d->heap, cap * sizeof(*h));
		if (h == NULL)
			return -1;
		d->heap = h;
		d->heapcap = cap;
	}
	size_t i = d->nheap++;
	d->heap[i] = dv;
	while (i > 0 && d->heap[(i - 1) / 2]->due_ms > d->heap[i]->due_ms) {
		heap_swap(d->heap, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct delivery *
heap_pop(struct deliverer *d)
{
	struct delivery *top = d->heap[0];
	size_t i = 0;

	d->heap[0] = d->heap[--d->nheap];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < d->nheap && d->heap[l]->due_ms < d->heap[m]->due_ms)
			m = l;
		if (r < d->nheap && d->heap[r]->due_ms < d->heap[m]->due_ms)
			m = r;
		if (m == i)
			break;
		heap_swap(d->heap, i, m);
		i = m;
	}
	return top;
}

/* --- delivery records ------------------------------------------------- */

enum outcome { OK, RETRY, FAIL };

static void
write_record(struct deliverer *d, struct delivery *dv, bool final, bool success,
    long status, int64_t latency_ms, const char *error, int64_t next_ms,
    bool responded)
{
	struct jw *w = d->out;
	const struct record *r = dv->rec;

	jw_obj_open(w);
	JW_KEY_LIT(w, "@timestamp");
	jw_str_plain(w, now_text(d, clock_wall_ms()), RFC3339_LEN);
	JW_KEY_LIT(w, "event");
	jw_obj_open(w);
	JW_KEY_LIT(w, "kind");
	jw_str_plain(w, "delivery", 8);
	jw_obj_close(w);
	JW_KEY_LIT(w, "delivery");
	jw_obj_open(w);
	JW_KEY_LIT(w, "id");
	jw_str_plain(w, dv->id, DELIVERY_ID_LEN);
	JW_KEY_LIT(w, "webhook");
	jw_strz(w, dv->h->name);
	JW_KEY_LIT(w, "url");
	jw_strz(w, dv->h->url);
	JW_KEY_LIT(w, "event_id");
	if (r->has_id)
		jw_str(w, r->data + r->id_off, r->id_len);
	else
		jw_null(w);
	JW_KEY_LIT(w, "attempt");
	jw_int(w, dv->attempts);
	JW_KEY_LIT(w, "final");
	jw_bool(w, final);
	JW_KEY_LIT(w, "success");
	jw_bool(w, success);
	JW_KEY_LIT(w, "status");
	if (status > 0)
		jw_int(w, status);
	else
		jw_null(w);
	JW_KEY_LIT(w, "latency_ms");
	jw_int(w, latency_ms);
	JW_KEY_LIT(w, "error");
	if (error != NULL)
		jw_strz(w, error);
	else
		jw_null(w);
	if (!final) {
		JW_KEY_LIT(w, "next_retry");
		jw_str_plain(w, now_text(d, next_ms), RFC3339_LEN);
	}
	JW_KEY_LIT(w, "response");
	if (responded)
		jw_str(w, dv->resp, utf8_valid_prefix(dv->resp, dv->resp_len));
	else
		jw_null(w);
	if (final && !success) {
		JW_KEY_LIT(w, "payload");
		jw_raw(w, r->data, r->len);
	}
	jw_obj_close(w);
	jw_obj_close(w);
	jw_end(w);
}

/* A delivery that will not be attempted again because the program is
 * ending: one record for the attempt that will not happen. */
static void
abandon(struct deliverer *d, struct delivery *dv)
{
	dv->attempts++;
	dv->resp_len = 0;
	write_record(d, dv, true, false, 0, 0, "shutdown", 0, false);
	d->st.failed++;
	delivery_free(dv);
}

/* --- queues ------------------------------------------------------------- */

static void
enqueue(struct deliverer *d, struct delivery *dv)
{
	struct host *ho = &d->hosts[dv->h->host];
	dv->next = NULL;
	if (ho->tail != NULL)
		ho->tail->next = dv;
	else
		ho->head = dv;
	ho->tail = dv;
	d->queued++;
}

static struct delivery *
dequeue(struct deliverer *d, struct host *ho)
{
	struct delivery *dv = ho->head;
	if ((ho->head = dv->next) == NULL)
		ho->tail = NULL;
	d->queued--;
	return dv;
}

int
deliver_attach(struct deliverer *d, struct config *c)
{
	for (size_t i = 0; i < c->nhooks; i++) {
		struct webhook *h = &c->hooks[i];
		size_t j;
		for (j = 0; j < d->nhosts && strcmp(d->hosts[j].origin, h->origin) != 0; j++)
			;
		if (j == d->nhosts) {
			struct host *n = realloc(d->hosts, (d->nhosts + 1) * sizeof(*n));
			if (n == NULL)
				return -1;
			d->hosts = n;
			memset(&n[j], 0, sizeof(n[j]));
			if ((n[j].origin = strdup(h->origin)) == NULL)
				return -1;
			d->nhosts++;
		}
		h->host = (unsigned)j;
	}
	return 0;
}

/* --- dry run ------------------------------------------------------------ */

static void
write_request(struct deliverer *d, struct delivery *dv, const char *body, size_t n)
{
	struct jw *w = d->out;
	int64_t ts = clock_wall_ms() / 1000;
	char sig[MAX_SECRETS * (SIGN_ONE_LEN + 1) + 1];
	size_t sn = sign(d->mac, dv->h, dv->id, ts, body, n, sig, sizeof(sig));

	jw_obj_open(w);
	JW_KEY_LIT(w, "request");
	jw_obj_open(w);
	JW_KEY_LIT(w, "webhook");
	jw_strz(w, dv->h->name);
	JW_KEY_LIT(w, "method");
	jw_str_plain(w, "POST", 4);
	JW_KEY_LIT(w, "url");
	jw_strz(w, dv->h->url);
	JW_KEY_LIT(w, "headers");
	jw_obj_open(w);
	JW_KEY_LIT(w, "content-type");
	jw_strz(w, "application/json");
	JW_KEY_LIT(w, "webhook-id");
	jw_str_plain(w, dv->id, DELIVERY_ID_LEN);
	JW_KEY_LIT(w, "webhook-timestamp");
	jw_int(w, ts);
	if (sn > 0) {
		JW_KEY_LIT(w, "webhook-signature");
		jw_str(w, sig, sn);
	}
	for (size_t i = 0; i < dv->h->nheaders; i++) {
		const char *line = dv->h->headers[i].line, *colon = strchr(line, ':');
		jw_key(w, line, (size_t)(colon - line));
		jw_strz(w, colon + 2);
	}
	jw_obj_close(w);
	JW_KEY_LIT(w, "body");
	jw_str(w, body, n);
	jw_obj_close(w);
	jw_obj_close(w);
	jw_end(w);
}

/* --- new deliveries ----------------------------------------------------- */

static struct record *
record_new(const struct config *c, const struct sval *vals, const char *line, size_t n)
{
	struct record *r = malloc(sizeof(*r) + n + 1);
	const struct sval *id = &vals[c->slot[F_EVENT_ID]];

	if (r == NULL)
		return NULL;
	r->refs = 1;
	r->len = n;
	memcpy(r->data, line, n);
	r->data[n] = '\0';
	/* A string id points into the line unless it held escapes (then it
	 * was decoded elsewhere); either way the record keeps its own copy. */
	r->has_id = id->type == '"' || id->type == '0';
	if (r->has_id) {
		if (id->p >= line && id->p + id->len <= line + n) {
			r->id_off = (size_t)(id->p - line);
			r->id_len = id->len;
		} else {
			struct record *g = realloc(r, sizeof(*r) + n + 1 + id->len + 1);
			if (g == NULL) {
				free(r);
				return NULL;
			}
			r = g;
			memcpy(r->data + n + 1, id->p, id->len);
			r->id_off = n + 1;
			r->id_len = id->len;
		}
	}
	return r;
}

void
deliver_record(struct deliverer *d, struct config *c, const struct sval *vals,
    const char *line, size_t n)
{
	struct record *r = NULL;

	for (size_t i = 0; i < c->nhooks; i++) {
		const struct webhook *h = &c->hooks[i];
		struct delivery *dv;
		if (!h->enabled || (h->events != NULL &&
		    !select_match(h->events, (struct sval *)vals)))
			continue;
		if (r == NULL && (r = record_new(c, vals, line, n)) == NULL)
			goto nomem;
		if ((dv = calloc(1, sizeof(*dv))) == NULL)
			goto nomem;
		dv->d = d;
		dv->h = h;
		dv->cfg = c;
		c->refs++;
		dv->rec = r;
		r->refs++;
		if (r->has_id)
			delivery_id(r->data + r->id_off, r->id_len, h->name, dv->id);
		else
			delivery_id(line, n, h->name, dv->id);
		dv->id[DELIVERY_ID_LEN] = '\0';
		if (h->format != FMT_STANDARD) {
			body_build(c, h, vals, line, n, &d->body);
			if ((dv->body = malloc(d->body.len + 1)) == NULL) {
				delivery_free(dv);
				goto nomem;
			}
			memcpy(dv->body, d->body.buf, d->body.len);
			dv->body_len = d->body.len;
		}
		d->st.deliveries++;
		if (d->dry_run) {
			write_request(d, dv, dv->body ? dv->body : r->data,
			    dv->body ? dv->body_len : r->len);
			delivery_free(dv);
			continue;
		}
		enqueue(d, dv);
	}
	if (r != NULL)
		record_unref(r);
	return;
nomem:
	/* Out of memory: say so rather than lose the record silently. */
	fprintf(stderr, "%s: out of memory: a record was not delivered\n", "webhook-send");
	if (r != NULL)
		record_unref(r);
}

/* --- one attempt ------------------------------------------------------ */

static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct delivery *dv = clientp;
	const char *why;

	(void)purpose;
	if (!dv->h->allow_private && !dv->d->allow_private &&
	    (why = ssrf_forbidden(&a->addr)) != NULL) {
		char ip[INET6_ADDRSTRLEN] = "?";
		const void *p = a->family == AF_INET6 ?
		    (const void *)&((const struct sockaddr_in6 *)(const void *)&a->addr)->sin6_addr :
		    (const void *)&((const struct sockaddr_in *)(const void *)&a->addr)->sin_addr;
		inet_ntop(a->family, p, ip, sizeof(ip));
		snprintf(dv->refused, sizeof(dv->refused),
		    "refused: %s is a %s address (allow_private allows it)", ip, why);
		return CURL_SOCKET_BAD;
	}
	/* A name with several addresses: one refused, the next allowed.  What
	 * happens on the allowed one decides (a failure there is retried). */
	dv->refused[0] = '\0';
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *clientp)
{
	struct delivery *dv = clientp;
	size_t n = size * nmemb;

	if (dv->resp_len < RESPONSE_KEEP) {
		size_t k = RESPONSE_KEEP - dv->resp_len < n ? RESPONSE_KEEP - dv->resp_len : n;
		memcpy(dv->resp + dv->resp_len, p, k);
		dv->resp_len += k;
	}
	dv->resp_total += n;
	return dv->resp_total > RESPONSE_MAX ? 0 : n;	/* 0: stop reading */
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *clientp)
{
	struct delivery *dv = clientp;
	size_t n = size * nmemb;

	if (n > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		char v[64];
		size_t k = n - 12 < sizeof(v) - 1 ? n - 12 : sizeof(v) - 1;
		memcpy(v, p + 12, k);
		v[k] = '\0';
		char *s = v + strspn(v, " \t"), *end;
		s[strcspn(s, "\r\n")] = '\0';
		long secs = strtol(s, &end, 10);
		if (end != s && *end == '\0' && secs >= 0) {
			dv->retry_after_ms = (int64_t)secs * 1000;
		} else {
			time_t t = curl_getdate(s, NULL);
			if (t >= 0) {
				int64_t ms = (int64_t)t * 1000 - clock_wall_ms();
				dv->retry_after_ms = ms > 0 ? ms : 0;
			}
		}
	}
	return n;
}

static int
add_header(struct delivery *dv, const char *line)
{
	struct curl_slist *s = curl_slist_append(dv->hdrs, line);
	if (s == NULL)
		return -1;
	dv->hdrs = s;
	return 0;
}

static int
start(struct deliverer *d, struct delivery *dv)
{
	const struct webhook *h = dv->h;
	const char *body = dv->body ? dv->body : dv->rec->data;
	size_t n = dv->body ? dv->body_len : dv->rec->len;
	int64_t ts = clock_wall_ms() / 1000;
	char line[64 + MAX_SECRETS * (SIGN_ONE_LEN + 1)];
	CURL *e;

	dv->attempts++;
	dv->resp_len = dv->resp_total = 0;
	dv->retry_after_ms = -1;
	dv->refused[0] = dv->errbuf[0] = '\0';
	if (d->nidle > 0) {
		e = d->idle[--d->nidle];
		curl_easy_reset(e);
	} else if ((e = curl_easy_init()) == NULL) {
		return -1;
	}
	dv->easy = e;
	snprintf(line, sizeof(line), "webhook-id: %s", dv->id);
	if (add_header(dv, "Content-Type: application/json") != 0 ||
	    add_header(dv, "Expect:") != 0 || add_header(dv, line) != 0)
		return -1;
	snprintf(line, sizeof(line), "webhook-timestamp: %lld", (long long)ts);
	if (add_header(dv, line) != 0)
		return -1;
	if (h->nsecrets > 0) {
		memcpy(line, "webhook-signature: ", 19);
		if (sign(d->mac, h, dv->id, ts, body, n, line + 19, sizeof(line) - 19) == 0 ||
		    add_header(dv, line) != 0)
			return -1;
	}
	for (size_t i = 0; i < h->nheaders; i++)
		if (add_header(dv, h->headers[i].line) != 0)
			return -1;
	curl_easy_setopt(e, CURLOPT_URL, h->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, dv);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, dv->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "sluice-webhook-send/" SLUICE_VERSION);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");	/* the check is on the receiver's address */
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)h->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, dv);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, dv);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, dv);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, dv->errbuf);
	dv->start_ms = clock_mono_ms();
	if (curl_multi_add_handle(d->multi, e) != CURLM_OK)
		return -1;
	dv->fprev = NULL;
	if ((dv->fnext = d->flying) != NULL)
		dv->fnext->fprev = dv;
	d->flying = dv;
	d->inflight++;
	d->hosts[h->host].inflight++;
	d->st.attempts++;
	return 0;
}

static void
release_easy(struct deliverer *d, struct delivery *dv)
{
	if (dv->easy != NULL) {
		if (d->nidle < d->concurrency)
			d->idle[d->nidle++] = dv->easy;
		else
			curl_easy_cleanup(dv->easy);
		dv->easy = NULL;
	}
	curl_slist_free_all(dv->hdrs);
	dv->hdrs = NULL;
}

static bool
retryable_status(long s)
{
	return s == 408 || s == 425 || s == 429 || (s >= 500 && s <= 599);
}

static bool
retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_WRITE_ERROR:		/* our own write callback failed */
		return false;
	default:
		return true;
	}
}

/* The wait before the next attempt (full jitter, Retry-After honoured). */
static int64_t
backoff(struct deliverer *d, const struct delivery *dv)
{
	const struct webhook *h = dv->h;
	int64_t ceil = h->backoff_base_ms;

	for (int i = 1; i < dv->attempts && ceil < h->backoff_cap_ms; i++)
		ceil *= 2;
	if (ceil > h->backoff_cap_ms)
		ceil = h->backoff_cap_ms;
	int64_t wait = (int64_t)(rnd(d) % (uint64_t)(ceil + 1));
	if (dv->retry_after_ms > wait)
		wait = dv->retry_after_ms < h->backoff_cap_ms ? dv->retry_after_ms : h->backoff_cap_ms;
	return wait;
}

static void
finish(struct deliverer *d, struct delivery *dv, CURLcode rc)
{
	long status = 0;
	int64_t latency = clock_mono_ms() - dv->start_ms;
	char error[CURL_ERROR_SIZE + 64];
	enum outcome out;
	bool responded = false;

	curl_easy_getinfo(dv->easy, CURLINFO_RESPONSE_CODE, &status);
	/* A response body over RESPONSE_MAX stops the reading, not the answer:
	 * the status line had come, and it decides. */
	if (rc == CURLE_WRITE_ERROR && dv->resp_total > RESPONSE_MAX && status >= 100)
		rc = CURLE_OK;
	if (rc == CURLE_OK && status >= 200 && status <= 299) {
		out = OK;
		responded = true;
	} else if (rc == CURLE_OK) {
		responded = true;
		out = retryable_status(status) ? RETRY : FAIL;
		snprintf(error, sizeof(error), "HTTP %ld%s", status,
		    status >= 300 && status <= 399 ? " (redirects are not followed)" : "");
	} else if (dv->refused[0] != '\0') {
		out = FAIL;
		status = 0;
		snprintf(error, sizeof(error), "%s", dv->refused);
		d->st.refused++;
	} else {
		out = retryable_curl(rc) ? RETRY : FAIL;
		status = 0;
		snprintf(error, sizeof(error), "%s", dv->errbuf[0] ? dv->errbuf : curl_easy_strerror(rc));
	}
	curl_multi_remove_handle(d->multi, dv->easy);
	release_easy(d, dv);
	if (dv->fprev != NULL)
		dv->fprev->fnext = dv->fnext;
	else
		d->flying = dv->fnext;
	if (dv->fnext != NULL)
		dv->fnext->fprev = dv->fprev;
	d->inflight--;
	d->hosts[dv->h->host].inflight--;

	if (out == RETRY && dv->attempts > dv->h->retry_count)
		out = FAIL;
	if (out == RETRY) {
		int64_t now = clock_wall_ms();
		dv->due_ms = now + backoff(d, dv);
		if (d->ending && dv->due_ms > d->end_ms) {
			write_record(d, dv, true, false, status, latency, "shutdown", 0, responded);
			d->st.failed++;
			delivery_free(dv);
			return;
		}
		if (heap_push(d, dv) == 0) {
			write_record(d, dv, false, false, status, latency, error, dv->due_ms, responded);
			d->st.retries++;
			return;
		}
		out = FAIL;	/* no memory to hold it: fail it now, with payload */
	}
	write_record(d, dv, true, out == OK, status, latency, out == OK ? NULL : error,
	    0, responded);
	if (out == OK)
		d->st.delivered++;
	else
		d->st.failed++;
	delivery_free(dv);
}

static void
start_failed(struct deliverer *d, struct delivery *dv)
{
	release_easy(d, dv);
	write_record(d, dv, true, false, 0, 0, "cannot start the request (out of memory)", 0, false);
	d->st.failed++;
	delivery_free(dv);
}

/* --- the steps ---------------------------------------------------------- */

/* Has host ho work waiting and room under --per-host to start it? */
static inline bool
host_ready(const struct deliverer *d, const struct host *ho)
{
	return ho->head != NULL && ho->inflight < d->per_host;
}

static void
start_ready(struct deliverer *d)
{
	int64_t now = clock_wall_ms();

	while (d->nheap > 0 && d->heap[0]->due_ms <= now)
		enqueue(d, heap_pop(d));
	/* Round-robin over the hosts with work, one start per host per turn. */
	while (d->inflight < d->concurrency && d->queued > 0) {
		bool started = false;
		for (size_t k = 0; k < d->nhosts && d->inflight < d->concurrency; k++) {
			struct host *ho = &d->hosts[(d->rr + k) % d->nhosts];
			if (!host_ready(d, ho))
				continue;
			struct delivery *dv = dequeue(d, ho);
			if (start(d, dv) != 0)
				start_failed(d, dv);
			started = true;
		}
		d->rr = (d->rr + 1) % (d->nhosts ? d->nhosts : 1);
		if (!started)
			break;
	}
}

void
deliver_step(struct deliverer *d)
{
	int running, left, done;
	CURLMsg *m;

	/* A transfer started on a reused connection to a fast server can
	 * finish inside the same curl_multi_perform: go round until a pass
	 * finishes nothing, so the freed slot is refilled now, not after the
	 * next poll times out. */
	do {
		start_ready(d);
		curl_multi_perform(d->multi, &running);
		done = 0;
		while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
			struct delivery *dv = NULL;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&dv);
			finish(d, dv, m->data.result);
			done++;
		}
	} while (done > 0);
}

/* Could a queued delivery start now?  Not when its host is at --per-host:
 * then only a finishing transfer frees a slot, and the poll waits for it. */
static bool
can_start(const struct deliverer *d)
{
	if (d->queued == 0 || d->inflight >= d->concurrency)
		return false;
	for (size_t k = 0; k < d->nhosts; k++)
		if (host_ready(d, &d->hosts[k]))
			return true;
	return false;
}

void
deliver_poll(struct deliverer *d, int fd, int max_ms)
{
	long curl_ms = -1;
	int wait = max_ms;
	struct curl_waitfd extra = { .fd = fd, .events = CURL_WAIT_POLLIN };

	curl_multi_timeout(d->multi, &curl_ms);
	if (curl_ms >= 0 && curl_ms < wait)
		wait = (int)curl_ms;
	if (d->nheap > 0) {
		int64_t due = d->heap[0]->due_ms - clock_wall_ms();
		if (due < wait)
			wait = due < 0 ? 0 : (int)due;
	}
	if (can_start(d))
		wait = 0;
	curl_multi_poll(d->multi, fd >= 0 ? &extra : NULL, fd >= 0 ? 1 : 0, wait, NULL);
}

void
deliver_end(struct deliverer *d, int64_t end_ms, bool now)
{
	size_t keep = 0;

	d->ending = true;
	d->end_ms = end_ms;
	/* Retries due after the end (or any, stopping now) will not happen:
	 * write them now. */
	for (size_t i = 0; i < d->nheap; i++) {
		struct delivery *dv = d->heap[i];
		if (now || dv->due_ms > end_ms)
			abandon(d, dv);
		else
			d->heap[keep++] = dv;
	}
	d->nheap = keep;
	/* Re-establish the heap order over what is kept. */
	for (size_t i = keep; i-- > 0;) {
		size_t j = i;
		for (;;) {
			size_t l = 2 * j + 1, r = l + 1, m = j;
			if (l < keep && d->heap[l]->due_ms < d->heap[m]->due_ms)
				m = l;
			if (r < keep && d->heap[r]->due_ms < d->heap[m]->due_ms)
				m = r;
			if (m == j)
				break;
			heap_swap(d->heap, j, m);
			j = m;
		}
	}
	/* Stopping now: nothing waiting starts either. */
	if (now) {
		for (size_t k = 0; k < d->nhosts; k++)
			while (d->hosts[k].head != NULL)
				abandon(d, dequeue(d, &d->hosts[k]));
	}
}

/* --- life ----------------------------------------------------------------- */

int
deliver_init(struct deliverer *d, struct jw *out, unsigned concurrency,
    unsigned per_host, bool allow_private, bool dry_run)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->concurrency = concurrency;
	d->per_host = per_host;
	d->allow_private = allow_private;
	d->dry_run = dry_run;
	d->rng = (uint64_t)clock_wall_us() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	if (jw_init(&d->body, -1) != 0)
		return -1;
	if ((d->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	if ((d->idle = calloc(concurrency, sizeof(*d->idle))) == NULL)
		return -1;
	if ((d->multi = curl_multi_init()) == NULL)
		return -1;
	curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)concurrency);
	curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)per_host);
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)concurrency);
	return 0;
}

void
deliver_free(struct deliverer *d)
{
	for (size_t k = 0; k < d->nhosts; k++) {
		while (d->hosts[k].head != NULL)
			delivery_free(dequeue(d, &d->hosts[k]));
		free(d->hosts[k].origin);
	}
	free(d->hosts);
	for (size_t i = 0; i < d->nheap; i++)
		delivery_free(d->heap[i]);
	free(d->heap);
	while (d->flying != NULL) {	/* ended early (stdout went away) */
		struct delivery *dv = d->flying;
		d->flying = dv->fnext;
		curl_multi_remove_handle(d->multi, dv->easy);
		curl_easy_cleanup(dv->easy);
		curl_slist_free_all(dv->hdrs);
		delivery_free(dv);
	}
	for (size_t i = 0; i < d->nidle; i++)
		curl_easy_cleanup(d->idle[i]);
	free(d->idle);
	if (d->multi != NULL)
		curl_multi_cleanup(d->multi);
	EVP_MAC_free(d->mac);
	jw_free(&d->body);
}
