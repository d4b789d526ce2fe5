/*
 * tcpauth.c - a TCP request's MUNGE credential (tcpauth.h).  The
 * credential is good when munged decodes it (the same key: a host of the
 * cluster made it, for the uid and gid it names), has not seen it before,
 * it is within its TTL, and its payload is exactly the digest of the
 * request it came with (bp_digest(): the frame without the cred field),
 * so a credential captured on the wire carries no other request.
 */
#include <stdio.h>
#include <string.h>

#include "bankproto.h"
#include "peer.h"
#include "tcpauth.h"

const char *
tcpauth_name(enum tcpauth_rc rc)
{
	switch (rc) {
	case TA_OK:		return "ok";
	case TA_NOCRED:		return "no credential";
	case TA_BAD:		return "undecodable credential";
	case TA_REPLAYED:	return "replayed credential";
	case TA_EXPIRED:	return "expired credential";
	case TA_MISMATCH:	return "credential of another request";
	case TA_UNAVAILABLE:	return "munged unavailable";
	case TA_NOMEM:		return "out of memory";
	}
	return "?";
}

/* The cred field out of m (its value stays in m's body). */
static void
strip_cred(struct bp_msg *m)
{
	size_t i;

	for (i = 0; i < m->nfields; i++)
		if (strcmp(m->fields[i].key, BP_CRED_KEY) == 0)
			break;
	if (i == m->nfields)
		return;
	/* A decoded message owns no value, only its body (frame.c). */
	memmove(&m->fields[i], &m->fields[i + 1],
	    (m->nfields - i - 1) * sizeof(m->fields[0]));
	m->nfields--;
}

_Static_assert(sizeof(((struct tcpauth_decoded *)0)->payload) ==
    BP_DIGEST_LEN, "a decoded payload holds one digest");

const char *
tcpauth_cred(const struct bp_msg *m)
{
	return bp_get(m, BP_CRED_KEY);
}

void
tcpauth_decode(tcpauth_decode_fn decode, void *arg, const char *cred,
    struct tcpauth_decoded *d)
{
	memset(d, 0, sizeof(*d));
	d->uid = (uid_t)-1;
	d->gid = (gid_t)-1;
	d->rc = decode(arg, cred, d->payload, sizeof(d->payload), &d->plen,
	    &d->uid, &d->gid, d->why, sizeof(d->why));
}

enum tcpauth_rc
tcpauth_check(tcpauth_decode_fn decode, void *arg, struct bp_msg *m,
    struct peer *p, char *msg, size_t msglen)
{
	struct tcpauth_decoded d;
	const char *cred = tcpauth_cred(m);

	memset(&d, 0, sizeof(d));
	d.rc = TA_NOCRED;
	if (cred != NULL && *cred != '\0' && m->owned == 0)
		tcpauth_decode(decode, arg, cred, &d);
	return tcpauth_judge(m, &d, p, msg, msglen);
}

enum tcpauth_rc
tcpauth_judge(struct bp_msg *m, const struct tcpauth_decoded *d,
    struct peer *p, char *msg, size_t msglen)
{
	uint8_t want[BP_DIGEST_LEN];
	const char *cred = tcpauth_cred(m);
	char why[TCPAUTH_WHY_LEN];
	enum tcpauth_rc rc = d->rc;

	if (cred == NULL || *cred == '\0') {
		snprintf(msg, msglen, "refused: a request over TCP must carry "
		    "a MUNGE credential (field %s)", BP_CRED_KEY);
		return TA_NOCRED;
	}
	if (m->owned != 0) {
		snprintf(msg, msglen, "refused: not a received request");
		return TA_BAD;
	}
	snprintf(why, sizeof(why), "%s", d->why);
	if (rc == TA_OK && bp_digest(m, want) != BP_OK)
		rc = TA_NOMEM;
	if (rc == TA_OK && (d->plen != sizeof(want) ||
	    memcmp(d->payload, want, sizeof(want)) != 0))
		rc = TA_MISMATCH;
	if (rc == TA_OK && (d->uid == (uid_t)-1 || d->gid == (gid_t)-1)) {
		rc = TA_BAD;
		snprintf(why, sizeof(why), "no uid or gid");
	}
	switch (rc) {
	case TA_OK:
		break;
	case TA_REPLAYED:
		snprintf(msg, msglen, "refused: the MUNGE credential was used "
		    "before (a replay); every request needs a fresh one");
		return rc;
	case TA_EXPIRED:
		snprintf(msg, msglen, "refused: the MUNGE credential has "
		    "expired or is not yet valid (%s); check the clocks",
		    why[0] ? why : "TTL");
		return rc;
	case TA_MISMATCH:
		snprintf(msg, msglen, "refused: the MUNGE credential's payload "
		    "is not this request's digest (a credential of another "
		    "request)");
		return rc;
	case TA_UNAVAILABLE:
		snprintf(msg, msglen, "cannot verify the MUNGE credential now: "
		    "%s", why[0] ? why : "munged unavailable");
		return rc;
	case TA_NOMEM:
		snprintf(msg, msglen, "cannot verify the MUNGE credential: "
		    "out of memory");
		return rc;
	default:
		snprintf(msg, msglen, "refused: the MUNGE credential cannot be "
		    "decoded (%s)", why[0] ? why : "invalid");
		return rc;
	}
	memset(p, 0, sizeof(*p));
	p->uid = d->uid;
	p->gid = d->gid;
	p->pid = 0;
	p->how = PEER_MUNGE;
	strip_cred(m);
	msg[0] = '\0';
	return TA_OK;
}
