/* SPDX-License-Identifier: ISC */
/* File commands: CWD, MKD, RMD, DELE, RNFR/RNTO, SITE, SIZE, MDTM, MLST. */
#ifndef CLOCKWORK_FTP_FS_H
#define CLOCKWORK_FTP_FS_H

struct ftp_session;

int	ftp_fs_cdup(struct ftp_session *, char *);
int	ftp_fs_cwd(struct ftp_session *, char *);
int	ftp_fs_dele(struct ftp_session *, char *);
int	ftp_fs_mdtm(struct ftp_session *, char *);
int	ftp_fs_mkd(struct ftp_session *, char *);
int	ftp_fs_mlst(struct ftp_session *, char *);
int	ftp_fs_pwd(struct ftp_session *, char *);
int	ftp_fs_rmd(struct ftp_session *, char *);
int	ftp_fs_rnfr(struct ftp_session *, char *);
int	ftp_fs_rnto(struct ftp_session *, char *);
int	ftp_fs_site(struct ftp_session *, char *);
int	ftp_fs_size(struct ftp_session *, char *);
int	ftp_fs_stat(struct ftp_session *, char *);
void	ftp_fs_end(struct ftp_session *);

#endif
