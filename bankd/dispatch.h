/*
 * dispatch.h - a request from a connection to its handler: its fields
 * checked (fields.c), decoded once (req.c), then handed to the handler of
 * its type.  The connection layer calls it through the frame function
 * given to conn_init(), so that it knows nothing of the handlers.
 */
#ifndef DISPATCH_H
#define DISPATCH_H

struct bp_msg;
struct conn;

/* A conn_frame_fn; arg is the struct bankd. */
void		 dispatch_request(void *arg, struct conn *, struct bp_msg *);

#endif /* DISPATCH_H */
