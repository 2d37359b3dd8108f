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
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&x, p, 8);
		h = (h ^ x) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
	}
	x = 0;
	if (n > 0)
		memcpy(&x, p, n);
	h = (h ^ x) * 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

#endif
