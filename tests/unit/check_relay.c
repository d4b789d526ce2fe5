/*
 * check_relay.c: unit tests of a relay's queue (bankd/relayq.c) and
 * forwarder (bankd/relay_fwd.c), without the daemon: an event loop of
 * the test's, a temp state directory, and a fake upstream controller
 * served on 127.0.0.1 in the same loop, which checks every frame's
 * (fake) credential against the frame's digest and answers by a script.
 *
 * The queue: acknowledged only once journaled; replayed after a crash
 * mid-way (a lost "done" sends a report again, a torn record is
 * skipped); the same report while held answered dup, another body or run
 * queued; compaction keeps order, dead letters and the next seq.
 * The forwarder: in order, pipelined within the window, every frame with
 * its own credential; a dead first upstream skipped; ok/dup remove,
 * error makes a dead letter, later and a cut connection resend, and
 * nothing is removed before the upstream answered.
 * The queries: the upstream's reply under the asker's id, past a dead
 * first upstream; none answering, "unavailable" naming what was tried.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "bankproto.h"
#include "journal.h"
#include "relay_ask.h"
#include "relay_fwd.h"
#include "relaycred.h"
#include "relayq.h"

static char topdir[256];

/* ---- helpers ---------------------------------------------------------- */

struct acks {
	int		 ok;
	int		 failed;
};

static void
on_ack(void *arg, int ok)
{
	struct acks *a = arg;

	if (ok)
		a->ok++;
	else
		a->failed++;
}

static int durable_calls;

static void
on_durable(void *arg)
{
	(void)arg;
	durable_calls++;
}

static void
report(struct bp_msg *m, uint8_t type, uint32_t job, uint32_t run,
    const char *account)
{
	bp_init(m, type, 7);
	bp_add_u64(m, "job_id", job);
	bp_addf(m, "run", "%u", run);
	bp_add(m, "account", account);
	bp_add(m, "partition", "normal");
	bp_add(m, "cpus", "4");
	if (type == BP_T_END)
		bp_add(m, "state", "COMPLETED");
}

static enum relayq_take
take(struct relayq *q, uint8_t type, uint32_t job, uint32_t run,
    const char *account, struct acks *a)
{
	struct bp_msg m;
	enum relayq_take t;

	report(&m, type, job, run, account);
	t = relayq_take(q, &m, on_ack, a);
	bp_free(&m);
	return t;
}

static char *
newdir(void)
{
	char *d;

	ck_assert_int_ne(asprintf(&d, "%s/r.XXXXXX", topdir), -1);
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static struct relayq *
qopen(struct event_base *base, const char *dir, int fsync)
{
	struct relayq_hooks h = { on_durable, NULL };
	char err[256];
	struct relayq *q = relayq_open(base, dir, fsync, &h, err, sizeof(err));

	ck_assert_msg(q != NULL, "relayq_open: %s", err);
	return q;
}

/* The loop until *flag reaches want (at most many turns: no timing). */
static void
spin_until(struct event_base *base, const int *flag, int want)
{
	int i;

	for (i = 0; i < 200000 && *flag < want; i++)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_ge(*flag, want);
}

/* The seqs of the backlog in the order it would be sent. */
static void
collect(const struct relayq_entry *e, void *arg)
{
	char *s = arg;

	snprintf(s + strlen(s), 256 - strlen(s), "%s%llu:%u%c", s[0] ? " " :
	    "", (unsigned long long)e->seq, e->job, e->kind == REPORT_START ?
	    's' : 'e');
}

static const char *
order(struct relayq *q, int dead)
{
	static char s[256];

	s[0] = '\0';
	relayq_each(q, dead, collect, s);
	return s;
}

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	ck_assert_int_ne(in = open(from, O_RDONLY), -1);
	ck_assert_int_ne(out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600),
	    -1);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* ---- the queue -------------------------------------------------------- */

/* Acknowledged once on disk (fsync on: the sync thread), in order. */
START_TEST(take_durable_then_acked)
{
	struct event_base *base = event_base_new();
	char *dir = newdir();
	struct relayq *q = qopen(base, dir, 1);
	struct acks a = { 0, 0 };
	struct relayq_stats st;

	ck_assert_int_eq(take(q, BP_T_START, 11, 0, "fc_a", &a), RQT_QUEUED);
	ck_assert_int_eq(take(q, BP_T_END, 11, 0, "fc_a", &a), RQT_QUEUED);
	ck_assert_int_eq(take(q, BP_T_START, 12, 0, "fc_b", &a), RQT_QUEUED);
	/* Nothing acknowledged, nothing offered before the commit. */
	ck_assert_int_eq(a.ok, 0);
	ck_assert_ptr_null(relayq_next(q));
	relayq_stats(q, &st);
	ck_assert_uint_eq(st.backlog, 3);
	ck_assert_uint_eq(st.not_durable, 3);
	spin_until(base, &a.ok, 3);
	ck_assert_int_eq(a.failed, 0);
	relayq_stats(q, &st);
	ck_assert_uint_eq(st.not_durable, 0);
	ck_assert_ptr_nonnull(relayq_next(q));
	ck_assert_uint_eq(relayq_next(q)->seq, 1);
	ck_assert_str_eq(order(q, 0), "1:11s 2:11e 3:12s");
	relayq_close(q);
	event_base_free(base);
	free(dir);
}
END_TEST

/*
 * A crash after report 1 was answered upstream but before its "done"
 * reached the disk, with a torn record at the end: all three come back,
 * in order (report 1 goes again: the upstream answers dup); a clean
 * close keeps the done.
 */
START_TEST(replay_after_crash)
{
	struct event_base *base = event_base_new();
	char *dir = newdir(), *crash = newdir(), from[512], to[512];
	struct relayq *q = qopen(base, dir, 0);
	struct acks a = { 0, 0 };
	struct relayq_stats st;
	int fd;

	take(q, BP_T_START, 21, 0, "fc_a", &a);
	take(q, BP_T_END, 21, 0, "fc_a", &a);
	take(q, BP_T_START, 22, 0, "fc_a", &a);
	spin_until(base, &a.ok, 3);
	relayq_sent(q, relayq_next(q), 1);
	relayq_done(q, relayq_find(q, 1));
	/* The image of the disk now: the done is still buffered. */
	snprintf(from, sizeof(from), "%s/relay", dir);
	snprintf(to, sizeof(to), "%s/relay", crash);
	copy_file(from, to);
	ck_assert_int_ne(fd = open(to, O_WRONLY | O_APPEND), -1);
	ck_assert_int_eq(write(fd, "BKJ1\0\0\0\x40torn", 12), 12);
	close(fd);
	relayq_close(q);

	q = qopen(base, crash, 0);
	ck_assert_str_eq(order(q, 0), "1:21s 2:21e 3:22s");
	relayq_stats(q, &st);
	ck_assert_uint_eq(st.backlog, 3);
	ck_assert_ptr_nonnull(relayq_next(q));	/* replayed: durable */
	/* A replayed report repeated: the same report. */
	ck_assert_int_eq(take(q, BP_T_START, 22, 0, "fc_a", &a), RQT_DUP);
	/* A new report follows the replayed ones. */
	ck_assert_int_eq(take(q, BP_T_END, 22, 0, "fc_a", &a), RQT_QUEUED);
	ck_assert_str_eq(order(q, 0), "1:21s 2:21e 3:22s 4:22e");
	relayq_close(q);

	q = qopen(base, dir, 0);
	ck_assert_str_eq(order(q, 0), "2:21e 3:22s");
	relayq_close(q);
	event_base_free(base);
	free(dir);
	free(crash);
}
END_TEST

static void
no_replay(json_t *rec, void *arg)
{
	(void)rec;
	(void)arg;
}

/* A hostile or damaged journal: what is not a report is skipped. */
START_TEST(replay_refuses_bad_records)
{
	static const char *const recs[] = {
	    "{\"op\":\"add\",\"seq\":1,\"job\":51,\"run\":0,\"kind\":"
	    "\"start\",\"t\":1,\"frame\":{\"job_id\":\"51\"}}",
	    /* a frame that is not fields, a job beyond bounds, a kind */
	    "{\"op\":\"add\",\"seq\":2,\"job\":52,\"run\":0,\"kind\":"
	    "\"start\",\"t\":1,\"frame\":[1,2]}",
	    "{\"op\":\"add\",\"seq\":3,\"job\":99999999999,\"run\":0,"
	    "\"kind\":\"end\",\"t\":1,\"frame\":{}}",
	    "{\"op\":\"add\",\"seq\":4,\"job\":54,\"run\":0,\"kind\":"
	    "\"middle\",\"t\":1,\"frame\":{}}",
	    "{\"op\":\"add\",\"seq\":5,\"job\":55,\"run\":70000,\"kind\":"
	    "\"end\",\"t\":1,\"frame\":{}}",
	    "{\"op\":\"add\",\"seq\":6,\"job\":56,\"run\":0,\"kind\":"
	    "\"end\",\"t\":1,\"frame\":{\"job_id\":7}}",
	    /* the same seq twice: the first stays */
	    "{\"op\":\"add\",\"seq\":1,\"job\":57,\"run\":0,\"kind\":"
	    "\"end\",\"t\":1,\"frame\":{}}",
	    "{\"op\":\"done\"}",
	    "{\"op\":\"dead\",\"seq\":-3}",
	    "{\"op\":\"add\",\"seq\":9,\"job\":59,\"run\":1,\"kind\":"
	    "\"end\",\"t\":1,\"frame\":{\"job_id\":\"59\"}}",
	};
	struct event_base *base = event_base_new();
	char *dir = newdir(), err[256];
	struct acks a = { 0, 0 };
	struct journal *jr;
	struct relayq *q;
	json_t *rec;
	size_t i;

	jr = journal_open_named(dir, "relay", 0, no_replay, NULL, err,
	    sizeof(err));
	ck_assert_msg(jr != NULL, "%s", err);
	for (i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		ck_assert_ptr_nonnull(rec = json_loads(recs[i], 0, NULL));
		ck_assert_int_gt(journal_append(jr, rec), 0);
		json_decref(rec);
	}
	ck_assert_int_eq(journal_commit(jr), 0);
	journal_close(jr);
	q = qopen(base, dir, 0);
	ck_assert_str_eq(order(q, 0), "1:51s 9:59e");
	/* And the next seq is past every one seen. */
	ck_assert_int_eq(take(q, BP_T_START, 60, 0, "fc_a", &a), RQT_QUEUED);
	ck_assert_str_eq(order(q, 0), "1:51s 9:59e 10:60s");
	relayq_close(q);
	event_base_free(base);
	free(dir);
}
END_TEST

/* The same report while held: dup, once the first is durable. */
START_TEST(dup_while_held)
{
	struct event_base *base = event_base_new();
	char *dir = newdir();
	struct relayq *q = qopen(base, dir, 0);
	struct acks a = { 0, 0 }, d = { 0, 0 };
	struct relayq_stats st;

	ck_assert_int_eq(take(q, BP_T_START, 31, 0, "fc_a", &a), RQT_QUEUED);
	/* Before the first is on disk: the repeat waits for it. */
	ck_assert_int_eq(take(q, BP_T_START, 31, 0, "fc_a", &d), RQT_DUP);
	spin_until(base, &d.ok, 1);
	ck_assert_int_eq(a.ok, 1);
	ck_assert_int_eq(take(q, BP_T_START, 31, 0, "fc_a", &d), RQT_DUP);
	spin_until(base, &d.ok, 2);
	/* Another body, another run, another kind: not the same report. */
	ck_assert_int_eq(take(q, BP_T_START, 31, 0, "fc_b", &a), RQT_QUEUED);
	ck_assert_int_eq(take(q, BP_T_START, 31, 1, "fc_a", &a), RQT_QUEUED);
	ck_assert_int_eq(take(q, BP_T_END, 31, 0, "fc_a", &a), RQT_QUEUED);
	spin_until(base, &a.ok, 4);
	relayq_stats(q, &st);
	ck_assert_uint_eq(st.backlog, 4);
	/* No job id: nothing a controller would take. */
	ck_assert_int_eq(take(q, BP_T_START, 0, 0, "fc_a", &a), RQT_NO_JOB);
	/* Once forwarded it is the upstream's to call a repeat. */
	relayq_sent(q, relayq_next(q), 1);
	relayq_done(q, relayq_find(q, 1));
	ck_assert_int_eq(take(q, BP_T_START, 31, 0, "fc_a", &a), RQT_QUEUED);
	relayq_close(q);
	event_base_free(base);
	free(dir);
}
END_TEST

/* Compaction: what is left, in order; dead letters; the next seq. */
START_TEST(compaction_keeps_order)
{
	struct event_base *base = event_base_new();
	char *dir = newdir();
	struct relayq *q = qopen(base, dir, 0);
	struct acks a = { 0, 0 };
	struct relayq_entry *e;
	uint32_t j;

	for (j = 1; j <= 40; j++)
		take(q, BP_T_START, 100 + j, 0, "fc_a", &a);
	spin_until(base, &a.ok, 40);
	/* Sent in a window of 8, answered out of turn: all but 3 done. */
	for (j = 1; j <= 8; j++)
		relayq_sent(q, relayq_next(q), 1);
	for (j = 1; j <= 40; j++) {
		if (j == 7 || j == 20 || j == 33)
			continue;
		e = relayq_find(q, j);
		if (e->state == RQ_PENDING)
			relayq_sent(q, e, 1);
		if (j == 5)
			relayq_dead(q, e, "unknown account fc_a");
		else
			relayq_done(q, e);
	}
	event_base_loop(base, EVLOOP_NONBLOCK);
	/* 7 is still in flight: it goes back in front of 20. */
	relayq_unsend_gen(q, 1);
	ck_assert_int_eq(relayq_compact(q), 0);
	ck_assert_str_eq(order(q, 0), "7:107s 20:120s 33:133s");
	relayq_close(q);

	q = qopen(base, dir, 0);
	ck_assert_str_eq(order(q, 0), "7:107s 20:120s 33:133s");
	ck_assert_str_eq(order(q, 1), "5:105s");
	e = relayq_find(q, 5);
	ck_assert_str_eq(e->error, "unknown account fc_a");
	ck_assert_int_eq(take(q, BP_T_START, 200, 0, "fc_a", &a), RQT_QUEUED);
	ck_assert_str_eq(order(q, 0), "7:107s 20:120s 33:133s 41:200s");
	/* An operator's retry: back in seq order, and that survives. */
	ck_assert_uint_eq(relayq_retry(q, 5), 1);
	ck_assert_str_eq(order(q, 0), "5:105s 7:107s 20:120s 33:133s 41:200s");
	event_base_loop(base, EVLOOP_NONBLOCK);
	relayq_close(q);
	q = qopen(base, dir, 0);
	ck_assert_str_eq(order(q, 0), "5:105s 7:107s 20:120s 33:133s 41:200s");
	ck_assert_str_eq(order(q, 1), "");
	relayq_close(q);
	event_base_free(base);
	free(dir);
}
END_TEST

/* ---- a fake upstream -------------------------------------------------- */

enum script {
	UP_OK,			/* every report: ok (dup once seen) */
	UP_ERROR_JOB,		/* job 502: error; the rest ok */
	UP_LATER_ONCE,		/* job 602: later the first time */
	UP_CUT_ONCE,		/* the 3rd frame: connection closed unanswered */
	UP_HOLD,		/* no answer until released */
};

struct upstream {
	struct event_base	*base;
	int			 lfd;
	struct event		*lev;
	int			 fd;
	struct event		*rev;
	uint8_t			 in[BP_HDR_LEN + BP_MAX_BODY];
	size_t			 inlen;
	enum script		 script;
	char			 log[2048];	/* "job:kind" of every frame */
	int			 frames;
	int			 bad_creds;
	int			 later_done;
	int			 cut_done;
	uint32_t		 seen[64];	/* jobs taken (ok) */
	int			 nseen;
	int			 held;		/* UP_HOLD: frames unanswered */
	int			 max_held;
	struct bp_msg		 hold[64];
	int			 queries;
};

/* The fake credential: "fake:" and the digest in hex. */
static int
fake_cred(void *arg, const uint8_t *digest, size_t len, char **cred,
    char *why, size_t whylen)
{
	size_t i;

	(void)arg;
	(void)why;
	(void)whylen;
	if ((*cred = malloc(6 + len * 2)) == NULL)
		return -1;
	strcpy(*cred, "fake:");
	for (i = 0; i < len; i++)
		sprintf(*cred + 5 + i * 2, "%02x", digest[i]);
	return 0;
}

static int
no_cred(void *arg, const uint8_t *digest, size_t len, char **cred,
    char *why, size_t whylen)
{
	(void)arg;
	(void)digest;
	(void)len;
	*cred = NULL;
	snprintf(why, whylen, "munged is not running");
	return -1;
}

static void
up_reply(struct upstream *u, const struct bp_msg *m, const char *status,
    const char *message)
{
	struct bp_msg rep;
	uint8_t *frame;
	long len;

	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", status);
	if (message != NULL)
		bp_add(&rep, "message", message);
	ck_assert_int_gt(len = bp_encode(&rep, &frame), 0);
	ck_assert_int_eq(send(u->fd, frame, (size_t)len, MSG_NOSIGNAL), len);
	free(frame);
}

static void
up_close(struct upstream *u)
{
	if (u->rev != NULL)
		event_free(u->rev);
	u->rev = NULL;
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
	u->inlen = 0;
}

/* ok, or dup when the job's report was taken before. */
static void
up_take(struct upstream *u, const struct bp_msg *m, uint32_t job)
{
	int i;

	for (i = 0; i < u->nseen; i++)
		if (u->seen[i] == job * 2 + (m->type == BP_T_END)) {
			up_reply(u, m, "dup", NULL);
			return;
		}
	u->seen[u->nseen++] = job * 2 + (m->type == BP_T_END);
	up_reply(u, m, "ok", NULL);
}

/* A query: its fields echoed back with an estimate, as a controller's. */
static void
up_query(struct upstream *u, const struct bp_msg *m)
{
	struct bp_msg rep;
	uint8_t *frame;
	long len;

	u->queries++;
	bp_init(&rep, m->type | BP_REPLY, m->id);
	bp_add(&rep, "status", "ok");
	bp_add(&rep, "estimate", "720.00");
	bp_add(&rep, "asked_for", bp_get(m, "peer_uid") ? bp_get(m,
	    "peer_uid") : "-");
	bp_add(&rep, "cred_ok", bp_get(m, BP_CRED_KEY) ? "1" : "0");
	ck_assert_int_gt(len = bp_encode(&rep, &frame), 0);
	ck_assert_int_eq(send(u->fd, frame, (size_t)len, MSG_NOSIGNAL), len);
	free(frame);
}

/* 1 when the connection was closed. */
static int
up_frame(struct upstream *u, struct bp_msg *m)
{
	uint8_t digest[BP_DIGEST_LEN];
	char *want = NULL, *cred = NULL;
	uint64_t job = 0;
	const char *c = bp_get(m, BP_CRED_KEY);

	if (m->type == BP_T_ESTIMATE) {
		up_query(u, m);
		return 0;
	}
	bp_get_u64(m, "job_id", &job);
	u->frames++;
	snprintf(u->log + strlen(u->log), sizeof(u->log) - strlen(u->log),
	    "%s%llu%c", u->log[0] ? " " : "", (unsigned long long)job,
	    m->type == BP_T_START ? 's' : 'e');
	ck_assert_int_eq(bp_digest(m, digest), BP_OK);
	fake_cred(NULL, digest, sizeof(digest), &want, NULL, 0);
	if (c == NULL || strcmp(c, want) != 0)
		u->bad_creds++;
	free(want);
	free(cred);
	/* Reports travel without anyone's peer_* fields. */
	ck_assert_ptr_null(bp_get(m, "peer_uid"));
	switch (u->script) {
	case UP_ERROR_JOB:
		if (job == 502) {
			up_reply(u, m, "error", "unknown account fc_zz");
			return 0;
		}
		break;
	case UP_LATER_ONCE:
		if (job == 602 && !u->later_done) {
			u->later_done = 1;
			up_reply(u, m, "later", "bankd could not store it");
			return 0;
		}
		break;
	case UP_CUT_ONCE:
		if (u->frames == 3 && !u->cut_done) {
			u->cut_done = 1;
			up_close(u);
			return 1;
		}
		break;
	case UP_HOLD:
		u->hold[u->held] = *m;
		m->body = NULL;		/* moved */
		m->nfields = 0;
		if (++u->held > u->max_held)
			u->max_held = u->held;
		return 0;
	case UP_OK:
		break;
	}
	up_take(u, m, (uint32_t)job);
	return 0;
}

static void
up_release(struct upstream *u)
{
	uint64_t job;
	int i;

	/* Backwards: an upstream answers as each is journaled (a repeat at
	 * once), so replies may pass one another. */
	for (i = u->held - 1; i >= 0; i--) {
		bp_get_u64(&u->hold[i], "job_id", &job);
		up_take(u, &u->hold[i], (uint32_t)job);
		bp_free(&u->hold[i]);
	}
	u->held = 0;
}

static void
up_readable(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	struct bp_msg m;
	size_t used;
	ssize_t n;

	(void)what;
	n = recv(fd, u->in + u->inlen, sizeof(u->in) - u->inlen, 0);
	if (n <= 0) {
		up_close(u);
		return;
	}
	u->inlen += (size_t)n;
	while (u->inlen > 0 && bp_parse(u->in, u->inlen, &m, &used) == BP_OK) {
		memmove(u->in, u->in + used, u->inlen - used);
		u->inlen -= used;
		if (up_frame(u, &m)) {
			bp_free(&m);
			return;
		}
		bp_free(&m);
	}
}

static void
up_accept(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;
	int c;

	(void)what;
	if ((c = accept(fd, NULL, NULL)) == -1)
		return;
	up_close(u);	/* one client at a time: the relay's one connection */
	u->fd = c;
	u->rev = event_new(u->base, c, EV_READ | EV_PERSIST, up_readable, u);
	event_add(u->rev, NULL);
}

/* A fake upstream on 127.0.0.1; its ADDRESS:PORT in hp. */
static void
up_start(struct upstream *u, struct event_base *base, enum script s,
    char *hp, size_t hplen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int one = 1;

	memset(u, 0, sizeof(*u));
	u->base = base;
	u->script = s;
	u->fd = -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(u->lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	setsockopt(u->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	ck_assert_int_eq(bind(u->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(u->lfd, 8), 0);
	ck_assert_int_eq(getsockname(u->lfd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(hp, hplen, "127.0.0.1:%u", ntohs(sin.sin_port));
	u->lev = event_new(base, u->lfd, EV_READ | EV_PERSIST, up_accept, u);
	event_add(u->lev, NULL);
}

static void
up_stop(struct upstream *u)
{
	int i;

	up_close(u);
	for (i = 0; i < u->held; i++)
		bp_free(&u->hold[i]);
	event_free(u->lev);
	close(u->lfd);
}

/* A port nothing listens on: bound, never listened to, then closed. */
static void
dead_port(char *hp, size_t hplen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sin);
	int fd;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ne(fd = socket(AF_INET, SOCK_STREAM, 0), -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	snprintf(hp, hplen, "127.0.0.1:%u", ntohs(sin.sin_port));
	close(fd);
}

/* ---- the forwarder ---------------------------------------------------- */

struct fwdfx {
	struct event_base	*base;
	char			*dir;
	struct relayq		*q;
	struct relay_fwd	*f;
	struct upstream		 up;
	char			 hp[2][64];
	struct acks		 a;
};

static void
kick(void *arg)
{
	struct fwdfx *x = arg;

	if (x->f != NULL)
		relay_fwd_kick(x->f);
}

static void
fx_open(struct fwdfx *x, enum script s, int dead_first, int window,
    relaycred_fn cred)
{
	struct relayq_hooks h = { kick, x };
	char *ups[2], err[256];
	struct relay_fwd_settings set = { ups, 1, 2000, window, 50, cred,
	    NULL };

	memset(x, 0, sizeof(*x));
	x->base = event_base_new();
	x->dir = newdir();
	x->q = relayq_open(x->base, x->dir, 0, &h, err, sizeof(err));
	ck_assert_msg(x->q != NULL, "%s", err);
	if (dead_first)
		dead_port(x->hp[0], sizeof(x->hp[0]));
	up_start(&x->up, x->base, s, x->hp[dead_first], sizeof(x->hp[1]));
	ups[0] = x->hp[0];
	ups[1] = x->hp[1];
	set.nup = dead_first ? 2 : 1;
	x->f = relay_fwd_new(x->base, x->q, &set, err, sizeof(err));
	ck_assert_msg(x->f != NULL, "%s", err);
}

static void
fx_close(struct fwdfx *x)
{
	relay_fwd_free(x->f);
	x->f = NULL;
	relayq_close(x->q);
	up_stop(&x->up);
	event_base_free(x->base);
	free(x->dir);
}

static size_t
backlog(struct relayq *q)
{
	struct relayq_stats st;

	relayq_stats(q, &st);
	return st.backlog;
}

static size_t
dead(struct relayq *q)
{
	struct relayq_stats st;

	relayq_stats(q, &st);
	return st.dead;
}

/* The loop until the backlog is down to want (bounded in turns). */
static void
drain_to(struct fwdfx *x, size_t want, size_t want_dead)
{
	int i;

	for (i = 0; i < 2000000 && (backlog(x->q) != want ||
	    dead(x->q) != want_dead); i++)
		event_base_loop(x->base, EVLOOP_ONCE);
	ck_assert_uint_eq(backlog(x->q), want);
	ck_assert_uint_eq(dead(x->q), want_dead);
}

static void
take_jobs(struct fwdfx *x, uint32_t first, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		take(x->q, BP_T_START, first + (uint32_t)i, 0, "fc_a", &x->a);
		take(x->q, BP_T_END, first + (uint32_t)i, 0, "fc_a", &x->a);
	}
}

START_TEST(fwd_in_order)
{
	struct fwdfx x;
	struct relay_fwd_view v;

	fx_open(&x, UP_OK, 0, 4, fake_cred);
	take_jobs(&x, 401, 3);
	drain_to(&x, 0, 0);
	ck_assert_int_eq(x.a.ok, 6);
	ck_assert_str_eq(x.up.log, "401s 401e 402s 402e 403s 403e");
	ck_assert_int_eq(x.up.bad_creds, 0);
	relay_fwd_view(x.f, &v);
	ck_assert_uint_eq(v.forwarded, 6);
	ck_assert_int_eq(v.ok, 1);
	ck_assert_str_eq(v.upstream, x.hp[0]);
	fx_close(&x);
}
END_TEST

/*
 * Pipelined: up to the window unanswered, never more, none removed
 * before its answer; answers out of order are matched by id.
 */
START_TEST(fwd_window)
{
	struct fwdfx x;
	int i;

	fx_open(&x, UP_HOLD, 0, 3, fake_cred);
	take_jobs(&x, 451, 4);		/* 8 reports */
	for (i = 0; i < 2000000 && x.up.held < 3; i++)
		event_base_loop(x.base, EVLOOP_ONCE);
	ck_assert_int_eq(x.up.held, 3);
	/* Let the loop turn: nothing more may come while 3 wait. */
	for (i = 0; i < 50; i++)
		event_base_loop(x.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(x.up.held, 3);
	ck_assert_uint_eq(backlog(x.q), 8);
	ck_assert_uint_eq(relayq_inflight(x.q), 3);
	x.up.script = UP_OK;
	up_release(&x.up);
	drain_to(&x, 0, 0);
	ck_assert_int_eq(x.up.max_held, 3);
	ck_assert_str_eq(x.up.log, "451s 451e 452s 452e 453s 453e 454s 454e");
	fx_close(&x);
}
END_TEST

/* The first upstream does not listen: the second takes everything. */
START_TEST(fwd_next_upstream)
{
	struct fwdfx x;
	struct relay_fwd_view v;

	fx_open(&x, UP_OK, 1, 8, fake_cred);
	take_jobs(&x, 501, 2);
	drain_to(&x, 0, 0);
	ck_assert_str_eq(x.up.log, "501s 501e 502s 502e");
	relay_fwd_view(x.f, &v);
	ck_assert_str_eq(v.upstream, x.hp[1]);
	ck_assert_uint_ge(v.attempts, 1);
	fx_close(&x);
}
END_TEST

/* error: a dead letter with the upstream's message; the rest go on. */
START_TEST(fwd_error_dead_letter)
{
	struct fwdfx x;
	struct relayq_entry *e;

	fx_open(&x, UP_ERROR_JOB, 0, 8, fake_cred);
	take_jobs(&x, 501, 3);
	drain_to(&x, 0, 2);
	ck_assert_str_eq(order(x.q, 1), "3:502s 4:502e");
	e = relayq_find(x.q, 3);
	ck_assert_str_eq(e->error, "unknown account fc_zz");
	fx_close(&x);
}
END_TEST

/* later: sent again after a while, and taken once. */
START_TEST(fwd_later_resent)
{
	struct fwdfx x;

	fx_open(&x, UP_LATER_ONCE, 0, 1, fake_cred);
	take_jobs(&x, 601, 3);
	drain_to(&x, 0, 0);
	ck_assert_str_eq(x.up.log, "601s 601e 602s 602s 602e 603s 603e");
	ck_assert_int_eq(x.up.nseen, 6);
	fx_close(&x);
}
END_TEST

/*
 * The connection cut with frames unanswered: they go again, on a new
 * connection, in order; what the upstream had taken it answers dup.
 */
START_TEST(fwd_cut_resent)
{
	struct fwdfx x;
	struct relay_fwd_view v;

	fx_open(&x, UP_CUT_ONCE, 0, 8, fake_cred);
	take_jobs(&x, 701, 3);
	drain_to(&x, 0, 0);
	ck_assert_int_eq(x.up.nseen, 6);
	ck_assert_int_eq(x.up.bad_creds, 0);
	/* In order; from the cut on, again (what was taken answered dup). */
	ck_assert_msg(strncmp(x.up.log, "701s 701e 702s ", 15) == 0, "%s",
	    x.up.log);
	ck_assert_int_gt(x.up.frames, 6);
	relay_fwd_view(x.f, &v);
	ck_assert_uint_ge(v.forwarded, 6);
	ck_assert_uint_ge(v.attempts, 1);
	fx_close(&x);
}
END_TEST

/* No credential (munged down): nothing sent, nothing lost; the error. */
START_TEST(fwd_no_credential)
{
	struct fwdfx x;
	struct relay_fwd_view v;
	int i;

	fx_open(&x, UP_OK, 0, 8, no_cred);
	take_jobs(&x, 801, 1);
	for (i = 0; i < 1000; i++) {
		event_base_loop(x.base, EVLOOP_ONCE);
		relay_fwd_view(x.f, &v);
		if (v.attempts >= 2)
			break;
	}
	ck_assert_uint_ge(v.attempts, 2);
	ck_assert_msg(strstr(v.error, "no credential: munged is not running")
	    != NULL, "%s", v.error);
	ck_assert_str_eq(v.upstream, "none");
	ck_assert_int_eq(x.up.frames, 0);
	ck_assert_uint_eq(backlog(x.q), 2);
	fx_close(&x);
}
END_TEST

/* ---- queries ---------------------------------------------------------- */

struct answer {
	int		 n;
	char		 status[32];
	char		 message[512];
	char		 estimate[32];
	char		 asked_for[32];
	uint32_t	 id;
	uint8_t		 type;
};

static void
on_answer(void *arg, struct bp_msg *rep)
{
	struct answer *a = arg;
	const char *v;

	a->n++;
	ck_assert_ptr_nonnull(rep);
	a->id = rep->id;
	a->type = rep->type;
	snprintf(a->status, sizeof(a->status), "%s", bp_get(rep, "status"));
	v = bp_get(rep, "message");
	snprintf(a->message, sizeof(a->message), "%s", v ? v : "");
	v = bp_get(rep, "estimate");
	snprintf(a->estimate, sizeof(a->estimate), "%s", v ? v : "");
	v = bp_get(rep, "asked_for");
	snprintf(a->asked_for, sizeof(a->asked_for), "%s", v ? v : "");
}

static void
estimate_query(struct bp_msg *m)
{
	bp_init(m, BP_T_ESTIMATE, 4242);
	bp_add(m, "partitions", "normal");
	bp_add(m, "num_tasks", "2");
	bp_add(m, "peer_uid", "47001");
	bp_add(m, "peer_gid", "47001");
}

/* The upstream's reply, field for field, under the asker's id. */
START_TEST(ask_forwarded)
{
	struct event_base *base = event_base_new();
	struct upstream up;
	struct relay_ask *ra;
	struct answer a = { 0 };
	char hp[2][64], *ups[2] = { hp[0], hp[1] }, err[256];
	struct bp_msg m;
	int i;

	dead_port(hp[0], sizeof(hp[0]));
	up_start(&up, base, UP_OK, hp[1], sizeof(hp[1]));
	ra = relay_ask_new(base, ups, 2, 2000, fake_cred, NULL, err,
	    sizeof(err));
	ck_assert_msg(ra != NULL, "%s", err);
	estimate_query(&m);
	relay_ask(ra, &m, on_answer, &a);
	bp_free(&m);
	for (i = 0; i < 100000 && a.n == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(a.n, 1);
	ck_assert_str_eq(a.status, "ok");
	ck_assert_str_eq(a.estimate, "720.00");
	ck_assert_str_eq(a.asked_for, "47001");
	ck_assert_uint_eq(a.id, 4242);
	ck_assert_uint_eq(a.type, BP_T_ESTIMATE | BP_REPLY);
	ck_assert_int_eq(up.queries, 1);
	relay_ask_free(ra);
	up_stop(&up);
	event_base_free(base);
}
END_TEST

/* No upstream: unavailable, naming what was tried and what it did. */
START_TEST(ask_unavailable)
{
	struct event_base *base = event_base_new();
	struct relay_ask *ra;
	struct answer a = { 0 };
	char hp[2][64], *ups[2] = { hp[0], hp[1] }, err[256], want[256];
	struct bp_msg m;
	int i;

	dead_port(hp[0], sizeof(hp[0]));
	dead_port(hp[1], sizeof(hp[1]));
	ra = relay_ask_new(base, ups, 2, 2000, fake_cred, NULL, err,
	    sizeof(err));
	ck_assert_msg(ra != NULL, "%s", err);
	estimate_query(&m);
	relay_ask(ra, &m, on_answer, &a);
	bp_free(&m);
	for (i = 0; i < 100000 && a.n == 0; i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(a.n, 1);
	ck_assert_str_eq(a.status, "unavailable");
	snprintf(want, sizeof(want), "no controller bankd answered (tried %s, "
	    "%s): %s: cannot connect to bankd", hp[0], hp[1], hp[1]);
	ck_assert_msg(strncmp(a.message, want, strlen(want)) == 0, "%s",
	    a.message);
	ck_assert_uint_eq(a.id, 4242);
	relay_ask_free(ra);
	event_base_free(base);
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

int
main(void)
{
	Suite *s = suite_create("relay");
	TCase *tq = tcase_create("queue"), *tf = tcase_create("forwarder");
	SRunner *sr;
	int failed;

	snprintf(topdir, sizeof(topdir), "/tmp/check_relay.XXXXXX");
	if (mkdtemp(topdir) == NULL)
		return 1;
	tcase_add_test(tq, take_durable_then_acked);
	tcase_add_test(tq, replay_after_crash);
	tcase_add_test(tq, replay_refuses_bad_records);
	tcase_add_test(tq, dup_while_held);
	tcase_add_test(tq, compaction_keeps_order);
	tcase_add_test(tf, fwd_in_order);
	tcase_add_test(tf, fwd_window);
	tcase_add_test(tf, fwd_next_upstream);
	tcase_add_test(tf, fwd_error_dead_letter);
	tcase_add_test(tf, fwd_later_resent);
	tcase_add_test(tf, fwd_cut_resent);
	tcase_add_test(tf, fwd_no_credential);
	tcase_add_test(tf, ask_forwarded);
	tcase_add_test(tf, ask_unavailable);
	tcase_set_timeout(tf, 30);
	suite_add_tcase(s, tq);
	suite_add_tcase(s, tf);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(topdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? 0 : 1;
}
