/*
 * jw.c - the JSON record writer.
 *
 * Escaping looks up each byte in a 256-entry table and copies the runs
 * that need nothing in one memcpy(): log text is mostly plain, so most
 * strings are one table scan and one copy.
 */
#include "jw.h"
#include "b64.h"
#include "swar.h"

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
const unsigned char jw_needs_escape[256] = {
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
jw_grow(struct jw *w, size_t n)
{
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

/* The escape for one byte that needs it, written at o; returns the end. */
static inline char *
escape_byte(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '\\';
	switch (c) {
	case '"': *o++ = '"'; break;
	case '\\': *o++ = '\\'; break;
	case '\n': *o++ = 'n'; break;
	case '\r': *o++ = 'r'; break;
	case '\t': *o++ = 't'; break;
	case '\b': *o++ = 'b'; break;
	case '\f': *o++ = 'f'; break;
	default:
		*o++ = 'u'; *o++ = '0'; *o++ = '0';
		*o++ = hex[c >> 4]; *o++ = hex[c & 15];
	}
	return o;
}

char *
jw_escape_to(char *o, const char *s, size_t n)
{
	size_t i = 0;

	/* Short strings (keys, codes, versions) byte by byte: cheaper than
	 * setting up the wide scan and a copy call. */
	if (n < 16) {
		for (; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!jw_needs_escape[c])
				*o++ = (char)c;
			else
				o = escape_byte(o, c);
		}
		return o;
	}
	for (;;) {
		size_t run = json_plain_span(s + i, n - i);
		memcpy(o, s + i, run);
		o += run;
		i += run;
		if (i >= n)
			return o;
		o = escape_byte(o, (unsigned char)s[i++]);
	}
}

void
jw_escaped(struct jw *w, const char *s, size_t n)
{
	char *o = jw_reserve(w, 6 * n);
	if (o != NULL)
		w->len = (size_t)(jw_escape_to(o, s, n) - w->buf);
}

/* A quoted string, and the colon after it when it is a key. */
static void
quoted(struct jw *w, const char *s, size_t n, bool key)
{
	char *o = jw_reserve(w, 6 * n + 3);
	if (o == NULL)
		return;
	*o++ = '"';
	o = jw_escape_to(o, s, n);
	*o++ = '"';
	if (key)
		*o++ = ':';
	w->len = (size_t)(o - w->buf);
}

void
jw_key(struct jw *w, const char *k, size_t n)
{
	sep(w);
	quoted(w, k, n, true);
	w->after_key = true;
}

/* A quoted string that needs no escaping, and the colon after a key. */
static void
plain(struct jw *w, const char *s, size_t n, bool key)
{
	char *o = jw_reserve(w, n + 3);
	if (o == NULL)
		return;
	o[0] = '"';
	memcpy(o + 1, s, n);
	o[n + 1] = '"';
	if (key)
		o[n + 2] = ':';
	w->len += n + 2 + key;
}

void
jw_key_plain(struct jw *w, const char *k, size_t n)
{
	sep(w);
	plain(w, k, n, true);
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
	quoted(w, s, n, false);
}

void
jw_str_plain(struct jw *w, const char *s, size_t n)
{
	sep(w);
	plain(w, s, n, false);
}

void
jw_strz(struct jw *w, const char *s)
{
	jw_str(w, s, strlen(s));
}

char *
jw_int_to(char *o, int64_t v)
{
	static const char pairs[] =
	    "00010203040506070809101112131415161718192021222324"
	    "25262728293031323334353637383940414243444546474849"
	    "50515253545556575859606162636465666768697071727374"
	    "75767778798081828384858687888990919293949596979899";
	char tmp[24], *e = tmp + sizeof(tmp), *p = e;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	/* Two digits per division (pids, ports, sizes are 3 to 10 digits). */
	while (u >= 100) {
		unsigned r = (unsigned)(u % 100);
		u /= 100;
		p -= 2;
		memcpy(p, pairs + 2 * r, 2);
	}
	if (u >= 10) {
		p -= 2;
		memcpy(p, pairs + 2 * u, 2);
	} else {
		*--p = (char)('0' + u);
	}
	if (v < 0)
		*--p = '-';
	memcpy(o, p, (size_t)(e - p));
	return o + (e - p);
}

void
jw_int(struct jw *w, int64_t v)
{
	sep(w);
	char *o = jw_reserve(w, 24);
	if (o != NULL)
		w->len = (size_t)(jw_int_to(o, v) - w->buf);
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
