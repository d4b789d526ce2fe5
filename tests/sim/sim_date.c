/*
 * sim_date.c: RFC 3339 timestamps as Unix seconds.
 *
 * Accepts what DRF's DateTimeField does in practice: a 'T' or space,
 * optional seconds, optional fraction, and Z or a +HH:MM offset.  A
 * time without a zone is taken as UTC (the server's TIME_ZONE).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sim_bank.h"

/* Read exactly n digits. */
static int
digits(const char **pp, int n, int *out)
{
	const char	*p = *pp;
	int		 v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p++ - '0');
	}
	*pp = p;
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
mdays(int y, int m)
{
	static const int	 dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

/* Parse the zone suffix into an offset in seconds east of UTC. */
static int
zone(const char *p, int *off)
{
	int	hh, mm, sign;

	*off = 0;
	if (*p == '\0' || ((*p == 'Z' || *p == 'z') && p[1] == '\0'))
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, &hh) == -1)
		return -1;
	if (*p == ':')
		p++;
	if (digits(&p, 2, &mm) == -1 || *p != '\0' || hh > 23 || mm > 59)
		return -1;
	*off = sign * (hh * 3600 + mm * 60);
	return 0;
}

int
sim_date_parse(const char *s, int64_t *out)
{
	const char	*p = s;
	int		 y, mo, d, h, mi, sec = 0, off;

	if (digits(&p, 4, &y) == -1 || *p++ != '-' ||
	    digits(&p, 2, &mo) == -1 || *p++ != '-' ||
	    digits(&p, 2, &d) == -1 || (*p != 'T' && *p != 't' && *p != ' '))
		return -1;
	p++;
	if (digits(&p, 2, &h) == -1 || *p++ != ':' ||
	    digits(&p, 2, &mi) == -1)
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &sec) == -1)
			return -1;
		if (*p == '.' || *p == ',') {
			/* Fractions are accepted and dropped. */
			if (!isdigit((unsigned char)*++p))
				return -1;
			while (isdigit((unsigned char)*p))
				p++;
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > mdays(y, mo) || h > 23 ||
	    mi > 59 || sec > 59 || zone(p, &off) == -1)
		return -1;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    off;
	return 0;
}

void
sim_date_fmt(int64_t t, char *buf, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "invalid");
}
