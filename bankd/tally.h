/*
 * tally.h - what is held per account and per (account, user), kept up to
 * date as holds come and go, so that a submit decision reads two sums
 * instead of walking every hold (a busy cluster has tens of thousands).
 */
#ifndef TALLY_H
#define TALLY_H

#include <stddef.h>
#include <stdint.h>

struct tally;

struct tally	*tally_new(void);
void		 tally_free(struct tally *);

/*
 * Add cents (negative: remove) and jobs (+1, 0 or -1) to the account's sum
 * and to the user's part of it.  0, or -1 when out of memory (the sums are
 * then unchanged).
 */
int		 tally_add(struct tally *, const char *account, uint32_t uid,
		    int64_t cents, long jobs);

/* The account's sum over every user, the user's own, and the job count. */
void		 tally_get(const struct tally *, const char *account,
		    uint32_t uid, int64_t *acct, int64_t *user, size_t *jobs);

#endif /* TALLY_H */
