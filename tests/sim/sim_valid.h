/*
 * sim_valid.h: the Job serializer's validation, shared by POST and
 * PUT (sim_valid.c) and the handlers that charge (sim_jobs.c).
 */
#ifndef SIM_VALID_H
#define SIM_VALID_H

#include "sim_priv.h"

#define DATE_SUBMIT	0
#define DATE_START	1
#define DATE_END	2

struct job_in {
	json_t			*errs;		/* DRF field -> [messages] */
	json_t			*vals;		/* normalised given fields */
	const char		*id;		/* body's jobslurmid */
	char			 idbuf[256];
	struct sim_user		*user;
	struct sim_account	*acct;
	struct sim_member	*member;
	int			 crash;		/* NaN amount: HTML 500 */
	int			 has_amount;
	int64_t			 amount;
	int			 has_date[3];	/* present and not null */
	int64_t			 date[3];
};

int	sim_job_validate(struct sim_bank *, json_t *, struct sim_job *,
	    struct job_in *);
void	sim_job_in_free(struct job_in *);
int	sim_job_err(json_t *, const char *, const char *);

#endif /* SIM_VALID_H */
