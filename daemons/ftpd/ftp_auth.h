/* SPDX-License-Identifier: ISC */
/* Password checks on a worker thread, so hashing never stalls the loop. */
#ifndef CLOCKWORK_FTP_AUTH_H
#define CLOCKWORK_FTP_AUTH_H

struct ftpd;
struct ftp_auth;
struct ftp_commit;
struct ftp_session;

struct ftp_auth *ftp_auth_new(struct ftpd *);
int	ftp_auth_start(struct ftpd *, struct ftp_session *, const char *,
	    const char *);
void	ftp_auth_cancel(struct ftpd *, struct ftp_session *);
int	ftp_auth_commit(struct ftpd *, struct ftp_commit *);
void	ftp_auth_free(struct ftp_auth *);

#endif
