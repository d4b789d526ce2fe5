/*
 * money.c - exact decimal arithmetic for prices and charges.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bankproto.h"
#include "money.h"

int
money_parse(const char *s, int scale, int64_t *out, const char **why)
{
	int64_t v = 0;
	int places = -1, digits = 0;
	const char *p;

	*why = NULL;
	if (s == NULL || *s == '\0') {
		*why = "empty amount";
		return -1;
	}
	for (p = s; *p != '\0'; p++) {
		if (*p == '.' && places < 0) {
			places = 0;
			continue;
		}
		if (*p < '0' || *p > '9') {
			*why = "not a non-negative decimal number";
			return -1;
		}
		if (places >= 0 && ++places > scale) {
			*why = "too many decimal places";
			return -1;
		}
		if (v > (INT64_MAX - 9) / 10) {
			*why = "amount too large";
			return -1;
		}
		v = v * 10 + (*p - '0');
		digits++;
	}
	if (digits == 0) {
		*why = "not a non-negative decimal number";
		return -1;
	}
	for (places = places < 0 ? 0 : places; places < scale; places++) {
		if (v > INT64_MAX / 10) {
			*why = "amount too large";
			return -1;
		}
		v *= 10;
	}
	*out = v;
	return 0;
}

char *
money_format(int64_t cents, char buf[MONEY_FMT_LEN])
{
	uint64_t a = cents < 0 ? -(uint64_t)cents : (uint64_t)cents;
	char *p = buf;

	/* Every decision formats a few amounts: no printf here. */
	if (cents < 0)
		*p++ = '-';
	bp_u64toa(a / 100, p);
	p += strlen(p);
	*p++ = '.';
	*p++ = (char)('0' + a % 100 / 10);
	*p++ = (char)('0' + a % 10);
	*p = '\0';
	return buf;
}

char *
money_format_price(int64_t micro, char buf[MONEY_FMT_LEN])
{
	size_t n;

	snprintf(buf, MONEY_FMT_LEN, "%" PRId64 ".%06" PRId64,
	    micro / 1000000, micro % 1000000);
	n = strlen(buf);
	while (buf[n - 1] == '0')
		buf[--n] = '\0';
	if (buf[n - 1] == '.')
		buf[n - 1] = '\0';
	return buf;
}

int64_t
money_cost(int64_t price_micro, uint64_t cpus, uint64_t seconds)
{
	/* micro-SU * CPU * s -> cents: divide by 3600 s/h * 10^4 micro/cent */
	const unsigned __int128 den = (unsigned __int128)3600 * 10000;
	unsigned __int128 num, cents;

	if (price_micro <= 0 || cpus == 0 || seconds == 0)
		return 0;
	num = (unsigned __int128)price_micro * cpus;
	if (num > ~(unsigned __int128)0 / seconds)
		return INT64_MAX;
	num *= seconds;
	cents = (num + den / 2) / den;
	return cents > INT64_MAX ? INT64_MAX : (int64_t)cents;
}
