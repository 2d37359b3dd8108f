/*
 * jscan-scan.h - the JSON scanner itself, for jscan.c and for code that
 * instantiates it with calls of its own (scan.c): every function here is
 * static and the scanner always inlined, so a caller that passes a
 * jscan_walker whose functions are known at compile time gets them
 * called directly, or inlined, rather than through pointers.  Not an
 * interface: include jscan.h.
 *
 * One loop with three states (a value is wanted, a value just ended, a
 * key is wanted) walks the text with a pointer; the expected closing
 * bracket of every open container sits in a byte stack, so depth costs no
 * recursion and no allocation.  Strings, where nearly all the bytes of a
 * log record are, are skipped sixteen bytes a step (swar.h) and the common
 * short, escape-free string costs one step.
 */
#ifndef SLUICE_JSCAN_SCAN_H
#define SLUICE_JSCAN_SCAN_H

#include "jscan.h"
#include "swar.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* What jscan_run() calls, for a program that reads a few fields of a
 * record and wants no list of members.  key() gets the key of each
 * member of every object the walk enters, with node, what key() made of
 * the key of the object's own member (0 for the top-level object); it
 * returns what it makes of this key, or -1 for "nothing of interest in
 * it", which also keeps the walk out of its value.  value() gets the
 * value (whole text, type character) of each member key() gave a node,
 * when its text has been read: members nested in it come first.  esc:
 * whether the key, or a string value, holds a backslash escape (without
 * one, the text is its own decoding).  Objects inside arrays are not
 * entered. */
struct jscan_walker {
	int (*key)(void *arg, int node, const char *k, size_t klen, int esc);
	void (*value)(void *arg, int node, char type, const char *v, size_t vlen,
	    int esc);
	/* Optional, tried before a key of an entered object is read: the
	 * length of the key the walker expects at k (just after the opening
	 * quote, end the end of the text), when the text there is that key
	 * and its closing quote, with *to what key() makes of it; 0 when it
	 * is not (the key is then read and given to key() as usual).  A key
	 * guessed so is text the walker saw in full before: it must hold no
	 * quote, backslash or control byte. */
	size_t (*guess)(void *arg, int node, const char *k, const char *end, int *to);
	void *arg;
};

static inline bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline bool
is_digit(char c)
{
	return (unsigned char)(c - '0') < 10;
}

/* Skip white space; compact JSON has none, so the first test usually ends
 * it. */
#define SKIP_WS(p, end) \
	do { \
		while ((p) < (end) && (unsigned char)*(p) <= ' ' && is_ws(*(p))) \
			(p)++; \
	} while (0)

static const char *
fail(struct jscan_err *e, const char *msg, const char *s, const char *at)
{
	e->msg = msg;
	e->pos = (size_t)(at - s);
	return NULL;
}

/* fail() for jscan itself, which returns a type character (0: error). */
static char
bad(struct jscan_err *e, const char *msg, const char *s, const char *at)
{
	fail(e, msg, s, at);
	return 0;
}

/* The rest of a string from a backslash or control byte at p: returns the
 * byte after the closing quote, or NULL.  Sets *esc when it meets an
 * escape. */
static const char *
string_slow(const char *s, const char *p, const char *end, struct jscan_err *e,
    bool *esc)
{
	for (;;) {
		p += json_plain_span(p, (size_t)(end - p));
		if (p >= end)
			return fail(e, "unterminated string", s, end);
		if (*p == '"')
			return p + 1;
		if (*p != '\\')
			return fail(e, "control character in string", s, p);
		*esc = true;
		if (end - p < 2)
			return fail(e, "unterminated string", s, end);
		switch (p[1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			p += 2;
			break;
		case 'u':
			if (end - p > 5 && is_hex(p[2]) && is_hex(p[3]) &&
			    is_hex(p[4]) && is_hex(p[5])) {
				p += 6;
				break;
			}
			/* FALLTHROUGH */
		default:
			return fail(e, "invalid escape in string", s, p);
		}
	}
}

/* A string from just after its opening quote: returns the byte after the
 * closing quote, or NULL.  Inlined, sixteen bytes a step until a quote,
 * backslash or control byte; only escapes and errors leave the loop. */
static inline const char *
string(const char *s, const char *p, const char *end, struct jscan_err *e,
    bool *esc)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
		    _mm_cmpeq_epi8(x, bslash)),
		    _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits != 0) {
			p += __builtin_ctz(bits);
			if (*p == '"')
				return p + 1;
			break;
		}
		p += 16;
	}
#endif
	return string_slow(s, p, end, e, esc);
}

static const char *
number(const char *s, const char *p, const char *end, struct jscan_err *e)
{
	const char *start = p;
	if (p < end && *p == '-')
		p++;
	if (p < end && *p == '0') {
		p++;
	} else if (p < end && *p >= '1' && *p <= '9') {
		p++;
		while (p < end && is_digit(*p))
			p++;
	} else {
		goto bad;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || !is_digit(*p))
			goto bad;
		while (p < end && is_digit(*p))
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || !is_digit(*p))
			goto bad;
		while (p < end && is_digit(*p))
			p++;
	}
	return p;
bad:
	return fail(e, "invalid number", s, start);
}

static inline const char *
literal(const char *s, const char *p, const char *end, const char *word,
    size_t len, struct jscan_err *e)
{
	if ((size_t)(end - p) < len || memcmp(p, word, len) != 0)
		return fail(e, "invalid literal", s, p);
	return p + len;
}

/* The type character of a value from its first byte: the byte itself
 * for the brackets, strings and literals, '0' for everything else.  A
 * table (of each type xor '0', so the bytes left out are '0'), since
 * this runs for every member a walker keeps. */
static const unsigned char value_types[256] = {
	['{'] = '{' ^ '0', ['['] = '[' ^ '0', ['"'] = '"' ^ '0',
	['t'] = 't' ^ '0', ['f'] = 'f' ^ '0', ['n'] = 'n' ^ '0',
};

static inline char
value_type(char c)
{
	return (char)(value_types[(unsigned char)c] ^ '0');
}

#define NONE UINT32_MAX

/* The scanner, for the top-level members only (tape false), for the
 * members of every object (tape true), or for a walker's calls (w);
 * inlined into each entry point so each is compiled for its own case. */
static inline __attribute__((always_inline)) char
jscan_run(const char *s, size_t n, struct jscan_member *m, size_t max,
    size_t *count, struct jscan_err *e, bool tape, const struct jscan_walker *w)
{
	char closer[JSCAN_MAX_DEPTH];	/* the bracket that closes each level */
	/* tape: the member whose value is being read at each depth; w: its
	 * node, NONE for none. */
	uint32_t open[JSCAN_MAX_DEPTH + 1];
	/* w: the node of the object at each depth (-1: not entered), and the
	 * value of the member being read there. */
	int obj[JSCAN_MAX_DEPTH + 1];
	const char *val[JSCAN_MAX_DEPTH + 1];
	size_t depth = 0, members = 0;
	const char *p = s, *end = s + n;
	/* The member of the top-level object being read (depth 1), or NULL. */
	struct jscan_member *cur = NULL;
	char top;
	bool kesc, vesc = false;	/* the last key, the last string value */

	if (count)
		*count = 0;
	SKIP_WS(p, end);
	if (p >= end)
		return bad(e, "empty input", s, p);
	top = value_type(*p);

value:	/* A value is wanted at p.  White space is one more case of the
	 * switch, so compact JSON pays nothing for it. */
	if (p >= end)
		return bad(e, "unexpected end of input", s, end);
	switch (*p) {
	case ' ': case '\t': case '\n': case '\r':
		p++;
		goto value;
	case '"':
		vesc = false;
		p = string(s, p + 1, end, e, &vesc);
		break;
	case '{': case '[':
		if (depth >= JSCAN_MAX_DEPTH)
			return bad(e, "nested too deeply", s, p);
		closer[depth++] = *p == '{' ? '}' : ']';
		if (tape || w)
			open[depth] = NONE;
		if (w)
			obj[depth] = *p != '{' ? -1 : depth == 1 ? 0 :
			    open[depth - 1] != NONE ? (int)open[depth - 1] : -1;
		p++;
		SKIP_WS(p, end);
		if (p < end && *p == closer[depth - 1]) {
			p++;
			depth--;
			break;	/* an empty container: a complete value */
		}
		if (closer[depth - 1] == '}')
			goto key;
		goto value;
	case 't': p = literal(s, p, end, "true", 4, e); break;
	case 'f': p = literal(s, p, end, "false", 5, e); break;
	case 'n': p = literal(s, p, end, "null", 4, e); break;
	default:
		p = number(s, p, end, e);
		break;
	}
	if (p == NULL)
		return 0;

next:	/* A value just ended at p: close containers or find the next item. */
	if (w) {
		if (depth > 0 && open[depth] != NONE) {
			const char *v = val[depth];
			char t = value_type(*v);
			w->value(w->arg, (int)open[depth], t, v, (size_t)(p - v),
			    t == '"' && vesc);
			open[depth] = NONE;
		}
	} else if (tape) {
		if (depth > 0 && open[depth] != NONE) {
			uint32_t i = open[depth];
			if (i < max) {
				m[i].vlen = (size_t)(p - m[i].val);
				m[i].next = members;
			}
			open[depth] = NONE;
		}
	} else if (cur != NULL && depth == 1) {
		cur->vlen = (size_t)(p - cur->val);
		cur = NULL;
	}
after:	/* Past a value and any white space after it. */
	if (p >= end) {
		if (depth > 0)
			return bad(e, "unexpected end of input", s, end);
		if (count)
			*count = members;
		return top;
	}
	switch (*p) {
	case ' ': case '\t': case '\n': case '\r':
		p++;
		goto after;
	case ',':
		if (depth == 0)
			break;
		p++;
		if (closer[depth - 1] == '}')
			goto key;
		goto value;
	case '}': case ']':
		if (depth == 0)
			break;
		if (*p == closer[depth - 1]) {
			p++;
			depth--;
			goto next;
		}
		break;
	default:
		break;
	}
	if (depth == 0)
		return bad(e, "trailing characters after the value", s, p);
	return bad(e, closer[depth - 1] == '}' ? "expected ',' or '}'" :
	    "expected ',' or ']'", s, p);

key:	/* A member's key is wanted at p. */
	if (p < end && *p != '"')
		SKIP_WS(p, end);
	if (p >= end || *p != '"')
		return bad(e, "expected a string key", s, p);
	{
		const char *k = p + 1;
		size_t kl;
		int to;
		if (w && w->guess && obj[depth] >= 0 &&
		    (kl = w->guess(w->arg, obj[depth], k, end, &to)) > 0) {
			p = k + kl + 1;	/* the key the walker expected */
			open[depth] = to < 0 ? NONE : (uint32_t)to;
			goto colon;
		}
		kesc = false;
		p = string(s, k, end, e, &kesc);
		if (p == NULL)
			return 0;
		if (w) {
			int node = obj[depth] < 0 ? -1 :
			    w->key(w->arg, obj[depth], k, (size_t)(p - 1 - k), kesc);
			open[depth] = node < 0 ? NONE : (uint32_t)node;
		} else if (tape || depth == 1) {
			if (members < max) {
				cur = &m[members];
				cur->key = k;
				cur->klen = (size_t)(p - 1 - k);
				cur->depth = depth;
			} else {
				cur = NULL;
			}
			if (tape)
				open[depth] = members < NONE ? (uint32_t)members : NONE - 1;
			members++;
		}
	}
colon:
	if (p < end && *p == ':') {
		p++;		/* compact JSON: "key":value */
	} else {
		SKIP_WS(p, end);
		if (p >= end || *p != ':')
			return bad(e, "expected ':'", s, p);
		p++;
	}
	if (p < end && (unsigned char)*p <= ' ')
		SKIP_WS(p, end);
	if (w)
		val[depth] = p;
	else if ((tape || depth == 1) && cur != NULL && p < end) {
		cur->val = p;
		cur->type = value_type(*p);
	}
	goto value;
}

#endif
