/* SPDX-License-Identifier: ISC */
/* Paths of a session, resolved against its root and opened beneath it. */
#ifndef CLOCKWORK_FTP_PATH_H
#define CLOCKWORK_FTP_PATH_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>

#define FTP_PATH_MAX	4096	/* longest path a client may name */

int	ftp_path_resolve(const char *, const char *, char *, size_t);
int	ftp_path_split(const char *, char *, size_t, const char **);
int	ftp_path_open(int, const char *, int, mode_t);
int	ftp_path_parent(int, const char *, const char *, char *,
	    const char **);
int	ftp_path_stat(int, const char *, struct stat *);
void	ftp_path_use_walk(int);

#endif
