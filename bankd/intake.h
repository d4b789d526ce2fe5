/*
 * intake.h - the spool: reports the plugins wrote to files while bankd
 * could not be reached, taken in at start and every 2 s.
 */
#ifndef INTAKE_H
#define INTAKE_H

#include <stddef.h>
#include <stdint.h>

struct bankd;
struct bp_msg;

int		 intake_start(struct bankd *);
/* No more passes (shutdown); the files in flight still finish. */
void		 intake_stop(struct bankd *);
/* After the queue is closed: nothing can answer a file any more. */
void		 intake_free(struct bankd *);

/*
 * What a spool file must hold: one start or completion report, whole, and
 * nothing after it, whose fields pass the socket's rules (fields.c).  0,
 * or -1 with why in why[0..len).
 */
int		 intake_decode(const uint8_t *buf, size_t n, struct bp_msg *,
		    char *why, size_t len);

#endif /* INTAKE_H */
