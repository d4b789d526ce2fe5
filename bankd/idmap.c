/*
 * idmap.c - open-addressing hash map, u64 -> pointer.
 */
#include <stdlib.h>

#include "idmap.h"

static size_t
slot_of(const struct idmap *m, uint64_t id)
{
	id ^= id >> 33;
	id *= UINT64_C(0xff51afd7ed558ccd);
	id ^= id >> 33;
	return (size_t)id & (m->cap - 1);
}

int
idmap_init(struct idmap *m)
{
	m->cap = 64;
	m->len = 0;
	m->slots = calloc(m->cap, sizeof(*m->slots));
	return m->slots ? 0 : -1;
}

void
idmap_free(struct idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

void *
idmap_get(const struct idmap *m, uint64_t id)
{
	size_t i;

	for (i = slot_of(m, id); m->slots[i].val != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->slots[i].id == id)
			return m->slots[i].val;
	return NULL;
}

static int
grow(struct idmap *m)
{
	struct idmap old = *m;
	size_t i;

	m->cap *= 2;
	m->len = 0;
	if ((m->slots = calloc(m->cap, sizeof(*m->slots))) == NULL) {
		*m = old;
		return -1;
	}
	for (i = 0; i < old.cap; i++)
		if (old.slots[i].val != NULL)
			idmap_put(m, old.slots[i].id, old.slots[i].val);
	free(old.slots);
	return 0;
}

int
idmap_put(struct idmap *m, uint64_t id, void *val)
{
	size_t i;

	if (val == NULL)	/* NULL marks an empty slot */
		return -1;
	if ((m->len + 1) * 4 > m->cap * 3 && grow(m) != 0)
		return -1;
	for (i = slot_of(m, id); m->slots[i].val != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].id == id) {
			m->slots[i].val = val;
			return 0;
		}
	}
	m->slots[i].id = id;
	m->slots[i].val = val;
	m->len++;
	return 0;
}

void *
idmap_del(struct idmap *m, uint64_t id)
{
	size_t i, j, k;
	void *val;

	for (i = slot_of(m, id); m->slots[i].val != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->slots[i].id == id)
			break;
	if ((val = m->slots[i].val) == NULL)
		return NULL;
	/* Shift later members of the probe run back over the hole. */
	for (j = (i + 1) & (m->cap - 1); m->slots[j].val != NULL;
	    j = (j + 1) & (m->cap - 1)) {
		k = slot_of(m, m->slots[j].id);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].val = NULL;
	m->slots[i].id = 0;
	m->len--;
	return val;
}
