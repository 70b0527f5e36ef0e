/* SPDX-License-Identifier: ISC */
/*
 * Data connections.  A control session has at most one: PASV/EPSV make it
 * listen, PORT/EPRT make it connect once a transfer starts, and it carries
 * one transfer at a time (a file or a listing out, a file in).  It knows
 * nothing of sessions: it is given the two ends of the control connection,
 * the daemon's settings and a callback, and reports through the callback
 * how each transfer ended.
 */
#ifndef CLOCKWORK_FTP_DATA_H
#define CLOCKWORK_FTP_DATA_H

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <stddef.h>

#include "ftp_tls.h"

struct event_base;
struct ftp_data;
struct ftp_listing;
struct ftp_work;
struct ssl_ctx_st;

/* How a transfer ended. */
enum ftp_xfer_result {
	FTP_XR_OK,
	FTP_XR_NO_CONN,	/* data connection never came up */
	FTP_XR_CLOSED,	/* peer went away or refused */
	FTP_XR_TIMEOUT,
	FTP_XR_LOCAL,		/* our side: file or memory */
	FTP_XR_ABORTED,	/* ABOR, QUIT, shutdown */
	FTP_XR_NOSPACE,	/* upload: ENOSPC (452) */
	FTP_XR_QUOTA,		/* upload: EDQUOT, EFBIG (552) */
	FTP_XR_TLS,		/* data connection's TLS refused (522) */
};

struct ftp_data_result {
	enum ftp_xfer_result	 result;
	const char		*why;		/* static text: logs, replies */
	unsigned long long	 bytes;		/* moved over the connection */
};

/*
 * The end of a transfer, called from the loop: never from inside a call
 * into this module, so the callee may do anything, free it included.
 */
typedef void (*ftp_data_done_fn)(const struct ftp_data_result *, void *);

TAILQ_HEAD(ftp_data_list, ftp_data);

/* What the daemon gives every data connection. */
struct ftp_data_conf {
	struct event_base	*base;
	struct timeval		 timeout;	/* --data-timeout: a stall */
	struct timeval		 accept;	/* --accept-timeout: not up */
	unsigned		 pasv_lo;	/* --pasv-ports; 0: any port */
	unsigned		 pasv_hi;
	unsigned		 pasv_next;	/* rotates through them */
	int			 has_pasv_addr;
	struct in_addr		 pasv_addr;	/* --pasv-address */
	struct ssl_ctx_st	*tls_ctx;	/* FTPS, or NULL */
	const struct ftp_tls_ops *tls;		/* set with tls_ctx */
	struct ftp_work		*crypto;	/* the TLS pool, with tls_ctx */
	/* Passive ports listened on, no client yet: the oldest first. */
	struct ftp_data_list	 listening;
	unsigned long long	 taken_back;	/* ports given to another */
};

/* A session's PROT level, read each time a data connection comes up. */
struct ftp_data_prot {
	int			 on;		/* PROT P: TLS on data */
	unsigned char		 sid[FTP_TLS_SID_LEN]; /* the control's TLS */
};

/* What ftp_data_abort() found. */
enum ftp_data_cut {
	FTP_DATA_IDLE,		/* no transfer: only the set-up is dropped */
	FTP_DATA_CUT,		/* a transfer was cut: the result says so */
	FTP_DATA_ENDED,		/* it had ended, not yet reported: the result */
};

/* What a transfer may hold at most (for ftp_data_memory()). */
enum ftp_data_kind {
	FTP_DATA_FILE,		/* a file either way, binary */
	FTP_DATA_TEXT,		/* a listing, or a file in TYPE A */
};

void	ftp_data_conf_init(struct ftp_data_conf *);
struct ftp_data *ftp_data_new(struct ftp_data_conf *, const struct sockaddr *,
	    const struct sockaddr *, const struct ftp_data_prot *,
	    ftp_data_done_fn, void *);
void	ftp_data_free(struct ftp_data *);
int	ftp_data_passive(struct ftp_data *, int, char *, size_t);
int	ftp_data_active(struct ftp_data *, const struct sockaddr *,
	    socklen_t);
int	ftp_data_ready(const struct ftp_data *);
int	ftp_data_stale(struct ftp_data *);
int	ftp_data_busy(const struct ftp_data *);
size_t	ftp_data_memory(const struct ftp_data *, enum ftp_data_kind);
int	ftp_data_send_file(struct ftp_data *, int, off_t, off_t, int);
int	ftp_data_send_listing(struct ftp_data *, struct ftp_listing *);
int	ftp_data_recv_file(struct ftp_data *, int, int);
void	ftp_data_progress(const struct ftp_data *, unsigned long long *,
	    unsigned long long *);
enum ftp_data_cut ftp_data_abort(struct ftp_data *, struct ftp_data_result *);
enum ftp_xfer_result ftp_data_errno_result(int);

#endif
