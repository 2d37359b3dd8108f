/*
 * swar.h - eight bytes at a time in a 64-bit word ("SIMD within a
 * register"), for the scans that dominate JSON reading and writing.
 */
#ifndef SLUICE_SWAR_H
#define SLUICE_SWAR_H

#include <stdbool.h>
#include <stdint.h>

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

static inline bool
swar_json_special(uint64_t x)
{
	return swar_json_special_mask(x) != 0;
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

#endif
