/*
 * ctl_toml.c - a strict reader of the TOML subset ctl_toml.h describes.
 * The file is an administrator's, but it is read by root: every line,
 * key, string and number is bounded where it is read, and every refusal
 * names the line and what is wrong, so that nothing in it is guessed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_toml.h"
#include "utf8.h"

struct tparse {
	const char	*name;
	int		 line;
	const char	*p;		/* the line's next character */
	char		 table[TOML_KEY_MAX + 1];
	struct toml_doc	*doc;
	char		*err;
	size_t		 errlen;
};

static int	fail(struct tparse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static int
fail(struct tparse *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(t->err, t->errlen, "%s:%d: ", t->name, t->line);
	if (n < 0 || (size_t)n >= t->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(t->err + n, t->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static void
skip_ws(struct tparse *t)
{
	while (*t->p == ' ' || *t->p == '\t')
		t->p++;
}

/* After a header or a value: nothing, or a comment. */
static int
line_end(struct tparse *t, const char *after)
{
	skip_ws(t);
	if (*t->p != '\0' && *t->p != '#')
		return fail(t, "unexpected '%c' after %s", *t->p, after);
	return 0;
}

/*
 * One line into buf (newline and a CRLF's CR cut): 1, 0 at the end of
 * the file, -1 when it is too long or holds a NUL.
 */
static int
read_line(struct tparse *t, FILE *fp, char *buf)
{
	size_t n = 0;
	int c;

	while ((c = getc(fp)) != EOF && c != '\n') {
		if (c == '\0')
			return fail(t, "a NUL byte: this is not a text file");
		if (n == TOML_LINE_MAX)
			return fail(t, "line longer than %d bytes",
			    TOML_LINE_MAX);
		buf[n++] = (char)c;
	}
	if (ferror(fp))
		return fail(t, "read error");
	if (c == EOF && n == 0)
		return 0;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 1;
}

/* Valid UTF-8, and no control character but tab. */
static int
line_clean(struct tparse *t, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;
	size_t len;

	while (*u != '\0') {
		if ((len = utf8_decode(u, &cp)) == 0)
			return fail(t, "invalid UTF-8 at column %zu",
			    (size_t)((const char *)u - s) + 1);
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp < 0xa0))
			return fail(t, "control character U+%04X at column "
			    "%zu", (unsigned)cp,
			    (size_t)((const char *)u - s) + 1);
		u += len;
	}
	return 0;
}

static int
put_utf8(struct tparse *t, char *out, size_t *n, uint32_t cp)
{
	unsigned char b[4];
	size_t len, i;

	if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return fail(t, "a string holds control character U+%04X",
		    (unsigned)cp);
	if ((cp >= 0xd800 && cp < 0xe000) || cp > 0x10ffff)
		return fail(t, "\\u escape U+%04X is not a character",
		    (unsigned)cp);
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		len = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		len = 4;
	}
	if (*n + len > TOML_VALUE_MAX)
		return fail(t, "string longer than %d bytes", TOML_VALUE_MAX);
	for (i = 0; i < len; i++)
		out[(*n)++] = (char)b[i];
	return 0;
}

static int
hex_escape(struct tparse *t, int digits, uint32_t *cp)
{
	int i, c;

	*cp = 0;
	for (i = 0; i < digits; i++) {
		c = (unsigned char)t->p[i];
		if (c >= '0' && c <= '9')
			*cp = *cp << 4 | (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*cp = *cp << 4 | (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return fail(t, "\\%c needs %d hex digits",
			    digits == 4 ? 'u' : 'U', digits);
	}
	t->p += digits;
	return 0;
}

static int
basic_escape(struct tparse *t, char *out, size_t *n)
{
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	const char *e;
	uint32_t cp;
	char c = *t->p++;

	if (c == 'u' || c == 'U') {
		if (hex_escape(t, c == 'u' ? 4 : 8, &cp) != 0)
			return -1;
		return put_utf8(t, out, n, cp);
	}
	if (c == '\0' || (e = strchr(from, c)) == NULL)
		return fail(t, "unknown escape '\\%c' in a string",
		    c == '\0' ? ' ' : c);
	return put_utf8(t, out, n, (unsigned char)to[e - from]);
}

/* A "basic" or 'literal' string at t->p, into out (TOML_VALUE_MAX + 1). */
static int
parse_string(struct tparse *t, char *out)
{
	char q = *t->p;
	size_t n = 0;

	if (t->p[1] == q && t->p[2] == q)
		return fail(t, "multi-line strings (%c%c%c) are not read", q,
		    q, q);
	t->p++;
	while (*t->p != q) {
		if (*t->p == '\0')
			return fail(t, "string not terminated (a string ends "
			    "on its line)");
		if (q == '"' && *t->p == '\\') {
			t->p++;
			if (basic_escape(t, out, &n) != 0)
				return -1;
			continue;
		}
		if (*t->p == '\t' && q == '"')
			return fail(t, "a tab in a string: write it \\t");
		if (n == TOML_VALUE_MAX)
			return fail(t, "string longer than %d bytes",
			    TOML_VALUE_MAX);
		out[n++] = *t->p++;
	}
	t->p++;
	out[n] = '\0';
	return 0;
}

/* A key, or a part of a table's name: bare, "basic" or 'literal'. */
static int
parse_key(struct tparse *t, char *out)
{
	char buf[TOML_VALUE_MAX + 1];
	size_t n = 0;

	if (*t->p == '"' || *t->p == '\'') {
		if (parse_string(t, buf) != 0)
			return -1;
		if (buf[0] == '\0')
			return fail(t, "an empty quoted key");
		if (strchr(buf, '.') != NULL)
			return fail(t, "a '.' inside a quoted key or table "
			    "name is not read");
		if (strlen(buf) > TOML_KEY_MAX)
			return fail(t, "key longer than %d bytes",
			    TOML_KEY_MAX);
		memcpy(out, buf, strlen(buf) + 1);
		return 0;
	}
	while ((*t->p >= 'a' && *t->p <= 'z') || (*t->p >= 'A' &&
	    *t->p <= 'Z') || (*t->p >= '0' && *t->p <= '9') ||
	    *t->p == '_' || *t->p == '-') {
		if (n == TOML_KEY_MAX)
			return fail(t, "key longer than %d bytes",
			    TOML_KEY_MAX);
		out[n++] = *t->p++;
	}
	if (n == 0)
		return fail(t, "expected a key (letters, digits, '_', '-', or "
		    "quoted), found '%c'", *t->p == '\0' ? ' ' : *t->p);
	out[n] = '\0';
	return 0;
}

static int
parse_header(struct tparse *t)
{
	struct toml_table *tb;
	char part[TOML_KEY_MAX + 1], name[TOML_KEY_MAX + 1];
	size_t i, len = 0;

	if (t->p[1] == '[')
		return fail(t, "arrays of tables ([[...]]) are not read");
	t->p++;
	for (;;) {
		skip_ws(t);
		if (parse_key(t, part) != 0)
			return -1;
		if (len + (len > 0) + strlen(part) > TOML_KEY_MAX)
			return fail(t, "table name longer than %d bytes",
			    TOML_KEY_MAX);
		if (len > 0)
			name[len++] = '.';
		memcpy(name + len, part, strlen(part) + 1);
		len += strlen(part);
		skip_ws(t);
		if (*t->p == ']')
			break;
		if (*t->p != '.')
			return fail(t, "table header not closed with ']'");
		t->p++;
	}
	t->p++;
	if (line_end(t, "the table header") != 0)
		return -1;
	for (i = 0; i < t->doc->ntables; i++)
		if (strcmp(t->doc->tables[i].name, name) == 0)
			return fail(t, "table [%s] already defined at line %d",
			    name, t->doc->tables[i].line);
	if (t->doc->ntables == TOML_TABLES_MAX)
		return fail(t, "more than %d tables", TOML_TABLES_MAX);
	tb = reallocarray(t->doc->tables, t->doc->ntables + 1, sizeof(*tb));
	if (tb == NULL)
		return fail(t, "out of memory");
	t->doc->tables = tb;
	if ((tb[t->doc->ntables].name = strdup(name)) == NULL)
		return fail(t, "out of memory");
	tb[t->doc->ntables++].line = t->line;
	memcpy(t->table, name, len + 1);
	return 0;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)? ; the text is kept, never converted. */
static int
parse_number(struct tparse *t, struct toml_kv *kv)
{
	const char *s = t->p, *d;
	size_t n = strspn(s, "0123456789abcdefABCDEFxXoOiInN_.+-:TZ");

	if (n > TOML_NUMBER_MAX)
		return fail(t, "number longer than %d characters",
		    TOML_NUMBER_MAX);
	if ((kv->text = strndup(s, n)) == NULL)
		return fail(t, "out of memory");
	t->p += n;
	d = kv->text + (kv->text[0] == '-');
	if (strspn(d, "0123456789") == 0 || (d[0] == '0' &&
	    d[1] >= '0' && d[1] <= '9'))
		goto bad;
	d += strspn(d, "0123456789");
	if (*d == '.') {
		if (strspn(d + 1, "0123456789") == 0)
			goto bad;
		d += 1 + strspn(d + 1, "0123456789");
	}
	if (*d != '\0')
		goto bad;
	kv->kind = TOML_NUMBER;
	return 0;
bad:
	if (strpbrk(kv->text, "eE") != NULL && strpbrk(kv->text, "xX") == NULL)
		return fail(t, "number '%s': exponents are not read; write "
		    "the decimal out (1e3 is 1000)", kv->text);
	return fail(t, "number '%s' is not a plain decimal (digits, then "
	    "optionally '.' and digits; no '+', '_', exponent, hex, octal, "
	    "binary, inf, nan, date or time)", kv->text);
}

static int
parse_array(struct tparse *t, struct toml_kv *kv)
{
	char buf[TOML_VALUE_MAX + 1], **it;

	kv->kind = TOML_ARRAY;
	t->p++;
	for (;;) {
		skip_ws(t);
		if (*t->p == ']')
			break;
		if (*t->p == '\0' || *t->p == '#')
			return fail(t, "array not closed on its line "
			    "(multi-line arrays are not read)");
		if (*t->p != '"' && *t->p != '\'')
			return fail(t, "arrays hold strings only here");
		if (kv->nitems == TOML_ITEMS_MAX)
			return fail(t, "more than %d strings in an array",
			    TOML_ITEMS_MAX);
		if (parse_string(t, buf) != 0)
			return -1;
		it = reallocarray(kv->items, kv->nitems + 1, sizeof(*it));
		if (it == NULL)
			return fail(t, "out of memory");
		kv->items = it;
		if ((it[kv->nitems] = strdup(buf)) == NULL)
			return fail(t, "out of memory");
		kv->nitems++;
		skip_ws(t);
		if (*t->p == ',')
			t->p++;
		else if (*t->p != ']')
			return fail(t, "expected ',' or ']' in the array");
	}
	t->p++;
	return 0;
}

static int
parse_value(struct tparse *t, struct toml_kv *kv)
{
	char buf[TOML_VALUE_MAX + 1];
	const char *c = t->p;

	if (*c == '"' || *c == '\'') {
		kv->kind = TOML_STRING;
		if (parse_string(t, buf) != 0)
			return -1;
		return (kv->text = strdup(buf)) == NULL ?
		    fail(t, "out of memory") : 0;
	}
	if (*c == '[')
		return parse_array(t, kv);
	if (*c == '{')
		return fail(t, "inline tables ({...}) are not read");
	if (strncmp(c, "true", 4) == 0 || strncmp(c, "false", 5) == 0) {
		kv->kind = TOML_BOOL;
		t->p += *c == 't' ? 4 : 5;
		return (kv->text = strdup(*c == 't' ? "true" : "false")) ==
		    NULL ? fail(t, "out of memory") : 0;
	}
	if ((*c >= '0' && *c <= '9') || *c == '-' || *c == '+' || *c == '.' ||
	    strncmp(c, "inf", 3) == 0 || strncmp(c, "nan", 3) == 0)
		return parse_number(t, kv);
	if (*c == '\0' || *c == '#')
		return fail(t, "a key without a value");
	return fail(t, "a value must be a string, a number, true, false or "
	    "an array of strings (found '%c')", *c);
}

static int
parse_kv(struct tparse *t)
{
	struct toml_doc *d = t->doc;
	struct toml_kv kv, *nkv;
	char key[TOML_KEY_MAX + 1];
	size_t i;

	memset(&kv, 0, sizeof(kv));
	if (parse_key(t, key) != 0)
		return -1;
	skip_ws(t);
	if (*t->p == '.')
		return fail(t, "dotted keys (%s.x = ...) are not read: use a "
		    "[table]", key);
	if (*t->p != '=')
		return fail(t, "expected '=' after key '%s'", key);
	t->p++;
	skip_ws(t);
	for (i = 0; i < d->nkv; i++)
		if (strcmp(d->kv[i].key, key) == 0 &&
		    strcmp(d->kv[i].table, t->table) == 0)
			return fail(t, "key '%s' already set at line %d", key,
			    d->kv[i].line);
	if (d->nkv == TOML_KEYS_MAX)
		return fail(t, "more than %d keys", TOML_KEYS_MAX);
	if ((nkv = reallocarray(d->kv, d->nkv + 1, sizeof(*nkv))) == NULL)
		return fail(t, "out of memory");
	d->kv = nkv;
	nkv = &d->kv[d->nkv];
	*nkv = kv;
	nkv->line = t->line;
	/* Counted first: toml_free() frees what was parsed. */
	d->nkv++;
	if ((nkv->key = strdup(key)) == NULL ||
	    (nkv->table = strdup(t->table)) == NULL)
		return fail(t, "out of memory");
	if (parse_value(t, nkv) != 0)
		return -1;
	return line_end(t, "the value");
}

int
toml_read(FILE *fp, const char *name, struct toml_doc *doc, char *err,
    size_t errlen)
{
	struct tparse t;
	char *buf;
	int rc = 0;

	memset(doc, 0, sizeof(*doc));
	memset(&t, 0, sizeof(t));
	t.name = name;
	t.doc = doc;
	t.err = err;
	t.errlen = errlen;
	if ((buf = malloc(TOML_LINE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	for (;;) {
		t.line++;
		if ((rc = read_line(&t, fp, buf)) <= 0)
			break;
		if (t.line > TOML_LINES_MAX) {
			rc = fail(&t, "more than %d lines", TOML_LINES_MAX);
			break;
		}
		if ((rc = line_clean(&t, buf)) != 0)
			break;
		t.p = buf;
		skip_ws(&t);
		if (*t.p == '\0' || *t.p == '#')
			continue;
		rc = *t.p == '[' ? parse_header(&t) : parse_kv(&t);
		if (rc != 0)
			break;
	}
	free(buf);
	if (rc != 0) {
		toml_free(doc);
		return -1;
	}
	return 0;
}

void
toml_free(struct toml_doc *doc)
{
	size_t i, j;

	for (i = 0; i < doc->nkv; i++) {
		free(doc->kv[i].table);
		free(doc->kv[i].key);
		free(doc->kv[i].text);
		for (j = 0; j < doc->kv[i].nitems; j++)
			free(doc->kv[i].items[j]);
		free(doc->kv[i].items);
	}
	free(doc->kv);
	for (i = 0; i < doc->ntables; i++)
		free(doc->tables[i].name);
	free(doc->tables);
	memset(doc, 0, sizeof(*doc));
}
