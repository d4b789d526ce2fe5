/*
 * dst_rng.c - the simulation's only source of chance: xoshiro256**
 * seeded through splitmix64 (both public domain, Vigna and Blackman), so
 * that a seed names one schedule on every machine and libc.
 */
#include "dst.h"

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
dst_rng_seed(struct dst_rng *g, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		g->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
dst_rng_next(struct dst_rng *g)
{
	uint64_t *s = g->s, r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return r;
}

uint64_t
dst_rng_below(struct dst_rng *g, uint64_t n)
{
	/* The bias of a modulo is nothing at these sizes; no loop. */
	return dst_rng_next(g) % n;
}

int
dst_rng_pct(struct dst_rng *g, unsigned pct)
{
	return dst_rng_below(g, 100) < pct;
}
