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

#include <string.h>

static size_t
token(const char *s, size_t n, size_t i)
{
	while (i < n && s[i] != ' ')
		i++;
	return i;
}

/* A quoted field starting at s[i] == '"'; sets *v and *vn to its unescaped
 * text and returns the index after the closing quote, or 0. */
static size_t
quoted(struct event *ev, const char *s, size_t n, size_t i, const char **v, size_t *vn)
{
	size_t start = ++i;
	bool esc = false;

	while (i < n && s[i] != '"') {
		if (s[i] == '\\' && i + 1 < n) {
			esc = true;
			i++;
		}
		i++;
	}
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

static void
request(struct event *ev, const char *r, size_t n)
{
	size_t m = 0;

	if (n == 0 || (n == 1 && r[0] == '-'))
		return;
	while (m < n && r[m] >= 'A' && r[m] <= 'Z')
		m++;
	size_t t = m + 1;
	size_t te = t;
	while (te < n && r[te] != ' ')
		te++;
	if (m == 0 || m >= n || r[m] != ' ' || te == t || te + 6 > n ||
	    memcmp(r + te, " HTTP/", 6) != 0 || memchr(r + te + 6, ' ', n - te - 6) != NULL) {
		ev_str(ev, "url.original", r, n);
		return;
	}
	ev_str(ev, "http.request.method", r, m);
	ev_str(ev, "url.original", r + t, te - t);
	const char *q = memchr(r + t, '?', te - t);
	if (q != NULL) {
		ev_str(ev, "url.path", r + t, (size_t)(q - (r + t)));
		ev_str(ev, "url.query", q + 1, (size_t)(r + te - q - 1));
	} else {
		ev_str(ev, "url.path", r + t, te - t);
	}
	ev_str(ev, "http.version", r + te + 6, n - te - 6);
}

int
fmt_combined(struct decode_ctx *c, struct event *ev, const char *s, size_t n)
{
	size_t b[5], e[5], i = 0, k;
	int64_t v;
	(void)c;

	ev->dataset = "http.access";
	/* HOST IDENT USER, possibly after a VHOST, then '['. */
	for (k = 0; k < 5; k++) {
		b[k] = i;
		e[k] = token(s, n, i);
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
		ev_str(ev, "url.domain", s + b[0], e[0] - b[0]);
	if (is_ip(s + b[h], e[h] - b[h]))
		ev_str(ev, "source.ip", s + b[h], e[h] - b[h]);
	else
		ev_str(ev, "source.domain", s + b[h], e[h] - b[h]);
	if (!(e[h + 2] - b[h + 2] == 1 && s[b[h + 2]] == '-'))
		ev_str(ev, "user.name", s + b[h + 2], e[h + 2] - b[h + 2]);

	if (ts_clf(s + i + 1, n - i - 1, &ev->ts) != 26 || i + 27 >= n || s[i + 27] != ']')
		goto bad;
	ev->has_ts = true;
	i += 28;
	if (i + 1 >= n || s[i] != ' ' || s[i + 1] != '"')
		goto bad;

	const char *req;
	size_t reqn;
	i = quoted(ev, s, n, i + 1, &req, &reqn);
	if (i == 0)
		goto bad;
	request(ev, req, reqn);

	/* STATUS BYTES */
	if (i >= n || s[i] != ' ')
		goto bad;
	size_t st = i + 1, ste = token(s, n, st);
	if (parse_uint(s + st, ste - st, &v) && v >= 100 && v <= 999)
		ev_int(ev, "http.response.status_code", v);
	else if (!(ste - st == 1 && s[st] == '-'))
		goto bad;
	if (ste >= n || s[ste] != ' ')
		goto bad;
	size_t by = ste + 1, bye = token(s, n, by);
	if (parse_uint(s + by, bye - by, &v))
		ev_int(ev, "http.response.body.bytes", v);
	else if (!(bye - by == 1 && s[by] == '-'))
		goto bad;
	i = bye;

	/* "REFERER" "AGENT" (combined) */
	if (i + 1 < n && s[i] == ' ' && s[i + 1] == '"') {
		const char *ref, *ua;
		size_t refn, uan;
		i = quoted(ev, s, n, i + 1, &ref, &refn);
		if (i == 0 || i + 1 >= n || s[i] != ' ' || s[i + 1] != '"')
			goto bad;
		i = quoted(ev, s, n, i + 1, &ua, &uan);
		if (i == 0)
			goto bad;
		if (!(refn == 1 && ref[0] == '-'))
			ev_str(ev, "http.request.referrer", ref, refn);
		if (!(uan == 1 && ua[0] == '-') && uan > 0)
			ev_str(ev, "user_agent.original", ua, uan);
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
		if (ok)
			ev_int(ev, "event.duration", whole * 1000000000 + frac);
		else
			ev_str(ev, "message", s + i, rest - i);
	}
	return 0;
bad:
	ev->why = "not an access log line (common/combined)";
	return -1;
}
