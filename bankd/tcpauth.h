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
 * What the decoder said of a credential, kept until the request's turn
 * (credq.c decodes off the event loop): judged by tcpauth_judge().
 */
#define TCPAUTH_WHY_LEN	160
struct tcpauth_decoded {
	enum tcpauth_rc	 rc;
	uint8_t		 payload[32];		/* BP_DIGEST_LEN */
	size_t		 plen;
	uid_t		 uid;
	gid_t		 gid;
	char		 why[TCPAUTH_WHY_LEN];
};

/* d filled from decode(cred): what a decoder thread does. */
void		 tcpauth_decode(tcpauth_decode_fn, void *arg, const char *cred,
		    struct tcpauth_decoded *d);
/* m's cred field, NULL (or "") if it has none. */
const char	*tcpauth_cred(const struct bp_msg *m);
/*
 * m judged by its credential's decoding d, as tcpauth_check() says.
 * A d whose rc is TA_NOCRED or TA_UNAVAILABLE without a decode (no cred,
 * munged unanswered) is judged by its rc and why alone.
 */
enum tcpauth_rc	 tcpauth_judge(struct bp_msg *m, const struct tcpauth_decoded *d,
		    struct peer *p, char *msg, size_t msglen);

/*
 * m's credential: on TA_OK *p is the peer it names (PEER_MUNGE) and the
 * cred field is taken out of m, so no handler sees it; otherwise msg is
 * the reply's message (what was wrong, in words).
 */
enum tcpauth_rc	 tcpauth_check(tcpauth_decode_fn, void *arg, struct bp_msg *m,
		    struct peer *p, char *msg, size_t msglen);
const char	*tcpauth_name(enum tcpauth_rc);

#endif /* TCPAUTH_H */
