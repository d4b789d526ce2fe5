/*
 * dead.h - why a report is a dead letter, as a type: what the operator
 * must do differs (mend and `bankctl retry`, or charge by hand and
 * `bankctl drop`), and scripts and tests ask it of `bankctl queue --json`
 * ("cause") rather than of the words of the error.
 */
#ifndef DEAD_H
#define DEAD_H

enum dead_cause {
	DEAD_REFUSED,		/* the portal refused it; its error says why */
	DEAD_REUSED_ID,		/* the portal holds another job under its id */
	DEAD_RANGE,		/* an amount beyond what the API takes */
	DEAD_UNREADABLE,	/* its body is damaged in the journal */
};
#define DEAD_NCAUSES	4

/* "refused", "reused_id", "out_of_range", "unreadable". */
const char	*dead_cause_name(enum dead_cause);
/* The cause of a name dead_cause_name() gave; 0, or -1 if none. */
int		 dead_cause_parse(const char *, enum dead_cause *);

#endif /* DEAD_H */
