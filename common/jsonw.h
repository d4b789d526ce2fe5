/*
 * jsonw.h - the one JSON writer for the JSON bankd writes by hand: the
 * report bodies (report.c) and the queue's journal records (qrec.c).
 * Building a json_t and dumping it was most of a report's CPU; these
 * calls write the bytes json_dumps(JSON_COMPACT) would, escapes included,
 * straight into a buffer that can be kept from one record to the next.
 *
 * Running out of memory is sticky: every later call does nothing, and
 * jsonw_ok() or jsonw_take() says so once, at the end.
 */
#ifndef JSONW_H
#define JSONW_H

#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char		*p;		/* NUL-terminated once written to */
	size_t		 len;
	size_t		 cap;
	int		 nomem;
	int		 first;		/* no member in the object yet */
};

void	 jsonw_init(struct jsonw *);
/* Empty again (and able again after nomem); the buffer is kept. */
void	 jsonw_reset(struct jsonw *);
void	 jsonw_free(struct jsonw *);
int	 jsonw_ok(const struct jsonw *);
/* The text, to free, and the writer empty; NULL when out of memory. */
char	*jsonw_take(struct jsonw *);

void	 jsonw_raw(struct jsonw *, const char *, size_t);
void	 jsonw_lit(struct jsonw *, const char *);
/* s as a JSON string, escaped as jansson does; s must be valid UTF-8. */
void	 jsonw_str(struct jsonw *, const char *s);
void	 jsonw_int(struct jsonw *, int64_t);
/* jansson's real: %.8g, always with a '.' or an 'e'. */
void	 jsonw_real(struct jsonw *, double);

/* An object: "{", then members (each jsonw_key, then its value), "}". */
void	 jsonw_begin(struct jsonw *);
void	 jsonw_key(struct jsonw *, const char *key);
void	 jsonw_end(struct jsonw *);

#endif /* JSONW_H */
