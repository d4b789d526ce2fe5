/*
 * credq.c - MUNGE credentials decoded by threads (credq.h).
 *
 * A job is the loop's until a thread takes it off `waiting`; the thread
 * decodes (the only slow part, unlocked), puts it on `done` and writes a
 * byte to the pipe the loop watches, as journal.c's sync thread does
 * (jwatch.c).  Every job also has a deadline timer on the loop: past it,
 * the requester is answered "later" at once and the job is abandoned:
 * a waiting one is dropped, a decoding one is freed when its thread comes
 * back.  So munged that hangs costs each stuck thread one job, and the
 * loop nothing.  The jobs out (max_jobs) include the abandoned ones, so
 * memory stays bounded however long munged hangs.
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

#include <event2/event.h>

#include "credq.h"
#include "log.h"

#define CREDQ_THREADS_MAX	16
#define JOIN_WAIT_S		1

/* J_TAKEN: off `done`, being answered by on_decoded(). */
enum jstate { J_WAITING, J_DECODING, J_DONE, J_TAKEN };

struct credq_job {
	TAILQ_ENTRY(credq_job)	 link;		/* waiting or done */
	TAILQ_ENTRY(credq_job)	 all_link;	/* the loop's, until freed */
	struct credq		*q;
	struct event		*deadline;
	char			*cred;
	credq_done_fn		 fn;
	void			*arg;
	enum jstate		 state;		/* under q->mu */
	int			 abandoned;	/* answered or cancelled */
	struct tcpauth_decoded	 d;		/* the thread's, until J_DONE */
};

TAILQ_HEAD(jobq, credq_job);

struct credq {
	struct event_base	*base;
	struct credq_settings	 set;
	tcpauth_decode_fn	 decode;
	void			*decode_arg;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct jobq		 waiting;	/* under mu */
	struct jobq		 done;		/* under mu */
	int			 stop;		/* under mu */
	struct jobq		 all;		/* the loop's */
	size_t			 njobs;		/* the loop's */
	int			 busy;		/* answering: no free now */
	int			 free_due;	/* credq_free() while busy */
	pthread_t		 threads[CREDQ_THREADS_MAX];
	int			 nthreads;
	int			 pipefd[2];
	struct event		*pipe_ev;
};

static void
job_free(struct credq_job *j)
{
	struct credq *q = j->q;

	TAILQ_REMOVE(&q->all, j, all_link);
	q->njobs--;
	if (j->deadline != NULL)
		event_free(j->deadline);
	free(j->cred);
	free(j);
}

/* ---- the threads ------------------------------------------------------ */

static void *
worker(void *arg)
{
	struct credq *q = arg;
	struct credq_job *j;
	char c = 1;

	(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->stop && TAILQ_EMPTY(&q->waiting))
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->stop)
			break;
		j = TAILQ_FIRST(&q->waiting);
		TAILQ_REMOVE(&q->waiting, j, link);
		j->state = J_DECODING;
		pthread_mutex_unlock(&q->mu);
		/* Only here may exit cancel us: in munged's read(2). */
		(void)pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
		tcpauth_decode(q->decode, q->decode_arg, j->cred, &j->d);
		(void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
		pthread_mutex_lock(&q->mu);
		j->state = J_DONE;
		TAILQ_INSERT_TAIL(&q->done, j, link);
		/* A full pipe already says "look": nothing is lost. */
		(void)!write(q->pipefd[1], &c, 1);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* ---- the loop --------------------------------------------------------- */

static void
answer(struct credq_job *j, const struct tcpauth_decoded *d)
{
	j->abandoned = 1;
	if (j->deadline != NULL)
		event_del(j->deadline);
	j->fn(j->arg, d);
}

static void
on_decoded(evutil_socket_t fd, short what, void *arg)
{
	struct credq *q = arg;
	struct jobq got = TAILQ_HEAD_INITIALIZER(got);
	struct credq_job *j;
	char buf[256];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&q->mu);
	while ((j = TAILQ_FIRST(&q->done)) != NULL) {
		TAILQ_REMOVE(&q->done, j, link);
		j->state = J_TAKEN;
		TAILQ_INSERT_TAIL(&got, j, link);
	}
	pthread_mutex_unlock(&q->mu);
	/* In the order they were decoded; the requester keeps its own. */
	q->busy++;
	while ((j = TAILQ_FIRST(&got)) != NULL) {
		TAILQ_REMOVE(&got, j, link);
		if (!j->abandoned)
			answer(j, &j->d);
		job_free(j);
	}
	if (--q->busy == 0 && q->free_due)
		credq_free(q);
}

/*
 * The job is no longer wanted: 1 when it may be freed now, 0 when a
 * thread has it (freed when it comes back, in on_decoded()).
 */
static int
abandon(struct credq_job *j)
{
	struct credq *q = j->q;
	int now = 1;

	pthread_mutex_lock(&q->mu);
	/* J_DECODING and J_TAKEN: freed where they are now. */
	if (j->state == J_WAITING || j->state == J_DONE)
		TAILQ_REMOVE(j->state == J_WAITING ? &q->waiting : &q->done,
		    j, link);
	else
		now = 0;
	j->abandoned = 1;
	pthread_mutex_unlock(&q->mu);
	return now;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct credq_job *j = arg;
	struct credq *q = j->q;
	struct tcpauth_decoded d;

	(void)fd;
	(void)what;
	memset(&d, 0, sizeof(d));
	d.rc = TA_UNAVAILABLE;
	d.uid = (uid_t)-1;
	d.gid = (gid_t)-1;
	snprintf(d.why, sizeof(d.why), "munged did not answer within %d ms",
	    j->q->set.deadline_ms);
	q->busy++;
	if (abandon(j)) {
		answer(j, &d);
		job_free(j);
	} else
		answer(j, &d);
	if (--q->busy == 0 && q->free_due)
		credq_free(q);
}

struct credq_job *
credq_submit(struct credq *q, const char *cred, credq_done_fn fn, void *arg)
{
	struct timeval tv = { q->set.deadline_ms / 1000,
	    (q->set.deadline_ms % 1000) * 1000 };
	struct credq_job *j;

	if (q->njobs >= q->set.max_jobs || (j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->q = q;
	j->fn = fn;
	j->arg = arg;
	if ((j->cred = strdup(cred)) == NULL ||
	    (j->deadline = evtimer_new(q->base, on_deadline, j)) == NULL ||
	    evtimer_add(j->deadline, &tv) != 0) {
		if (j->deadline != NULL)
			event_free(j->deadline);
		free(j->cred);
		free(j);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&q->all, j, all_link);
	q->njobs++;
	pthread_mutex_lock(&q->mu);
	j->state = J_WAITING;
	TAILQ_INSERT_TAIL(&q->waiting, j, link);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return j;
}

void
credq_cancel(struct credq *q, struct credq_job *j)
{
	(void)q;
	if (j->deadline != NULL)
		event_del(j->deadline);
	if (abandon(j))
		job_free(j);
}

size_t
credq_jobs(const struct credq *q)
{
	return q->njobs;
}

struct credq *
credq_new(struct event_base *base, const struct credq_settings *set,
    tcpauth_decode_fn decode, void *decode_arg)
{
	struct credq *q;
	int i;

	if (set->threads < 1 || set->threads > CREDQ_THREADS_MAX ||
	    set->max_jobs < 1 || set->deadline_ms < 1) {
		log_err("credentials: %d threads, %zu jobs, %d ms: not a "
		    "setting", set->threads, set->max_jobs, set->deadline_ms);
		return NULL;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_err("credentials: out of memory");
		return NULL;
	}
	q->base = base;
	q->set = *set;
	q->decode = decode;
	q->decode_arg = decode_arg;
	TAILQ_INIT(&q->waiting);
	TAILQ_INIT(&q->done);
	TAILQ_INIT(&q->all);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->pipefd[0] = q->pipefd[1] = -1;
	if (pipe2(q->pipefd, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    (q->pipe_ev = event_new(base, q->pipefd[0], EV_READ | EV_PERSIST,
	    on_decoded, q)) == NULL || event_add(q->pipe_ev, NULL) != 0) {
		log_err("credentials: cannot watch the decoders: %s",
		    strerror(errno));
		credq_free(q);
		return NULL;
	}
	for (i = 0; i < set->threads; i++) {
		if ((errno = pthread_create(&q->threads[i], NULL, worker, q)) !=
		    0) {
			log_err("credentials: cannot start a decoder thread: %s",
			    strerror(errno));
			credq_free(q);
			return NULL;
		}
		q->nthreads++;
	}
	return q;
}

static void
join(pthread_t t)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += JOIN_WAIT_S;
	if (pthread_timedjoin_np(t, NULL, &until) == 0)
		return;
	log_warn("credentials: a decoder still waits on munged at exit; "
	    "cancelled");
	pthread_cancel(t);
	pthread_join(t, NULL);
}

void
credq_free(struct credq *q)
{
	struct credq_job *j;
	int i;

	if (q == NULL)
		return;
	if (q->busy) {
		/* From a done(): no more answers; freed once it returns. */
		TAILQ_FOREACH(j, &q->all, all_link)
			j->abandoned = 1;
		q->free_due = 1;
		return;
	}
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (i = 0; i < q->nthreads; i++)
		join(q->threads[i]);
	/* No thread now: every job is the loop's, whatever its state. */
	while ((j = TAILQ_FIRST(&q->all)) != NULL)
		job_free(j);
	if (q->pipe_ev != NULL)
		event_free(q->pipe_ev);
	if (q->pipefd[0] != -1)
		close(q->pipefd[0]);
	if (q->pipefd[1] != -1)
		close(q->pipefd[1]);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}
