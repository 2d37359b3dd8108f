/*
 * utf8.c - UTF-8 validation with an ASCII fast path: sixteen (SSE2) or eight
 * bytes at a time while no byte has its top bit set, which is nearly all of
 * a log.
 */
#include "utf8.h"

#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

size_t
utf8_valid_prefix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
#ifdef __SSE2__
		while (e - p >= 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			if (_mm_movemask_epi8(x) != 0)
				break;
			p += 16;
		}
#endif
		while (e - p >= 8) {
			uint64_t v;
			memcpy(&v, p, 8);
			if (v & 0x8080808080808080ULL)
				break;
			p += 8;
		}
		if (p == e)
			break;
		/* A short ASCII tail: check the last 8 bytes, overlapping what
		 * is done, instead of going byte by byte. */
		if (e - p < 8 && n >= 8) {
			uint64_t v;
			memcpy(&v, e - 8, 8);
			if (!(v & 0x8080808080808080ULL)) {
				p = e;
				break;
			}
		}
		unsigned c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t need;
		unsigned lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else {
			break;
		}
		if ((size_t)(e - p) <= need)
			break;
		if (p[1] < lo || p[1] > hi)
			break;
		size_t i;
		for (i = 2; i <= need; i++)
			if ((p[i] & 0xc0) != 0x80)
				break;
		if (i <= need)
			break;
		p += need + 1;
	}
	return (size_t)(p - (const unsigned char *)s);
}
