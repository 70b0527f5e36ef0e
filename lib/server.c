/* SPDX-License-Identifier: ISC */
/*
 * Accepted connections.  One evconnlistener per listening socket; every
 * client becomes a struct conn with a bufferevent, and leaves through
 * conn_close(), the one teardown, which says why.  Running out of file
 * descriptors pauses accepting for a second instead of spinning.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "listen.h"
#include "log.h"
#include "server.h"

#define SERVER_BACKOFF_SEC	1
#define SERVER_LINGER_SEC	30	/* a closing client must read by then */

struct server {
	struct event_base	*base;
	struct evconnlistener	*listeners[LISTEN_MAX];
	int			 nlisteners;
	struct event		*backoff_ev;
	struct event		*deadline_ev;
	const struct server_ops	*ops;
	struct server_limits	 limits;
	struct server_stats	 stats;
	void			*arg;
	int			 shutting_down;
	time_t			 last_refusal_log;
	TAILQ_HEAD(, conn)	 conns;
};

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	server_accept_error_cb(struct evconnlistener *, void *);
static void	server_backoff_cb(evutil_socket_t, short, void *);
static void	server_deadline_cb(evutil_socket_t, short, void *);
static void	server_listeners_enable(struct server *, int);
static void	server_maybe_done(struct server *);
static void	server_refuse(struct server *, evutil_socket_t,
		    struct sockaddr *);
static void	conn_read_cb(struct bufferevent *, void *);
static int	conn_buffered_setup(struct conn *, evutil_socket_t);
static int	conn_lean_setup(struct conn *, evutil_socket_t);
static void	conn_lean_read_cb(evutil_socket_t, short, void *);
static void	conn_lean_write_cb(evutil_socket_t, short, void *);
static void	conn_lean_flushed(struct conn *);
static void	conn_lean_discard(struct conn *, evutil_socket_t);
static void	conn_lean_read_update(struct conn *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);

struct server *
server_new(struct event_base *base, const struct listen_set *set,
    const struct server_ops *ops, const struct server_limits *limits,
    void *arg)
{
	struct server *srv;
	int i;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->base = base;
	srv->ops = ops;
	srv->limits = *limits;
	srv->arg = arg;
	TAILQ_INIT(&srv->conns);
	srv->backoff_ev = evtimer_new(base, server_backoff_cb, srv);
	srv->deadline_ev = evtimer_new(base, server_deadline_cb, srv);
	if (srv->backoff_ev == NULL || srv->deadline_ev == NULL)
		goto fail;
	for (i = 0; i < set->nfds; i++) {
		/* Backlog 0: the socket already listens (ours or systemd's). */
		srv->listeners[i] = evconnlistener_new(base, server_accept_cb,
		    srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0,
		    set->fds[i]);
		if (srv->listeners[i] == NULL)
			goto fail;
		evconnlistener_set_error_cb(srv->listeners[i],
		    server_accept_error_cb);
		srv->nlisteners++;
	}
	return srv;
fail:
	server_free(srv);
	return NULL;
}

void *
server_arg(const struct server *srv)
{
	return srv->arg;
}

struct event_base *
server_base(const struct server *srv)
{
	return srv->base;
}

const struct server_stats *
server_stats(const struct server *srv)
{
	return &srv->stats;
}

struct conn *
server_first(struct server *srv)
{
	return TAILQ_FIRST(&srv->conns);
}

struct conn *
server_next(struct conn *c)
{
	return TAILQ_NEXT(c, entry);
}

static void
server_listeners_enable(struct server *srv, int on)
{
	int i;

	for (i = 0; i < srv->nlisteners; i++)
		if (on)
			evconnlistener_enable(srv->listeners[i]);
		else
			evconnlistener_disable(srv->listeners[i]);
}

/* Out of descriptors or memory: stop accepting for a while, never spin. */
static void
server_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { SERVER_BACKOFF_SEC, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		log_warnx("accept: %s: pausing for %d s (%lu clients)",
		    strerror(err), SERVER_BACKOFF_SEC, srv->stats.clients);
		server_listeners_enable(srv, 0);
		evtimer_add(srv->backoff_ev, &tv);
		break;
	default:
		/* ECONNABORTED and friends concern one client only. */
		log_debug("accept: %s", strerror(err));
		break;
	}
}

static void
server_backoff_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	if (!srv->shutting_down)
		server_listeners_enable(srv, 1);
}

/* At --max-clients: say so and close, without holding anything. */
static void
server_refuse(struct server *srv, evutil_socket_t fd, struct sockaddr *sa)
{
	time_t now = time(NULL);

	srv->stats.refused++;
	if (srv->limits.busy_reply != NULL)
		(void)send(fd, srv->limits.busy_reply,
		    strlen(srv->limits.busy_reply), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
	/* One line a second at most, whatever the flood. */
	if (now != srv->last_refusal_log) {
		srv->last_refusal_log = now;
		log_peer(LOG_NOTICE, sa, "refused: %lu clients already "
		    "(--max-clients)", srv->stats.clients);
	}
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
	struct conn *c;
	int on = 1;

	if (srv->shutting_down) {
		close(fd);
		return;
	}
	if (srv->limits.max_clients != 0 &&
	    srv->stats.clients >= srv->limits.max_clients) {
		server_refuse(srv, fd, sa);
		return;
	}
	/* A lean conn carries its read event in the same allocation. */
	c = calloc(1, sizeof(*c) +
	    (srv->limits.lean ? event_get_struct_event_size() : 0));
	if (c == NULL) {
		log_warn("accept: calloc");
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	if ((size_t)salen > sizeof(c->peer))
		salen = sizeof(c->peer);
	memcpy(&c->peer, sa, (size_t)salen);
	if (srv->limits.rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &srv->limits.rcvbuf,
		    sizeof(srv->limits.rcvbuf));
	c->peerlen = (socklen_t)salen;
	if (addr_format(sa, c->host, sizeof(c->host), &c->port) == -1)
		strcpy(c->host, "local");
	/* Small lines must leave at once, not wait for an ACK (Nagle). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (srv->limits.sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->limits.sndbuf,
		    sizeof(srv->limits.sndbuf));
	if (srv->limits.lean ? conn_lean_setup(c, fd) == -1 :
	    conn_buffered_setup(c, fd) == -1) {
		log_warnx("accept: cannot watch the client socket");
		close(fd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->stats.clients++;
	srv->stats.accepted++;
	log_peer(LOG_INFO, &c->peer.sa, "connected");
	if (srv->ops->accepted != NULL && srv->ops->accepted(c) == -1) {
		conn_close(c, "refused by the daemon");
		return;
	}
	if (c->bev != NULL && bufferevent_enable(c->bev, EV_READ) == -1)
		conn_close(c, "cannot watch the socket");
}

/* A bufferevent with the server's limits; reading starts once accepted. */
static int
conn_buffered_setup(struct conn *c, evutil_socket_t fd)
{
	struct server *srv = c->srv;

	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		return -1;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	if (srv->limits.max_input != 0)
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    srv->limits.max_input);
	if (srv->limits.idle.tv_sec != 0 || srv->limits.idle.tv_usec != 0)
		bufferevent_set_timeouts(c->bev, &srv->limits.idle, NULL);
	return 0;
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->srv->ops->readable != NULL)
		c->srv->ops->readable(c);
	else
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
}

/* Called once the output buffer is empty again. */
static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->closing) {
		conn_close(c, c->closing_why);
		return;
	}
	if (c->srv->ops->drained != NULL)
		c->srv->ops->drained(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char why[128];

	/* A bufferevent of conn_replace_bev() finished its handshake. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		conn_drop(c, "output not read before closing");
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		conn_close_after_flush(c, "idle timeout");
		return;
	}
	if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) &&
	    c->srv->ops->eof != NULL) {
		bufferevent_disable(bev, EV_READ);
		c->srv->ops->eof(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "%s",
		    strerror(EVUTIL_SOCKET_ERROR()));
		conn_close(c, why);
		return;
	}
	conn_close(c, "closed by the client");
}

/* The read event of a lean conn lives right after the struct. */
static int
conn_lean_setup(struct conn *c, evutil_socket_t fd)
{
	c->lean_rev = (struct event *)(void *)(c + 1);
	if (event_assign(c->lean_rev, c->srv->base, fd, EV_READ | EV_PERSIST,
	    conn_lean_read_cb, c) == -1)
		return -1;
	c->lean_reading = 1;
	return event_add(c->lean_rev, NULL);
}

/* Input nobody reads (no ops->readable): thrown away; EOF and errors end it. */
static void
conn_lean_discard(struct conn *c, evutil_socket_t fd)
{
	char buf[1024];
	ssize_t n;
	int i;

	/* A few reads per wake-up: a chatty client cannot hog the loop. */
	for (i = 0; i < 4; i++) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		if (n == 0) {
			c->lean_eof = 1;
			conn_lean_read_update(c);
			if (c->srv->ops->eof != NULL)
				c->srv->ops->eof(c);
			else
				conn_close(c, "closed by the client");
			return;
		}
		conn_close(c, strerror(errno));
		return;
	}
}

/*
 * Input of a lean conn goes to an evbuffer made for it, at most up to
 * max_input; the daemon takes it in ops->readable, and what it leaves
 * keeps the buffer alive.  An emptied buffer is given back at once, so
 * that idle clients hold none.
 */
static void
conn_lean_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct server_ops *ops = c->srv->ops;
	size_t have, room = 16384;
	int n;

	if (ops->readable == NULL) {
		conn_lean_discard(c, fd);
		return;
	}
	if (c->lean_in == NULL && (c->lean_in = evbuffer_new()) == NULL) {
		conn_close(c, "out of memory");
		return;
	}
	have = evbuffer_get_length(c->lean_in);
	if (c->srv->limits.max_input != 0)
		room = have < c->srv->limits.max_input ?
		    c->srv->limits.max_input - have : 0;
	if (room == 0) {
		conn_lean_read_update(c);
		return;
	}
	n = evbuffer_read(c->lean_in, fd, (int)(room < 16384 ? room : 16384));
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c, strerror(errno));
		return;
	}
	c->in_callback = 1;
	if (n == 0) {
		c->lean_eof = 1;
		conn_lean_read_update(c);
		if (ops->eof != NULL)
			ops->eof(c);
		else
			conn_close(c, "closed by the client");
	} else
		ops->readable(c);
	c->in_callback = 0;
	if (c->dead) {
		free(c);
		return;
	}
	if (c->lean_in != NULL && evbuffer_get_length(c->lean_in) == 0) {
		evbuffer_free(c->lean_in);
		c->lean_in = NULL;
	}
	conn_lean_read_update(c);
}

/* Reads while nobody paused us, the client may still send, and room is left. */
static void
conn_lean_read_update(struct conn *c)
{
	size_t max = c->srv->limits.max_input;
	int want;

	want = !c->read_paused && !c->closing && !c->lean_eof &&
	    !(max != 0 && c->lean_in != NULL &&
	    evbuffer_get_length(c->lean_in) >= max);
	if (want == (int)c->lean_reading)
		return;
	if (want)
		event_add(c->lean_rev, NULL);
	else
		event_del(c->lean_rev);
	c->lean_reading = want;
}

/* The input buffer, for lean and buffered connections alike. */
struct evbuffer *
conn_input(struct conn *c)
{
	if (c->bev != NULL)
		return bufferevent_get_input(c->bev);
	if (c->lean_in == NULL)
		c->lean_in = evbuffer_new();
	return c->lean_in;
}

/* Stop reading (backpressure) until conn_read_resume(). */
void
conn_read_pause(struct conn *c)
{
	c->read_paused = 1;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ);
	else
		conn_lean_read_update(c);
}

void
conn_read_resume(struct conn *c)
{
	c->read_paused = 0;
	if (c->closing)
		return;
	if (c->bev != NULL)
		bufferevent_enable(c->bev, EV_READ);
	else
		conn_lean_read_update(c);
}

/*
 * Puts a new bufferevent on the conn's socket in place of the old one
 * (e.g. a TLS bufferevent made on c->fd after the client asked for it):
 * the old one lets go of the socket without closing it, the new one gets
 * the server's callbacks and limits, and everything is sent through it
 * from then on.  Only while nothing is queued either way; -1 otherwise
 * (nbev is then the caller's).
 */
int
conn_replace_bev(struct conn *c, struct bufferevent *nbev)
{
	struct server *srv = c->srv;
	struct bufferevent *old = c->bev;

	if (old == NULL ||
	    evbuffer_get_length(bufferevent_get_output(old)) != 0 ||
	    evbuffer_get_length(bufferevent_get_input(old)) != 0)
		return -1;
	bufferevent_setcb(nbev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	if (srv->limits.max_input != 0)
		bufferevent_setwatermark(nbev, EV_READ, 0,
		    srv->limits.max_input);
	if (srv->limits.idle.tv_sec != 0 || srv->limits.idle.tv_usec != 0)
		bufferevent_set_timeouts(nbev, &srv->limits.idle, NULL);
	bufferevent_setfd(old, -1);
	bufferevent_free(old);
	c->bev = nbev;
	c->no_direct = 1;
	if (!c->read_paused && !c->closing)
		return bufferevent_enable(nbev, EV_READ);
	return 0;
}

static void
conn_lean_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int n;

	if (what & EV_TIMEOUT) {
		conn_drop(c, "output not read before closing");
		return;
	}
	n = evbuffer_write(c->lean_out, fd);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		conn_close(c, strerror(errno));
		return;
	}
	if (evbuffer_get_length(c->lean_out) == 0)
		conn_lean_flushed(c);
}

/* Output caught up: give the queue back, it is rarely needed again. */
static void
conn_lean_flushed(struct conn *c)
{
	event_free(c->lean_wev);
	evbuffer_free(c->lean_out);
	c->lean_wev = NULL;
	c->lean_out = NULL;
	if (c->closing) {
		conn_close(c, c->closing_why);
		return;
	}
	if (c->srv->ops->drained != NULL)
		c->srv->ops->drained(c);
}

/* Bytes queued and not yet taken by the kernel. */
size_t
conn_output_len(const struct conn *c)
{
	if (c->bev == NULL)
		return c->lean_out != NULL ?
		    evbuffer_get_length(c->lean_out) : 0;
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/*
 * Sends data: straight to the socket while nothing is queued (no extra
 * event round trip), the rest queued.  A client whose queue would pass
 * max_output is dropped: it is not reading.  Returns -1 when c is gone.
 */
int
conn_send(struct conn *c, const void *data, size_t len)
{
	struct server *srv = c->srv;
	const char *p = data;
	ssize_t n;

	if (conn_output_len(c) == 0 && !c->no_direct) {
		n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				conn_close(c, strerror(errno));
				return -1;
			}
			n = 0;
		}
		srv->stats.bytes_out += (unsigned long long)n;
		p += n;
		len -= (size_t)n;
		if (len == 0)
			return 0;
	}
	if (srv->limits.max_output != 0 &&
	    conn_output_len(c) + len > srv->limits.max_output) {
		conn_drop(c, "not reading: output bound reached");
		return -1;
	}
	if (c->bev == NULL) {
		if (c->lean_out == NULL) {
			c->lean_out = evbuffer_new();
			c->lean_wev = event_new(srv->base, c->fd,
			    EV_WRITE | EV_PERSIST, conn_lean_write_cb, c);
			if (c->lean_out == NULL || c->lean_wev == NULL ||
			    event_add(c->lean_wev, NULL) == -1) {
				conn_close(c, "out of memory");
				return -1;
			}
		}
		if (evbuffer_add(c->lean_out, p, len) == -1) {
			conn_close(c, "out of memory");
			return -1;
		}
	} else if (bufferevent_write(c->bev, p, len) == -1) {
		conn_close(c, "out of memory");
		return -1;
	}
	srv->stats.bytes_out += len;
	return 0;
}

/* Bytes a caller sent on a client's socket itself (lib/fanout.c). */
void
server_count_out(struct server *srv, size_t n)
{
	srv->stats.bytes_out += n;
}

/* Closed for breaking a limit: counted apart, logged as a warning. */
void
conn_drop(struct conn *c, const char *why)
{
	c->srv->stats.dropped++;
	log_peer(LOG_WARNING, &c->peer.sa, "dropped: %s", why);
	c->closing_why = NULL;
	conn_close(c, NULL);
}

/* The one teardown: logs why, lets the daemon free its state, counts. */
void
conn_close(struct conn *c, const char *why)
{
	struct server *srv = c->srv;

	if (why != NULL)
		log_peer(LOG_INFO, &c->peer.sa,
		    "disconnected: %s", why);
	if (srv->ops->closed != NULL)
		srv->ops->closed(c, why);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->stats.clients--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	else {
		event_del(c->lean_rev);
		if (c->lean_wev != NULL)
			event_free(c->lean_wev);
		if (c->lean_out != NULL)
			evbuffer_free(c->lean_out);
		if (c->lean_in != NULL)
			evbuffer_free(c->lean_in);
		close(c->fd);
	}
	/* Inside the conn's own read callback: that frees it on return. */
	if (c->in_callback)
		c->dead = 1;
	else
		free(c);
	server_maybe_done(srv);
}

/* Stops reading and closes once what is queued has gone out. */
void
conn_close_after_flush(struct conn *c, const char *why)
{
	struct timeval linger = c->srv->limits.linger;

	if (linger.tv_sec == 0 && linger.tv_usec == 0)
		linger.tv_sec = SERVER_LINGER_SEC;
	c->closing = 1;
	c->closing_why = why;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ);
	else
		conn_lean_read_update(c);
	if (conn_output_len(c) == 0) {
		conn_close(c, why);
		return;
	}
	/*
	 * A client that stops reading must not hold us: without progress
	 * for a while the rest is dropped.
	 */
	if (c->bev != NULL)
		bufferevent_set_timeouts(c->bev, NULL, &linger);
	else
		event_add(c->lean_wev, &linger);
}

/* During shutdown the loop ends when the last client has gone. */
static void
server_maybe_done(struct server *srv)
{
	if (srv->shutting_down && TAILQ_EMPTY(&srv->conns)) {
		evtimer_del(srv->deadline_ev);
		event_base_loopexit(srv->base, NULL);
	}
}

static void
server_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct conn *c;

	log_info("shutdown deadline: closing %lu clients",
	    srv->stats.clients);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_close(c, "shutdown");
	event_base_loopexit(srv->base, NULL);
}

/*
 * Graceful stop: no new clients; each client is closed after its output
 * (or as ops->stopping decides); the loop exits when none are left or the
 * grace period ends.
 */
void
server_shutdown(struct server *srv, const struct timeval *grace)
{
	struct conn *c, *next;
	int i;

	srv->shutting_down = 1;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
	evtimer_add(srv->deadline_ev, grace);
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (srv->ops->stopping != NULL)
			srv->ops->stopping(c);
		else
			conn_close_after_flush(c, "shutdown");
	}
	server_maybe_done(srv);
}

void
server_free(struct server *srv)
{
	struct conn *c;
	int i;

	if (srv == NULL)
		return;
	srv->shutting_down = 0;
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_close(c, NULL);
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	if (srv->backoff_ev != NULL)
		event_free(srv->backoff_ev);
	if (srv->deadline_ev != NULL)
		event_free(srv->deadline_ev);
	free(srv);
}
