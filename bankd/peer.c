/*
 * peer.c - what a peer may do (peer.h).  Today every privilege is root's
 * and slurm_user's; the questions are separate so that one can change
 * (a site's operators steering the queue) without the others.
 */
#include "peer.h"

int
peer_privileged(const struct peer *p, uid_t slurm_uid)
{
	return p->uid == 0 || p->uid == slurm_uid;
}

int
peer_may_report(const struct peer *p, uid_t slurm_uid)
{
	return peer_privileged(p, slurm_uid);
}

int
peer_may_see_queue(const struct peer *p, uid_t slurm_uid)
{
	return peer_privileged(p, slurm_uid);
}

int
peer_may_steer(const struct peer *p, uid_t slurm_uid)
{
	return peer_privileged(p, slurm_uid);
}
