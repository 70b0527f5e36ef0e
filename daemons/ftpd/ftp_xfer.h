/* SPDX-License-Identifier: ISC */
/* Transfers: data connection set-up, RETR, STOR, LIST, ABOR and their end. */
#ifndef CLOCKWORK_FTP_XFER_H
#define CLOCKWORK_FTP_XFER_H

struct ftp_session;

int	ftp_xfer_abor(struct ftp_session *, char *);
int	ftp_xfer_appe(struct ftp_session *, char *);
int	ftp_xfer_eprt(struct ftp_session *, char *);
int	ftp_xfer_epsv(struct ftp_session *, char *);
int	ftp_xfer_list(struct ftp_session *, char *);
int	ftp_xfer_mlsd(struct ftp_session *, char *);
int	ftp_xfer_mode(struct ftp_session *, char *);
int	ftp_xfer_nlst(struct ftp_session *, char *);
int	ftp_xfer_pasv(struct ftp_session *, char *);
int	ftp_xfer_port(struct ftp_session *, char *);
int	ftp_xfer_rest(struct ftp_session *, char *);
int	ftp_xfer_retr(struct ftp_session *, char *);
int	ftp_xfer_stor(struct ftp_session *, char *);
int	ftp_xfer_stou(struct ftp_session *, char *);
int	ftp_xfer_stru(struct ftp_session *, char *);
int	ftp_xfer_type(struct ftp_session *, char *);

int	ftp_xfer_busy(const struct ftp_session *);
void	ftp_xfer_prot_changed(struct ftp_session *);
void	ftp_xfer_progress(const struct ftp_session *, unsigned long long *,
	    unsigned long long *);
void	ftp_xfer_free(struct ftp_session *, const char *);

#endif
