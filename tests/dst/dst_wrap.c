/*
 * dst_wrap.c - what the linker's --wrap hands bankd's objects in place
 * of libc's and of their own (tests/dst/CMakeLists.txt lists them): only
 * calls from bankd_objs (a static library) to these symbols come here;
 * libevent, libc and the sanitizers keep the real ones.  So bankd's code
 * is the production code, unchanged, on a simulated clock:
 *
 *  - clock_gettime: CLOCK_MONOTONIC* is the simulation's time, the
 *    others the wall clock, which may jump;
 *  - time: the wall clock, in seconds;
 *  - random: the backoff's jitter, from a PRNG seeded by the seed;
 *  - journal_open_at, journal_open_named, journal_close: the journals'
 *    handles kept (to wait for their sync thread), and what each had
 *    synced when closed (how much a power cut may take);
 *  - log_*: dropped (a failing seed is read from the trace instead).
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "dst.h"
#include "journal.h"
#include "log.h"

int	 __real_clock_gettime(clockid_t, struct timespec *);
int	 __wrap_clock_gettime(clockid_t, struct timespec *);
time_t	 __wrap_time(time_t *);
long	 __wrap_random(void);

/* The sync thread reads the clock too (journal.c): atomics. */
static _Atomic int64_t mono_ms;
static _Atomic int64_t wall_off_s;
static struct dst_rng jitter;

/* Where the wall clock starts: 2026-01-01T00:00:00Z. */
#define WALL_BASE	1767225600LL

void
dst_clock_reset(uint64_t seed)
{
	atomic_store(&mono_ms, 1000000);
	atomic_store(&wall_off_s, 0);
	dst_rng_seed(&jitter, seed ^ 0x6a09e667f3bcc908ULL);
}

int64_t
dst_now_ms(void)
{
	return atomic_load(&mono_ms);
}

void
dst_clock_set_ms(int64_t t)
{
	if (t > atomic_load(&mono_ms))
		atomic_store(&mono_ms, t);
}

void
dst_clock_jump_wall(int64_t s)
{
	atomic_fetch_add(&wall_off_s, s);
}

int64_t
dst_wall(void)
{
	return WALL_BASE + atomic_load(&mono_ms) / 1000 +
	    atomic_load(&wall_off_s);
}

int
__wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	int64_t ms = atomic_load(&mono_ms);

	switch (clk) {
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		ts->tv_sec = ms / 1000;
		ts->tv_nsec = ms % 1000 * 1000000;
		return 0;
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		ts->tv_sec = dst_wall();
		ts->tv_nsec = ms % 1000 * 1000000;
		return 0;
	default:
		return __real_clock_gettime(clk, ts);
	}
}

time_t
__wrap_time(time_t *t)
{
	time_t now = (time_t)dst_wall();

	if (t != NULL)
		*t = now;
	return now;
}

long
__wrap_random(void)
{
	return (long)(dst_rng_next(&jitter) >> 33);
}

/* ---- the journals ---- */

struct journal	*__real_journal_open_at(const char *, int,
		    journal_replay_at_fn, void *, char *, size_t);
struct journal	*__wrap_journal_open_at(const char *, int,
		    journal_replay_at_fn, void *, char *, size_t);
struct journal	*__real_journal_open_named(const char *, const char *, int,
		    journal_replay_fn, void *, char *, size_t);
struct journal	*__wrap_journal_open_named(const char *, const char *, int,
		    journal_replay_fn, void *, char *, size_t);
void		 __real_journal_close(struct journal *);
void		 __wrap_journal_close(struct journal *);
int		 __real_journal_commit(struct journal *);
int		 __wrap_journal_commit(struct journal *);
int		 __real_journal_commit_end(struct journal *);
int		 __wrap_journal_commit_end(struct journal *);
int		 __real_journal_rewrite(struct journal *, journal_emit_fn,
		    void *);
int		 __wrap_journal_rewrite(struct journal *, journal_emit_fn,
		    void *);

/*
 * The queue's journal [0] and the holds' [1]: how far each is synced
 * (journal.h's durable counts what is written, synced or not), and what
 * each had, synced and written, when closed last.
 */
static struct journal *jr[2];
static uint64_t synced[2], closed_synced[2], closed_end[2], rewrites[2];

static int
which(const struct journal *j)
{
	return j == NULL ? -1 : j == jr[0] ? 0 : j == jr[1] ? 1 : -1;
}

struct journal *
__wrap_journal_open_at(const char *dir, int fsync, journal_replay_at_fn fn,
    void *arg, char *err, size_t errlen)
{
	jr[0] = __real_journal_open_at(dir, fsync, fn, arg, err, errlen);
	synced[0] = jr[0] != NULL ? journal_durable(jr[0]) : 0;
	return jr[0];
}

struct journal *
__wrap_journal_open_named(const char *dir, const char *name, int fsync,
    journal_replay_fn fn, void *arg, char *err, size_t errlen)
{
	struct journal *j = __real_journal_open_named(dir, name, fsync, fn,
	    arg, err, errlen);

	if (strcmp(name, "holds") == 0) {
		jr[1] = j;
		synced[1] = j != NULL ? journal_durable(j) : 0;
	}
	return j;
}

/* A sync went to disk: everything written so far is on it. */
static void
did_sync(struct journal *j, int rc)
{
	int k = which(j);

	if (k >= 0 && rc == 0 && journal_fsync(j))
		synced[k] = journal_durable(j);
}

int
__wrap_journal_commit(struct journal *j)
{
	int rc = __real_journal_commit(j);

	did_sync(j, rc);
	return rc;
}

int
__wrap_journal_commit_end(struct journal *j)
{
	int rc = __real_journal_commit_end(j);

	did_sync(j, rc);
	return rc;
}

int
__wrap_journal_rewrite(struct journal *j, journal_emit_fn fn, void *arg)
{
	int rc = __real_journal_rewrite(j, fn, arg), k = which(j);

	did_sync(j, rc);
	if (k >= 0)
		rewrites[k]++;
	return rc;
}

void
__wrap_journal_close(struct journal *j)
{
	int k = which(j);

	if (k >= 0) {
		closed_end[k] = journal_size(j);
		/* journal_close commits (and syncs) what is pending. */
		closed_synced[k] = journal_pending(j) || journal_busy(j) ?
		    closed_end[k] : synced[k];
		jr[k] = NULL;
	}
	__real_journal_close(j);
}

struct journal *
dst_journal_queue(void)
{
	return jr[0];
}

struct journal *
dst_journal_holds(void)
{
	return jr[1];
}

uint64_t
dst_rewrites(int holds)
{
	return rewrites[holds != 0];
}

void
dst_closed(int holds, uint64_t *sync_end, uint64_t *end)
{
	*sync_end = closed_synced[holds != 0];
	*end = closed_end[holds != 0];
}

/* ---- the log ---- */

void	 __wrap_log_kv(enum log_level, const struct logkv *);
void	 __wrap_log_err(const char *, ...);
void	 __wrap_log_warn(const char *, ...);
void	 __wrap_log_info(const char *, ...);
void	 __wrap_log_debug(const char *, ...);
int	 __wrap_log_enabled(enum log_level);

void
__wrap_log_kv(enum log_level l, const struct logkv *kv)
{
	(void)l;
	(void)kv;
}

void
__wrap_log_err(const char *fmt, ...)
{
	(void)fmt;
}

void
__wrap_log_warn(const char *fmt, ...)
{
	(void)fmt;
}

void
__wrap_log_info(const char *fmt, ...)
{
	(void)fmt;
}

void
__wrap_log_debug(const char *fmt, ...)
{
	(void)fmt;
}

int
__wrap_log_enabled(enum log_level l)
{
	(void)l;
	return 0;
}
