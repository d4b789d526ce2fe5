/*
 * cache.c - thresholds learned from can_submit_job (see cache.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "idmap.h"

struct centry {
	char			 account[128];
	long			 uid;		/* -1: the account's limit */
	struct cache_limit	 lim;
	time_t			 member_t;	/* the API said: a member; 0 */
	struct centry		*next;		/* same hash */
};

struct cache {
	struct idmap		 map;
	size_t			 len;
	uint64_t		 ticks;		/* answers learned */
};

static uint64_t
key_of(const char *account, long uid)
{
	uint64_t h = 1469598103934665603ULL;

	while (*account)
		h = (h ^ (unsigned char)*account++) * 1099511628211ULL;
	h = (h ^ (uint64_t)(uid + 1)) * 1099511628211ULL;
	return h ? h : 1;
}

struct cache *
cache_new(void)
{
	struct cache *c = calloc(1, sizeof(*c));

	if (c != NULL && idmap_init(&c->map) != 0) {
		free(c);
		return NULL;
	}
	return c;
}

void
cache_free(struct cache *c)
{
	struct centry *e, *next;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->map.cap; i++)
		for (e = c->map.slots[i].val; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	idmap_free(&c->map);
	free(c);
}

static struct centry *
find(struct cache *c, const char *account, long uid, int create)
{
	uint64_t k = key_of(account, uid);
	struct centry *head = idmap_get(&c->map, k), *e;

	for (e = head; e != NULL; e = e->next)
		if (e->uid == uid && strcmp(e->account, account) == 0)
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->account, sizeof(e->account), "%s", account);
	e->uid = uid;
	e->lim.max_ok = e->lim.min_bad = -1;
	e->next = head;
	if (idmap_put(&c->map, k, e) != 0) {
		free(e);
		return NULL;
	}
	c->len++;
	return e;
}

enum cache_verdict
cache_judge(struct cache *c, const char *account, long uid, int64_t cost,
    time_t now, long max_age, const char **msg)
{
	struct centry *e = find(c, account, uid, 0);

	if (e == NULL)
		return CACHE_UNKNOWN;
	if (e->lim.min_bad >= 0 && cost >= e->lim.min_bad &&
	    (max_age < 0 || now - e->lim.bad_t <= max_age)) {
		*msg = e->lim.bad_msg;
		return CACHE_FAIL;
	}
	if (e->lim.max_ok >= 0 && cost <= e->lim.max_ok &&
	    (max_age < 0 || now - e->lim.ok_t <= max_age))
		return CACHE_PASS;
	return CACHE_UNKNOWN;
}

void
cache_learn(struct cache *c, const char *account, long uid, int64_t cost,
    int passed, const char *msg, time_t now)
{
	struct centry *e = find(c, account, uid, 1);

	if (e == NULL)
		return;
	c->ticks++;
	if (passed) {
		/* Fresh news replaces old news, even if smaller. */
		if (e->lim.max_ok < cost || now != e->lim.ok_t)
			e->lim.max_ok = cost;
		e->lim.ok_t = now;
		e->lim.ok_tick = c->ticks;
		if (e->lim.min_bad >= 0 && e->lim.min_bad <= cost)
			e->lim.min_bad = -1;	/* contradicted: stale */
	} else {
		e->lim.min_bad = cost;
		e->lim.bad_t = now;
		e->lim.bad_tick = c->ticks;
		snprintf(e->lim.bad_msg, sizeof(e->lim.bad_msg), "%s",
		    msg ? msg : "");
		if (e->lim.max_ok >= cost)
			e->lim.max_ok = -1;
	}
}

/*
 * A delta in doubt (its report sent before the threshold's answer, which
 * may count it already) moves a threshold only the safe way: what is
 * known to pass only down, what is known to fail only up.
 */
static void
shift(struct cache_limit *l, int64_t delta, uint64_t sent)
{
	if (l->max_ok >= 0 && (delta > 0 || sent >= l->ok_tick)) {
		l->max_ok -= delta;
		if (l->max_ok < 0)
			l->max_ok = -1;
	}
	if (l->min_bad >= 0 && (delta < 0 || sent >= l->bad_tick)) {
		l->min_bad -= delta;
		if (l->min_bad < 0)
			l->min_bad = 0;
	}
}

void
cache_charged(struct cache *c, const char *account, long uid, int64_t delta,
    uint64_t sent)
{
	struct centry *e;

	if (delta == 0)
		return;
	if ((e = find(c, account, -1, 0)) != NULL)
		shift(&e->lim, delta, sent);
	if (uid >= 0 && (e = find(c, account, uid, 0)) != NULL)
		shift(&e->lim, delta, sent);
}

uint64_t
cache_tick(const struct cache *c)
{
	return c->ticks;
}

size_t
cache_entries(const struct cache *c)
{
	return c->len;
}

void
cache_note_member(struct cache *c, const char *account, long uid, time_t now)
{
	struct centry *e = find(c, account, uid, 1);

	if (e != NULL)
		e->member_t = now;
}

int
cache_is_member(struct cache *c, const char *account, long uid, time_t now,
    long max_age)
{
	struct centry *e = find(c, account, uid, 0);

	return e != NULL && e->member_t != 0 && now - e->member_t <= max_age;
}

int
cache_knows(struct cache *c, const char *account, long uid)
{
	struct centry *e = find(c, account, uid, 0);

	return e != NULL && (e->lim.max_ok >= 0 || e->lim.min_bad >= 0);
}

int64_t
cache_room(struct cache *c, const char *account, long uid)
{
	struct centry *e = find(c, account, uid, 0);

	/* Exact only where a pass and a failure are a cent apart. */
	if (e == NULL || e->lim.max_ok < 0 || e->lim.min_bad != e->lim.max_ok +
	    1)
		return -1;
	return e->lim.max_ok;
}
