/* SPDX-License-Identifier: ISC */
/* clockwork-ftpd: the daemon's settings and state, shared by its sessions. */
#ifndef CLOCKWORK_FTPD_H
#define CLOCKWORK_FTPD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include "addr.h"
#include "ftp_data.h"
#include "ftp_tls.h"
#include "ftp_upload.h"
#include "ftp_users.h"

struct event;
struct event_base;
struct ftp_auth;
struct ftp_session;
struct server;

struct ftpd_config {
	const char		*root;
	int			 rootfd;	/* O_PATH of the root */
	unsigned long		 max_per_ip;	/* 0: no limit */
	struct timeval		 idle;		/* control connection */
	struct timeval		 login_delay;	/* after a failed login */
	int			 anon_write;	/* --anon-write */
	const char		*users_file;	/* --users */
	struct ssl_ctx_st	*tls_ctx;	/* --tls-cert, or NULL */
	int			 require_tls;	/* --require-tls */
	int			 xferlog_fd;	/* --xferlog, or -1 */
	struct ftp_users	 users;
	/*
	 * A password check in the loop, used when ftpd's auth_start (the
	 * worker thread) is not set: ftp_users_check() or a stand-in.
	 */
	int			(*check_user)(const struct ftp_users *,
				    const char *, const char *,
				    const struct ftp_user **);
};

/* Failed logins per address: the delay grows with them. */
#define FTP_FAILS_MAX		1024	/* addresses remembered */
#define FTP_FAILS_FORGET	900	/* seconds until forgiven */
#define FTP_FAILS_DELAY_MAX	30	/* seconds at most */

struct ftp_fail {
	char			 host[ADDR_STRLEN];
	unsigned		 count;
	time_t			 last;
};

/*
 * The end of an upload, done on the worker thread when there is one: the
 * file aside flushed to disk (fsync can take a while) and renamed over
 * its name, or removed on failure.  The worker owns the descriptors; the
 * loop alone touches owner.
 */
struct ftp_commit {
	struct ftp_upload	 up;		/* the worker's */
	unsigned long long	 bytes;		/* received */
	struct ftp_session	*owner;		/* waiting for it, or NULL */
};

struct ftpd {
	struct event_base	*base;
	struct server		*srv;
	struct event		*status_ev;
	struct ftpd_config	 cfg;
	unsigned long		 transfers;	/* running now */
	unsigned long long	 files_sent;
	unsigned long long	 bytes_sent;
	unsigned long long	 files_received;
	unsigned long long	 bytes_received;
	struct ftp_data_conf	 data;		/* for every data connection */
	struct ftp_fail		 fails[FTP_FAILS_MAX];
	/*
	 * Password checks (ftp_auth.c, on a worker thread); NULL: no named
	 * user can log in.  Reached through pointers so that the session
	 * code stands alone.
	 */
	struct ftp_auth		*auth;
	int			(*auth_start)(struct ftpd *,
				    struct ftp_session *, const char *,
				    const char *);
	void			(*auth_cancel)(struct ftpd *,
				    struct ftp_session *);
	/* FTPS: set with cfg.tls_ctx (ftp_tls.c). */
	const struct ftp_tls_ops *tls;
	/* Runs an upload's commit on the worker; NULL: in the loop. */
	int			(*commit_start)(struct ftpd *,
				    struct ftp_commit *);
};

#endif
