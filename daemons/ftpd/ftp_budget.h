/* SPDX-License-Identifier: ISC */
/*
 * Memory for listings and transfer buffers: a budget for the whole
 * server (--transfer-memory) and a cap per session.  What a transfer or
 * a STAT reply will hold is taken before it starts and given back when it
 * ends; over either bound, it does not start (a 4xx reply), so that no
 * client can make the daemon grow.
 */
#ifndef CLOCKWORK_FTP_BUDGET_H
#define CLOCKWORK_FTP_BUDGET_H

#include <stddef.h>

#define FTP_BUDGET_SESSION	(1536 * 1024)	/* one session at most */

struct ftp_budget {
	size_t		 max;		/* the whole server */
	size_t		 used;
	unsigned long long refused;	/* takes over a bound */
};

int	ftp_budget_take(struct ftp_budget *, size_t *, size_t);
void	ftp_budget_give(struct ftp_budget *, size_t *, size_t);

#endif
