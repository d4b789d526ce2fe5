/*
 * client_tcp.c - a request over TCP to bankd's listen_tcp:, with a MUNGE
 * credential made for it (bankproto.h, bp_call_tcp()).  Its own library
 * (bankproto_tcp), so that only what talks TCP links libmunge.
 *
 * The credential's payload is bp_digest() of the request, so it vouches
 * for this request alone; a fresh one is made for every call, since munged
 * refuses a credential decoded before (replay) or past its TTL.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <munge.h>

#include "bankproto.h"

/*
 * Whether munged takes a connection now.  libmunge, finding munged's
 * socket there but refusing, retries with growing sleeps for seconds,
 * with no deadline of ours; inside slurmctld that would hold its locks.
 * A connect() to a Unix socket never waits: it is taken, refused, or the
 * backlog is full (EAGAIN), so this answers at once.  bp_call_tcp's
 * only (the plugins, bankctl): munged logs each such empty connection
 * ("Received incomplete message header"), which a relay, making a
 * credential for every report in a thread of its own, must not cost.
 */
static int
munged_listens(const char *munge_socket, char *why, size_t whylen)
{
	struct sockaddr_un sun;
	munge_ctx_t ctx;
	char *path = NULL;
	int fd, rc;

	if ((ctx = munge_ctx_create()) == NULL)
		return 1;	/* bp_cred_make will say so */
	if ((munge_socket != NULL && munge_ctx_set(ctx, MUNGE_OPT_SOCKET,
	    munge_socket) != EMUNGE_SUCCESS) || munge_ctx_get(ctx,
	    MUNGE_OPT_SOCKET, &path) != EMUNGE_SUCCESS || path == NULL ||
	    strlen(path) >= sizeof(sun.sun_path)) {
		munge_ctx_destroy(ctx);
		return 1;	/* libmunge will say what is wrong */
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		munge_ctx_destroy(ctx);
		return 1;
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (rc != 0)
		snprintf(why, whylen, "munged does not answer at %s: %s", path,
		    strerror(errno));
	close(fd);
	munge_ctx_destroy(ctx);
	return rc == 0;
}

int
bp_cred_make(const char *munge_socket, const uint8_t *payload, size_t len,
    char **cred, char *why, size_t whylen)
{
	munge_ctx_t ctx;
	munge_err_t e;

	*cred = NULL;
	if ((ctx = munge_ctx_create()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return BP_ENOMEM;
	}
	if (munge_socket != NULL && munge_ctx_set(ctx, MUNGE_OPT_SOCKET,
	    munge_socket) != EMUNGE_SUCCESS) {
		snprintf(why, whylen, "munge socket %s: %s", munge_socket,
		    munge_ctx_strerror(ctx));
		munge_ctx_destroy(ctx);
		return BP_ECRED;
	}
	if ((e = munge_encode(cred, ctx, payload, (int)len)) !=
	    EMUNGE_SUCCESS) {
		snprintf(why, whylen, "%s", munge_ctx_strerror(ctx) ?
		    munge_ctx_strerror(ctx) : munge_strerror(e));
		free(*cred);
		*cred = NULL;
		munge_ctx_destroy(ctx);
		return BP_ECRED;
	}
	munge_ctx_destroy(ctx);
	return BP_OK;
}

int
bp_call_tcp(const char *hostport, const char *munge_socket, int deadline_ms,
    const struct bp_msg *req, struct bp_msg *rep, char *why, size_t whylen)
{
	uint8_t digest[BP_DIGEST_LEN], *frame;
	char *cred = NULL, *addr;
	long len;
	int rc;

	if (whylen > 0)
		why[0] = '\0';
	if (bp_get(req, BP_CRED_KEY) != NULL)
		return BP_ESYNTAX;	/* the credential is ours to add */
	if ((rc = bp_digest(req, digest)) != BP_OK)
		return rc;
	if (!munged_listens(munge_socket, why, whylen))
		return BP_ECRED;
	if ((rc = bp_cred_make(munge_socket, digest, sizeof(digest), &cred,
	    why, whylen)) != BP_OK)
		return rc;
	if ((len = bp_encode_cred(req, cred, &frame)) < 0) {
		rc = (int)len;
		goto out;
	}
	rc = BP_ENOMEM;
	if (asprintf(&addr, "tcp:%s", hostport) >= 0) {
		rc = bp_call_frame(addr, deadline_ms, frame, (size_t)len, req,
		    rep);
		free(addr);
	}
	free(frame);
out:
	free(cred);
	return rc;
}
