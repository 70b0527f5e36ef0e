/* SPDX-License-Identifier: ISC */
/* FTPS commands: AUTH, CCC, PBSZ, PROT. */
#ifndef CLOCKWORK_FTP_SECURE_H
#define CLOCKWORK_FTP_SECURE_H

struct ftp_session;

int	ftp_secure_auth(struct ftp_session *, char *);
int	ftp_secure_ccc(struct ftp_session *, char *);
int	ftp_secure_pbsz(struct ftp_session *, char *);
int	ftp_secure_prot(struct ftp_session *, char *);

#endif
