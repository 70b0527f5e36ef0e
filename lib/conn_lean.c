/* SPDX-License-Identifier: ISC */
/*
 * Lean connections (server_limits.lean): no bufferevent, just the socket,
 * one read event in the conn's own allocation, an output queue and its
 * write event made only while output waits, and an input buffer only
 * while unread input waits: a few hundred bytes a client.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "server_impl.h"

#define CONN_LEAN_READ_MAX	16384	/* bytes taken per wake-up */

struct conn_lean {
	struct conn		 c;
	struct event		*wev;		/* only while output is queued */
	struct evbuffer		*out;		/* idem */
	struct evbuffer		*in;		/* only while input waits */
	/*
	 * The read event follows: event_get_struct_event_size() bytes.  The
	 * mode's two flags are c.io_reading and c.io_eof, where they cost no
	 * room: 312 bytes in all, a 320-byte malloc chunk (not 336).
	 */
};

static struct conn	*conn_lean_open(struct server *, int);
static void		 conn_lean_teardown(struct conn *);
static struct evbuffer	*conn_lean_input(struct conn *);
static size_t		 conn_lean_output_len(const struct conn *);
static int		 conn_lean_queue(struct conn *, const void *, size_t);
static int		 conn_lean_reading(struct conn *);
static void		 conn_lean_linger(struct conn *,
			    const struct timeval *);
static int		 conn_lean_idle(struct conn *,
			    const struct timeval *);
static struct evbuffer	*conn_lean_output(struct conn *);
static struct evbuffer	*conn_lean_unread(struct conn *);
static void		 conn_lean_read_cb(evutil_socket_t, short, void *);
static void		 conn_lean_write_cb(evutil_socket_t, short, void *);
static void		 conn_lean_discard(struct conn_lean *);
static void		 conn_lean_got_eof(struct conn_lean *);

const struct conn_io conn_lean_io = {
	.open = conn_lean_open,
	.teardown = conn_lean_teardown,
	.input = conn_lean_input,
	.output_len = conn_lean_output_len,
	.queue = conn_lean_queue,
	.reading = conn_lean_reading,
	.linger = conn_lean_linger,
	.idle = conn_lean_idle,
	.output = conn_lean_output,
	.unread = conn_lean_unread,
	.direct = 1,
	.portable = 1,
};

/* The read event lives right after the struct. */
static struct event *
conn_lean_rev(struct conn_lean *l)
{
	return (struct event *)(void *)(l + 1);
}

static struct conn *
conn_lean_open(struct server *srv, int fd)
{
	struct conn_lean *l;

	if ((l = calloc(1, sizeof(*l) + event_get_struct_event_size())) ==
	    NULL)
		return NULL;
	l->c.srv = srv;
	l->c.io = &conn_lean_io;
	l->c.fd = fd;
	if (event_assign(conn_lean_rev(l), srv->base, fd,
	    EV_READ | EV_PERSIST, conn_lean_read_cb, l) == -1) {
		free(l);
		return NULL;
	}
	return &l->c;
}

static void
conn_lean_teardown(struct conn *c)
{
	struct conn_lean *l = (struct conn_lean *)c;

	event_del(conn_lean_rev(l));
	if (l->wev != NULL)
		event_free(l->wev);
	if (l->out != NULL)
		evbuffer_free(l->out);
	if (l->in != NULL)
		evbuffer_free(l->in);
	close(c->fd);
}

static struct evbuffer *
conn_lean_input(struct conn *c)
{
	struct conn_lean *l = (struct conn_lean *)c;

	if (l->in == NULL)
		l->in = evbuffer_new();
	return l->in;
}

static size_t
conn_lean_output_len(const struct conn *c)
{
	const struct conn_lean *l = (const struct conn_lean *)c;

	return l->out != NULL ? evbuffer_get_length(l->out) : 0;
}

static struct evbuffer *
conn_lean_output(struct conn *c)
{
	return ((struct conn_lean *)c)->out;
}

/* Unlike conn_lean_input, makes no buffer where none waits. */
static struct evbuffer *
conn_lean_unread(struct conn *c)
{
	return ((struct conn_lean *)c)->in;
}

/* The queue and its write event, made when first needed. */
static int
conn_lean_queue(struct conn *c, const void *p, size_t len)
{
	struct conn_lean *l = (struct conn_lean *)c;

	if (l->out == NULL) {
		l->out = evbuffer_new();
		l->wev = event_new(c->srv->base, c->fd, EV_WRITE | EV_PERSIST,
		    conn_lean_write_cb, l);
		if (l->out == NULL || l->wev == NULL ||
		    event_add(l->wev, NULL) == -1)
			return -1;
	}
	return evbuffer_add(l->out, p, len);
}

/* Reads while nobody paused us, the client may still send, and room is left. */
static int
conn_lean_reading(struct conn *c)
{
	struct conn_lean *l = (struct conn_lean *)c;
	size_t max = c->srv->limits.max_input;
	int want;

	want = !c->read_paused && !c->closing && !c->io_eof &&
	    !(max != 0 && l->in != NULL && evbuffer_get_length(l->in) >= max);
	if (want == (int)c->io_reading)
		return 0;
	c->io_reading = want;
	if (want)
		return event_add(conn_lean_rev(l), NULL);
	return event_del(conn_lean_rev(l));
}

/* Closing with output queued: the write event gets a deadline. */
static void
conn_lean_linger(struct conn *c, const struct timeval *tv)
{
	struct conn_lean *l = (struct conn_lean *)c;

	event_add(l->wev, tv);
}

/* Lean connections have no idle timeout of their own (lib/idle.c has). */
static int
conn_lean_idle(struct conn *c, const struct timeval *tv)
{
	errno = EOPNOTSUPP;
	return -1;
}

static void
conn_lean_got_eof(struct conn_lean *l)
{
	l->c.io_eof = 1;
	conn_lean_reading(&l->c);
	conn_io_eof(&l->c);
}

/* Input nobody reads (no ops->readable): thrown away; EOF and errors end it. */
static void
conn_lean_discard(struct conn_lean *l)
{
	char buf[1024];
	ssize_t n;
	int i;

	/* A few reads per wake-up: a chatty client cannot hog the loop. */
	for (i = 0; i < 4; i++) {
		n = recv(l->c.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
		if (n == 0)
			conn_lean_got_eof(l);
		else
			conn_close(&l->c, strerror(errno));
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
	struct conn_lean *l = arg;
	struct conn *c = &l->c;
	struct server *srv = c->srv;
	size_t have, room = CONN_LEAN_READ_MAX;
	int n;

	server_hold(srv);
	if (srv->ops->readable == NULL) {
		conn_lean_discard(l);
		goto out;
	}
	if (l->in == NULL && (l->in = evbuffer_new()) == NULL) {
		conn_close(c, "out of memory");
		goto out;
	}
	have = evbuffer_get_length(l->in);
	if (srv->limits.max_input != 0)
		room = have < srv->limits.max_input ?
		    srv->limits.max_input - have : 0;
	if (room == 0) {
		conn_lean_reading(c);
		goto out;
	}
	n = evbuffer_read(l->in, fd, (int)(room < CONN_LEAN_READ_MAX ? room :
	    CONN_LEAN_READ_MAX));
	if (n == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(c, strerror(errno));
		goto out;
	}
	if (n == 0)
		conn_lean_got_eof(l);
	else
		conn_io_readable(c);
	if (c->dead)
		goto out;
	if (l->in != NULL && evbuffer_get_length(l->in) == 0) {
		evbuffer_free(l->in);
		l->in = NULL;
	}
	conn_lean_reading(c);
out:
	server_release(srv);
}

/* Output caught up: the queue is given back, it is rarely needed again. */
static void
conn_lean_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn_lean *l = arg;
	struct conn *c = &l->c;
	struct server *srv = c->srv;
	int n;

	server_hold(srv);
	if (what & EV_TIMEOUT) {
		conn_drop(c, "output not read before closing");
		goto out;
	}
	n = evbuffer_write(l->out, fd);
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR) {
		conn_close(c, strerror(errno));
		goto out;
	}
	if (evbuffer_get_length(l->out) != 0)
		goto out;
	event_free(l->wev);
	evbuffer_free(l->out);
	l->wev = NULL;
	l->out = NULL;
	conn_io_drained(c);
out:
	server_release(srv);
}
