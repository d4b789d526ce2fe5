/*
 * idmap.h - a hash map from 64-bit ids (report sequence numbers, job ids)
 * to pointers.  Open addressing with linear probing and backward-shift
 * deletion, so lookups stay O(1) with 100,000s of queued reports.
 */
#ifndef IDMAP_H
#define IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
	uint64_t	 id;
	void		*val;		/* NULL: empty */
};

struct idmap {
	struct idmap_slot *slots;
	size_t		 cap;		/* power of two */
	size_t		 len;
};

int	 idmap_init(struct idmap *);
void	 idmap_free(struct idmap *);
void	*idmap_get(const struct idmap *, uint64_t id);
/* 0, or -1 when out of memory or val is NULL (NULL marks empty slots). */
int	 idmap_put(struct idmap *, uint64_t id, void *val);
void	*idmap_del(struct idmap *, uint64_t id);

#endif /* IDMAP_H */
