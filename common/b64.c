/*
 * b64.c - base64 encoding and decoding.
 */
#include "b64.h"

#include <stdint.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
b64_encode(char *out, const void *in, size_t n)
{
	const unsigned char *p = in;
	char *o = out;
	size_t i;

	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = alphabet[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	return (size_t)(o - out);
}

static int
value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
b64_decode(void *out, const char *in, size_t n)
{
	unsigned char *o = out;
	size_t i;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = value(in[i]), b = value(in[i + 1]);
		int c = in[i + 2] == '=' ? -2 : value(in[i + 2]);
		int d = in[i + 3] == '=' ? -2 : value(in[i + 3]);
		if (a < 0 || b < 0 || c == -1 || d == -1 ||
		    (c == -2 && d != -2) || ((c == -2 || d == -2) && i + 4 != n))
			return -1;
		*o++ = (unsigned char)(a << 2 | b >> 4);
		if (c >= 0)
			*o++ = (unsigned char)((b & 15) << 4 | c >> 2);
		if (d >= 0)
			*o++ = (unsigned char)((c & 3) << 6 | d);
	}
	return (long)(o - (unsigned char *)out);
}
