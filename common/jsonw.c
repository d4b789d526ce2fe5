/*
 * jsonw.c - a small JSON writer (see jsonw.h).  A string is measured
 * first and then escaped in one pass into room made once: a report body
 * is tens of kilobytes, and the queue escapes it again into its journal
 * record.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

void
jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
	w->first = 1;
}

void
jsonw_reset(struct jsonw *w)
{
	w->len = 0;
	w->nomem = 0;
	w->first = 1;
	if (w->p != NULL)
		w->p[0] = '\0';
}

void
jsonw_free(struct jsonw *w)
{
	free(w->p);
	jsonw_init(w);
}

int
jsonw_ok(const struct jsonw *w)
{
	return !w->nomem;
}

char *
jsonw_take(struct jsonw *w)
{
	char *p = w->nomem ? NULL : w->p;

	if (p == NULL && !w->nomem)
		p = strdup("");
	if (w->nomem)
		free(w->p);
	jsonw_init(w);
	return p;
}

/* Room for n more bytes and a NUL; NULL (and nomem) if there is none. */
static char *
room(struct jsonw *w, size_t n)
{
	size_t cap;
	char *p;

	if (w->nomem)
		return NULL;
	if (w->len + n + 1 > w->cap) {
		cap = (w->len + n + 1) * 2;
		if ((p = realloc(w->p, cap)) == NULL) {
			w->nomem = 1;
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	return w->p + w->len;
}

void
jsonw_raw(struct jsonw *w, const char *s, size_t n)
{
	char *p;

	if ((p = room(w, n)) == NULL)
		return;
	memcpy(p, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

void
jsonw_lit(struct jsonw *w, const char *s)
{
	jsonw_raw(w, s, strlen(s));
}

/* What c becomes inside a JSON string: its escape's length, 1 if none. */
static size_t
escaped_len(unsigned char c)
{
	if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' ||
	    c == '\r' || c == '\t')
		return 2;
	return c < 0x20 ? 6 : 1;
}

static char *
put_escape(char *p, unsigned char c)
{
	static const char hex[] = "0123456789ABCDEF";

	*p++ = '\\';
	switch (c) {
	case '"': case '\\': *p++ = (char)c; break;
	case '\b': *p++ = 'b'; break;
	case '\f': *p++ = 'f'; break;
	case '\n': *p++ = 'n'; break;
	case '\r': *p++ = 'r'; break;
	case '\t': *p++ = 't'; break;
	default:
		memcpy(p, "u00", 3);
		p[3] = hex[c >> 4];
		p[4] = hex[c & 0xf];
		p += 5;
	}
	return p;
}

void
jsonw_str(struct jsonw *w, const char *s)
{
	size_t n = strlen(s), need = 2, i;
	unsigned char c;
	char *p;

	for (i = 0; i < n; i++)
		need += escaped_len((unsigned char)s[i]);
	if ((p = room(w, need)) == NULL)
		return;
	*p++ = '"';
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (escaped_len(c) == 1)
			*p++ = (char)c;
		else
			p = put_escape(p, c);
	}
	*p++ = '"';
	*p = '\0';
	w->len += need;
}

void
jsonw_int(struct jsonw *w, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%" PRId64, v);

	jsonw_raw(w, buf, (size_t)n);
}

/* jansson's: no '+' and no leading 0s in the exponent. */
void
jsonw_real(struct jsonw *w, double v)
{
	char buf[40], *start, *end;

	snprintf(buf, sizeof(buf) - 2, "%.8g", v);
	if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL)
		strcat(buf, ".0");
	if ((start = strchr(buf, 'e')) != NULL) {
		end = ++start + 1;
		if (*start == '-')
			start++;
		while (*end == '0')
			end++;
		memmove(start, end, strlen(end) + 1);
	}
	jsonw_lit(w, buf);
}

void
jsonw_begin(struct jsonw *w)
{
	jsonw_raw(w, "{", 1);
	w->first = 1;
}

void
jsonw_key(struct jsonw *w, const char *key)
{
	if (!w->first)
		jsonw_raw(w, ",", 1);
	w->first = 0;
	jsonw_str(w, key);
	jsonw_raw(w, ":", 1);
}

void
jsonw_end(struct jsonw *w)
{
	jsonw_raw(w, "}", 1);
}
