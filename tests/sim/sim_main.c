/*
 * sim_main.c: mybrc-sim's command line, setup, persistence, logging
 * and clean shutdown.
 *
 * usage: mybrc-sim --listen HOST:PORT --control HOST:PORT --fixture FILE
 *	[--base PATH] [--state FILE] [--pidfile FILE] [--log FILE]
 */
#include <sys/time.h>

#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/http.h>

#include "sim_srv.h"

double
srv_now(void)
{
	struct timeval	tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

void
srv_log(struct srv *s, const char *method, const char *path, int status,
    double secs)
{
	fprintf(s->log, "%.3f %s %s %d %.1fms\n", srv_now(), method, path,
	    status, secs * 1000);
	fflush(s->log);
}

/* Write the whole file or fail. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

/* Atomically replace the state file: temp file, fsync, rename. */
int
srv_save(struct srv *s)
{
	json_t	*st;
	char	*text = NULL, tmp[4096];
	int	 fd = -1, rc = -1;

	if (s->state_path == NULL)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", s->state_path, (long)getpid());
	if ((st = sim_state_dump(s->bank)) == NULL ||
	    (text = json_dumps(st, JSON_INDENT(1))) == NULL)
		goto out;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write_all(fd, text, strlen(text)) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1) {
		if (fd != -1)
			close(fd);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, s->state_path) == -1) {
		unlink(tmp);
		goto out;
	}
	s->saved_gen = sim_bank_generation(s->bank);
	rc = 0;
out:
	if (rc == -1)
		warn("saving state to %s", s->state_path);
	free(text);
	json_decref(st);
	return rc;
}

static void
split_hostport(const char *arg, char *host, size_t len, int *port)
{
	const char	*c;
	char		*end;
	long		 p;

	if ((c = strrchr(arg, ':')) == NULL || (size_t)(c - arg) >= len)
		errx(2, "%s: expected HOST:PORT", arg);
	p = strtol(c + 1, &end, 10);
	if (*end != '\0' || p < 0 || p > 65535)
		errx(2, "%s: bad port", arg);
	snprintf(host, len, "%.*s", (int)(c - arg), arg);
	*port = (int)p;
}

static int
bound_port(struct evhttp_bound_socket *bs)
{
	struct sockaddr_storage	ss;
	socklen_t		len = sizeof(ss);

	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&ss, &len) == -1)
		err(1, "getsockname");
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
load_bank(struct srv *s, const char *fixture)
{
	json_error_t	 e;
	json_t		*j;
	char		 msg[256];

	if ((s->bank = sim_bank_new()) == NULL)
		err(1, "sim_bank_new");
	if ((j = json_load_file(fixture, 0, &e)) == NULL)
		errx(1, "%s:%d: %s", fixture, e.line, e.text);
	if (sim_bank_load_fixture(s->bank, j, msg, sizeof(msg)) == -1)
		errx(1, "%s: %s", fixture, msg);
	json_decref(j);
	if (s->state_path == NULL || access(s->state_path, F_OK) == -1)
		return;
	if ((j = json_load_file(s->state_path, 0, &e)) == NULL)
		errx(1, "%s:%d: %s", s->state_path, e.line, e.text);
	if (sim_state_load(s->bank, j, msg, sizeof(msg)) == -1)
		errx(1, "%s: %s", s->state_path, msg);
	json_decref(j);
	s->saved_gen = sim_bank_generation(s->bank);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct srv	*s = arg;

	(void)what;
	fprintf(s->log, "signal %d: stopping\n", (int)sig);
	if (s->state_path != NULL)
		srv_save(s);
	event_base_loopexit(s->base, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: mybrc-sim --listen HOST:PORT --control "
	    "HOST:PORT --fixture FILE\n\t[--base PATH] [--state FILE] "
	    "[--pidfile FILE] [--log FILE]\n");
	exit(2);
}

struct opts {
	const char	*listen, *control, *fixture, *pidfile, *logfile;
};

static void
parse_args(int argc, char **argv, struct srv *s, struct opts *o)
{
	static const struct option	 lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "control", required_argument, NULL, 'c' },
		{ "fixture", required_argument, NULL, 'f' },
		{ "base", required_argument, NULL, 'b' },
		{ "state", required_argument, NULL, 's' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "log", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 }
	};
	int				 ch;

	memset(o, 0, sizeof(*o));
	s->base_path = "/mybrc-rest";
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'c': o->control = optarg; break;
		case 'f': o->fixture = optarg; break;
		case 'b': s->base_path = optarg; break;
		case 's': s->state_path = optarg; break;
		case 'p': o->pidfile = optarg; break;
		case 'g': o->logfile = optarg; break;
		default: usage();
		}
	}
	if (o->listen == NULL || o->control == NULL || o->fixture == NULL ||
	    optind != argc)
		usage();
	/* "/api/" and "/api" name the same base. */
	if (strlen(s->base_path) > 1 &&
	    s->base_path[strlen(s->base_path) - 1] == '/') {
		char	*b = strdup(s->base_path);

		if (b == NULL)
			err(1, "strdup");
		b[strlen(b) - 1] = '\0';
		s->base_path = b;
	}
}

static void
listen_all(struct srv *s, const struct opts *o)
{
	struct evhttp_bound_socket	*cs;

	split_hostport(o->listen, s->api_host, sizeof(s->api_host),
	    &s->api_port);
	split_hostport(o->control, s->ctl_host, sizeof(s->ctl_host), &s->ctl_port);
	if ((s->api = evhttp_new(s->base)) == NULL ||
	    (s->ctl = evhttp_new(s->base)) == NULL)
		errx(1, "evhttp_new");
	evhttp_set_allowed_methods(s->api, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(s->api, api_cb, s);
	evhttp_set_gencb(s->ctl, ctl_cb, s);
	if ((s->api_sock = evhttp_bind_socket_with_handle(s->api, s->api_host,
	    s->api_port)) == NULL)
		errx(1, "cannot listen on %s", o->listen);
	/* Port 0: keep the one we got, so "refuse" can reopen it. */
	s->api_port = bound_port(s->api_sock);
	if ((cs = evhttp_bind_socket_with_handle(s->ctl, s->ctl_host,
	    s->ctl_port)) == NULL)
		errx(1, "cannot listen on %s", o->control);
	s->ctl_port = bound_port(cs);
}

static void
write_pidfile(const char *path)
{
	FILE	*f;

	if (path == NULL)
		return;
	if ((f = fopen(path, "w")) == NULL || fprintf(f, "%ld\n",
	    (long)getpid()) < 0 || fclose(f) == EOF)
		err(1, "%s", path);
}

int
main(int argc, char **argv)
{
	struct srv	 s;
	struct opts	 o;
	struct event	*sigterm, *sigint;
	struct event_config *cfg;

	memset(&s, 0, sizeof(s));
	s.log = stderr;
	parse_args(argc, argv, &s, &o);
	if (o.logfile != NULL && (s.log = fopen(o.logfile, "a")) == NULL)
		err(1, "%s", o.logfile);
	signal(SIGPIPE, SIG_IGN);
	load_bank(&s, o.fixture);
	/*
	 * A precise clock: libevent's default is CLOCK_MONOTONIC_COARSE,
	 * which ticks every 4 ms here, and turned a latency fault of 1 ms
	 * into about 4 ms.
	 */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0 ||
	    (s.base = event_base_new_with_config(cfg)) == NULL)
		errx(1, "event_base_new");
	event_config_free(cfg);
	listen_all(&s, &o);
	if ((sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s)) == NULL ||
	    (sigint = evsignal_new(s.base, SIGINT, on_signal, &s)) == NULL ||
	    evsignal_add(sigterm, NULL) == -1 || evsignal_add(sigint, NULL) ==
	    -1)
		errx(1, "signal events");
	write_pidfile(o.pidfile);
	printf("mybrc-sim ready api=%s:%d control=%s:%d\n", s.api_host,
	    s.api_port, s.ctl_host, s.ctl_port);
	fflush(stdout);
	event_base_dispatch(s.base);
	event_free(sigterm);
	event_free(sigint);
	evhttp_free(s.api);
	evhttp_free(s.ctl);
	event_base_free(s.base);
	sim_bank_free(s.bank);
	if (o.pidfile != NULL)
		unlink(o.pidfile);
	return 0;
}
