/*
 * relayq.h - a relay's queue of reports: what it took in (from its
 * socket and its spool) and has not yet seen journaled by a controller.
 *
 * Its own journal, `relay` in state_dir (journal.c, group commit with
 * commit.c, as the controller's queue), records:
 *
 *	{"op":"add","seq":S,"job":J,"run":R,"kind":"start"|"end","t":T,
 *	 "frame":{the request's fields}}
 *	{"op":"done","seq":S}		the upstream said ok or dup
 *	{"op":"dead","seq":S,"error":E}	the upstream said error
 *	{"op":"retry","seq":S}		an operator: a dead letter goes again
 *
 * replayed at open; compacted (journal_rewrite) when most of the file is
 * reports long done.  A report is taken once its "add" is durable (the
 * sender is told then), and offered to the forwarder only then, in the
 * order taken: seq order.
 */
#ifndef RELAYQ_H
#define RELAYQ_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "bankproto.h"
#include "req.h"

/* Reports a relay holds at most; past it, "later" (the sender spools). */
#define RELAYQ_MAX		100000

enum relayq_state {
	RQ_PENDING,		/* to send (once durable) */
	RQ_INFLIGHT,		/* sent, its answer awaited */
	RQ_DEAD,		/* refused upstream: an operator's to look at */
};

struct relayq_entry {
	TAILQ_ENTRY(relayq_entry) link;	/* in its state's list, seq order */
	uint64_t		 seq;
	uint32_t		 job;
	uint32_t		 run;
	enum report_kind	 kind;
	time_t			 t;		/* taken */
	char			*frame;		/* its fields, as JSON text */
	enum relayq_state	 state;
	uint64_t		 end;		/* its "add" record ends here */
	unsigned		 attempts;
	uint64_t		 gen;		/* the forwarder's, when sent */
	char			*error;		/* dead: the upstream's message */
};

TAILQ_HEAD(relayq_list, relayq_entry);

struct relayq;

enum relayq_take {
	RQT_QUEUED,		/* answered once durable */
	RQT_DUP,		/* the same report is held: answered dup */
	RQT_LATER,		/* full, no memory, the journal refused */
	RQT_TOO_BIG,		/* a record larger than the journal takes */
	RQT_NO_JOB,		/* no job_id: no report the controller takes */
};

/* The sender's answer: ok 1 once durable, 0 if the commit failed. */
typedef void	 (*relayq_ack_fn)(void *arg, int ok);

struct relayq_hooks {
	void	(*durable)(void *arg);	/* reports may be sendable now */
	void	*arg;
};

struct relayq	*relayq_open(struct event_base *, const char *dir, int fsync,
		    const struct relayq_hooks *, char *err, size_t errlen);
/* Whatever waits is committed and answered first. */
void		 relayq_close(struct relayq *);

/*
 * m: a START or END checked by fields.c; its fields (but cred and
 * peer_*) are kept.  fn is called once: at once (RQT_DUP after the
 * repeated one is durable; else never for a result but RQT_QUEUED) or
 * when the record is durable.
 */
enum relayq_take relayq_take(struct relayq *, const struct bp_msg *m,
		    relayq_ack_fn, void *arg);

/* The oldest pending report whose record is durable, or NULL. */
struct relayq_entry *relayq_next(struct relayq *);
void		 relayq_sent(struct relayq *, struct relayq_entry *,
		    uint64_t gen);
/* Back to pending, in seq order: an attempt that failed. */
void		 relayq_unsend(struct relayq *, struct relayq_entry *);
/* Every entry in flight of generation gen goes back (gen 0: all). */
size_t		 relayq_unsend_gen(struct relayq *, uint64_t gen);
size_t		 relayq_inflight(const struct relayq *);
struct relayq_entry *relayq_find(struct relayq *, uint64_t seq);
/* The upstream has it (ok, dup): forgotten, e freed. */
void		 relayq_done(struct relayq *, struct relayq_entry *);
/* The upstream refused it: kept as a dead letter with why. */
void		 relayq_dead(struct relayq *, struct relayq_entry *,
		    const char *why);
/* A dead letter again to send (seq 0: every one); how many. */
size_t		 relayq_retry(struct relayq *, uint64_t seq);
/* A dead letter forgotten; 0, or -1 when seq is no dead letter. */
int		 relayq_drop(struct relayq *, uint64_t seq);

/* The request to send for e (its fields, type START/END, id seq),
 * encoded into *out (to free); 0, or -1 (damaged, no memory). */
int		 relayq_encode(const struct relayq_entry *, uint8_t **out,
		    size_t *len);
/* One of e's fields into buf; 0, or -1 when it has none ("" in buf). */
int		 relayq_field(const struct relayq_entry *, const char *key,
		    char *buf, size_t len);

struct relayq_stats {
	size_t		 backlog;	/* pending and in flight */
	size_t		 inflight;
	size_t		 dead;
	size_t		 not_durable;
	time_t		 oldest;	/* taken, of the oldest backlog; 0 */
	size_t		 journal_bytes;
};
void		 relayq_stats(struct relayq *, struct relayq_stats *);

/* Each entry of the backlog (dead 0: in flight then pending) or dead. */
void		 relayq_each(struct relayq *, int dead,
		    void (*fn)(const struct relayq_entry *, void *), void *);

/* The tests': force a compaction now. */
int		 relayq_compact(struct relayq *);

#endif /* RELAYQ_H */
