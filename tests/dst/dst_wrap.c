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

static struct journal *jq, *jh;
static uint64_t durable_q, durable_h;

struct journal *
__wrap_journal_open_at(const char *dir, int fsync, journal_replay_at_fn fn,
    void *arg, char *err, size_t errlen)
{
	return jq = __real_journal_open_at(dir, fsync, fn, arg, err, errlen);
}

struct journal *
__wrap_journal_open_named(const char *dir, const char *name, int fsync,
    journal_replay_fn fn, void *arg, char *err, size_t errlen)
{
	struct journal *j = __real_journal_open_named(dir, name, fsync, fn,
	    arg, err, errlen);

	if (strcmp(name, "holds") == 0)
		jh = j;
	return j;
}

void
__wrap_journal_close(struct journal *j)
{
	if (j != NULL && j == jq) {
		durable_q = journal_durable(j);
		jq = NULL;
	} else if (j != NULL && j == jh) {
		durable_h = journal_durable(j);
		jh = NULL;
	}
	__real_journal_close(j);
}

struct journal *
dst_journal_queue(void)
{
	return jq;
}

struct journal *
dst_journal_holds(void)
{
	return jh;
}

uint64_t
dst_closed_durable(int holds)
{
	return holds ? durable_h : durable_q;
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
