/* SPDX-License-Identifier: ISC */
/*
 * An upload's bytes into its file: as they came, or for TYPE A with CR
 * LF made LF; written back as they pile up.  On any thread: it touches
 * only the struct and the file.
 */
#ifndef CLOCKWORK_FTP_SINK_H
#define CLOCKWORK_FTP_SINK_H

#include <stddef.h>

struct ftp_sink {
	int			 fd;
	int			 ascii;		/* TYPE A: CR LF to LF */
	int			 prev_cr;	/* a CR held back at the end */
	unsigned long long	 bytes;		/* received */
	unsigned long long	 synced;	/* writeback started up to */
	int			 err;		/* errno of a failed write */
};

void	ftp_sink_init(struct ftp_sink *, int, int);
int	ftp_sink_write(struct ftp_sink *, const char *, size_t);
int	ftp_sink_end(struct ftp_sink *);

#endif
