/*
 * cache.h - what bankd learned from the API's can_submit_job answers.
 *
 * The API checks one cost C against two limits: C + account usage <=
 * account allocation, and C + the user's usage <= the user's allocation
 * in that account.  So bankd keeps, per account and per (user, account),
 * the largest C known to pass and the smallest C known to fail that
 * limit, with when it learned them.  Usage delivered since (a start or
 * completion report the API accepted) shifts both thresholds by exactly
 * the amount, so knowledge stays exact between answers; the TTL bounds
 * drift from charges bankd does not see.
 *
 * A report that was on its way while an answer was learned may already
 * be in that answer (the portal applied it, its confirmation came
 * later): shifting again would count it twice.  A credit (a completion
 * below its start's estimate) counted twice would let the cache pass
 * what the portal refuses; a charge counted twice, refuse what it
 * passes.  So each threshold keeps the tick of its answer (cache_tick
 * counts answers), each report the tick at its first send, and a delta
 * sent before a threshold's answer moves it only the safe way: the
 * largest cost known to pass only down, the smallest known to fail only
 * up (tests/dst seeds 35008, 8108).  The cache then knows less until
 * its next answer, never something false.
 */
#ifndef CACHE_H
#define CACHE_H

#include <stdint.h>
#include <time.h>

struct cache;

enum cache_verdict {
	CACHE_UNKNOWN,
	CACHE_PASS,
	CACHE_FAIL,
};

struct cache_limit {
	int64_t		 max_ok;	/* -1: none known */
	int64_t		 min_bad;	/* -1: none known */
	time_t		 ok_t;
	time_t		 bad_t;
	uint64_t	 ok_tick;	/* cache_tick() after its answer */
	uint64_t	 bad_tick;
	char		 bad_msg[256];	/* the API's words */
};

struct cache	*cache_new(void);
void		 cache_free(struct cache *);

/* The limit's verdict on cost C; max_age < 0 accepts any age. */
enum cache_verdict cache_judge(struct cache *, const char *account,
		    long uid, int64_t cost, time_t now, long max_age,
		    const char **msg);

/* The uid that names an account's own limit, not a user's share. */
#define CACHE_ACCOUNT	(-1L)

/* Learned: cost passed / failed the account's (uid -1) or a user's limit. */
void		 cache_learn(struct cache *, const char *account, long uid,
		    int64_t cost, int passed, const char *msg, time_t now);

/*
 * The API's usage of account (and of uid in it) rose by delta cents, by a
 * report first sent at tick `sent` (0: it may have reached the API before
 * anything was learned, as a report replayed after a restart may).
 */
void		 cache_charged(struct cache *, const char *account, long uid,
		    int64_t delta, uint64_t sent);

/* How many answers were learned: a report keeps it when first sent. */
uint64_t	 cache_tick(const struct cache *);

/* 1 if anything is known of the limit (uid -1: the account's). */
int		 cache_knows(struct cache *, const char *account, long uid);

/*
 * What is left under a limit (uid -1: the account's), in cents, when
 * known to the cent (a refusal that named its balance); -1 otherwise.
 * What is held for queued jobs is not subtracted: the API does not see it.
 */
int64_t		 cache_room(struct cache *, const char *account, long uid);

/*
 * What the API's answers tell of membership: a pass, or a refusal that
 * names a balance, is given only to a member of the account.  A user who
 * is not known to be one is told no figures of the account (check.c).
 */
void		 cache_note_member(struct cache *, const char *account,
		    long uid, time_t now);
int		 cache_is_member(struct cache *, const char *account, long uid,
		    time_t now, long max_age);
size_t		 cache_entries(const struct cache *);

#endif /* CACHE_H */
