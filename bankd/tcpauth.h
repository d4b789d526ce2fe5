/*
 * tcpauth.h - who sent a request over TCP: its MUNGE credential checked
 * (bankproto.h, BP_CRED_KEY), apart from munged itself so that a test can
 * stub the decoder (tests/unit/check_tcpauth.c).
 */
#ifndef TCPAUTH_H
#define TCPAUTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bp_msg;
struct peer;

enum tcpauth_rc {
	TA_OK,
	TA_NOCRED,		/* no cred field */
	TA_BAD,			/* undecodable, another key, malformed */
	TA_REPLAYED,		/* decoded before: munged remembers it */
	TA_EXPIRED,		/* past its TTL, or from the future */
	TA_MISMATCH,		/* its payload is not this request's digest */
	TA_UNAVAILABLE,		/* munged could not be asked */
	TA_NOMEM,
};

/*
 * Decode cred: its payload into payload[0..cap) (*plen its length, which
 * may exceed cap: then it is no digest), its uid and gid; a TA_* and, when
 * not TA_OK, why (munged's words).
 */
typedef enum tcpauth_rc (*tcpauth_decode_fn)(void *arg, const char *cred,
		    uint8_t *payload, size_t cap, size_t *plen, uid_t *,
		    gid_t *, char *why, size_t whylen);

/*
 * m's credential: on TA_OK *p is the peer it names (PEER_MUNGE) and the
 * cred field is taken out of m, so no handler sees it; otherwise msg is
 * the reply's message (what was wrong, in words).
 */
enum tcpauth_rc	 tcpauth_check(tcpauth_decode_fn, void *arg, struct bp_msg *m,
		    struct peer *p, char *msg, size_t msglen);
const char	*tcpauth_name(enum tcpauth_rc);

#endif /* TCPAUTH_H */
