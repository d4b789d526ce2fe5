/*
 * ctl.h - bankctl's output (ctl_out.c).  Everything bankd says is printed
 * through ctl_put() or ctl_json(), since it comes from users and the API.
 */
#ifndef CTL_H
#define CTL_H

#include <stdio.h>

/*
 * Print s for a terminal, padded to |width| characters (left-aligned if
 * width > 0, right if < 0, none if 0).  Valid UTF-8 text is printed as
 * is; a backslash is doubled; C0 controls, DEL and each byte of invalid
 * UTF-8 are shown as \xNN; C1 controls, bidirectional formatting and the
 * line and paragraph separators as \uNNNN.  So no byte of s can move the
 * cursor, change colours or titles, or hide what is shown.
 */
void	 ctl_put(FILE *, const char *s, int width);

/*
 * s as a JSON string, quotes included: " and \ escaped; controls (C0,
 * DEL, C1) and the characters ctl_put() escapes as \u00NN / \uNNNN; each
 * byte of invalid UTF-8 as \udcNN (a lone low surrogate, Python's
 * "surrogateescape": decoding with it gives the original bytes back).
 */
void	 ctl_json(FILE *, const char *s);

/* "bankctl: WHAT 'VALUE': WHY" on stderr, VALUE through ctl_put(). */
void	 ctl_complain(const char *what, const char *value, const char *why);

#endif /* CTL_H */
