/*
 * ctl_parse.c - bankctl's arguments: strict forms, bounded by lim.h.
 * Nothing is cut, wrapped or guessed: a value that does not fit is
 * refused with the form that would be taken.
 */
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "lim.h"

/* Digits at s into *v, *end after them: 0; -1 none; -2 more than max. */
static int
digits(const char *s, uint64_t max, uint64_t *v, const char **end)
{
	uint64_t n = 0, d;
	const char *p;
	int over = 0;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		d = (uint64_t)(*p - '0');
		if (over || d > max || n > (max - d) / 10)
			over = 1;
		else
			n = n * 10 + d;
	}
	*end = p;
	*v = n;
	return p == s ? -1 : over ? -2 : 0;
}

int
ctl_count_at(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    const char **end)
{
	uint64_t v;

	if (digits(s, max, &v, end) != 0 || v < min)
		return -1;
	*out = v;
	return 0;
}

int
ctl_count(const char *s, uint64_t min, uint64_t max, uint64_t *out,
    char *why, size_t len)
{
	const char *end;
	uint64_t v;

	if (ctl_count_at(s, min, max, &v, &end) != 0 || *end != '\0') {
		snprintf(why, len, "not a whole number from %" PRIu64 " to %"
		    PRIu64, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

#define TIME_FORMS	"M, M:S, H:M:S, D-H, D-H:M or D-H:M:S"

/*
 * Slurm's time_str2secs() weighs each field and adds them: it takes
 * minutes or seconds above 59 ("1:90:00" is 150 minutes) and so does
 * this, so bankctl prices what sbatch -t would ask.  Unlike Slurm's (int
 * arithmetic, which wraps past 24855 days), the sum cannot overflow: a
 * field that alone exceeds the limit, even counted in seconds, is refused
 * before anything is added.  An empty field is refused, "1-" too (which
 * Slurm reads as a day).
 */
int
ctl_time(const char *s, uint32_t *minutes, char *why, size_t len)
{
	static const uint64_t dash_w[] = { 86400, 3600, 60, 1 };
	static const uint64_t w[3][3] = { { 60 }, { 60, 1 }, { 3600, 60, 1 } };
	const uint64_t max_s = (uint64_t)LIM_MINUTES * 60;
	uint64_t f[4], secs = 0;
	const char *p = s, *end;
	size_t n = 0, i;
	int dash = 0, over = 0, rc;

	if (strcmp(s, "-1") == 0 || strcasecmp(s, "INFINITE") == 0 ||
	    strcasecmp(s, "UNLIMITED") == 0) {
		*minutes = 0;
		return 0;
	}
	for (;;) {
		if ((rc = digits(p, max_s, &f[n], &end)) == -1)
			goto form;
		over |= rc == -2;
		n++;
		p = end;
		if (*p == '\0')
			break;
		if (*p == '-' && n == 1 && !dash)
			dash = 1;
		else if (*p != ':' || n == (dash ? 4u : 3u))
			goto form;
		p++;
	}
	if (dash && n < 2)
		goto form;
	if (over)
		goto big;
	for (i = 0; i < n; i++)	/* each term < 2^38 x 86400 < 2^55 */
		secs += f[i] * (dash ? dash_w[i] : w[n - 1][i]);
	if ((secs + 59) / 60 > LIM_MINUTES)
		goto big;
	*minutes = (uint32_t)((secs + 59) / 60);
	return 0;
form:
	snprintf(why, len, "not a time limit (" TIME_FORMS ", or 0 or "
	    "UNLIMITED for none)");
	return -1;
big:
	snprintf(why, len, "longer than %" PRIu32 " minutes, the longest "
	    "Slurm time limit", LIM_MINUTES);
	return -1;
}

/*
 * Slurm's str_to_mbytes(): MiB, or K (rounded up), M, G or T, either
 * case, optionally followed by B.  Stricter in one way: digits only, no
 * sign or space, which strtoll would take.
 */
int
ctl_mem(const char *s, uint64_t *mib, char *why, size_t len)
{
	const char *end;
	uint64_t v, unit = 1;
	int k = 0, rc;

	if ((rc = digits(s, UINT64_MAX, &v, &end)) == -1)
		goto form;
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': k = 1; break;
	case 'm': case 'M': break;
	case 'g': case 'G': unit = 1024; break;
	case 't': case 'T': unit = UINT64_C(1024) * 1024; break;
	default: goto form;
	}
	if (*end != '\0' && end[1] != '\0' && ((end[1] != 'b' &&
	    end[1] != 'B') || end[2] != '\0'))
		goto form;
	if (rc == -2)
		goto big;
	if (k)
		v = v / 1024 + (v % 1024 != 0);
	if (v > LIM_MEM_MB / unit)
		goto big;
	*mib = v * unit;
	return 0;
form:
	snprintf(why, len, "not a memory size (MiB, or a number with K, M, G "
	    "or T)");
	return -1;
big:
	snprintf(why, len, "more than %" PRIu64 " MiB, the most Slurm can "
	    "ask", (uint64_t)LIM_MEM_MB);
	return -1;
}

int
ctl_uid(const char *s, uint32_t *uid, char *why, size_t len)
{
	struct passwd *pw;
	uint64_t v;

	if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") ==
	    strlen(s)) {
		if (ctl_count(s, 0, LIM_UID, &v, why, len) != 0) {
			snprintf(why, len, "not a uid from 0 to %" PRIu32,
			    LIM_UID);
			return -1;
		}
		*uid = (uint32_t)v;
		return 0;
	}
	if (*s == '\0' || (pw = getpwnam(s)) == NULL ||
	    (uint64_t)pw->pw_uid > LIM_UID) {
		snprintf(why, len, "no such user (a user name, or a uid "
		    "from 0 to %" PRIu32 ")", LIM_UID);
		return -1;
	}
	*uid = (uint32_t)pw->pw_uid;
	return 0;
}

int
ctl_name(const char *s, size_t max, char *why, size_t len)
{
	if (*s == '\0')
		snprintf(why, len, "an empty name");
	else if (strlen(s) > max)
		snprintf(why, len, "a name longer than %zu bytes", max);
	else if (strchr(s, '\n') != NULL)	/* it would end the field */
		snprintf(why, len, "a name with a newline");
	else
		return 0;
	return -1;
}
int
ctl_name_arg(const char *opt, const char *s, size_t max)
{
	char why[WHY_LEN];

	if (ctl_name(s, max, why, sizeof(why)) != 0) {
		ctl_complain(opt, s, why);
		return -1;
	}
	return 0;
}

