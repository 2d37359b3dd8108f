/*
 * fmt_combined.c - Apache and nginx access logs: the common log format,
 * the combined format, an optional leading virtual host, and trailing
 * fields some sites append (request time, forwarded-for).
 *
 *   HOST IDENT USER [10/Oct/2000:13:55:36 -0700] "GET /a?b HTTP/1.1" 200 2326 "REFERER" "AGENT"
 *
 * Quoted fields may hold \" and \\ escapes (Apache writes them; nginx
 * writes \x22, which is kept as written).  A request line that is not
 * METHOD TARGET PROTOCOL (a TLS handshake sent to a plain port, a
 * scanner's garbage) is kept whole in url.original.
 */
#include "formats.h"
#include "swar.h"

#include <string.h>

/* A quoted field starting at s[i] == '"'; sets *v and *vn to its unescaped
 * text and returns the index after the closing quote, or 0. */
static size_t
quoted(struct event *ev, const char *s, size_t n, size_t i, const char **v,
    size_t *vn, bool clean)
{
	size_t start = ++i;
	bool esc;

	if (clean) {		/* no backslash in the line: the next '"' ends it */
		const char *q = memchr(s + i, '"', n - i);
		if (q == NULL)
			return 0;
		*v = s + start;
		*vn = (size_t)(q - s) - start;
		return (size_t)(q - s) + 1;
	}

	i = quoted_end(s, n, i, &esc);
	if (i >= n)
		return 0;
	*v = s + start;
	*vn = i - start;
	if (esc) {
		char *o = ev_alloc(ev, *vn);
		if (o == NULL)
			return 0;
		size_t k = 0;
		for (size_t j = 0; j < *vn; j++) {
			if (s[start + j] == '\\' && j + 1 < *vn &&
			    (s[start + j + 1] == '"' || s[start + j + 1] == '\\'))
				j++;
			o[k++] = s[start + j];
		}
		*v = o;
		*vn = k;
	}
	return i + 1;
}

struct slice {
	const char *p;
	size_t n;
};

/* What a line holds, gathered first and added to the event in path order,
 * which spares the emitter most of its sorting. */
struct access {
	struct slice method, referrer, version, message, host, vhost;
	struct slice original, path, query, user, agent;
	int64_t status, bytes, duration;
	bool host_ip;
};

static void
request(struct access *a, const char *r, size_t n)
{
	size_t m = 0;

	if (n == 0 || (n == 1 && r[0] == '-'))
		return;
	while (m < n && r[m] >= 'A' && r[m] <= 'Z')
		m++;
	size_t t = m + 1;
	const char *sp = t < n ? memchr(r + t, ' ', n - t) : NULL;
	size_t te = sp ? (size_t)(sp - r) : n;
	bool version_ok = te + 6 <= n && memcmp(r + te, " HTTP/", 6) == 0;
	for (size_t k = te + 6; version_ok && k < n; k++)
		if (r[k] == ' ')
			version_ok = false;
	if (m == 0 || m >= n || r[m] != ' ' || te == t || !version_ok) {
		a->original = (struct slice){ r, n };
		return;
	}
	a->method = (struct slice){ r, m };
	a->original = (struct slice){ r + t, te - t };
	const char *q = memchr(r + t, '?', te - t);
	if (q != NULL) {
		a->path = (struct slice){ r + t, (size_t)(q - (r + t)) };
		a->query = (struct slice){ q + 1, (size_t)(r + te - q - 1) };
	} else {
		a->path = a->original;
	}
	a->version = (struct slice){ r + te + 6, n - te - 6 };
}

static inline void
put(struct event *ev, const char *path, struct slice v)
{
	if (v.p != NULL)
		ev_add(ev, path, strlen(path), V_STR, v.p, v.n, true);
}

static inline bool
has_quote(struct slice v)
{
	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] == '"')
			return true;
	return false;
}

static void
add_fields(struct event *ev, const struct access *a)
{
	if (a->duration >= 0)
		ev_int(ev, "event.duration", a->duration);
	if (a->method.p != NULL)	/* [A-Z]+: nothing to escape */
		ev_add(ev, "http.request.method", 19, V_PLAIN, a->method.p, a->method.n, true);
	put(ev, "http.request.referrer", a->referrer);
	if (a->bytes >= 0)
		ev_int(ev, "http.response.body.bytes", a->bytes);
	if (a->status >= 0)
		ev_int(ev, "http.response.status_code", a->status);
	put(ev, "http.version", a->version);
	put(ev, "message", a->message);
	if (a->host_ip)		/* hex digits, dots and colons */
		ev_add(ev, "source.ip", 9, V_PLAIN, a->host.p, a->host.n, true);
	else
		put(ev, "source.domain", a->host);
	put(ev, "url.domain", a->vhost);
	put(ev, "url.original", a->original);
	put(ev, "url.path", a->path);
	put(ev, "url.query", a->query);
	put(ev, "user.name", a->user);
	put(ev, "user_agent.original", a->agent);
}

int
fmt_combined(struct decode_ctx *c, struct event *ev, const char *s, size_t n)
{
	size_t b[5], e[5], i = 0, k;
	int64_t v;
	struct access a;
	(void)c;

	memset(&a, 0, sizeof(a));
	a.status = a.bytes = a.duration = -1;
	ev->dataset = "http.access";
	/* A line with no backslash and no control byte: quoted fields end at
	 * the next '"', and every string taken from the line is written as
	 * is (a '"' inside a quoted field would need a backslash), unless an
	 * unquoted field holds a '"' (checked below). */
	bool clean = !has_backslash_or_control(s, n);
	/* HOST IDENT USER, possibly after a VHOST, then '['. */
	for (k = 0; k < 5; k++) {
		b[k] = i;
		e[k] = token_end(s, n, i);
		if (e[k] == b[k] || e[k] >= n)
			goto bad;
		i = e[k] + 1;
		if (s[i] == '[')
			break;
	}
	if (k != 2 && k != 3)
		goto bad;
	size_t h = k == 3 ? 1 : 0;
	if (k == 3)
		a.vhost = (struct slice){ s + b[0], e[0] - b[0] };
	a.host = (struct slice){ s + b[h], e[h] - b[h] };
	a.host_ip = is_ip(a.host.p, a.host.n);
	if (!(e[h + 2] - b[h + 2] == 1 && s[b[h + 2]] == '-'))
		a.user = (struct slice){ s + b[h + 2], e[h + 2] - b[h + 2] };

	if (ts_clf(s + i + 1, n - i - 1, &ev->ts) != 26 || i + 27 >= n || s[i + 27] != ']')
		goto bad;
	ev->has_ts = true;
	i += 28;
	if (i + 1 >= n || s[i] != ' ' || s[i + 1] != '"')
		goto bad;

	const char *req;
	size_t reqn;
	i = quoted(ev, s, n, i + 1, &req, &reqn, clean);
	if (i == 0)
		goto bad;
	request(&a, req, reqn);

	/* STATUS BYTES */
	if (i >= n || s[i] != ' ')
		goto bad;
	size_t st = i + 1, ste = token_end(s, n, st);
	if (parse_uint(s + st, ste - st, &v) && v >= 100 && v <= 999)
		a.status = v;
	else if (!(ste - st == 1 && s[st] == '-'))
		goto bad;
	if (ste >= n || s[ste] != ' ')
		goto bad;
	size_t by = ste + 1, bye = token_end(s, n, by);
	if (parse_uint(s + by, bye - by, &v))
		a.bytes = v;
	else if (!(bye - by == 1 && s[by] == '-'))
		goto bad;
	i = bye;

	/* "REFERER" "AGENT" (combined) */
	if (i + 1 < n && s[i] == ' ' && s[i + 1] == '"') {
		const char *ref, *ua;
		size_t refn, uan;
		i = quoted(ev, s, n, i + 1, &ref, &refn, clean);
		if (i == 0 || i + 1 >= n || s[i] != ' ' || s[i + 1] != '"')
			goto bad;
		i = quoted(ev, s, n, i + 1, &ua, &uan, clean);
		if (i == 0)
			goto bad;
		if (!(refn == 1 && ref[0] == '-'))
			a.referrer = (struct slice){ ref, refn };
		if (!(uan == 1 && ua[0] == '-') && uan > 0)
			a.agent = (struct slice){ ua, uan };
	}

	/* Anything after: a request time in seconds, or kept as message. */
	while (i < n && s[i] == ' ')
		i++;
	size_t rest = n;
	while (rest > i && s[rest - 1] == ' ')
		rest--;
	if (rest > i) {
		const char *r = s + i;
		size_t rn = rest - i;
		if (rn > 3 && memcmp(r, "rt=", 3) == 0) {
			r += 3;
			rn -= 3;
		}
		int64_t whole, frac = 0, scale = 100000000;
		const char *dot = memchr(r, '.', rn);
		size_t wn = dot ? (size_t)(dot - r) : rn;
		bool ok = parse_uint(r, wn, &whole);
		if (ok && dot != NULL) {
			for (const char *p = dot + 1; p < r + rn; p++) {
				if (*p < '0' || *p > '9') {
					ok = false;
					break;
				}
				frac += (*p - '0') * scale;
				scale /= 10;
			}
			ok = ok && dot + 1 < r + rn;
		}
		if (ok && whole < INT64_MAX / 1000000000 - 1)
			a.duration = whole * 1000000000 + frac;
		else
			a.message = (struct slice){ s + i, rest - i };
	}
	if (clean && !has_quote(a.host) && !has_quote(a.user) &&
	    !has_quote(a.vhost) && !has_quote(a.message)) {
		ev->plain_lo = (uintptr_t)s;
		ev->plain_hi = (uintptr_t)s + n;
	}
	add_fields(ev, &a);
	return 0;
bad:
	ev->why = "not an access log line (common/combined)";
	return -1;
}
