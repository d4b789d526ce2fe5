/*
 * sim_submit.c: GET /can_submit_job/{job_cost}/{user_id}/{account_id}/
 * and the small answer helpers everything else shares.
 *
 * The order of the checks, and the spelling of every message, follow
 * the server's view: cost syntax, sign, digits, places, user, account,
 * allowance prefix, membership, allocation, then account before user.
 */
#include <stdio.h>
#include <string.h>

#include "sim_priv.h"

struct sim_resp
sim_resp_make(int status, json_t *body)
{
	struct sim_resp	r = { status, body, body == NULL };

	/* Without a body (out of memory) the HTML 500 is the honest answer. */
	if (body == NULL)
		r.status = 500;
	return r;
}

struct sim_resp
sim_resp_html(void)
{
	struct sim_resp	r = { 500, NULL, 1 };

	return r;
}

void
sim_resp_clear(struct sim_resp *r)
{
	json_decref(r->body);
	r->body = NULL;
}

json_t *
sim_detail(const char *msg)
{
	return json_pack("{s:s}", "detail", msg);
}

static struct sim_resp
answer(int status, int ok, const char *msg)
{
	return sim_resp_make(status, json_pack("{s:b,s:s}", "success", ok,
	    "message", msg));
}

/* Validate the cost; 0 when usable, else *r holds the answer. */
static int
check_cost(const char *raw, struct sim_amount *a, struct sim_resp *r)
{
	char	msg[256];

	sim_money_scan(raw, a);
	if (a->kind == MONEY_SYNTAX) {
		snprintf(msg, sizeof(msg), "Encountered exception "
		    "[<class 'decimal.ConversionSyntax'>] when converting "
		    "job_cost %s to a decimal.", raw);
		*r = answer(400, 0, msg);
		return -1;
	}
	if (a->neg) {
		snprintf(msg, sizeof(msg), "job_cost %s is not nonnegative.",
		    a->canon);
		*r = answer(400, 0, msg);
		return -1;
	}
	if (a->kind != MONEY_NUMBER) {
		/* abs() of a NaN/Infinity exponent raises: Django's 500. */
		*r = sim_resp_html();
		return -1;
	}
	if (a->sig > 11 || a->places > 2 || a->has_exp) {
		snprintf(msg, sizeof(msg), "job_cost %s has greater than %s.",
		    a->canon, a->sig > 11 ? "11 digits" : "2 decimal places");
		*r = answer(400, 0, msg);
		return -1;
	}
	return 0;
}

static struct sim_resp
exceeds(const struct sim_amount *a, const char *what, int64_t usage,
    int64_t alloc)
{
	char	msg[256], u[32], al[32];

	sim_money_fmt(usage, u, sizeof(u));
	sim_money_fmt(alloc, al, sizeof(al));
	snprintf(msg, sizeof(msg), "Adding job_cost %s to %s balance %s would "
	    "exceed %s allocation %s.", a->canon, what, u, what, al);
	return answer(200, 0, msg);
}

struct sim_resp
sim_can_submit(struct sim_bank *b, const char *cost, const char *uidstr,
    const char *acct)
{
	struct sim_amount	 a;
	struct sim_resp		 r;
	struct sim_user		*u;
	struct sim_account	*ac;
	struct sim_member	*m;
	char			 msg[512];
	long			 uid;

	if (check_cost(cost, &a, &r) == -1)
		return r;
	if (sim_parse_uid(uidstr, &uid) == -1 ||
	    (u = sim_find_user(b, uid)) == NULL) {
		snprintf(msg, sizeof(msg), "No user exists with user_id %s.",
		    uidstr);
		return answer(400, 0, msg);
	}
	if ((ac = sim_find_account(b, acct)) == NULL) {
		snprintf(msg, sizeof(msg), "No account exists with account_id "
		    "%s.", acct);
		return answer(400, 0, msg);
	}
	snprintf(msg, sizeof(msg), "A job with job_cost %s can be submitted.",
	    cost);
	if (!sim_has_prefix(ac->name))
		return answer(200, 1, msg);
	if ((m = sim_find_member(b, uid, ac->name)) == NULL) {
		snprintf(msg, sizeof(msg), "User %s is not a member of account "
		    "%s.", u->username, ac->name);
		return answer(200, 0, msg);
	}
	if (!ac->active) {
		snprintf(msg, sizeof(msg), "Account %s has no active compute "
		    "allocation.", ac->name);
		return answer(200, 0, msg);
	}
	if (!m->on_alloc) {
		snprintf(msg, sizeof(msg), "User %s is not an active member of "
		    "the compute allocation for account %s.", u->username,
		    ac->name);
		return answer(200, 0, msg);
	}
	if (a.cents + ac->usage > ac->alloc)
		return exceeds(&a, "account", ac->usage, ac->alloc);
	if (a.cents + m->usage > m->alloc)
		return exceeds(&a, "user", m->usage, m->alloc);
	return answer(200, 1, msg);
}
