/*
 * sim_bank.h: the pure logic of the myBRC API simulator.
 *
 * Everything here is free of HTTP: requests come in as strings and
 * jansson values, answers go out as a status code and a jansson body.
 * Money is int64 cents throughout; no floating point touches an amount.
 */
#ifndef SIM_BANK_H
#define SIM_BANK_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define SIM_PAGE_SIZE	100

/* What a decimal string holds; callers apply their own rule order. */
enum sim_money_kind {
	MONEY_NUMBER = 0,
	MONEY_SYNTAX,		/* not a number at all */
	MONEY_NAN,		/* NaN: the real server crashes (500) */
	MONEY_INF		/* Infinity */
};

struct sim_amount {
	enum sim_money_kind	 kind;
	int			 neg;		/* leading minus sign */
	int			 has_exp;	/* 1e3 and friends */
	int			 sig;		/* significant digits, >= 1 */
	int			 intdigits;	/* before the point, no lead 0 */
	int			 places;	/* after the point, as written */
	int64_t			 cents;		/* valid when sim_money_ok() */
	char			 canon[48];	/* as Python's str(Decimal) */
};

/* One answer: status plus JSON body, or an HTML error page. */
struct sim_resp {
	int	 status;
	json_t	*body;		/* owned; NULL when html is set */
	int	 html;		/* answer Django's HTML "Server Error" page */
};

/* Query for GET /jobs/ and the other lists. */
struct sim_query {
	const char	*user;
	const char	*account;
	const char	*jobstatus;
	const char	*partition;
	const char	*min_amount;
	const char	*max_amount;
	const char	*start_time;
	const char	*end_time;
	const char	*page;
	const char	*url;		/* absolute URL of the list, no query */
};

struct sim_bank;

void		 sim_money_scan(const char *, struct sim_amount *);
int		 sim_money_ok(const struct sim_amount *);
int		 sim_money_cents(const char *, int64_t *);
void		 sim_money_fmt(int64_t, char *, size_t);
json_t		*sim_money_json(int64_t);
int		 sim_date_parse(const char *, int64_t *);
void		 sim_date_fmt(int64_t, char *, size_t);

struct sim_bank	*sim_bank_new(void);
void		 sim_bank_free(struct sim_bank *);
int		 sim_bank_load_fixture(struct sim_bank *, json_t *, char *,
		    size_t);
/* A token's staff flag (0, 1), -1 unknown, -2 expired. */
int		 sim_bank_token(const struct sim_bank *, const char *);
/* Add or update a token: {"key", "staff", "expired"}. */
int		 sim_set_token(struct sim_bank *, json_t *, char *, size_t);
unsigned long	 sim_bank_generation(const struct sim_bank *);

struct sim_resp	 sim_can_submit(struct sim_bank *, const char *, const char *,
		    const char *);
struct sim_resp	 sim_jobs_post(struct sim_bank *, json_t *);
struct sim_resp	 sim_jobs_put(struct sim_bank *, const char *, json_t *);
struct sim_resp	 sim_jobs_get(struct sim_bank *, const char *);
struct sim_resp	 sim_jobs_list(struct sim_bank *, const struct sim_query *);
struct sim_resp	 sim_partitions_list(struct sim_bank *,
		    const struct sim_query *);
struct sim_resp	 sim_users_list(struct sim_bank *, const struct sim_query *);
void		 sim_resp_clear(struct sim_resp *);

/* Control surface helpers: return 0, or -1 with a message in the buffer. */
json_t		*sim_balances(struct sim_bank *);
int		 sim_upsert_account(struct sim_bank *, json_t *, char *, size_t);
int		 sim_upsert_membership(struct sim_bank *, json_t *, char *,
		    size_t);
int		 sim_add_user(struct sim_bank *, json_t *, char *, size_t);
json_t		*sim_state_dump(struct sim_bank *);
int		 sim_state_load(struct sim_bank *, json_t *, char *, size_t);

/* Lookups used by tests: balances in cents; -1 if absent. */
int		 sim_account_usage(struct sim_bank *, const char *, int64_t *);
int		 sim_member_usage(struct sim_bank *, const char *, long,
		    int64_t *);

#endif /* SIM_BANK_H */
