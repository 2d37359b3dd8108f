/*
 * hash.h - a fast 128-bit non-cryptographic hash for record ids.
 *
 * Ids must be the same for the same input on every machine and every run,
 * so the function is fixed here (no per-process seed) and byte-order
 * independent.  It is not a defence against crafted collisions.
 */
#ifndef SLUICE_HASH_H
#define SLUICE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct hash128 {
	uint64_t lo, hi;
};

/* Continue hashing n bytes of p from state h (start from hash128_seed()).
 * Each call pads its own tail, so the result depends on how the input is
 * cut into calls: hash the same pieces the same way. */
struct hash128 hash128_seed(uint64_t seed);
void hash128_update(struct hash128 *h, const void *p, size_t n);
/* Hash the 8 bytes of v, least significant first (the same on every
 * host): hash128_update() of those bytes, without the byte shuffling. */
void hash128_u64(struct hash128 *h, uint64_t v);

/* Finish: mixes in the total length given.  hash128_final() gives the
 * two words; hash128_hex() writes them as 32 lower-case hex digits (no
 * NUL) to out, lo first. */
struct hash128 hash128_final(struct hash128 h, uint64_t total);
void hash128_hex(struct hash128 h, uint64_t total, char out[32]);

/* One finished 64-bit hash of p[0, n), for hash tables. */
uint64_t hash64(const void *p, size_t n, uint64_t seed);

/* A quick hash for in-memory tables of short keys (field values looked
 * up several times per record): a few multiplications per 8 bytes.  The
 * tables only need keys spread, not ids that last or resist crafted
 * collisions, so use it only where a collision costs time, never
 * correctness. */
static inline uint64_t
hash_quick(const void *key, size_t n, uint64_t seed)
{
	const unsigned char *p = key;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL), x;
	/* The tail is read with loads that overlap what came before (a
	 * copy of a variable length costs a call): the length, mixed in
	 * first, tells apart keys the overlap would not. */
	if (n > 8) {
		const unsigned char *last = p + n - 8;
		for (; p < last; p += 8) {
			memcpy(&x, p, 8);
			h = (h ^ x) * 0xff51afd7ed558ccdULL;
			h ^= h >> 32;
		}
		memcpy(&x, last, 8);
	} else if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		x = (uint64_t)a << 32 | b;
	} else if (n > 0) {
		x = (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
	} else {
		x = 0;
	}
	/* Two rounds: a byte at the top of x must reach the low bits,
	 * which pick the table slot. */
	h = (h ^ x) * 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 32;
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 29);
}

#endif
