/*
 * reconcile.c - check the holds against slurmctld's job list on a timer,
 * so a hold whose job vanished (rejected after job_submit, purged, or
 * whose report never came) cannot block an account forever.
 *
 * libslurm's calls block, so the list is fetched by a short-lived thread
 * that only calls slurm_load_jobs() and copies (job id, hold token) pairs;
 * it hands them to the event loop through a pipe, and holds.c does the
 * rest on the loop's thread.  One fetch at a time.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "bankd.h"
#include "holds.h"
#include "log.h"

struct snapshot {
	struct live_job	*jobs;
	size_t		 n;
	time_t		 taken;
	int		 ok;
	char		 err[256];
};

static int		 pipefd[2] = { -1, -1 };
static struct event	*pipe_ev;
static pthread_t	 worker;
static int		 slurm_ready;

static void *
fetch(void *arg)
{
	struct snapshot *sn = arg;
	job_info_msg_t *msg = NULL;
	uint32_t i;

	sn->taken = time(NULL);
	if (slurm_load_jobs((time_t)0, &msg, SHOW_ALL) != 0) {
		snprintf(sn->err, sizeof(sn->err), "%s",
		    slurm_strerror(slurm_get_errno()));
	} else {
		sn->jobs = calloc(msg->record_count + 1, sizeof(*sn->jobs));
		for (i = 0; sn->jobs != NULL && i < msg->record_count; i++) {
			sn->jobs[sn->n].job_id = msg->job_array[i].job_id;
			sn->jobs[sn->n].token = hold_token_parse(
			    msg->job_array[i].admin_comment);
			sn->n++;
		}
		sn->ok = sn->jobs != NULL;
		slurm_free_job_info_msg(msg);
	}
	if (write(pipefd[1], &sn, sizeof(sn)) != sizeof(sn))
		_exit(70);	/* the loop can never learn of us: give up */
	return NULL;
}

static void
on_snapshot(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;
	struct snapshot *sn;

	(void)what;
	if (read(fd, &sn, sizeof(sn)) != sizeof(sn))
		return;
	pthread_join(worker, NULL);
	bd->reconcile_busy = 0;
	if (sn->ok)
		holds_reconcile(bd->holds, sn->jobs, sn->n, sn->taken,
		    bd->conf.hold_grace_s);
	else
		log_warn("holds: cannot list slurmctld's jobs (%s); holds kept "
		    "until the next try", sn->err);
	free(sn->jobs);
	free(sn);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bankd *bd = arg;
	struct snapshot *sn;

	(void)fd;
	(void)what;
	if (bd->reconcile_busy || holds_count(bd->holds) == 0)
		return;
	if ((sn = calloc(1, sizeof(*sn))) == NULL)
		return;
	if (pthread_create(&worker, NULL, fetch, sn) != 0) {
		log_err("holds: cannot start the reconciliation thread");
		free(sn);
		return;
	}
	bd->reconcile_busy = 1;
}

/* libslurm exits the process when it finds no slurm.conf: look first. */
static int
slurm_conf_present(void)
{
	const char *p = getenv("SLURM_CONF");
	struct stat st;

	return stat(p ? p : "/etc/slurm/slurm.conf", &st) == 0;
}

int
reconcile_start(struct bankd *bd)
{
	struct timeval tv = { bd->conf.reconcile_s, 0 };

	if (!bd->conf.holds_enabled || bd->conf.reconcile_s == 0)
		return 0;
	if (!slurm_conf_present()) {
		log_warn("holds: no slurm.conf here (SLURM_CONF): holds are "
		    "not reconciled with slurmctld's jobs");
		return 0;
	}
	slurm_init(NULL);
	slurm_ready = 1;
	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		log_err("holds: pipe: %s", strerror(errno));
		return -1;
	}
	pipe_ev = event_new(bd->base, pipefd[0], EV_READ | EV_PERSIST,
	    on_snapshot, bd);
	bd->reconcile = event_new(bd->base, -1, EV_PERSIST, on_timer, bd);
	if (pipe_ev == NULL || bd->reconcile == NULL ||
	    event_add(pipe_ev, NULL) != 0 || event_add(bd->reconcile, &tv)
	    != 0) {
		log_err("holds: cannot schedule reconciliation");
		return -1;
	}
	return 0;
}

void
reconcile_stop(struct bankd *bd)
{
	struct snapshot *sn;

	if (bd->reconcile_busy &&
	    read(pipefd[0], &sn, sizeof(sn)) == sizeof(sn)) {
		/* Blocking, once, at exit: the thread ends within its RPC. */
		pthread_join(worker, NULL);
		free(sn->jobs);
		free(sn);
		bd->reconcile_busy = 0;
	}
	if (pipe_ev != NULL)
		event_free(pipe_ev);
	if (bd->reconcile != NULL)
		event_free(bd->reconcile);
	pipe_ev = NULL;
	bd->reconcile = NULL;
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	pipefd[0] = pipefd[1] = -1;
	if (slurm_ready)
		slurm_fini();
	slurm_ready = 0;
}
