/*
 * logkv.c - key=value log lines (logkv.h has the quoting rules).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "logkv.h"
#include "money.h"

/* What "..." plus the closing quote take at the end of a cut value. */
#define CUT_TAIL	4

void
logkv_init(struct logkv *kv)
{
	kv->len = 0;
	kv->cut = 0;
	kv->buf[0] = '\0';
}

static int
needs_quotes(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	if (*p == '\0')
		return 1;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' ||
		    *p == 0x7f)
			return 1;
	return 0;
}

/* One byte of a value as written; 0 if it does not fit (room: bytes). */
static size_t
put_char(char *out, size_t room, unsigned char ch)
{
	if (ch < 0x20 || ch == 0x7f)
		ch = '?';	/* no line, pair or terminal control forged */
	if (ch == '"' || ch == '\\') {
		if (room < 2)
			return 0;
		out[0] = '\\';
		out[1] = (char)ch;
		return 2;
	}
	if (room < 1)
		return 0;
	out[0] = (char)ch;
	return 1;
}

void
logkv_str(struct logkv *kv, const char *key, const char *val)
{
	size_t klen, n, len = kv->len, end;
	int quote;

	if (val == NULL || kv->cut)
		return;
	klen = strlen(key);
	quote = needs_quotes(val);
	/* The separator, key=, and at least a quoted "..." or one byte. */
	if (len + (len > 0) + klen + 1 + (quote ? 2 + CUT_TAIL : 1) >
	    LOGKV_LEN) {
		kv->cut = 1;
		return;
	}
	if (len > 0)
		kv->buf[len++] = ' ';
	memcpy(kv->buf + len, key, klen);
	len += klen;
	kv->buf[len++] = '=';
	if (quote)
		kv->buf[len++] = '"';
	/* Quoted: room is kept for ..." ; bare: a cut makes it quoted. */
	end = LOGKV_LEN - (quote ? CUT_TAIL : 0);
	for (; *val != '\0'; val++) {
		n = put_char(kv->buf + len, end - len, (unsigned char)*val);
		if (n == 0)
			break;
		len += n;
	}
	if (*val != '\0') {
		kv->cut = 1;
		if (!quote) {
			/* A bare value never holds a space: drop it whole. */
			len = kv->len;
			kv->buf[len] = '\0';
			return;
		}
		memcpy(kv->buf + len, "...", 3);
		len += 3;
	}
	if (quote)
		kv->buf[len++] = '"';
	kv->buf[len] = '\0';
	kv->len = len;
}

void
logkv_u64(struct logkv *kv, const char *key, uint64_t v)
{
	char digits[24];
	size_t i = sizeof(digits) - 1;

	/* No printf: a decision's line is on the hot path. */
	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	logkv_str(kv, key, digits + i);
}

void
logkv_i64(struct logkv *kv, const char *key, int64_t v)
{
	char digits[24];
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t i = sizeof(digits) - 1;

	digits[i] = '\0';
	do {
		digits[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		digits[--i] = '-';
	logkv_str(kv, key, digits + i);
}

void
logkv_money(struct logkv *kv, const char *key, int64_t cents)
{
	char amount[MONEY_FMT_LEN];

	logkv_str(kv, key, money_format(cents, amount));
}

void
logkv_fmt(struct logkv *kv, const char *key, const char *fmt, ...)
{
	char val[LOGKV_LEN + 1];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	logkv_str(kv, key, val);
}

const char *
logkv_line(const struct logkv *kv)
{
	return kv->buf;
}
