/*
 * listjobs.c - `bankd --list-jobs`: the reconciler's child (reconcile.c
 * spawns it).  It lists slurmctld's jobs with libslurm, writes each job
 * id with the hold token of its AdminComment to stdout as joblist.h's
 * stream, and exits.  libslurm 22.05's slurm_load_jobs() leaks about 50
 * bytes per job listed per call (docs/reliability.md); here the leak
 * dies with the process.  It reads no bank.yaml, opens no socket and
 * touches no journal.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <slurm/slurm.h>

#include "bankd.h"
#include "holds.h"
#include "joblist.h"

/* libslurm exits the process when it finds no slurm.conf: look first. */
int
listjobs_slurm_conf_present(void)
{
	const char *p = getenv("SLURM_CONF");
	struct stat st;

	return stat(p ? p : "/etc/slurm/slurm.conf", &st) == 0;
}

static int
put(const uint8_t *p, size_t len)
{
	return fwrite(p, 1, len, stdout) == len ? 0 : -1;
}

static int
put_error(const char *msg)
{
	uint8_t rec[2 + JOBLIST_ERR_MAX];

	return put(rec, joblist_put_error(rec, msg));
}

static int
put_jobs(const job_info_msg_t *msg)
{
	uint8_t rec[JOBLIST_JOB_LEN];
	uint32_t i;

	if (msg->record_count > JOBLIST_MAX_JOBS)
		return put_error("more jobs than bankd takes");
	for (i = 0; i < msg->record_count; i++)
		if (put(rec, joblist_put_job(rec, msg->job_array[i].job_id,
		    hold_token_parse(msg->job_array[i].admin_comment))) != 0)
			return -1;
	return put(rec, joblist_put_end(rec, msg->record_count));
}

int
listjobs_main(void)
{
	uint8_t head[JOBLIST_HEADER_LEN];
	job_info_msg_t *msg = NULL;
	int rc;

	if (put(head, joblist_put_header(head)) != 0)
		_exit(1);
	if (!listjobs_slurm_conf_present())
		rc = put_error("no slurm.conf (SLURM_CONF)");
	else {
		slurm_init(NULL);
		if (slurm_load_jobs((time_t)0, &msg, SHOW_ALL) != 0)
			rc = put_error(slurm_strerror(slurm_get_errno()));
		else {
			rc = put_jobs(msg);
			slurm_free_job_info_msg(msg);
		}
	}
	if (fflush(stdout) != 0)
		rc = -1;
	/*
	 * _exit: the OS takes back what libslurm leaked, and no atexit
	 * handler (LeakSanitizer's in a sanitizer build) reports it.
	 */
	_exit(rc == 0 ? 0 : 1);
}
