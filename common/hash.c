/*
 * hash.c - two 64-bit multiply-rotate lanes over alternate 8-byte words,
 * finished with MurmurHash3's fmix64 on each lane after cross-mixing.
 */
#include "hash.h"

#include <string.h>

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL
#define P3 0x165667b19e3779f9ULL

static inline uint64_t
rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

static inline uint64_t
load64(const unsigned char *p)
{
	/* Little-endian on every host, so ids agree across machines. */
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

struct hash128
hash128_seed(uint64_t seed)
{
	struct hash128 h = { seed ^ P3, rotl(seed, 29) ^ P1 };
	return h;
}

void
hash128_update(struct hash128 *h, const void *data, size_t n)
{
	const unsigned char *p = data;
	uint64_t a = h->lo, b = h->hi;

	/* Two independent lanes, one word each per step: two multiply chains
	 * the processor runs side by side. */
	while (n >= 16) {
		a = rotl((a ^ load64(p)) * P1, 31);
		b = rotl((b ^ load64(p + 8)) * P2, 27);
		p += 16;
		n -= 16;
	}
	if (n) {
		unsigned char tail[16] = { 0 };
		memcpy(tail, p, n);
		a = rotl((a ^ load64(tail)) * P1, 31);
		b = rotl((b ^ load64(tail + 8) ^ ((uint64_t)n << 59)) * P2, 27);
	}
	h->lo = a;
	h->hi = b ^ rotl(a, 17);
}

void
hash128_u64(struct hash128 *h, uint64_t v)
{
	/* What hash128_update() does with an 8-byte input: one word and an
	 * empty second word marked with the length. */
	h->lo = rotl((h->lo ^ v) * P1, 31);
	uint64_t b = rotl((h->hi ^ ((uint64_t)8 << 59)) * P2, 27);
	h->hi = b ^ rotl(h->lo, 17);
}

struct hash128
hash128_final(struct hash128 h, uint64_t total)
{
	uint64_t a = h.lo ^ total, b = h.hi ^ (total * P3);

	a += b;
	b += a;
	a = fmix64(a);
	b = fmix64(b);
	a += b;
	b += a;
	struct hash128 r = { a, b };
	return r;
}

uint64_t
hash64(const void *p, size_t n, uint64_t seed)
{
	struct hash128 h = hash128_seed(seed);
	hash128_update(&h, p, n);
	return hash128_final(h, n).lo;
}

void
hash128_hex(struct hash128 h, uint64_t total, char out[32])
{
	struct hash128 f = hash128_final(h, total);
	uint64_t a = f.lo, b = f.hi;

	/* Two hex digits per byte, from the low end, filling backwards. */
	static const char pairs[] =
	    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";
	for (int i = 7; i >= 0; i--) {
		memcpy(out + 2 * i, pairs + 2 * (a & 255), 2);
		memcpy(out + 16 + 2 * i, pairs + 2 * (b & 255), 2);
		a >>= 8;
		b >>= 8;
	}
}
