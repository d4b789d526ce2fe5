/*
 * holds.h - liens on the estimated cost of accepted, not yet charged jobs.
 *
 * A hold is made when a submission is accepted and identified by a token
 * that job_submit writes into the job's AdminComment ("bank_hold=<token>"),
 * because the job id does not exist yet when job_submit runs.  The start
 * and completion reports carry the token back with the job id, which binds
 * the hold to the job; reconciliation against slurmctld's job list binds
 * or drops the rest.  A hold ends when a report of its job is delivered
 * (the API then counts the job itself).
 *
 * Holds are kept in state_dir/holds (journal.c), so they survive restarts.
 */
#ifndef HOLDS_H
#define HOLDS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct event_base;
struct holds;

struct hold_view {
	uint64_t	 token;
	uint32_t	 job_id;	/* 0 until bound */
	uint32_t	 uid;
	const char	*account;
	int64_t		 cents;
	time_t		 created;
	uint32_t	 tasks;		/* array tasks still held; 0: one job */
	int64_t		 task_cents;
};

typedef void	 (*hold_view_fn)(const struct hold_view *, void *arg);

/* Open state_dir/holds (fsync: each change synced) and replay it. */
struct holds	*holds_open(struct event_base *, const char *state_dir,
		    int fsync, char *err, size_t errlen);
void		 holds_close(struct holds *);

/*
 * A new hold; its token, or 0 when it could not be recorded.  A job array
 * of `tasks` tasks holds task_cents for each; every task's first
 * delivered report ends that task's share (all tasks carry one token).
 */
uint64_t	 hold_place(struct holds *, uint32_t uid, const char *account,
		    int64_t cents, uint32_t tasks, int64_t task_cents);
/* A report of job_id, carrying token, was delivered: end its (share of
 * the) hold.  Returns the amount no longer held. */
int64_t		 hold_delivered(struct holds *, uint64_t token, uint32_t job_id);
void		 hold_bind(struct holds *, uint64_t token, uint32_t job_id);
/* The hold of token (else of job_id, if bound): 0 with *v, or -1. */
int		 hold_find(struct holds *, uint64_t token, uint32_t job_id,
		    struct hold_view *v);
/*
 * A pending job was changed (job_modify): its hold becomes the new
 * estimate, journaled.  0, or -1 (no such hold, or out of range).
 */
int		 hold_resize(struct holds *, uint64_t token, int64_t cents,
		    uint32_t tasks, int64_t task_cents);
/* End the hold of a job (by job id); its amount, or 0 if it had none. */
int64_t		 hold_release_job(struct holds *, uint32_t job_id,
		    const char *why);
void		 hold_release_token(struct holds *, uint64_t token,
		    const char *why);

/*
 * At start: release every one-job hold bound to a job whose reports were
 * all delivered before the hold could be journaled released (a crash
 * between the queue's done record and the hold's release record).
 * settled(arg, job, &token) is deliver_settled(): when, and the hold
 * token the job's reports carried.  A hold of another token is a later
 * job's under a reused id and stays; when the reports carried none, a
 * hold made after that time is taken for one.  Returns how many ended.
 */
typedef int64_t	 (*holds_settled_fn)(void *arg, uint32_t job_id,
		    uint64_t *token);
size_t		 holds_settle(struct holds *, holds_settled_fn, void *arg);

/* What is held against an account (every user) and one user of it. */
void		 holds_sum(struct holds *, const char *account, uint32_t uid,
		    int64_t *account_cents, int64_t *user_cents,
		    size_t *account_jobs);
size_t		 holds_count(const struct holds *);
void		 holds_list(struct holds *, const char *account, long uid,
		    hold_view_fn, void *arg);

/*
 * Reconciliation with slurmctld's job list: every live job id with its
 * hold token (0 if none).  Binds what can be bound, and ends holds whose
 * job is gone, or whose token no job carries `grace` seconds after the
 * hold was made.
 */
struct live_job {
	uint32_t	 job_id;
	uint64_t	 token;
};
void		 holds_reconcile(struct holds *, const struct live_job *,
		    size_t n, time_t snapshot, time_t grace);

/* "bank_hold=<token>" inside an AdminComment; 0 if absent. */
uint64_t	 hold_token_parse(const char *admin_comment);

#endif /* HOLDS_H */
