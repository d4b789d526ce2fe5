/*
 * utf8.h - UTF-8 as JSON (and jansson) takes it: shortest forms only, no
 * surrogates, nothing past U+10FFFF.  Shared by bankd, bankctl and the
 * plugins' configuration loader.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid sequence at s (1 to 4), or 0 if there is none. */
size_t	 utf8_seq(const unsigned char *s);
/* The same, with its code point in *cp. */
size_t	 utf8_decode(const unsigned char *s, uint32_t *cp);

/* 1 when s is valid UTF-8. */
int	 utf8_valid(const char *s);

/*
 * 1 when s is valid UTF-8 without control characters (C0, DEL, C1):
 * text that is safe in a log line, a terminal and a JSON body.
 */
int	 utf8_printable(const char *s);

#endif /* UTF8_H */
