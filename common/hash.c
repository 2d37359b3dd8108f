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
hash128_hex(struct hash128 h, uint64_t total, char out[32])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t a = h.lo ^ total, b = h.hi ^ (total * P3);

	a += b;
	b += a;
	a = fmix64(a);
	b = fmix64(b);
	a += b;
	b += a;
	/* A nibble at a time from the low end, filling each half backwards. */
	for (int i = 15; i >= 0; i--) {
		out[i] = hex[a & 15];
		out[16 + i] = hex[b & 15];
		a >>= 4;
		b >>= 4;
	}
}
