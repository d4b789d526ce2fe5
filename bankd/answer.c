/*
 * answer.c - the API's answers, decoded (see answer.h).
 */
#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "lim.h"
#include "money.h"
#include "utf8.h"

/*
 * The API's words, for a user's screen and bankd's log: cut on a
 * character's boundary, control characters shown as '?'.
 */
static void
words(const char *s, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, o = 0;
	uint32_t c;

	while (*p != '\0') {
		if ((n = utf8_decode(p, &c)) == 0)
			n = 1, c = '?';
		if (o + n >= len)
			break;
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) {
			out[o++] = '?';
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
}

/* "12.50" at p (the sentence's final period is not part of it). */
static int
amount_at(const char *p, int64_t *cents)
{
	char num[32];
	const char *why;
	size_t n = strspn(p, "0123456789.");

	while (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, p, n);
	num[n] = '\0';
	return money_parse(num, 2, cents, &why);
}

/*
 * "Adding job_cost C to account balance B would exceed account allocation
 * A." (or "user balance ... user allocation"): which limit, and the room
 * it had left, A - B (0 when already past it).
 */
static void
refusal(struct check_answer *a, const char *msg)
{
	const char *b, *al;
	int64_t bal, alloc;

	a->room = -1;
	if (strstr(msg, "exceed user allocation") != NULL)
		a->limit = LIMIT_USER;
	else if (strstr(msg, "exceed account allocation") != NULL)
		a->limit = LIMIT_ACCOUNT;
	else {
		a->limit = LIMIT_NONE;
		return;
	}
	if ((b = strstr(msg, " balance ")) != NULL &&
	    (al = strstr(msg, " allocation ")) != NULL &&
	    amount_at(b + 9, &bal) == 0 && amount_at(al + 12, &alloc) == 0)
		a->room = alloc > bal ? alloc - bal : 0;
}

void
answer_check(long status, const char *body, size_t len,
    struct check_answer *a)
{
	json_t *j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *ok = json_object_get(j, "success");
	json_t *msg = json_object_get(j, "message");

	memset(a, 0, sizeof(*a));
	a->room = -1;
	a->kind = ANSWER_UNUSABLE;
	if ((status == 200 || status == 400) && json_is_boolean(ok) &&
	    json_is_string(msg)) {
		words(json_string_value(msg), a->message, sizeof(a->message));
		if (status == 400)
			a->kind = ANSWER_UNKNOWN;
		else if (json_is_true(ok))
			a->kind = ANSWER_PASS;
		else {
			a->kind = ANSWER_REFUSED;
			refusal(a, json_string_value(msg));
		}
	}
	json_decref(j);
}

int
answer_partition(const json_t *item, const char **name, int64_t *micro,
    const char **why)
{
	const json_t *v = json_object_get(item, "su_per_core_hour");
	char digits[32];
	const char *num;

	*name = json_string_value(json_object_get(item, "name"));
	if (*name == NULL || **name == '\0') {
		*why = "no name";
		return -1;
	}
	if (strlen(*name) > LIM_PARTITION_LEN || !utf8_printable(*name) ||
	    strpbrk(*name, ",: ") != NULL) {
		*why = "its name is not a partition name bankd takes";
		return -1;
	}
	/* Parsed whole: a copy cut short could read as another price. */
	if (json_is_string(v))
		num = json_string_value(v);
	else if (json_is_integer(v)) {
		snprintf(digits, sizeof(digits), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		num = digits;
	} else {
		*why = v == NULL ? "su_per_core_hour is missing" :
		    "su_per_core_hour is not a decimal string";
		return -1;
	}
	return money_parse(num, MONEY_PRICE_SCALE, micro, why);
}
