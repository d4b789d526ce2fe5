/*
 * names.h - one shared copy of each distinct name (account names of
 * queued reports): 100,000 reports of a dozen accounts then hold a dozen
 * strings, not 100,000.  Copies live until names_free(): the set of
 * accounts a cluster reports is small and stable.
 */
#ifndef NAMES_H
#define NAMES_H

#include <stddef.h>

struct names {
	char		**slots;	/* open addressing; NULL: empty */
	size_t		  cap;		/* power of two */
	size_t		  len;
};

int		 names_init(struct names *);
void		 names_free(struct names *);
/* The shared copy of s, made on first use; NULL when out of memory. */
const char	*names_get(struct names *, const char *s);

#endif /* NAMES_H */
