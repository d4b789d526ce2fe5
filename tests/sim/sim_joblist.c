/*
 * sim_joblist.c: GET /jobs/ with the server's filters.  By default only
 * jobs whose startdate lies in the allowance period are listed (as the
 * API notes say); start_time/end_time (Unix seconds) override that.
 * Sorted by submitdate, then by arrival.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_priv.h"

struct filter {
	const char	*uid;		/* userid string, from the username */
	const char	*account;
	const char	*jobstatus;
	const char	*partition;
	int64_t		 min, max;	/* cents */
	int64_t		 from, to;	/* Unix seconds */
	char		 uidbuf[32];
};

static int
time_param(const char *s, int64_t def, int64_t *out)
{
	char	*end;

	if (s == NULL || *s == '\0') {
		*out = def;
		return 0;
	}
	errno = 0;
	*out = strtoll(s, &end, 10);
	/* A fraction of a second changes nothing at this resolution. */
	if (errno != 0 || end == s || (*end != '\0' && *end != '.'))
		return -1;
	return 0;
}

static int
money_param(const char *s, int64_t def, int64_t *out)
{
	*out = def;
	return s == NULL || *s == '\0' ? 0 : sim_money_cents(s, out);
}

static int
str_eq(json_t *o, const char *key, const char *want)
{
	const char	*v = json_string_value(json_object_get(o, key));

	return want == NULL || *want == '\0' || (v != NULL &&
	    strcmp(v, want) == 0);
}

static int
matches(const struct filter *f, const struct sim_job *j)
{
	const char	*sd;
	int64_t		 t;

	sd = json_string_value(json_object_get(j->obj, "startdate"));
	if (sd == NULL || sim_date_parse(sd, &t) == -1 || t < f->from ||
	    t > f->to)
		return 0;
	return str_eq(j->obj, "userid", f->uid) &&
	    str_eq(j->obj, "accountid", f->account) &&
	    str_eq(j->obj, "jobstatus", f->jobstatus) &&
	    str_eq(j->obj, "partition", f->partition) &&
	    j->amount >= f->min && j->amount <= f->max;
}

static int64_t
submit_of(const struct sim_job *j)
{
	const char	*s;
	int64_t		 t;

	s = json_string_value(json_object_get(j->obj, "submitdate"));
	return s != NULL && sim_date_parse(s, &t) == 0 ? t : INT64_MIN;
}

static int
by_submit(const void *a, const void *b)
{
	const struct sim_job	*x = *(struct sim_job *const *)a;
	const struct sim_job	*y = *(struct sim_job *const *)b;
	int64_t			 sx = submit_of(x), sy = submit_of(y);

	if (sx != sy)
		return sx < sy ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Fill f from q; -1 for an unusable parameter. */
static int
make_filter(struct sim_bank *b, const struct sim_query *q, struct filter *f,
    int *unknown_user)
{
	struct sim_user	*u;

	memset(f, 0, sizeof(*f));
	*unknown_user = 0;
	if (q->user != NULL && *q->user != '\0') {
		/* The server's User.objects.get() raises: a 500. */
		if ((u = sim_find_username(b, q->user)) == NULL) {
			*unknown_user = 1;
			return -1;
		}
		snprintf(f->uidbuf, sizeof(f->uidbuf), "%ld", u->uid);
		f->uid = f->uidbuf;
	}
	f->account = q->account;
	f->jobstatus = q->jobstatus;
	f->partition = q->partition;
	return money_param(q->min_amount, 0, &f->min) == -1 ||
	    money_param(q->max_amount, INT64_MAX, &f->max) == -1 ||
	    time_param(q->start_time, b->period_start, &f->from) == -1 ||
	    time_param(q->end_time, b->period_end, &f->to) == -1 ? -1 : 0;
}

static json_t *
with_totals(json_t *page, int64_t total, double cpu)
{
	if (json_object_set_new(page, "total_amount", sim_money_json(total)) ==
	    -1 || json_object_set_new(page, "total_cpu_time", json_real(cpu)) ==
	    -1) {
		json_decref(page);
		return NULL;
	}
	return page;
}

struct sim_resp
sim_jobs_list(struct sim_bank *b, const struct sim_query *q)
{
	struct filter	  f;
	struct sim_job	**sel;
	json_t		 *items, *page;
	size_t		  i, n = 0;
	int64_t		  total = 0;
	double		  cpu = 0;
	int		  unknown, status;

	if (make_filter(b, q, &f, &unknown) == -1)
		return unknown ? sim_resp_html() : sim_resp_make(400,
		    json_pack("[s]", "Invalid filter parameter."));
	if ((sel = calloc(b->jobs.n + 1, sizeof(*sel))) == NULL)
		return sim_resp_html();
	for (i = 0; i < b->jobs.n; i++)
		if (matches(&f, &b->jobs.v[i]))
			sel[n++] = &b->jobs.v[i];
	qsort(sel, n, sizeof(*sel), by_submit);
	if ((items = json_array()) == NULL) {
		free(sel);
		return sim_resp_html();
	}
	for (i = 0; i < n; i++) {
		total += sel[i]->amount;
		/* cpu_time is CPU-hours, not money: a double is fine. */
		cpu += json_number_value(json_object_get(sel[i]->obj,
		    "cpu_time"));
		json_array_append(items, sel[i]->obj);
	}
	free(sel);
	if ((page = sim_page(q, items, &status)) == NULL)
		return status == 404 ? sim_resp_make(404,
		    sim_detail("Invalid page.")) : sim_resp_html();
	return sim_resp_make(200, with_totals(page, total, cpu));
}
