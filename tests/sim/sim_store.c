/*
 * sim_store.c: the in-memory store: creation, fixture loading,
 * lookups and the upserts the control surface uses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_priv.h"

/* The prefixes that mark an account with a service-unit allowance. */
static const char *const allowance_prefixes[] = {
	"fc_", "ic_", "pc_", "co_", NULL
};

void *
sim_vec_grow(void *v, size_t *cap, size_t n, size_t size)
{
	size_t	 ncap = *cap ? *cap * 2 : 16;
	void	*nv;

	(void)n;
	if ((nv = reallocarray(v, ncap, size)) == NULL)
		return NULL;
	*cap = ncap;
	return nv;
}

static int	fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t len, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

int
sim_has_prefix(const char *name)
{
	int	i;

	for (i = 0; allowance_prefixes[i] != NULL; i++)
		if (strncmp(name, allowance_prefixes[i], 3) == 0)
			return 1;
	return 0;
}

/* A cluster UID: decimal digits only, as the server's lookup wants. */
int
sim_parse_uid(const char *s, long *uid)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*uid = v;
	return 0;
}

struct sim_bank *
sim_bank_new(void)
{
	return calloc(1, sizeof(struct sim_bank));
}

void
sim_bank_free(struct sim_bank *b)
{
	size_t	i;

	if (b == NULL)
		return;
	for (i = 0; i < b->tokens.n; i++)
		free(b->tokens.v[i].key);
	for (i = 0; i < b->users.n; i++) {
		free(b->users.v[i].username);
		free(b->users.v[i].email);
	}
	for (i = 0; i < b->accounts.n; i++)
		free(b->accounts.v[i].name);
	for (i = 0; i < b->members.n; i++)
		free(b->members.v[i].account);
	for (i = 0; i < b->parts.n; i++)
		json_decref(b->parts.v[i].obj);
	for (i = 0; i < b->jobs.n; i++) {
		free(b->jobs.v[i].id);
		json_decref(b->jobs.v[i].obj);
	}
	free(b->tokens.v);
	free(b->users.v);
	free(b->accounts.v);
	free(b->members.v);
	free(b->parts.v);
	free(b->jobs.v);
	free(b->jobidx.slot);
	free(b);
}

struct sim_user *
sim_find_user(struct sim_bank *b, long uid)
{
	size_t	i;

	for (i = 0; i < b->users.n; i++)
		if (b->users.v[i].uid == uid)
			return &b->users.v[i];
	return NULL;
}

struct sim_user *
sim_find_username(struct sim_bank *b, const char *name)
{
	size_t	i;

	for (i = 0; i < b->users.n; i++)
		if (strcmp(b->users.v[i].username, name) == 0)
			return &b->users.v[i];
	return NULL;
}

struct sim_account *
sim_find_account(struct sim_bank *b, const char *name)
{
	size_t	i;

	for (i = 0; i < b->accounts.n; i++)
		if (strcmp(b->accounts.v[i].name, name) == 0)
			return &b->accounts.v[i];
	return NULL;
}

struct sim_member *
sim_find_member(struct sim_bank *b, long uid, const char *account)
{
	size_t	i;

	for (i = 0; i < b->members.n; i++)
		if (b->members.v[i].uid == uid &&
		    strcmp(b->members.v[i].account, account) == 0)
			return &b->members.v[i];
	return NULL;
}

/*
 * Jobs by id, so that 100,000s of stored jobs (the backlog benchmarks)
 * cost O(1) per request, not a scan.  New jobs are indexed on the next
 * lookup; a rename (PUT with another body id) resets the index.
 */
static size_t
id_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

void
sim_jobidx_reset(struct sim_bank *b)
{
	b->jobidx.indexed = 0;
	if (b->jobidx.slot != NULL)
		memset(b->jobidx.slot, 0, b->jobidx.cap * sizeof(size_t));
}

static int
jobidx_catch_up(struct sim_bank *b)
{
	size_t i, k, mask;

	if ((b->jobs.n + 1) * 2 > b->jobidx.cap) {
		size_t cap = b->jobidx.cap ? b->jobidx.cap : 1024;
		size_t *slot;

		while ((b->jobs.n + 1) * 2 > cap)
			cap *= 2;
		if ((slot = calloc(cap, sizeof(*slot))) == NULL)
			return -1;
		free(b->jobidx.slot);
		b->jobidx.slot = slot;
		b->jobidx.cap = cap;
		b->jobidx.indexed = 0;
	}
	mask = b->jobidx.cap - 1;
	for (i = b->jobidx.indexed; i < b->jobs.n; i++) {
		for (k = id_hash(b->jobs.v[i].id) & mask; b->jobidx.slot[k];
		    k = (k + 1) & mask)
			;
		b->jobidx.slot[k] = i + 1;
	}
	b->jobidx.indexed = b->jobs.n;
	return 0;
}

struct sim_job *
sim_find_job(struct sim_bank *b, const char *id)
{
	size_t	i, k, mask;

	if (jobidx_catch_up(b) != 0) {
		for (i = 0; i < b->jobs.n; i++)
			if (strcmp(b->jobs.v[i].id, id) == 0)
				return &b->jobs.v[i];
		return NULL;
	}
	mask = b->jobidx.cap - 1;
	for (k = id_hash(id) & mask; (i = b->jobidx.slot[k]) != 0;
	    k = (k + 1) & mask)
		if (strcmp(b->jobs.v[i - 1].id, id) == 0)
			return &b->jobs.v[i - 1];
	return NULL;
}

int
sim_bank_token(const struct sim_bank *b, const char *key)
{
	size_t	i;

	for (i = 0; i < b->tokens.n; i++)
		if (strcmp(b->tokens.v[i].key, key) == 0)
			return b->tokens.v[i].expired ? -2 :
			    b->tokens.v[i].staff;
	return -1;
}

unsigned long
sim_bank_generation(const struct sim_bank *b)
{
	return b->gen;
}

int
sim_account_usage(struct sim_bank *b, const char *name, int64_t *usage)
{
	struct sim_account	*a;

	if ((a = sim_find_account(b, name)) == NULL)
		return -1;
	*usage = a->usage;
	return 0;
}

int
sim_member_usage(struct sim_bank *b, const char *name, long uid,
    int64_t *usage)
{
	struct sim_member	*m;

	if ((m = sim_find_member(b, uid, name)) == NULL)
		return -1;
	*usage = m->usage;
	return 0;
}

/* Read an optional money field; absent keeps *out. */
static int
money_field(json_t *o, const char *key, int64_t *out, char *err,
    size_t len)
{
	json_t	*v;

	if ((v = json_object_get(o, key)) == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || sim_money_cents(json_string_value(v),
	    out) == -1)
		return fail(err, len, "%s: not a decimal string", key);
	return 0;
}

/* A uid given as a number or as a string of digits. */
static int
uid_field(json_t *o, long *uid)
{
	json_t	*v = json_object_get(o, "uid");

	if (json_is_integer(v)) {
		*uid = (long)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v))
		return sim_parse_uid(json_string_value(v), uid);
	return -1;
}

int
sim_add_user(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	struct sim_user	*u;
	const char	*name, *email;
	char		*nname, *nemail;
	long		 uid;

	if (uid_field(o, &uid) == -1)
		return fail(err, len, "user: bad or missing uid");
	if ((name = json_string_value(json_object_get(o, "username"))) == NULL)
		return fail(err, len, "user %ld: missing username", uid);
	if ((email = json_string_value(json_object_get(o, "email"))) == NULL)
		email = "";
	if ((nname = strdup(name)) == NULL || (nemail = strdup(email)) == NULL) {
		free(nname);
		return fail(err, len, "out of memory");
	}
	if ((u = sim_find_user(b, uid)) == NULL) {
		if ((u = VEC_PUSH(b->users)) == NULL) {
			free(nname);
			free(nemail);
			return fail(err, len, "out of memory");
		}
		u->uid = uid;
	} else {
		free(u->username);
		free(u->email);
	}
	u->username = nname;
	u->email = nemail;
	b->gen++;
	return 0;
}

int
sim_upsert_account(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	struct sim_account	*a, tmp;
	const char		*name;
	json_t			*act;

	if ((name = json_string_value(json_object_get(o, "name"))) == NULL)
		return fail(err, len, "account: missing name");
	memset(&tmp, 0, sizeof(tmp));
	tmp.active = 1;
	if ((a = sim_find_account(b, name)) != NULL)
		tmp = *a;
	if (money_field(o, "allocation", &tmp.alloc, err, len) == -1 ||
	    money_field(o, "usage", &tmp.usage, err, len) == -1)
		return -1;
	if ((act = json_object_get(o, "active")) != NULL)
		tmp.active = json_is_true(act);
	if (a == NULL) {
		if ((tmp.name = strdup(name)) == NULL ||
		    (a = VEC_PUSH(b->accounts)) == NULL) {
			free(tmp.name);
			return fail(err, len, "out of memory");
		}
	}
	*a = tmp;
	b->gen++;
	return 0;
}

/* No "allocation" key: a member who is not on the allocation. */
int
sim_upsert_membership(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	struct sim_member	*m, tmp;
	const char		*acct;
	long			 uid;

	if (uid_field(o, &uid) == -1)
		return fail(err, len, "membership: bad or missing uid");
	if ((acct = json_string_value(json_object_get(o, "account"))) == NULL)
		return fail(err, len, "membership: missing account");
	memset(&tmp, 0, sizeof(tmp));
	if ((m = sim_find_member(b, uid, acct)) != NULL)
		tmp = *m;
	tmp.uid = uid;
	tmp.on_alloc = json_object_get(o, "allocation") != NULL &&
	    !json_is_null(json_object_get(o, "allocation"));
	if (money_field(o, "allocation", &tmp.alloc, err, len) == -1 ||
	    money_field(o, "usage", &tmp.usage, err, len) == -1)
		return -1;
	if (m == NULL) {
		if ((tmp.account = strdup(acct)) == NULL ||
		    (m = VEC_PUSH(b->members)) == NULL) {
			free(tmp.account);
			return fail(err, len, "out of memory");
		}
	}
	*m = tmp;
	b->gen++;
	return 0;
}
