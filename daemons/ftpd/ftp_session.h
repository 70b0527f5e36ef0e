/* SPDX-License-Identifier: ISC */
/*
 * A session: the state of one control connection.  ftp_session.c makes
 * it, reads its commands and frees it; the command modules (ftp_login,
 * ftp_secure, ftp_xfer, ftp_fs) work on it and never call back up.
 */
#ifndef CLOCKWORK_FTP_SESSION_H
#define CLOCKWORK_FTP_SESSION_H

#include <stddef.h>

#include "ftp_data.h"
#include "ftp_path.h"

#define FTP_LINE_MAX		(FTP_PATH_MAX + 96)	/* one command line */
#define FTP_CONTROL_MAX_OUTPUT	(512 * 1024)	/* replies queued: STAT */
#define FTP_CONTROL_BACKLOG	(16 * 1024)	/* unread: no more commands */
#define FTP_USER_MAX		64

struct conn;
struct event;
struct ftp_fs_job;
struct ftp_login_job;
struct ftp_xfer;
struct ftpd;

enum ftp_login {
	FTP_LOGIN_NONE,
	FTP_LOGIN_USER,		/* USER given, PASS expected */
	FTP_LOGIN_DONE,
};

struct ftp_session {
	struct ftpd		*d;
	struct conn		*c;

	/* Reading commands (ftp_session.c). */
	int			 discarding;	/* inside an over-long line */
	int			 paused;	/* until ftp_control_wake() */
	int			 backlogged;	/* until its replies are read */
	int			 scheduled;	/* wake_ev active: its turn */
	struct event		*wake_ev;	/* runs held command, reads */
	char			*held;		/* waiting for a transfer */
	size_t			 heldlen;
	int			 stopping;	/* close after this transfer */

	/* Who (ftp_login.c). */
	enum ftp_login		 login;
	int			 anonymous;
	int			 may_write;
	char			 user[FTP_USER_MAX];
	struct event		*delay_ev;	/* failed-login delay */
	unsigned		 failures;
	struct ftp_login_job	*auth_job;	/* password being checked */

	/* Where (ftp_fs.c). */
	int			 rootfd;	/* the root this session sees */
	char			 cwd[FTP_PATH_MAX + 1];
	char			*rnfr;		/* RNFR's path, for RNTO */
	struct ftp_fs_job	*fs_job;	/* a DELE or RNTO on a worker */
	unsigned		 facts;		/* OPTS MLST */

	/* Transfers (ftp_xfer.c). */
	int			 ascii;		/* TYPE A */
	unsigned long long	 rest;		/* REST, for the next one */
	int			 epsv_all;
	struct ftp_xfer		*xfer;		/* from the first PASV/PORT */

	/* Memory for listings and transfers (ftp_budget.h). */
	size_t			 held_bytes;	/* the session's, in all */
	size_t			 reply_bytes;	/* of them, for a STAT reply */

	/* TLS (ftp_secure.c). */
	int			 tls;		/* AUTH TLS done */
	int			 pbsz;		/* PBSZ 0 given */
	struct ftp_data_prot	 prot;		/* PROT, for data connections */
};

/* The server's callbacks (lib/server.h). */
int	ftp_session_accepted(struct conn *);
void	ftp_session_readable(struct conn *);
void	ftp_session_drained(struct conn *);
void	ftp_session_stopping(struct conn *);
void	ftp_session_closed(struct conn *, const char *);

#endif
