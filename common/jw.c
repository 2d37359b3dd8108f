/*
 * jw.c - the JSON record writer.
 *
 * Escaping looks up each byte in a 256-entry table and copies the runs
 * that need nothing in one memcpy(): log text is mostly plain, so most
 * strings are one table scan and one copy.
 */
#include "jw.h"
#include "b64.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INITIAL (128 * 1024)
#define MARK (64 * 1024)

/* 0: copy as is; 1: needs an escape. */
static const unsigned char needs_escape[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	/* 0x60 .. 0xff: nothing */
};

int
jw_init(struct jw *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->mark = MARK;
	w->cap = INITIAL;
	w->buf = malloc(w->cap);
	if (w->buf == NULL) {
		w->err = ENOMEM;
		return -1;
	}
	return 0;
}

void
jw_free(struct jw *w)
{
	free(w->buf);
	w->buf = NULL;
	w->len = w->cap = 0;
}

char *
jw_reserve(struct jw *w, size_t n)
{
	if (w->cap - w->len >= n)
		return w->buf + w->len;
	size_t cap = w->cap ? w->cap : INITIAL;
	while (cap - w->len < n)
		cap *= 2;
	char *nb = realloc(w->buf, cap);
	if (nb == NULL) {
		if (w->err == 0)
			w->err = ENOMEM;
		return NULL;
	}
	w->buf = nb;
	w->cap = cap;
	return w->buf + w->len;
}

void
jw_bytes(struct jw *w, const char *s, size_t n)
{
	char *p = jw_reserve(w, n);
	if (p == NULL)
		return;
	memcpy(p, s, n);
	w->len += n;
}

static inline void
put(struct jw *w, char c)
{
	if (w->len < w->cap || jw_reserve(w, 1) != NULL)
		w->buf[w->len++] = c;
}

/* Separator before a value or key at the current depth. */
static inline void
sep(struct jw *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	uint64_t bit = (uint64_t)1 << (w->depth & 63);
	if (w->comma & bit)
		put(w, ',');
	else
		w->comma |= bit;
}

static void
open_(struct jw *w, char c)
{
	sep(w);
	put(w, c);
	w->depth++;
	w->comma &= ~((uint64_t)1 << (w->depth & 63));
}

static void
close_(struct jw *w, char c)
{
	put(w, c);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj_open(struct jw *w) { open_(w, '{'); }
void jw_obj_close(struct jw *w) { close_(w, '}'); }
void jw_arr_open(struct jw *w) { open_(w, '['); }
void jw_arr_close(struct jw *w) { close_(w, ']'); }

void
jw_escaped(struct jw *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		const unsigned char *run = p;
		while (p < e && !needs_escape[*p])
			p++;
		if (p > run)
			jw_bytes(w, (const char *)run, (size_t)(p - run));
		if (p == e)
			break;
		char *o = jw_reserve(w, 6);
		if (o == NULL)
			return;
		unsigned char c = *p++;
		o[0] = '\\';
		switch (c) {
		case '"': o[1] = '"'; w->len += 2; break;
		case '\\': o[1] = '\\'; w->len += 2; break;
		case '\n': o[1] = 'n'; w->len += 2; break;
		case '\r': o[1] = 'r'; w->len += 2; break;
		case '\t': o[1] = 't'; w->len += 2; break;
		case '\b': o[1] = 'b'; w->len += 2; break;
		case '\f': o[1] = 'f'; w->len += 2; break;
		default:
			o[1] = 'u'; o[2] = '0'; o[3] = '0';
			o[4] = hex[c >> 4]; o[5] = hex[c & 15];
			w->len += 6;
		}
	}
}

void
jw_key(struct jw *w, const char *k, size_t n)
{
	sep(w);
	put(w, '"');
	jw_escaped(w, k, n);
	put(w, '"');
	put(w, ':');
	w->after_key = true;
}

void
jw_keyz(struct jw *w, const char *k)
{
	jw_key(w, k, strlen(k));
}

void
jw_str(struct jw *w, const char *s, size_t n)
{
	sep(w);
	put(w, '"');
	jw_escaped(w, s, n);
	put(w, '"');
}

void
jw_strz(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

void
jw_int(struct jw *w, int64_t v)
{
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	sep(w);
	jw_bytes(w, p, (size_t)(e - p));
}

void
jw_double(struct jw *w, double v)
{
	char tmp[32];
	int n = 0;

	if (!isfinite(v)) {
		jw_null(w);
		return;
	}
	/* The range test comes first: converting a double outside int64's
	 * range is undefined behaviour. */
	if (fabs(v) < 1e15 && v == (double)(int64_t)v) {
		jw_int(w, (int64_t)v);
		return;
	}
	/* A normal double whose shortest text has at most 15 digits gets
	 * exactly that text from %.15g.  A subnormal holds fewer digits, so
	 * start lower there (5e-324, not 4.94065645841247e-324). */
	for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	sep(w);
	jw_bytes(w, tmp, (size_t)n);
}

void
jw_bool(struct jw *w, bool v)
{
	sep(w);
	if (v)
		jw_bytes(w, "true", 4);
	else
		jw_bytes(w, "false", 5);
}

void
jw_null(struct jw *w)
{
	sep(w);
	jw_bytes(w, "null", 4);
}

void
jw_raw(struct jw *w, const char *json, size_t n)
{
	sep(w);
	jw_bytes(w, json, n);
}

void
jw_b64(struct jw *w, const char *data, size_t n)
{
	sep(w);
	put(w, '"');
	char *o = jw_reserve(w, B64_LEN(n) + 1);
	if (o == NULL)
		return;
	w->len += b64_encode(o, data, n);
	put(w, '"');
}

void
jw_reset(struct jw *w)
{
	w->len = 0;
	w->depth = 0;
	w->comma = 0;
	w->after_key = false;
}

void
jw_end(struct jw *w)
{
	put(w, '\n');
	w->depth = 0;
	w->comma = 0;
	w->after_key = false;
	if (w->fd >= 0 && w->len >= w->mark)
		jw_flush(w);
}

int
jw_flush(struct jw *w)
{
	size_t off = 0;

	if (w->fd < 0)
		return w->err ? -1 : 0;
	if (w->err) {
		w->len = 0;
		return -1;
	}
	while (off < w->len) {
		ssize_t n = write(w->fd, w->buf + off, w->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			w->len = 0;
			return -1;
		}
		off += (size_t)n;
		w->written += (uint64_t)n;
	}
	w->len = 0;
	return 0;
}
