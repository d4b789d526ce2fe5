/*
 * names.c - interned names (see names.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

#define NAMES_MIN	16

/* FNV-1a: names are short and few; any spread will do. */
static size_t
hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 0x100000001b3ull;
	}
	return (size_t)h;
}

int
names_init(struct names *n)
{
	n->len = 0;
	n->cap = NAMES_MIN;
	n->slots = calloc(n->cap, sizeof(*n->slots));
	return n->slots == NULL ? -1 : 0;
}

void
names_free(struct names *n)
{
	size_t i;

	for (i = 0; n->slots != NULL && i < n->cap; i++)
		free(n->slots[i]);
	free(n->slots);
	n->slots = NULL;
	n->cap = n->len = 0;
}

static char **
find(char **slots, size_t cap, const char *s)
{
	size_t i = hash(s) & (cap - 1);

	while (slots[i] != NULL && strcmp(slots[i], s) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Keep the table at most half full, so that probes stay short. */
static int
grow(struct names *n)
{
	size_t i, cap = n->cap * 2;
	char **slots;

	if ((slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < n->cap; i++)
		if (n->slots[i] != NULL)
			*find(slots, cap, n->slots[i]) = n->slots[i];
	free(n->slots);
	n->slots = slots;
	n->cap = cap;
	return 0;
}

const char *
names_get(struct names *n, const char *s)
{
	char **slot;

	if (n->slots == NULL)
		return NULL;
	slot = find(n->slots, n->cap, s);
	if (*slot != NULL)
		return *slot;
	if ((n->len + 1) * 2 > n->cap) {
		if (grow(n) != 0)
			return NULL;
		slot = find(n->slots, n->cap, s);
	}
	if ((*slot = strdup(s)) == NULL)
		return NULL;
	n->len++;
	return *slot;
}
