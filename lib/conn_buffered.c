/* SPDX-License-Identifier: ISC */
/*
 * Buffered connections: a bufferevent on the socket, with the server's
 * read watermark and idle timeout.  Two modes share the code: plain
 * (conn_send may write to the socket itself while nothing is queued) and
 * filtered, after conn_starttls() put a TLS bufferevent in place, where
 * every byte goes through the bufferevent.
 *
 * While reading is paused (conn_read_pause) nothing is read, but a client
 * that hangs up is still noticed: the kernel says so (EV_CLOSED, from
 * EPOLLRDHUP), and with nothing left unread the connection is closed
 * then, not when the daemon would have read again.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "server_impl.h"

struct conn_buffered {
	struct conn		 c;
	struct bufferevent	*bev;
	struct event		*hup_ev;	/* while paused: a hang-up */
};

static struct conn	*conn_buffered_open(struct server *, int);
static void		 conn_buffered_teardown(struct conn *);
static struct evbuffer	*conn_buffered_input(struct conn *);
static size_t		 conn_buffered_output_len(const struct conn *);
static int		 conn_buffered_queue(struct conn *, const void *,
			    size_t);
static int		 conn_buffered_queue_ref(struct conn *, const void *,
			    size_t, void (*)(const void *, size_t, void *),
			    void *);
static int		 conn_buffered_reading(struct conn *);
static void		 conn_buffered_linger(struct conn *,
			    const struct timeval *);
static int		 conn_buffered_idle(struct conn *,
			    const struct timeval *);
static struct evbuffer	*conn_buffered_output(struct conn *);
static void		 conn_buffered_watch(struct conn_buffered *,
			    struct bufferevent *);
static void		 conn_buffered_read_cb(struct bufferevent *, void *);
static void		 conn_buffered_write_cb(struct bufferevent *, void *);
static void		 conn_buffered_event_cb(struct bufferevent *, short,
			    void *);
static void		 conn_buffered_hup_cb(evutil_socket_t, short, void *);

const struct conn_io conn_buffered_io = {
	.open = conn_buffered_open,
	.teardown = conn_buffered_teardown,
	.input = conn_buffered_input,
	.output_len = conn_buffered_output_len,
	.queue = conn_buffered_queue,
	.queue_ref = conn_buffered_queue_ref,
	.reading = conn_buffered_reading,
	.linger = conn_buffered_linger,
	.idle = conn_buffered_idle,
	.output = conn_buffered_output,
	.unread = conn_buffered_input,
	.direct = 1,
	.portable = 1,
};

/*
 * After conn_starttls(): the same, but never past the bufferevent, and
 * not portable: the TLS session cannot be handed over.
 */
static const struct conn_io conn_filtered_io = {
	.open = conn_buffered_open,
	.teardown = conn_buffered_teardown,
	.input = conn_buffered_input,
	.output_len = conn_buffered_output_len,
	.queue = conn_buffered_queue,
	.queue_ref = conn_buffered_queue_ref,
	.reading = conn_buffered_reading,
	.linger = conn_buffered_linger,
	.idle = conn_buffered_idle,
	.output = conn_buffered_output,
	.unread = conn_buffered_input,
	.direct = 0,
	.portable = 0,
};

/* The server's callbacks and limits on bev. */
static void
conn_buffered_watch(struct conn_buffered *b, struct bufferevent *bev)
{
	const struct server_limits *lim = &b->c.srv->limits;

	bufferevent_setcb(bev, conn_buffered_read_cb, conn_buffered_write_cb,
	    conn_buffered_event_cb, b);
	if (lim->max_input != 0)
		bufferevent_setwatermark(bev, EV_READ, 0, lim->max_input);
	if (lim->idle.tv_sec != 0 || lim->idle.tv_usec != 0)
		bufferevent_set_timeouts(bev, &lim->idle, NULL);
	b->bev = bev;
}

/* Reading starts once the daemon has accepted the connection. */
static struct conn *
conn_buffered_open(struct server *srv, int fd)
{
	struct conn_buffered *b;
	struct bufferevent *bev;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->c.srv = srv;
	b->c.io = &conn_buffered_io;
	b->c.fd = fd;
	if ((bev = bufferevent_socket_new(srv->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(b);
		return NULL;
	}
	conn_buffered_watch(b, bev);
	return &b->c;
}

static void
conn_buffered_teardown(struct conn *c)
{
	struct conn_buffered *b = (struct conn_buffered *)c;

	if (b->hup_ev != NULL)
		event_free(b->hup_ev);
	bufferevent_free(b->bev);
}

static struct evbuffer *
conn_buffered_input(struct conn *c)
{
	return bufferevent_get_input(((struct conn_buffered *)c)->bev);
}

static size_t
conn_buffered_output_len(const struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(
	    ((const struct conn_buffered *)c)->bev));
}

static struct evbuffer *
conn_buffered_output(struct conn *c)
{
	return bufferevent_get_output(((struct conn_buffered *)c)->bev);
}

static int
conn_buffered_queue(struct conn *c, const void *p, size_t len)
{
	return bufferevent_write(((struct conn_buffered *)c)->bev, p, len);
}

static int
conn_buffered_queue_ref(struct conn *c, const void *p, size_t len,
    void (*release)(const void *, size_t, void *), void *arg)
{
	return evbuffer_add_reference(bufferevent_get_output(
	    ((struct conn_buffered *)c)->bev), p, len, release, arg);
}

static int
conn_buffered_reading(struct conn *c)
{
	struct conn_buffered *b = (struct conn_buffered *)c;

	if (b->hup_ev != NULL)
		event_del(b->hup_ev);
	if (c->closing)
		return bufferevent_disable(b->bev, EV_READ);
	if (!c->read_paused)
		return bufferevent_enable(b->bev, EV_READ);
	if (b->hup_ev == NULL && (b->hup_ev = event_new(c->srv->base, c->fd,
	    EV_CLOSED, conn_buffered_hup_cb, c)) == NULL)
		return -1;
	if (event_add(b->hup_ev, NULL) == -1)
		return -1;
	return bufferevent_disable(b->bev, EV_READ);
}

/*
 * The client hung up while reading was paused: closed at once if nothing
 * it sent is left unread; else the rest is read when reading resumes
 * (and its end then seen), and the kernel is not asked again meanwhile.
 */
static void
conn_buffered_hup_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_buffered *b = arg;
	struct server *srv = b->c.srv;
	int unread = 0;

	event_del(b->hup_ev);
	if (ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)
		return;
	server_hold(srv);
	conn_close(&b->c, "closed by the client");
	server_release(srv);
}

static void
conn_buffered_linger(struct conn *c, const struct timeval *tv)
{
	bufferevent_set_timeouts(((struct conn_buffered *)c)->bev, NULL, tv);
}

static int
conn_buffered_idle(struct conn *c, const struct timeval *tv)
{
	return bufferevent_set_timeouts(((struct conn_buffered *)c)->bev, tv,
	    NULL);
}

/*
 * Puts nbev on the conn's socket in place of its bufferevent (a TLS one,
 * from conn_starttls): the old one lets go of the socket without closing
 * it, the new one gets the server's callbacks and limits, and everything
 * is sent through it from then on.  The caller has checked that nothing
 * is queued either way.
 */
int
conn_buffered_replace(struct conn *c, struct bufferevent *nbev)
{
	struct conn_buffered *b = (struct conn_buffered *)c;
	struct bufferevent *old = b->bev;

	bufferevent_setfd(old, -1);
	bufferevent_free(old);
	conn_buffered_watch(b, nbev);
	c->io = &conn_filtered_io;
	if (c->read_paused || c->closing)
		return 0;
	return bufferevent_enable(nbev, EV_READ);
}

static void
conn_buffered_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;

	server_hold(srv);
	conn_io_readable(c);
	server_release(srv);
}

/* Called once the output buffer is empty again. */
static void
conn_buffered_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;

	server_hold(srv);
	conn_io_drained(c);
	server_release(srv);
}

static void
conn_buffered_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;
	char why[128];

	/* A TLS bufferevent finished its handshake. */
	if (what & BEV_EVENT_CONNECTED)
		return;
	server_hold(srv);
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING))
		conn_drop(c, "output not read before closing");
	else if (what & BEV_EVENT_TIMEOUT) {
		/* Told why, as FTP's 421, before the close. */
		if (srv->limits.idle_reply != NULL)
			conn_send(c, srv->limits.idle_reply,
			    strlen(srv->limits.idle_reply));
		conn_close_after_flush(c, "idle timeout");
	}
	else if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) &&
	    srv->ops->eof != NULL) {
		bufferevent_disable(bev, EV_READ);
		conn_io_eof(c);
	} else if (what & BEV_EVENT_ERROR) {
		snprintf(why, sizeof(why), "%s",
		    strerror(EVUTIL_SOCKET_ERROR()));
		conn_close(c, why);
	} else
		conn_close(c, "closed by the client");
	server_release(srv);
}
