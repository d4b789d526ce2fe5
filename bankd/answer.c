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

	a->room = a->balance = a->allocation = -1;
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
	    amount_at(b + 9, &bal) == 0 && amount_at(al + 12, &alloc) == 0) {
		a->room = alloc > bal ? alloc - bal : 0;
		a->balance = bal;
		a->allocation = alloc;
	}
}

void
answer_check(long status, const char *body, size_t len,
    struct check_answer *a)
{
	json_t *j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *ok = json_object_get(j, "success");
	json_t *msg = json_object_get(j, "message");

	memset(a, 0, sizeof(*a));
	a->room = a->balance = a->allocation = -1;
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

int
answer_job(const char *body, size_t len, uint32_t job_id, int64_t cents,
    char *why, size_t whylen)
{
	json_t *j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(j, "jobslurmid"));
	const char *amount = json_string_value(json_object_get(j, "amount"));
	char want_id[16], want_amount[MONEY_FMT_LEN];
	int rc = -1;

	snprintf(want_id, sizeof(want_id), "%u", (unsigned)job_id);
	money_format(cents, want_amount);
	if (!json_is_object(j))
		snprintf(why, whylen, "the answer is not the portal's JSON");
	else if (id == NULL || strcmp(id, want_id) != 0)
		snprintf(why, whylen, "the answer is not the record of job %s "
		    "(jobslurmid %.32s)", want_id, id ? id : "missing");
	else if (amount == NULL || strcmp(amount, want_amount) != 0)
		snprintf(why, whylen, "the portal recorded job %s at %.32s SU, "
		    "not the %s sent", want_id, amount ? amount : "no amount",
		    want_amount);
	else
		rc = 0;
	json_decref(j);
	return rc;
}

enum answer_token
answer_token(long status, const char *body, size_t len)
{
	json_t *j;
	const char *d;
	enum answer_token t;

	if (status == 403)
		return TOKEN_NOT_STAFF;
	if (status != 401)
		return TOKEN_OK;
	j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
	d = json_string_value(json_object_get(j, "detail"));
	t = d != NULL && strstr(d, "xpired") != NULL ? TOKEN_EXPIRED :
	    TOKEN_INVALID;
	json_decref(j);
	return t;
}

const char *
answer_token_advice(enum answer_token t)
{
	switch (t) {
	case TOKEN_EXPIRED:
		return "the API token has expired (the portal's "
		    "/api_token_auth/ tokens do): ask the portal's admins for "
		    "a token that does not expire, put it in api.token_file "
		    "and run systemctl reload bankd (docs/delivery.md)";
	case TOKEN_INVALID:
		return "the API does not know bankd's token: check "
		    "api.token_file, then systemctl reload bankd";
	case TOKEN_NOT_STAFF:
		return "the API token may read but not write (it is not a "
		    "staff user's): reports cannot be delivered until "
		    "api.token_file holds a staff token (systemctl reload "
		    "bankd)";
	case TOKEN_OK:
		break;
	}
	return "";
}
