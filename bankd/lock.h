/*
 * lock.h - one active controller per state_dir (issue 13): an exclusive
 * fcntl(2) write lock on state_dir/lock, taken before the journal, the
 * holds or a listener is opened, and held until the process ends.
 */
#ifndef LOCK_H
#define LOCK_H

#include <stddef.h>

struct bankd;

enum lock_rc {
	LOCK_TAKEN,		/* ours until exit */
	LOCK_HELD,		/* another process holds it */
	LOCK_ERROR,		/* cannot open or lock the file: err says */
};

/*
 * One attempt on dir/lock: LOCK_TAKEN with *fd the file (never to be
 * closed while the lock matters: closing any descriptor of the file ends
 * a process's fcntl locks) and "pid host\n" written in it; LOCK_HELD
 * with the holder's line in `holder` ("?" if it is unreadable).
 */
enum lock_rc	 lock_try(const char *dir, int *fd, char *holder,
		    size_t holderlen, char *err, size_t errlen);

/*
 * bankd_start's wait for bd->conf.state_dir: 0 once the lock is ours,
 * 1 when SIGTERM or SIGINT came while waiting (bd->stopping; the loop
 * is set to exit at its next turn), -1 logged.  While another holds it,
 * tries once a second, running bd's event loop in between (signals).
 * notify (may be NULL) passes STATUS=/READY=1 lines to systemd: a
 * standby is a running service whose work is to wait.  SIGHUP is held
 * back meanwhile (there is nothing to reload yet) and comes after.
 */
int		 lock_wait(struct bankd *bd, void (*notify)(const char *));

#endif /* LOCK_H */
