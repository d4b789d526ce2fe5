/*
 * ctl_out.c - print what bankd says, safely.  Account and partition
 * names, errors from the API and report bodies come from users and the
 * network: printed raw, an ESC sequence could recolour the screen, set
 * the window title, hide a line or fake another; a byte of invalid UTF-8
 * could break a JSON reader.  Every value bankctl prints goes through
 * ctl_put() (tables, messages) or ctl_json() (--json).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "utf8.h"

/*
 * Characters that are not text: C0, DEL and C1 controls (a terminal acts
 * on them), bidirectional formatting (it reorders what is shown) and the
 * line and paragraph separators.
 */
static int
not_text(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e ||
	    c == 0x200f || (c >= 0x2028 && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

/* Write s escaped to fp (NULL: only count); the characters written. */
static size_t
put_escaped(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t w = 0;
	uint32_t c;
	int n;

	while (*p != '\0') {
		if ((n = (int)utf8_decode(p, &c)) == 0 || c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			n = 1;
		} else if (not_text(c))
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
		else if (c == '\\')
			snprintf(esc, sizeof(esc), "\\\\");
		else
			esc[0] = '\0';
		if (esc[0] != '\0') {
			w += strlen(esc);
			if (fp != NULL)
				fputs(esc, fp);
		} else {
			w++;
			if (fp != NULL)
				fwrite(p, 1, (size_t)n, fp);
		}
		p += n;
	}
	return w;
}

static void
pad(FILE *fp, size_t n)
{
	while (n-- > 0)
		putc(' ', fp);
}

size_t
ctl_width(const char *s)
{
	return put_escaped(NULL, s);
}

void
ctl_put(FILE *fp, const char *s, int width)
{
	size_t w = width < 0 ? (size_t)-(long)width : (size_t)width;
	size_t have = w != 0 ? put_escaped(NULL, s) : 0;

	if (width < 0 && have < w)
		pad(fp, w - have);
	put_escaped(fp, s);
	if (width > 0 && have < w)
		pad(fp, w - have);
}

void
ctl_json(FILE *fp, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	int n;

	putc('"', fp);
	while (*p != '\0') {
		if ((n = (int)utf8_decode(p, &c)) == 0) {
			fprintf(fp, "\\udc%02x", *p);
			n = 1;
		} else if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", (char)c);
		else if (not_text(c))
			fprintf(fp, "\\u%04x", (unsigned)c);
		else
			fwrite(p, 1, (size_t)n, fp);
		p += n;
	}
	putc('"', fp);
}

void
ctl_complain(const char *what, const char *value, const char *why)
{
	fprintf(stderr, "bankctl: %s '", what);
	ctl_put(stderr, value, 0);
	fprintf(stderr, "': %s\n", why);
}
