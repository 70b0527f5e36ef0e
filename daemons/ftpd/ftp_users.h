/* SPDX-License-Identifier: ISC */
/* Named users: the --users file ("name:crypt-hash:home[:rw]"). */
#ifndef CLOCKWORK_FTP_USERS_H
#define CLOCKWORK_FTP_USERS_H

#include <sys/types.h>

#include <stddef.h>

#define FTP_USERS_NAME_MAX	32	/* user names: [A-Za-z0-9._-] */
#define FTP_USERS_LINE_MAX	4608	/* one line of the file */
#define FTP_USERS_MAX		10000	/* users per file */
#define FTP_USERS_FILE_MAX	(4 * 1024 * 1024)	/* bytes read at most */

/* What the package sets up: the service's user, the homes' folder. */
#define FTP_USERS_OWNER		"clockwork-ftp"
#define FTP_USERS_HOMES		"/srv/ftp-users"

struct ftp_user {
	char	*name;
	char	*hash;		/* crypt(3) output */
	char	*home;		/* absolute directory */
	int	 rw;		/* may write */
	unsigned line;		/* in the file it came from, for messages */
};

/*
 * A table of users.  One made by ftp_users_new() or ftp_users_open() is
 * shared: whoever keeps it past the current event (a password check on a
 * worker) takes a reference, and the last ftp_users_unref() frees it, so
 * that a reload can put a new table in place at any time.
 */
struct ftp_users {
	struct ftp_user	*users;
	size_t		 n;
	unsigned	 refs;		/* shared tables only */
};

int	ftp_users_name_ok(const char *);
int	ftp_users_parse_line(const char *, struct ftp_user *);
int	ftp_users_load(const char *, struct ftp_users *, char *, size_t);
struct ftp_users *ftp_users_new(void);
struct ftp_users *ftp_users_open(const char *, char *, size_t);
struct ftp_users *ftp_users_ref(struct ftp_users *);
void	ftp_users_unref(struct ftp_users *);
const struct ftp_user *ftp_users_find(const struct ftp_users *,
	    const char *);
int	ftp_users_check(const struct ftp_users *, const char *,
	    const char *, const struct ftp_user **);
char	*ftp_users_hash(const char *);
int	ftp_users_save(const char *, const struct ftp_users *, mode_t, uid_t,
	    gid_t);
void	ftp_users_free(struct ftp_users *);
void	ftp_user_free(struct ftp_user *);

#endif
