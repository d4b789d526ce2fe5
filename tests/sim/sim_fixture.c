/*
 * sim_fixture.c: loading the fixture, dumping and reloading state,
 * and the balances view of the control surface.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_priv.h"

typedef int (*item_fn)(struct sim_bank *, json_t *, char *, size_t);

static int
each(struct sim_bank *b, json_t *arr, item_fn fn, char *err, size_t len)
{
	size_t	 i;
	json_t	*v;

	if (arr == NULL)
		return 0;
	if (!json_is_array(arr)) {
		snprintf(err, len, "expected an array");
		return -1;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_object(v) || fn(b, v, err, len) == -1)
			return -1;
	}
	return 0;
}

static int
add_token(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	struct sim_token	*t;
	const char		*key;
	char			*nkey = NULL;

	size_t			 i;

	if ((key = json_string_value(json_object_get(o, "key"))) == NULL) {
		snprintf(err, len, "token without key");
		return -1;
	}
	/* A token listed again is updated (the control port's /tokens). */
	for (i = 0; i < b->tokens.n; i++)
		if (strcmp(b->tokens.v[i].key, key) == 0)
			break;
	if (i < b->tokens.n)
		t = &b->tokens.v[i];
	else if ((nkey = strdup(key)) == NULL ||
	    (t = VEC_PUSH(b->tokens)) == NULL) {
		free(nkey);
		snprintf(err, len, "out of memory");
		return -1;
	} else
		t->key = nkey;
	t->staff = json_is_true(json_object_get(o, "staff"));
	t->expired = json_is_true(json_object_get(o, "expired"));
	return 0;
}

int
sim_set_token(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	return add_token(b, o, err, len);
}

static int
add_partition(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	struct sim_partition	*p;

	if (!json_is_string(json_object_get(o, "name"))) {
		snprintf(err, len, "partition without name");
		return -1;
	}
	if ((p = VEC_PUSH(b->parts)) == NULL) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	p->obj = json_pack("{s:O,s:b,s:I,s:I,s:s}",
	    "name", json_object_get(o, "name"),
	    "shared", json_is_true(json_object_get(o, "shared")),
	    "num_nodes", json_integer_value(json_object_get(o, "num_nodes")),
	    "num_cores", json_integer_value(json_object_get(o, "num_cores")),
	    "su_per_core_hour", json_string_value(json_object_get(o,
	    "su_per_core_hour")) ? json_string_value(json_object_get(o,
	    "su_per_core_hour")) : "0.00");
	if (p->obj == NULL) {
		b->parts.n--;
		snprintf(err, len, "out of memory");
		return -1;
	}
	return 0;
}

static int
load_period(struct sim_bank *b, json_t *p, char *err, size_t len)
{
	const char	*s, *e;

	s = json_string_value(json_object_get(p, "start"));
	e = json_string_value(json_object_get(p, "end"));
	if (s == NULL || e == NULL || sim_date_parse(s, &b->period_start) ==
	    -1 || sim_date_parse(e, &b->period_end) == -1) {
		snprintf(err, len, "period: needs RFC 3339 start and end");
		return -1;
	}
	return 0;
}

int
sim_bank_load_fixture(struct sim_bank *b, json_t *fx, char *err, size_t len)
{
	if (!json_is_object(fx)) {
		snprintf(err, len, "fixture is not an object");
		return -1;
	}
	if (load_period(b, json_object_get(fx, "period"), err, len) == -1 ||
	    each(b, json_object_get(fx, "tokens"), add_token, err, len) == -1 ||
	    each(b, json_object_get(fx, "users"), sim_add_user, err, len) ==
	    -1 ||
	    each(b, json_object_get(fx, "accounts"), sim_upsert_account, err,
	    len) == -1 ||
	    each(b, json_object_get(fx, "memberships"), sim_upsert_membership,
	    err, len) == -1 ||
	    each(b, json_object_get(fx, "partitions"), add_partition, err,
	    len) == -1)
		return -1;
	return 0;
}

static json_t *
account_json(const struct sim_account *a, int full)
{
	json_t	*o;

	o = json_pack("{s:o,s:o}", "allocation", sim_money_json(a->alloc),
	    "usage", sim_money_json(a->usage));
	if (o != NULL && full && (json_object_set_new(o, "name",
	    json_string(a->name)) == -1 || json_object_set_new(o, "active",
	    json_boolean(a->active)) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
member_json(const struct sim_member *m, int full)
{
	json_t	*o;

	if ((o = json_pack("{s:o}", "usage", sim_money_json(m->usage))) ==
	    NULL)
		return NULL;
	if (json_object_set_new(o, "allocation", m->on_alloc ?
	    sim_money_json(m->alloc) : json_null()) == -1 ||
	    (full && (json_object_set_new(o, "uid", json_integer(m->uid)) ==
	    -1 || json_object_set_new(o, "account", json_string(m->account)) ==
	    -1))) {
		json_decref(o);
		return NULL;
	}
	if (full && !m->on_alloc)
		json_object_del(o, "allocation");
	return o;
}

json_t *
sim_balances(struct sim_bank *b)
{
	json_t	*accts, *mems;
	char	 key[256];
	size_t	 i;

	accts = json_object();
	mems = json_object();
	if (accts == NULL || mems == NULL)
		goto bad;
	for (i = 0; i < b->accounts.n; i++)
		if (json_object_set_new(accts, b->accounts.v[i].name,
		    account_json(&b->accounts.v[i], 0)) == -1)
			goto bad;
	for (i = 0; i < b->members.n; i++) {
		snprintf(key, sizeof(key), "%s/%ld", b->members.v[i].account,
		    b->members.v[i].uid);
		if (json_object_set_new(mems, key,
		    member_json(&b->members.v[i], 0)) == -1)
			goto bad;
	}
	return json_pack("{s:o,s:o}", "accounts", accts, "memberships", mems);
bad:
	json_decref(accts);
	json_decref(mems);
	return NULL;
}

json_t *
sim_state_dump(struct sim_bank *b)
{
	json_t	*st;
	size_t	 i;
	int	 rc = 0;

	st = json_pack("{s:[],s:[],s:[],s:[]}", "users", "accounts",
	    "memberships", "jobs");
	if (st == NULL)
		return NULL;
	for (i = 0; i < b->users.n; i++)
		rc |= json_array_append_new(json_object_get(st, "users"),
		    json_pack("{s:I,s:s,s:s}", "uid", (json_int_t)b->users.v[i].uid,
		    "username", b->users.v[i].username, "email",
		    b->users.v[i].email));
	for (i = 0; i < b->accounts.n; i++)
		rc |= json_array_append_new(json_object_get(st, "accounts"),
		    account_json(&b->accounts.v[i], 1));
	for (i = 0; i < b->members.n; i++)
		rc |= json_array_append_new(json_object_get(st, "memberships"),
		    member_json(&b->members.v[i], 1));
	for (i = 0; i < b->jobs.n; i++)
		rc |= json_array_append(json_object_get(st, "jobs"),
		    b->jobs.v[i].obj);
	if (rc != 0) {
		json_decref(st);
		return NULL;
	}
	return st;
}

/* Stored jobs are trusted: they were written by sim_state_dump(). */
static int
load_job(struct sim_bank *b, json_t *o, char *err, size_t len)
{
	struct sim_job	*j;
	const char	*id, *amt;
	int64_t		 cents = 0;

	id = json_string_value(json_object_get(o, "jobslurmid"));
	amt = json_string_value(json_object_get(o, "amount"));
	if (id == NULL || (amt != NULL && sim_money_cents(amt, &cents) == -1)) {
		snprintf(err, len, "state: bad job");
		return -1;
	}
	if ((j = sim_find_job(b, id)) == NULL) {
		if ((j = VEC_PUSH(b->jobs)) == NULL ||
		    (j->id = strdup(id)) == NULL) {
			if (j != NULL)
				b->jobs.n--;
			snprintf(err, len, "out of memory");
			return -1;
		}
		j->seq = b->seq++;
	} else
		json_decref(j->obj);
	j->obj = json_incref(o);
	j->amount = cents;
	return 0;
}

int
sim_state_load(struct sim_bank *b, json_t *st, char *err, size_t len)
{
	if (!json_is_object(st)) {
		snprintf(err, len, "state is not an object");
		return -1;
	}
	return each(b, json_object_get(st, "users"), sim_add_user, err, len) ==
	    -1 || each(b, json_object_get(st, "accounts"), sim_upsert_account,
	    err, len) == -1 || each(b, json_object_get(st, "memberships"),
	    sim_upsert_membership, err, len) == -1 ||
	    each(b, json_object_get(st, "jobs"), load_job, err, len) == -1 ?
	    -1 : 0;
}
