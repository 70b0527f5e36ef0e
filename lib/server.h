/* SPDX-License-Identifier: ISC */
/*
 * Accepted connections: listeners, limits, back-off, one teardown.
 * A daemon supplies server_ops; the server owns the conn structures.
 */
#ifndef CLOCKWORK_SERVER_H
#define CLOCKWORK_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <stddef.h>

#include "addr.h"

struct bufferevent;
struct event;
struct evbuffer;
struct event_base;
struct listen_set;
struct server;

/* Big enough for any peer we accept (IPv4 or IPv6), and no bigger. */
union conn_addr {
	struct sockaddr		 sa;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;
};

struct conn {
	struct server		*srv;
	struct bufferevent	*bev;		/* NULL for lean connections */
	union conn_addr		 peer;
	socklen_t		 peerlen;
	char			 host[ADDR_STRLEN];
	unsigned		 port;
	int			 closing;	/* close once output is sent */
	const char		*closing_why;
	void			*data;		/* the daemon's state */
	TAILQ_ENTRY(conn)	 entry;
	/* Lean connections only (see server_limits.lean). */
	int			 fd;
	struct event		*lean_rev;	/* in the same allocation */
	struct event		*lean_wev;	/* only while output is queued */
	struct evbuffer		*lean_out;	/* idem */
	struct evbuffer		*lean_in;	/* only while input waits */
	unsigned		 lean_reading:1; /* read event added */
	unsigned		 lean_eof:1;	/* the client shut its side */
	unsigned		 read_paused:1;	/* conn_read_pause() */
	unsigned		 in_callback:1;	/* freeing waits till it returns */
	unsigned		 dead:1;	/* closed inside a callback */
	unsigned		 no_direct:1;	/* conn_replace_bev(): all via bev */
};

struct server_ops {
	int	(*accepted)(struct conn *);	/* -1: refuse and close */
	void	(*readable)(struct conn *);	/* input arrived */
	void	(*eof)(struct conn *);		/* peer shut its side; NULL: close */
	void	(*drained)(struct conn *);	/* all output sent (optional) */
	void	(*stopping)(struct conn *);	/* shutdown; NULL: close after flush */
	void	(*closed)(struct conn *, const char *); /* free c->data */
};

struct server_limits {
	unsigned long	 max_clients;	/* 0: no limit */
	size_t		 max_output;	/* queued bytes before a drop; 0: none */
	size_t		 max_input;	/* read high watermark; 0: none */
	struct timeval	 idle;		/* read timeout; zero: none */
	struct timeval	 linger;	/* closing client must read; zero: 30 s */
	int		 sndbuf;	/* SO_SNDBUF for clients; 0: default */
	int		 rcvbuf;	/* SO_RCVBUF for clients; 0: default */
	const char	*busy_reply;	/* sent to a client refused at the limit */
	/*
	 * Lean connections: no bufferevent, just the socket, one read event in
	 * the conn's own allocation and an output queue made only while one is
	 * needed, and an input buffer only while unread input waits: a few
	 * hundred bytes a client.  Without ops->readable input is thrown away;
	 * with it, read through conn_input().  limits.idle is not used.
	 */
	int		 lean;
};

struct server_stats {
	unsigned long		 clients;
	unsigned long long	 accepted;
	unsigned long long	 refused;
	unsigned long long	 dropped;	/* closed for a limit */
	unsigned long long	 bytes_out;
};

struct server *server_new(struct event_base *, const struct listen_set *,
	    const struct server_ops *, const struct server_limits *, void *);
void	*server_arg(const struct server *);
struct event_base *server_base(const struct server *);
const struct server_stats *server_stats(const struct server *);
struct conn *server_first(struct server *);
struct conn *server_next(struct conn *);
void	server_shutdown(struct server *, const struct timeval *);
void	server_free(struct server *);

int	conn_send(struct conn *, const void *, size_t);
void	server_count_out(struct server *, size_t);
void	conn_close(struct conn *, const char *);
void	conn_close_after_flush(struct conn *, const char *);
void	conn_drop(struct conn *, const char *);
size_t	conn_output_len(const struct conn *);
struct evbuffer *conn_input(struct conn *);
void	conn_read_pause(struct conn *);
void	conn_read_resume(struct conn *);
int	conn_replace_bev(struct conn *, struct bufferevent *);

#endif
