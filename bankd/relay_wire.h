/*
 * relay_wire.h - the relay forwarder's connection: a thread that owns one
 * pipelined TCP connection upstream, gives each frame its own fresh
 * credential, and hands every answer back to the event loop through a
 * pipe.  Its user (relay_fwd.c) decides what to send and where; this only
 * sends it there and says what came back.
 */
#ifndef RELAY_WIRE_H
#define RELAY_WIRE_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "relaycred.h"

struct relay_wire;

/* The loop's order: send this frame (encoded without credential). */
struct relay_wire_cmd {
	STAILQ_ENTRY(relay_wire_cmd) link;
	uint64_t		 gen;		/* of the connection */
	uint64_t		 seq;		/* the frame's id */
	size_t			 up;		/* index into the upstreams */
	uint8_t			*frame;		/* malloc'd */
	size_t			 len;
	int64_t			 deadline;	/* thread: sent, answer by */
	uint8_t			 type;		/* BP_T_*, its reply's base */
};
STAILQ_HEAD(relay_wire_cmdq, relay_wire_cmd);

enum relay_wire_kind {
	RW_REPLY,		/* seq's answer: status, message */
	RW_FAIL,		/* the connection of gen failed: message */
};

/* The thread's word back; one calloc'd block, the loop's to free(3). */
struct relay_wire_res {
	STAILQ_ENTRY(relay_wire_res) link;
	enum relay_wire_kind	 kind;
	uint64_t		 gen;
	uint64_t		 seq;
	char			 status[16];
	char			 message[512];
};
STAILQ_HEAD(relay_wire_resq, relay_wire_res);

struct relay_wire_settings {
	char *const	*up;		/* ADDRESS:PORT; borrowed: they must
					   outlive relay_wire_stop() */
	int		 timeout_ms;	/* connect; a frame's answer */
	relaycred_fn	 cred;
	void		*cred_arg;
};

/* The pipes and the thread, running; NULL with err if not. */
struct relay_wire *relay_wire_start(const struct relay_wire_settings *,
		    char *err, size_t errlen);
/* The thread stopped and joined; what it held or had not read, freed. */
void		 relay_wire_stop(struct relay_wire *);

/* Readable when results wait: the loop watches it. */
int		 relay_wire_fd(const struct relay_wire *);
/* cmds to the thread, in order, and the thread's to free: cmds emptied. */
void		 relay_wire_send(struct relay_wire *, struct relay_wire_cmdq *);
/* Every result posted so far onto got (initialised here), in order. */
void		 relay_wire_take_results(struct relay_wire *,
		    struct relay_wire_resq *got);

#endif /* RELAY_WIRE_H */
