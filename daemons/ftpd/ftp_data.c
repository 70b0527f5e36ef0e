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
 * stack.
 *
 * Every state has its deadline: a passive port nobody connects to, an
 * active connection that does not come up, a TLS handshake that does not
 * end, a connection that waits for a command, all within --accept-timeout;
 * a transfer that stalls within --data-timeout.  When every port of
 * --pasv-ports is listened on, the oldest listener of the address that
 * holds the most is taken back for the newcomer.
 *
 * PROT is the one the connection was set up under (PASV, PORT): a
 * transfer under another level does not use it (ftp_data_stale()).
 * Under PROT P the socket stays the loop's, but the TLS does not: a
 * stream of ftp_crypt.c makes and reads the records on the TLS pool,
 * reading and writing the file there too, and the loop moves what it
 * made to the socket and what came in to it.  The handshake must resume
 * the control connection's TLS session (else 522 and closed).
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
#include "ftp_crypt.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_sink.h"
#include "ftp_tls.h"
#include "log.h"

#define FTP_DATA_CHUNK		(4 * 1024 * 1024)	/* one sendfile segment */
#define FTP_DATA_MAX_WRITE	(4 * 1024 * 1024)	/* bytes per write call */
#define FTP_DATA_LOWAT		(1024 * 1024)	/* refill below this */
#define FTP_DATA_TEXT_BATCH	(64 * 1024)	/* text made per refill */
#define FTP_DATA_TEXT_MAX	(128 * 1024)	/* text queued at most */
#define FTP_DATA_ASCII_READ	(32 * 1024)	/* file bytes per refill */
#define FTP_DATA_READ_HIWAT	(1024 * 1024)	/* upload bytes read at once */
#define FTP_DATA_RCVLOWAT	(128 * 1024)	/* upload: wake up for this */
#define FTP_DATA_TLS_STEP	(256 * 1024)	/* TLS: file bytes per step */
#define FTP_DATA_TLS_QUEUE	(512 * 1024)	/* TLS: records queued at most */
#define FTP_DATA_TLS_READ	(256 * 1024)	/* TLS: records read at most */
#define FTP_DATA_TLS_SELF	(128 * 1024)	/* TLS: the SSL, a chunk */
#define FTP_DATA_TLS_WRITE	(256 * 1024)	/* TLS: bytes per write call */

enum ftp_data_mode {
	FTP_DATA_NONE,
	FTP_DATA_PASSIVE,
	FTP_DATA_ACTIVE,
};

enum ftp_data_source {
	FTP_SRC_NONE,
	FTP_SRC_FILE,		/* sendfile segments, or TLS steps */
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
	int			 prot_on;	/* PROT P at PASV or PORT */
	int			 lfd;		/* passive listener */
	struct event		*accept_ev;
	TAILQ_ENTRY(ftp_data)	 lentry;	/* on conf->listening */
	int			 listed;
	struct sockaddr_storage	 target;	/* active: where to connect */
	socklen_t		 targetlen;
	struct bufferevent	*bev;
	int			 connected;	/* and TLS handshake done */
	struct event		*wait_ev;	/* data connection deadline */
	struct event		*done_ev;	/* reports the end */
	struct event		*more_ev;	/* produce more, next turn */
	int			 reporting;	/* done_ev armed */
	struct ftp_data_result	 res;		/* the end, until reported */

	/* PROT P: the stream, what came in for it, where it stands. */
	struct ftp_crypt	*crypt;
	struct evbuffer		*net_in;	/* records read, not handed */
	int			 net_eof;	/* the peer shut its side */
	int			 closing;	/* close_notify queued: last */

	/* The running transfer. */
	enum ftp_data_source	 src;
	int			 fd;		/* upload: the caller's */
	struct ftp_sink		 sink;		/* upload: into fd */
	struct event		*read_ev;	/* upload, TLS: socket readable */
	struct evbuffer_file_segment *seg;
	off_t			 start;		/* first byte sent */
	off_t			 off;		/* next byte to queue */
	off_t			 end;
	int			 prev_cr;	/* ASCII: last byte was CR */
	struct ftp_listing	*listing;
	int			 produced;	/* all of it is queued */
	unsigned long long	 queued;
};

static const struct timeval ftp_data_zero = { 0, 0 };

/* What clients can make us log, within limits. */
static struct log_limit ftp_data_log_listen =
    LOG_LIMIT("passive socket failures", 5);
static struct log_limit ftp_data_log_foreign =
    LOG_LIMIT("data connections from elsewhere", 5);
static struct log_limit ftp_data_log_resume =
    LOG_LIMIT("TLS data connections not resumed", 5);
static struct log_limit ftp_data_log_taken =
    LOG_LIMIT("passive ports taken back", 5);

static void	ftp_data_reset(struct ftp_data *);
static void	ftp_data_unlist(struct ftp_data *);
static int	ftp_data_listen(struct ftp_data *, unsigned *, const char **);
static int	ftp_data_bind(struct ftp_data *, int, unsigned *);
static int	ftp_data_take_back(struct ftp_data_conf *);
static int	ftp_data_pasv_addr(const struct ftp_data *, struct in_addr *);
static void	ftp_data_accept_cb(evutil_socket_t, short, void *);
static void	ftp_data_wait_cb(evutil_socket_t, short, void *);
static void	ftp_data_wait(struct ftp_data *);
static void	ftp_data_done_cb(evutil_socket_t, short, void *);
static void	ftp_data_more_cb(evutil_socket_t, short, void *);
static void	ftp_data_write_cb(struct bufferevent *, void *);
static void	ftp_data_event_cb(struct bufferevent *, short, void *);
static void	ftp_data_upload_cb(evutil_socket_t, short, void *);
static void	ftp_data_connected(struct ftp_data *);
static int	ftp_data_connect(struct ftp_data *);
static int	ftp_data_start(struct ftp_data *);
static int	ftp_data_begin(struct ftp_data *);
static int	ftp_data_fill(struct ftp_data *);
static int	ftp_data_fill_text(struct ftp_data *, struct evbuffer *,
		    size_t);
static int	ftp_data_fill_ascii(struct ftp_data *, struct evbuffer *);
static void	ftp_data_finish(struct ftp_data *, enum ftp_xfer_result,
		    const char *);
static void	ftp_data_end(struct ftp_data *, enum ftp_xfer_result,
		    const char *, struct ftp_data_result *);
static int	ftp_data_bev(struct ftp_data *, int);
static int	ftp_data_tls_start(struct ftp_data *);
static void	ftp_data_tls_read_cb(evutil_socket_t, short, void *);
static void	ftp_data_tls_step_cb(void *);
static void	ftp_data_tls_pump(struct ftp_data *);
static int	ftp_data_tls_produce(struct ftp_data *);
static void	ftp_data_tls_opened(struct ftp_data *);
static void	ftp_data_tls_failed(struct ftp_data *);
static void	ftp_data_tls_bye(struct ftp_data *);
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

/* The daemon's settings, before the options fill them in. */
void
ftp_data_conf_init(struct ftp_data_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	TAILQ_INIT(&conf->listening);
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
	dt->more_ev = evtimer_new(conf->base, ftp_data_more_cb, dt);
	if (dt->wait_ev == NULL || dt->done_ev == NULL ||
	    dt->more_ev == NULL) {
		ftp_data_free(dt);
		return NULL;
	}
	return dt;
}

/* Off the list of passive ports nobody has connected to yet. */
static void
ftp_data_unlist(struct ftp_data *dt)
{
	if (dt->listed)
		TAILQ_REMOVE(&dt->conf->listening, dt, lentry);
	dt->listed = 0;
}

/* Drops the listener, the connection and any transfer in progress. */
static void
ftp_data_reset(struct ftp_data *dt)
{
	ftp_data_unlist(dt);
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
		ftp_data_tls_bye(dt);
		bufferevent_free(dt->bev);
		dt->bev = NULL;
	}
	/* A step still running ends alone, with copies of its own. */
	ftp_crypt_free(dt->crypt);
	dt->crypt = NULL;
	if (dt->net_in != NULL) {
		evbuffer_free(dt->net_in);
		dt->net_in = NULL;
	}
	dt->net_eof = 0;
	dt->closing = 0;
	if (dt->seg != NULL) {
		evbuffer_file_segment_free(dt->seg);	/* closes dt->fd */
		dt->seg = NULL;
		dt->fd = -1;
	}
	/* A download's file is ours; an upload's is the caller's. */
	if (dt->fd != -1 && dt->src != FTP_SRC_UPLOAD)
		close(dt->fd);
	dt->fd = -1;
	ftp_listing_free(dt->listing);
	dt->listing = NULL;
	if (dt->wait_ev != NULL)
		evtimer_del(dt->wait_ev);
	if (dt->more_ev != NULL)
		evtimer_del(dt->more_ev);
	dt->mode = FTP_DATA_NONE;
	dt->connected = 0;
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
	if (dt->more_ev != NULL)
		event_free(dt->more_ev);
	free(dt);
}

/* PASV or PORT given: a transfer may start. */
int
ftp_data_ready(const struct ftp_data *dt)
{
	return dt != NULL && dt->mode != FTP_DATA_NONE;
}

/*
 * Whether the connection set up was made under another PROT level than
 * the session's now: then it is dropped, unused (1), and a new PASV or
 * PORT is needed.
 */
int
ftp_data_stale(struct ftp_data *dt)
{
	if (dt == NULL || dt->mode == FTP_DATA_NONE ||
	    dt->prot_on == dt->prot->on)
		return 0;
	ftp_data_reset(dt);
	return 1;
}

/* A transfer runs, or its end is not reported yet. */
int
ftp_data_busy(const struct ftp_data *dt)
{
	return dt != NULL && (dt->src != FTP_SRC_NONE || dt->reporting);
}

/*
 * The most a transfer of this kind on this connection holds in memory:
 * what the caller takes from its budget before it starts.
 */
size_t
ftp_data_memory(const struct ftp_data *dt, enum ftp_data_kind kind)
{
	/* A listing's batch of names, and what one refill makes. */
	size_t names = FTP_LIST_BATCH * 48 + FTP_LIST_LINE_MAX;

	/*
	 * PROT P: the records that wait for the socket and those one step
	 * adds (an upload's records read and handed over are no more), the
	 * SSL and the stream's chunk; text is made a batch a step.
	 */
	if (dt->prot->on)
		return FTP_DATA_TLS_SELF + FTP_DATA_TLS_QUEUE +
		    FTP_DATA_TLS_STEP + (kind == FTP_DATA_TEXT ?
		    FTP_DATA_TEXT_BATCH + names : 0);
	/* Files go as segments of the file (sendfile), uploads straight. */
	return kind == FTP_DATA_TEXT ? FTP_DATA_TEXT_MAX +
	    FTP_DATA_TEXT_BATCH + names : 16 * 1024;
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
	unsigned long long waiting;

	*sent = *total = 0;
	if (dt == NULL || dt->src == FTP_SRC_NONE)
		return;
	if (dt->src == FTP_SRC_UPLOAD)
		*sent = dt->crypt != NULL ? dt->queued : dt->sink.bytes;
	else {
		/* TLS: what waits is records, a little more than the text. */
		waiting = dt->bev != NULL ?
		    evbuffer_get_length(bufferevent_get_output(dt->bev)) : 0;
		*sent = waiting < dt->queued ? dt->queued - waiting : 0;
	}
	if (dt->src == FTP_SRC_FILE)
		*total = (unsigned long long)(dt->end - dt->start);
}

/*
 * Every port of --pasv-ports is listened on: the one that waited longest
 * of the address holding the most is taken back (that address found by
 * a majority vote over the list, in one pass).  Its session's transfer,
 * if one waits, fails with 425.  -1 when there is none to take.
 */
static int
ftp_data_take_back(struct ftp_data_conf *conf)
{
	struct ftp_data *dt, *cand = NULL, *victim = NULL;
	unsigned long votes = 0;

	TAILQ_FOREACH(dt, &conf->listening, lentry) {
		if (votes == 0) {
			cand = dt;
			votes = 1;
		} else if (addr_same_host((struct sockaddr *)&dt->peer,
		    (struct sockaddr *)&cand->peer))
			votes++;
		else
			votes--;
	}
	if (cand == NULL)
		return -1;
	TAILQ_FOREACH(dt, &conf->listening, lentry)
		if (addr_same_host((struct sockaddr *)&dt->peer,
		    (struct sockaddr *)&cand->peer)) {
			victim = dt;
			break;
		}
	log_limited(&ftp_data_log_taken, LOG_NOTICE,
	    (struct sockaddr *)&victim->peer, "passive port taken back for "
	    "another session: every port of --pasv-ports in use");
	conf->taken_back++;
	if (victim->src != FTP_SRC_NONE)
		ftp_data_finish(victim, FTP_XR_NO_CONN, "port taken back");
	else
		ftp_data_reset(victim);
	return 0;
}

/*
 * Binds fd to a port of --pasv-ports (tried in turn from the last one
 * used), or any port; the port in *port.  -1 with errno.
 */
static int
ftp_data_bind(struct ftp_data *dt, int fd, unsigned *port)
{
	struct ftp_data_conf *conf = dt->conf;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = ftp_data_addrlen((struct sockaddr *)&dt->local);
	unsigned span, i;
	int r;

	memcpy(&ss, &dt->local, len);
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
	return r;
}

/*
 * A listening socket on the control connection's local address, on a
 * port of --pasv-ports if given, its port in *port.  When every port is
 * taken by a listener nobody connected to, one is taken back.  -1 with
 * the reason for the client in *why.
 */
static int
ftp_data_listen(struct ftp_data *dt, unsigned *port, const char **why)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	int fd, r;

	if ((fd = socket(dt->local.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
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
	r = ftp_data_bind(dt, fd, port);
	if (r == -1 && errno == EADDRINUSE && dt->conf->pasv_lo != 0 &&
	    ftp_data_take_back(dt->conf) == 0)
		r = ftp_data_bind(dt, fd, port);
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
	dt->prot_on = dt->prot->on;
	TAILQ_INSERT_TAIL(&dt->conf->listening, dt, lentry);
	dt->listed = 1;
	/* A client that never connects: the listener goes. */
	ftp_data_wait(dt);
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
	ftp_data_unlist(dt);
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
	ftp_data_connected(dt);
}

/*
 * The socket is connected: under PROT P the handshake comes first
 * (within --accept-timeout); then the transfer waiting starts, or the
 * connection waits for its command.
 */
static void
ftp_data_connected(struct ftp_data *dt)
{
	if (dt->prot_on) {
		if (ftp_data_tls_start(dt) == -1) {
			if (dt->src != FTP_SRC_NONE)
				ftp_data_finish(dt, FTP_XR_LOCAL,
				    "out of memory");
			else
				ftp_data_reset(dt);
			return;
		}
		ftp_data_wait(dt);
		return;
	}
	dt->connected = 1;
	if (dt->src == FTP_SRC_NONE) {
		ftp_data_wait(dt);
		return;
	}
	if (ftp_data_begin(dt) == -1)
		ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
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
	bufferevent_setwatermark(dt->bev, EV_WRITE, dt->prot_on ?
	    FTP_DATA_TLS_QUEUE : FTP_DATA_LOWAT, 0);
	/*
	 * Under PROT P the loop copies every byte into the socket: a smaller
	 * write a turn, so that other sessions wait less between turns.
	 */
	bufferevent_set_max_single_write(dt->bev, dt->prot_on ?
	    FTP_DATA_TLS_WRITE : FTP_DATA_MAX_WRITE);
	bufferevent_set_timeouts(dt->bev, NULL, &dt->conf->timeout);
	return 0;
}

/*
 * The deadline of a connection not up for its transfer yet: a listener,
 * a connect, a handshake, a connection waiting for a command.
 */
static void
ftp_data_wait(struct ftp_data *dt)
{
	evtimer_add(dt->wait_ev, &dt->conf->accept);
}

/* Not up (or no transfer) within --accept-timeout. */
static void
ftp_data_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_data *dt = arg;

	if (dt->src != FTP_SRC_NONE)
		ftp_data_finish(dt, dt->bev != NULL && dt->prot_on ?
		    FTP_XR_TLS : FTP_XR_NO_CONN, dt->bev != NULL &&
		    dt->prot_on ? "TLS handshake timed out" :
		    "no data connection");
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
	dt->prot_on = dt->prot->on;
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
	ftp_data_wait(dt);
	return 0;
}

/* Starts a transfer whose source is set: connect, or send if connected. */
static int
ftp_data_start(struct ftp_data *dt)
{
	if (dt->mode == FTP_DATA_ACTIVE && dt->bev == NULL)
		return ftp_data_connect(dt);
	if (dt->connected)
		return ftp_data_begin(dt);
	/* Its transfer waits now: not a port to take back any more. */
	ftp_data_unlist(dt);
	ftp_data_wait(dt);
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
		if (size > off && !dt->prot_on) {
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
	ftp_sink_init(&dt->sink, fd, ascii);
	if (ftp_data_start(dt) == -1) {
		ftp_data_reset(dt);
		return -1;
	}
	return 0;
}

/* Connected and with something to move: prime the output and go. */
static int
ftp_data_begin(struct ftp_data *dt)
{
	struct evbuffer *out = bufferevent_get_output(dt->bev);
	int lowat = FTP_DATA_RCVLOWAT;

	evtimer_del(dt->wait_ev);
	if (dt->crypt != NULL) {
		if ((dt->src == FTP_SRC_UPLOAD || dt->src == FTP_SRC_FILE) &&
		    ftp_crypt_set_file(dt->crypt, dt->fd,
		    dt->src == FTP_SRC_UPLOAD && dt->sink.ascii) == -1)
			return -1;
		if (dt->src == FTP_SRC_UPLOAD) {
			/* Records come in; a stall ends it (--data-timeout). */
			if (event_add(dt->read_ev, &dt->conf->timeout) == -1)
				return -1;
		}
		ftp_data_tls_pump(dt);
		return 0;
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

/*
 * Text (a listing, or a file in TYPE A) into out, one batch: bounded
 * work, which may add nothing (a listing whose batch was all filtered
 * out); the next comes on the next turn.  -1 on error.
 */
static int
ftp_data_fill_text(struct ftp_data *dt, struct evbuffer *out, size_t count)
{
	size_t before = evbuffer_get_length(out);
	int r;

	if (dt->src == FTP_SRC_ASCII)
		return ftp_data_fill_ascii(dt, out);
	r = ftp_listing_fill(dt->listing, out, FTP_DATA_TEXT_BATCH);
	if (r == -1)
		return -1;
	if (count)
		dt->queued += evbuffer_get_length(out) - before;
	if (r == 1)
		dt->produced = 1;
	return 0;
}

/*
 * Queues more of the source while the output is below the watermark:
 * file segments (no copy, no memory) as far as the watermark, text one
 * batch a turn.
 */
static int
ftp_data_fill(struct ftp_data *dt)
{
	struct evbuffer *out = bufferevent_get_output(dt->bev);
	off_t len;

	if (dt->src != FTP_SRC_FILE) {
		if (!dt->produced && evbuffer_get_length(out) <
		    FTP_DATA_TEXT_MAX && ftp_data_fill_text(dt, out, 1) == -1)
			return -1;
		if (!dt->produced && evbuffer_get_length(out) == 0)
			evtimer_add(dt->more_ev, &ftp_data_zero);
		return 0;
	}
	while (!dt->produced && evbuffer_get_length(out) < FTP_DATA_LOWAT) {
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
	}
	return 0;
}

/* The socket drained below the watermark: refill, or end when empty. */
static void
ftp_data_write_cb(struct bufferevent *bev, void *arg)
{
	struct ftp_data *dt = arg;

	if (dt->src == FTP_SRC_NONE || dt->src == FTP_SRC_UPLOAD)
		return;
	if (dt->crypt != NULL) {
		ftp_data_tls_pump(dt);
		return;
	}
	if (!dt->produced && ftp_data_fill(dt) == -1) {
		ftp_data_finish(dt, FTP_XR_LOCAL, "cannot read the file");
		return;
	}
	if (dt->produced &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ftp_data_finish(dt, FTP_XR_OK, NULL);
}

/* A batch of text that added nothing: the next one, on this turn. */
static void
ftp_data_more_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_data *dt = arg;

	if (dt->bev != NULL)
		ftp_data_write_cb(dt->bev, dt);
}

static void
ftp_data_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct ftp_data *dt = arg;

	if (what & BEV_EVENT_CONNECTED) {
		evtimer_del(dt->wait_ev);
		ftp_data_connected(dt);
		return;
	}
	if (dt->src == FTP_SRC_NONE) {
		/* Before any command: just forget it. */
		ftp_data_reset(dt);
		return;
	}
	if (!dt->connected && dt->prot_on && dt->crypt != NULL)
		ftp_data_finish(dt, FTP_XR_TLS, "TLS handshake failed");
	else if (!dt->connected)
		ftp_data_finish(dt, FTP_XR_NO_CONN, "cannot connect");
	else if (what & BEV_EVENT_TIMEOUT)
		ftp_data_finish(dt, FTP_XR_TIMEOUT, "data timeout");
	else
		ftp_data_finish(dt, FTP_XR_CLOSED, "data connection lost");
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
		/* All the data is here: a CR held back goes too. */
		if (ftp_sink_end(&dt->sink) == -1)
			ftp_data_finish(dt, ftp_data_errno_result(
			    dt->sink.err), strerror(dt->sink.err));
		else
			ftp_data_finish(dt, FTP_XR_OK, NULL);
		return;
	}
	if (ftp_sink_write(&dt->sink, buf, (size_t)n) == -1)
		ftp_data_finish(dt, ftp_data_errno_result(dt->sink.err),
		    strerror(dt->sink.err));
}

/*
 * PROT P: the connected socket gets a stream, which waits for the
 * client's handshake in the session id context of the control
 * connection; the loop reads what comes (ftp_data_tls_read_cb) and
 * hands it over.
 */
static int
ftp_data_tls_start(struct ftp_data *dt)
{
	struct ftp_data_conf *conf = dt->conf;

	if (conf->tls == NULL || (dt->net_in = evbuffer_new()) == NULL ||
	    (dt->crypt = ftp_crypt_new(conf->tls, conf->tls_ctx,
	    dt->prot->sid, conf->crypto, ftp_data_tls_step_cb, dt)) == NULL)
		return -1;
	dt->read_ev = event_new(conf->base, bufferevent_getfd(dt->bev),
	    EV_READ | EV_PERSIST, ftp_data_tls_read_cb, dt);
	if (dt->read_ev == NULL || event_add(dt->read_ev, NULL) == -1)
		return -1;
	return 0;
}

/*
 * Records came in (or the peer shut its side, or the upload stalled for
 * --data-timeout): read into net_in, at most FTP_DATA_TLS_READ waiting,
 * and hand them to the stream if it is free.
 */
static void
ftp_data_tls_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_data *dt = arg;
	struct evbuffer_iovec v;
	ssize_t n;

	if (what & EV_TIMEOUT) {
		ftp_data_finish(dt, FTP_XR_TIMEOUT, "data timeout");
		return;
	}
	if (evbuffer_reserve_space(dt->net_in, 64 * 1024, &v, 1) < 1) {
		ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
		return;
	}
	n = read(fd, v.iov_base, v.iov_len);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		if (dt->src == FTP_SRC_NONE)
			ftp_data_reset(dt);
		else
			ftp_data_finish(dt, dt->connected ? FTP_XR_CLOSED :
			    FTP_XR_TLS, "data connection lost");
		return;
	}
	v.iov_len = (size_t)n;
	evbuffer_commit_space(dt->net_in, &v, 1);
	if (n == 0) {
		dt->net_eof = 1;
		event_del(dt->read_ev);
	} else if (evbuffer_get_length(dt->net_in) >= FTP_DATA_TLS_READ)
		event_del(dt->read_ev);		/* until the stream takes it */
	ftp_data_tls_pump(dt);
}

/*
 * Moves the PROT P connection on, unless its stream is busy: records
 * that came in go to it (the handshake, an upload), or the next piece
 * of a download is made once the socket has room.
 */
static void
ftp_data_tls_pump(struct ftp_data *dt)
{
	struct ftp_crypt *c = dt->crypt;
	struct evbuffer *in;
	int r = 0;

	if (c == NULL || ftp_crypt_busy(c))
		return;
	in = ftp_crypt_input(c);
	evbuffer_add_buffer(in, dt->net_in);
	if (dt->read_ev != NULL && !dt->net_eof &&
	    (!dt->connected || dt->src == FTP_SRC_UPLOAD) &&
	    !event_pending(dt->read_ev, EV_READ, NULL))
		event_add(dt->read_ev, dt->connected ? &dt->conf->timeout :
		    NULL);
	if (!dt->connected) {
		if (evbuffer_get_length(in) > 0)
			r = ftp_crypt_handshake(c);
		else if (dt->net_eof)
			ftp_data_tls_failed(dt);
	} else if (dt->src == FTP_SRC_UPLOAD) {
		if (evbuffer_get_length(in) > 0)
			r = ftp_crypt_receive(c);
		else if (dt->net_eof && ftp_crypt_finish_file(c) == -1)
			ftp_data_finish(dt, ftp_data_errno_result(errno),
			    strerror(errno));
		else if (dt->net_eof)
			ftp_data_finish(dt, FTP_XR_OK, NULL);
	} else if (dt->src != FTP_SRC_NONE)
		r = ftp_data_tls_produce(dt);
	if (r == -1)
		ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
}

/*
 * A download under PROT P: the next piece for the stream, while fewer
 * than FTP_DATA_TLS_QUEUE bytes of records wait for the socket; at the
 * end close_notify, and the end once the socket has taken it all.
 */
static int
ftp_data_tls_produce(struct ftp_data *dt)
{
	struct evbuffer *out = bufferevent_get_output(dt->bev);
	struct ftp_crypt *c = dt->crypt;
	off_t len;

	if (evbuffer_get_length(out) >= FTP_DATA_TLS_QUEUE)
		return 0;
	if (dt->produced) {
		if (!dt->closing) {
			dt->closing = 1;
			ftp_crypt_close(c);
			evbuffer_add_buffer(out, ftp_crypt_output(c));
		}
		if (evbuffer_get_length(out) == 0)
			ftp_data_finish(dt, FTP_XR_OK, NULL);
		else
			bufferevent_enable(dt->bev, EV_WRITE);
		return 0;
	}
	if (dt->src == FTP_SRC_FILE) {
		len = dt->end - dt->off;
		if (len > FTP_DATA_TLS_STEP)
			len = FTP_DATA_TLS_STEP;
		if (len == 0) {
			dt->produced = 1;
			return ftp_data_tls_produce(dt);
		}
		return ftp_crypt_send_file(c, dt->off, (size_t)len);
	}
	if (ftp_data_fill_text(dt, ftp_crypt_text(c), 0) == -1) {
		ftp_data_finish(dt, FTP_XR_LOCAL, "cannot read the file");
		return 0;
	}
	if (evbuffer_get_length(ftp_crypt_text(c)) > 0)
		return ftp_crypt_send_text(c);
	if (dt->produced)
		return ftp_data_tls_produce(dt);
	evtimer_add(dt->more_ev, &ftp_data_zero);
	return 0;
}

/*
 * A step of the stream is over (in the loop): the records it made go to
 * the socket, the bytes it moved are counted, and the connection goes on
 * or ends as the stream now stands.
 */
static void
ftp_data_tls_step_cb(void *arg)
{
	struct ftp_data *dt = arg;
	struct ftp_crypt *c = dt->crypt;
	struct evbuffer *made = ftp_crypt_output(c);
	size_t moved = ftp_crypt_moved(c);
	int err;

	if (evbuffer_get_length(made) > 0) {
		evbuffer_add_buffer(bufferevent_get_output(dt->bev), made);
		bufferevent_enable(dt->bev, EV_WRITE);
	}
	dt->queued += moved;
	if (dt->src == FTP_SRC_FILE) {
		dt->off += (off_t)moved;
		if (dt->off >= dt->end)
			dt->produced = 1;
	}
	switch (ftp_crypt_state(c)) {
	case FTP_CRYPT_HANDSHAKE:
		break;
	case FTP_CRYPT_OPEN:
		if (!dt->connected) {
			ftp_data_tls_opened(dt);
			return;
		}
		break;
	case FTP_CRYPT_CLOSED:
		/* The peer's close_notify: an upload's end of data. */
		if (dt->src != FTP_SRC_UPLOAD)
			ftp_data_finish(dt, FTP_XR_CLOSED, "data connection "
			    "closed");
		else if (ftp_crypt_finish_file(c) == -1)
			ftp_data_finish(dt, ftp_data_errno_result(errno),
			    strerror(errno));
		else
			ftp_data_finish(dt, FTP_XR_OK, NULL);
		return;
	case FTP_CRYPT_FAILED:
		ftp_data_tls_failed(dt);
		return;
	case FTP_CRYPT_FILE_ERROR:
		err = ftp_crypt_error(c);
		ftp_data_finish(dt, dt->src == FTP_SRC_UPLOAD ?
		    ftp_data_errno_result(err) : FTP_XR_LOCAL, strerror(err));
		return;
	}
	ftp_data_tls_pump(dt);
}

/*
 * The handshake is done: only a resumption of the control connection's
 * session is accepted, so that whoever reaches the data port first gets
 * nothing (522).  Then the transfer waiting starts, or the connection
 * waits for its command.
 */
static void
ftp_data_tls_opened(struct ftp_data *dt)
{
	char how[96];

	if (!ftp_crypt_resumed(dt->crypt, dt->prot->sid)) {
		log_limited(&ftp_data_log_resume, LOG_WARNING,
		    (struct sockaddr *)&dt->peer, "refused a TLS data "
		    "connection that did not resume the control session");
		if (dt->src != FTP_SRC_NONE)
			ftp_data_finish(dt, FTP_XR_TLS, "TLS session not "
			    "reused");
		else
			ftp_data_reset(dt);
		return;
	}
	ftp_crypt_describe(dt->crypt, how, sizeof(how));
	log_peer(LOG_DEBUG, (struct sockaddr *)&dt->peer,
	    "TLS data connection (%s, resumed)", how);
	evtimer_del(dt->wait_ev);
	dt->connected = 1;
	/* A download reads nothing more; an upload from begin. */
	event_del(dt->read_ev);
	if (dt->src == FTP_SRC_NONE) {
		ftp_data_wait(dt);
		return;
	}
	if (ftp_data_begin(dt) == -1)
		ftp_data_finish(dt, FTP_XR_LOCAL, "out of memory");
}

/* The TLS layer failed: in the handshake 522, later the connection lost. */
static void
ftp_data_tls_failed(struct ftp_data *dt)
{
	if (dt->src == FTP_SRC_NONE)
		ftp_data_reset(dt);
	else if (!dt->connected)
		ftp_data_finish(dt, FTP_XR_TLS, "TLS handshake failed");
	else
		ftp_data_finish(dt, FTP_XR_CLOSED, "TLS data connection "
		    "broken");
}

/*
 * Before the socket closes: close_notify straight to the socket (a few
 * bytes, sent if they fit), as the client's TLS layer expects; not while
 * a step runs (the stream is the worker's), nor behind records that
 * will not be sent (it would break their order), nor twice.
 */
static void
ftp_data_tls_bye(struct ftp_data *dt)
{
	struct evbuffer *out;

	if (dt->crypt == NULL || ftp_crypt_busy(dt->crypt) || dt->closing ||
	    !dt->connected ||
	    evbuffer_get_length(bufferevent_get_output(dt->bev)) > 0)
		return;
	dt->closing = 1;
	out = ftp_crypt_output(dt->crypt);
	ftp_crypt_close(dt->crypt);
	(void)evbuffer_write(out, bufferevent_getfd(dt->bev));
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
