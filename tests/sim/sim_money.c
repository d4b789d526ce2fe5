/*
 * sim_money.c: exact decimal amounts as int64 cents.
 *
 * The grammar follows Python's Decimal(), which the real server uses,
 * so that the same inputs are accepted or rejected; the limits (11
 * digits, 2 places, 9 before the point) are checked by the callers in
 * the order their own server code checks them.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sim_bank.h"

#define MONEY_MAX_SIG	11
#define MONEY_MAX_PLACES 2

/* Skip the NaN/Infinity spellings Decimal() accepts. */
static int
scan_special(const char *p, size_t len, struct sim_amount *a)
{
	if ((len == 3 && strncasecmp(p, "nan", 3) == 0) ||
	    (len == 4 && strncasecmp(p, "snan", 4) == 0)) {
		a->kind = MONEY_NAN;
		return 1;
	}
	if ((len == 3 && strncasecmp(p, "inf", 3) == 0) ||
	    (len == 8 && strncasecmp(p, "infinity", 8) == 0)) {
		a->kind = MONEY_INF;
		return 1;
	}
	return 0;
}

/* An exponent is "e" or "E", an optional sign and at least one digit. */
static int
scan_exponent(const char *p, const char *end)
{
	if (p == end || (*p != 'e' && *p != 'E'))
		return 0;
	p++;
	if (p < end && (*p == '+' || *p == '-'))
		p++;
	if (p == end)
		return -1;
	for (; p < end; p++)
		if (!isdigit((unsigned char)*p))
			return -1;
	return 1;
}

/* Fill canon and cents from the digit runs [ip,ie) and [fp,fe). */
static void
scan_value(struct sim_amount *a, const char *ip, const char *ie,
    const char *fp, const char *fe)
{
	const char	*p;
	size_t		 off = 0;
	int		 i;

	while (ip < ie && *ip == '0')
		ip++;
	a->intdigits = ie - ip;
	a->places = fe - fp;
	a->sig = a->intdigits + a->places;
	if (a->intdigits == 0) {
		for (p = fp; p < fe && *p == '0'; p++)
			a->sig--;
	}
	if (a->sig < 1)
		a->sig = 1;
	if (a->neg)
		a->canon[off++] = '-';
	if (a->intdigits + a->places + 4 >= (int)sizeof(a->canon)) {
		/* Too long to show or to hold; callers reject it anyway. */
		snprintf(a->canon + off, sizeof(a->canon) - off, "%.*s...",
		    20, ip);
		return;
	}
	if (ip == ie)
		a->canon[off++] = '0';
	for (p = ip; p < ie; p++)
		a->canon[off++] = *p;
	if (fp < fe)
		a->canon[off++] = '.';
	for (p = fp; p < fe; p++)
		a->canon[off++] = *p;
	a->canon[off] = '\0';
	if (a->sig > MONEY_MAX_SIG || a->places > MONEY_MAX_PLACES)
		return;
	a->cents = 0;
	for (p = ip; p < ie; p++)
		a->cents = a->cents * 10 + (*p - '0');
	for (i = 0, p = fp; i < MONEY_MAX_PLACES; i++)
		a->cents = a->cents * 10 + (p < fe ? *p++ - '0' : 0);
}

void
sim_money_scan(const char *s, struct sim_amount *a)
{
	const char	*p, *end, *ip, *ie, *fp, *fe;

	memset(a, 0, sizeof(*a));
	a->kind = MONEY_SYNTAX;
	snprintf(a->canon, sizeof(a->canon), "%s", s);
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	p = s;
	if (p < end && (*p == '+' || *p == '-'))
		a->neg = (*p++ == '-');
	if (scan_special(p, end - p, a))
		return;
	for (ip = p; p < end && isdigit((unsigned char)*p); p++)
		;
	ie = p;
	fp = fe = p;
	if (p < end && *p == '.') {
		for (fp = ++p; p < end && isdigit((unsigned char)*p); p++)
			;
		fe = p;
	}
	if (ie == ip && fe == fp)
		return;
	if ((a->has_exp = scan_exponent(p, end)) < 0)
		return;
	if (!a->has_exp && p != end)
		return;
	a->kind = MONEY_NUMBER;
	scan_value(a, ip, ie, fp, fe);
	if (a->has_exp) {
		/* Keep the text: Python would print it in E notation. */
		snprintf(a->canon, sizeof(a->canon), "%.*s",
		    (int)(end - s), s);
	}
}

/* A plain non-negative amount within 11 digits and 2 places. */
int
sim_money_ok(const struct sim_amount *a)
{
	return a->kind == MONEY_NUMBER && !a->neg && !a->has_exp &&
	    a->sig <= MONEY_MAX_SIG && a->places <= MONEY_MAX_PLACES;
}

int
sim_money_cents(const char *s, int64_t *cents)
{
	struct sim_amount	a;

	sim_money_scan(s, &a);
	if (!sim_money_ok(&a))
		return -1;
	*cents = a.cents;
	return 0;
}

/* Always two places, as the server's DecimalFields print. */
void
sim_money_fmt(int64_t c, char *buf, size_t len)
{
	const char	*sign = "";
	uint64_t	 u;

	if (c < 0) {
		sign = "-";
		u = -(uint64_t)c;
	} else
		u = (uint64_t)c;
	snprintf(buf, len, "%s%llu.%02llu", sign,
	    (unsigned long long)(u / 100), (unsigned long long)(u % 100));
}

json_t *
sim_money_json(int64_t c)
{
	char	buf[32];

	sim_money_fmt(c, buf, sizeof(buf));
	return json_string(buf);
}
