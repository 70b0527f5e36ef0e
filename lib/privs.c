/* SPDX-License-Identifier: ISC */
/*
 * Dropping root.  A daemon started as root binds its sockets and reads
 * what only root may read (a TLS key, a users file), then becomes an
 * unprivileged user before it serves anyone: its groups (initgroups), its
 * group, its user, in that order, real, effective and saved alike.  Then
 * it checks that none of it can be undone: a process that could become
 * root again has dropped nothing.
 */
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privs.h"

static int	privs_check(const struct privs_user *, char *, size_t);

/*
 * Finds the user to become.  -1 with the reason in err: no such user
 * (ENOENT), or root or root's group (EPERM), which would drop nothing.
 */
int
privs_lookup(const char *name, struct privs_user *who, char *err, size_t cap)
{
	struct passwd *pw;

	errno = 0;
	if (strlen(name) >= sizeof(who->name) ||
	    (pw = getpwnam(name)) == NULL) {
		snprintf(err, cap, "no user '%s'%s%s", name,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		errno = ENOENT;
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		snprintf(err, cap, "user '%s' is root or in root's group: name "
		    "an unprivileged user", name);
		errno = EPERM;
		return -1;
	}
	strcpy(who->name, name);
	who->uid = pw->pw_uid;
	who->gid = pw->pw_gid;
	return 0;
}

/* Becomes who for good.  -1 with the reason in err. */
int
privs_drop(const struct privs_user *who, char *err, size_t cap)
{
	if (initgroups(who->name, who->gid) == -1) {
		snprintf(err, cap, "initgroups %s: %s", who->name,
		    strerror(errno));
		return -1;
	}
	if (setresgid(who->gid, who->gid, who->gid) == -1) {
		snprintf(err, cap, "setresgid %lu: %s", (unsigned long)who->gid,
		    strerror(errno));
		return -1;
	}
	if (setresuid(who->uid, who->uid, who->uid) == -1) {
		snprintf(err, cap, "setresuid %lu: %s", (unsigned long)who->uid,
		    strerror(errno));
		return -1;
	}
	return privs_check(who, err, cap);
}

/*
 * Every id is who's, and neither root's user, group nor groups can be
 * taken back.
 */
static int
privs_check(const struct privs_user *who, char *err, size_t cap)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, none = 0;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != who->uid || eu != who->uid || su != who->uid ||
	    rg != who->gid || eg != who->gid || sg != who->gid) {
		snprintf(err, cap, "ids not changed to %s", who->name);
		return -1;
	}
	if (setuid(0) != -1 || seteuid(0) != -1 || setgid(0) != -1 ||
	    setegid(0) != -1 || setgroups(1, &none) != -1) {
		snprintf(err, cap, "root regained after dropping to %s",
		    who->name);
		return -1;
	}
	return 0;
}
