/*
 * sim_valid.c: field and object validation of a Job body, in DRF's
 * order: every field first (errors collected per field), and only
 * when they all pass, the object-level checks (non_field_errors).
 */
#include <stdio.h>
#include <string.h>

#include "sim_valid.h"

static const char *const date_keys[3] = {
	"submitdate", "startdate", "enddate"
};
static const char *const str_keys[] = { "jobstatus", "partition", "qos",
	NULL };
static const char *const int_keys[] = { "num_cpus", "num_req_nodes",
	"num_alloc_nodes", NULL };
static const char *const num_keys[] = { "raw_time", "cpu_time", NULL };

#define DATE_FORMAT_MSG	"Datetime has wrong format. Use one of these " \
	"formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."

int
sim_job_err(json_t *errs, const char *field, const char *msg)
{
	json_t	*list;

	if ((list = json_object_get(errs, field)) == NULL) {
		if ((list = json_array()) == NULL ||
		    json_object_set_new(errs, field, list) == -1)
			return -1;
	}
	return json_array_append_new(list, json_string(msg));
}

void
sim_job_in_free(struct job_in *in)
{
	json_decref(in->errs);
	json_decref(in->vals);
	in->errs = in->vals = NULL;
}

/* A required/optional CharField; returns the text or NULL. */
static const char *
char_field(struct job_in *in, json_t *body, const char *key, size_t max,
    int required, char *buf, size_t len)
{
	json_t	*v = json_object_get(body, key);
	char	 msg[80];

	if (v == NULL) {
		if (required)
			sim_job_err(in->errs, key, "This field is required.");
		return NULL;
	}
	if (json_is_null(v)) {
		if (required)
			sim_job_err(in->errs, key, "This field may not be null.");
		else
			json_object_set_new(in->vals, key, json_null());
		return NULL;
	}
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else {
		sim_job_err(in->errs, key, "Not a valid string.");
		return NULL;
	}
	if (required && buf[0] == '\0') {
		sim_job_err(in->errs, key, "This field may not be blank.");
		return NULL;
	}
	if (strlen(buf) > max) {
		snprintf(msg, sizeof(msg), "Ensure this field has no more than "
		    "%zu characters.", max);
		sim_job_err(in->errs, key, msg);
		return NULL;
	}
	return buf;
}

static void
check_id(struct sim_bank *b, struct job_in *in, json_t *body,
    struct sim_job *self)
{
	struct sim_job	*j;

	if ((in->id = char_field(in, body, "jobslurmid", 150, 1, in->idbuf,
	    sizeof(in->idbuf))) == NULL)
		return;
	if ((j = sim_find_job(b, in->id)) != NULL && j != self) {
		sim_job_err(in->errs, "jobslurmid",
		    "job with this jobslurmid already exists.");
		in->id = NULL;
		return;
	}
	json_object_set_new(in->vals, "jobslurmid", json_string(in->id));
}

static void
check_user_account(struct sim_bank *b, struct job_in *in, json_t *body)
{
	char	 buf[256], msg[400];
	long	 uid;

	if (char_field(in, body, "userid", 255, 1, buf, sizeof(buf)) != NULL) {
		if (sim_parse_uid(buf, &uid) == -1 ||
		    (in->user = sim_find_user(b, uid)) == NULL) {
			snprintf(msg, sizeof(msg), "UserProfile for cluster_uid "
			    "%s does not exist.", buf);
			sim_job_err(in->errs, "userid", msg);
		} else
			json_object_set_new(in->vals, "userid",
			    json_sprintf("%ld", uid));
	}
	if (char_field(in, body, "accountid", 255, 1, buf, sizeof(buf)) !=
	    NULL) {
		if ((in->acct = sim_find_account(b, buf)) == NULL) {
			snprintf(msg, sizeof(msg), "Project %s does not exist.",
			    buf);
			sim_job_err(in->errs, "accountid", msg);
		} else
			json_object_set_new(in->vals, "accountid",
			    json_string(buf));
	}
}

static void
check_dates(struct job_in *in, json_t *body)
{
	json_t	*v;
	char	 buf[32];
	int	 i;

	for (i = 0; i < 3; i++) {
		if ((v = json_object_get(body, date_keys[i])) == NULL)
			continue;
		if (json_is_null(v)) {
			json_object_set_new(in->vals, date_keys[i], json_null());
			continue;
		}
		if (!json_is_string(v) || sim_date_parse(json_string_value(v),
		    &in->date[i]) == -1) {
			sim_job_err(in->errs, date_keys[i], DATE_FORMAT_MSG);
			continue;
		}
		in->has_date[i] = 1;
		sim_date_fmt(in->date[i], buf, sizeof(buf));
		json_object_set_new(in->vals, date_keys[i], json_string(buf));
	}
}

/* DecimalField(max_digits=11, decimal_places=2), non-negative. */
static void
check_amount(struct job_in *in, json_t *body)
{
	struct sim_amount	 a;
	json_t			*v;
	char			 buf[64];
	const char		*msg = NULL;

	if ((v = json_object_get(body, "amount")) == NULL)
		return;
	if (json_is_string(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld",
		    (long long)json_integer_value(v));
	else if (json_is_real(v))
		/* jansson already made it a double; 15 digits round-trip. */
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
	else {
		sim_job_err(in->errs, "amount", json_is_null(v) ?
		    "This field may not be null." : "A valid number is required.");
		return;
	}
	sim_money_scan(buf, &a);
	if (a.kind == MONEY_NAN) {
		in->crash = 1;
		return;
	}
	if (a.kind != MONEY_NUMBER || a.has_exp)
		msg = "A valid number is required.";
	else if (a.intdigits + a.places > 11)
		msg = "Ensure that there are no more than 11 digits in total.";
	else if (a.places > 2)
		msg = "Ensure that there are no more than 2 decimal places.";
	else if (a.intdigits > 9)
		msg = "Ensure that there are no more than 9 digits before the "
		    "decimal point.";
	else if (a.neg && a.cents != 0)
		msg = "Ensure this value is greater than or equal to 0.";
	if (msg != NULL) {
		sim_job_err(in->errs, "amount", msg);
		return;
	}
	in->has_amount = 1;
	in->amount = a.cents;
	json_object_set_new(in->vals, "amount", sim_money_json(a.cents));
}

static void
check_misc(struct job_in *in, json_t *body)
{
	json_t	*v;
	char	 buf[64];
	int	 i;

	for (i = 0; str_keys[i] != NULL; i++)
		if (char_field(in, body, str_keys[i], 50, 0, buf,
		    sizeof(buf)) != NULL)
			json_object_set_new(in->vals, str_keys[i],
			    json_string(buf));
	for (i = 0; int_keys[i] != NULL; i++) {
		if ((v = json_object_get(body, int_keys[i])) == NULL)
			continue;
		if (json_is_integer(v) || json_is_null(v))
			json_object_set(in->vals, int_keys[i], v);
		else
			sim_job_err(in->errs, int_keys[i],
			    "A valid integer is required.");
	}
	for (i = 0; num_keys[i] != NULL; i++) {
		if ((v = json_object_get(body, num_keys[i])) == NULL)
			continue;
		if (json_is_number(v) || json_is_null(v))
			json_object_set(in->vals, num_keys[i], v);
		else
			sim_job_err(in->errs, num_keys[i],
			    "A valid number is required.");
	}
}

static void
check_nodes(struct job_in *in, json_t *body)
{
	json_t	*v, *n, *out;
	size_t	 i;

	if ((v = json_object_get(body, "nodes")) == NULL)
		return;
	if (!json_is_array(v)) {
		sim_job_err(in->errs, "nodes", "Expected a list of items.");
		return;
	}
	if ((out = json_array()) == NULL)
		return;
	json_array_foreach(v, i, n) {
		if (!json_is_string(json_object_get(n, "name"))) {
			sim_job_err(in->errs, "nodes", "Node needs a name.");
			json_decref(out);
			return;
		}
		json_array_append_new(out, json_pack("{s:O}", "name",
		    json_object_get(n, "name")));
	}
	json_object_set_new(in->vals, "nodes", out);
}

static int
nonfield(struct job_in *in, const char *msg)
{
	sim_job_err(in->errs, "non_field_errors", msg);
	return -1;
}

/* Membership, allocation, date order, and for PUT the stored owner. */
static int
check_object(struct sim_bank *b, struct job_in *in, struct sim_job *self)
{
	const char	*u = in->user->username, *a = in->acct->name;
	const char	*su, *sa;
	char		 msg[400];

	if ((in->member = sim_find_member(b, in->user->uid, a)) == NULL) {
		snprintf(msg, sizeof(msg), "User %s is not a member of account "
		    "%s.", u, a);
		return nonfield(in, msg);
	}
	if (!in->acct->active) {
		snprintf(msg, sizeof(msg), "Account %s has no active compute "
		    "allocation.", a);
		return nonfield(in, msg);
	}
	if (!in->member->on_alloc) {
		snprintf(msg, sizeof(msg), "User %s is not an active member of "
		    "the compute allocation for account %s.", u, a);
		return nonfield(in, msg);
	}
	if (in->has_date[DATE_SUBMIT] && in->has_date[DATE_START] &&
	    in->date[DATE_START] < in->date[DATE_SUBMIT])
		return nonfield(in, "Job startdate is before its submitdate.");
	if (in->has_date[DATE_START] && in->has_date[DATE_END] &&
	    in->date[DATE_END] < in->date[DATE_START])
		return nonfield(in, "Job enddate is before its startdate.");
	if (in->has_date[DATE_SUBMIT] && in->has_date[DATE_END] &&
	    in->date[DATE_END] < in->date[DATE_SUBMIT])
		return nonfield(in, "Job enddate is before its submitdate.");
	if (self == NULL)
		return 0;
	su = json_string_value(json_object_get(self->obj, "userid"));
	sa = json_string_value(json_object_get(self->obj, "accountid"));
	snprintf(msg, sizeof(msg), "%ld", in->user->uid);
	if (su == NULL || strcmp(su, msg) != 0)
		return nonfield(in, "The user does not match the Job's user.");
	if (sa == NULL || strcmp(sa, a) != 0)
		return nonfield(in,
		    "The account does not match the Job's account.");
	return 0;
}

/*
 * Returns 0 when valid, -1 with in->errs filled (or in->crash set).
 * self is the stored job a PUT updates, NULL for a create.
 */
int
sim_job_validate(struct sim_bank *b, json_t *body, struct sim_job *self,
    struct job_in *in)
{
	char	msg[128];

	memset(in, 0, sizeof(*in));
	if ((in->errs = json_object()) == NULL ||
	    (in->vals = json_object()) == NULL)
		return -1;
	if (!json_is_object(body)) {
		snprintf(msg, sizeof(msg), "Invalid data. Expected a dictionary, "
		    "but got %s.", json_is_array(body) ? "list" : "str");
		return nonfield(in, msg);
	}
	check_id(b, in, body, self);
	check_user_account(b, in, body);
	check_dates(in, body);
	check_amount(in, body);
	check_misc(in, body);
	check_nodes(in, body);
	if (in->crash || json_object_size(in->errs) != 0)
		return -1;
	return check_object(b, in, self);
}
