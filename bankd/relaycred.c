/*
 * relaycred.c - credentials for a relay's requests (relaycred.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relaycred.h"

int
relaycred_munge(void *arg, const uint8_t *digest, size_t len, char **cred,
    char *why, size_t whylen)
{
	return bp_cred_make(arg, digest, len, cred, why, whylen) == BP_OK ?
	    0 : -1;
}

int
relaycred_frame(const struct bp_msg *req, relaycred_fn fn, void *arg,
    uint8_t **out, size_t *len, char *why, size_t whylen)
{
	uint8_t digest[BP_DIGEST_LEN];
	char *cred;
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
	n = bp_encode_cred(req, cred, out);
	free(cred);
	if (n < 0)
		return (int)n;
	*len = (size_t)n;
	return BP_OK;
}
