/* SPDX-License-Identifier: ISC */
/* clockwork-ftpd: the daemon's settings and state, shared by its sessions. */
#ifndef CLOCKWORK_FTPD_H
#define CLOCKWORK_FTPD_H

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include "ftp_budget.h"
#include "ftp_data.h"
#include "ftp_throttle.h"
#include "ftp_tls.h"
#include "ftp_users.h"

struct event;
struct event_base;
struct ftp_work;
struct server;

struct ftpd_config {
	const char		*root;
	int			 rootfd;	/* O_PATH of the root */
	unsigned long		 max_per_ip;	/* 0: no limit */
	struct timeval		 idle;		/* control connection */
	struct timeval		 login_delay;	/* after a failed login */
	int			 anon_write;	/* --anon-write */
	const char		*users_file;	/* --users */
	int			 users_optional; /* --users-optional */
	struct ssl_ctx_st	*tls_ctx;	/* --tls-cert, or NULL */
	int			 require_tls;	/* --require-tls */
	int			 xferlog_fd;	/* --xferlog, or -1 */
	/* Named users, shared: SIGHUP puts a new table in (ftp_users.h). */
	struct ftp_users	*users;
	/* The password check, on a worker or in the loop: ftp_users_check(). */
	int			(*check_user)(const struct ftp_users *,
				    const char *, const char *,
				    const struct ftp_user **);
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
	struct ftp_throttle	 throttle;	/* failed logins: addresses, names */
	struct ftp_budget	 budget;	/* --transfer-memory */
	struct event		*trim_ev;	/* memory back to the system */
	/* Password checks; NULL: done in the loop. */
	struct ftp_work		*work;
	/* Uploads' copy, fsync, rename and unlink, DELE, RNTO; NULL: none. */
	struct ftp_work		*files;
	/* FTPS: set with cfg.tls_ctx (ftp_tls.c). */
	const struct ftp_tls_ops *tls;
};

#endif
