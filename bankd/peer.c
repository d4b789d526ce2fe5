/*
 * peer.c - what a peer may do (peer.h).  Today every privilege is root's
 * and slurm_user's; the questions are separate so that one can change
 * (a site's operators steering the queue) without the others.
 */
#include <stdint.h>
#include <stdio.h>

#include "fields.h"
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

int
peer_take_relayed(struct bp_msg *m, struct peer *p, uid_t slurm_uid,
    char *msg, size_t msglen)
{
	uint32_t uid, gid;
	int rc;

	if ((rc = fields_take_peer(m, &uid, &gid, msg, msglen)) <= 0)
		return rc;
	if (p->how != PEER_RELAYED && !peer_privileged(p, slurm_uid)) {
		snprintf(msg, msglen, "refused: only root or the SlurmUser (a "
		    "relay) may speak for another uid");
		return -1;
	}
	p->uid = (uid_t)uid;
	p->gid = (gid_t)gid;
	p->how = PEER_RELAYED;
	return 0;
}
