/* SPDX-License-Identifier: ISC */
/* Data connections and the transfers on them. */
#ifndef CLOCKWORK_FTP_DATA_H
#define CLOCKWORK_FTP_DATA_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stddef.h>

struct ftp_commit;
struct ftp_listing;
struct ftp_session;

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
