/* SPDX-License-Identifier: ISC */
/*
 * Inside lib/server: what struct server and struct conn hold, and the I/O
 * modes a connection can be in.  Only server.c and the conn_*.c files of
 * the modes include this; daemons see the calls of server.h.
 */
#ifndef CLOCKWORK_SERVER_IMPL_H
#define CLOCKWORK_SERVER_IMPL_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <time.h>

#include "addr.h"
#include "listen.h"
#include "server.h"

struct bufferevent;
struct evconnlistener;
struct event;

/* Big enough for any peer we accept (IPv4 or IPv6), and no bigger. */
union conn_addr {
	struct sockaddr		 sa;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
};

/*
 * One I/O mode: how a connection watches its socket, keeps its input and
 * queues its output.  server.c reaches a mode through these and nothing
 * else; a mode reports back through the conn_io_*() calls below.
 */
struct conn_io {
	/* A zeroed conn of this mode on fd, watching nothing yet. */
	struct conn	*(*open)(struct server *, int);
	void		 (*teardown)(struct conn *);	/* I/O and socket gone */
	struct evbuffer	*(*input)(struct conn *);
	size_t		 (*output_len)(const struct conn *);
	int		 (*queue)(struct conn *, const void *, size_t);
	/* Queues bytes that stay someone else's: release(p, len, arg) once sent. */
	int		 (*queue_ref)(struct conn *, const void *, size_t,
			    void (*)(const void *, size_t, void *), void *);
	int		 (*reading)(struct conn *);	/* per paused, closing */
	void		 (*linger)(struct conn *, const struct timeval *);
	int		 (*idle)(struct conn *, const struct timeval *);
	struct evbuffer	*(*output)(struct conn *);	/* queued; may be NULL */
	struct evbuffer	*(*unread)(struct conn *);	/* input; may be NULL */
	int		 direct;	/* send(2) may go to the socket itself */
	int		 portable;	/* a successor can take it over */
};

struct conn {
	struct server		*srv;
	const struct conn_io	*io;
	void			*data;		/* the daemon's state */
	const char		*closing_why;
	TAILQ_ENTRY(conn)	 entry;		/* server's conns */
	SLIST_ENTRY(conn)	 dead_entry;	/* closed while held */
	union conn_addr		 peer;
	char			 host[ADDR_STRLEN];
	unsigned		 port;
	int			 fd;
	unsigned		 closing:1;	/* close once output is sent */
	unsigned		 read_paused:1;	/* conn_read_pause() */
	unsigned		 dead:1;	/* closed; freed at the release */
	/* The mode's own (lean: read event added, client's EOF seen). */
	unsigned		 io_reading:1;
	unsigned		 io_eof:1;
};

struct server {
	struct event_base	*base;
	struct evconnlistener	*listeners[LISTEN_MAX];
	int			 nlisteners;
	struct event		*backoff_ev;
	struct event		*deadline_ev;
	const struct server_ops	*ops;
	const struct conn_io	*io;		/* of new connections */
	struct server_limits	 limits;
	struct server_stats	 stats;
	void			*arg;
	int			 shutting_down;
	int			 not_accepting;	/* server_stop_accepting() */
	int			 let_go;	/* server_let_go() */
	unsigned		 holds;		/* server_hold() depth */
	TAILQ_HEAD(, conn)	 conns;
	SLIST_HEAD(, conn)	 dead;		/* to free at the last release */
};

extern const struct conn_io conn_lean_io;
extern const struct conn_io conn_buffered_io;

/* What a mode reports; each runs the daemon's callbacks, or closes. */
void	conn_io_readable(struct conn *);
void	conn_io_eof(struct conn *);
void	conn_io_drained(struct conn *);

/* conn_buffered.c: a new bufferevent on the socket (conn_starttls). */
int	conn_buffered_replace(struct conn *, struct bufferevent *);

#endif
