/*
 * fields.h - what a request's fields may hold, checked once where the
 * request enters bankd (the socket, the spool), before any handler reads
 * it.  After fields_check() passes, every number a handler reads with
 * bp_get_u64() parses and is within its bound (lim.h), and every
 * value is printable UTF-8.
 */
#ifndef FIELDS_H
#define FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include "bankproto.h"

/*
 * 0, or -1 with "field 'KEY' ..." in err: a value that is not valid
 * UTF-8 or holds a control character, a number that does not parse or is
 * beyond its bound, a name that is not a name.  Unknown keys pass (the
 * protocol lets fields be added); so do request types without rules.
 *
 * A start or completion report is a job that ran, to be charged: the
 * text of one that is not printable is mended in place instead ('?' for
 * each bad byte) and the keys mended are listed in `fixed` ("" if none;
 * fixedlen 0 refuses like any request).  Its numbers are checked as
 * strictly as any.
 */
int	 fields_check(struct bp_msg *, char *err, size_t errlen, char *fixed,
	    size_t fixedlen);

/*
 * An account name that may go into a URL path: 1 to LIM_ACCOUNT_LEN of
 * [A-Za-z0-9_.-], not "." or ".." (curl would fold those out of the
 * path) and not starting with '-'.
 */
int	 fields_account_ok(const char *);

/*
 * A relay's fields (docs/protocol.md): the uid and gid it speaks for,
 * each a decimal uid from 0 to LIM_UID.  1 with both in *uid, *gid, 0 when
 * m has neither, -1 with err ("refused: ..." or "field ...") when one is
 * missing or not a uid.  Either way they are taken out of m.  Who may
 * send them is peer.c's question (peer_take_relayed).
 */
#define FIELDS_PEER_UID	"peer_uid"
#define FIELDS_PEER_GID	"peer_gid"
int	 fields_take_peer(struct bp_msg *, uint32_t *uid, uint32_t *gid,
	    char *err, size_t errlen);

#endif /* FIELDS_H */
