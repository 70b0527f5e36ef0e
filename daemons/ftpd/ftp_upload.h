/* SPDX-License-Identifier: ISC */
/* Uploads written aside and renamed over their target once complete. */
#ifndef CLOCKWORK_FTP_UPLOAD_H
#define CLOCKWORK_FTP_UPLOAD_H

#include <sys/types.h>

#include "ftp_path.h"

struct ftp_upload {
	int	 fd;			/* the file aside, open for writing */
	int	 dirfd;			/* the directory of both */
	char	 tmpname[64];		/* the file aside */
	char	 name[FTP_PATH_MAX + 1]; /* the target */
	int	 err;			/* ftp_upload_commit(): 0 or errno */
};

enum ftp_upload_status {
	FTP_UPLOAD_OK,
	FTP_UPLOAD_NOT_PLAIN,	/* the target is not a plain file */
	FTP_UPLOAD_NO_RESUME,	/* a REST offset, but no file to resume */
	FTP_UPLOAD_REFUSED,	/* target or file aside not opened: errno */
	FTP_UPLOAD_NO_COPY,	/* the part kept not copied: errno */
};

enum ftp_upload_status ftp_upload_open(struct ftp_upload *, int,
	    const char *, int, off_t);
void	ftp_upload_commit(struct ftp_upload *);
void	ftp_upload_discard(struct ftp_upload *);

#endif
