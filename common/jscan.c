/*
 * jscan.c - a one-pass JSON validator that records an object's members
 * (the scanner is in jscan-scan.h).
 */
#include "jscan.h"
#include "jscan-scan.h"

char
jscan(const char *s, size_t n, struct jscan_member *m, size_t max,
    size_t *count, struct jscan_err *e)
{
	return jscan_run(s, n, m, max, count, e, false, NULL);
}

char
jscan_tape(const char *s, size_t n, struct jscan_member *m, size_t max,
    size_t *count, struct jscan_err *e)
{
	return jscan_run(s, n, m, max, count, e, true, NULL);
}

const char *
jscan_string_end(const char *p, const char *end)
{
	for (;;) {
		p += json_plain_span(p, (size_t)(end - p));
		if (*p == '"')
			return p + 1;
		p += 2;		/* a backslash and the byte it escapes */
	}
}

size_t
jscan_members(const char *obj, size_t n, struct jscan_member *m, size_t max)
{
	const char *p = obj, *end = obj + n;
	size_t count = 0;

	SKIP_WS(p, end);
	if (p >= end || *p != '{')
		return 0;
	p++;
	for (;;) {
		/* At a key, or at the closing brace of the object. */
		while (p < end && *p != '"' && *p != '}')
			p++;
		if (p >= end || *p == '}')
			return count;
		const char *k = p + 1;
		p = jscan_string_end(k, end);
		size_t klen = (size_t)(p - 1 - k);
		struct jscan_member *cur = count < max ? &m[count] : NULL;
		count++;
		while (*p != ':')
			p++;
		p++;
		SKIP_WS(p, end);
		if (cur != NULL) {
			cur->key = k;
			cur->klen = klen;
			cur->val = p;
			cur->type = value_type(*p);
		}
		/* Skip the value: strings whole, brackets counted. */
		size_t depth = 0;
		while (p < end) {
			char c = *p;
			if (c == '"') {
				p = jscan_string_end(p + 1, end);
				if (depth == 0)
					break;
				continue;
			}
			if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (depth == 0)
					break;	/* the object's own brace */
				if (--depth == 0) {
					p++;
					break;
				}
			} else if (depth == 0 && (c == ',' || is_ws(c))) {
				break;
			}
			p++;
		}
		if (cur != NULL)
			cur->vlen = (size_t)(p - cur->val);
	}
}
