/*
 * relaycred.h - a relay's requests made ready for TCP: the MUNGE
 * credential that binds each (its payload is bp_digest() of the request,
 * as client_tcp.c makes it), made fresh for every attempt.
 *
 * The credential maker is a function, so that the tests put a fake one
 * in its place (and a fake upstream checks what it vouches for).
 */
#ifndef RELAYCRED_H
#define RELAYCRED_H

#include <stddef.h>
#include <stdint.h>

#include "bankproto.h"

/*
 * A credential for digest in *cred (malloc'd), 0; or -1 with why.
 * Called on the forwarder's and the queries' threads: it must be safe
 * there (libmunge is: a context per call).
 */
typedef int	 (*relaycred_fn)(void *arg, const uint8_t *digest, size_t len,
		    char **cred, char *why, size_t whylen);

/* libmunge's, arg the munged socket (NULL: libmunge's default). */
int		 relaycred_munge(void *arg, const uint8_t *digest, size_t len,
		    char **cred, char *why, size_t whylen);

/*
 * req encoded with a credential of fn's as its last field: the frame in
 * *out (to free) and its length, 0; or a BP_E* with why (BP_ECRED: no
 * credential).
 */
int		 relaycred_frame(const struct bp_msg *req, relaycred_fn fn,
		    void *arg, uint8_t **out, size_t *len, char *why,
		    size_t whylen);

#endif /* RELAYCRED_H */
