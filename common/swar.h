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

/* Does any of the 8 bytes in x end a plain run of JSON string text: a
 * control byte (< 0x20), '"' or '\\'?  Exact: no false answers either way. */
static inline bool
swar_json_special(uint64_t x)
{
	uint64_t q = x ^ (SWAR_ONES * '"'), b = x ^ (SWAR_ONES * '\\');
	return (((x - SWAR_ONES * 0x20) & ~x) | ((q - SWAR_ONES) & ~q) |
	    ((b - SWAR_ONES) & ~b)) & SWAR_HIGH;
}

#endif
