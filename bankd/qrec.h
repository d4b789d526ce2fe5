/*
 * qrec.h - the report queue's journal records: how deliver.c's state is
 * written to its journal (journal.c keeps the bytes), read back and
 * replayed.  One JSON object per record:
 *
 *	{"op":"add","seq":S,"job":J,"kind":"start"|"end","cents":C,
 *	 "account":"...","body":"..."[,"nodes":"..."],"t":T,"uid":U,"hold":H}
 *	{"op":"done"|"drop"|"retry","seq":S}
 *	{"op":"dead","seq":S,"error":"..."[,"cause":"reused_id"]}
 *	{"op":"run","job":J,"run":K,"before":B,"cents":C,"submit":S,
 *	 "prev":P,"held":H,"t":T}
 *
 * An add record holds the only copy of a report's body (the queue keeps
 * where it is, not what it says); "nodes" is a hostlist kept apart from
 * a body too large to keep expanded (report.h).  A run record is what
 * the job's completions have charged so far (qrun.c): run K of job J
 * costs C on its own, B was charged for its runs before K, S is its
 * submit date as bankd sent it, P the one of the run before (the date
 * the portal holds until run K's completion arrives: Slurm moves a
 * requeued job's submit date), H what the portal held for the job
 * from the earlier runs' completions; the latest record of a job wins.
 */
#ifndef QREC_H
#define QREC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "dead.h"

#include "journal.h"
#include "jsonw.h"
#include "report.h"

enum qrec_op {
	QREC_ADD,		/* a report taken */
	QREC_DONE,		/* delivered, or replaced by its completion */
	QREC_DROP,		/* a dead letter an operator dropped */
	QREC_DEAD,		/* refused: kept with the reason */
	QREC_RETRY,		/* a dead letter an operator sent back */
	QREC_RUN,		/* a job's charge so far, by run (qrun.c) */
	QREC_SEEN,		/* a start delivered, kept through compaction */
	QREC_OTHER,		/* an op this bankd does not know: ignored */
};

struct qrec_add {
	uint64_t		 seq;
	uint32_t		 job_id;
	uint32_t		 uid;
	uint64_t		 hold;
	int64_t			 cents;
	int64_t			 accepted;	/* time(), "t" */
	enum report_kind	 kind;
	const char		*account;
	const char		*body;
	const char		*nodes;		/* NULL: none kept apart */
	uint32_t		 run;		/* a completion's, "run" */
	int			 has_run;	/* absent in an older journal */
};

/* A run record (qrun.c). */
struct qrec_run {
	uint32_t		 job_id;
	uint32_t		 run;
	int64_t			 before;	/* charged for earlier runs */
	int64_t			 cents;		/* this run's own cost */
	int64_t			 submit;
	int64_t			 prev;		/* the run before's submit, 0 */
	int64_t			 held;		/* the portal's amount before */
	int64_t			 t;		/* when it was written */
};

/* A record decoded; its strings are the json_t's. */
/*
 * A job whose start was delivered, or whose completion was taken (end):
 * a resend of it is a duplicate.
 */
struct qrec_seen {
	uint32_t		 job_id;
	int			 end;
	int64_t			 t;		/* when it was last taken */
	uint64_t		 hold;		/* its reports' hold; 0 */
};

struct qrec {
	enum qrec_op		 op;
	uint64_t		 seq;
	const char		*error;		/* QREC_DEAD; "" if none */
	enum dead_cause		 cause;		/* QREC_DEAD; refused if none */
	struct qrec_add		 add;		/* QREC_ADD */
	struct qrec_run		 run;		/* QREC_RUN */
	struct qrec_seen	 seen;		/* QREC_SEEN */
};

/* Where an add record is, and what must be found there. */
struct qrec_at {
	uint64_t		 pos;
	uint32_t		 size;		/* the whole record's */
	uint64_t		 seq;
	int			 nodes_apart;
};

const char	*qrec_op_name(enum qrec_op);

/*
 * Append an add record, written with w (its buffer is kept for the
 * next).  Its size on disk with *pos, -1 (memory, the journal) or -2: it
 * would be larger than a record may be, now and ever.
 */
long		 qrec_append_add(struct journal *, struct jsonw *,
		    const struct qrec_add *, uint64_t *pos);
/* Append an op record (error: QREC_DEAD's, else NULL); 0 or -1. */
int		 qrec_append_op(struct journal *, enum qrec_op, uint64_t seq,
		    const char *error);
/* Append a dead record with its cause (none written for "refused"). */
int		 qrec_append_dead(struct journal *, uint64_t seq,
		    enum dead_cause, const char *error);
/* Append a run record; its size, or -1. */
long		 qrec_append_run(struct journal *, const struct qrec_run *);
/* {"op":"seen","job":J,"t":T[,"end":1]}: its size, or -1. */
long		 qrec_append_seen(struct journal *, const struct qrec_seen *);
/* Compaction: the add record at `at`, copied as it is; 0 or -1 (logged). */
int		 qrec_copy(struct journal *, const struct qrec_at *,
		    uint32_t job_id, uint64_t *pos);

/*
 * The API body of the add record at `at` (to free), its node list
 * filled in when `expand` (as it is sent).  0; -1 on an I/O error (may
 * pass) or out of memory; -2 when the bytes there are not that report
 * (damage).  err says which.
 */
int		 qrec_body(struct journal *, const struct qrec_at *, int expand,
		    char **body, char *err, size_t errlen);

/*
 * A record replayed from the journal at pos: 0 with *q, or -1 (logged)
 * when it is not one bankd can have written: skipped.
 */
int		 qrec_decode(json_t *rec, uint64_t pos, struct qrec *q);

#endif /* QREC_H */
