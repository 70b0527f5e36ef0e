/* SPDX-License-Identifier: ISC */
/* Failed logins per address and per user name, and the delay they earn. */
#ifndef CLOCKWORK_FTP_THROTTLE_H
#define CLOCKWORK_FTP_THROTTLE_H

#include <time.h>

#include "addr.h"

#define FTP_THROTTLE_MAX	1024	/* addresses, and names, remembered */
#define FTP_THROTTLE_FORGET	900	/* seconds until forgiven */
#define FTP_THROTTLE_DELAY_MAX	30	/* seconds at most */
#define FTP_THROTTLE_COUNT_MAX	30	/* failures counted at most */
#define FTP_THROTTLE_KEY_MAX	(ADDR_STRLEN + 8)	/* an address or name */

struct ftp_throttle_entry {
	char		 key[FTP_THROTTLE_KEY_MAX];
	unsigned	 count;		/* 0: a free slot */
	time_t		 last;
};

/* One fixed table: what an attacker cycling keys cannot make grow. */
struct ftp_throttle_table {
	struct ftp_throttle_entry e[FTP_THROTTLE_MAX];
};

struct ftp_throttle {
	struct ftp_throttle_table hosts;	/* IPv4, or IPv6 by /64 */
	struct ftp_throttle_table names;	/* as given with USER */
};

/* The failures counted so far, for the log. */
struct ftp_throttle_counts {
	unsigned	 host;
	unsigned	 name;
};

double	ftp_throttle_fail(struct ftp_throttle *, const char *, const char *,
	    time_t, double, struct ftp_throttle_counts *);
void	ftp_throttle_forgive(struct ftp_throttle *, const char *, time_t);

#endif
