/*
 * peer.h - who is at the other end of a connection, and what they may do.
 *
 * A listener establishes the peer once, when it accepts (listen.c: the
 * kernel's SO_PEERCRED on the Unix socket; listen_tcp.c: the MUNGE
 * credential of the first request, which every later one must match),
 * and the connection carries it.  Every decision of
 * who may do what asks the peer, never the socket, so a request is judged
 * the same whichever way it came.
 */
#ifndef PEER_H
#define PEER_H

#include <stddef.h>
#include <sys/types.h>

struct bp_msg;

enum peer_how {
	PEER_UNIX_CRED,		/* SO_PEERCRED: the kernel vouches */
	PEER_MUNGE,		/* a MUNGE credential over TCP: munged vouches */
	/*
	 * peer_uid/peer_gid of a request from root or slurm_user (a relay
	 * on another host, for its client's SO_PEERCRED): the relay vouches,
	 * its own credential vouching for the relay.
	 */
	PEER_RELAYED,
};

struct peer {
	uid_t		 uid;		/* (uid_t)-1: unknown, a user */
	gid_t		 gid;
	pid_t		 pid;		/* for logs; 0 where the way has none */
	enum peer_how	 how;
};

/*
 * Root and slurm_user: the plugins.  They report jobs, check for any uid,
 * place holds, see and steer the queue, and are never capped (conn.c).
 */
int		 peer_privileged(const struct peer *, uid_t slurm_uid);
/* START and END: what the accounts are charged. */
int		 peer_may_report(const struct peer *, uid_t slurm_uid);
/* QUEUE and SHOW: every account's charges. */
int		 peer_may_see_queue(const struct peer *, uid_t slurm_uid);
/* RETRY, DROP, PAUSE, RESUME. */
int		 peer_may_steer(const struct peer *, uid_t slurm_uid);

/*
 * The relay rule (docs/reliability.md): when m carries peer_uid and
 * peer_gid and *p (who sent it: SO_PEERCRED, the MUNGE credential) is
 * root or slurm_user, *p becomes {peer_uid, peer_gid, PEER_RELAYED}; the
 * fields are taken out of m either way.  0 (with *p as it now is), or
 * -1 with the refusal in msg: the fields from anyone else, or not both
 * given, or not uids.  A *p already PEER_RELAYED (the connection was
 * switched by a relay) may name a uid again.
 */
int		 peer_take_relayed(struct bp_msg *m, struct peer *p,
		    uid_t slurm_uid, char *msg, size_t msglen);

#endif /* PEER_H */
