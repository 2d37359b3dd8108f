/*
 * redisurl.c - the redis:// and unix:// URL forms (the ones redis-cli -u,
 * redis-py and hiredis' users write), parsed with every part checked.
 */
#include "redisurl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0, n) with %XX decoded, as a new string; NULL on a bad escape, a NUL
 * or no memory (*bad says which). */
static char *
decode(const char *s, size_t n, int *bad)
{
	char *o = malloc(n + 1), *p = o;

	*bad = 0;
	if (o == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			*p++ = s[i];
			continue;
		}
		int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
		int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(o);
			*bad = 1;
			return NULL;
		}
		*p++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*p = '\0';
	return o;
}

static int
number(const char *s, size_t n, long max, long *out)
{
	long v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
fail(struct redis_url *u, struct sl_err *e, const char *s, const char *why)
{
	redis_url_free(u);
	return err_set(e, NULL, 0, 0, "bad Redis URL \"%s\": %s", s, why);
}

/* ?db=N&password=P */
static int
query(struct redis_url *u, const char *q, size_t n, const char **why)
{
	while (n > 0) {
		const char *amp = memchr(q, '&', n);
		size_t len = amp ? (size_t)(amp - q) : n;
		const char *eq = memchr(q, '=', len);
		long v;
		int bad;
		if (eq == NULL) {
			*why = "a query parameter without '='";
			return -1;
		}
		size_t klen = (size_t)(eq - q), vlen = len - klen - 1;
		if (klen == 2 && memcmp(q, "db", 2) == 0) {
			if (number(eq + 1, vlen, 2147483647L, &v) != 0) {
				*why = "db is not a number from 0";
				return -1;
			}
			u->db = (int)v;
		} else if (klen == 8 && memcmp(q, "password", 8) == 0) {
			free(u->password);
			if ((u->password = decode(eq + 1, vlen, &bad)) == NULL) {
				*why = bad ? "bad %-escape in the password" : "out of memory";
				return -1;
			}
		} else {
			*why = "unknown query parameter (db and password are known)";
			return -1;
		}
		if (amp == NULL)
			break;
		n -= len + 1;
		q = amp + 1;
	}
	return 0;
}

int
redis_url_parse(const char *s, struct redis_url *u, struct sl_err *e)
{
	const char *p, *end, *q, *why = NULL;
	int is_unix, bad;
	long v;

	memset(u, 0, sizeof(*u));
	u->port = 6379;
	if (strncmp(s, "redis://", 8) == 0) {
		is_unix = 0;
		p = s + 8;
	} else if (strncmp(s, "unix://", 7) == 0) {
		is_unix = 1;
		p = s + 7;
	} else if (strncmp(s, "rediss://", 9) == 0) {
		return fail(u, e, s, "TLS (rediss://) is not supported");
	} else {
		return fail(u, e, s, "it must start with redis:// or unix://");
	}
	end = p + strlen(p);
	q = strchr(p, '?');
	if (q != NULL) {
		if (query(u, q + 1, (size_t)(end - q - 1), &why) != 0)
			return fail(u, e, s, why);
		end = q;
	}

	/* userinfo: before the last '@' of the authority (the part before
	 * the first '/'); a '/' or '@' in a password must be %-escaped. */
	const char *slash0 = memchr(p, '/', (size_t)(end - p));
	const char *auth_end = slash0 ? slash0 : end, *at = NULL;
	for (const char *c = p; c < auth_end; c++)
		if (*c == '@')
			at = c;
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL) {
			if (colon > p && (u->user = decode(p, (size_t)(colon - p), &bad)) == NULL)
				return fail(u, e, s, bad ? "bad %-escape in the user" : "out of memory");
			if (u->password == NULL &&
			    (u->password = decode(colon + 1, (size_t)(at - colon - 1), &bad)) == NULL)
				return fail(u, e, s, bad ? "bad %-escape in the password" : "out of memory");
		} else if (at > p) {
			if ((u->user = decode(p, (size_t)(at - p), &bad)) == NULL)
				return fail(u, e, s, bad ? "bad %-escape in the user" : "out of memory");
		}
		p = at + 1;
	}

	if (is_unix) {
		if (p >= end || *p != '/')
			return fail(u, e, s, "the socket path must be absolute (unix:///path)");
		if ((u->path = decode(p, (size_t)(end - p), &bad)) == NULL)
			return fail(u, e, s, bad ? "bad %-escape in the path" : "out of memory");
	} else {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *hend = slash ? slash : end, *pc = NULL;
		const char *h = p;
		size_t hlen;
		if (*p == '[') {
			const char *rb = memchr(p, ']', (size_t)(hend - p));
			if (rb == NULL)
				return fail(u, e, s, "unclosed '[' in the host");
			h = p + 1;
			hlen = (size_t)(rb - h);
			if (rb + 1 < hend) {
				if (rb[1] != ':')
					return fail(u, e, s, "junk after the IPv6 address");
				pc = rb + 1;
			}
		} else {
			pc = memchr(p, ':', (size_t)(hend - p));
			hlen = (size_t)((pc ? pc : hend) - p);
		}
		if (hlen == 0)
			return fail(u, e, s, "no host");
		if (pc != NULL) {
			if (number(pc + 1, (size_t)(hend - pc - 1), 65535, &v) != 0 || v == 0)
				return fail(u, e, s, "the port must be a number from 1 to 65535");
			u->port = (int)v;
		}
		if ((u->host = strndup(h, hlen)) == NULL)
			return fail(u, e, s, "out of memory");
		if (slash != NULL && slash + 1 < end) {
			if (number(slash + 1, (size_t)(end - slash - 1), 2147483647L, &v) != 0)
				return fail(u, e, s, "the database after '/' must be a number from 0");
			u->db = (int)v;
		}
	}
	if (u->user != NULL && u->password == NULL)
		return fail(u, e, s, "a user needs a password (user:password@)");

	/* The text for messages, password masked. */
	size_t n = strlen(s) + 32;
	if ((u->safe = malloc(n)) == NULL)
		return fail(u, e, s, "out of memory");
	if (u->path != NULL)
		snprintf(u->safe, n, "unix://%s", u->path);
	else if (strchr(u->host, ':') != NULL)
		snprintf(u->safe, n, "redis://[%s]:%d", u->host, u->port);
	else
		snprintf(u->safe, n, "redis://%s:%d", u->host, u->port);
	return 0;
}

void
redis_url_free(struct redis_url *u)
{
	free(u->host);
	free(u->path);
	free(u->user);
	free(u->password);
	free(u->safe);
	memset(u, 0, sizeof(*u));
}
