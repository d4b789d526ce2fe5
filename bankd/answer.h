/*
 * answer.h - what the API's answers say, decoded once where they arrive
 * into typed values (mybrc-api.md has the server's side).  The API can
 * answer anything: a body that is not what the server writes is
 * ANSWER_UNUSABLE, never half-read; every number in it is parsed exactly
 * and bounded (lim.h).
 */
#ifndef ANSWER_H
#define ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* GET /can_submit_job/{cost}/{uid}/{account}/ */
enum answer_kind {
	ANSWER_PASS,		/* 200, success true */
	ANSWER_REFUSED,		/* 200, success false: see limit */
	ANSWER_UNKNOWN,		/* 400: no such user or account */
	ANSWER_UNUSABLE,	/* anything else: the policy decides */
};

enum answer_limit {
	LIMIT_NONE,		/* not about money: not a member, no allocation */
	LIMIT_ACCOUNT,		/* "... would exceed account allocation A." */
	LIMIT_USER,		/* "... would exceed user allocation A." */
};

struct check_answer {
	enum answer_kind	 kind;
	enum answer_limit	 limit;		/* ANSWER_REFUSED */
	int64_t			 room;		/* cents left, -1 unknown */
	/* the refusal's figures (bankctl balance): -1 unknown */
	int64_t			 balance, allocation;
	char			 message[256];	/* the API's words, printable */
};

void	 answer_check(long status, const char *body, size_t len,
	    struct check_answer *);

/*
 * One entry of GET /partitions/'s results: 0 with its name (a partition
 * name bankd takes: printable, at most LIM_PARTITION_LEN) and its exact
 * su_per_core_hour in micro-SU; -1 with why it is ignored.
 */
int	 answer_partition(const json_t *item, const char **name,
	    int64_t *micro, const char **why);

/*
 * A 2xx to POST /jobs/ or PUT /jobs/{id}/ counts as delivered only when
 * its body is the portal's record of that job: a JSON object whose
 * jobslurmid is the job's and whose amount is what was sent.  A proxy's
 * or a maintenance page's "200" is not.  0, or -1 with why.
 */
int	 answer_job(const char *body, size_t len, uint32_t job_id,
	    int64_t cents, char *why, size_t whylen);

/* What is wrong with the API when it refuses bankd's token. */
enum answer_token {
	TOKEN_OK,		/* not a token problem */
	TOKEN_EXPIRED,		/* 401 "Expired token." */
	TOKEN_INVALID,		/* 401 otherwise */
	TOKEN_NOT_STAFF,	/* 403: it may read, not write */
};

enum answer_token answer_token(long status, const char *body, size_t len);

/* What to tell an operator of it (bankctl status, the log). */
const char *answer_token_advice(enum answer_token);

#endif /* ANSWER_H */
