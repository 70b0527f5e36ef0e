/* SPDX-License-Identifier: ISC */
/* Named users: the --users file ("name:crypt-hash:home[:rw]"). */
#ifndef CLOCKWORK_FTP_USERS_H
#define CLOCKWORK_FTP_USERS_H

#include <stddef.h>

#define FTP_USERS_NAME_MAX	32	/* user names: [A-Za-z0-9._-] */
#define FTP_USERS_LINE_MAX	4608	/* one line of the file */
#define FTP_USERS_MAX		10000	/* users per file */

struct ftp_user {
	char	*name;
	char	*hash;		/* crypt(3) output */
	char	*home;		/* absolute directory */
	int	 rw;		/* may write */
};

struct ftp_users {
	struct ftp_user	*users;
	size_t		 n;
};

int	ftp_users_name_ok(const char *);
int	ftp_users_parse_line(const char *, struct ftp_user *);
int	ftp_users_load(const char *, struct ftp_users *, char *, size_t);
const struct ftp_user *ftp_users_find(const struct ftp_users *,
	    const char *);
int	ftp_users_check(const struct ftp_users *, const char *,
	    const char *, const struct ftp_user **);
char	*ftp_users_hash(const char *);
int	ftp_users_save(const char *, const struct ftp_users *);
void	ftp_users_free(struct ftp_users *);
void	ftp_user_free(struct ftp_user *);

#endif
