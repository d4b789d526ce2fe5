/*
 * relay_ask.c - a relay's queries, asked upstream (relay_ask.h).
 *
 * A query is one request and one reply on a connection of its own (as
 * bp_call_tcp makes them; the credential from relaycred.c, so that the
 * tests can fake it), so a thread makes it: connect, send and receive
 * run with poll() and a deadline, and nothing of it touches the event
 * loop, which learns of the reply through a pipe.  RELAY_ASK_THREADS
 * threads and RELAY_ASK_MAX waiting bound what the relay spends on
 * queries: a node's few users, not a flood.
 *
 * Replies to two queries on one connection may come back in the order the
 * upstream answered them, not the order asked; every reply carries its
 * request's id (the plugins and bankctl ask one at a time).
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"
#include "relay_ask.h"

struct ask_job {
	STAILQ_ENTRY(ask_job)	 link;
	uint8_t			*frame;		/* the query, no credential */
	size_t			 len;
	uint8_t			 type;
	uint32_t		 id;
	relay_ask_fn		 fn;
	void			*arg;
	struct bp_msg		*rep;		/* the upstream's; NULL: none */
	char			 why[512];	/* none: what each said */
};
STAILQ_HEAD(ask_jobq, ask_job);

struct relay_ask {
	struct event_base	*base;
	char			**up;
	size_t			 nup;
	int			 timeout_ms;
	relaycred_fn		 cred;
	void			*cred_arg;

	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct ask_jobq		 todo;
	struct ask_jobq		 done;
	size_t			 ntodo;
	int			 stop;
	size_t			 sticky;	/* the upstream that last answered */

	int			 pipe[2];	/* threads -> loop */
	struct event		*ev;
	pthread_t		 thr[RELAY_ASK_THREADS];
	size_t			 nthr;
};

/* One attempt at one upstream: BP_OK with *rep, or a BP_E* with why. */
static int
ask_one(struct relay_ask *a, const char *up, const struct bp_msg *m,
    int deadline_ms, struct bp_msg *rep, char *why, size_t whylen)
{
	char addr[128];
	uint8_t *frame;
	size_t len;
	int rc;

	if ((rc = relaycred_frame(m, a->cred, a->cred_arg, &frame, &len, why,
	    whylen)) != BP_OK)
		return rc;
	snprintf(addr, sizeof(addr), "tcp:%s", up);
	rc = bp_call_frame(addr, deadline_ms, frame, len, m, rep);
	free(frame);
	if (rc != BP_OK)
		snprintf(why, whylen, "%s", bp_strerror(rc));
	return rc;
}

/*
 * Every upstream in turn from the last that answered, each with its
 * share of what is left of the deadline: a silent first one cannot use
 * up the time of the others.
 */
static void
ask_all(struct relay_ask *a, struct ask_job *j, const struct bp_msg *m)
{
	int64_t end = monotime_ms() + a->timeout_ms, left;
	char why[256], tried[400] = "";
	size_t i, k, start;
	int rc = BP_ECONNECT;

	pthread_mutex_lock(&a->mu);
	start = a->sticky;
	pthread_mutex_unlock(&a->mu);
	snprintf(why, sizeof(why), "no time left");
	for (i = 0; i < a->nup; i++) {
		k = (start + i) % a->nup;
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried),
		    "%s%s", i ? ", " : "", a->up[k]);
		if ((left = end - monotime_ms()) <= 0)
			continue;
		left /= (int64_t)(a->nup - i);
		if ((j->rep = calloc(1, sizeof(*j->rep))) == NULL) {
			snprintf(why, sizeof(why), "out of memory");
			break;
		}
		rc = ask_one(a, a->up[k], m, left > 0 ? (int)left : 1, j->rep,
		    why, sizeof(why));
		if (rc == BP_OK) {
			pthread_mutex_lock(&a->mu);
			a->sticky = k;
			pthread_mutex_unlock(&a->mu);
			return;
		}
		free(j->rep);
		j->rep = NULL;
		snprintf(j->why, sizeof(j->why), "%s: %s", a->up[k], why);
	}
	snprintf(why, sizeof(why), "%s", j->why[0] ? j->why : "no time left");
	snprintf(j->why, sizeof(j->why), "no controller bankd answered "
	    "(tried %s): %s", tried, why);
}

static void *
ask_main(void *arg)
{
	struct relay_ask *a = arg;
	struct ask_job *j;
	struct bp_msg *m;
	size_t used;
	ssize_t n;

	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (!a->stop && STAILQ_EMPTY(&a->todo))
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop) {
			pthread_mutex_unlock(&a->mu);
			return NULL;
		}
		j = STAILQ_FIRST(&a->todo);
		STAILQ_REMOVE_HEAD(&a->todo, link);
		a->ntodo--;
		pthread_mutex_unlock(&a->mu);
		if ((m = malloc(sizeof(*m))) != NULL &&
		    bp_parse(j->frame, j->len, m, &used) == BP_OK) {
			ask_all(a, j, m);
			bp_free(m);
		} else
			snprintf(j->why, sizeof(j->why), "the relay is out of "
			    "memory");
		free(m);
		pthread_mutex_lock(&a->mu);
		STAILQ_INSERT_TAIL(&a->done, j, link);
		pthread_mutex_unlock(&a->mu);
		n = write(a->pipe[1], "x", 1);
		(void)n;
	}
}

static void
job_free(struct ask_job *j)
{
	if (j->rep != NULL) {
		bp_free(j->rep);
		free(j->rep);
	}
	free(j->frame);
	free(j);
}

/* The upstream's reply, field for field, under the local type and id. */
static void
answer(struct ask_job *j)
{
	struct bp_msg *out;
	size_t i;

	if ((out = malloc(sizeof(*out))) == NULL) {
		j->fn(j->arg, NULL);
		return;
	}
	bp_init(out, j->type | BP_REPLY, j->id);
	if (j->rep != NULL)
		for (i = 0; i < j->rep->nfields; i++)
			bp_add(out, j->rep->fields[i].key,
			    j->rep->fields[i].val);
	else {
		bp_add(out, "status", "unavailable");
		bp_add(out, "message", j->why);
	}
	j->fn(j->arg, out);
	bp_free(out);
	free(out);
}

static void
on_done(evutil_socket_t fd, short what, void *arg)
{
	struct relay_ask *a = arg;
	struct ask_jobq got;
	struct ask_job *j;
	char buf[64];

	(void)fd;
	(void)what;
	while (read(a->pipe[0], buf, sizeof(buf)) > 0)
		;
	STAILQ_INIT(&got);
	pthread_mutex_lock(&a->mu);
	STAILQ_CONCAT(&got, &a->done);
	pthread_mutex_unlock(&a->mu);
	while ((j = STAILQ_FIRST(&got)) != NULL) {
		STAILQ_REMOVE_HEAD(&got, link);
		answer(j);
		job_free(j);
	}
}

void
relay_ask(struct relay_ask *a, const struct bp_msg *q, relay_ask_fn fn,
    void *arg)
{
	struct ask_job *j;
	long len;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		fn(arg, NULL);
		return;
	}
	j->type = q->type;
	j->id = q->id;
	j->fn = fn;
	j->arg = arg;
	if ((len = bp_encode(q, &j->frame)) < 0) {
		snprintf(j->why, sizeof(j->why), "the query cannot be encoded: "
		    "%s", bp_strerror((int)len));
		answer(j);
		job_free(j);
		return;
	}
	j->len = (size_t)len;
	pthread_mutex_lock(&a->mu);
	if (a->ntodo >= RELAY_ASK_MAX) {
		pthread_mutex_unlock(&a->mu);
		snprintf(j->why, sizeof(j->why), "the relay is busy: %d queries "
		    "already wait for a controller", RELAY_ASK_MAX);
		answer(j);
		job_free(j);
		return;
	}
	STAILQ_INSERT_TAIL(&a->todo, j, link);
	a->ntodo++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

struct relay_ask *
relay_ask_new(struct event_base *base, char *const *up, size_t nup,
    int timeout_ms, relaycred_fn cred, void *cred_arg, char *err,
    size_t errlen)
{
	struct relay_ask *a;
	size_t i;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->up = calloc(nup, sizeof(*a->up))) == NULL) {
		free(a);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->base = base;
	a->nup = nup;
	a->timeout_ms = timeout_ms;
	a->cred = cred;
	a->cred_arg = cred_arg;
	a->pipe[0] = a->pipe[1] = -1;
	STAILQ_INIT(&a->todo);
	STAILQ_INIT(&a->done);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	for (i = 0; i < nup; i++)
		if ((a->up[i] = strdup(up[i])) == NULL)
			goto fail;
	if (pipe2(a->pipe, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (a->ev = event_new(base, a->pipe[0], EV_READ | EV_PERSIST,
	    on_done, a)) == NULL || event_add(a->ev, NULL) != 0)
		goto fail;
	for (i = 0; i < RELAY_ASK_THREADS; i++) {
		if (pthread_create(&a->thr[i], NULL, ask_main, a) != 0)
			goto fail;
		a->nthr++;
	}
	return a;
fail:
	snprintf(err, errlen, "relay: cannot start the query threads: %s",
	    strerror(errno));
	relay_ask_free(a);
	return NULL;
}

void
relay_ask_free(struct relay_ask *a)
{
	struct ask_job *j;
	size_t i;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < a->nthr; i++)
		pthread_join(a->thr[i], NULL);
	/* Nobody is told now: the connections are closing. */
	STAILQ_CONCAT(&a->done, &a->todo);
	while ((j = STAILQ_FIRST(&a->done)) != NULL) {
		STAILQ_REMOVE_HEAD(&a->done, link);
		j->fn(j->arg, NULL);
		job_free(j);
	}
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->pipe[0] != -1)
		close(a->pipe[0]);
	if (a->pipe[1] != -1)
		close(a->pipe[1]);
	for (i = 0; i < a->nup; i++)
		free(a->up[i]);
	free(a->up);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
