/* SPDX-License-Identifier: ISC */
/*
 * Data connections.  PASV/EPSV listen on a port of the control
 * connection's local address and accept only the control peer; PORT/EPRT
 * connect only to the address the caller checked, from the control
 * connection's local address.  A transfer streams through a bufferevent:
 * files as sendfile(2) segments of FTP_DATA_CHUNK bytes, ASCII files and
 * listings as text made a batch at a time, each refilled only when the
 * socket has drained below a watermark, so that no transfer holds much
 * memory or blocks the loop.  Uploads are read straight from the socket
 * into the file the caller gave.  The end of a transfer goes to the
 * caller's callback from a zero timer, never from inside the caller's
 * stack.  Under PROT P the data socket is handed to a TLS bufferevent once
 * connected; it must resume the control connection's TLS session (else
 * 522 and closed), and files go as pread chunks of FTP_DATA_TLS_READ
 * bytes (sendfile cannot encrypt).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "addr.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_tls.h"
#include "log.h"

#define FTP_DATA_CHUNK		(4 * 1024 * 1024)	/* one sendfile segment */
#define FTP_DATA_MAX_WRITE	(4 * 1024 * 1024)	/* bytes per write call */
#define FTP_DATA_LOWAT		(1024 * 1024)	/* refill below this */
#define FTP_DATA_TEXT_BATCH	(64 * 1024)	/* text made per refill */
#define FTP_DATA_TEXT_MAX	(256 * 1024)	/* text queued at most */
#define FTP_DATA_ASCII_READ	(32 * 1024)	/* file bytes per refill */
#define FTP_DATA_READ_HIWAT	(1024 * 1024)	/* upload bytes read at once */
#define FTP_DATA_RCVLOWAT	(128 * 1024)	/* upload: wake up for this */
#define FTP_DATA_WRITEBACK	(8 * 1024 * 1024) /* start writeback every */
#define FTP_DATA_TLS_READ	(128 * 1024)	/* TLS: file bytes per read */
#define FTP_DATA_TLS_MAX_WRITE	(256 * 1024)	/* TLS: bytes per write call */

/* What clients can make us log, within limits. */
static struct log_limit ftp_data_log_listen =
    LOG_LIMIT("passive socket failures", 5);
static struct log_limit ftp_data_log_foreign =
    LOG_LIMIT("data connections from elsewhere", 5);
static struct log_limit ftp_data_log_resume =
    LOG_LIMIT("TLS data connections not resumed", 5);

enum ftp_data_mode {
	FTP_DATA_NONE,
	FTP_DATA_PASSIVE,
	FTP_DATA_ACTIVE,
};

enum ftp_data_source {
	FTP_SRC_NONE,
	FTP_SRC_FILE,		/* sendfile segments */
	FTP_SRC_ASCII,		/* file read and converted to CRLF */
	FTP_SRC_LISTING,
	FTP_SRC_UPLOAD,		/* data connection into the caller's file */
};

struct ftp_data {
	struct ftp_data_conf	*conf;
	const struct ftp_data_prot *prot;
	struct sockaddr_storage	 local;		/* the control connection's */
	struct sockaddr_storage	 peer;		/* idem: the client */
	char			 host[ADDR_STRLEN]; /* the peer, for logs */
	ftp_data_done_fn	 done;
	void			*arg;

	enum ftp_data_mode	 mode;
	int			 lfd;		/* passive listener */
	struct event		*accept_ev;
	struct sockaddr_storage	 target;	/* active: where to connect */
	socklen_t		 targetlen;
	struct bufferevent	*bev;
	int			 connected;	/* and TLS handshake done */
	int			 tls;		/* bev is a TLS bufferevent */
	struct event		*wait_ev;	/* data connection deadline */
	struct event		*done_ev;	/* reports the end */
	int			 reporting;	/* done_ev armed */
	struct ftp_data_result	 res;		/* the end, until reported */

	/* The running transfer. */
	enum ftp_data_source	 src;
	int			 fd;		/* upload: the caller's */
	int			 werr;		/* upload: errno of a write */
	unsigned long long	 synced;	/* upload: writeback started */
	struct event		*read_ev;	/* upload: the socket readable */
	int			 ascii_in;	/* upload: TYPE A, CR LF to LF */
	struct evbuffer_file_segment *seg;
	off_t			 start;		/* first byte sent */
	off_t			 off;		/* next byte to queue */
	off_t			 end;
	int			 prev_cr;	/* ASCII: last byte was CR */
	struct ftp_listing	*listing;
	int			 produced;	/* all of it is queued */
	unsigned long long	 queued;
};

static void	ftp_data_reset(struct ftp_data *);
static int	ftp_data_listen(struct ftp_data *, unsigned *, const char **);
static int	ftp_data_pasv_addr(const struct ftp_data *, struct in_addr *);
static void	ftp_data_accept_cb(evutil_socket_t, short, void *);
static void	ftp_data_wait_cb(evutil_socket_t, short, void *);
static void	ftp_data_done_cb(evutil_socket_t, short, void *);
static void	ftp_data_write_cb(struct bufferevent *, void *);
static void	ftp_data_event_cb(struct bufferevent *, short, void *);
static void	ftp_data_upload_cb(evutil_socket_t, short, void *);
static int	ftp_data_store(struct ftp_data *, const char *, size_t);
static void	ftp_data_upload_end(struct ftp_data *);
static int	ftp_data_connect(struct ftp_data *);
static int	ftp_data_start(struct ftp_data *);
static int	ftp_data_begin(struct ftp_data *);
static int	ftp_data_fill(struct ftp_data *);
static int	ftp_data_fill_ascii(struct ftp_data *, struct evbuffer *);
static void	ftp_data_finish(struct ftp_data *, enum ftp_xfer_result,
		    const char *);
static void	ftp_data_end(struct ftp_data *, enum ftp_xfer_result,
		    const char *, struct ftp_data_result *);
static int	ftp_data_bev(struct ftp_data *, int);
static int	ftp_data_tls_start(struct ftp_data *);
static int	ftp_data_tls_done(struct ftp_data *);
static int	ftp_data_fill_tls(struct ftp_data *, struct evbuffer *);
static void	ftp_data_tls_read_cb(struct bufferevent *, void *);
static int	ftp_data_tls_drain(struct ftp_data *);
static socklen_t ftp_data_addrlen(const struct sockaddr *);

/* The length of an IPv4 or IPv6 address; 0 for any other. */
static socklen_t
ftp_data_addrlen(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

/*
 * A session's data connection, idle until PASV or PORT: local and peer
 * are the control connection's ends, prot its PROT level (read, never
 * written) and done the callback of each transfer's end.  NULL when out
 * of memory or the addresses are neither IPv4 nor IPv6.
 */
struct ftp_data *
ftp_data_new(struct ftp_data_conf *conf, const struct sockaddr *local,
    const struct sockaddr *peer, const struct ftp_data_prot *prot,
    ftp_data_done_fn done, void *arg)
{
	struct ftp_data *dt;
	unsigned port;

	if (ftp_data_addrlen(local) == 0 || ftp_data_addrlen(peer) == 0 ||
	    (dt = calloc(1, sizeof(*dt))) == NULL)
		return NULL;
	dt->conf = conf;
	dt->prot = prot;
	memcpy(&dt->local, local, ftp_data_addrlen(local));
	memcpy(&dt->peer, peer, ftp_data_addrlen(peer));
	if (addr_format(peer, dt->host, sizeof(dt->host), &port) == -1)
		strcpy(dt->host, "?");
	dt->done = done;
	dt->arg = arg;
	dt->lfd = -1;
	dt->fd = -1;
	dt->wait_ev = evtimer_new(conf->base, ftp_data_wait_cb, dt);
	dt->done_ev = evtimer_new(conf->base, ftp_data_done_cb, dt);
	if (dt->wait_ev == NULL || dt->done_ev == NULL) {
		ftp_data_free(dt);
		return NULL;
	}
	return dt;
}

/* Drops the listener, the connection and any transfer in progress. */
static void
ftp_data_reset(struct ftp_data *dt)
{
	if (dt->accept_ev != NULL) {
		event_free(dt->accept_ev);
		dt->accept_ev = NULL;
	}
	if (dt->lfd != -1) {
		close(dt->lfd);
		dt->lfd = -1;
	}
	if (dt->read_ev != NULL) {
		event_free(dt->read_ev);
		dt->read_ev = NULL;
	}
	if (dt->bev != NULL) {
		/* The client's TLS layer expects close_notify at the end. */
		if (dt->tls && dt->connected)
			dt->conf->tls->shutdown(dt->bev);
		bufferevent_free(dt->bev);
		dt->bev = NULL;
	}
	if (dt->seg != NULL) {
		evbuffer_file_segment_free(dt->seg);	/* closes dt->fd */
		dt->seg = NULL;
		dt->fd = -1;
	}
	/* A download's file is ours; an upload's is the caller's. */
	if (dt->fd != -1 && dt->src != FTP_SRC_UPLOAD)
		close(dt->fd);
	dt->fd = -1;
	dt->werr = 0;
	dt->synced = 0;
	dt->ascii_in = 0;
	ftp_listing_free(dt->listing);
	dt->listing = NULL;
	if (dt->wait_ev != NULL)
		evtimer_del(dt->wait_ev);
	dt->mode = FTP_DATA_NONE;
	dt->connected = 0;
	dt->tls = 0;
	dt->src = FTP_SRC_NONE;
	dt->produced = 0;
	dt->queued = 0;
	dt->prev_cr = 0;
}

/* Drops everything; a transfer's end not yet reported never will be. */
void
ftp_data_free(struct ftp_data *dt)
{
	if (dt == NULL)
		return;
	ftp_data_reset(dt);
	if (dt->wait_ev != NULL)
		event_free(dt->wait_ev);
	if (dt->done_ev != NULL)
		event_free(dt->done_ev);
	free(dt);
}

/* PASV or PORT given: a transfer may start. */
int
ftp_data_ready(const struct ftp_data *dt)
{
	return dt != NULL && dt->mode != FTP_DATA_NONE;
}

/* A transfer runs, or its end is not reported yet. */
int
ftp_data_busy(const struct ftp_data *dt)
{
	return dt != NULL && (dt->src != FTP_SRC_NONE || dt->reporting);
}

/*
 * ABOR: ends a running transfer at once (FTP_DATA_CUT) or takes the end
 * not reported yet (FTP_DATA_ENDED), and gives it in *res instead of
 * through the callback, so that its reply comes before ABOR's.  With no
 * transfer, the listener or connection set up is dropped (FTP_DATA_IDLE).
 */
enum ftp_data_cut
ftp_data_abort(struct ftp_data *dt, struct ftp_data_result *res)
{
	if (dt == NULL)
		return FTP_DATA_IDLE;
	if (dt->reporting) {
		evtimer_del(dt->done_ev);
		dt->reporting = 0;
		ftp_data_reset(dt);
		*res = dt->res;
		return FTP_DATA_ENDED;
	}
	if (dt->src == FTP_SRC_NONE) {
		ftp_data_reset(dt);
		return FTP_DATA_IDLE;
	}
	ftp_data_end(dt, FTP_XR_ABORTED, "aborted", res);
	return FTP_DATA_CUT;
}

/* Bytes sent so far and the total expected (0 when unknown). */
void
ftp_data_progress(const struct ftp_data *dt, unsigned long long *sent,
    unsigned long long *total)
{
	*sent = *total = 0;
	if (dt == NULL || dt->src == FTP_SRC_NONE)
		return;
	*sent = dt->queued - (dt->bev != NULL ?
	    evbuffer_get_length(bufferevent_get_output(dt->bev)) : 0);
	if (dt->src == FTP_SRC_FILE)
		*total = (unsigned long long)(dt->end - dt->start);
}

/*
 * A listening socket on the control connection's local address, on a
 * port of --pasv-ports if given (tried in turn from the last one used),
 * its port in *port.  -1 with the reason for the client in *why.
 */
static int
ftp_data_listen(struct ftp_data *dt, unsigned *port, const char **why)
{
	struct ftp_data_conf *conf = dt->conf;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = ftp_data_addrlen((struct sockaddr *)&dt->local);
	unsigned span, i;
	int fd, r;

	memcpy(&ss, &dt->local, len);
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		*why = "Cannot open a socket.";
		return -1;
	}
	/*
	 * A port whose last data connection is in TIME_WAIT must be usable
	 * again at once, or a small --pasv-ports range runs dry for a minute.
	 * (Two listeners on one port stay impossible without SO_REUSEPORT.)
	 */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int){ 1 },
	    sizeof(int));
	span = conf->pasv_lo != 0 ? conf->pasv_hi - conf->pasv_lo + 1 : 1;
	for (i = 0, r = -1, *port = 0; i < span && r == -1; i++) {
		if (conf->pasv_lo != 0)
			*port = conf->pasv_lo + (conf->pasv_next++ % span);
		if (ss.ss_family == AF_INET)
			sin->sin_port = htons((unsigned short)*port);
		else
			sin6->sin6_port = htons((unsigned short)*port);
		r = bind(fd, (struct sockaddr *)&ss, len);
		if (r == -1 && errno != EADDRINUSE)
			break;
	}
	if (r == -1 || listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		log_limited(&ftp_data_log_listen, LOG_WARNING, NULL,
		    "passive data socket: %s", strerror(errno));
		close(fd);
		*why = "No passive port free.";
		return -1;
	}
	*port = ntohs(ss.ss_family == AF_INET ? sin->sin_port :
	    sin6->sin6_port);
	return fd;
}

/*
 * The IPv4 address PASV shows: --pasv-address, else the control
 * connection's local address if it is IPv4.  -1 if it is not.
 */
static int
ftp_data_pasv_addr(const struct ftp_data *dt, struct in_addr *shown)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&dt->local;
	const struct sockaddr_in6 *sin6 =
	    (const struct sockaddr_in6 *)&dt->local;

	if (dt->conf->has_pasv_addr)
		*shown = dt->conf->pasv_addr;
	else if (dt->local.ss_family == AF_INET)
		*shown = sin->sin_addr;
	else if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		memcpy(shown, &sin6->sin6_addr.s6_addr[12], 4);
	else
		return -1;
	return 0;
}

/*
 * PASV (extended 0) or EPSV (1): listens for the client's data connection
 * and writes the reply text into buf.  Returns -1 with the reason in buf.
 */
int
ftp_data_passive(struct ftp_data *dt, int extended, char *buf, size_t cap)
{
	struct in_addr shown;
	const unsigned char *a = (const unsigned char *)&shown;
	const char *why;
	unsigned port;
	int fd, r;

	ftp_data_reset(dt);
	if (!extended && ftp_data_pasv_addr(dt, &shown) == -1) {
		snprintf(buf, cap, "PASV needs IPv4: use EPSV.");
		return -1;
	}
	if ((fd = ftp_data_listen(dt, &port, &why)) == -1) {
		snprintf(buf, cap, "%s", why);
		return -1;
	}
	dt->accept_ev = event_new(dt->conf->base, fd, EV_READ | EV_PERSIST,
	    ftp_data_accept_cb, dt);
	if (dt->accept_ev == NULL || event_add(dt->accept_ev, NULL) == -1) {
		close(fd);
		snprintf(buf, cap, "Out of memory.");
		return -1;
	}
	dt->lfd = fd;
	dt->mode = FTP_DATA_PASSIVE;
	/* A client that never connects nor transfers: drop the listener. */
	evtimer_add(dt->wait_ev, &dt->conf->timeout);
	if (extended)
		r = snprintf(buf, cap, "Entering Extended Passive Mode "
		    "(|||%u|)", port);
	else
		r = snprintf(buf, cap, "Entering Passive Mode "
		    "(%u,%u,%u,%u,%u,%u).", a[0], a[1], a[2], a[3],
		    port >> 8, port & 0xff);
	return r < 0 || (size_t)r >= cap ? -1 : 0;
}

/*
 * A connection to the passive port.  Only the control peer's address is
 * accepted (RFC 2577: no one else may steal the data); anyone else is
 * closed and logged, and the port keeps waiting for the real client.
 */
static void
ftp_data_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct ftp_data *dt = arg;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	int fd;

	fd = accept4(lfd, (struct sockaddr *)&peer, &len,
	    SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	if (!addr_same_host((struct sockaddr *)&peer,
	    (struct sockaddr *)&dt->peer)) {
		log_limited(&ftp_data_log_foreign, LOG_WARNING,
		    (struct sockaddr *)&peer, "refused a data connection "
		    "meant for %s", dt->host);
		close(fd);
		return;
	}
	event_free(dt->accept_ev);
	dt->accept_ev = NULL;
	close(dt->lfd);
	dt->lfd = -1;
	if (ftp_data_bev(dt, fd) == -1) {
		close(fd);
		if (dt->src != FTP_SRC_NONE)
			ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
		else
			ftp_data_reset(dt);
		return;
	}
	if (dt->prot->on) {
		/* Connected once the handshake is done: ftp_data_event_cb. */
		if (ftp_data_tls_start(dt) == -1) {
			if (dt->src != FTP_SRC_NONE)
				ftp_data_finish(dt, FTP_XR_LOCAL,
				    "out of memory");
			else
				ftp_data_reset(dt);
			return;
		}
		if (dt->src == FTP_SRC_NONE)
			evtimer_add(dt->wait_ev, &dt->conf->timeout);
		return;
	}
	dt->connected = 1;
	if (dt->src != FTP_SRC_NONE && ftp_data_begin(dt) == -1)
		ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
	else if (dt->src == FTP_SRC_NONE)
		evtimer_add(dt->wait_ev, &dt->conf->timeout);
}

/*
 * PROT P: the connected socket goes from its plain bufferevent to a TLS
 * one that waits for the client's handshake, in the session id context
 * of the control connection.
 */
static int
ftp_data_tls_start(struct ftp_data *dt)
{
	struct bufferevent *bev;
	int fd = bufferevent_getfd(dt->bev);

	bufferevent_setfd(dt->bev, -1);
	bufferevent_free(dt->bev);
	dt->bev = NULL;
	if ((bev = dt->conf->tls->bev(dt->conf->base, dt->conf->tls_ctx, fd,
	    dt->prot->sid)) == NULL) {
		close(fd);
		return -1;
	}
	dt->bev = bev;
	dt->tls = 1;
	bufferevent_setcb(bev, NULL, ftp_data_write_cb, ftp_data_event_cb,
	    dt);
	bufferevent_setwatermark(bev, EV_WRITE, FTP_DATA_LOWAT, 0);
	bufferevent_set_max_single_write(bev, FTP_DATA_TLS_MAX_WRITE);
	return bufferevent_enable(bev, EV_READ);
}

/*
 * The data connection's handshake is done: only a resumption of the
 * control connection's session is accepted, so that whoever reaches the
 * data port first gets nothing.  -1: refused (and handled).
 */
static int
ftp_data_tls_done(struct ftp_data *dt)
{
	char how[96];

	if (!dt->conf->tls->resumed(dt->bev, dt->prot->sid)) {
		log_limited(&ftp_data_log_resume, LOG_WARNING,
		    (struct sockaddr *)&dt->peer, "refused a TLS data "
		    "connection that did not resume the control session");
		if (dt->src != FTP_SRC_NONE)
			ftp_data_finish(dt, FTP_XR_TLS, "TLS session not "
			    "reused");
		else
			ftp_data_reset(dt);
		return -1;
	}
	dt->conf->tls->describe(dt->bev, how, sizeof(how));
	log_peer(LOG_DEBUG, (struct sockaddr *)&dt->peer,
	    "TLS data connection (%s, resumed)", how);
	bufferevent_disable(dt->bev, EV_READ);
	return 0;
}

/* Wraps a connected (or connecting) data socket in a bufferevent. */
static int
ftp_data_bev(struct ftp_data *dt, int fd)
{
	int on = 1;

	/* The tail of each sendfile chunk must not wait for an ACK. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	dt->bev = bufferevent_socket_new(dt->conf->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (dt->bev == NULL)
		return -1;
	bufferevent_setcb(dt->bev, NULL, ftp_data_write_cb, ftp_data_event_cb,
	    dt);
	bufferevent_setwatermark(dt->bev, EV_WRITE, FTP_DATA_LOWAT, 0);
	bufferevent_set_max_single_write(dt->bev, FTP_DATA_MAX_WRITE);
	bufferevent_set_timeouts(dt->bev, NULL, &dt->conf->timeout);
	return 0;
}

/* No connection (or no transfer) within --data-timeout. */
static void
ftp_data_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_data *dt = arg;

	if (dt->src != FTP_SRC_NONE)
		ftp_data_finish(dt, FTP_XR_NO_CONN, "no data connection");
	else
		ftp_data_reset(dt);
}

/*
 * PORT/EPRT: where to connect once a transfer starts.  Whether the
 * address may be used is the caller's to check.
 */
int
ftp_data_active(struct ftp_data *dt, const struct sockaddr *sa,
    socklen_t len)
{
	ftp_data_reset(dt);
	if (len > sizeof(dt->target))
		return -1;
	memcpy(&dt->target, sa, len);
	dt->targetlen = len;
	dt->mode = FTP_DATA_ACTIVE;
	return 0;
}

/*
 * Connects to the PORT/EPRT address from the control connection's local
 * address (any port), without waiting: the bufferevent reports it.
 */
static int
ftp_data_connect(struct ftp_data *dt)
{
	struct sockaddr_storage local;
	struct sockaddr_in v4;
	struct sockaddr_in6 *l6 = (struct sockaddr_in6 *)&local;
	socklen_t len;
	int fd;

	if ((fd = socket(dt->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	len = ftp_data_addrlen((struct sockaddr *)&dt->local);
	memcpy(&local, &dt->local, len);
	if (local.ss_family == AF_INET6 && dt->target.ss_family == AF_INET &&
	    IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr)) {
		memset(&v4, 0, sizeof(v4));
		v4.sin_family = AF_INET;
		memcpy(&v4.sin_addr, &l6->sin6_addr.s6_addr[12], 4);
		memcpy(&local, &v4, sizeof(v4));
		len = sizeof(v4);
	}
	if (local.ss_family == dt->target.ss_family) {
		if (local.ss_family == AF_INET)
			((struct sockaddr_in *)&local)->sin_port = 0;
		else
			l6->sin6_port = 0;
		(void)bind(fd, (struct sockaddr *)&local, len);
	}
	if (ftp_data_bev(dt, fd) == -1) {
		close(fd);
		return -1;
	}
	if (bufferevent_socket_connect(dt->bev, (struct sockaddr *)&dt->target,
	    (int)dt->targetlen) == -1) {
		bufferevent_free(dt->bev);
		dt->bev = NULL;
		return -1;
	}
	evtimer_add(dt->wait_ev, &dt->conf->timeout);
	return 0;
}

/* Starts a transfer whose source is set: connect, or send if connected. */
static int
ftp_data_start(struct ftp_data *dt)
{
	if (dt->mode == FTP_DATA_ACTIVE)
		return ftp_data_connect(dt);
	if (dt->connected)
		return ftp_data_begin(dt);
	evtimer_add(dt->wait_ev, &dt->conf->timeout);
	return 0;
}

/*
 * RETR: sends the bytes of fd from off to size.  Takes fd (closes it in
 * every case).  ascii converts LF to CRLF.  -1: the caller replies 425.
 */
int
ftp_data_send_file(struct ftp_data *dt, int fd, off_t off, off_t size,
    int ascii)
{
	if (!ftp_data_ready(dt)) {
		close(fd);
		return -1;
	}
	if (off > size)
		off = size;
	dt->fd = fd;
	dt->start = dt->off = off;
	dt->end = size;
	if (ascii)
		dt->src = FTP_SRC_ASCII;
	else {
		dt->src = FTP_SRC_FILE;
		if (size > off && !dt->prot->on) {
			dt->seg = evbuffer_file_segment_new(fd, off, size - off,
			    EVBUF_FS_CLOSE_ON_FREE | EVBUF_FS_DISABLE_LOCKING);
			if (dt->seg == NULL) {
				ftp_data_reset(dt);
				return -1;
			}
		}
	}
	if (ftp_data_start(dt) == -1) {
		ftp_data_reset(dt);
		return -1;
	}
	return 0;
}

/* LIST, NLST, MLSD: takes the listing in every case. */
int
ftp_data_send_listing(struct ftp_data *dt, struct ftp_listing *l)
{
	if (!ftp_data_ready(dt)) {
		ftp_listing_free(l);
		return -1;
	}
	dt->listing = l;
	dt->src = FTP_SRC_LISTING;
	if (ftp_data_start(dt) == -1) {
		ftp_data_reset(dt);
		return -1;
	}
	return 0;
}

/*
 * STOR, APPE, STOU: writes what arrives into fd (which stays the
 * caller's) until the client ends the data connection cleanly, the end
 * reported as FTP_XR_OK.  ascii makes CR LF into LF.
 */
int
ftp_data_recv_file(struct ftp_data *dt, int fd, int ascii)
{
	if (!ftp_data_ready(dt))
		return -1;
	dt->fd = fd;
	dt->src = FTP_SRC_UPLOAD;
	dt->ascii_in = ascii;
	if (ftp_data_start(dt) == -1) {
		ftp_data_reset(dt);
		return -1;
	}
	return 0;
}

/* Connected and with something to send: prime the output and go. */
static int
ftp_data_begin(struct ftp_data *dt)
{
	struct evbuffer *out = bufferevent_get_output(dt->bev);
	int lowat = FTP_DATA_RCVLOWAT;

	evtimer_del(dt->wait_ev);
	if (dt->src == FTP_SRC_UPLOAD && dt->tls) {
		/* Decrypted by the bufferevent, a bounded piece at a time. */
		bufferevent_setcb(dt->bev, ftp_data_tls_read_cb,
		    ftp_data_write_cb, ftp_data_event_cb, dt);
		bufferevent_setwatermark(dt->bev, EV_READ, 0,
		    FTP_DATA_READ_HIWAT);
		bufferevent_set_timeouts(dt->bev, &dt->conf->timeout,
		    NULL);
		if (ftp_data_tls_drain(dt) == -1)
			return 0;
		return bufferevent_enable(dt->bev, EV_READ);
	}
	if (dt->src == FTP_SRC_UPLOAD) {
		/*
		 * The socket is read here, not by the bufferevent: libevent
		 * 2.1 reads 4 KiB a call, and a few syscalls per 4 KiB would
		 * be most of an upload's cost.  SO_RCVLOWAT has the kernel
		 * wake us for a good piece at a time (or the end).
		 */
		bufferevent_disable(dt->bev, EV_READ | EV_WRITE);
		(void)setsockopt(bufferevent_getfd(dt->bev), SOL_SOCKET,
		    SO_RCVLOWAT, &lowat, sizeof(lowat));
		dt->read_ev = event_new(dt->conf->base,
		    bufferevent_getfd(dt->bev), EV_READ | EV_PERSIST,
		    ftp_data_upload_cb, dt);
		if (dt->read_ev == NULL)
			return -1;
		return event_add(dt->read_ev, &dt->conf->timeout);
	}
	if (ftp_data_fill(dt) == -1)
		return -1;
	if (dt->produced && evbuffer_get_length(out) == 0) {
		ftp_data_finish(dt, FTP_XR_OK, NULL);
		return 0;
	}
	return bufferevent_enable(dt->bev, EV_WRITE);
}

/* LF to CRLF for TYPE A, a read at a time. */
static int
ftp_data_fill_ascii(struct ftp_data *dt, struct evbuffer *out)
{
	char in[FTP_DATA_ASCII_READ], conv[2 * FTP_DATA_ASCII_READ];
	ssize_t n, i;
	size_t o = 0;

	n = pread(dt->fd, in, sizeof(in), dt->off);
	if (n == -1)
		return -1;
	if (n == 0) {
		dt->produced = 1;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (in[i] == '\n' && !dt->prev_cr)
			conv[o++] = '\r';
		conv[o++] = in[i];
		dt->prev_cr = in[i] == '\r';
	}
	dt->off += n;
	if (dt->off >= dt->end)
		dt->produced = 1;
	dt->queued += o;
	return evbuffer_add(out, conv, o);
}

/* TLS: the next piece of the file read into memory (no sendfile). */
static int
ftp_data_fill_tls(struct ftp_data *dt, struct evbuffer *out)
{
	struct evbuffer_iovec v;
	off_t want = dt->end - dt->off;
	ssize_t n;

	if (want > FTP_DATA_TLS_READ)
		want = FTP_DATA_TLS_READ;
	if (want <= 0) {
		dt->produced = 1;
		return 0;
	}
	if (evbuffer_reserve_space(out, (ev_ssize_t)want, &v, 1) < 1)
		return -1;
	do
		n = pread(dt->fd, v.iov_base, (size_t)want, dt->off);
	while (n == -1 && errno == EINTR);
	if (n <= 0) {
		/* Shorter than it was at RETR: a local error either way. */
		return -1;
	}
	v.iov_len = (size_t)n;
	if (evbuffer_commit_space(out, &v, 1) == -1)
		return -1;
	dt->off += n;
	dt->queued += (unsigned long long)n;
	if (dt->off >= dt->end)
		dt->produced = 1;
	return 0;
}

/* TLS upload: what the bufferevent decrypted goes to the file. */
static void
ftp_data_tls_read_cb(struct bufferevent *bev, void *arg)
{
	(void)ftp_data_tls_drain(arg);
}

/* Writes all decrypted input to the file.  -1: the transfer ended. */
static int
ftp_data_tls_drain(struct ftp_data *dt)
{
	struct evbuffer *in = bufferevent_get_input(dt->bev);
	struct evbuffer_iovec v[8];
	int i, n;
	size_t done;

	while (evbuffer_get_length(in) > 0) {
		n = evbuffer_peek(in, -1, NULL, v, 8);
		if (n > 8)
			n = 8;
		done = 0;
		for (i = 0; i < n; i++) {
			if (ftp_data_store(dt, v[i].iov_base,
			    v[i].iov_len) == -1) {
				ftp_data_finish(dt,
				    ftp_data_errno_result(dt->werr),
				    strerror(dt->werr));
				return -1;
			}
			done += v[i].iov_len;
		}
		evbuffer_drain(in, done);
	}
	return 0;
}

/* Queues more of the source while the output is below the watermark. */
static int
ftp_data_fill(struct ftp_data *dt)
{
	struct evbuffer *out = bufferevent_get_output(dt->bev);
	size_t before, limit;
	off_t len;
	int r;

	/* File segments cost no memory; text does, so less of it waits. */
	limit = dt->src == FTP_SRC_FILE ? FTP_DATA_LOWAT : FTP_DATA_TEXT_MAX;
	while (!dt->produced && evbuffer_get_length(out) < limit) {
		switch (dt->src) {
		case FTP_SRC_FILE:
			if (dt->tls || dt->seg == NULL) {
				if (ftp_data_fill_tls(dt, out) == -1)
					return -1;
				break;
			}
			len = dt->end - dt->off;
			if (len > FTP_DATA_CHUNK)
				len = FTP_DATA_CHUNK;
			if (len > 0 && evbuffer_add_file_segment(out, dt->seg,
			    dt->off - dt->start, len) == -1)
				return -1;
			dt->off += len;
			dt->queued += (unsigned long long)len;
			if (dt->off >= dt->end)
				dt->produced = 1;
			break;
		case FTP_SRC_ASCII:
			if (ftp_data_fill_ascii(dt, out) == -1)
				return -1;
			break;
		case FTP_SRC_LISTING:
			before = evbuffer_get_length(out);
			r = ftp_listing_fill(dt->listing, out,
			    FTP_DATA_TEXT_BATCH);
			if (r == -1)
				return -1;
			dt->queued += evbuffer_get_length(out) - before;
			if (r == 1)
				dt->produced = 1;
			break;
		case FTP_SRC_NONE:
		case FTP_SRC_UPLOAD:
			return -1;
		}
	}
	return 0;
}

/* The socket drained below the watermark: refill, or end when empty. */
static void
ftp_data_write_cb(struct bufferevent *bev, void *arg)
{
	struct ftp_data *dt = arg;

	if (dt->src == FTP_SRC_NONE)
		return;
	if (!dt->produced && ftp_data_fill(dt) == -1) {
		ftp_data_finish(dt, FTP_XR_LOCAL, "cannot read the file");
		return;
	}
	if (dt->produced &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ftp_data_finish(dt, FTP_XR_OK, NULL);
}

static void
ftp_data_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ftp_data *dt = arg;

	if (what & BEV_EVENT_CONNECTED) {
		if (dt->prot->on && !dt->tls) {
			/* PORT/EPRT connected: now the handshake. */
			if (ftp_data_tls_start(dt) == -1)
				ftp_data_finish(dt, FTP_XR_LOCAL,
				    "out of memory");
			return;
		}
		if (dt->tls && ftp_data_tls_done(dt) == -1)
			return;
		evtimer_del(dt->wait_ev);
		if (dt->src == FTP_SRC_NONE)
			evtimer_add(dt->wait_ev, &dt->conf->timeout);
		dt->connected = 1;
		if (dt->src != FTP_SRC_NONE && ftp_data_begin(dt) == -1)
			ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
		return;
	}
	if (dt->src == FTP_SRC_UPLOAD && dt->connected &&
	    (what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		if (dt->tls && ftp_data_tls_drain(dt) == -1)
			return;
		ftp_data_upload_end(dt);
		return;
	}
	if (dt->tls && dt->src == FTP_SRC_NONE) {
		/* Passive, before any command: just forget it. */
		ftp_data_reset(dt);
		return;
	}
	if (!dt->connected && dt->tls)
		ftp_data_finish(dt, FTP_XR_TLS, "TLS handshake failed");
	else if (!dt->connected)
		ftp_data_finish(dt, FTP_XR_NO_CONN, "cannot connect");
	else if (what & BEV_EVENT_TIMEOUT)
		ftp_data_finish(dt, FTP_XR_TIMEOUT, "data timeout");
	else
		ftp_data_finish(dt, FTP_XR_CLOSED, "data connection lost");
}

/* write(2) all of buf; -1 with errno on failure. */
static int
ftp_data_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes n bytes received to the file: as they are, or for TYPE A with
 * CR LF made LF (a CR at the end of one read waits for the next to know
 * what follows it).  -1 with the errno in werr on failure.
 */
static int
ftp_data_store(struct ftp_data *dt, const char *raw, size_t n)
{
	char out[FTP_DATA_ASCII_READ + 1];
	size_t i, o = 0;

	dt->queued += n;
	if (!dt->ascii_in) {
		if (ftp_data_write_all(dt->fd, raw, n) == -1)
			goto fail;
	} else {
		if (dt->prev_cr && n > 0 && raw[0] != '\n')
			out[o++] = '\r';
		dt->prev_cr = 0;
		for (i = 0; i < n; i++) {
			if (raw[i] == '\r' && i + 1 == n) {
				dt->prev_cr = 1;
				break;
			}
			if (raw[i] == '\r' && raw[i + 1] == '\n')
				continue;
			out[o++] = raw[i];
			if (o >= FTP_DATA_ASCII_READ) {
				if (ftp_data_write_all(dt->fd, out, o) == -1)
					goto fail;
				o = 0;
			}
		}
		if (o > 0 && ftp_data_write_all(dt->fd, out, o) == -1)
			goto fail;
	}
	/*
	 * Start writing back what has piled up, without waiting, so that
	 * the fsync at the end finds little left to do.
	 */
	if (dt->queued - dt->synced >= FTP_DATA_WRITEBACK) {
		(void)sync_file_range(dt->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		dt->synced = dt->queued;
	}
	return 0;
fail:
	dt->werr = errno;
	return -1;
}

/* The result of a failed write, for the reply (452, 552, 451). */
enum ftp_xfer_result
ftp_data_errno_result(int err)
{
	switch (err) {
	case ENOSPC:
		return FTP_XR_NOSPACE;
	case EDQUOT:
	case EFBIG:
		return FTP_XR_QUOTA;
	default:
		return FTP_XR_LOCAL;
	}
}

/*
 * The upload's socket is readable (or --data-timeout passed without a
 * byte): one read of up to FTP_DATA_READ_HIWAT into the file; the end of
 * the stream ends the upload.
 */
static void
ftp_data_upload_cb(evutil_socket_t fd, short what, void *arg)
{
	static char buf[FTP_DATA_READ_HIWAT];	/* one loop, one buffer */
	struct ftp_data *dt = arg;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		ftp_data_finish(dt, FTP_XR_TIMEOUT, "data timeout");
		return;
	}
	n = read(fd, buf, sizeof(buf));
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		ftp_data_finish(dt, FTP_XR_CLOSED, "data connection lost");
		return;
	}
	if (n == 0) {
		ftp_data_upload_end(dt);
		return;
	}
	if (ftp_data_store(dt, buf, (size_t)n) == -1)
		ftp_data_finish(dt, ftp_data_errno_result(dt->werr),
		    strerror(dt->werr));
}

/*
 * The client closed the data connection: all the data is here.  A CR
 * held back at the end of TYPE A text is written as it came; then the
 * upload is done, and the caller makes it the file.
 */
static void
ftp_data_upload_end(struct ftp_data *dt)
{
	int err;

	if (dt->ascii_in && dt->prev_cr &&
	    ftp_data_write_all(dt->fd, "\r", 1) == -1) {
		err = errno;
		ftp_data_finish(dt, ftp_data_errno_result(err), strerror(err));
		return;
	}
	ftp_data_finish(dt, FTP_XR_OK, NULL);
}

/*
 * Ends the transfer now (sockets and files closed at once) and writes
 * how into res: the bytes that went through, the result and why.
 */
static void
ftp_data_end(struct ftp_data *dt, enum ftp_xfer_result result,
    const char *why, struct ftp_data_result *res)
{
	unsigned long long sent, total;

	ftp_data_progress(dt, &sent, &total);
	ftp_data_reset(dt);
	res->result = result;
	res->why = why;
	res->bytes = sent;
}

/*
 * Ends the transfer now and reports it from a zero timer, so that the
 * callback never runs inside a bufferevent's or the caller's stack.
 */
static void
ftp_data_finish(struct ftp_data *dt, enum ftp_xfer_result result,
    const char *why)
{
	struct timeval zero = { 0, 0 };

	ftp_data_end(dt, result, why, &dt->res);
	dt->reporting = 1;
	evtimer_add(dt->done_ev, &zero);
}

/* Reported from the loop: the callback may free dt. */
static void
ftp_data_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_data *dt = arg;

	dt->reporting = 0;
	dt->done(&dt->res, dt->arg);
}
