/* SPDX-License-Identifier: ISC */
/*
 * Accepted connections: listeners, limits, back-off, one teardown.
 * A daemon supplies server_ops; the server owns the connections, which
 * daemons see only through the conn_* calls below.
 */
#ifndef CLOCKWORK_SERVER_H
#define CLOCKWORK_SERVER_H

#include <sys/time.h>

#include <stddef.h>
#include <stdint.h>

struct conn;
struct evbuffer;
struct event_base;
struct handover_client;
struct handover_writer;
struct listen_set;
struct server;
struct sockaddr;
struct ssl_st;

/*
 * What a daemon that hands its clients to its successor (lib/handover.c)
 * keeps of each: save() appends its record of c (the second it is at,
 * what it owes, a name), restore() reads it back on the adopted conn and
 * returns -1 when it cannot, which closes the client.  Clients are saved
 * and adopted in order of arrival.  Without save, records are empty;
 * without restore, only empty records are accepted.
 */
struct handover_ops {
	const char	*name;		/* only a daemon of this name takes over */
	int	(*save)(struct conn *, struct evbuffer *);
	int	(*restore)(struct conn *, const void *, size_t);
};

struct server_ops {
	int	(*accepted)(struct conn *);	/* -1: refuse and close */
	void	(*readable)(struct conn *);	/* input arrived */
	void	(*eof)(struct conn *);		/* peer shut its side; NULL: close */
	void	(*drained)(struct conn *);	/* all output sent (optional) */
	void	(*stopping)(struct conn *);	/* shutdown; NULL: close after flush */
	void	(*closed)(struct conn *, const char *); /* free conn_data() */
	const struct handover_ops *handover;	/* NULL: never handed over */
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
	const char	*idle_reply;	/* sent before an idle timeout's close */
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
	unsigned long long	 refused;	/* busy: a limit, or conn_refuse */
	unsigned long long	 dropped;	/* closed for a limit */
	unsigned long long	 bytes_out;
	unsigned long long	 adopted;	/* taken over from a predecessor */
};

struct server *server_new(struct event_base *, const struct listen_set *,
	    const struct server_ops *, const struct server_limits *, void *);
void	*server_arg(const struct server *);
struct event_base *server_base(const struct server *);
const struct server_stats *server_stats(const struct server *);
struct conn *server_first(struct server *);
struct conn *server_next(struct conn *);
void	server_hold(struct server *);
void	server_release(struct server *);
void	server_count_out(struct server *, size_t);
void	server_shutdown(struct server *, const struct timeval *);
void	server_stop_accepting(struct server *);
void	server_let_go(struct server *);
void	server_free(struct server *);

/* Hand-over (lib/server_handover.c). */
const char *server_handover_name(const struct server *);
long	server_image(struct server *, const void *, size_t, uint64_t,
	    struct handover_writer *, int *, size_t, size_t *);
int	server_adopt(struct server *, int, const struct handover_client *,
	    const char **);

/*
 * What a daemon knows of a connection.  Every server_ops callback runs
 * under server_hold(): a connection closed inside one (its own or
 * another) stays readable until the callback returns, so conn_closing()
 * tells, and conn_send() and the closing calls on it do nothing.
 */
struct server *conn_server(const struct conn *);
void	*conn_data(const struct conn *);
void	conn_set_data(struct conn *, void *);
const char *conn_host(const struct conn *);
unsigned conn_port(const struct conn *);
const struct sockaddr *conn_peer(const struct conn *);
int	conn_fd(const struct conn *);
int	conn_closing(const struct conn *);

int	conn_send(struct conn *, const void *, size_t);
int	conn_send_fd(const struct conn *);
size_t	conn_output_len(const struct conn *);
struct evbuffer *conn_input(struct conn *);
void	conn_read_pause(struct conn *);
void	conn_read_resume(struct conn *);
int	conn_set_idle(struct conn *, const struct timeval *);
/* lib/conn_tls.c: whoever calls it links $(OPENSSL_LIBS) too. */
int	conn_starttls(struct conn *, struct ssl_st *);

void	conn_close(struct conn *, const char *);
void	conn_close_after_flush(struct conn *, const char *);
void	conn_drop(struct conn *, const char *);
void	conn_refuse(struct conn *, const char *, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
