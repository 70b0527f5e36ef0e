/* SPDX-License-Identifier: ISC */
/* Logging in: USER, PASS and the delay after a failure. */
#ifndef CLOCKWORK_FTP_LOGIN_H
#define CLOCKWORK_FTP_LOGIN_H

struct ftp_session;
struct ftp_user;

int	ftp_login_init(struct ftp_session *);
void	ftp_login_end(struct ftp_session *);
int	ftp_login_user(struct ftp_session *, char *);
int	ftp_login_pass(struct ftp_session *, char *);
void	ftp_login_auth_done(struct ftp_session *, const struct ftp_user *);

#endif
