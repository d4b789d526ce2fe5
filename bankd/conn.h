/*
 * conn.h - a client's connection, whichever listener accepted it.
 *
 * A listener (listen.c, the Unix socket) establishes who the peer is and
 * hands the descriptor over with conn_open() or, to see each frame first
 * (the relay rule, MUNGE credentials), conn_open_gated(); from then on a
 * connection is the same whatever the way in: whole frames in, each
 * handed to the frame function given to conn_init() (dispatch.c), replies
 * out, the bounds one user may take of bankd (bank.yaml's limits:), and a
 * reference count that lets an answer outlive the client's patience.
 */
#ifndef CONN_H
#define CONN_H

#include <stdint.h>
#include <sys/types.h>

struct bankd;
struct bp_msg;
struct conn;
struct peer;

/*
 * A whole frame parsed from c: the request layer's to answer, at once or
 * later (conn_hold).  The message is freed when the function returns.
 */
typedef void	 (*conn_frame_fn)(void *arg, struct conn *c, struct bp_msg *);

int		 conn_init(struct bankd *, conn_frame_fn, void *arg);
/* Every connection closed, the module gone (at exit). */
void		 conn_fini(struct bankd *);
/* What the descriptor limit leaves for connections (start, reload). */
void		 conn_limits(struct bankd *);

/*
 * fd, accepted from p: a connection, or NULL when refused (the peer over
 * its share, bankd full, no memory), with fd closed and the refusal
 * logged now and then.
 */
struct conn	*conn_open(struct bankd *, int fd, const struct peer *p);

/*
 * A listener whose peer is known only from the requests (listen_tcp.c:
 * a MUNGE credential in each) opens with a gate: a pending peer (uid
 * (uid_t)-1) that is capped and timed out as a user until the gate names
 * it.  frame() sees each frame first and answers a CONN_GATE_*.
 * closed() is called once when the connection closes.
 */
enum {
	CONN_GATE_CLOSE = -1,	/* the connection is closed */
	CONN_GATE_PASS = 0,	/* the frame goes on to the frame function */
	CONN_GATE_DROP = 1,	/* the gate answered it */
	/*
	 * The gate moved the message out of its argument (leaving it empty,
	 * bp_init) and hands it on later with conn_pass(), in its turn: a
	 * credential being decoded (listen_tcp.c).  Frames after it keep
	 * coming to frame() until the gate says conn_pause().
	 */
	CONN_GATE_TAKEN = 2,
};
struct conn_gate {
	int		(*frame)(void *arg, struct conn *, struct bp_msg *);
	void		(*closed)(void *arg, struct conn *);
	void		 *arg;
};
struct conn	*conn_open_gated(struct bankd *, int fd, const struct peer *,
		    const struct conn_gate *);
/*
 * The gate found who the peer is: 0 when c may serve p (its first
 * request, within p's limits: share, or the same uid and gid as before;
 * or a root's or slurm_user's connection relaying user p, PEER_RELAYED,
 * which is then that user's), -1 with why in msg.
 */
int		 conn_set_peer(struct conn *, const struct peer *, char *msg,
		    size_t msglen);

/* A frame the gate took (CONN_GATE_TAKEN), to the frame function now. */
void		 conn_pass(struct conn *, struct bp_msg *);
/* The gate has its fill of c's frames: c is not read until resumed. */
void		 conn_pause(struct conn *);
void		 conn_resume(struct conn *);

const struct peer *conn_peer(const struct conn *);
void		 conn_reply(struct conn *, struct bp_msg *);
/* A reply of a status and a message (NULL: none), to request type/id. */
void		 conn_reply_status(struct conn *, uint8_t type, uint32_t id,
		    const char *status, const char *message);
void		 conn_hold(struct conn *);
void		 conn_release(struct conn *);

/* An answer is due on c: a user's connection is not idle meanwhile. */
void		 conn_wait_begin(struct conn *);
void		 conn_wait_end(struct conn *);

/*
 * A user's checks that ask the API: one of the user_checks_per_s (0 when
 * none is left this second), and the user_checks that may wait at once
 * (begin, then conn_check_end by uid, since the connection may be gone
 * by the time the API answers).  Root and slurm_user are not counted.
 */
int		 conn_take_api_check(struct conn *);
void		 conn_check_begin(struct conn *);
void		 conn_check_end(struct bankd *, uid_t);

#endif /* CONN_H */
