/* SPDX-License-Identifier: ISC */
/*
 * Accepted connections.  One evconnlistener per listening socket; every
 * client becomes a struct conn in one of the I/O modes (conn_lean.c,
 * conn_buffered.c), reached through its conn_io table only, and leaves
 * through conn_close(), the one teardown, which says why.  Running out of
 * file descriptors pauses accepting for a second instead of spinning.
 *
 * A connection closed while the server is held (inside any callback the
 * server runs, or between server_hold() and server_release()) is torn
 * down at once but its memory waits for the last release: whoever still
 * holds a pointer to it (the callback's caller, a loop over clients) can
 * still ask conn_closing().
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "log.h"
#include "server_impl.h"
#include "sharedbuf.h"

#define SERVER_BACKOFF_SEC	1
#define SERVER_LINGER_SEC	30	/* a closing client must read by then */
#define CONN_SHARED_COPY_MAX	128	/* shorter rests are copied, see below */

/* What any client can make us log, each within its limit. */
static struct log_limit server_log_connected =
    LOG_LIMIT("connections", 100);
static struct log_limit server_log_disconnected =
    LOG_LIMIT("disconnections", 100);
static struct log_limit server_log_refused = LOG_LIMIT("refusals", 5);
static struct log_limit server_log_dropped = LOG_LIMIT("dropped clients", 5);

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	server_accept_error_cb(struct evconnlistener *, void *);
static void	server_backoff_cb(evutil_socket_t, short, void *);
static void	server_busy(struct server *, int, const struct sockaddr *,
		    const char *, const char *, va_list)
		    __attribute__((format(printf, 5, 0)));
static void	server_deadline_cb(evutil_socket_t, short, void *);
static void	server_listeners_enable(struct server *, int);
static void	server_maybe_done(struct server *);
static void	server_refuse(struct server *, int, const struct sockaddr *,
		    const char *, ...) __attribute__((format(printf, 4, 5)));
static void	server_setsockopts(struct server *, int);

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
	srv->io = limits->lean ? &conn_lean_io : &conn_buffered_io;
	srv->limits = *limits;
	srv->arg = arg;
	TAILQ_INIT(&srv->conns);
	SLIST_INIT(&srv->dead);
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

/*
 * The next open connection.  c itself may have been closed since (while
 * held): the links it had still lead on.
 */
struct conn *
server_next(struct conn *c)
{
	do
		c = TAILQ_NEXT(c, entry);
	while (c != NULL && c->dead);
	return c;
}

/* Closed connections keep their memory until the matching release. */
void
server_hold(struct server *srv)
{
	srv->holds++;
}

void
server_release(struct server *srv)
{
	struct conn *c;

	if (--srv->holds > 0)
		return;
	while ((c = SLIST_FIRST(&srv->dead)) != NULL) {
		SLIST_REMOVE_HEAD(&srv->dead, dead_entry);
		free(c);
	}
}

/* Bytes a caller sent on a client's socket itself (lib/fanout.c). */
void
server_count_out(struct server *srv, size_t n)
{
	srv->stats.bytes_out += n;
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

	if (!srv->shutting_down && !srv->not_accepting)
		server_listeners_enable(srv, 1);
}

/*
 * The clients are a successor's now (lib/handover.c): nothing more is
 * sent to any of them, whatever a daemon's callbacks try while the server
 * is freed; closing them only lets go of this process's copies.
 */
void
server_let_go(struct server *srv)
{
	srv->let_go = 1;
}

/*
 * No more clients for now, the listening sockets kept (for a hand-over):
 * newcomers wait in the backlog for whoever serves them next.
 */
void
server_stop_accepting(struct server *srv)
{
	srv->not_accepting = 1;
	server_listeners_enable(srv, 0);
}

/*
 * The one way a client is turned away busy: the reply straight to the
 * socket (nothing else has been sent on it), counted, and logged within
 * the limit of refusals whatever the flood.
 */
static void
server_busy(struct server *srv, int fd, const struct sockaddr *sa,
    const char *reply, const char *fmt, va_list ap)
{
	char why[256];

	srv->stats.refused++;
	if (reply != NULL)
		(void)send(fd, reply, strlen(reply),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	log_limited(&server_log_refused, LOG_NOTICE, sa, "refused: %s", why);
}

/* Before a conn exists (--max-clients): busy, and the socket closed. */
static void
server_refuse(struct server *srv, int fd, const struct sockaddr *sa,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	server_busy(srv, fd, sa, srv->limits.busy_reply, fmt, ap);
	va_end(ap);
	close(fd);
}

/*
 * For ops->accepted, at a limit of the daemon's own (e.g. per address):
 * reply (may be NULL) goes out at once, the refusal is counted and logged
 * as --max-clients' are, and c is closed.  accepted then returns -1.
 */
void
conn_refuse(struct conn *c, const char *reply, const char *fmt, ...)
{
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	server_busy(c->srv, c->fd, &c->peer.sa, reply, fmt, ap);
	va_end(ap);
	conn_close(c, "refused");
}

static void
server_setsockopts(struct server *srv, int fd)
{
	int on = 1;

	if (srv->limits.rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &srv->limits.rcvbuf,
		    sizeof(srv->limits.rcvbuf));
	/* Small lines must leave at once, not wait for an ACK (Nagle). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (srv->limits.sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &srv->limits.sndbuf,
		    sizeof(srv->limits.sndbuf));
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *srv = arg;
	struct conn *c;

	if (srv->shutting_down) {
		close(fd);
		return;
	}
	if (srv->limits.max_clients != 0 &&
	    srv->stats.clients >= srv->limits.max_clients) {
		server_refuse(srv, fd, sa, "%lu clients already "
		    "(--max-clients)", srv->stats.clients);
		return;
	}
	server_setsockopts(srv, fd);
	if ((c = srv->io->open(srv, fd)) == NULL) {
		log_warnx("accept: cannot watch the client socket");
		close(fd);
		return;
	}
	if ((size_t)salen > sizeof(c->peer))
		salen = sizeof(c->peer);
	memcpy(&c->peer, sa, (size_t)salen);
	if (addr_format(sa, c->host, sizeof(c->host), &c->port) == -1)
		strcpy(c->host, "local");
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->stats.clients++;
	srv->stats.accepted++;
	log_limited(&server_log_connected, LOG_INFO, &c->peer.sa, "connected");
	/* The daemon may send, or even close, from accepted. */
	server_hold(srv);
	if (srv->ops->accepted != NULL && srv->ops->accepted(c) == -1)
		conn_close(c, "refused by the daemon");
	else if (!c->dead && c->io->reading(c) == -1)
		conn_close(c, "cannot watch the socket");
	server_release(srv);
}

/* Input arrived (a mode calls this under a hold). */
void
conn_io_readable(struct conn *c)
{
	struct evbuffer *in;

	if (c->srv->ops->readable != NULL) {
		c->srv->ops->readable(c);
		return;
	}
	in = c->io->input(c);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* The client shut its sending side. */
void
conn_io_eof(struct conn *c)
{
	if (c->srv->ops->eof != NULL)
		c->srv->ops->eof(c);
	else
		conn_close(c, "closed by the client");
}

/* Every byte queued has gone out. */
void
conn_io_drained(struct conn *c)
{
	if (c->closing)
		conn_close(c, c->closing_why);
	else if (c->srv->ops->drained != NULL)
		c->srv->ops->drained(c);
}

struct server *
conn_server(const struct conn *c)
{
	return c->srv;
}

void *
conn_data(const struct conn *c)
{
	return c->data;
}

void
conn_set_data(struct conn *c, void *data)
{
	c->data = data;
}

/* The peer's address as text ("192.0.2.1", "2001:db8::1"). */
const char *
conn_host(const struct conn *c)
{
	return c->host;
}

unsigned
conn_port(const struct conn *c)
{
	return c->port;
}

const struct sockaddr *
conn_peer(const struct conn *c)
{
	return &c->peer.sa;
}

/* The socket, for what only it can tell (getsockname); never to read. */
int
conn_fd(const struct conn *c)
{
	return c->fd;
}

/* Closed, or closing once its output is out: send it nothing new. */
int
conn_closing(const struct conn *c)
{
	return c->closing || c->dead;
}

/* The input buffer, whatever the mode; NULL once closed. */
struct evbuffer *
conn_input(struct conn *c)
{
	return c->dead ? NULL : c->io->input(c);
}

/* Bytes queued and not yet taken by the kernel. */
size_t
conn_output_len(const struct conn *c)
{
	return c->dead ? 0 : c->io->output_len(c);
}

/*
 * The socket, when bytes may be written straight to it now (nothing
 * queued, plain text, not closing), else -1.  For senders that batch
 * send(2) (lib/fanout.c): they report what went with server_count_out()
 * and hand any rest to conn_send().
 */
int
conn_send_fd(const struct conn *c)
{
	if (conn_closing(c) || c->srv->let_go || !c->io->direct ||
	    c->io->output_len(c) != 0)
		return -1;
	return c->fd;
}

/*
 * The first step of every send: while nothing is queued (and the mode
 * allows), as much as the socket takes at once goes straight to it;
 * *pp and *lenp are left on the rest.  -1 when c is closed (now or
 * before).
 */
static int
conn_send_direct(struct conn *c, const char **pp, size_t *lenp)
{
	ssize_t n;

	if (c->dead || c->srv->let_go)
		return -1;
	if (!c->io->direct || c->io->output_len(c) != 0 || *lenp == 0)
		return 0;
	n = send(c->fd, *pp, *lenp, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			conn_close(c, strerror(errno));
			return -1;
		}
		n = 0;
	}
	c->srv->stats.bytes_out += (unsigned long long)n;
	*pp += n;
	*lenp -= (size_t)n;
	return 0;
}

/* A client whose queue would pass max_output is dropped: it is not reading. */
static int
conn_queue_room(struct conn *c, size_t len)
{
	size_t max = c->srv->limits.max_output;

	if (max != 0 && c->io->output_len(c) + len > max) {
		conn_drop(c, "not reading: output bound reached");
		return -1;
	}
	return 0;
}

/*
 * Sends data: straight to the socket while nothing is queued (no extra
 * event round trip), the rest queued.  A client whose queue would pass
 * max_output is dropped: it is not reading.  Returns -1 when c is gone.
 */
int
conn_send(struct conn *c, const void *data, size_t len)
{
	const char *p = data;

	if (conn_send_direct(c, &p, &len) == -1)
		return -1;
	if (len == 0)
		return 0;
	if (conn_queue_room(c, len) == -1)
		return -1;
	if (c->io->queue(c, p, len) == -1) {
		conn_close(c, "out of memory");
		return -1;
	}
	c->srv->stats.bytes_out += len;
	return 0;
}

/* evbuffer's cleanup: a queue let go of its part of a shared block. */
static void
conn_shared_release(const void *p, size_t len, void *arg)
{
	sharedbuf_unref(arg);
}

/*
 * Sends len bytes of sb from off, as conn_send() does, but what the
 * socket does not take at once is queued by reference: the queue holds a
 * reference to sb until those bytes have gone or c is closed, and sb's
 * bytes are never copied.  A rest shorter than CONN_SHARED_COPY_MAX is
 * the exception: a reference (a queue chain and its cleanup record, about
 * 100 bytes) would cost more than copying it into the queue's last chain,
 * and a client that stops reading would hold many such references.
 */
int
conn_send_shared(struct conn *c, struct sharedbuf *sb, size_t off,
    size_t len)
{
	const char *p;

	if (off > sharedbuf_len(sb))
		off = sharedbuf_len(sb);
	if (len > sharedbuf_len(sb) - off)
		len = sharedbuf_len(sb) - off;
	p = sharedbuf_data(sb) + off;
	if (conn_send_direct(c, &p, &len) == -1)
		return -1;
	if (len == 0)
		return 0;
	if (len < CONN_SHARED_COPY_MAX)
		return conn_send(c, p, len);
	if (conn_queue_room(c, len) == -1)
		return -1;
	if (c->io->queue_ref(c, p, len, conn_shared_release,
	    sharedbuf_ref(sb)) == -1) {
		sharedbuf_unref(sb);
		conn_close(c, "out of memory");
		return -1;
	}
	c->srv->stats.bytes_out += len;
	return 0;
}

/* Stop reading (backpressure) until conn_read_resume(). */
void
conn_read_pause(struct conn *c)
{
	if (c->dead)
		return;
	c->read_paused = 1;
	(void)c->io->reading(c);
}

void
conn_read_resume(struct conn *c)
{
	if (c->dead)
		return;
	c->read_paused = 0;
	(void)c->io->reading(c);
}

/*
 * Replaces limits.idle for c: tv, or no read timeout when NULL (e.g. while
 * a transfer of its own runs).  Not for lean connections (-1), nor while
 * closing.
 */
int
conn_set_idle(struct conn *c, const struct timeval *tv)
{
	if (conn_closing(c))
		return -1;
	return c->io->idle(c, tv);
}

/* Closed for breaking a limit: counted apart, logged as a warning. */
void
conn_drop(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->srv->stats.dropped++;
	log_limited(&server_log_dropped, LOG_WARNING, &c->peer.sa, "dropped: %s",
	    why);
	c->closing_why = NULL;
	conn_close(c, NULL);
}

/*
 * The one teardown: logs why, lets the daemon free its state, counts.
 * From then on c is closed: the calls on it do nothing; its memory goes
 * now, or at the last server_release() when held.
 */
void
conn_close(struct conn *c, const char *why)
{
	struct server *srv = c->srv;

	if (c->dead)
		return;
	c->dead = 1;
	if (why != NULL)
		log_limited(&server_log_disconnected, LOG_INFO, &c->peer.sa,
		    "disconnected: %s", why);
	if (srv->ops->closed != NULL)
		srv->ops->closed(c, why);
	c->data = NULL;
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->stats.clients--;
	c->io->teardown(c);
	if (srv->holds > 0)
		SLIST_INSERT_HEAD(&srv->dead, c, dead_entry);
	else
		free(c);
	server_maybe_done(srv);
}

/* Stops reading and closes once what is queued has gone out. */
void
conn_close_after_flush(struct conn *c, const char *why)
{
	struct timeval linger = c->srv->limits.linger;

	if (c->dead)
		return;
	if (linger.tv_sec == 0 && linger.tv_usec == 0)
		linger.tv_sec = SERVER_LINGER_SEC;
	c->closing = 1;
	c->closing_why = why;
	(void)c->io->reading(c);
	if (c->io->output_len(c) == 0) {
		conn_close(c, why);
		return;
	}
	/*
	 * A client that stops reading must not hold us: without progress
	 * for a while the rest is dropped.
	 */
	c->io->linger(c, &linger);
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
	server_hold(srv);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_close(c, "shutdown");
	server_release(srv);
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
	struct conn *c;
	int i;

	srv->shutting_down = 1;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	srv->nlisteners = 0;
	evtimer_add(srv->deadline_ev, grace);
	/* stopping() may close others too (a farewell to everyone). */
	server_hold(srv);
	for (c = server_first(srv); c != NULL; c = server_next(c)) {
		if (srv->ops->stopping != NULL)
			srv->ops->stopping(c);
		else
			conn_close_after_flush(c, "shutdown");
	}
	server_release(srv);
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
	server_hold(srv);
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		conn_close(c, NULL);
	server_release(srv);
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	if (srv->backoff_ev != NULL)
		event_free(srv->backoff_ev);
	if (srv->deadline_ev != NULL)
		event_free(srv->deadline_ev);
	free(srv);
}
