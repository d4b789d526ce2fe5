/*
 * check_queue.c: unit tests of bankd's report queue (bankd/deliver.c and
 * the files queue.h lists), driven the way bankd drives it but without
 * sockets or HTTP: a fake send hook keeps each report it is handed, and
 * the test answers it with a portal_report result when it chooses; the
 * event loop is the test's, run a turn at a time.
 *
 * The rules: reports of one job go in order (an end waits for its start
 * to be delivered); an end replaces a start that waits or whose try
 * failed, and the charge is then the end's; a PR_RETRY is tried again
 * after a backoff that grows; PR_REFUSED makes a dead letter, which an
 * operator's retry sends again; PR_DUPLICATE counts as delivered; 401/403
 * narrow delivery to one at a time; the journal is compacted once mostly
 * delivered, and a reopen replays only the live reports; a report is
 * acknowledged, and sent, only once its record is on disk.
 *
 * Every test works in its own mkdtemp directory under one top directory
 * that main() creates and removes.
 */
#include <check.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "deliver.h"
#include "portal_report.h"
#include "qsched.h"
#include "queue.h"		/* qstore_compact(): a compaction now */
#include "report.h"

#define MAX_SENT	128
#define MAX_DONE	128
#define BIG_BODY	40000

struct sent {
	struct portal_report	*r;		/* NULL once answered */
	enum report_kind	 kind;
	uint32_t		 job_id;
	int64_t			 cents;
	char			*body;
};

struct done {
	enum report_kind	 kind;
	uint32_t		 job_id;
	int64_t			 cents;
	int64_t			 held;
};

/* One queue under test, and everything it told the test. */
struct fx {
	char			*dir;
	struct event_base	*base;
	struct deliver		*dq;
	struct deliver_settings	 set;
	struct sent		 sent[MAX_SENT];
	int			 nsent;
	struct done		 done[MAX_DONE];
	int			 ndone;
	int			 api_bad;	/* on_api(0, ...) calls */
	int			 acks;
	int			 acks_failed;
	int			 on_disk_at_ack; /* the marker, when acked */
	const char		*marker;
};

static char topdir[256];

static int
fake_send(void *ctx, struct portal_report *r, char *body)
{
	struct fx *f = ctx;
	struct sent *s;

	ck_assert_int_lt(f->nsent, MAX_SENT);
	s = &f->sent[f->nsent++];
	s->r = r;
	s->kind = r->kind;
	s->job_id = r->job_id;
	s->cents = r->cents;
	s->body = body;
	return 0;
}

static void
on_delivered(void *arg, const struct report *r)
{
	struct fx *f = arg;

	ck_assert_int_lt(f->ndone, MAX_DONE);
	ck_assert_ptr_null(r->body);
	f->done[f->ndone].kind = r->kind;
	f->done[f->ndone].job_id = r->job_id;
	f->done[f->ndone].held = r->held;
	f->done[f->ndone++].cents = r->cents;
}

static void
on_api(void *arg, int ok, const char *error)
{
	struct fx *f = arg;

	(void)error;
	if (!ok)
		f->api_bad++;
}

static void
qopen(struct fx *f)
{
	struct deliver_hooks hooks = { fake_send, f, on_delivered, on_api, f,
	    NULL };
	char err[256];

	f->dq = deliver_open(f->base, &f->set, &hooks, err, sizeof(err));
	ck_assert_msg(f->dq != NULL, "deliver_open: %s", err);
}

static void
fx_init(struct fx *f, int fsync)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_ne(asprintf(&f->dir, "%s/q.XXXXXX", topdir), -1);
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	ck_assert_ptr_nonnull(f->base = event_base_new());
	f->set.state_dir = f->dir;
	f->set.fsync = fsync;
	f->set.max_inflight = 64;
	f->set.retry_max_ms = 2000;
	qopen(f);
}

static void
sent_free(struct fx *f)
{
	int i;

	for (i = 0; i < f->nsent; i++) {
		free(f->sent[i].body);
		f->sent[i].body = NULL;
	}
}

/* Closing abandons what is in flight, as api_free does. */
static void
qclose(struct fx *f)
{
	deliver_close(f->dq);
	f->dq = NULL;
	sent_free(f);
	f->nsent = 0;
}

static void
fx_free(struct fx *f)
{
	qclose(f);
	event_base_free(f->base);
	free(f->dir);
}

/* Turns of the loop for about ms milliseconds. */
static void
spin(struct fx *f, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* Turns of the loop until *n reaches want (at most 3 s): 1 if it did. */
static int
spin_until(struct fx *f, const int *n, int want)
{
	int i;

	for (i = 0; i < 3000 && *n < want; i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		if (*n < want)
			usleep(1000);
	}
	return *n >= want;
}

static int
file_has(const char *dir, const char *needle)
{
	char path[512], *buf;
	FILE *fp;
	long n;
	int found;

	snprintf(path, sizeof(path), "%s/journal", dir);
	if ((fp = fopen(path, "rb")) == NULL)
		return 0;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	n = (long)fread(buf, 1, (size_t)n, fp);
	fclose(fp);
	found = memmem(buf, (size_t)n, needle, strlen(needle)) != NULL;
	free(buf);
	return found;
}

static void
on_ack(void *arg, int ok)
{
	struct fx *f = arg;

	f->acks++;
	if (!ok)
		f->acks_failed++;
	if (f->marker != NULL && file_has(f->dir, f->marker))
		f->on_disk_at_ack = 1;
}

/* A report of job as report_build makes it; pad makes its body larger. */
static struct report
mk(enum report_kind kind, uint32_t job, int64_t cents, size_t pad)
{
	struct report r;
	char *padding;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.job_id = job;
	r.uid = 1000;
	r.cents = cents;
	snprintf(r.account, sizeof(r.account), "fc_x");
	padding = calloc(1, pad + 1);
	ck_assert_ptr_nonnull(padding);
	memset(padding, 'x', pad);
	ck_assert_int_ne(asprintf(&r.body, "{\"amount\":\"%lld\",\"jobslurmid\":"
	    "\"%u\",\"jobstatus\":\"%s\",\"pad\":\"%s\"}", (long long)cents,
	    job, kind == REPORT_START ? "RUNNING" : "COMPLETED", padding), -1);
	free(padding);
	return r;
}

static enum deliver_take
take(struct fx *f, enum report_kind kind, uint32_t job, int64_t cents)
{
	struct report r = mk(kind, job, cents, 0);
	enum deliver_take t = deliver_take(f->dq, &r, on_ack, f);

	report_clear(&r);
	return t;
}

/* Take a report and wait until it is durable (acknowledged). */
static void
take_durable(struct fx *f, enum report_kind kind, uint32_t job,
    int64_t cents)
{
	int want = f->acks + 1;

	ck_assert_int_eq(take(f, kind, job, cents), TAKE_QUEUED);
	ck_assert(spin_until(f, &f->acks, want));
}

static void
answer(struct fx *f, int i, enum portal_report_result res, const char *why)
{
	struct portal_report_answer a;
	struct portal_report *r = f->sent[i].r;

	ck_assert_ptr_nonnull(r);
	memset(&a, 0, sizeof(a));
	a.result = res;
	a.reason = why != NULL ? why : "";
	a.advice = "renew the token";
	a.api_ok = res != PR_RETRY;
	a.api_error = res == PR_RETRY ? why : NULL;
	f->sent[i].r = NULL;
	r->cb(&a, r->arg);
}

/* The queue's entry of a job (the first one listed), for its view. */
struct found {
	uint32_t	 job_id;
	int		 nth;		/* which of the job's entries */
	int		 n;		/* the job's entries listed */
	char		 state[16];
	char		 kind[8];
	char		 error[256];
	char		 cause[16];
	unsigned	 attempts;
	int64_t		 next_in_ms;
	int64_t		 cents;
	uint64_t	 seq;
	char		*body;
};

static void
on_view(const struct deliver_view *v, void *arg)
{
	struct found *fd = arg;

	if (v->job_id != fd->job_id || fd->n++ != fd->nth)
		return;
	snprintf(fd->state, sizeof(fd->state), "%s", v->state);
	snprintf(fd->kind, sizeof(fd->kind), "%s", v->kind);
	snprintf(fd->error, sizeof(fd->error), "%s", v->last_error);
	snprintf(fd->cause, sizeof(fd->cause), "%s", v->cause);
	fd->attempts = v->attempts;
	fd->next_in_ms = v->next_in_ms;
	fd->cents = v->cents;
	fd->seq = v->seq;
	if (*v->body != '\0')
		fd->body = strdup(v->body);
}

static struct found
find_nth(struct fx *f, uint32_t job, int nth)
{
	struct found fd;

	memset(&fd, 0, sizeof(fd));
	fd.job_id = job;
	fd.nth = nth;
	deliver_list(f->dq, 0, SIZE_MAX, 0, on_view, &fd);
	return fd;
}

static struct found
find(struct fx *f, uint32_t job)
{
	return find_nth(f, job, 0);
}

static struct deliver_stats
stats(struct fx *f)
{
	struct deliver_stats st;

	deliver_stats(f->dq, &st);
	return st;
}

/* ---- order per job ----------------------------------------------- */

START_TEST(test_order_per_job)
{
	struct fx f;
	struct found fd;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 1, 500);
	ck_assert_int_eq(f.nsent, 1);
	ck_assert_int_eq(f.sent[0].kind, REPORT_START);
	/* The start is in flight: its end waits behind it. */
	take_durable(&f, REPORT_END, 1, 300);
	take_durable(&f, REPORT_START, 2, 700);
	spin(&f, 5);
	ck_assert_int_eq(f.nsent, 2);
	ck_assert_uint_eq(f.sent[1].job_id, 2);	/* another job goes */
	fd = find(&f, 1);
	ck_assert_str_eq(fd.state, "sending");
	ck_assert_int_eq(stats(&f).queued, 3);
	ck_assert_int_eq(stats(&f).inflight, 2);
	answer(&f, 0, PR_DELIVERED, NULL);
	/* Only now does the end of job 1 go. */
	ck_assert_int_eq(f.nsent, 3);
	ck_assert_int_eq(f.sent[2].kind, REPORT_END);
	ck_assert_uint_eq(f.sent[2].job_id, 1);
	ck_assert_int_eq(f.sent[2].cents, 300);
	ck_assert_ptr_nonnull(strstr(f.sent[2].body, "COMPLETED"));
	answer(&f, 2, PR_DELIVERED, NULL);
	answer(&f, 1, PR_DELIVERED, NULL);
	ck_assert_int_eq(f.ndone, 3);
	ck_assert_int_eq(f.done[0].kind, REPORT_START);
	ck_assert_int_eq(f.done[1].kind, REPORT_END);
	ck_assert_int_eq(stats(&f).queued, 0);
	ck_assert_int_eq(stats(&f).delivered, 3);
	fx_free(&f);
}
END_TEST

START_TEST(test_end_behind_a_start_in_flight)
{
	struct fx f;
	struct found fd;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 1, 500);
	take_durable(&f, REPORT_END, 1, 300);
	fd = find_nth(&f, 1, 1);
	ck_assert_int_eq(fd.n, 2);
	ck_assert_str_eq(fd.kind, "end");
	ck_assert_str_eq(fd.state, "behind");
	ck_assert_int_eq(f.nsent, 1);
	fx_free(&f);
}
END_TEST

/* ---- replacement ------------------------------------------------- */

START_TEST(test_end_replaces_a_start_not_sent)
{
	struct fx f;

	fx_init(&f, 0);
	deliver_pause(f.dq, 1);
	take_durable(&f, REPORT_START, 7, 900);
	take_durable(&f, REPORT_END, 7, 250);
	ck_assert_int_eq(stats(&f).queued, 1);
	deliver_pause(f.dq, 0);
	ck_assert_int_eq(f.nsent, 1);
	ck_assert_int_eq(f.sent[0].kind, REPORT_END);
	ck_assert_int_eq(f.sent[0].cents, 250);
	answer(&f, 0, PR_DELIVERED, NULL);
	ck_assert_int_eq(f.ndone, 1);
	ck_assert_int_eq(f.done[0].kind, REPORT_END);
	ck_assert_int_eq(f.done[0].cents, 250);
	/* A start now would undo the charge. */
	ck_assert_int_eq(take(&f, REPORT_START, 7, 900), TAKE_SUPERSEDED);
	fx_free(&f);
}
END_TEST

START_TEST(test_end_replaces_a_start_waiting_to_retry)
{
	struct fx f;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 7, 900);
	answer(&f, 0, PR_RETRY, "HTTP 503");
	ck_assert_str_eq(find(&f, 7).state, "waiting");
	take_durable(&f, REPORT_END, 7, 250);
	spin(&f, 5);
	ck_assert_int_eq(stats(&f).queued, 1);
	ck_assert_int_eq(f.nsent, 2);
	ck_assert_int_eq(f.sent[1].kind, REPORT_END);
	ck_assert_int_eq(f.sent[1].cents, 250);
	answer(&f, 1, PR_DELIVERED, NULL);
	ck_assert_int_eq(f.ndone, 1);
	ck_assert_int_eq(f.done[0].cents, 250);
	fx_free(&f);
}
END_TEST

START_TEST(test_end_overtakes_a_start_whose_try_failed)
{
	struct fx f;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 8, 900);
	take_durable(&f, REPORT_END, 8, 420);	/* behind the POST */
	ck_assert_int_eq(f.nsent, 1);
	answer(&f, 0, PR_RETRY, "no answer");
	/* The end goes at once, not after the start's backoff. */
	ck_assert_int_eq(f.nsent, 2);
	ck_assert_int_eq(f.sent[1].kind, REPORT_END);
	ck_assert_int_eq(f.sent[1].cents, 420);
	ck_assert_int_eq(stats(&f).queued, 1);
	answer(&f, 1, PR_DELIVERED, NULL);
	ck_assert_int_eq(f.ndone, 1);
	ck_assert_int_eq(f.done[0].kind, REPORT_END);
	ck_assert_int_eq(f.done[0].cents, 420);
	ck_assert_int_eq(stats(&f).queued, 0);
	fx_free(&f);
}
END_TEST

/* ---- retries ------------------------------------------------------- */

START_TEST(test_retry_backs_off)
{
	struct fx f;
	struct found first, second;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 3, 100);
	answer(&f, 0, PR_RETRY, "HTTP 502");
	first = find(&f, 3);
	ck_assert_str_eq(first.state, "waiting");
	ck_assert_str_eq(first.error, "HTTP 502");
	ck_assert_uint_eq(first.attempts, 1);
	/* 500 ms, drawn in [250, 500]. */
	ck_assert_int_ge(first.next_in_ms, 240);
	ck_assert_int_le(first.next_in_ms, 500);
	ck_assert_int_eq(stats(&f).retries, 1);
	ck_assert_int_eq(f.api_bad, 1);
	spin(&f, 100);
	ck_assert_int_eq(f.nsent, 1);		/* not before it is due */
	ck_assert(spin_until(&f, &f.nsent, 2));
	ck_assert_uint_eq(find(&f, 3).attempts, 2);
	answer(&f, 1, PR_RETRY, "HTTP 502");
	second = find(&f, 3);
	/* Doubled: 1000 ms, drawn in [500, 1000]. */
	ck_assert_int_ge(second.next_in_ms, 490);
	ck_assert_int_le(second.next_in_ms, 1000);
	ck_assert_int_eq(stats(&f).retries, 2);
	ck_assert(spin_until(&f, &f.nsent, 3));
	answer(&f, 2, PR_DELIVERED, NULL);
	ck_assert_int_eq(f.ndone, 1);
	ck_assert_int_eq(stats(&f).queued, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_backoff_doubles_up_to_its_cap)
{
	int64_t d;
	int i;

	for (i = 0; i < 1000; i++) {
		d = qsched_backoff(1, 300000);
		ck_assert(d >= 250 && d <= 500);
		d = qsched_backoff(2, 300000);
		ck_assert(d >= 500 && d <= 1000);
		d = qsched_backoff(4, 300000);
		ck_assert(d >= 2000 && d <= 4000);
		d = qsched_backoff(40, 60000);
		ck_assert(d >= 30000 && d <= 60000);
	}
}
END_TEST

START_TEST(test_api_answering_again_sends_the_backlog_now)
{
	struct fx f;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 1, 100);
	take_durable(&f, REPORT_START, 2, 100);
	answer(&f, 0, PR_RETRY, "no answer");
	answer(&f, 1, PR_RETRY, "no answer");
	ck_assert_str_eq(find(&f, 1).state, "waiting");
	deliver_api_answers(f.dq);
	ck_assert_int_eq(f.nsent, 4);
	ck_assert_uint_eq(f.sent[2].job_id + f.sent[3].job_id, 3);
	fx_free(&f);
}
END_TEST

START_TEST(test_token_refused_narrows_to_one)
{
	struct fx f;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 1, 100);
	answer(&f, 0, PR_AUTH, "HTTP 401");
	ck_assert_int_eq(stats(&f).auth_blocked, 1);
	take_durable(&f, REPORT_START, 2, 100);
	take_durable(&f, REPORT_START, 3, 100);
	spin(&f, 5);
	ck_assert_int_eq(f.nsent, 2);	/* one at a time */
	ck_assert_int_eq(stats(&f).inflight, 1);
	answer(&f, 1, PR_DELIVERED, NULL);
	ck_assert_int_eq(stats(&f).auth_blocked, 0);
	ck_assert_int_eq(f.nsent, 3);
	fx_free(&f);
}
END_TEST

/* ---- dead letters, duplicates ----------------------------------------- */

START_TEST(test_refused_is_a_dead_letter_until_retried)
{
	struct fx f;
	struct found fd;
	char err[256];

	fx_init(&f, 0);
	take_durable(&f, REPORT_END, 4, 1234);
	ck_assert_int_eq(deliver_drop(f.dq, find(&f, 4).seq, err,
	    sizeof(err)), -1);		/* not a dead letter yet */
	ck_assert_str_eq(find(&f, 4).cause, "");	/* not dead */
	answer(&f, 0, PR_REFUSED, "HTTP 400: no such account");
	fd = find(&f, 4);
	ck_assert_str_eq(fd.state, "dead");
	ck_assert_str_eq(fd.error, "HTTP 400: no such account");
	ck_assert_str_eq(fd.cause, "refused");
	ck_assert_int_eq(stats(&f).dead, 1);
	spin(&f, 600);
	ck_assert_int_eq(f.nsent, 1);		/* never tried again alone */
	/* Journaled: dead after a restart too. */
	qclose(&f);
	qopen(&f);
	ck_assert_int_eq(stats(&f).dead, 1);
	fd = find(&f, 4);
	ck_assert_str_eq(fd.state, "dead");
	ck_assert_str_eq(fd.error, "HTTP 400: no such account");
	ck_assert_int_eq(f.nsent, 0);
	ck_assert_int_eq(deliver_retry(f.dq, fd.seq), 1);
	ck_assert_int_eq(stats(&f).dead, 0);
	ck_assert_int_eq(f.nsent, 1);
	ck_assert_uint_eq(f.sent[0].job_id, 4);
	ck_assert_int_eq(f.sent[0].cents, 1234);
	answer(&f, 0, PR_DELIVERED, NULL);
	ck_assert_int_eq(f.ndone, 1);
	ck_assert_int_eq(stats(&f).queued, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_dropped_dead_letter_is_gone)
{
	struct fx f;
	char err[256];
	uint64_t seq;

	fx_init(&f, 0);
	take_durable(&f, REPORT_END, 4, 1234);
	answer(&f, 0, PR_REFUSED, "HTTP 400");
	seq = find(&f, 4).seq;
	ck_assert_int_eq(deliver_drop(f.dq, seq, err, sizeof(err)), 1);
	ck_assert_int_eq(stats(&f).queued, 0);
	ck_assert_int_eq(stats(&f).dead, 0);
	spin(&f, 5);
	qclose(&f);
	qopen(&f);
	ck_assert_int_eq(stats(&f).queued, 0);
	ck_assert_int_eq(f.ndone, 0);		/* never charged */
	fx_free(&f);
}
END_TEST

START_TEST(test_duplicate_counts_as_delivered)
{
	struct fx f;

	fx_init(&f, 0);
	take_durable(&f, REPORT_START, 5, 600);
	answer(&f, 0, PR_DUPLICATE, NULL);
	ck_assert_int_eq(f.ndone, 1);
	ck_assert_int_eq(f.done[0].cents, 600);
	ck_assert_int_eq(stats(&f).delivered, 1);
	ck_assert_int_eq(stats(&f).queued, 0);
	/* A job starts once: a repeat is a duplicate, not a report. */
	ck_assert_int_eq(take(&f, REPORT_START, 5, 600), TAKE_DUP);
	ck_assert_int_eq(stats(&f).queued, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_repeats_join_or_are_duplicates)
{
	struct fx f;

	fx_init(&f, 0);
	deliver_pause(f.dq, 1);
	ck_assert_int_eq(take(&f, REPORT_END, 6, 10), TAKE_QUEUED);
	/* Not durable yet: the repeat shares its commit. */
	ck_assert_int_eq(take(&f, REPORT_END, 6, 10), TAKE_JOINED);
	ck_assert(spin_until(&f, &f.acks, 2));
	ck_assert_int_eq(f.acks_failed, 0);
	ck_assert_int_eq(take(&f, REPORT_END, 6, 10), TAKE_DUP);
	/* Another body is another completion. */
	ck_assert_int_eq(take(&f, REPORT_END, 6, 11), TAKE_QUEUED);
	ck_assert_int_eq(stats(&f).queued, 2);
	fx_free(&f);
}
END_TEST

/* ---- the journal ---------------------------------------------------- */

START_TEST(test_compaction_keeps_only_the_live)
{
	struct fx f;
	struct deliver_stats st;
	struct found fd;
	struct report r;
	size_t before;
	char *live_body;
	int i, n = 30;

	fx_init(&f, 0);
	for (i = 0; i < n; i++) {
		r = mk(REPORT_START, 100 + i, 100, BIG_BODY);
		ck_assert_int_eq(deliver_take(f.dq, &r, on_ack, &f),
		    TAKE_QUEUED);
		report_clear(&r);
	}
	ck_assert(spin_until(&f, &f.acks, n));
	ck_assert_int_eq(f.nsent, n);
	deliver_pause(f.dq, 1);
	r = mk(REPORT_END, 99, 4242, 100);
	live_body = strdup(r.body);
	ck_assert_int_eq(deliver_take(f.dq, &r, on_ack, &f), TAKE_QUEUED);
	report_clear(&r);
	ck_assert(spin_until(&f, &f.acks, n + 1));
	before = stats(&f).journal_bytes;
	ck_assert_uint_gt(before, (size_t)n * BIG_BODY);
	for (i = 0; i < n; i++)
		answer(&f, i, PR_DELIVERED, NULL);
	spin(&f, 5);
	st = stats(&f);
	ck_assert_int_eq(st.queued, 1);
	/* One report left, and a seen record of each start delivered. */
	ck_assert_uint_lt(st.journal_bytes, 1000 + (size_t)n * 64);
	/* A reopen replays the live report only, its body intact. */
	qclose(&f);
	qopen(&f);
	st = stats(&f);
	ck_assert_int_eq(st.queued, 1);
	ck_assert_uint_lt(st.journal_bytes, 1000 + (size_t)n * 64);
	/* Those starts stay delivered: a resend is a duplicate. */
	ck_assert_int_eq(take(&f, REPORT_START, 100, 100), TAKE_DUP);
	fd = find(&f, 99);
	ck_assert_int_eq(fd.n, 1);
	ck_assert_int_eq(fd.cents, 4242);
	memset(&fd, 0, sizeof(fd));
	fd.job_id = 99;
	ck_assert_int_eq(deliver_show(f.dq, find(&f, 99).seq, on_view, &fd),
	    0);
	ck_assert_ptr_nonnull(fd.body);
	ck_assert_str_eq(fd.body, live_body);
	free(fd.body);
	free(live_body);
	fx_free(&f);
}
END_TEST

START_TEST(test_reopen_replays_what_is_queued)
{
	struct fx f;

	fx_init(&f, 0);
	deliver_pause(f.dq, 1);
	take_durable(&f, REPORT_START, 1, 100);
	take_durable(&f, REPORT_END, 2, 200);
	qclose(&f);
	qopen(&f);
	ck_assert_int_eq(stats(&f).queued, 2);
	ck_assert_int_eq(f.nsent, 2);		/* sent again at start */
	ck_assert_uint_eq(f.sent[0].job_id + f.sent[1].job_id, 3);
	ck_assert_int_eq(f.sent[0].cents + f.sent[1].cents, 300);
	/* A durable start is remembered: its repeat is a duplicate. */
	ck_assert_int_eq(take(&f, REPORT_START, 1, 100), TAKE_DUP);
	fx_free(&f);
}
END_TEST

START_TEST(test_ack_only_once_on_disk)
{
	struct fx f;

	fx_init(&f, 1);			/* fsync, on the sync thread */
	f.marker = "\"jobslurmid\\\":\\\"77\\\"";
	ck_assert_int_eq(take(&f, REPORT_END, 77, 5), TAKE_QUEUED);
	/* Buffered: not acknowledged, not sent, not in the file. */
	ck_assert_int_eq(f.acks, 0);
	ck_assert_int_eq(f.nsent, 0);
	ck_assert_int_eq(stats(&f).unsynced, 1);
	ck_assert(!file_has(f.dir, f.marker));
	ck_assert(spin_until(&f, &f.acks, 1));
	ck_assert_int_eq(f.acks_failed, 0);
	ck_assert_int_eq(f.on_disk_at_ack, 1);
	ck_assert_int_eq(stats(&f).unsynced, 0);
	spin(&f, 5);
	ck_assert_int_eq(f.nsent, 1);		/* sent once durable */
	ck_assert_uint_eq(f.sent[0].job_id, 77);
	fx_free(&f);
}
END_TEST

START_TEST(test_amount_beyond_the_api_is_dead_at_once)
{
	struct fx f;

	fx_init(&f, 0);
	take_durable(&f, REPORT_END, 9, INT64_C(10000000001));
	spin(&f, 5);
	ck_assert_int_eq(f.nsent, 0);
	ck_assert_int_eq(stats(&f).dead, 1);
	ck_assert_str_eq(find(&f, 9).state, "dead");
	fx_free(&f);
}
END_TEST

/* ---- main ---------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- requeued jobs: a run's completion charges the runs so far -------- */

static enum deliver_take
take_run(struct fx *f, enum report_kind kind, uint32_t job, int64_t cents,
    uint32_t run, int64_t submit, int node_fail)
{
	struct report r = mk(kind, job, cents, 0);
	enum deliver_take t;

	/* An amount as report_build writes it. */
	ck_assert_int_eq(report_set_amount(&r, cents), 0);
	r.run = run;
	r.submit = submit;
	r.node_fail = (uint8_t)node_fail;
	t = deliver_take(f->dq, &r, on_ack, f);
	report_clear(&r);
	return t;
}

/* Take run's completion, wait for its send, deliver it: what it sent. */
static int64_t
end_run(struct fx *f, uint32_t job, int64_t own, uint32_t run, int64_t submit,
    int node_fail, const char *amount)
{
	int want = f->nsent + 1, i;

	ck_assert_int_eq(take_run(f, REPORT_END, job, own, run, submit,
	    node_fail), TAKE_QUEUED);
	ck_assert(spin_until(f, &f->nsent, want));
	i = f->nsent - 1;
	ck_assert_int_eq(f->sent[i].job_id, job);
	ck_assert_msg(strstr(f->sent[i].body, amount) != NULL, "body %s "
	    "lacks %s", f->sent[i].body, amount);
	answer(f, i, PR_DELIVERED, NULL);
	return f->sent[i].cents;
}

START_TEST(test_requeue_charges_every_run)
{
	struct fx f;
	int acks;

	fx_init(&f, 0);
	/* Run 0: its start POSTed, its end (0.50) PUT. */
	ck_assert_int_eq(take_run(&f, REPORT_START, 50, 300, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.nsent, 1));
	answer(&f, 0, PR_DELIVERED, NULL);
	ck_assert_int_eq(end_run(&f, 50, 50, 0, 1000, 0, "\"0.50\""), 50);
	/* Run 1 starts: folded, nothing goes to the portal. */
	acks = f.acks;
	ck_assert_int_eq(take_run(&f, REPORT_START, 50, 300, 1, 2000, 0),
	    TAKE_FOLDED);
	spin(&f, 20);
	ck_assert_int_eq(f.nsent, 2);
	ck_assert_int_eq(f.acks, acks);
	/* Its end (1.20 of its own) sends 1.70: the runs so far. */
	ck_assert_int_eq(end_run(&f, 50, 120, 1, 2000, 0, "\"1.70\""), 170);
	/* The ledger learns the portal held 0.50 before: it adds 1.20. */
	ck_assert_int_eq(f.done[f.ndone - 1].cents, 170);
	ck_assert_int_eq(f.done[f.ndone - 1].held, 50);
	/* A repeat of run 0's end would erase run 1: superseded. */
	ck_assert_int_eq(take_run(&f, REPORT_END, 50, 50, 0, 1000, 0),
	    TAKE_SUPERSEDED);
	/* The figures are journaled: after a restart run 2 adds 0.30. */
	qclose(&f);
	qopen(&f);
	ck_assert_int_eq(end_run(&f, 50, 30, 2, 3000, 0, "\"2.00\""), 200);
	/* A repeat of run 2's end, after it was delivered: nothing new. */
	acks = f.nsent;
	ck_assert_int_eq(take_run(&f, REPORT_END, 50, 30, 2, 3000, 0),
	    TAKE_DUP);
	spin(&f, 5);
	ck_assert_int_eq(f.nsent, acks);
	fx_free(&f);
}
END_TEST

/*
 * After a restart, which run a completion is comes from its journal, not
 * from its amount: run 1 ended at once (own cost 0), so the job's amount
 * after it is run 0's.  tests/dst seed 51720: run 0's completion,
 * delivered first after the restart, was taken for run 1's and given
 * held 0.50 where the portal held nothing; the ledger saw no change, and
 * the cache passed what the portal refused.
 */
START_TEST(test_restart_tells_runs_apart)
{
	struct report r;
	struct fx f;

	fx_init(&f, 0);
	/* Run 0's end (0.50) is sent, and not answered. */
	ck_assert_int_eq(take_run(&f, REPORT_END, 51, 50, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.nsent, 1));
	/* Run 1 starts and ends at once: the job's amount stays 0.50. */
	ck_assert_int_eq(take_run(&f, REPORT_START, 51, 300, 1, 2000, 0),
	    TAKE_FOLDED);
	r = mk(REPORT_END, 51, 0, 1);	/* its own dates: another body */
	ck_assert_int_eq(report_set_amount(&r, 0), 0);
	r.run = 1;
	r.submit = 2000;
	ck_assert_int_eq(deliver_take(f.dq, &r, on_ack, &f), TAKE_QUEUED);
	report_clear(&r);
	spin(&f, 20);
	/* bankd stops before either is answered, and starts again. */
	qclose(&f);
	qopen(&f);
	ck_assert(spin_until(&f, &f.nsent, 1));
	ck_assert_int_eq(f.sent[0].cents, 50);
	answer(&f, 0, PR_DELIVERED, NULL);
	ck_assert(spin_until(&f, &f.ndone, 1));
	/* The portal held nothing before run 0's PUT: it added 0.50. */
	ck_assert_int_eq(f.done[0].cents, 50);
	ck_assert_int_eq(f.done[0].held, 0);
	/* Run 1's PUT replaced 0.50 with 0.50: it added nothing. */
	ck_assert(spin_until(&f, &f.nsent, 2));
	ck_assert_int_eq(f.sent[1].cents, 50);
	answer(&f, 1, PR_DELIVERED, NULL);
	ck_assert(spin_until(&f, &f.ndone, 2));
	ck_assert_int_eq(f.done[1].held, 50);
	fx_free(&f);
}
END_TEST

START_TEST(test_requeue_last_run_and_node_fail)
{
	struct fx f;

	fx_init(&f, 0);
	qclose(&f);
	f.set.last_run = 1;
	qopen(&f);
	ck_assert_int_eq(end_run(&f, 60, 50, 0, 1000, 0, "\"0.50\""), 50);
	ck_assert_int_eq(end_run(&f, 60, 120, 1, 2000, 0, "\"1.20\""), 120);
	qclose(&f);
	/* every_run, node_fail: free: a run on a failed node costs 0. */
	f.set.last_run = 0;
	f.set.node_fail_free = 1;
	qopen(&f);
	ck_assert_int_eq(end_run(&f, 61, 50, 0, 1000, 1, "\"0.00\""), 0);
	ck_assert_int_eq(end_run(&f, 61, 120, 1, 2000, 0, "\"1.20\""), 120);
	ck_assert_int_eq(end_run(&f, 61, 10, 2, 3000, 0, "\"1.30\""), 130);
	fx_free(&f);
}
END_TEST

START_TEST(test_reused_id_is_a_dead_letter)
{
	struct found fd;
	struct fx f;

	fx_init(&f, 0);
	ck_assert_int_eq(end_run(&f, 70, 50, 0, 1000, 0, "\"0.50\""), 50);
	/* Job 70 again, run 0, submitted later: another job, the same id. */
	ck_assert_int_eq(take_run(&f, REPORT_START, 70, 300, 0, 90000, 0),
	    TAKE_QUEUED);
	spin(&f, 20);
	ck_assert_int_eq(f.nsent, 1);
	fd = find_nth(&f, 70, 0);
	ck_assert_str_eq(fd.state, "dead");
	ck_assert_msg(strstr(fd.error, "job id 70 is held by the portal for "
	    "another job submitted at 1970-01-01T00:16:40Z") != NULL, "%s",
	    fd.error);
	ck_assert(strstr(fd.error, "reused") != NULL);
	ck_assert_str_eq(fd.cause, "reused_id");
	fx_free(&f);
}
END_TEST

/*
 * A dead letter's cause is the portal's answer's (portal_report.c tells
 * a reused id on a refused PUT) and is journaled: the same after a
 * restart and after a compaction; an older journal's dead record, with
 * none, is "refused".
 */
START_TEST(test_dead_letter_cause_is_kept)
{
	struct portal_report_answer a;
	struct portal_report *r;
	struct fx f;
	int i;

	fx_init(&f, 0);
	take_durable(&f, REPORT_END, 81, 500);
	ck_assert(spin_until(&f, &f.nsent, 1));
	memset(&a, 0, sizeof(a));
	a.result = PR_REFUSED;
	a.cause = DEAD_REUSED_ID;
	a.reason = "job id 81 is held by the portal for another job";
	a.api_ok = 1;
	r = f.sent[0].r;
	f.sent[0].r = NULL;
	r->cb(&a, r->arg);
	take_durable(&f, REPORT_END, 82, 600);
	ck_assert(spin_until(&f, &f.nsent, 2));
	answer(&f, 1, PR_REFUSED, "HTTP 400: no such account");
	ck_assert_str_eq(find(&f, 81).cause, "reused_id");
	ck_assert_str_eq(find(&f, 82).cause, "refused");
	for (i = 0; i < 2; i++) {
		if (i == 1)
			ck_assert_int_eq(qstore_compact(f.dq), 0);
		qclose(&f);
		qopen(&f);
		ck_assert_int_eq(stats(&f).dead, 2);
		ck_assert_str_eq(find(&f, 81).cause, "reused_id");
		ck_assert_str_eq(find(&f, 81).error, "job id 81 is held by "
		    "the portal for another job");
		ck_assert_str_eq(find(&f, 82).cause, "refused");
	}
	fx_free(&f);
}
END_TEST


/* ---- exactly once across hops (issue 13) ---------------------------- */

/*
 * A relay resends a report whose acknowledgement it lost.  Its identity
 * is (job, run, kind): a resend, (a) while the first is queued, (b) once
 * it was delivered, (c) once delivered, the journal compacted and bankd
 * restarted, makes no second entry, no second send and no dead letter.
 */
static int
resend_is_nothing_new(struct fx *f, enum report_kind kind, uint32_t job,
    int64_t cents)
{
	int sent = f->nsent;
	enum deliver_take t;

	t = take_run(f, kind, job, cents, 0, 1000, 0);
	spin(f, 5);
	ck_assert_int_eq(stats(f).dead, 0);
	ck_assert_int_eq(f->nsent, sent);
	return t == TAKE_DUP || t == TAKE_SUPERSEDED;
}

/* Its start and end delivered: what the portal was sent, and when. */
static void
deliver_job(struct fx *f, uint32_t job, int64_t cents)
{
	int want = f->nsent + 1;

	ck_assert_int_eq(take_run(f, REPORT_START, job, cents, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(f, &f->nsent, want));
	answer(f, f->nsent - 1, PR_DELIVERED, NULL);
	end_run(f, job, cents, 0, 1000, 0, "\"amount\":");
	spin(f, 5);
	ck_assert_int_eq(stats(f).queued, 0);
}

START_TEST(test_resent_while_queued)
{
	struct fx f;

	fx_init(&f, 0);
	deliver_pause(f.dq, 1);
	ck_assert_int_eq(take_run(&f, REPORT_START, 40, 100, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.acks, 1));
	ck_assert(resend_is_nothing_new(&f, REPORT_START, 40, 100));
	ck_assert_int_eq(take_run(&f, REPORT_END, 41, 200, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.acks, 2));
	ck_assert(resend_is_nothing_new(&f, REPORT_END, 41, 200));
	ck_assert_int_eq(stats(&f).queued, 2);
	fx_free(&f);
}
END_TEST

START_TEST(test_resent_after_delivery)
{
	struct fx f;
	int want;

	fx_init(&f, 0);
	/* A start delivered, the job still running. */
	ck_assert_int_eq(take_run(&f, REPORT_START, 42, 100, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.nsent, 1));
	answer(&f, 0, PR_DELIVERED, NULL);
	spin(&f, 5);
	ck_assert(resend_is_nothing_new(&f, REPORT_START, 42, 100));
	/* A job's start and end delivered: neither goes again. */
	deliver_job(&f, 43, 250);
	want = f.ndone;
	ck_assert(resend_is_nothing_new(&f, REPORT_END, 43, 250));
	ck_assert(resend_is_nothing_new(&f, REPORT_START, 43, 250));
	ck_assert_int_eq(stats(&f).queued, 0);
	ck_assert_int_eq(f.ndone, want);
	fx_free(&f);
}
END_TEST

START_TEST(test_resent_after_compaction_and_restart)
{
	struct fx f;
	int sends;

	fx_init(&f, 0);
	ck_assert_int_eq(take_run(&f, REPORT_START, 44, 100, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.nsent, 1));
	answer(&f, 0, PR_DELIVERED, NULL);
	deliver_job(&f, 45, 250);
	ck_assert_int_eq(qstore_compact(f.dq), 0);
	qclose(&f);
	qopen(&f);
	ck_assert_int_eq(stats(&f).queued, 0);
	sends = f.nsent;
	ck_assert_int_eq(sends, 0);
	/* The running job's start, the finished job's start and end. */
	ck_assert(resend_is_nothing_new(&f, REPORT_START, 44, 100));
	ck_assert(resend_is_nothing_new(&f, REPORT_END, 45, 250));
	ck_assert(resend_is_nothing_new(&f, REPORT_START, 45, 250));
	ck_assert_int_eq(stats(&f).queued, 0);
	/* Twice over: what one compaction kept, the next keeps. */
	ck_assert_int_eq(qstore_compact(f.dq), 0);
	qclose(&f);
	qopen(&f);
	ck_assert(resend_is_nothing_new(&f, REPORT_START, 44, 100));
	ck_assert(resend_is_nothing_new(&f, REPORT_END, 45, 250));
	/* The running job's completion is new: it goes, once. */
	end_run(&f, 44, 300, 0, 1000, 0, "\"amount\":\"3.00\"");
	ck_assert(resend_is_nothing_new(&f, REPORT_END, 44, 300));
	/* A correction (another charge for the same run) still goes. */
	ck_assert_int_eq(take_run(&f, REPORT_END, 45, 260, 0, 1000, 0),
	    TAKE_QUEUED);
	fx_free(&f);
}
END_TEST

/* Take run 0's report of job carrying hold token `hold`, and deliver it. */
static void
deliver_held(struct fx *f, enum report_kind kind, uint32_t job,
    int64_t cents, uint64_t hold)
{
	struct report r = mk(kind, job, cents, 0);
	int want = f->nsent + 1;

	ck_assert_int_eq(report_set_amount(&r, cents), 0);
	r.submit = 1000;
	r.hold = hold;
	ck_assert_int_eq(deliver_take(f->dq, &r, on_ack, f), TAKE_QUEUED);
	report_clear(&r);
	ck_assert(spin_until(f, &f->nsent, want));
	answer(f, f->nsent - 1, PR_DELIVERED, NULL);
	spin(f, 5);
}

static uint64_t
settled_hold(struct fx *f, uint32_t job)
{
	uint64_t hold = 77;

	ck_assert_int_gt(deliver_settled(f->dq, job, &hold), 0);
	return hold;
}

/*
 * Which hold a job's delivery ends is the token its reports carried, kept
 * through compactions and restarts (tests/dst, seeds 127 and 239: by the
 * wall clock alone, a clock set back kept the job's own hold).
 */
START_TEST(test_settled_keeps_the_hold_token)
{
	struct fx f;

	fx_init(&f, 0);
	/* Its start delivered ends the hold (holds.md): settled so far. */
	deliver_held(&f, REPORT_START, 46, 100, 9);
	ck_assert_uint_eq(settled_hold(&f, 46), 9);
	deliver_held(&f, REPORT_END, 46, 120, 9);
	deliver_held(&f, REPORT_START, 47, 100, 0);
	deliver_held(&f, REPORT_END, 47, 100, 0);
	ck_assert_uint_eq(settled_hold(&f, 46), 9);
	ck_assert_uint_eq(settled_hold(&f, 47), 0);
	/* Replayed from the add and done records. */
	qclose(&f);
	qopen(&f);
	ck_assert_uint_eq(settled_hold(&f, 46), 9);
	/* From the seen records a compaction wrote, twice over. */
	ck_assert_int_eq(qstore_compact(f.dq), 0);
	qclose(&f);
	qopen(&f);
	ck_assert_uint_eq(settled_hold(&f, 46), 9);
	ck_assert_uint_eq(settled_hold(&f, 47), 0);
	ck_assert_int_eq(qstore_compact(f.dq), 0);
	qclose(&f);
	qopen(&f);
	ck_assert_uint_eq(settled_hold(&f, 46), 9);
	fx_free(&f);
}
END_TEST

/*
 * A crash (a torn write) keeps a completion's run record but not its
 * report, which was never acknowledged: the relay's resend is new, not a
 * duplicate, or the job would never be charged.
 */
START_TEST(test_resent_after_a_torn_add_is_taken)
{
	char path[512], *buf, *at;
	struct fx f;
	FILE *fp;
	long n;

	fx_init(&f, 0);
	deliver_pause(f.dq, 1);
	ck_assert_int_eq(take_run(&f, REPORT_END, 46, 200, 0, 1000, 0),
	    TAKE_QUEUED);
	ck_assert(spin_until(&f, &f.acks, 1));
	qclose(&f);
	/* The add record cut off; the run record before it stays. */
	snprintf(path, sizeof(path), "%s/journal", f.dir);
	ck_assert_ptr_nonnull(fp = fopen(path, "rb"));
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	ck_assert_ptr_nonnull(buf = calloc(1, (size_t)n + 1));
	ck_assert_int_eq((long)fread(buf, 1, (size_t)n, fp), n);
	fclose(fp);
	ck_assert_ptr_nonnull(at = memmem(buf, (size_t)n, "{\"op\":\"add\"", 11));
	ck_assert_ptr_nonnull(memmem(buf, (size_t)(at - buf), "\"op\":\"run\"",
	    10));
	ck_assert_int_eq(truncate(path, (at - buf) - 12), 0);
	free(buf);
	qopen(&f);
	ck_assert_int_eq(stats(&f).queued, 0);
	ck_assert_int_eq(take_run(&f, REPORT_END, 46, 200, 0, 1000, 0),
	    TAKE_QUEUED);
	fx_free(&f);
}
END_TEST

static Suite *
queue_suite(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("rules");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_order_per_job);
	tcase_add_test(tc, test_end_behind_a_start_in_flight);
	tcase_add_test(tc, test_end_replaces_a_start_not_sent);
	tcase_add_test(tc, test_end_replaces_a_start_waiting_to_retry);
	tcase_add_test(tc, test_end_overtakes_a_start_whose_try_failed);
	tcase_add_test(tc, test_retry_backs_off);
	tcase_add_test(tc, test_backoff_doubles_up_to_its_cap);
	tcase_add_test(tc, test_api_answering_again_sends_the_backlog_now);
	tcase_add_test(tc, test_token_refused_narrows_to_one);
	tcase_add_test(tc, test_refused_is_a_dead_letter_until_retried);
	tcase_add_test(tc, test_dropped_dead_letter_is_gone);
	tcase_add_test(tc, test_duplicate_counts_as_delivered);
	tcase_add_test(tc, test_repeats_join_or_are_duplicates);
	tcase_add_test(tc, test_compaction_keeps_only_the_live);
	tcase_add_test(tc, test_reopen_replays_what_is_queued);
	tcase_add_test(tc, test_ack_only_once_on_disk);
	tcase_add_test(tc, test_amount_beyond_the_api_is_dead_at_once);
	tcase_add_test(tc, test_requeue_charges_every_run);
	tcase_add_test(tc, test_requeue_last_run_and_node_fail);
	tcase_add_test(tc, test_restart_tells_runs_apart);
	tcase_add_test(tc, test_reused_id_is_a_dead_letter);
	tcase_add_test(tc, test_dead_letter_cause_is_kept);
	tcase_add_test(tc, test_resent_while_queued);
	tcase_add_test(tc, test_resent_after_delivery);
	tcase_add_test(tc, test_resent_after_compaction_and_restart);
	tcase_add_test(tc, test_settled_keeps_the_hold_token);
	tcase_add_test(tc, test_resent_after_a_torn_add_is_taken);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	snprintf(topdir, sizeof(topdir), "/tmp/check_queue.XXXXXX");
	if (mkdtemp(topdir) == NULL)
		return 1;
	sr = srunner_create(queue_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
