/* SPDX-License-Identifier: ISC */
/* Dropping root: a daemon started as root serves as an unprivileged user. */
#ifndef CLOCKWORK_PRIVS_H
#define CLOCKWORK_PRIVS_H

#include <sys/types.h>

#include <stddef.h>

#define PRIVS_NAME_MAX	64

struct privs_user {
	char	name[PRIVS_NAME_MAX];
	uid_t	uid;
	gid_t	gid;
};

int	privs_lookup(const char *, struct privs_user *, char *, size_t);
int	privs_drop(const struct privs_user *, char *, size_t);

#endif
