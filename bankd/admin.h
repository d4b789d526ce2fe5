/*
 * admin.h - bankctl's queue and holds requests.
 */
#ifndef ADMIN_H
#define ADMIN_H

struct bankd;
struct conn;
struct req;

/* BP_T_HOLDS: the caller's own holds; root and slurm_user any. */
void		 admin_holds(struct bankd *, struct conn *, const struct req *);
/* BP_T_QUEUE, BP_T_SHOW. */
void		 admin_look(struct bankd *, struct conn *, const struct req *);
/* BP_T_RETRY, BP_T_DROP, BP_T_PAUSE, BP_T_RESUME. */
void		 admin_steer(struct bankd *, struct conn *, const struct req *);

#endif /* ADMIN_H */
