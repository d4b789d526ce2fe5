/*
 * intake.c - take in the spool: reports the plugins wrote to files while
 * bankd could not be reached.  At start and then every few seconds, each
 * file (oldest first) goes through the same path as a report from the
 * socket and is deleted once the report is in the journal.  A file that
 * is not a report from root or the SlurmUser is set aside as .bad.<name>
 * with the reason logged; nothing is deleted unread.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accept.h"
#include "bankd.h"
#include "counters.h"
#include "fields.h"
#include "intake.h"
#include "log.h"
#include "req.h"

#define INTAKE_INTERVAL_S	2
#define INTAKE_BATCH		1000

struct intake {
	struct event	*ev;
	size_t		 inflight;	/* files of this pass not answered */
	size_t		 later;		/* this pass: stay for the next */
	char		 why[128];	/* the first "later"'s reason */
};

struct spooled {
	struct bankd	*bd;
	char		 path[4096];
};

static void
set_aside(struct bankd *bd, const char *path, const char *why)
{
	char bad[4096];
	const char *base = strrchr(path, '/');

	snprintf(bad, sizeof(bad), "%s/.bad.%s", bd->conf.spool_dir,
	    base ? base + 1 : path);
	log_err("spool: %s: %s; moved aside to %s", path, why, bad);
	counters_add(&bd->counters, CNT_SPOOL_ASIDE, 1);
	if (rename(path, bad) != 0)
		log_err("spool: cannot move %s aside: %s", path,
		    strerror(errno));
}

/* One line a pass, not one a file (a full disk, 1000 files). */
static void
stays(struct intake *in, const char *message)
{
	if (in->later++ == 0)
		snprintf(in->why, sizeof(in->why), "%s", message ? message :
		    "later");
}

static void
on_taken(void *arg, enum accept_result res, const char *message,
    const char *amount)
{
	struct spooled *sp = arg;
	struct bankd *bd = sp->bd;
	struct intake *in = bd->intake;

	(void)amount;
	in->inflight--;
	/* `spool` in bankctl status: the files still there. */
	if (res != ACCEPT_LATER)
		counters_sub(&bd->counters, CNT_SPOOL_FILES, 1);
	switch (res) {
	case ACCEPT_OK:
	case ACCEPT_DUP:
		if (unlink(sp->path) != 0)
			log_err("spool: cannot remove %s: %s", sp->path,
			    strerror(errno));
		else {
			log_info("spool: took in %s", sp->path);
			counters_add(&bd->counters, CNT_SPOOL_TAKEN, 1);
		}
		break;
	case ACCEPT_LATER:
		stays(in, message);
		break;
	case ACCEPT_ERROR:
		set_aside(bd, sp->path, message ? message : "error");
		break;
	}
	if (in->inflight == 0 && in->later > 0) {
		log_warn("spool: %zu report(s) stay for the next pass: %s",
		    in->later, in->why);
		in->later = 0;
	}
	free(sp);
}

/*
 * What a spool file must hold: one start or completion report, whole, and
 * nothing after it, whose fields pass the socket's rules (fields.c).  0,
 * or -1 with why in why[0..len).
 */
int
intake_decode(const uint8_t *buf, size_t n, struct bp_msg *m, char *why,
    size_t len)
{
	char fixed[256];
	size_t used;
	int rc;

	if ((rc = bp_parse(buf, n, m, &used)) != BP_OK) {
		snprintf(why, len, "%s", rc == BP_MORE ? "a truncated frame" :
		    bp_strerror(rc));
		return -1;
	}
	if (used != n || (m->type != BP_T_START && m->type != BP_T_END)) {
		bp_free(m);
		snprintf(why, len, "not a single start or completion report");
		return -1;
	}
	if (fields_check(m, why, len, fixed, sizeof(fixed)) != 0) {
		bp_free(m);
		return -1;
	}
	if (fixed[0] != '\0')
		log_warn("spool: field(s) %s of a %s report were not printable "
		    "UTF-8; taken with '?' for each bad byte", fixed,
		    bp_type_name(m->type));
	return 0;
}

/* Read one spool file into a message; -1 with why on failure. */
static int
read_spooled(struct bankd *bd, const char *path, struct bp_msg *m,
    char *why, size_t len)
{
	uint8_t buf[BP_HDR_LEN + BP_MAX_BODY];
	struct stat st;
	ssize_t n;
	int fd;

	/* O_NONBLOCK: a FIFO planted there must not stall the loop. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, len, "not a regular file");
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != bd->slurm_uid) {
		close(fd);
		snprintf(why, len, "not written by root or the SlurmUser");
		return -1;
	}
	if (st.st_size > (off_t)sizeof(buf)) {
		close(fd);
		snprintf(why, len, "larger than any report (%lld bytes)",
		    (long long)st.st_size);
		return -1;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -1;
	}
	return intake_decode(buf, (size_t)n, m, why, len);
}

static void
take_one(struct bankd *bd, const char *name)
{
	struct spooled *sp;
	struct bp_msg m;
	struct req rq;
	char why[256];

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return;
	sp->bd = bd;
	snprintf(sp->path, sizeof(sp->path), "%s/%s", bd->conf.spool_dir,
	    name);
	if (read_spooled(bd, sp->path, &m, why, sizeof(why)) != 0) {
		set_aside(bd, sp->path, why);
		free(sp);
		return;
	}
	bd->intake->inflight++;
	req_decode(&m, &rq);
	accept_report(bd, &rq.u.report, on_taken, sp);
	bp_free(&m);
}

static int
visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void
intake_scan(struct bankd *bd)
{
	struct dirent **names;
	int i, n;

	/* One pass at a time: files of a pass vanish as they are journaled. */
	if (bd->intake->inflight > 0)
		return;
	if ((n = scandir(bd->conf.spool_dir, &names, visible, alphasort)) < 0) {
		if (errno != ENOENT)
			log_err("spool %s: %s", bd->conf.spool_dir,
			    strerror(errno));
		counters_set(&bd->counters, CNT_SPOOL_FILES, 0);
		return;
	}
	counters_set(&bd->counters, CNT_SPOOL_FILES, (uint64_t)n);
	if (n > 0)
		log_info("spool: %d report(s) left while bankd was away", n);
	for (i = 0; i < n; i++) {
		if (i < INTAKE_BATCH)
			take_one(bd, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void
on_intake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	intake_scan(arg);
}

int
intake_start(struct bankd *bd)
{
	struct timeval tv = { INTAKE_INTERVAL_S, 0 };
	struct intake *in;

	if ((in = calloc(1, sizeof(*in))) == NULL) {
		log_err("spool: out of memory");
		return -1;
	}
	bd->intake = in;
	in->ev = event_new(bd->base, -1, EV_PERSIST, on_intake, bd);
	if (in->ev == NULL || event_add(in->ev, &tv) != 0) {
		log_err("spool: cannot schedule the intake");
		return -1;
	}
	intake_scan(bd);
	return 0;
}

/* No more passes; files in flight still answer (their struct stays). */
void
intake_stop(struct bankd *bd)
{
	struct intake *in = bd->intake;

	if (in != NULL && in->ev != NULL) {
		event_free(in->ev);
		in->ev = NULL;
	}
}

void
intake_free(struct bankd *bd)
{
	intake_stop(bd);
	free(bd->intake);
	bd->intake = NULL;
}
