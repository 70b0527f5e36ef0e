/* SPDX-License-Identifier: ISC */
/* clockwork-ftpd: what the daemon's modules share. */
#ifndef CLOCKWORK_FTPD_H
#define CLOCKWORK_FTPD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include "addr.h"
#include "ftp_cmd.h"
#include "ftp_path.h"
#include "ftp_tls.h"
#include "ftp_users.h"

#define FTP_LINE_MAX		(FTP_PATH_MAX + 96)	/* one command line */
#define FTP_CONTROL_MAX_OUTPUT	(512 * 1024)	/* replies queued: STAT */
#define FTP_USER_MAX		64

struct conn;
struct event;
struct event_base;
struct ftp_auth;
struct ftp_data;
struct ftp_listing;
struct ftp_session;
struct server;

struct ftpd_config {
	const char		*root;
	int			 rootfd;	/* O_PATH of the root */
	unsigned long		 max_per_ip;	/* 0: no limit */
	struct timeval		 idle;		/* control connection */
	struct timeval		 data_timeout;	/* data connection */
	struct timeval		 login_delay;	/* after a failed login */
	unsigned		 pasv_lo;	/* 0: any port */
	unsigned		 pasv_hi;
	int			 has_pasv_addr;
	struct in_addr		 pasv_addr;	/* shown in PASV replies */
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
	int			 fd;		/* the file aside, written */
	int			 dirfd;		/* its directory */
	char			 tmpname[64];
	char			 name[FTP_PATH_MAX + 1];
	int			 err;		/* 0 or an errno, by the worker */
	struct ftp_data		*owner;		/* waiting for it, or NULL */
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
	unsigned		 pasv_next;	/* rotates through the range */
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

enum ftp_login {
	FTP_LOGIN_NONE,
	FTP_LOGIN_USER,		/* USER given, PASS expected */
	FTP_LOGIN_DONE,
};

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

struct ftp_session {
	struct ftpd		*d;
	struct conn		*c;
	enum ftp_login		 login;
	int			 anonymous;
	int			 may_write;
	char			 user[FTP_USER_MAX];
	int			 rootfd;	/* the root this session sees */
	char			 cwd[FTP_PATH_MAX + 1];
	int			 ascii;		/* TYPE A */
	unsigned long long	 rest;		/* REST offset for the next RETR */
	int			 epsv_all;
	unsigned		 facts;		/* OPTS MLST */
	int			 discarding;	/* inside an over-long line */
	int			 paused;	/* not reading commands now */
	char			*held;		/* command waiting for a transfer */
	size_t			 heldlen;
	struct event		*delay_ev;	/* failed-login delay */
	unsigned		 failures;
	int			 stopping;	/* close after this transfer */
	int			 incoming;	/* the transfer is an upload */
	int			 xfer_file;	/* ... of a file, not a listing */
	char			*rnfr;		/* RNFR's path, for RNTO */
	void			*auth_job;	/* password being checked */
	struct ftp_data		*data;
	int			 tls;		/* AUTH TLS done */
	int			 pbsz;		/* PBSZ 0 given */
	int			 prot_p;	/* PROT P: data in TLS */
	unsigned char		 tls_sid[FTP_TLS_SID_LEN];
};

/* ftp_session.c */
int	ftp_session_accepted(struct conn *);
void	ftp_session_readable(struct conn *);
void	ftp_session_stopping(struct conn *);
void	ftp_session_closed(struct conn *, const char *);
int	ftp_session_xfer_report(struct ftp_session *, enum ftp_xfer_result,
	    const char *, unsigned long long, double, const char *);
void	ftp_session_resume(struct ftp_session *);
void	ftp_session_auth_done(struct ftp_session *, const struct ftp_user *);
int	ftp_reply(struct ftp_session *, int, const char *, ...)
	    __attribute__((format(printf, 3, 4)));

/* ftp_data.c */
int	ftp_data_passive(struct ftp_session *, int, char *, size_t);
int	ftp_data_active(struct ftp_session *, const struct sockaddr *,
	    socklen_t);
int	ftp_data_ready(const struct ftp_session *);
int	ftp_data_busy(const struct ftp_session *);
int	ftp_data_send_file(struct ftp_session *, int, off_t, off_t, int,
	    const char *);
int	ftp_data_recv_file(struct ftp_session *, int, const char *, int,
	    const char *, off_t, int, const char *);
int	ftp_data_send_listing(struct ftp_session *, struct ftp_listing *,
	    const char *);
void	ftp_data_progress(const struct ftp_session *, unsigned long long *,
	    unsigned long long *);
void	ftp_data_close(struct ftp_session *);
int	ftp_data_abort(struct ftp_session *);
const char *ftp_data_path(const struct ftp_session *);
void	ftp_commit_run(struct ftp_commit *);
void	ftp_data_commit_done(struct ftp_commit *);

#endif
