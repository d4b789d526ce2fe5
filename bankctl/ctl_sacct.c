/*
 * ctl_sacct.c - sacct run and read (ctl_sacct.h).  A line is split on
 * '|' (sacct --parsable2: no trailing one) into exactly
 * CTL_SACCT_NFIELDS fields, and each is decoded by its own rule: digits
 * within lim.h, names of a name's characters and length, times as epoch
 * digits or sacct's local ISO form.  Nothing is taken on trust, nothing
 * is mended: a line either decodes whole or is refused.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_sacct.h"
#include "money.h"
#include "monotime.h"

/* One field: its bytes, not NUL-terminated. */
struct fld {
	const char	*p;
	size_t		 n;
};

/* Digits only, at most max: 0, or -1. */
static int
digits(const struct fld *f, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (f->n == 0 || f->n > 20)
		return -1;
	for (i = 0; i < f->n; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(f->p[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(f->p[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/* A name (account, partition, QoS): [A-Za-z0-9_.-], at most max. */
static int
name(const struct fld *f, size_t max, char *out)
{
	size_t i;

	if (f->n > max)
		return -1;
	for (i = 0; i < f->n; i++)
		if (!is_name_char(f->p[i]))
			return -1;
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	return 0;
}

/* Printable ASCII without spaces (a hostlist, a TRES list), at most max. */
static int
token(const struct fld *f, size_t max, char *out)
{
	size_t i;

	if (f->n > max)
		return -1;
	for (i = 0; i < f->n; i++)
		if (f->p[i] <= ' ' || f->p[i] > '~')
			return -1;
	memcpy(out, f->p, f->n);
	out[f->n] = '\0';
	return 0;
}

static int
is(const struct fld *f, const char *s)
{
	return f->n == strlen(s) && memcmp(f->p, s, f->n) == 0;
}

/* "YYYY-MM-DDTHH:MM[:SS]" (n bytes) in local time: 0, or -1. */
static int
local_iso(const char *s, size_t n, int64_t *t)
{
	char buf[32], tail;
	int y, mo, d, h = 0, mi = 0, sec = 0, k;
	struct tm tm;
	time_t v;

	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strspn(buf, "0123456789-T:") != n)
		return -1;
	k = sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi,
	    &sec, &tail);
	if (!(k == 3 && n == 10) && !(k == 5 && n == 16) &&
	    !(k == 6 && n == 19))
		return -1;
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
	    h > 23 || mi > 59 || sec > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1;
	if ((v = mktime(&tm)) == (time_t)-1 || v < 0)
		return -1;
	*t = (int64_t)v;
	return 0;
}

/* A time: epoch digits, or local ISO; "Unknown", "None": 0. */
static int
when(const struct fld *f, int64_t *t)
{
	uint64_t v;

	*t = 0;
	if (is(f, "Unknown") || is(f, "None") || f->n == 0)
		return 0;
	if (digits(f, (uint64_t)LIM_DATE, &v) == 0) {
		*t = (int64_t)v;
		return 0;
	}
	return local_iso(f->p, f->n, t);
}

/* [D-][HH:]MM:SS, as sacct prints Suspended, in seconds. */
static int
duration(const struct fld *f, int64_t *secs)
{
	uint64_t part[4] = { 0, 0, 0, 0 }, days = 0, v;
	struct fld x = *f;
	const char *dash = memchr(f->p, '-', f->n), *colon;
	size_t np = 0;

	if (dash != NULL) {
		struct fld d = { f->p, (size_t)(dash - f->p) };

		if (digits(&d, 100000, &days) != 0)
			return -1;
		x.p = dash + 1;
		x.n = f->n - d.n - 1;
	}
	while (np < 3) {
		struct fld p = x;

		colon = memchr(x.p, ':', x.n);
		if (colon != NULL)
			p.n = (size_t)(colon - x.p);
		if (digits(&p, 59, &v) != 0 && !(np == 0 && digits(&p, 100000,
		    &v) == 0))
			return -1;
		part[np++] = v;
		if (colon == NULL)
			break;
		x.p = colon + 1;
		x.n -= p.n + 1;
	}
	if (colon != NULL || np < 2)
		return -1;
	v = np == 3 ? part[0] * 3600 + part[1] * 60 + part[2] :
	    part[0] * 60 + part[1];
	*secs = (int64_t)(days * 86400 + v);
	return 0;
}

/* The state's first word ("CANCELLED by 1000"): [A-Z_]. */
static int
state(const struct fld *f, char *out)
{
	size_t n = 0;

	while (n < f->n && f->p[n] != ' ')
		n++;
	if (n == 0 || n > CTL_SACCT_STATE_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!((f->p[i] >= 'A' && f->p[i] <= 'Z') || f->p[i] == '_'))
			return -1;
	memcpy(out, f->p, n);
	out[n] = '\0';
	return 0;
}

static int
split(const char *line, size_t n, struct fld *f)
{
	size_t k = 0, i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && line[i] != '|')
			continue;
		if (k == CTL_SACCT_NFIELDS)
			return -1;
		f[k].p = line + start;
		f[k].n = i - start;
		k++;
		start = i + 1;
	}
	return k == CTL_SACCT_NFIELDS ? 0 : -1;
}

enum {
	F_JOB, F_UID, F_ACCOUNT, F_PARTITION, F_QOS, F_STATE, F_CPUS, F_NODES,
	F_NNODES, F_REQNODES, F_SUBMIT, F_START, F_END, F_SUSPENDED,
	F_TIMELIMIT, F_TRES,
};

static const char *const field_names[CTL_SACCT_NFIELDS] = {
	"JobIDRaw", "UID", "Account", "Partition", "QOS", "State",
	"AllocCPUS", "NodeList", "NNodes", "ReqNodes", "Submit", "Start",
	"End", "Suspended", "TimelimitRaw", "AllocTRES",
};

static int
counts(const struct fld *f, struct ctl_sacct_job *j)
{
	uint64_t v;

	if (digits(&f[F_JOB], LIM_JOB_ID, &v) != 0 || v == 0)
		return F_JOB;
	j->job_id = (uint32_t)v;
	if (digits(&f[F_UID], LIM_UID, &v) != 0)
		return F_UID;
	j->uid = (uint32_t)v;
	if (digits(&f[F_CPUS], LIM_COUNT, &v) != 0)
		return F_CPUS;
	j->cpus = (uint32_t)v;
	if (digits(&f[F_NNODES], LIM_COUNT, &v) != 0)
		return F_NNODES;
	j->num_nodes = (uint32_t)v;
	if (digits(&f[F_REQNODES], LIM_COUNT, &v) != 0)
		return F_REQNODES;
	j->req_nodes = (uint32_t)v;
	/* A number of minutes; "UNLIMITED", "Partition_Limit": none. */
	if (digits(&f[F_TIMELIMIT], LIM_MINUTES, &v) == 0) {
		j->has_time_limit = 1;
		j->time_limit = (uint32_t)v;
	} else if (!is(&f[F_TIMELIMIT], "UNLIMITED") &&
	    !is(&f[F_TIMELIMIT], "Partition_Limit") && f[F_TIMELIMIT].n != 0)
		return F_TIMELIMIT;
	return -1;
}

static int
texts(const struct fld *f, struct ctl_sacct_job *j)
{
	if (name(&f[F_ACCOUNT], LIM_ACCOUNT_LEN, j->account) != 0)
		return F_ACCOUNT;
	if (name(&f[F_PARTITION], LIM_PARTITION_LEN, j->partition) != 0)
		return F_PARTITION;
	if (name(&f[F_QOS], LIM_QOS_LEN, j->qos) != 0)
		return F_QOS;
	if (state(&f[F_STATE], j->state) != 0)
		return F_STATE;
	if (is(&f[F_NODES], "None assigned"))
		j->nodes[0] = '\0';
	else if (token(&f[F_NODES], CTL_SACCT_NODES_MAX, j->nodes) != 0)
		return F_NODES;
	if (token(&f[F_TRES], CTL_SACCT_TRES_MAX, j->tres) != 0)
		return F_TRES;
	return -1;
}

static int
times(const struct fld *f, struct ctl_sacct_job *j)
{
	if (when(&f[F_SUBMIT], &j->submit) != 0)
		return F_SUBMIT;
	if (when(&f[F_START], &j->start) != 0)
		return F_START;
	if (when(&f[F_END], &j->end) != 0)
		return F_END;
	if (j->end != 0 && j->start != 0 && j->end < j->start)
		return F_END;
	if (duration(&f[F_SUSPENDED], &j->suspended) != 0)
		return F_SUSPENDED;
	return -1;
}

int
ctl_sacct_line(const char *line, size_t n, struct ctl_sacct_job *j,
    char *why, size_t len)
{
	struct fld f[CTL_SACCT_NFIELDS];
	int bad;

	memset(j, 0, sizeof(*j));
	if (n >= CTL_SACCT_LINE_MAX) {
		snprintf(why, len, "longer than %d bytes", CTL_SACCT_LINE_MAX);
		return -1;
	}
	if (memchr(line, '\0', n) != NULL) {
		snprintf(why, len, "holds a NUL byte");
		return -1;
	}
	if (split(line, n, f) != 0) {
		snprintf(why, len, "not %d fields separated by '|' (sacct "
		    "--parsable2 --format=%s)", CTL_SACCT_NFIELDS,
		    CTL_SACCT_FORMAT);
		return -1;
	}
	if ((bad = counts(f, j)) < 0 && (bad = texts(f, j)) < 0 &&
	    (bad = times(f, j)) < 0)
		return 0;
	snprintf(why, len, "field %d (%s) is not one", bad + 1,
	    field_names[bad]);
	return -1;
}

int
ctl_sacct_date(const char *s, int64_t *t)
{
	return local_iso(s, strlen(s), t);
}

int
ctl_sacct_qos_line(const char *line, size_t n, char *qname, size_t namelen,
    uint64_t *micro)
{
	const char *bar = memchr(line, '|', n), *why;
	char num[32];
	int64_t v;
	struct fld f;

	if (bar == NULL || namelen == 0)
		return -1;
	f.p = line;
	f.n = (size_t)(bar - line);
	if (f.n == 0 || f.n >= namelen || f.n > LIM_QOS_LEN ||
	    name(&f, namelen - 1, qname) != 0)
		return -1;
	f.p = bar + 1;
	f.n = n - f.n - 1;
	if (f.n == 0 || f.n >= sizeof(num) || memchr(f.p, '|', f.n) != NULL)
		return -1;
	memcpy(num, f.p, f.n);
	num[f.n] = '\0';
	if (money_parse(num, 6, &v, &why) != 0 || v < 0 ||
	    (uint64_t)v > LIM_USAGE_FACTOR_MICRO)
		return -1;
	*micro = (uint64_t)v;
	return 0;
}

/* ---- running it ----------------------------------------------------- */

static void
child(char *const argv[], int fds[2])
{
	int null = open("/dev/null", O_RDONLY);

	if (null >= 0)
		dup2(null, STDIN_FILENO);
	dup2(fds[1], STDOUT_FILENO);
	close(fds[0]);
	close(fds[1]);
	setenv("SLURM_TIME_FORMAT", "%s", 1);
	execvp(argv[0], argv);
	fprintf(stderr, "bankctl: cannot run %s: %s\n", argv[0],
	    strerror(errno));
	_exit(127);
}

/* Read fd into a growing buffer until EOF, the deadline or max. */
static int
slurp(int fd, int64_t until, size_t max, char **out, size_t *outlen,
    char *why, size_t len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1), *nb;
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t r;
	int left;

	if (buf == NULL)
		return snprintf(why, len, "out of memory"), -1;
	for (;;) {
		if ((left = (int)(until - monotime_ms())) <= 0) {
			snprintf(why, len, "no end of output within the "
			    "deadline");
			break;
		}
		if ((r = poll(&pfd, 1, left)) < 0 && errno != EINTR) {
			snprintf(why, len, "poll: %s", strerror(errno));
			break;
		}
		if (r <= 0)
			continue;	/* the deadline is checked above */
		if (n == cap) {
			if (cap >= max) {
				snprintf(why, len, "more than %zu bytes of "
				    "output", max);
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				snprintf(why, len, "out of memory");
				break;
			}
			buf = nb;
		}
		if ((r = read(fd, buf + n, cap - n)) == 0) {
			buf[n] = '\0';
			*out = buf;
			*outlen = n;
			return 0;
		}
		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			snprintf(why, len, "read: %s", strerror(errno));
			break;
		}
		if (r > 0)
			n += (size_t)r;
	}
	free(buf);
	return -1;
}

int
ctl_sacct_run(char *const argv[], int deadline_ms, size_t max, char **out,
    size_t *outlen, char *why, size_t len)
{
	int fds[2], status, rc;
	pid_t pid;

	if (pipe(fds) != 0)
		return snprintf(why, len, "pipe: %s", strerror(errno)), -1;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return snprintf(why, len, "fork: %s", strerror(errno)), -1;
	}
	if (pid == 0)
		child(argv, fds);
	close(fds[1]);
	rc = slurp(fds[0], monotime_ms() + deadline_ms, max, out, outlen, why,
	    len);
	close(fds[0]);
	if (rc != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		snprintf(why, len, "exited with status %d", WIFEXITED(status) ?
		    WEXITSTATUS(status) : 128 + WTERMSIG(status));
		free(*out);
		*out = NULL;
		rc = -1;
	}
	return rc;
}
