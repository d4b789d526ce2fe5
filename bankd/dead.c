/*
 * dead.c - the names of the dead-letter causes (dead.h), as the journal
 * and bankctl write them.
 */
#include <stddef.h>
#include <string.h>

#include "dead.h"

static const char *const names[DEAD_NCAUSES] = {
	[DEAD_REFUSED] = "refused",
	[DEAD_REUSED_ID] = "reused_id",
	[DEAD_RANGE] = "out_of_range",
	[DEAD_UNREADABLE] = "unreadable",
};

const char *
dead_cause_name(enum dead_cause c)
{
	return (unsigned)c < DEAD_NCAUSES ? names[c] : "refused";
}

int
dead_cause_parse(const char *s, enum dead_cause *c)
{
	unsigned i;

	for (i = 0; s != NULL && i < DEAD_NCAUSES; i++)
		if (strcmp(s, names[i]) == 0) {
			*c = (enum dead_cause)i;
			return 0;
		}
	return -1;
}
