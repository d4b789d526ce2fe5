/*
 * sim_priv.h: the store's data layout, shared by the sim_*.c files
 * that implement sim_bank.h.  Plain arrays and linear search: the
 * simulator holds a few dozen users and a few thousand jobs at most.
 */
#ifndef SIM_PRIV_H
#define SIM_PRIV_H

#include "sim_bank.h"

struct sim_token {
	char	*key;
	int	 staff;
	int	 expired;	/* answered 401 "Expired token." */
};

struct sim_user {
	long	 uid;
	char	*username;
	char	*email;
};

struct sim_account {
	char	*name;
	int64_t	 alloc;
	int64_t	 usage;
	int	 active;	/* has an active compute allocation */
};

struct sim_member {
	long	 uid;
	char	*account;
	int	 on_alloc;	/* user is on the account's allocation */
	int64_t	 alloc;
	int64_t	 usage;
};

struct sim_partition {
	json_t	*obj;		/* served as is */
};

/* A stored job is its serialised form; amount is kept in cents too. */
struct sim_job {
	char	*id;
	json_t	*obj;
	int64_t	 amount;
	long	 seq;		/* insertion order, for stable sorting */
};

#define VEC(type)	struct { type *v; size_t n, cap; }

struct sim_bank {
	VEC(struct sim_token)		tokens;
	VEC(struct sim_user)		users;
	VEC(struct sim_account)		accounts;
	VEC(struct sim_member)		members;
	VEC(struct sim_partition)	parts;
	VEC(struct sim_job)		jobs;
	/* jobs by id: slot holds position + 1; jobs below `indexed` are in */
	struct {
		size_t	*slot;
		size_t	 cap;
		size_t	 indexed;
	}				jobidx;
	int64_t				period_start;
	int64_t				period_end;
	long				seq;
	unsigned long			gen;	/* bumped on every change */
};

void	*sim_vec_grow(void *, size_t *, size_t, size_t);
#define VEC_PUSH(vec)							\
	(((vec).n < (vec).cap || ((vec).v = sim_vec_grow((vec).v,	\
	    &(vec).cap, (vec).n, sizeof(*(vec).v))) != NULL) ?		\
	    &(vec).v[(vec).n++] : NULL)

void			 sim_jobidx_reset(struct sim_bank *);
struct sim_user		*sim_find_user(struct sim_bank *, long);
struct sim_user		*sim_find_username(struct sim_bank *, const char *);
struct sim_account	*sim_find_account(struct sim_bank *, const char *);
struct sim_member	*sim_find_member(struct sim_bank *, long, const char *);
struct sim_job		*sim_find_job(struct sim_bank *, const char *);
int			 sim_has_prefix(const char *);
int			 sim_parse_uid(const char *, long *);
struct sim_resp		 sim_resp_make(int, json_t *);
struct sim_resp		 sim_resp_html(void);
json_t			*sim_detail(const char *);
json_t			*sim_page(const struct sim_query *, json_t *, int *);

#endif /* SIM_PRIV_H */
