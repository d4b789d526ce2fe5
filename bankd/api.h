/*
 * api.h - the myBRC REST client: libcurl's multi interface driven by
 * bankd's libevent loop.  Requests never block the loop; connections are
 * kept and reused across requests.  It moves bytes and knows no route:
 * portal.c knows what to ask and what the answers mean.
 */
#ifndef API_H
#define API_H

#include <event2/event.h>
#include <jansson.h>

struct api;

struct api_reply {
	long		 status;	/* HTTP status, 0 if none arrived */
	char		*body;		/* NUL-terminated, maybe empty */
	size_t		 len;
	const char	*transport;	/* curl's error when status is 0 */
	const char	*location;	/* a 3xx's target, or NULL */
	double		 seconds;
};

typedef void	 (*api_cb)(const struct api_reply *, void *arg);

struct api	*api_new(struct event_base *, const char *base_url,
		    const char *token, int timeout_ms, int max_conns);
void		 api_free(struct api *);

/*
 * Start a request.  path is relative to the base URL and must end in '/'
 * (the server redirects otherwise and loses the body).  body may be NULL.
 * cb runs exactly once, from the event loop, unless api_new failed.
 */
int		 api_request(struct api *, const char *method, const char *path,
		    const char *body, api_cb, void *arg);
/* The same with a malloc'd body, which it takes (freed even on error). */
int		 api_request_take(struct api *, const char *method,
		    const char *path, char *body, api_cb, void *arg);

/* Where each request's route and status is counted (metrics). */
struct counters;
void		 api_set_counters(struct api *, struct counters *);

/* A new token (api.token_file read again on SIGHUP); 0 or -1. */
int		 api_set_token(struct api *, const char *token);

/*
 * The body as JSON, or NULL: error bodies are sometimes HTML pages.
 * api_describe() writes a one-line summary fit for logs and for users.
 */
json_t		*api_reply_json(const struct api_reply *);

/*
 * s as one URL path segment: RFC 3986's unreserved characters as they
 * are, every other byte %XX.  -1 for "", "." and ".." (which a client
 * folds out of the path) or when out[len] is too small.
 */
int		 api_segment(const char *s, char *out, size_t len);
void		 api_describe(const struct api_reply *, char *buf, size_t len);

#endif /* API_H */
