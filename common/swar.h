/*
 * swar.h - eight bytes at a time in a 64-bit word ("SIMD within a
 * register"), for the scans that dominate JSON reading and writing.
 */
#ifndef SLUICE_SWAR_H
#define SLUICE_SWAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define SWAR_ONES 0x0101010101010101ULL
#define SWAR_HIGH 0x8080808080808080ULL

/* A mask with the high bit set in (at least) the first of the 8 bytes of
 * x that ends a plain run of JSON string text: a control byte (< 0x20),
 * '"' or '\\'.  Zero when there is none.  Bytes after the first such byte
 * may be marked falsely (borrows), the first never is. */
static inline uint64_t
swar_json_special_mask(uint64_t x)
{
	uint64_t q = x ^ (SWAR_ONES * '"'), b = x ^ (SWAR_ONES * '\\');
	return (((x - SWAR_ONES * 0x20) & ~x) | ((q - SWAR_ONES) & ~q) |
	    ((b - SWAR_ONES) & ~b)) & SWAR_HIGH;
}

/* Load 8 bytes in memory order into the low-to-high bytes of a word, so
 * the first byte in memory is the lowest (on every host). */
static inline uint64_t
swar_load(const char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t x;
	__builtin_memcpy(&x, p, 8);
	return x;
#else
	const unsigned char *u = (const unsigned char *)p;
	return (uint64_t)u[0] | (uint64_t)u[1] << 8 | (uint64_t)u[2] << 16 |
	    (uint64_t)u[3] << 24 | (uint64_t)u[4] << 32 | (uint64_t)u[5] << 40 |
	    (uint64_t)u[6] << 48 | (uint64_t)u[7] << 56;
#endif
}

/* Index (0..7) of the first marked byte of a non-zero mask. */
static inline unsigned
swar_first(uint64_t mask)
{
	return (unsigned)__builtin_ctzll(mask) / 8;
}

/* a[0, n) == b[0, n), for short keys and field values: a few loads, no
 * call (memcmp() costs more than the compare for a dozen bytes). */
static inline bool
swar_equal(const char *a, const char *b, size_t n)
{
	uint64_t x, y;
	uint32_t u, v;
	if (n >= 8) {
		for (size_t i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Index of the first byte of s[0, n) that ends plain JSON string text (a
 * control byte, '"' or '\\'), or n.  Sixteen bytes a step with SSE2 (every
 * x86-64 has it), eight with plain words elsewhere. */
static inline size_t
json_plain_span(const char *s, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
	const __m128i ctl = _mm_set1_epi8(0x1f);
	while (i + 16 <= n) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
		    _mm_cmpeq_epi8(x, bslash)),
		    _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
		unsigned bits = (unsigned)_mm_movemask_epi8(m);
		if (bits != 0)
			return i + (unsigned)__builtin_ctz(bits);
		i += 16;
	}
#endif
	while (i + 8 <= n) {
		uint64_t m = swar_json_special_mask(swar_load(s + i));
		if (m != 0)
			return i + swar_first(m);
		i += 8;
	}
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			return i;
		i++;
	}
	return n;
}

/* Does s[0, n) hold a backslash or a control byte?  (Text without them
 * needs no escaping once its '"' are known to be delimiters, as in an
 * access log line whose quoted fields hold no escapes.) */
static inline bool
has_backslash_or_control(const char *s, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i bslash = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
	while (i + 16 <= n) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i m = _mm_or_si128(_mm_cmpeq_epi8(x, bslash),
		    _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
		if (_mm_movemask_epi8(m) != 0)
			return true;
		i += 16;
	}
#endif
	for (; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == '\\')
			return true;
	return false;
}

#endif
