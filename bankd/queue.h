/*
 * queue.h - the report queue's insides, shared by the files that make it
 * and included by no other (deliver.h is its face):
 *
 *	deliver.c	taking reports, the operator's view and actions, open
 *			and close
 *	qentry.c	the entries: per-job order, lookups, what is durable,
 *			changes journaled
 *	qsend.c		sending, and what each answer does: retries, dead
 *			letters, replacement of a start that failed, outages
 *	qstore.c	the journal as a whole: replay at open, compaction
 *	qrun.c		a job's charge so far, run by run (requeued jobs)
 *
 * and beneath them, each knowing nothing of the others: qsched.c (when
 * an entry goes), qrec.c (its records), commit.c (group commit) and
 * portal_report.c (what the portal's answer means).
 *
 * Every live report is an entry on `all` (acceptance order) and on its
 * job's slot (that job's reports, in order).  Only the first entry of a
 * slot may be sent.  A sendable entry waits in the scheduler: ready (due
 * now) or in its heap (until its next try).
 */
#ifndef QUEUE_H
#define QUEUE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "commit.h"
#include "deliver.h"
#include "idmap.h"
#include "journal.h"
#include "jsonw.h"
#include "names.h"
#include "portal_report.h"
#include "qrec.h"
#include "qsched.h"

enum estate { E_QUEUED, E_SENDING, E_DEAD };

struct jobslot;

/*
 * What scheduling needs, and no more: the body stays in the journal, at
 * `pos`, and is read back when it is sent, shown or compacted.
 */
struct entry {
	TAILQ_ENTRY(entry)	 all_link;
	TAILQ_ENTRY(entry)	 job_link;
	TAILQ_ENTRY(entry)	 sync_link;	/* on unsynced, until durable */
	struct qsched_node	 sn;		/* sn.due_ms: its next try */
	struct jobslot		*slot;
	const char		*account;	/* interned in dq->names */
	char			*last_error;	/* NULL until a try fails */
	uint64_t		 seq;
	uint64_t		 hold;		/* the job's hold token */
	uint64_t		 sent_tick;	/* report.h; QENTRY_UNSENT */
	int64_t			 cents;
	int64_t			 accepted;
	uint64_t		 pos;		/* of its add record */
	uint32_t		 rec_bytes;	/* the add record's size */
	uint32_t		 job_id;
	uint32_t		 uid;
	uint32_t		 attempts;
	uint32_t		 run;		/* a completion's Slurm run */
	uint8_t			 run_known;	/* 0: from an older journal */
	uint8_t			 kind;		/* enum report_kind */
	uint8_t			 state;		/* enum estate */
	uint8_t			 durable;	/* its add record is on disk */
	uint8_t			 nodes_apart;	/* the record keeps a hostlist */
	uint8_t			 verified;	/* the portal's id is this job's */
	uint8_t			 cause;		/* enum dead_cause, when dead */
};

/* Not sent by this process yet (a replayed entry has 0: maybe it was). */
#define QENTRY_UNSENT	UINT64_MAX

#define ENTRY_OF(n)	((struct entry *)(void *)((char *)(n) - \
			    offsetof(struct entry, sn)))

TAILQ_HEAD(entryq, entry);

struct jobslot {
	uint32_t		 job_id;
	struct entryq		 q;
};

/* An entry on its way to the portal (at most max_inflight of them). */
struct sending {
	TAILQ_ENTRY(sending)	 link;
	struct portal_report	 r;		/* r.arg is this */
	struct deliver		*dq;
	struct entry		*e;
};

/* What the seen map tells of a job (its values; never 0). */
#define SEEN_START	1	/* a start of the job is durable */
#define SEEN_END	2	/* a completion of the job was taken */
#define SEEN_POSTED	4	/* its start was delivered: the id is ours */

struct deliver {
	struct deliver_hooks	 hooks;
	size_t			 max_inflight;
	int64_t			 retry_max_ms;
	struct journal		*jr;
	struct commit		*commit;
	struct qsched		 sched;
	struct entryq		 all;
	struct idmap		 seqs;
	struct idmap		 jobs;
	struct idmap		 seen;		/* job -> SEEN_* | time << 4 */
	struct idmap		 seen_hold;	/* job -> its reports' hold */
	long			 seen_bytes;	/* its records in the journal */
	struct idmap		 runs;		/* job -> struct qrun (qrun.c) */
	int			 last_run;	/* requeue_charge: last_run */
	int			 node_fail_free;
	struct entryq		 unsynced;	/* not durable yet, by position */
	size_t			 nunsynced;
	TAILQ_HEAD(, sending)	 sendings;
	struct event		*timer;
	struct names		 names;		/* account names */
	struct jsonw		 w;		/* add records are made in it */
	int64_t			 compact_after;	/* ms; 0: any time */
	uint64_t		 next_seq;
	size_t			 len;
	size_t			 inflight;
	size_t			 dead;
	long			 live_bytes;
	uint64_t		 delivered;
	uint64_t		 retries;
	int			 paused;
	int			 auth_blocked;
	/* An outage: since when, how many tries failed, why (the first). */
	time_t			 down_since;
	uint64_t		 down_fails;
	char			 down_why[256];
};

/* qentry.c */
struct entry	*qentry_new(struct deliver *, uint64_t seq,
		    const struct report *, int durable);
/* Forget an entry (delivered, replaced or dropped); wake its successor. */
void		 qentry_remove(struct deliver *, struct entry *);
/* Where the first entry of a job is sent from, once durable and queued. */
void		 qentry_schedule(struct deliver *, struct entry *);
void		 qentry_unschedule(struct deliver *, struct entry *);
/* A commit went to disk: what it covers is durable, and may be sent. */
void		 qentry_settle(struct deliver *);
void		 qentry_set_error(struct entry *, const char *why);
const char	*qentry_error(const struct entry *);
const char	*qentry_kind(const struct entry *);
void		 qentry_seen_set(struct deliver *, uint32_t job_id,
		    uintptr_t flag);
/* The same, as of t (a replayed report's acceptance). */
void		 qentry_seen_mark(struct deliver *, uint32_t job_id,
		    uintptr_t flag, int64_t t);
uintptr_t	 qentry_seen(const struct deliver *, uint32_t job_id);
/* When the job's first report, or its last completion, was taken; 0. */
int64_t		 qentry_seen_time(const struct deliver *, uint32_t job_id);
/*
 * The hold token the job's last taken report carried (0: none, or not
 * known): which hold its delivery ends, whatever the wall clock did.
 */
void		 qentry_seen_hold_set(struct deliver *, uint32_t job_id,
		    uint64_t token);
uint64_t	 qentry_seen_hold(const struct deliver *, uint32_t job_id);
/* A seen record replayed: the job's start was delivered at t. */
void		 qentry_seen_replay(struct deliver *, const struct qrec_seen *,
		    uint32_t size);
/* Compaction: a seen record for each start delivered lately (qentry.c). */
int		 qentry_seen_emit(struct journal *, struct deliver *);
/* Journal a change of e: done, drop, retry or dead (with error). */
void		 qentry_journal(struct deliver *, enum qrec_op,
		    const struct entry *, const char *error);
/* e becomes a dead letter, journaled with its cause. */
void		 qentry_dead(struct deliver *, struct entry *, enum dead_cause,
		    const char *why);
/* e's body from the journal (qrec_body). */
int		 qentry_body(struct deliver *, const struct entry *, int expand,
		    char **body, char *err, size_t errlen);
struct qrec_at	 qentry_at(const struct entry *);

/* qsend.c */
/* Send what may go now; sleep until the next retry is due. */
void		 qsend_kick(struct deliver *);
/* The API answers again: every report waiting out its backoff is due. */
void		 qsend_came_back(struct deliver *);
/* Closing: the sends in flight are abandoned with the API. */
void		 qsend_abandon(struct deliver *);

/* qrun.c */
enum qrun_verdict {
	QRUN_OK,		/* *total: the job's cumulative charge */
	QRUN_OLDER,		/* a run before one already completed */
	QRUN_REUSED,		/* the same run of another submission */
};
const struct qrec_run *qrun_get(const struct deliver *, uint32_t job_id);
/* What completion r (its own cost in r->cents) charges the job. */
enum qrun_verdict qrun_price(const struct deliver *, const struct report *,
		    int64_t *total, int64_t *before);
/* Journal r (its cumulative cents) as the job's figures; 0 or -1. */
int		 qrun_record(struct deliver *, const struct report *,
		    int64_t before);
void		 qrun_replay(struct deliver *, const struct qrec_run *,
		    uint32_t size);
int		 qrun_emit(struct journal *, struct deliver *);
void		 qrun_expire(struct deliver *);
/* A completion delivered: what the portal held for the job before it. */
int64_t		 qrun_delivered(struct deliver *, const struct entry *);
void		 qrun_free(struct deliver *);

/* qstore.c */
void		 qstore_replay(json_t *rec, uint64_t pos, uint32_t size,
		    void *dq);
int		 qstore_compact(struct deliver *);
void		 qstore_maybe_compact(struct deliver *);

#endif /* QUEUE_H */
