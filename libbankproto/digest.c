/*
 * digest.c - what a MUNGE credential binds (bankproto.h, bp_digest()):
 * the SHA-256 of the frame as it would be encoded without its cred field,
 * header included (type, id, length), the other fields in their order.
 * The sender computes it before it adds the credential; bankd computes it
 * from the frame it parsed, so both hash the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"
#include "sha256.h"

int
bp_digest(const struct bp_msg *m, uint8_t out[BP_DIGEST_LEN])
{
	struct bp_msg *bare;
	uint8_t *frame;
	size_t i;
	long len;

	if ((bare = malloc(sizeof(*bare))) == NULL)
		return BP_ENOMEM;
	bp_init(bare, m->type, m->id);
	for (i = 0; i < m->nfields; i++) {
		if (strcmp(m->fields[i].key, BP_CRED_KEY) == 0)
			continue;
		/* The pointers only: m outlives the encoding. */
		bare->fields[bare->nfields].key = m->fields[i].key;
		bare->fields[bare->nfields].val = m->fields[i].val;
		bare->nfields++;
	}
	len = bp_encode(bare, &frame);
	free(bare);
	if (len < 0)
		return (int)len;
	sha256(frame, (size_t)len, out);
	free(frame);
	return BP_OK;
}

long
bp_encode_cred(const struct bp_msg *req, const char *cred, uint8_t **out)
{
	struct bp_msg *m;
	size_t i;
	long len;
	int rc;

	if (bp_get(req, BP_CRED_KEY) != NULL)
		return BP_ESYNTAX;	/* the credential is the caller's to add */
	/* A struct bp_msg is large: not on a worker thread's stack. */
	if ((m = malloc(sizeof(*m))) == NULL)
		return BP_ENOMEM;
	/* req's fields in their order (the pointers only), cred last. */
	bp_init(m, req->type, req->id);
	for (i = 0; i < req->nfields; i++) {
		m->fields[i].key = req->fields[i].key;
		m->fields[i].val = req->fields[i].val;
	}
	m->nfields = req->nfields;
	if ((rc = bp_add(m, BP_CRED_KEY, cred)) != BP_OK) {
		free(m);
		return rc;
	}
	len = bp_encode(m, out);
	free(m);
	return len;
}
