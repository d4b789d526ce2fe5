/*
 * holds.c - the liens on queued jobs' estimates (see holds.h).
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commit.h"
#include "holds.h"
#include "idmap.h"
#include "journal.h"
#include "lim.h"
#include "log.h"
#include "logkv.h"
#include "money.h"
#include "tally.h"

#define HOLDS_COMPACT_MIN	(256 * 1024)

struct hold {
	TAILQ_ENTRY(hold)	 link;
	uint64_t		 token;
	uint32_t		 job_id;
	uint32_t		 uid;
	int64_t			 cents;
	time_t			 created;
	uint32_t		 tasks;		/* array tasks still held; 0/1 */
	int64_t			 task_cents;
	uint32_t		*counted;	/* array tasks already charged */
	uint32_t		 ncounted;
	char			 account[128];
};

TAILQ_HEAD(holdq, hold);

struct holds {
	struct journal		*jr;
	struct commit		*commit;
	struct holdq		 all;
	struct idmap		 by_token;
	struct idmap		 by_job;
	struct tally		*tally;		/* sums per account and user */
	uint64_t		 next_token;
	size_t			 len;
};

uint64_t
hold_token_parse(const char *s)
{
	const char *p;

	if (s == NULL || (p = strstr(s, "bank_hold=")) == NULL)
		return 0;
	return strtoull(p + 10, NULL, 10);
}

static void
hold_free(struct holds *h, struct hold *o)
{
	TAILQ_REMOVE(&h->all, o, link);
	tally_add(h->tally, o->account, o->uid, -o->cents, -1);
	idmap_del(&h->by_token, o->token);
	if (o->job_id != 0 && idmap_get(&h->by_job, o->job_id) == o)
		idmap_del(&h->by_job, o->job_id);
	h->len--;
	free(o->counted);
	free(o);
}

static struct hold *
hold_new(struct holds *h, uint64_t token, uint32_t uid, const char *account,
    int64_t cents, time_t created)
{
	struct hold *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	o->token = token;
	o->uid = uid;
	o->cents = cents;
	o->created = created;
	snprintf(o->account, sizeof(o->account), "%s", account);
	if (tally_add(h->tally, o->account, uid, cents, 1) != 0) {
		free(o);
		return NULL;
	}
	if (idmap_put(&h->by_token, token, o) != 0) {
		tally_add(h->tally, o->account, uid, -cents, -1);
		free(o);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&h->all, o, link);
	h->len++;
	if (token >= h->next_token)
		h->next_token = token + 1;
	return o;
}

static void
do_bind(struct holds *h, struct hold *o, uint32_t job_id)
{
	struct hold *old;

	/* Job 0 is "not bound": it is never a key (fuzz_journal found it). */
	if (job_id == 0 || o->job_id == job_id)
		return;
	if ((old = idmap_get(&h->by_job, job_id)) != NULL && old != o)
		hold_free(h, old);	/* a requeued job's stale hold */
	/* Bound again: the old job no longer points at this hold. */
	if (o->job_id != 0 && idmap_get(&h->by_job, o->job_id) == o)
		idmap_del(&h->by_job, o->job_id);
	o->job_id = job_id;
	idmap_put(&h->by_job, job_id, o);
}

static void	 release(struct holds *, struct hold *, const char *);

/* An array task's first delivered report: its share is no longer held. */
static int
task_counted(struct holds *h, struct hold *o, uint32_t job_id)
{
	uint32_t i, *c;
	int64_t before = o->cents;

	for (i = 0; i < o->ncounted; i++)
		if (o->counted[i] == job_id)
			return 0;
	if ((c = realloc(o->counted, (o->ncounted + 1) * sizeof(*c))) == NULL)
		return 0;
	o->counted = c;
	o->counted[o->ncounted++] = job_id;
	o->cents -= o->task_cents;
	if (o->cents < 0)
		o->cents = 0;
	tally_add(h->tally, o->account, o->uid, o->cents - before, 0);
	if (o->tasks > 0)
		o->tasks--;
	return 1;
}

/* ---- journal ---------------------------------------------------------- */

static void
record(struct holds *h, json_t *rec)
{
	if (rec == NULL || journal_append(h->jr, rec) < 0)
		log_err("holds: cannot journal a change");
	json_decref(rec);
	commit_soon(h->commit, 1);
}

static int
emit_live(struct journal *jr, void *arg)
{
	struct holds *h = arg;
	struct hold *o;
	json_t *rec;

	/*
	 * The next token first: the live holds alone would make it one past
	 * the highest of them, and a token given to a job since released
	 * would be given again (its reports, resent, would end another
	 * job's hold).
	 */
	rec = json_pack("{s:s, s:I}", "op", "next", "token",
	    (json_int_t)h->next_token);
	if (rec == NULL || journal_append(jr, rec) < 0) {
		json_decref(rec);
		return -1;
	}
	json_decref(rec);
	TAILQ_FOREACH(o, &h->all, link) {
		rec = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I}",
		    "op", "hold", "token", (json_int_t)o->token, "uid",
		    (json_int_t)o->uid, "account", o->account, "cents",
		    (json_int_t)o->cents, "t", (json_int_t)o->created, "job",
		    (json_int_t)o->job_id, "tasks", (json_int_t)o->tasks,
		    "task_cents", (json_int_t)o->task_cents);
		if (rec == NULL || journal_append(jr, rec) < 0) {
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
	}
	return 0;
}

static void
maybe_compact(void *arg)
{
	struct holds *h = arg;
	size_t size = journal_size(h->jr);

	/* Each live hold is one ~150-byte record after compaction. */
	if (size > HOLDS_COMPACT_MIN && size > h->len * 600)
		journal_rewrite(h->jr, emit_live, h);
}

/* A job changed while pending (job_modify): its hold is the new estimate. */
static void
do_resize(struct holds *h, struct hold *o, int64_t cents, uint32_t tasks,
    int64_t task_cents)
{
	tally_add(h->tally, o->account, o->uid, cents - o->cents, 0);
	o->cents = cents;
	o->tasks = tasks > 1 ? tasks : 0;
	o->task_cents = tasks > 1 ? task_cents : 0;
}

static void
replay_resize(struct holds *h, struct hold *o, json_t *rec)
{
	json_int_t cents = json_integer_value(json_object_get(rec, "cents"));
	json_int_t tasks = json_integer_value(json_object_get(rec, "tasks"));
	json_int_t task_cents = json_integer_value(json_object_get(rec,
	    "task_cents"));

	if (cents < 0 || cents > LIM_COST_CENTS || tasks < 0 ||
	    tasks > (json_int_t)LIM_ARRAY_TASKS || task_cents < 0 ||
	    task_cents > cents) {
		log_err("holds: a resize record out of range (token %llu); "
		    "skipped", (unsigned long long)o->token);
		return;
	}
	do_resize(h, o, cents, (uint32_t)tasks, task_cents);
}

static void
on_replay(json_t *rec, void *arg)
{
	struct holds *h = arg;
	const char *op = json_string_value(json_object_get(rec, "op"));
	json_int_t token = json_integer_value(json_object_get(rec, "token"));
	json_int_t job = json_integer_value(json_object_get(rec, "job"));
	struct hold *o;

	if (op == NULL)
		return;
	/* A compaction's: no token below it may be given (emit_live). */
	if (strcmp(op, "next") == 0) {
		if (token > 0 && (uint64_t)token > h->next_token)
			h->next_token = (uint64_t)token;
		return;
	}
	if (strcmp(op, "hold") == 0) {
		const char *acct = json_string_value(json_object_get(rec,
		    "account"));
		json_int_t uid = json_integer_value(json_object_get(rec, "uid"));
		json_int_t cents = json_integer_value(json_object_get(rec,
		    "cents"));
		json_int_t tasks = json_integer_value(json_object_get(rec,
		    "tasks"));
		json_int_t task_cents = json_integer_value(json_object_get(rec,
		    "task_cents"));

		if (acct == NULL || idmap_get(&h->by_token, token) != NULL)
			return;
		/*
		 * What hold_place() can have written, and no more: a hold
		 * beyond would make the sums overflow (a damaged record).
		 */
		if (token <= 0 || uid < 0 || uid > (json_int_t)LIM_UID ||
		    cents < 0 || cents > LIM_COST_CENTS || tasks < 0 ||
		    tasks > (json_int_t)LIM_ARRAY_TASKS || task_cents < 0 ||
		    task_cents > cents || job < 0 ||
		    job > (json_int_t)LIM_JOB_ID ||
		    strlen(acct) > LIM_ACCOUNT_LEN || h->len >= LIM_HOLDS) {
			log_err("holds: a hold record out of range (token %lld, "
			    "%lld cents); skipped", (long long)token,
			    (long long)cents);
			return;
		}
		o = hold_new(h, (uint64_t)token, (uint32_t)uid, acct, cents,
		    (time_t)json_integer_value(json_object_get(rec, "t")));
		if (o == NULL)
			return;
		o->tasks = (uint32_t)tasks;
		o->task_cents = task_cents;
		if (job != 0)
			do_bind(h, o, (uint32_t)job);
		return;
	}
	if (job < 0 || job > (json_int_t)LIM_JOB_ID)
		return;
	if ((o = idmap_get(&h->by_token, (uint64_t)token)) == NULL)
		return;
	if (strcmp(op, "bind") == 0)
		do_bind(h, o, (uint32_t)job);
	else if (strcmp(op, "resize") == 0)
		replay_resize(h, o, rec);
	else if (strcmp(op, "release") == 0)
		hold_free(h, o);
	else if (strcmp(op, "task") == 0)
		task_counted(h, o, (uint32_t)job);
}

/*
 * Nobody waits for a hold's commit (the submission was answered), so with
 * fsync on it runs on the journal's sync thread (commit.c): a disk sync
 * must not stall the decisions queued behind it on the loop.
 */
struct holds *
holds_open(struct event_base *base, const char *state_dir, int fsync,
    char *err, size_t errlen)
{
	struct commit_hooks ch = { NULL, maybe_compact, NULL, NULL };
	struct holds *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->next_token = 1;
	TAILQ_INIT(&h->all);
	if (idmap_init(&h->by_token) != 0 || idmap_init(&h->by_job) != 0 ||
	    (h->tally = tally_new()) == NULL) {
		snprintf(err, errlen, "out of memory");
		holds_close(h);
		return NULL;
	}
	h->jr = journal_open_named(state_dir, "holds", fsync, on_replay, h,
	    err, errlen);
	if (h->jr == NULL) {
		holds_close(h);
		return NULL;
	}
	if (journal_corrupt(h->jr))
		journal_rewrite(h->jr, emit_live, h);
	/* Without the sync thread, commits simply happen on the loop. */
	ch.arg = h;
	if ((h->commit = commit_new(base, h->jr, "holds", &ch)) == NULL) {
		snprintf(err, errlen, "out of memory");
		holds_close(h);
		return NULL;
	}
	log_info("holds: %zu held from before", h->len);
	return h;
}

void
holds_close(struct holds *h)
{
	if (h == NULL)
		return;
	commit_finish(h->commit);
	commit_free(h->commit);
	if (h->jr != NULL)
		journal_close(h->jr);
	while (!TAILQ_EMPTY(&h->all))
		hold_free(h, TAILQ_FIRST(&h->all));
	idmap_free(&h->by_token);
	idmap_free(&h->by_job);
	tally_free(h->tally);
	free(h);
}

/* ---- placing and ending holds ------------------------------------- */

uint64_t
hold_place(struct holds *h, uint32_t uid, const char *account, int64_t cents,
    uint32_t tasks, int64_t task_cents)
{
	struct hold *o;

	/* Bounded, so that sums of holds are exact (lim.h). */
	if (h->len >= LIM_HOLDS || cents < 0 || cents > LIM_COST_CENTS) {
		log_err("holds: not holding %lld cents for uid %lu: %s",
		    (long long)cents, (unsigned long)uid, h->len >= LIM_HOLDS ?
		    "LIM_HOLDS holds are kept already" : "out of range");
		return 0;
	}
	if ((o = hold_new(h, h->next_token, uid, account, cents,
	    time(NULL))) == NULL)
		return 0;
	o->tasks = tasks > 1 ? tasks : 0;
	o->task_cents = tasks > 1 ? task_cents : 0;
	record(h, json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:I}", "op",
	    "hold", "token", (json_int_t)o->token, "uid", (json_int_t)uid,
	    "account", account, "cents", (json_int_t)cents, "t",
	    (json_int_t)o->created, "tasks", (json_int_t)o->tasks,
	    "task_cents", (json_int_t)o->task_cents));
	return o->token;
}

int64_t
hold_delivered(struct holds *h, uint64_t token, uint32_t job_id)
{
	struct hold *o = token ? idmap_get(&h->by_token, token) : NULL;
	int64_t before;

	/*
	 * One job's hold, unbound: a crash lost its bind record after the
	 * report was journaled.  The report's own token is the hold's.
	 */
	if (o != NULL && o->tasks == 0 && o->job_id == 0) {
		before = o->cents;
		release(h, o, "a report carrying its token was delivered");
		return before;
	}
	if (o == NULL || o->tasks == 0)		/* one job: as before */
		return hold_release_job(h, job_id, "a report of the job was "
		    "delivered");
	before = o->cents;
	if (!task_counted(h, o, job_id))
		return 0;
	record(h, json_pack("{s:s, s:I, s:I}", "op", "task", "token",
	    (json_int_t)token, "job", (json_int_t)job_id));
	if (o->tasks == 0) {
		release(h, o, "every task of the array was delivered");
		return before;
	}
	return before - o->cents;
}

int
hold_find(struct holds *h, uint64_t token, uint32_t job_id,
    struct hold_view *v)
{
	struct hold *o = token ? idmap_get(&h->by_token, token) : NULL;

	if (o == NULL && job_id != 0)
		o = idmap_get(&h->by_job, job_id);
	if (o == NULL)
		return -1;
	v->token = o->token;
	v->job_id = o->job_id;
	v->uid = o->uid;
	v->account = o->account;
	v->cents = o->cents;
	v->created = o->created;
	v->tasks = o->tasks;
	v->task_cents = o->task_cents;
	return 0;
}

/*
 * A hold changed: its job first (0 until slurmctld names the job), then
 * the hold, its account and SU.  to >= 0: resized to that.
 */
static void
hold_line(const struct hold *o, const char *action, int64_t to,
    const char *why)
{
	struct logkv kv;

	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	logkv_init(&kv);
	logkv_u64(&kv, "job", o->job_id);
	logkv_str(&kv, "event", "hold");
	logkv_str(&kv, "action", action);
	logkv_u64(&kv, "hold", o->token);
	logkv_str(&kv, "account", o->account);
	logkv_u64(&kv, "uid", o->uid);
	logkv_money(&kv, "amount", o->cents);
	if (to >= 0)
		logkv_money(&kv, "to", to);
	logkv_str(&kv, "reason", why);
	log_kv(LOG_LEVEL_INFO, &kv);
}

int
hold_resize(struct holds *h, uint64_t token, int64_t cents, uint32_t tasks,
    int64_t task_cents)
{
	struct hold *o = idmap_get(&h->by_token, token);

	if (o == NULL || cents < 0 || cents > LIM_COST_CENTS ||
	    task_cents < 0 || task_cents > cents)
		return -1;
	hold_line(o, "resize", cents, "the job was changed");
	do_resize(h, o, cents, tasks, task_cents);
	record(h, json_pack("{s:s, s:I, s:I, s:I, s:I}", "op", "resize",
	    "token", (json_int_t)token, "cents", (json_int_t)o->cents,
	    "tasks", (json_int_t)o->tasks, "task_cents",
	    (json_int_t)o->task_cents));
	return 0;
}

void
hold_bind(struct holds *h, uint64_t token, uint32_t job_id)
{
	struct hold *o = idmap_get(&h->by_token, token);

	/* An array's tasks share one token: it is settled task by task. */
	if (o == NULL || o->job_id == job_id || o->tasks > 0)
		return;
	do_bind(h, o, job_id);
	record(h, json_pack("{s:s, s:I, s:I}", "op", "bind", "token",
	    (json_int_t)token, "job", (json_int_t)job_id));
}

static void
release(struct holds *h, struct hold *o, const char *why)
{
	hold_line(o, "release", -1, why);
	record(h, json_pack("{s:s, s:I}", "op", "release", "token",
	    (json_int_t)o->token));
	hold_free(h, o);
}

int64_t
hold_release_job(struct holds *h, uint32_t job_id, const char *why)
{
	struct hold *o = idmap_get(&h->by_job, job_id);
	int64_t cents;

	if (o == NULL)
		return 0;
	cents = o->cents;
	release(h, o, why);
	return cents;
}

void
hold_release_token(struct holds *h, uint64_t token, const char *why)
{
	struct hold *o = idmap_get(&h->by_token, token);

	if (o != NULL)
		release(h, o, why);
}

size_t
holds_settle(struct holds *h, holds_settled_fn settled, void *arg)
{
	struct hold *o, *next;
	uint64_t token;
	size_t n = 0;
	int64_t t;

	for (o = TAILQ_FIRST(&h->all); o != NULL; o = next) {
		next = TAILQ_NEXT(o, link);
		if (o->job_id == 0 || o->tasks > 0)
			continue;
		if ((t = settled(arg, o->job_id, &token)) <= 0)
			continue;
		/*
		 * The token the reports carried says whose hold this is;
		 * the wall clock only when they carried none, since it may
		 * have been set back between the hold and the report
		 * (tests/dst, seeds 127 and 239).
		 */
		if (token != 0 ? token != o->token : (int64_t)o->created > t)
			continue;
		release(h, o, "its job's reports were delivered before bankd "
		    "stopped");
		n++;
	}
	return n;
}

/* ---- looking ---------------------------------------------------------- */

void
holds_sum(struct holds *h, const char *account, uint32_t uid,
    int64_t *acct, int64_t *user, size_t *njobs)
{
	tally_get(h->tally, account, uid, acct, user, njobs);
}

size_t
holds_count(const struct holds *h)
{
	return h->len;
}

void
holds_list(struct holds *h, const char *account, long uid, hold_view_fn fn,
    void *arg)
{
	struct hold_view v;
	struct hold *o;

	TAILQ_FOREACH(o, &h->all, link) {
		if ((account != NULL && strcmp(o->account, account) != 0) ||
		    (uid >= 0 && o->uid != (uint32_t)uid))
			continue;
		v.token = o->token;
		v.job_id = o->job_id;
		v.uid = o->uid;
		v.account = o->account;
		v.cents = o->cents;
		v.created = o->created;
		v.tasks = o->tasks;
		v.task_cents = o->task_cents;
		fn(&v, arg);
	}
}

void
holds_reconcile(struct holds *h, const struct live_job *jobs, size_t n,
    time_t snapshot, time_t grace)
{
	struct idmap live_jobs, live_tokens;
	struct hold *o, *next;
	size_t i, dropped = 0;

	if (idmap_init(&live_jobs) != 0 || idmap_init(&live_tokens) != 0) {
		idmap_free(&live_jobs);
		return;
	}
	for (i = 0; i < n; i++) {
		idmap_put(&live_jobs, jobs[i].job_id, (void *)1);
		if (jobs[i].token != 0) {
			idmap_put(&live_tokens, jobs[i].token, (void *)1);
			hold_bind(h, jobs[i].token, jobs[i].job_id);
		}
	}
	for (o = TAILQ_FIRST(&h->all); o != NULL; o = next) {
		next = TAILQ_NEXT(o, link);
		if (o->created > snapshot - grace)
			continue;	/* too young to judge */
		if (o->job_id != 0 && idmap_get(&live_jobs, o->job_id) == NULL) {
			release(h, o, "the job is gone from slurmctld");
			dropped++;
		} else if (o->job_id == 0 &&
		    idmap_get(&live_tokens, o->token) == NULL) {
			release(h, o, "no job carries its token (rejected "
			    "after the check, or never created)");
			dropped++;
		}
	}
	idmap_free(&live_jobs);
	idmap_free(&live_tokens);
	log_debug("holds: reconciled with %zu jobs, %zu holds ended", n,
	    dropped);
}
