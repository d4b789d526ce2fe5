/*
 * check_holds.c: unit tests of bankd's holds (bankd/holds.c), without the
 * daemon: an event loop of the test's and a temp state directory.
 *
 * Holds placed, resized, bound to their job and released; an array's
 * tasks released task by task; the sums per account and per (account,
 * user) that a decision reads (tally.c) after each change; the same
 * after a reopen, which replays state_dir/holds; the bounds (a hold above
 * LIM_COST_CENTS is refused, and so is a journaled one); reconciliation
 * with slurmctld's job list; the AdminComment token.
 */
#include <check.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "holds.h"
#include "journal.h"
#include "lim.h"

static char topdir[256];

static void
no_replay(json_t *rec, void *arg)
{
	(void)rec;
	(void)arg;
}

struct fx {
	char			*dir;
	struct event_base	*base;
	struct holds		*h;
};

static void
hopen(struct fx *f)
{
	char err[256];

	f->h = holds_open(f->base, f->dir, 0, err, sizeof(err));
	ck_assert_msg(f->h != NULL, "holds_open: %s", err);
}

static void
fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	ck_assert_int_ne(asprintf(&f->dir, "%s/h.XXXXXX", topdir), -1);
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	ck_assert_ptr_nonnull(f->base = event_base_new());
	hopen(f);
}

/* Commit what was recorded (the end of a loop turn), close, reopen. */
static void
reopen(struct fx *f)
{
	event_base_loop(f->base, EVLOOP_NONBLOCK);
	holds_close(f->h);
	hopen(f);
}

static void
fx_free(struct fx *f)
{
	holds_close(f->h);
	event_base_free(f->base);
	free(f->dir);
}

struct sums {
	int64_t		 acct;
	int64_t		 user;
	size_t		 jobs;
};

static struct sums
sums(struct fx *f, const char *account, uint32_t uid)
{
	struct sums s;

	holds_sum(f->h, account, uid, &s.acct, &s.user, &s.jobs);
	return s;
}

#define ck_sums(f, account, uid, a, u, j) do {				\
	struct sums s_ = sums((f), (account), (uid));			\
	ck_assert_int_eq(s_.acct, (a));					\
	ck_assert_int_eq(s_.user, (u));					\
	ck_assert_uint_eq(s_.jobs, (j));				\
} while (0)

START_TEST(test_place_and_sum)
{
	struct fx f;
	uint64_t t1, t2, t3;

	fx_init(&f);
	ck_assert_uint_ne(t1 = hold_place(f.h, 1, "fc_x", 1000, 0, 0), 0);
	ck_assert_uint_ne(t2 = hold_place(f.h, 2, "fc_x", 250, 0, 0), 0);
	ck_assert_uint_ne(t3 = hold_place(f.h, 1, "fc_y", 99, 0, 0), 0);
	ck_assert(t1 != t2 && t2 != t3 && t1 != t3);
	ck_assert_uint_eq(holds_count(f.h), 3);
	ck_sums(&f, "fc_x", 1, 1250, 1000, 2);
	ck_sums(&f, "fc_x", 2, 1250, 250, 2);
	ck_sums(&f, "fc_y", 1, 99, 99, 1);
	ck_sums(&f, "fc_z", 1, 0, 0, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_resize)
{
	struct fx f;
	struct hold_view v;
	uint64_t t;

	fx_init(&f);
	t = hold_place(f.h, 1, "fc_x", 1000, 0, 0);
	hold_place(f.h, 2, "fc_x", 250, 0, 0);
	ck_assert_int_eq(hold_resize(f.h, t, 400, 0, 0), 0);
	ck_sums(&f, "fc_x", 1, 650, 400, 2);
	ck_assert_int_eq(hold_find(f.h, t, 0, &v), 0);
	ck_assert_int_eq(v.cents, 400);
	/* Out of range, or no such hold: refused, nothing changed. */
	ck_assert_int_eq(hold_resize(f.h, t, LIM_COST_CENTS + 1, 0, 0), -1);
	ck_assert_int_eq(hold_resize(f.h, t, -1, 0, 0), -1);
	ck_assert_int_eq(hold_resize(f.h, t, 100, 2, 101), -1);
	ck_assert_int_eq(hold_resize(f.h, 999999, 100, 0, 0), -1);
	ck_sums(&f, "fc_x", 1, 650, 400, 2);
	fx_free(&f);
}
END_TEST

START_TEST(test_bind_and_release)
{
	struct fx f;
	struct hold_view v;
	uint64_t t1, t2;

	fx_init(&f);
	t1 = hold_place(f.h, 1, "fc_x", 1000, 0, 0);
	t2 = hold_place(f.h, 1, "fc_x", 300, 0, 0);
	hold_bind(f.h, t1, 42);
	ck_assert_int_eq(hold_find(f.h, 0, 42, &v), 0);
	ck_assert_uint_eq(v.token, t1);
	ck_assert_int_eq(hold_release_job(f.h, 42, "test"), 1000);
	ck_assert_int_eq(hold_find(f.h, t1, 0, &v), -1);
	ck_sums(&f, "fc_x", 1, 300, 300, 1);
	/* A job without a hold releases nothing. */
	ck_assert_int_eq(hold_release_job(f.h, 42, "test"), 0);
	ck_assert_int_eq(hold_delivered(f.h, 0, 43), 0);
	hold_release_token(f.h, t2, "test");
	ck_assert_uint_eq(holds_count(f.h), 0);
	ck_sums(&f, "fc_x", 1, 0, 0, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_delivered_ends_the_hold)
{
	struct fx f;
	uint64_t t;

	fx_init(&f);
	t = hold_place(f.h, 1, "fc_x", 700, 0, 0);
	hold_bind(f.h, t, 50);
	ck_assert_int_eq(hold_delivered(f.h, t, 50), 700);
	ck_assert_uint_eq(holds_count(f.h), 0);
	ck_sums(&f, "fc_x", 1, 0, 0, 0);
	fx_free(&f);
}
END_TEST

/*
 * A crash between the report's journal commit and the hold's bind record
 * (tests/crash found it): after the restart the report is delivered with
 * its token, but the hold is bound to no job.  The token releases it; a
 * token bound to another job releases nothing.
 */
START_TEST(test_delivered_ends_an_unbound_hold)
{
	struct fx f;
	uint64_t t, other;

	fx_init(&f);
	t = hold_place(f.h, 1, "fc_x", 700, 0, 0);
	other = hold_place(f.h, 1, "fc_x", 200, 0, 0);
	hold_bind(f.h, other, 60);
	ck_assert_int_eq(hold_delivered(f.h, other, 61), 0);
	ck_assert_int_eq(hold_delivered(f.h, t, 50), 700);
	ck_assert_uint_eq(holds_count(f.h), 1);
	ck_sums(&f, "fc_x", 1, 200, 200, 1);
	/* The report resent after that binds nothing back. */
	hold_bind(f.h, t, 50);
	ck_assert_uint_eq(holds_count(f.h), 1);
	fx_free(&f);
}
END_TEST

/* deliver_settled() as a test sees it: job 70 charged at *arg. */
static int64_t
fake_settled(void *arg, uint32_t job_id, uint64_t *token)
{
	*token = 0;
	return job_id == 70 ? *(int64_t *)arg : 0;
}

/*
 * A crash between the queue's done record and the hold's release record
 * (tests/crash found it): at start the hold of a charged job ends; a
 * running job's stays, and so does a hold made after the charge (a
 * reused job id's).
 */
START_TEST(test_settle_at_start)
{
	struct fx f;
	uint64_t charged, running, reused;
	int64_t at = (int64_t)time(NULL) + 1;

	fx_init(&f);
	charged = hold_place(f.h, 1, "fc_x", 500, 0, 0);
	running = hold_place(f.h, 1, "fc_x", 40, 0, 0);
	hold_bind(f.h, charged, 70);
	hold_bind(f.h, running, 71);
	ck_assert_uint_eq(holds_settle(f.h, fake_settled, &at), 1);
	ck_assert_uint_eq(holds_count(f.h), 1);
	ck_sums(&f, "fc_x", 1, 40, 40, 1);
	/* Made after job 70 was charged: a later job of that id. */
	at = 1000;
	reused = hold_place(f.h, 1, "fc_x", 9, 0, 0);
	hold_bind(f.h, reused, 70);
	ck_assert_uint_eq(holds_settle(f.h, fake_settled, &at), 0);
	ck_assert_uint_eq(holds_count(f.h), 2);
	fx_free(&f);
}
END_TEST

/* deliver_settled() with the token job 80's reports carried (*arg). */
struct settled_as {
	int64_t		 at;
	uint64_t	 token;
};

static int64_t
token_settled(void *arg, uint32_t job_id, uint64_t *token)
{
	const struct settled_as *s = arg;

	*token = job_id == 80 ? s->token : 0;
	return job_id == 80 ? s->at : 0;
}

/*
 * The token decides, not the wall clock (tests/dst, seeds 127 and 239):
 * a clock set back between the hold and the report makes the hold look
 * newer than the report, yet it is that job's; and a later job's hold
 * under the same id, made "before" by the clock, is not.
 */
START_TEST(test_settle_by_token)
{
	struct fx f;
	struct settled_as s;
	uint64_t first, later;

	fx_init(&f);
	first = hold_place(f.h, 1, "fc_x", 300, 0, 0);
	hold_bind(f.h, first, 80);
	s.at = 1000;		/* the report "taken" long before the hold */
	s.token = first;
	ck_assert_uint_eq(holds_settle(f.h, token_settled, &s), 1);
	ck_assert_uint_eq(holds_count(f.h), 0);
	ck_sums(&f, "fc_x", 1, 0, 0, 0);
	/* A later job under id 80, its hold not the one reported. */
	later = hold_place(f.h, 1, "fc_x", 7, 0, 0);
	hold_bind(f.h, later, 80);
	s.at = (int64_t)time(NULL) + 3600;
	ck_assert_uint_eq(holds_settle(f.h, token_settled, &s), 0);
	ck_assert_uint_eq(holds_count(f.h), 1);
	ck_sums(&f, "fc_x", 1, 7, 7, 1);
	fx_free(&f);
}
END_TEST

START_TEST(test_array_task_by_task)
{
	struct fx f;
	struct hold_view v;
	uint64_t t;

	fx_init(&f);
	t = hold_place(f.h, 1, "fc_x", 300, 3, 100);
	ck_assert_int_eq(hold_delivered(f.h, t, 501), 100);
	ck_assert_int_eq(hold_delivered(f.h, t, 501), 0);	/* counted */
	ck_sums(&f, "fc_x", 1, 200, 200, 1);
	ck_assert_int_eq(hold_find(f.h, t, 0, &v), 0);
	ck_assert_uint_eq(v.tasks, 2);
	ck_assert_int_eq(hold_delivered(f.h, t, 502), 100);
	ck_assert_int_eq(hold_delivered(f.h, t, 503), 100);
	ck_assert_uint_eq(holds_count(f.h), 0);
	ck_sums(&f, "fc_x", 1, 0, 0, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_replay_after_reopen)
{
	struct fx f;
	struct hold_view v;
	uint64_t t1, t2, t3, t4;

	fx_init(&f);
	t1 = hold_place(f.h, 1, "fc_x", 1000, 0, 0);
	t2 = hold_place(f.h, 2, "fc_x", 250, 0, 0);
	t3 = hold_place(f.h, 1, "fc_y", 99, 0, 0);
	t4 = hold_place(f.h, 3, "fc_x", 300, 3, 100);
	hold_bind(f.h, t1, 42);
	ck_assert_int_eq(hold_resize(f.h, t2, 200, 0, 0), 0);
	hold_release_token(f.h, t3, "test");
	ck_assert_int_eq(hold_delivered(f.h, t4, 601), 100);
	reopen(&f);
	ck_assert_uint_eq(holds_count(f.h), 3);
	ck_sums(&f, "fc_x", 1, 1400, 1000, 3);
	ck_sums(&f, "fc_x", 2, 1400, 200, 3);
	ck_sums(&f, "fc_x", 3, 1400, 200, 3);
	ck_sums(&f, "fc_y", 1, 0, 0, 0);
	ck_assert_int_eq(hold_find(f.h, 0, 42, &v), 0);
	ck_assert_uint_eq(v.token, t1);
	ck_assert_int_eq(hold_find(f.h, t3, 0, &v), -1);
	/* The task already counted stays counted. */
	ck_assert_int_eq(hold_delivered(f.h, t4, 601), 0);
	ck_assert_int_eq(hold_delivered(f.h, t4, 602), 100);
	/* New tokens do not reuse old ones. */
	ck_assert_uint_gt(hold_place(f.h, 1, "fc_x", 1, 0, 0), t4);
	reopen(&f);
	ck_sums(&f, "fc_x", 3, 1301, 100, 4);
	fx_free(&f);
}
END_TEST

START_TEST(test_bounds)
{
	struct fx f;

	fx_init(&f);
	ck_assert_uint_eq(hold_place(f.h, 1, "fc_x", LIM_COST_CENTS + 1, 0,
	    0), 0);
	ck_assert_uint_eq(hold_place(f.h, 1, "fc_x", -5, 0, 0), 0);
	ck_assert_uint_ne(hold_place(f.h, 1, "fc_x", LIM_COST_CENTS, 0, 0), 0);
	ck_assert_uint_eq(holds_count(f.h), 1);
	ck_sums(&f, "fc_x", 1, LIM_COST_CENTS, LIM_COST_CENTS, 1);
	fx_free(&f);
}
END_TEST

/* A hold record beyond what hold_place writes is skipped on replay. */
START_TEST(test_replay_refuses_out_of_range)
{
	struct fx f;
	struct journal *jr;
	json_t *rec;
	char err[256];

	fx_init(&f);
	holds_close(f.h);
	jr = journal_open_named(f.dir, "holds", 0, no_replay, NULL, err,
	    sizeof(err));
	ck_assert_msg(jr != NULL, "%s", err);
	rec = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I}", "op", "hold",
	    "token", (json_int_t)5, "uid", (json_int_t)1, "account", "fc_x",
	    "cents", (json_int_t)(LIM_COST_CENTS + 1), "t", (json_int_t)1);
	ck_assert_int_gt(journal_append(jr, rec), 0);
	json_decref(rec);
	rec = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I}", "op", "hold",
	    "token", (json_int_t)6, "uid", (json_int_t)1, "account", "fc_x",
	    "cents", (json_int_t)500, "t", (json_int_t)1);
	ck_assert_int_gt(journal_append(jr, rec), 0);
	json_decref(rec);
	ck_assert_int_eq(journal_commit(jr), 0);
	journal_close(jr);
	hopen(&f);
	ck_assert_uint_eq(holds_count(f.h), 1);
	ck_sums(&f, "fc_x", 1, 500, 500, 1);
	fx_free(&f);
}
END_TEST

START_TEST(test_reconcile)
{
	struct fx f;
	struct live_job live[1];
	struct hold_view v;
	uint64_t gone, carried, orphan;

	fx_init(&f);
	gone = hold_place(f.h, 1, "fc_x", 100, 0, 0);
	hold_bind(f.h, gone, 10);
	carried = hold_place(f.h, 1, "fc_x", 200, 0, 0);
	orphan = hold_place(f.h, 1, "fc_x", 400, 0, 0);
	live[0].job_id = 11;
	live[0].token = carried;
	/* Young holds are not judged yet. */
	holds_reconcile(f.h, live, 1, time(NULL), 30);
	ck_assert_uint_eq(holds_count(f.h), 3);
	holds_reconcile(f.h, live, 1, time(NULL) + 100, 30);
	ck_assert_uint_eq(holds_count(f.h), 1);
	ck_assert_int_eq(hold_find(f.h, 0, 11, &v), 0);
	ck_assert_uint_eq(v.token, carried);
	ck_assert_int_eq(hold_find(f.h, gone, 0, &v), -1);
	ck_assert_int_eq(hold_find(f.h, orphan, 0, &v), -1);
	ck_sums(&f, "fc_x", 1, 200, 200, 1);
	fx_free(&f);
}
END_TEST

struct listed {
	int		 n;
	int64_t		 cents;
};

static void
on_hold(const struct hold_view *v, void *arg)
{
	struct listed *l = arg;

	l->n++;
	l->cents += v->cents;
}

START_TEST(test_list_filters)
{
	struct fx f;
	struct listed l;

	fx_init(&f);
	hold_place(f.h, 1, "fc_x", 1000, 0, 0);
	hold_place(f.h, 2, "fc_x", 250, 0, 0);
	hold_place(f.h, 1, "fc_y", 99, 0, 0);
	memset(&l, 0, sizeof(l));
	holds_list(f.h, "fc_x", -1, on_hold, &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_int_eq(l.cents, 1250);
	memset(&l, 0, sizeof(l));
	holds_list(f.h, NULL, 1, on_hold, &l);
	ck_assert_int_eq(l.n, 2);
	ck_assert_int_eq(l.cents, 1099);
	fx_free(&f);
}
END_TEST

START_TEST(test_token_parse)
{
	ck_assert_uint_eq(hold_token_parse("bank_hold=123"), 123);
	ck_assert_uint_eq(hold_token_parse("x bank_hold=45 y"), 45);
	ck_assert_uint_eq(hold_token_parse("nothing here"), 0);
	ck_assert_uint_eq(hold_token_parse(NULL), 0);
}
END_TEST

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static Suite *
holds_suite(void)
{
	Suite *s = suite_create("holds");
	TCase *tc = tcase_create("holds");

	tcase_add_test(tc, test_place_and_sum);
	tcase_add_test(tc, test_resize);
	tcase_add_test(tc, test_bind_and_release);
	tcase_add_test(tc, test_delivered_ends_an_unbound_hold);
	tcase_add_test(tc, test_settle_at_start);
	tcase_add_test(tc, test_settle_by_token);
	tcase_add_test(tc, test_delivered_ends_the_hold);
	tcase_add_test(tc, test_array_task_by_task);
	tcase_add_test(tc, test_replay_after_reopen);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_replay_refuses_out_of_range);
	tcase_add_test(tc, test_reconcile);
	tcase_add_test(tc, test_list_filters);
	tcase_add_test(tc, test_token_parse);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	snprintf(topdir, sizeof(topdir), "/tmp/check_holds.XXXXXX");
	if (mkdtemp(topdir) == NULL)
		return 1;
	sr = srunner_create(holds_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
