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
 * same event-loop turn shares it (group commit).  journal_commit_begin()
 * does the same on a sync thread, so that the caller's event loop keeps
 * working while the disk syncs; the next batch forms meanwhile.  On open,
 * every record is replayed in order; a torn or corrupt record (bad magic,
 * length or CRC) is logged and skipped, and the scan resumes at the next
 * good record, in time linear in the file's size whatever it holds (a
 * hostile file of fake headers included: see journal.c).
 * journal_rewrite() compacts the file to just the live records: written
 * to a new file, synced, renamed over the old one.
 *
 * A record stays where it was appended (its position) until the next
 * compaction: journal_read() fetches it back from the file or, if not yet
 * written, from the buffer; this is how bankd keeps report bodies out of
 * memory.
 */
#ifndef JOURNAL_H
#define JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct journal;

/* The largest payload of a record. */
#define JOURNAL_MAX_RECORD	(1024 * 1024)

typedef void	 (*journal_replay_fn)(json_t *rec, void *arg);
/* The same, also told where the record is: its offset and whole size. */
typedef void	 (*journal_replay_at_fn)(json_t *rec, uint64_t pos,
		    uint32_t size, void *arg);
typedef int	 (*journal_emit_fn)(struct journal *, void *arg);

struct journal	*journal_open(const char *dir, int do_fsync, journal_replay_fn,
		    void *arg, char *err, size_t errlen);
struct journal	*journal_open_at(const char *dir, int do_fsync,
		    journal_replay_at_fn, void *arg, char *err, size_t errlen);
/* The same, for a file other than "journal" in dir (e.g. "holds"). */
struct journal	*journal_open_named(const char *dir, const char *name,
		    int do_fsync, journal_replay_fn, void *arg, char *err,
		    size_t errlen);
void		 journal_close(struct journal *);

/* Buffer one record; returns its size on disk, or -1. */
long		 journal_append(struct journal *, json_t *rec);
/* The same for a payload already in JSON; *pos gets its offset. */
long		 journal_append_raw(struct journal *, const char *payload,
		    size_t len, uint64_t *pos);
int		 journal_pending(const struct journal *);
/*
 * Write and sync what is buffered; 0 or -1 (logged).  For a second after
 * a failed commit, -1 at once (errno EAGAIN), the records still buffered:
 * the caller tries again later, not in a loop.
 */
int		 journal_commit(struct journal *);
/* Write it without a sync, for records nobody waits on; the next sync
   covers them.  0 or -1 (logged; they stay buffered). */
int		 journal_write(struct journal *);

/*
 * Commit on the sync thread.  journal_commit_fd() is readable once a
 * commit handed over by journal_commit_begin() is over; then call
 * journal_commit_end(): 0 (durable), -1 (failed, logged: the records stay
 * buffered for the next commit, as with journal_commit) or 1 (nothing was
 * in flight).  Only one commit is in flight: begin returns 1 while busy
 * or with nothing buffered, 0 once handed over, -1 without a thread (or
 * within a second of a failed commit).
 */
int		 journal_commit_fd(struct journal *);
int		 journal_commit_begin(struct journal *);
int		 journal_commit_end(struct journal *);
int		 journal_busy(const struct journal *);

/*
 * The payload of the record of `size` bytes at `pos`, checked against its
 * header and CRC, NUL-terminated, in *out (to free).  0; -1 on an I/O
 * error (may pass); -2 when the bytes there are not that record (damage).
 * err says which.  During journal_rewrite()'s emit, positions are those of
 * the old file.
 */
int		 journal_read(struct journal *, uint64_t pos, uint32_t size,
		    char **out, char *err, size_t errlen);

/*
 * Replace the file with what emit() appends; 0 or -1 (old file kept).
 * Not while a commit is in flight.  Positions that journal_append_raw()
 * returns during emit() are in the new file.
 */
int		 journal_rewrite(struct journal *, journal_emit_fn, void *arg);

size_t		 journal_size(const struct journal *);
/*
 * Records wholly below journal_durable() are on disk (synced with fsync
 * on); those below journal_inflight_end() will be once the commit on the
 * sync thread succeeds.  Positions as journal_append_raw() gave them.
 */
uint64_t	 journal_durable(const struct journal *);
uint64_t	 journal_inflight_end(const struct journal *);
int		 journal_corrupt(const struct journal *);	/* seen at open */
void		 journal_set_fsync(struct journal *, int);
int		 journal_fsync(const struct journal *);

/*
 * For the tests and bench/: the bytes of CRC-32C the replay at open
 * computed (its work, whatever the file held), and the CRC-32C of B given
 * those of A and of A || B, B being len_b bytes long, which replay uses.
 */
uint64_t	 journal_replay_work(const struct journal *);
uint32_t	 journal_crc32c_cut(uint32_t crc_ab, uint32_t crc_a,
		    uint64_t len_b);

#endif /* JOURNAL_H */
