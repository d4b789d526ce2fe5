/*
 * bankproto.h - the wire protocol between the Slurm plugins (and bankctl)
 * and bankd, and a small client for it.
 *
 * Transport: a Unix-domain stream socket (bankd's `socket:` setting), or
 * TCP (`listen_tcp:`), where each request also carries a MUNGE credential
 * (BP_CRED_KEY below; docs/protocol.md "Over TCP").  A
 * client connects, sends one or more requests and reads one reply for each,
 * in order.  A connection of root or slurm_user may stay open for as long
 * as the client likes (job_submit keeps one: bp_conn_call()); another
 * user's is closed after limits.user_idle_s without a request, and such a
 * user has at most limits.user_connections (docs/reliability.md).
 * Nothing on the wire refers to the local host (no file descriptors, no
 * paths, no pids), so the same frames can later be carried over TCP from
 * compute nodes.
 *
 * Frame (all integers big-endian):
 *
 *	 0      2      3      4             8            12
 *	+------+------+------+-------------+------------+----------------+
 *	| 'B''K'| ver  | type | request id  | body len   | body ...       |
 *	+------+------+------+-------------+------------+----------------+
 *
 *	magic	 0x42 0x4b ("BK")
 *	ver	 BP_VERSION (1); a frame of another version is refused
 *	type	 a BP_T_* request, or BP_REPLY | request type for a reply
 *	id	 chosen by the client; the reply carries the same id
 *	len	 body length in bytes, at most BP_MAX_BODY
 *
 * Body: zero or more lines "key=value\n".  Keys are 1-31 characters of
 * [a-z0-9_]; values are any bytes except NUL and newline, at most
 * BP_MAX_BODY in all.  bankd takes requests whose values are printable
 * UTF-8 and whose numbers are within common/lim.h (bankd/fields.c); any
 * other gets status "error" naming the field.  A key appears at most once; unknown keys are
 * ignored, so fields can be added without a version change.  Numbers are
 * decimal ASCII; money is a decimal string with two places ("12.50");
 * times are Unix seconds.
 *
 * Requests and the keys they carry (see docs/protocol.md for meanings):
 *
 *	BP_T_STATUS	(none)
 *	  reply: status, version, uptime, api_url, api (reachable|
 *	         unreachable|unknown), api_age, api_error, queue,
 *	         not_durable (of the queue, not on disk yet), inflight,
 *	         dead, delivered, retries, delivery, journal_bytes, spool,
 *	         holds, cache_entries, clients (open connections)
 *	BP_T_CHECK	uid, account, partitions (comma list), cpus fields
 *	                (min_cpus, num_tasks, cpus_per_task, min_nodes,
 *	                ntasks_per_node, pn_min_cpus), time_limit (minutes, 0 if
 *	                none known), plugin ("job_submit" or "bankctl")
 *	  reply: status (allow|deny|error|later), estimate, partition, cpus,
 *	         message.  "error": the request itself is wrong (a field,
 *	         named in the message), and job_submit refuses the job;
 *	         "later": bankd cannot decide now, and job_submit's policy
 *	         decides, as when bankd cannot be reached.
 *	BP_T_ESTIMATE	as BP_T_CHECK; prices only, never asks the API
 *	  reply: status, estimate, partition, cpus, minutes, price,
 *	         price_source (local|api|default), gpus, mem_mb,
 *	         billed_cpus, qos, qos_multiplier, tasks, task_estimate,
 *	         message (the breakdown in words)
 *	BP_T_START	job_id, uid, account, partition, qos, cpus, nodes
 *	                (Slurm hostlist expression), num_nodes, submit, start,
 *	                time_limit, run (Slurm's restart_cnt; 0 if absent)
 *	  reply: status (ok|dup|later|error), estimate, message
 *	BP_T_END	job_id, uid, account, partition, qos, state, cpus, nodes,
 *	                num_nodes, req_nodes, submit, start, end, suspended,
 *	                time_limit, run (which run ended: restart_cnt);
 *	                usage_factor (the QoS's UsageFactor x 1e6, when Slurm
 *	                has the QoS record: slurmdbd)
 *	  reply: status (ok|later|error), amount, message
 *	  START and END are acknowledged "ok" only once journaled.  "later"
 *	  means bankd could not store it (disk, memory): the sender keeps it
 *	  (spools it) and nothing is lost.  "error" means the report itself
 *	  is wrong (a missing field, an account-less priced job) and sending
 *	  it again would not help.
 *
 * Queue administration (bankctl; all but QUEUE and SHOW need root or the
 * SlurmUser):
 *
 *	BP_T_QUEUE	offset, limit (at most BP_QUEUE_PAGE), dead (0|1)
 *	  reply: status, total, and e1..eN, one report each as tab-separated
 *	         seq, job, kind, amount, state, attempts, next try (s),
 *	         account, last error
 *	BP_T_SHOW	seq
 *	  reply: status, seq, job, kind, amount, account, state, attempts,
 *	         next_in_ms, accepted, last_error, body
 *	BP_T_RETRY	seq (0 or absent: every report)	  reply: status, count
 *	BP_T_DROP	seq (dead letters only)		  reply: status, message
 *	BP_T_PAUSE, BP_T_RESUME	(none)			  reply: status
 *	BP_T_HOLDS	account, uid (both optional filters)
 *	  reply: status, count, total, h1..hN (at most BP_QUEUE_PAGE) as
 *	         tab-separated token, job (0: not bound yet), uid, account,
 *	         amount, age (s)
 *	BP_T_PRICES	offset (optional; BP_QUEUE_PAGE partitions per reply)
 *	  reply: status, default, billing, from_api, refresh_s, api_age (s
 *	         since the last good /partitions/ fetch, -1 never),
 *	         api_error, qos ("high=1.5,low=0.5"), total, p1..pN as
 *	         tab-separated partition, cpu, gpu, gpu types ("a100=8,..."
 *	         or "-"), mem_gb, billing (sum|max), source (local|api)
 *
 * Repairing history (bankctl backfill; root and the SlurmUser only):
 *
 *	BP_T_BACKFILL	a completed job as sacct shows it, in END's keys
 *	                (job_id ... time_limit, tres_alloc, usage_factor),
 *	                runs (how many runs sacct shows; 1 if absent), dry_run
 *	                (1: compare only, queue nothing)
 *	  reply: status (ok|later|error), verdict (ok|missing|wrong|skipped),
 *	         amount (what its completion report charges), portal (what
 *	         the portal holds, when it holds the job), queued (missing or
 *	         wrong without dry_run: ok|dup|later|error, the END accept's
 *	         answer), message
 *
 * A user's view (anyone; about the caller's own uid, from SO_PEERCRED):
 *
 *	BP_T_BALANCE	account
 *	  reply: status (ok|deny|error), account, uid, and as money (absent
 *	         when not known): alloc, used, room (the account's); user_alloc,
 *	         user_used, user_room (the caller's share, when it binds
 *	         below the account's: user_limit is "below" or "none");
 *	         held_mine, held_all, held_jobs, left (what the caller may
 *	         still submit: the rooms less the holds); source (api|cache)
 *	         and age (s since the API said it), message
 *
 * BP_T_CHECK also takes: cost (cents: skip pricing, as bankctl check does),
 * dry_run (1: decide but place no hold).  Its reply adds: source (cache,
 * api, policy, price, config), held_account, held_user, held_jobs, and
 * hold (the new hold's token, which job_submit puts in the job's
 * AdminComment as bank_hold=<token>), and on an allow to job_submit, left
 * (what the account and the user's share have once this job and every
 * queued one are paid, only when known to the cent).  START and END take:
 * hold.
 * A heterogeneous job's component also sends het_offset (0 for the
 * leader) and het_holds (the earlier components' hold tokens, comma
 * list): refused, the component ends them (Slurm creates none).
 *
 * Who asks is the caller's SO_PEERCRED, never a field.  A CHECK from
 * anyone but root or slurm_user is about the caller's own uid (another
 * uid is refused), is always a dry run, and its reply carries the held_*
 * fields and figures of the account only once the API has shown the
 * caller a member of it.  QUEUE and SHOW need root or slurm_user; HOLDS
 * lists only the caller's own holds for anyone else.
 *
 * "dup" (START or END): the same report is durable in bankd already, or
 * a START came after the job's completion; the sender drops it.
 *
 * A reply's status "error" always comes with a message naming what was
 * wrong.  A frame that cannot be parsed gets no reply: bankd logs it and
 * closes the connection, since the byte stream can no longer be trusted.
 */
#ifndef BANKPROTO_H
#define BANKPROTO_H

#include <stddef.h>
#include <stdint.h>

#define BP_MAGIC0	0x42
#define BP_MAGIC1	0x4b
#define BP_VERSION	1
#define BP_HDR_LEN	12
#define BP_MAX_BODY	(64 * 1024)
#define BP_MAX_FIELDS	64
#define BP_MAX_KEY	31

enum bp_type {
	BP_T_STATUS = 1,
	BP_T_CHECK = 2,
	BP_T_ESTIMATE = 3,
	BP_T_START = 4,
	BP_T_END = 5,
	BP_T_QUEUE = 6,
	BP_T_SHOW = 7,
	BP_T_RETRY = 8,
	BP_T_DROP = 9,
	BP_T_PAUSE = 10,
	BP_T_RESUME = 11,
	BP_T_HOLDS = 12,
	BP_T_PRICES = 13,
	BP_T_BALANCE = 14,
	BP_T_BACKFILL = 15,
};
#define BP_QUEUE_PAGE	50
#define BP_REPLY	0x80

/* Results of bp_parse() and the client; negative values are errors. */
enum bp_result {
	BP_OK = 0,
	BP_MORE = 1,		/* a partial frame: read more bytes */
	BP_EMAGIC = -1,		/* not a bankproto frame */
	BP_EVERSION = -2,	/* a frame of another protocol version */
	BP_ETOOBIG = -3,	/* body longer than BP_MAX_BODY */
	BP_ESYNTAX = -4,	/* body is not key=value lines, or a bad key */
	BP_ETOOMANY = -5,	/* more than BP_MAX_FIELDS fields */
	BP_ECONNECT = -6,	/* could not connect within the deadline */
	BP_ETIMEOUT = -7,	/* no complete reply within the deadline */
	BP_EIO = -8,		/* socket error or peer closed early */
	BP_EREPLY = -9,		/* reply does not match the request */
	BP_ENOMEM = -10,
	BP_ECRED = -11,		/* no MUNGE credential could be made */
	BP_EADDR = -12,		/* not a socket path nor tcp:ADDRESS:PORT */
	BP_ENOCRED = -13,	/* a tcp: address, a request without a
				   credential: bankd would refuse it */
};

#define BP_NUM_LEN	21	/* UINT64_MAX in decimal, and a NUL */

struct bp_field {
	const char	*key;
	const char	*val;
	char		 kbuf[BP_MAX_KEY + 1];	/* bp_add() copies keys here */
	char		 nbuf[BP_NUM_LEN];	/* bp_add_u64()'s digits */
};

/*
 * One decoded or to-be-encoded message.  Decoded messages point into
 * `body`, which they own; messages being built own nothing but the
 * strings passed to bp_add() must outlive the call to bp_encode().
 */
struct bp_msg {
	uint8_t		 type;
	uint32_t	 id;
	size_t		 nfields;
	struct bp_field	 fields[BP_MAX_FIELDS];
	char		*body;		/* owned, NUL-split copy (decoded) */
	uint64_t	 owned;		/* bit i: fields[i].val is ours */
};

void		 bp_init(struct bp_msg *, uint8_t type, uint32_t id);
void		 bp_free(struct bp_msg *);
int		 bp_add(struct bp_msg *, const char *key, const char *val);
int		 bp_addf(struct bp_msg *, const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
/* A number, kept in the field itself: no allocation, no printf. */
int		 bp_add_u64(struct bp_msg *, const char *key, uint64_t val);
/* Decimal digits of v into buf; returns buf. */
char		*bp_u64toa(uint64_t v, char buf[BP_NUM_LEN]);
const char	*bp_get(const struct bp_msg *, const char *key);
int		 bp_get_u64(const struct bp_msg *, const char *key,
		    uint64_t *out);

/* Encode into a malloc'd buffer; returns its length or a negative BP_E*. */
long		 bp_encode(const struct bp_msg *, uint8_t **out);

/*
 * Decode the first frame in buf[0..len).  BP_OK: *msg filled (free with
 * bp_free) and *used set to the frame's size.  BP_MORE: need more bytes.
 */
int		 bp_parse(const uint8_t *buf, size_t len, struct bp_msg *msg,
		    size_t *used);

const char	*bp_strerror(int);
const char	*bp_type_name(uint8_t type);

/*
 * One request, one reply, within deadline_ms in all (connect + send +
 * receive).  No threads, no signals: a non-blocking socket and poll(2),
 * MSG_NOSIGNAL on every send.  Safe inside slurmctld and slurmstepd.
 * On success *rep must be freed with bp_free().
 */
int		 bp_call(const char *path, int deadline_ms,
		    const struct bp_msg *req, struct bp_msg *rep);

/*
 * A kept-open connection, for a long-lived caller that asks often
 * (job_submit inside slurmctld): it pays for connect and bankd's
 * per-connection set-up once instead of on every call.  Same deadline
 * rules as bp_call().  Not thread-safe: the caller serialises its calls.
 *
 * A call that fails or times out closes the connection, so a late reply
 * can never be read as the answer to the next call; the next call
 * reconnects.  A call that finds the kept connection closed by bankd (a
 * restart) before anything was sent reconnects once, within the same
 * deadline.
 */
struct bp_conn {
	/*
	 * Where bankd listens, as the caller named it (a socket path today;
	 * a host and port once reports travel over TCP), a copy of its own:
	 * no transport's address size is built into the connection.  NULL
	 * when the copy could not be made: every call then fails BP_ENOMEM.
	 */
	char		*addr;
	int		 fd;		/* -1: not connected */
};

void		 bp_conn_init(struct bp_conn *, const char *addr);
int		 bp_conn_call(struct bp_conn *, int deadline_ms,
		    const struct bp_msg *req, struct bp_msg *rep);
/* Closes the connection and frees addr; bp_conn_init() again to reuse. */
void		 bp_conn_close(struct bp_conn *);

/*
 * Over TCP (bankd's listen_tcp:) every request carries a MUNGE credential
 * in the field BP_CRED_KEY, whose payload is bp_digest() of the request:
 * the SHA-256 of the frame encoded without that field.  So a credential
 * vouches for its uid and gid and for this request only (docs/protocol.md).
 */
#define BP_CRED_KEY	"cred"
#define BP_DIGEST_LEN	32
int		 bp_digest(const struct bp_msg *, uint8_t out[BP_DIGEST_LEN]);
/*
 * The frame of req (which has no cred field) with cred added last, in
 * *out (to free): its length, or a BP_E* error (< 0).
 */
long		 bp_encode_cred(const struct bp_msg *req, const char *cred,
		    uint8_t **out);

/*
 * bp_call() of the frame already encoded (with a credential, for TCP):
 * addr is a socket path, or "tcp:ADDRESS:PORT" with an IP literal
 * ("[::1]:7000" for IPv6).  No name is looked up: nothing may block past
 * the deadline.
 */
int		 bp_call_frame(const char *addr, int deadline_ms,
		    const uint8_t *frame, size_t len, const struct bp_msg *req,
		    struct bp_msg *rep);

/*
 * "ADDRESS:PORT" (IPv4 literal, or [IPv6 literal]; port 1..65535) into
 * *sa; 0, or -1 when it is not one.  No name is looked up.
 */
struct sockaddr_storage;
int		 bp_hostport(const char *, struct sockaddr_storage *sa,
		    unsigned *salen);

/*
 * One request over TCP, with a fresh MUNGE credential made for it (each
 * call, so each attempt: a credential is good once and for minutes only).
 * hostport: "ADDRESS:PORT"; munge_socket: munged's socket, NULL for
 * libmunge's default.  Also BP_ECRED: no credential could be made (munged
 * down); *why says why.  In libbankproto_tcp (links libmunge).  A munged
 * that refuses connections (or has no socket) fails it at once, not after
 * libmunge's retries (it runs inside slurmctld); one that takes the
 * connection and then stalls is waited on by libmunge's own timeouts, as
 * slurmctld's auth/munge is for every RPC.
 */
/*
 * A MUNGE credential of the caller's uid for payload, from the munged at
 * munge_socket (NULL: libmunge's default), in *cred (to free): BP_OK, or
 * BP_ECRED / BP_ENOMEM with why.  Blocks on munged: not on an event loop.
 * libmunge's own retries apply (seconds when munged refuses); the relay
 * calls it in a thread of its own.
 */
int		 bp_cred_make(const char *munge_socket, const uint8_t *payload,
		    size_t len, char **cred, char *why, size_t whylen);
int		 bp_call_tcp(const char *hostport, const char *munge_socket,
		    int deadline_ms, const struct bp_msg *req,
		    struct bp_msg *rep, char *why, size_t whylen);

/*
 * When bankd cannot be reached, leave the report in `dir` for bankd to take
 * in (one file per report, written then renamed, mode 0600).  0, or -1
 * with a reason in err.
 */
int		 bp_spool_write(const char *dir, const struct bp_msg *,
		    char *err, size_t errlen);

#endif /* BANKPROTO_H */
