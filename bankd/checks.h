/*
 * checks.h - the submit decision (BP_T_CHECK): may this job's account pay
 * its estimate on top of what is already held?  See check.c.
 */
#ifndef CHECKS_H
#define CHECKS_H

struct bankd;
struct conn;
struct req;

int		 check_init(struct bankd *);
/* At exit, after api_free(): checks still waiting are dropped. */
void		 check_fini(struct bankd *);
void		 check_request(struct bankd *, struct conn *,
		    const struct req *);

#endif /* CHECKS_H */
