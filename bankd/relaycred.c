/*
 * relaycred.c - credentials for a relay's requests (relaycred.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <munge.h>

#include "relaycred.h"

int
relaycred_munge(void *arg, const uint8_t *digest, size_t len, char **cred,
    char *why, size_t whylen)
{
	const char *sock = arg;
	munge_ctx_t ctx;
	munge_err_t e;

	*cred = NULL;
	if ((ctx = munge_ctx_create()) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	if (sock != NULL && munge_ctx_set(ctx, MUNGE_OPT_SOCKET, sock) !=
	    EMUNGE_SUCCESS) {
		snprintf(why, whylen, "munge socket %s: %s", sock,
		    munge_ctx_strerror(ctx));
		munge_ctx_destroy(ctx);
		return -1;
	}
	if ((e = munge_encode(cred, ctx, digest, (int)len)) !=
	    EMUNGE_SUCCESS) {
		snprintf(why, whylen, "%s", munge_ctx_strerror(ctx) ?
		    munge_ctx_strerror(ctx) : munge_strerror(e));
		free(*cred);
		*cred = NULL;
		munge_ctx_destroy(ctx);
		return -1;
	}
	munge_ctx_destroy(ctx);
	return 0;
}

int
relaycred_frame(const struct bp_msg *req, relaycred_fn fn, void *arg,
    uint8_t **out, size_t *len, char *why, size_t whylen)
{
	uint8_t digest[BP_DIGEST_LEN];
	struct bp_msg *m;
	char *cred;
	size_t i;
	long n;
	int rc;

	if (whylen > 0)
		why[0] = '\0';
	if (bp_get(req, BP_CRED_KEY) != NULL)
		return BP_ESYNTAX;	/* the credential is ours to add */
	if ((rc = bp_digest(req, digest)) != BP_OK)
		return rc;
	if (fn(arg, digest, sizeof(digest), &cred, why, whylen) != 0)
		return BP_ECRED;
	/* A struct bp_msg is large: not on a worker thread's stack. */
	if ((m = malloc(sizeof(*m))) == NULL) {
		free(cred);
		return BP_ENOMEM;
	}
	bp_init(m, req->type, req->id);
	for (i = 0; i < req->nfields; i++) {
		m->fields[i].key = req->fields[i].key;
		m->fields[i].val = req->fields[i].val;
	}
	m->nfields = req->nfields;
	rc = bp_add(m, BP_CRED_KEY, cred);
	if (rc == BP_OK && (n = bp_encode(m, out)) < 0)
		rc = (int)n;
	else if (rc == BP_OK)
		*len = (size_t)n;
	free(m);
	free(cred);
	return rc;
}
