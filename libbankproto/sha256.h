/*
 * sha256.h - SHA-256 (FIPS 180-4), small and dependency-free: what binds
 * a MUNGE credential to the request it travels with (bp_digest(),
 * docs/protocol.md "Over TCP").
 */
#ifndef SHA256_H
#define SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32

struct sha256 {
	uint32_t	 h[8];
	uint64_t	 bytes;		/* taken in so far */
	uint8_t		 buf[64];
	size_t		 nbuf;
};

void	 sha256_init(struct sha256 *);
void	 sha256_update(struct sha256 *, const void *, size_t);
void	 sha256_final(struct sha256 *, uint8_t out[SHA256_LEN]);
/* The digest of p[0..len) at once. */
void	 sha256(const void *p, size_t len, uint8_t out[SHA256_LEN]);

#endif /* SHA256_H */
