/*
 * jscan.c - a one-pass JSON validator that records an object's members.
 *
 * Nesting is tracked in a bit stack (1 = object), so depth costs no
 * recursion and no allocation.  Plain string bytes are skipped by table
 * lookup, which is where nearly all the time goes on log records.
 */
#include "jscan.h"
#include "jw.h"
#include "swar.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

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

/* Scan a string starting after its opening quote; returns the index after
 * the closing quote, or 0 on error. */
static size_t
string(const char *s, size_t n, size_t i, struct jscan_err *e)
{
	for (;;) {
		i += json_plain_span(s + i, n - i);
		if (i >= n) {
			e->msg = "unterminated string";
			e->pos = n;
			return 0;
		}
		char c = s[i];
		if (c == '"')
			return i + 1;
		if (c != '\\') {
			e->msg = "control character in string";
			e->pos = i;
			return 0;
		}
		if (i + 1 >= n) {
			e->msg = "unterminated string";
			e->pos = n;
			return 0;
		}
		switch (s[i + 1]) {
		case '"': case '\\': case '/': case 'b': case 'f':
		case 'n': case 'r': case 't':
			i += 2;
			break;
		case 'u':
			if (i + 5 < n + 0 && is_hex(s[i + 2]) && is_hex(s[i + 3]) &&
			    is_hex(s[i + 4]) && is_hex(s[i + 5])) {
				i += 6;
				break;
			}
			/* FALLTHROUGH */
		default:
			e->msg = "invalid escape in string";
			e->pos = i;
			return 0;
		}
	}
}

static size_t
number(const char *s, size_t n, size_t i, struct jscan_err *e)
{
	size_t start = i;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else if (i < n && s[i] >= '1' && s[i] <= '9') {
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	} else {
		goto bad;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			goto bad;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i;
bad:
	e->msg = "invalid number";
	e->pos = start;
	return 0;
}

static size_t
literal(const char *s, size_t n, size_t i, const char *word, size_t len,
    struct jscan_err *e)
{
	if (n - i < len || memcmp(s + i, word, len) != 0) {
		e->msg = "invalid literal";
		e->pos = i;
		return 0;
	}
	return i + len;
}

char
jscan(const char *s, size_t n, struct jscan_member *m, size_t max,
    size_t *count, struct jscan_err *e)
{
	uint8_t stack[JSCAN_MAX_DEPTH / 8];
	size_t depth = 0, i = 0, members = 0;
	char top = 0;
	/* The member of the top-level object being read (depth 1). */
	struct jscan_member *cur = NULL;

	if (count)
		*count = 0;
	while (i < n && is_ws(s[i]))
		i++;
	if (i >= n) {
		e->msg = "empty input";
		e->pos = i;
		return 0;
	}
	top = s[i] == '{' || s[i] == '[' || s[i] == '"' || s[i] == 't' ||
	    s[i] == 'f' || s[i] == 'n' ? s[i] : '0';

	/* Each turn reads one value at the current position; containers push
	 * and are then continued by the loop below. */
	bool want_value = true;
	for (;;) {
		if (want_value) {
			while (i < n && is_ws(s[i]))
				i++;
			if (i >= n) {
				e->msg = "unexpected end of input";
				e->pos = n;
				return 0;
			}
			size_t vstart = i;
			char c = s[i];
			char type = c;
			switch (c) {
			case '{': case '[':
				if (depth >= JSCAN_MAX_DEPTH) {
					e->msg = "nested too deeply";
					e->pos = i;
					return 0;
				}
				if (c == '{')
					stack[depth / 8] |= (uint8_t)(1u << (depth % 8));
				else
					stack[depth / 8] &= (uint8_t)~(1u << (depth % 8));
				depth++;
				if (cur != NULL && depth == 2) {
					cur->val = s + vstart;
					cur->type = c;
				}
				i++;
				while (i < n && is_ws(s[i]))
					i++;
				if (i < n && s[i] == (c == '{' ? '}' : ']')) {
					i++;
					depth--;
					break;	/* empty container: a complete value */
				}
				if (c == '{') {
					/* expect a key */
					goto key;
				}
				continue;	/* first array element */
			case '"':
				i = string(s, n, i + 1, e);
				break;
			case 't': i = literal(s, n, i, "true", 4, e); break;
			case 'f': i = literal(s, n, i, "false", 5, e); break;
			case 'n': i = literal(s, n, i, "null", 4, e); break;
			default:
				type = '0';
				i = number(s, n, i, e);
				break;
			}
			if (i == 0)
				return 0;
			if (cur != NULL && depth == 1) {
				cur->val = s + vstart;
				cur->vlen = (size_t)(s + i - cur->val);
				cur->type = type;
				cur = NULL;
			}
		}
		/* After a complete value: close containers or find the next item. */
		for (;;) {
			while (i < n && is_ws(s[i]))
				i++;
			if (depth == 0) {
				if (i != n) {
					e->msg = "trailing characters after the value";
					e->pos = i;
					return 0;
				}
				if (count)
					*count = members;
				return top;
			}
			bool obj = stack[(depth - 1) / 8] & (1u << ((depth - 1) % 8));
			if (i >= n) {
				e->msg = "unexpected end of input";
				e->pos = n;
				return 0;
			}
			if (s[i] == ',') {
				i++;
				if (obj)
					goto key;
				want_value = true;
				break;
			}
			if (s[i] == (obj ? '}' : ']')) {
				i++;
				depth--;
				if (cur != NULL && depth == 1) {
					cur->vlen = (size_t)(s + i - cur->val);
					cur = NULL;
				}
				continue;
			}
			e->msg = obj ? "expected ',' or '}'" : "expected ',' or ']'";
			e->pos = i;
			return 0;
		}
		continue;
key:
		while (i < n && is_ws(s[i]))
			i++;
		if (i >= n || s[i] != '"') {
			e->msg = "expected a string key";
			e->pos = i;
			return 0;
		}
		{
			size_t kstart = i + 1;
			i = string(s, n, i + 1, e);
			if (i == 0)
				return 0;
			if (depth == 1) {
				if (members < max) {
					cur = &m[members];
					cur->key = s + kstart;
					cur->klen = i - 1 - kstart;
				}
				members++;
			}
		}
		while (i < n && is_ws(s[i]))
			i++;
		if (i >= n || s[i] != ':') {
			e->msg = "expected ':'";
			e->pos = i;
			return 0;
		}
		i++;
		want_value = true;
	}
}

size_t
jscan_members(const char *obj, size_t n, struct jscan_member *m, size_t max)
{
	struct jscan_err e;
	size_t count = 0;
	if (jscan(obj, n, m, max, &count, &e) != '{')
		return 0;
	return count;
}
