/*
 * relay_fwd.c - the relay's forwarder (relay_fwd.h): the event loop's
 * half.  It owns the queue (relayq.c): it picks the reports to send, in
 * seq order, at most `window` unanswered, and acts on each answer: done,
 * a dead letter, or again later with backoff, on the next upstream in
 * order.  The connection itself, and the credential of every frame, are
 * a thread's (relay_wire.c, which says why a thread): this half never
 * touches a TCP socket, nor waits for munged.
 *
 * Generations: each run of attempts on one connection has a number.  When
 * the connection fails the thread says so once, for its generation, and
 * drops whatever else of that generation it still holds; the loop puts
 * that generation's reports back in the queue and moves to the next
 * upstream with a new generation.  So a late answer of an old connection
 * can never be taken for a new one's.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bankproto.h"
#include "log.h"
#include "logkv.h"
#include "relay_fwd.h"
#include "relay_wire.h"
#include "relayq.h"

/* The first retry after every upstream failed; doubles up to the cap. */
#define FWD_BACKOFF_MS		200

struct relay_fwd {
	struct event_base	*base;
	struct relayq		*q;
	char			**up;
	size_t			 nup;
	int			 window;
	int			 retry_max_ms;
	struct relay_wire	*wire;		/* the connection's thread */

	struct event		*done_ev;
	struct event		*timer;
	int			 waiting;	/* backing off */
	uint64_t		 gen;
	size_t			 cur;		/* upstream tried now */
	unsigned		 rounds;	/* of every upstream failing */
	int			 ok;
	uint64_t		 forwarded;
	uint64_t		 failures;
	char			 error[512];
};

static void	 fwd_send(struct relay_fwd *);

static void
backoff(struct relay_fwd *f, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (f->waiting)
		return;
	f->waiting = 1;
	if (event_add(f->timer, &tv) != 0) {
		log_err("relay: cannot schedule the next attempt");
		f->waiting = 0;
	}
}

/* Every upstream failed again: wait longer, up to retry_max_ms. */
static int
round_delay(struct relay_fwd *f)
{
	int64_t d = FWD_BACKOFF_MS;
	unsigned i;

	for (i = 1; i < f->rounds && d < f->retry_max_ms; i++)
		d *= 2;
	if (d > f->retry_max_ms)
		d = f->retry_max_ms;
	/* Jitter: relays that lost the same controller do not come back
	 * at the same instant. */
	return (int)(d / 2 + random() % (d / 2 + 1));
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct relay_fwd *f = arg;

	(void)fd;
	(void)what;
	f->waiting = 0;
	fwd_send(f);
}

/* The connection of generation gen failed: the next upstream, or wait. */
static void
failed(struct relay_fwd *f, const struct relay_wire_res *r)
{
	size_t back;

	if (r->gen != f->gen)
		return;
	back = relayq_unsend_gen(f->q, r->gen);
	f->gen++;
	f->failures++;
	f->ok = 0;
	snprintf(f->error, sizeof(f->error), "%s", r->message);
	log_warn("relay: %s (%zu report(s) to send again)", r->message, back);
	if (++f->cur < f->nup) {
		backoff(f, 0);
		return;
	}
	f->cur = 0;
	f->rounds++;
	backoff(f, round_delay(f));
}

/*
 * An error that is not the report's: the credential refused (clocks, a
 * key), the relay's uid not privileged there.  Sending again once that
 * is mended helps, so it waits instead of becoming a dead letter.
 */
static int
not_the_reports(const char *msg)
{
	return strstr(msg, "MUNGE credential") != NULL ||
	    strstr(msg, "permission denied") != NULL ||
	    strncmp(msg, "refused: ", 9) == 0;
}

/* A relayed report's delivery upstream, job first (a relay's own). */
static void
fwd_line(enum log_level level, const struct relayq_entry *e,
    const char *up, const char *outcome, const char *why)
{
	struct logkv kv;

	if (!log_enabled(level))
		return;
	logkv_init(&kv);
	logkv_u64(&kv, "job", e->job);
	logkv_str(&kv, "event", "delivery");
	logkv_str(&kv, "kind", e->kind == REPORT_START ? "start" : "end");
	logkv_str(&kv, "upstream", up);
	logkv_u64(&kv, "report", e->seq);
	logkv_str(&kv, "outcome", outcome);
	if (strcmp(outcome, "dead") == 0)
		logkv_u64(&kv, "dead_letter", e->seq);
	logkv_str(&kv, "reason", why);
	log_kv(level, &kv);
}

static void
answered(struct relay_fwd *f, const struct relay_wire_res *r)
{
	struct relayq_entry *e = relayq_find(f->q, r->seq);

	if (e == NULL || e->state != RQ_INFLIGHT || e->gen != r->gen)
		return;		/* of an attempt given up already */
	if (strcmp(r->status, "ok") == 0 || strcmp(r->status, "dup") == 0) {
		fwd_line(LOG_LEVEL_DEBUG, e, f->up[f->cur], strcmp(r->status,
		    "ok") == 0 ? "delivered" : "dup", NULL);
		relayq_done(f->q, e);
		f->forwarded++;
		f->ok = 1;
		f->rounds = 0;
		f->error[0] = '\0';
		return;
	}
	if (strcmp(r->status, "error") == 0 && !not_the_reports(r->message)) {
		fwd_line(LOG_LEVEL_ERR, e, f->up[f->cur], "dead", r->message);
		relayq_dead(f->q, e, r->message[0] ? r->message : "refused "
		    "upstream, no reason given");
		f->ok = 1;
		return;
	}
	/* later, or what we cannot act on: again, after a while. */
	relayq_unsend(f->q, e);
	snprintf(f->error, sizeof(f->error), "%s answered %s: %s",
	    f->up[f->cur], r->status[0] ? r->status : "no status",
	    r->message);
	fwd_line(LOG_LEVEL_WARN, e, f->up[f->cur], "retry", f->error);
	f->rounds++;
	backoff(f, round_delay(f));
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct relay_fwd *f = arg;
	struct relay_wire_resq got;
	struct relay_wire_res *r;

	(void)fd;
	(void)what;
	relay_wire_take_results(f->wire, &got);
	while ((r = STAILQ_FIRST(&got)) != NULL) {
		STAILQ_REMOVE_HEAD(&got, link);
		if (r->kind == RW_FAIL)
			failed(f, r);
		else
			answered(f, r);
		free(r);
	}
	fwd_send(f);
}

/* e's request, encoded without a credential (the thread adds one). */
static struct relay_wire_cmd *
make_cmd(struct relay_fwd *f, struct relayq_entry *e)
{
	struct relay_wire_cmd *cmd;

	if ((cmd = calloc(1, sizeof(*cmd))) == NULL)
		return NULL;
	if (relayq_encode(e, &cmd->frame, &cmd->len) != 0) {
		free(cmd);
		relayq_dead(f->q, e, "the report's journal record is damaged: "
		    "it cannot be sent (see the relay's log)");
		return NULL;
	}
	cmd->type = e->kind == REPORT_START ? BP_T_START : BP_T_END;
	cmd->seq = e->seq;
	cmd->gen = f->gen;
	cmd->up = f->cur;
	return cmd;
}

/* As many of the oldest durable reports as the window leaves room for. */
static void
fwd_send(struct relay_fwd *f)
{
	struct relay_wire_cmdq l;
	struct relay_wire_cmd *cmd;
	struct relayq_entry *e;
	int n = 0;

	if (f->waiting)
		return;
	STAILQ_INIT(&l);
	while (relayq_inflight(f->q) < (size_t)f->window &&
	    (e = relayq_next(f->q)) != NULL) {
		if ((cmd = make_cmd(f, e)) == NULL) {
			if (e->state == RQ_PENDING)
				break;	/* out of memory: later */
			continue;	/* made a dead letter */
		}
		relayq_sent(f->q, e, f->gen);
		STAILQ_INSERT_TAIL(&l, cmd, link);
		n++;
	}
	if (n == 0)
		return;
	relay_wire_send(f->wire, &l);
}

void
relay_fwd_kick(struct relay_fwd *f)
{
	if (f != NULL)
		fwd_send(f);
}

struct relay_fwd *
relay_fwd_new(struct event_base *base, struct relayq *q,
    const struct relay_fwd_settings *set, char *err, size_t errlen)
{
	struct relay_wire_settings ws;
	struct relay_fwd *f;
	size_t i;

	if ((f = calloc(1, sizeof(*f))) == NULL ||
	    (f->up = calloc(set->nup, sizeof(*f->up))) == NULL) {
		free(f);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->base = base;
	f->q = q;
	f->nup = set->nup;
	f->window = set->window;
	f->retry_max_ms = set->retry_max_ms;
	f->gen = 1;
	for (i = 0; i < set->nup; i++)
		if ((f->up[i] = strdup(set->up[i])) == NULL)
			goto nomem;
	ws.up = f->up;
	ws.timeout_ms = set->timeout_ms;
	ws.cred = set->cred;
	ws.cred_arg = set->cred_arg;
	if ((f->wire = relay_wire_start(&ws, err, errlen)) == NULL) {
		relay_fwd_free(f);
		return NULL;
	}
	if ((f->done_ev = event_new(base, relay_wire_fd(f->wire),
	    EV_READ | EV_PERSIST, on_done, f)) == NULL ||
	    event_add(f->done_ev, NULL) != 0 ||
	    (f->timer = evtimer_new(base, on_timer, f)) == NULL)
		goto nomem;
	fwd_send(f);
	return f;
nomem:
	snprintf(err, errlen, "out of memory");
	relay_fwd_free(f);
	return NULL;
}

void
relay_fwd_free(struct relay_fwd *f)
{
	size_t i;

	if (f == NULL)
		return;
	if (f->done_ev != NULL)
		event_free(f->done_ev);
	if (f->timer != NULL)
		event_free(f->timer);
	/* Before the addresses it borrows; it frees what it still holds. */
	relay_wire_stop(f->wire);
	for (i = 0; i < f->nup; i++)
		free(f->up[i]);
	free(f->up);
	free(f);
}

void
relay_fwd_view(const struct relay_fwd *f, struct relay_fwd_view *v)
{
	v->upstream = f->ok ? f->up[f->cur] : "none";
	v->ok = f->ok;
	v->forwarded = f->forwarded;
	v->attempts = f->failures;
	v->error = f->error;
}
