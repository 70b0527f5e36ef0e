/* SPDX-License-Identifier: ISC */
/* Failed logins per address, and the delay they earn. */
#ifndef CLOCKWORK_FTP_THROTTLE_H
#define CLOCKWORK_FTP_THROTTLE_H

#include <time.h>

#include "addr.h"

#define FTP_THROTTLE_MAX	1024	/* addresses remembered */
#define FTP_THROTTLE_FORGET	900	/* seconds until forgiven */
#define FTP_THROTTLE_DELAY_MAX	30	/* seconds at most */
#define FTP_THROTTLE_COUNT_MAX	30	/* failures counted at most */

struct ftp_throttle_entry {
	char		 host[ADDR_STRLEN];
	unsigned	 count;		/* 0: a free slot */
	time_t		 last;
};

struct ftp_throttle {
	struct ftp_throttle_entry e[FTP_THROTTLE_MAX];
};

double	ftp_throttle_fail(struct ftp_throttle *, const char *, time_t, double,
	    unsigned *);
void	ftp_throttle_forgive(struct ftp_throttle *, const char *, time_t);

#endif
