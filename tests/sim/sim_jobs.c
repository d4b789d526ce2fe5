/*
 * sim_jobs.c: POST /jobs/, PUT /jobs/{id}/, GET /jobs/{id}/.
 *
 * Charging follows the server's views exactly, including the parts a
 * client must defend against: POST charges only with valid dates, a
 * PUT without enddate replaces the amount but not the usages, and a
 * PUT whose body renames the job charges it again as new.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_valid.h"

static const char *const job_keys[] = {
	"jobslurmid", "submitdate", "startdate", "enddate", "userid",
	"accountid", "amount", "jobstatus", "partition", "qos", "nodes",
	"num_cpus", "num_req_nodes", "num_alloc_nodes", "raw_time",
	"cpu_time", NULL
};

/* Model defaults, in the serializer's field order. */
static json_t *
job_template(void)
{
	json_t	*o;
	int	 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; job_keys[i] != NULL; i++)
		if (json_object_set_new(o, job_keys[i], json_null()) == -1)
			goto bad;
	if (json_object_set_new(o, "amount", json_string("0.00")) == -1 ||
	    json_object_set_new(o, "nodes", json_array()) == -1)
		goto bad;
	return o;
bad:
	json_decref(o);
	return NULL;
}

/* Given fields replace stored ones; absent ones are left alone. */
static json_t *
job_merge(const json_t *old, json_t *vals)
{
	json_t	*o;

	o = old != NULL ? json_deep_copy(old) : job_template();
	if (o == NULL || json_object_update_existing(o, vals) == -1) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static struct sim_resp
invalid(struct job_in *in)
{
	struct sim_resp	r;

	if (in->crash)
		r = sim_resp_html();
	else {
		r = sim_resp_make(400, in->errs);
		in->errs = NULL;
	}
	sim_job_in_free(in);
	return r;
}

/* Add delta to both usages, never going below zero. */
static void
charge(struct sim_bank *b, struct job_in *in, int64_t delta)
{
	in->acct->usage += delta;
	if (in->acct->usage < 0)
		in->acct->usage = 0;
	in->member->usage += delta;
	if (in->member->usage < 0)
		in->member->usage = 0;
	b->gen++;
}

/* The allocation-period checks of the server's validate_job_dates(). */
static int
dates_valid(struct sim_bank *b, struct job_in *in, int need_end)
{
	if (!in->has_date[DATE_SUBMIT] || !in->has_date[DATE_START])
		return 0;
	if (in->date[DATE_START] < b->period_start ||
	    in->date[DATE_START] > b->period_end)
		return 0;
	if (!need_end)
		return 1;
	return in->has_date[DATE_END] && in->date[DATE_END] <= b->period_end;
}

/* Store obj as job id (a new entry when j is NULL); obj is consumed. */
static struct sim_job *
store(struct sim_bank *b, struct sim_job *j, const char *id, json_t *obj)
{
	char	*nid;

	if ((nid = strdup(id)) == NULL)
		goto bad;
	if (j == NULL) {
		if ((j = VEC_PUSH(b->jobs)) == NULL) {
			free(nid);
			goto bad;
		}
		j->seq = b->seq++;
	} else {
		if (strcmp(j->id, nid) != 0)
			sim_jobidx_reset(b);	/* renamed */
		free(j->id);
		json_decref(j->obj);
	}
	j->id = nid;
	j->obj = obj;
	if (sim_money_cents(json_string_value(json_object_get(obj, "amount")),
	    &j->amount) == -1)
		j->amount = 0;
	b->gen++;
	return j;
bad:
	json_decref(obj);
	return NULL;
}

static struct sim_resp
stored(struct sim_job *j, int status)
{
	if (j == NULL)
		return sim_resp_html();
	return sim_resp_make(status, json_deep_copy(j->obj));
}

struct sim_resp
sim_jobs_post(struct sim_bank *b, json_t *body)
{
	struct job_in	 in;
	struct sim_job	*j;
	json_t		*obj;

	if (sim_job_validate(b, body, NULL, &in) == -1)
		return invalid(&in);
	/* Overdraw is allowed by design: the job already runs. */
	if (in.has_amount && dates_valid(b, &in, 0))
		charge(b, &in, in.amount);
	obj = job_merge(NULL, in.vals);
	j = obj != NULL ? store(b, NULL, in.id, obj) : NULL;
	sim_job_in_free(&in);
	return stored(j, 201);
}

struct sim_resp
sim_jobs_put(struct sim_bank *b, const char *id, json_t *body)
{
	struct job_in	 in;
	struct sim_job	*self, *prev;
	json_t		*obj;

	self = sim_find_job(b, id);
	if (sim_job_validate(b, body, self, &in) == -1)
		return invalid(&in);
	if (in.has_amount && dates_valid(b, &in, 1)) {
		/* Looked up by the body's id: a rename is charged anew. */
		if ((prev = sim_find_job(b, in.id)) == NULL)
			charge(b, &in, in.amount);
		else
			charge(b, &in, in.amount - prev->amount);
	}
	obj = job_merge(self != NULL ? self->obj : NULL, in.vals);
	self = obj != NULL ? store(b, self, in.id, obj) : NULL;
	sim_job_in_free(&in);
	return stored(self, 200);
}

struct sim_resp
sim_jobs_get(struct sim_bank *b, const char *id)
{
	struct sim_job	*j;

	if ((j = sim_find_job(b, id)) == NULL)
		return sim_resp_make(404,
		    sim_detail("No Job matches the given query."));
	return stored(j, 200);
}
