/*
 * journal.h - bankd's durable log of accepted reports.
 *
 * An append-only file `journal` in the state directory.  Each record:
 *
 *	u32 magic "BKJ1" | u32 payload length | u32 CRC-32C of payload |
 *	payload: one JSON object
 *
 * Appends are buffered; journal_commit() writes them and, with fsync on,
 * makes them durable with one fdatasync(): every report accepted in the
 * same event-loop turn shares it (group commit).  On open, every record is
 * replayed in order; a torn or corrupt record (bad magic, length or CRC)
 * is logged and skipped, and the scan resumes at the next good record.
 * journal_rewrite() compacts the file to just the live records: written to
 * a new file, synced, renamed over the old one.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>

#include <jansson.h>

struct journal;

typedef void	 (*journal_replay_fn)(json_t *rec, void *arg);
typedef int	 (*journal_emit_fn)(struct journal *, void *arg);

struct journal	*journal_open(const char *dir, int do_fsync, journal_replay_fn,
		    void *arg, char *err, size_t errlen);
/* The same, for a file other than "journal" in dir (e.g. "holds"). */
struct journal	*journal_open_named(const char *dir, const char *name,
		    int do_fsync, journal_replay_fn, void *arg, char *err,
		    size_t errlen);
void		 journal_close(struct journal *);

/* Buffer one record; returns its size on disk, or -1. */
long		 journal_append(struct journal *, json_t *rec);
int		 journal_pending(const struct journal *);
/* Write and sync what is buffered; 0 or -1 (logged). */
int		 journal_commit(struct journal *);
/* Replace the file with what emit() appends; 0 or -1 (old file kept). */
int		 journal_rewrite(struct journal *, journal_emit_fn, void *arg);

size_t		 journal_size(const struct journal *);
int		 journal_corrupt(const struct journal *);	/* seen at open */
void		 journal_set_fsync(struct journal *, int);

#endif /* JOURNAL_H */
