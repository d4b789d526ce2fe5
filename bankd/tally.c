/*
 * tally.c - running sums of holds (see tally.h).
 *
 * A chained hash on (account, uid); the account's own sum is the entry
 * with uid ALL.  An entry goes when its last job does, so the table holds
 * only accounts and users with something queued.
 */
#include <stdlib.h>
#include <string.h>

#include "tally.h"

#define ALL		UINT32_MAX
#define MIN_BUCKETS	256

struct sum {
	struct sum	*next;
	uint32_t	 hash;
	uint32_t	 uid;
	int64_t		 cents;
	size_t		 jobs;
	char		 account[];
};

struct tally {
	struct sum	**bucket;
	size_t		  nbuckets;	/* a power of two */
	size_t		  len;
};

/* FNV-1a over the account, then the uid. */
static uint32_t
hash_of(const char *account, uint32_t uid)
{
	uint32_t h = 2166136261u;
	int i;

	for (; *account != '\0'; account++)
		h = (h ^ (unsigned char)*account) * 16777619u;
	for (i = 0; i < 4; i++, uid >>= 8)
		h = (h ^ (uid & 0xff)) * 16777619u;
	return h;
}

struct tally *
tally_new(void)
{
	struct tally *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->nbuckets = MIN_BUCKETS;
	if ((t->bucket = calloc(t->nbuckets, sizeof(*t->bucket))) == NULL) {
		free(t);
		return NULL;
	}
	return t;
}

void
tally_free(struct tally *t)
{
	struct sum *s, *next;
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++)
		for (s = t->bucket[i]; s != NULL; s = next) {
			next = s->next;
			free(s);
		}
	free(t->bucket);
	free(t);
}

static struct sum **
slot_of(const struct tally *t, const char *account, uint32_t uid,
    uint32_t h)
{
	struct sum **sp;

	for (sp = &t->bucket[h & (t->nbuckets - 1)]; *sp != NULL;
	    sp = &(*sp)->next)
		if ((*sp)->hash == h && (*sp)->uid == uid &&
		    strcmp((*sp)->account, account) == 0)
			break;
	return sp;
}

/* Keep chains short; a failed grow only makes them longer. */
static void
grow(struct tally *t)
{
	struct sum **nb, *s, *next;
	size_t i, n = t->nbuckets * 2;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++)
		for (s = t->bucket[i]; s != NULL; s = next) {
			next = s->next;
			s->next = nb[s->hash & (n - 1)];
			nb[s->hash & (n - 1)] = s;
		}
	free(t->bucket);
	t->bucket = nb;
	t->nbuckets = n;
}

static struct sum *
sum_get(struct tally *t, const char *account, uint32_t uid)
{
	uint32_t h = hash_of(account, uid);
	struct sum **sp = slot_of(t, account, uid, h), *s;
	size_t len;

	if (*sp != NULL)
		return *sp;
	len = strlen(account);
	if ((s = calloc(1, sizeof(*s) + len + 1)) == NULL)
		return NULL;
	s->hash = h;
	s->uid = uid;
	memcpy(s->account, account, len + 1);
	*sp = s;
	if (++t->len > 2 * t->nbuckets)
		grow(t);
	return s;
}

static void
sum_drop_if_empty(struct tally *t, struct sum *s)
{
	struct sum **sp;

	if (s->jobs > 0)
		return;
	sp = slot_of(t, s->account, s->uid, s->hash);
	*sp = s->next;
	t->len--;
	free(s);
}

int
tally_add(struct tally *t, const char *account, uint32_t uid, int64_t cents,
    long jobs)
{
	struct sum *a, *u;

	if ((a = sum_get(t, account, ALL)) == NULL)
		return -1;
	if ((u = sum_get(t, account, uid)) == NULL) {
		sum_drop_if_empty(t, a);
		return -1;
	}
	a->cents += cents;
	u->cents += cents;
	a->jobs += jobs;
	u->jobs += jobs;
	sum_drop_if_empty(t, u);
	sum_drop_if_empty(t, a);
	return 0;
}

void
tally_get(const struct tally *t, const char *account, uint32_t uid,
    int64_t *acct, int64_t *user, size_t *jobs)
{
	struct sum *a = *slot_of(t, account, ALL, hash_of(account, ALL));
	struct sum *u = *slot_of(t, account, uid, hash_of(account, uid));

	*acct = a != NULL ? a->cents : 0;
	*jobs = a != NULL ? a->jobs : 0;
	*user = u != NULL ? u->cents : 0;
}
