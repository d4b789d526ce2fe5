/*
 * checkint.h - the submit decision's insides, shared by the files that
 * make it and included by no other (checks.h is its face):
 *
 *	check.c		a check from its request to its answer: who asks,
 *			what is decided before the API, the cache's
 *			verdict on Ca and Cu, the refusal's words, the reply
 *	checkhold.c	what is held against a check, and the hold an
 *			accepted one places (or, job_modify, resizes)
 *	checkask.c	the asks to the API: one per (account, uid) in
 *			flight, the checks waiting on it, the in-flight
 *			slots (users' at most half), the queue for a slot,
 *			the refresh and the room ask
 *	checklearn.c	what an answer teaches the cache, and what it
 *			decides for the check that asked
 *	checkbudget.c	the submit budget: slurmctld's wait on the API in
 *			any 10 s, and the decision when it is spent
 *	checkpolicy.c	no usable answer: on_api_unavailable (and, under
 *			"cached", on_unknown) decides, in words that name it
 *
 * The costs: Ca = estimate + every user's holds on the account, Cu =
 * estimate + the user's own (check.c's comment says why two).
 */
#ifndef CHECKINT_H
#define CHECKINT_H

#include <sys/queue.h>

#include <stdint.h>
#include <sys/types.h>

#include "answer.h"
#include "cache.h"
#include "holds.h"
#include "idmap.h"
#include "lim.h"
#include "price.h"

struct bankd;
struct conn;
struct logkv;
struct portal_ask_reply;

/* cache.h's words: max_age -1 is any age (CACHE_ACCOUNT is cache.h's). */
#define ANY_AGE		(-1L)
/* An answer this fresh (this second) decides what the cache says of it. */
#define FRESH		0
/* The uid of the room ask's key: no user's (uid_t -1 is never one). */
#define ROOM_ASK	UINT32_MAX

/* What the cache knows decides a check: allow, deny, or nothing yet. */
enum known {
	KNOWN_NOTHING,
	KNOWN_ALLOW,
	KNOWN_DENY,
};

enum stage {
	ASK_ACCOUNT,		/* cost Ca: decides both limits if it passes */
	ASK_USER,		/* cost Cu: the account's limit passed already */
};

/* Where a check that is not answered yet is. */
enum place {
	P_NONE,
	P_ASKING,		/* its own API request is in flight */
	P_WAITING,		/* on another check's request, same key */
	P_QUEUED,		/* for a free API slot */
};

struct ask;

/*
 * A check in progress.  Answered once: by the cache, the API, or the
 * policy at the deadline; its API request runs on in the background and
 * the check is freed when both are done with it.
 */
struct check {
	TAILQ_ENTRY(check)	 link;		/* on an ask or a queue */
	TAILQ_ENTRY(check)	 all_link;	/* every live check */
	struct bankd		*bd;
	struct conn		*conn;		/* NULL once answered */
	struct event		*deadline;
	struct ask		*on;		/* P_ASKING, P_WAITING */
	enum place		 place;
	int			 api_pending;
	enum stage		 stage;
	uint32_t		 id;
	uint32_t		 uid;		/* whose job: see check_new */
	uid_t			 caller;	/* who asks (the peer) */
	int			 privileged;	/* root or slurm_user */
	int			 member;	/* may see the account's figures */
	int			 counted;	/* in the caller's user_checks */
	int			 budget_ms;	/* of submit_budget_ms, reserved */
	/* job_modify: the pending job changed, and its hold until now. */
	uint32_t		 modify;	/* its id; 0: a new submission */
	int			 array_task;	/* one task of an array */
	int			 has_old;
	struct hold_view	 old;
	char			 old_account[LIM_ACCOUNT_LEN + 1];
	int64_t			 asked_at_ms;	/* when it began to wait */
	int64_t			 born_us;	/* counters_now_us(): latency (metrics, log) */
	int			 asked_before;	/* took its API check already */
	int			 dry_run;	/* no hold */
	int			 cost_given;	/* bankctl check: no pricing */
	enum answer_limit	 failed_limit;	/* from_cache's KNOWN_DENY */
	int			 exact;		/* ask the cost itself, no probe */
	int			 refreshing;	/* decided; asks for the next ones */
	int			 room_ask;	/* room ask's: keyed ROOM_ASK */
	char			 account[LIM_ACCOUNT_LEN + 1];
	char			 partitions[128];
	struct estimate		 est;
	int64_t			 asked;		/* the cost in the request */
	int64_t			 held_account;	/* by every user */
	int64_t			 held_user;
	size_t			 held_jobs;
	/*
	 * A heterogeneous job's component (het_offset): the holds its
	 * earlier components placed, counted in held_* already like any
	 * queued job's, and ended if this one is refused (checkhold.c).
	 */
	int			 has_het;
	uint32_t		 het_offset;
	size_t			 het_n;
	int64_t			 het_cents;	/* what those holds are */
	uint64_t		 het_holds[LIM_HET_COMPONENTS];
};

TAILQ_HEAD(checkq, check);

/* One can_submit_job in flight for (account, uid), and who waits on it. */
struct ask {
	struct ask		*next;		/* same hash */
	uint64_t		 key;
	uint32_t		 uid;
	char			 account[LIM_ACCOUNT_LEN + 1];
	struct checkq		 waiters;
	/*
	 * Submissions were decided without waiting for this answer (the
	 * submit budget): they come faster than the API answers, so when it
	 * does, the key is asked again at once (a refresh).
	 */
	int			 again;
};

struct checks {
	struct checkq		 all;
	struct idmap		 asks;		/* key -> chain of struct ask */
	struct checkq		 queue[2];	/* [0] root/slurm_user, [1] users */
	int			 inflight;	/* API requests, all */
	int			 user_inflight;	/* of them, users' */
	int64_t			 budget_us;	/* submit_budget_ms left, x 1000 */
	int64_t			 budget_at_ms;	/* its last refill */
	/* checkverdict.c lets a check go through these (check_init's). */
	void			(*return_budget)(struct check *);
	void			(*unplace)(struct check *);
};

static inline int64_t
check_cost_account(const struct check *ck)
{
	/* Both bounded (lim.h, LIM_HOLDS): no overflow. */
	return ck->est.cents + ck->held_account;
}

static inline int64_t
check_cost_user(const struct check *ck)
{
	return ck->est.cents + ck->held_user;
}

static inline int64_t
check_cost_of(const struct check *ck, enum stage stage)
{
	return stage == ASK_ACCOUNT ? check_cost_account(ck) :
	    check_cost_user(ck);
}

/* The cache's uid for a limit: the account's, or the job's user's. */
static inline long
check_limit_uid(const struct check *ck, enum answer_limit lim)
{
	return lim == LIMIT_USER ? (long)ck->uid : CACHE_ACCOUNT;
}

/* checkverdict.c: where every check ends */
/* Answer the plugin; an accepted job gets its hold. */
void		 checkverdict_finish(struct check *, int allow, const char *source,
		    const char *reason);
/* Not a decision: the check itself cannot be made (an "error" reply). */
void		 checkverdict_fail(struct check *, const char *why);
/* Freed once answered, off every queue, and no request in flight. */
void		 checkverdict_free_if_done(struct check *);
/* A log line about the check: job= (its id, or "new") and event=. */
void		 checkverdict_line_begin(struct logkv *, const struct check *,
		    const char *event);
/* What the cache says of both limits; max_age ANY_AGE: of any age. */
enum known	 checkverdict_from_cache(struct check *, long max_age,
		    const char **why);
/* Decide from the cache now that it knows more; 0 when it cannot. */
int		 checkverdict_decide_known(struct check *, long max_age);
/* A refusal for money, in bankd's words (words: the cache's or API's). */
void		 checkverdict_refusal(const struct check *, enum answer_limit,
		    const char *words, char *out, size_t len);
void		 checkverdict_deny_money(struct check *, const char *source,
		    enum answer_limit, const char *words);
/* "E SU (2 CPUs x 1h00m on normal at 360 SU/CPU-hour)", or "E SU". */
void		 checkverdict_estimate_words(const struct check *, char *out,
		    size_t len);

/* checkhold.c */
/* What the job changed by job_modify holds already (a task: its share). */
int64_t		 checkhold_old_cost(const struct check *);
void		 checkhold_take(struct check *);
uint64_t	 checkhold_modify(struct check *);
/* A het component: its earlier components' holds (job_submit's only). */
void		 checkhold_het_take(struct check *, const uint64_t *, size_t);
/* ... end with it refused: Slurm creates none of the components. */
void		 checkhold_het_release(struct check *);

/* checkask.c */
void		 checkask_ask(struct check *, enum stage);
void		 checkask_start_queued(struct bankd *);
void		 checkask_refresh(struct check *);
void		 checkask_room(const struct check *);
void		 checkask_unplace(struct check *);
void		 checkask_free_all(struct checks *);

/* checklearn.c */
enum checklearn_next {
	LEARN_DECIDED,		/* decided, or nothing more to decide */
	LEARN_ASK_AGAIN,	/* ask again at the same stage */
	LEARN_ASK_USER,		/* the account has room: ask the user's */
};
/*
 * ck's own request was answered (rep); cost is what it asked.  What to
 * ask next is the caller's (checkask.c) to do: learning asks nothing.
 */
enum checklearn_next checklearn_answered(struct check *, int64_t cost,
		    const struct portal_ask_reply *);

/* checkbudget.c */
void		 checkbudget_init(struct bankd *);
/* How long this submission may wait on the API: 0 not at all. */
int		 checkbudget_take(struct check *);
void		 checkbudget_return(struct check *);
/* The budget is spent: what is known decides, else the policy. */
void		 checkbudget_decide(struct check *);
/* ... and the API is asked in the background for the next ones. */
void		 checkbudget_decide_now(struct check *);

/* checkpolicy.c */
/* The API gave no usable answer (why): the site's policy decides. */
void		 checkpolicy_decide(struct check *, const char *why);

#endif /* CHECKINT_H */
