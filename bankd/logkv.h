/*
 * logkv.h - one log line as key=value pairs (logfmt): a value with a
 * space, '=', a quote or a backslash is written in double quotes with
 * \" and \\ escaped, an empty one as "", and a control character as
 * '?', so that a name from a user or a message from the API can neither
 * forge a pair nor a line.  A line that does not fit is cut at a pair's
 * end (or a value's, closed with ...") and stays parseable.
 */
#ifndef LOGKV_H
#define LOGKV_H

#include <stddef.h>
#include <stdint.h>

#define LOGKV_LEN	2000

struct logkv {
	size_t		 len;
	int		 cut;		/* something did not fit */
	char		 buf[LOGKV_LEN + 1];
};

void		 logkv_init(struct logkv *);
/* key=val; val NULL: the pair is left out. */
void		 logkv_str(struct logkv *, const char *key, const char *val);
void		 logkv_u64(struct logkv *, const char *key, uint64_t);
void		 logkv_i64(struct logkv *, const char *key, int64_t);
/* Cents as SU, "12.34" (money.h's form). */
void		 logkv_money(struct logkv *, const char *key, int64_t cents);
void		 logkv_fmt(struct logkv *, const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* The pairs so far, NUL-terminated. */
const char	*logkv_line(const struct logkv *);

#endif /* LOGKV_H */
