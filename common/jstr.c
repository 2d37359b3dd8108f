/*
 * jstr.c - JSON string escapes decoded (RFC 8259 section 7).
 */
#include "jstr.h"

#include <stdint.h>
#include <string.h>

static unsigned
hex4(const char *s)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else
			v |= (unsigned)(c - 'A' + 10);
	}
	return v;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

size_t
jstr_unescape(const char *s, size_t n, char *out)
{
	const char *bs = memchr(s, '\\', n);
	size_t i, o;

	if (bs == NULL) {
		memcpy(out, s, n);
		return n;
	}
	o = i = (size_t)(bs - s);
	memcpy(out, s, i);
	while (i < n) {
		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		char c = s[i + 1];
		i += 2;
		switch (c) {
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u': {
			uint32_t cp = hex4(s + i);
			i += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= n && s[i] == '\\' &&
			    s[i + 1] == 'u') {
				uint32_t lo = hex4(s + i + 2);
				if (lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					i += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;	/* a lone surrogate */
			o += put_utf8(out + o, cp);
			break;
		}
		default:		/* '"', '\\', '/' */
			out[o++] = c;
			break;
		}
	}
	return o;
}

bool
jstr_equal(const char *s, size_t n, const char *p, size_t len)
{
	if (memchr(s, '\\', n) == NULL)
		return n == len && memcmp(s, p, n) == 0;
	if (len > n)
		return false;	/* decoding never lengthens */
	char buf[256];
	if (n > sizeof(buf))
		return false;	/* keys this long with escapes: not ours to find */
	size_t k = jstr_unescape(s, n, buf);
	return k == len && memcmp(buf, p, len) == 0;
}
