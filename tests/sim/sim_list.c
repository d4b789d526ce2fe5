/*
 * sim_list.c: the paginated lists: GET /jobs/, /partitions/, /users/.
 * Pages hold SIM_PAGE_SIZE items; next/previous are absolute URLs that
 * keep the filters, as DRF's PageNumberPagination builds them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_priv.h"

/* Append key=value to buf, percent-encoding the value. */
static void
qappend(char *buf, size_t len, const char *key, const char *val)
{
	size_t	off = strlen(buf);

	if (val == NULL || *val == '\0')
		return;
	off += snprintf(buf + off, len > off ? len - off : 0, "%s%s=",
	    strchr(buf, '?') ? "&" : "?", key);
	for (; *val != '\0' && off + 4 < len; val++) {
		if (isalnum((unsigned char)*val) || strchr("-_.~", *val))
			buf[off++] = *val;
		else
			off += snprintf(buf + off, len - off, "%%%02X",
			    (unsigned char)*val);
	}
	buf[off < len ? off : len - 1] = '\0';
}

static json_t *
page_url(const struct sim_query *q, long page)
{
	char	buf[2048], num[32];

	snprintf(buf, sizeof(buf), "%s", q->url ? q->url : "");
	qappend(buf, sizeof(buf), "account", q->account);
	qappend(buf, sizeof(buf), "end_time", q->end_time);
	qappend(buf, sizeof(buf), "jobstatus", q->jobstatus);
	qappend(buf, sizeof(buf), "max_amount", q->max_amount);
	qappend(buf, sizeof(buf), "min_amount", q->min_amount);
	qappend(buf, sizeof(buf), "partition", q->partition);
	qappend(buf, sizeof(buf), "start_time", q->start_time);
	qappend(buf, sizeof(buf), "user", q->user);
	if (page > 1) {
		/* DRF drops page=1 from the previous link. */
		snprintf(num, sizeof(num), "%ld", page);
		qappend(buf, sizeof(buf), "page", num);
	}
	return json_string(buf);
}

/*
 * Cut one page out of items (consumed).  NULL with *status 404 for a
 * bad or too large page number.
 */
json_t *
sim_page(const struct sim_query *q, json_t *items, int *status)
{
	json_t	*res, *out;
	size_t	 n = json_array_size(items), i, first, pages;
	long	 page = 1;
	char	*end;

	pages = n == 0 ? 1 : (n + SIM_PAGE_SIZE - 1) / SIM_PAGE_SIZE;
	if (q->page != NULL && strcmp(q->page, "last") == 0)
		page = pages;
	else if (q->page != NULL) {
		errno = 0;
		page = strtol(q->page, &end, 10);
		if (errno != 0 || end == q->page || *end != '\0')
			page = 0;
	}
	*status = 404;
	if (page < 1 || (size_t)page > pages || (res = json_array()) == NULL) {
		json_decref(items);
		return NULL;
	}
	first = (size_t)(page - 1) * SIM_PAGE_SIZE;
	for (i = first; i < n && i < first + SIM_PAGE_SIZE; i++)
		json_array_append(res, json_array_get(items, i));
	json_decref(items);
	out = json_pack("{s:I,s:o,s:o,s:o}", "count", (json_int_t)n,
	    "next", (size_t)page < pages ? page_url(q, page + 1) : json_null(),
	    "previous", page > 1 ? page_url(q, page - 1) : json_null(),
	    "results", res);
	*status = out != NULL ? 200 : 500;
	return out;
}

static struct sim_resp
paged(const struct sim_query *q, json_t *items)
{
	json_t	*page;
	int	 status;

	if ((page = sim_page(q, items, &status)) == NULL)
		return status == 404 ? sim_resp_make(404,
		    sim_detail("Invalid page.")) : sim_resp_html();
	return sim_resp_make(status, page);
}

struct sim_resp
sim_partitions_list(struct sim_bank *b, const struct sim_query *q)
{
	json_t	*items;
	size_t	 i;

	if ((items = json_array()) == NULL)
		return sim_resp_html();
	for (i = 0; i < b->parts.n; i++)
		json_array_append(items, b->parts.v[i].obj);
	return paged(q, items);
}

struct sim_resp
sim_users_list(struct sim_bank *b, const struct sim_query *q)
{
	json_t	*items;
	size_t	 i;

	if ((items = json_array()) == NULL)
		return sim_resp_html();
	for (i = 0; i < b->users.n; i++)
		json_array_append_new(items, json_pack("{s:s,s:s}", "username",
		    b->users.v[i].username, "email", b->users.v[i].email));
	return paged(q, items);
}
