/*
 * admin.c - bankctl's view of the queue and its levers (the postqueue /
 * postsuper of bankd).  The queue holds every account's charges, so
 * seeing it and changing it need root or the SlurmUser (SO_PEERCRED);
 * anyone else may list the holds on their own jobs only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bankd.h"
#include "deliver.h"
#include "holds.h"
#include "log.h"
#include "money.h"

/* Tabs and newlines would break the one-line-per-entry encoding. */
static void
flatten(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

struct page {
	struct bp_msg	*rep;
	int		 n;
};

static void
add_entry(const struct deliver_view *v, void *arg)
{
	struct page *pg = arg;
	char key[8], amount[MONEY_FMT_LEN], err[256], acct[160];

	snprintf(key, sizeof(key), "e%d", ++pg->n);
	snprintf(err, sizeof(err), "%s", v->last_error);
	flatten(err);
	/* Journaled before accounts were checked as they are now. */
	snprintf(acct, sizeof(acct), "%s", v->account);
	flatten(acct);
	bp_addf(pg->rep, key, "%" PRIu64 "\t%" PRIu32 "\t%s\t%s\t%s\t%u\t%"
	    PRId64 "\t%s\t%s", v->seq, v->job_id, v->kind,
	    money_format(v->cents, amount), v->state, v->attempts,
	    (v->next_in_ms + 999) / 1000, acct, err);
}

static void
do_queue(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct deliver_stats st;
	struct bp_msg rep;
	struct page pg = { &rep, 0 };
	uint64_t off = 0, lim = BP_QUEUE_PAGE, dead = 0;

	bp_get_u64(m, "offset", &off);
	bp_get_u64(m, "limit", &lim);
	bp_get_u64(m, "dead", &dead);
	if (lim > BP_QUEUE_PAGE)
		lim = BP_QUEUE_PAGE;
	deliver_stats(bd->dq, &st);
	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	bp_addf(&rep, "total", "%zu", dead ? st.dead : st.queued);
	deliver_list(bd->dq, (size_t)off, (size_t)lim, dead != 0, add_entry,
	    &pg);
	conn_reply(c, &rep);
	bp_free(&rep);
}

static void
add_detail(const struct deliver_view *v, void *arg)
{
	struct bp_msg *rep = arg;
	char amount[MONEY_FMT_LEN];

	bp_add(rep, "status", "ok");
	bp_addf(rep, "seq", "%" PRIu64, v->seq);
	bp_addf(rep, "job", "%" PRIu32, v->job_id);
	bp_add(rep, "kind", v->kind);
	bp_addf(rep, "amount", "%s", money_format(v->cents, amount));
	bp_add(rep, "account", v->account);
	bp_add(rep, "state", v->state);
	bp_addf(rep, "attempts", "%u", v->attempts);
	bp_addf(rep, "next_in_ms", "%" PRId64, v->next_in_ms);
	bp_addf(rep, "accepted", "%lld", (long long)v->accepted);
	bp_add(rep, "last_error", v->last_error);
	/* Copied: the body is read from the journal just for this call. */
	bp_addf(rep, "body", "%s", v->body);
}

static void
do_show(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct bp_msg rep;
	uint64_t seq = 0;

	bp_get_u64(m, "seq", &seq);
	bp_init(&rep, m->type | BP_REPLY, m->id);
	if (deliver_show(bd->dq, seq, add_detail, &rep) != 0) {
		bp_add(&rep, "status", "error");
		bp_addf(&rep, "message", "no report %" PRIu64 " in the queue",
		    seq);
	}
	conn_reply(c, &rep);
	bp_free(&rep);
}

static void
do_change(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct bp_msg rep;
	uint64_t seq = 0;
	char err[256];
	long n = 0;

	bp_get_u64(m, "seq", &seq);
	bp_init(&rep, m->type | BP_REPLY, m->id);
	switch (m->type) {
	case BP_T_RETRY:
		if ((n = deliver_retry(bd->dq, seq)) < 0)
			snprintf(err, sizeof(err), "no report %" PRIu64
			    " in the queue", seq);
		break;
	case BP_T_DROP:
		n = deliver_drop(bd->dq, seq, err, sizeof(err));
		break;
	default:
		deliver_pause(bd->dq, m->type == BP_T_PAUSE);
		break;
	}
	if (n < 0) {
		bp_add(&rep, "status", "error");
		bp_add(&rep, "message", err);
	} else {
		bp_add(&rep, "status", "ok");
		bp_addf(&rep, "count", "%ld", n);
	}
	conn_reply(c, &rep);
	bp_free(&rep);
}

struct hold_page {
	struct bp_msg	*rep;
	int		 n;
	int64_t		 total;
	time_t		 now;
};

static void
add_hold(const struct hold_view *v, void *arg)
{
	struct hold_page *pg = arg;
	char key[8], amount[MONEY_FMT_LEN], acct[160];

	pg->total += v->cents;
	if (pg->n >= BP_QUEUE_PAGE)
		return;		/* the total still counts every one */
	snprintf(key, sizeof(key), "h%d", ++pg->n);
	snprintf(acct, sizeof(acct), "%s", v->account);
	flatten(acct);
	bp_addf(pg->rep, key, "%" PRIu64 "\t%" PRIu32 "\t%" PRIu32 "\t%s\t%s"
	    "\t%lld", v->token, v->job_id, v->uid, acct,
	    money_format(v->cents, amount), (long long)(pg->now - v->created));
}

static void
do_holds(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	struct bp_msg rep;
	struct hold_page pg = { &rep, 0, 0, time(NULL) };
	const char *acct = bp_get(m, "account");
	char amount[MONEY_FMT_LEN];
	uint64_t uid = 0;
	long u = bp_get_u64(m, "uid", &uid) == 0 ? (long)uid : -1;

	/* A user sees their own holds, not other people's figures. */
	if (!conn_privileged(c)) {
		if (u >= 0 && u != (long)conn_uid(c)) {
			reply_simple(c, m, "error", "permission denied: a user "
			    "may list only their own holds");
			return;
		}
		u = (long)conn_uid(c);
	}

	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	holds_list(bd->holds, acct && *acct ? acct : NULL, u, add_hold, &pg);
	bp_addf(&rep, "count", "%d", pg.n);
	bp_add(&rep, "total", money_format(pg.total, amount));
	conn_reply(c, &rep);
	bp_free(&rep);
}

int
admin_request(struct bankd *bd, struct conn *c, const struct bp_msg *m)
{
	switch (m->type) {
	case BP_T_HOLDS:
		do_holds(bd, c, m);
		return 0;
	case BP_T_QUEUE:
	case BP_T_SHOW:
		if (!conn_privileged(c)) {
			reply_simple(c, m, "error", "permission denied: the "
			    "queue holds every account's charges; only root "
			    "and the SlurmUser may see it");
			return 0;
		}
		if (m->type == BP_T_QUEUE)
			do_queue(bd, c, m);
		else
			do_show(bd, c, m);
		return 0;
	case BP_T_RETRY:
	case BP_T_DROP:
	case BP_T_PAUSE:
	case BP_T_RESUME:
		if (!conn_may_write(bd, c)) {
			log_warn("refused '%s' from uid %ld: only root and "
			    "the SlurmUser may change the queue",
			    bp_type_name(m->type), (long)conn_uid(c));
			reply_simple(c, m, "error", "permission denied: only "
			    "root and the SlurmUser may change the queue");
			return 0;
		}
		do_change(bd, c, m);
		return 0;
	}
	return -1;
}
