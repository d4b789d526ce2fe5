/*
 * utf8.c - UTF-8 validation (see utf8.h).
 */
#include <stdint.h>

#include "utf8.h"

size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t n, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	c &= n == 2 ? 0x1f : n == 3 ? 0x0f : 0x07;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, beyond Unicode */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

size_t
utf8_seq(const unsigned char *s)
{
	uint32_t c;

	return utf8_decode(s, &c);
}

int
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p != '\0'; p += n)
		if ((n = utf8_seq(p)) == 0)
			return 0;
	return 1;
}

int
utf8_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p != '\0'; p += n) {
		/* Printable ASCII, nearly every byte bankd sees: no decoding. */
		if (*p >= 0x20 && *p < 0x7f) {
			n = 1;
			continue;
		}
		if ((n = utf8_seq(p)) == 0 || *p < 0x20 || *p == 0x7f)
			return 0;
		/* C1 controls, U+0080 to U+009F: 0xc2 0x80..0x9f */
		if (n == 2 && p[0] == 0xc2 && p[1] < 0xa0)
			return 0;
	}
	return 1;
}
