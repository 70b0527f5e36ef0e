/* SPDX-License-Identifier: ISC */
/*
 * File commands on the control connection: where the session is (CWD,
 * CDUP, PWD), what a path is (SIZE, MDTM, MLST, STAT PATH) and changes
 * to the tree (MKD, RMD, DELE, RNFR/RNTO, SITE CHMOD).  Every path is
 * resolved against the session's directory and opened beneath its root
 * (ftp_path.c); nothing here follows a symlink out.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ftp_control.h"
#include "ftp_fs.h"
#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_session.h"
#include "log.h"
#include "server.h"

#define FTP_STAT_MAX		(256 * 1024)	/* STAT PATH text at most */

static int	ftp_fs_chmod(struct ftp_session *, char *);
static int	ftp_fs_parent(struct ftp_session *, const char *, char *,
		    const char **);

/*
 * The parent directory of a client path, opened beneath the session's
 * root, and its last component: ftp_path_parent() for this session.
 */
static int
ftp_fs_parent(struct ftp_session *s, const char *arg, char *path,
    const char **namep)
{
	return ftp_path_parent(s->rootfd, s->cwd, arg, path, namep);
}

int
ftp_fs_pwd(struct ftp_session *s, char *arg)
{
	char q[2 * FTP_PATH_MAX + 4];

	ftp_reply_quote(q, sizeof(q), s->cwd);
	return ftp_reply(s, FTP_CREATED, "\"%s\" is the current directory.",
	    q);
}

int
ftp_fs_cwd(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	int fd, sub, err;

	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	fd = ftp_path_open(s->rootfd, path, O_PATH | O_DIRECTORY, 0);
	if (fd == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	/* Looking up "." in it needs the search right a cd needs. */
	sub = openat(fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = errno;
	close(fd);
	if (sub == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	close(sub);
	strcpy(s->cwd, path);
	return ftp_reply(s, FTP_FILE_OK, "Directory successfully changed.");
}

int
ftp_fs_cdup(struct ftp_session *s, char *arg)
{
	char up[] = "..";

	return ftp_fs_cwd(s, up);
}

/* MLST: the facts of one path, on the control connection. */
int
ftp_fs_mlst(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], line[FTP_LIST_LINE_MAX];
	struct evbuffer *b;
	struct stat st;
	int n;

	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1 ||
	    ftp_path_stat(s->rootfd, path, &st) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, errno);
	n = ftp_list_facts(line, sizeof(line), path, &st,
	    S_ISDIR(st.st_mode) ? (s->may_write ? "flcdmpe" : "el") :
	    (s->may_write ? "adfrw" : "r"), s->facts, NULL);
	if (n < 0)
		return ftp_reply(s, FTP_FILE_FAIL, "Name too long.");
	if ((b = evbuffer_new()) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	evbuffer_add_printf(b, "250-Listing %s\r\n ", path);
	evbuffer_add(b, line, (size_t)n);
	evbuffer_add_printf(b, "250 End\r\n");
	return ftp_reply_buffer(s, b);
}

int
ftp_fs_size(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	struct stat st;

	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1 ||
	    ftp_path_stat(s->rootfd, path, &st) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (!S_ISREG(st.st_mode))
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	return ftp_reply(s, FTP_FILE_STATUS, "%lld", (long long)st.st_size);
}

int
ftp_fs_mdtm(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], when[32];
	struct stat st;

	/* "MDTM YYYYMMDDHHMMSS path" sets the time: a write. */
	if (strlen(arg) > 15 && strspn(arg, "0123456789") == 14 &&
	    arg[14] == ' ' && !s->may_write)
		return ftp_reply(s, FTP_FILE_FAIL, "Permission denied.");
	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1 ||
	    ftp_path_stat(s->rootfd, path, &st) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (!S_ISREG(st.st_mode) ||
	    ftp_list_time(when, sizeof(when), st.st_mtime) == -1)
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	return ftp_reply(s, FTP_FILE_STATUS, "%s", when);
}

int
ftp_fs_site(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "HELP") == 0)
		return ftp_reply(s, FTP_HELP, s->may_write ?
		    "SITE CHMOD HELP" : "SITE HELP");
	if (strncasecmp(arg, "CHMOD ", 6) == 0)
		return ftp_fs_chmod(s, arg + 6);
	return ftp_reply(s, FTP_BAD_COMMAND, "Unknown SITE command.");
}

int
ftp_fs_dele(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	const char *name;
	struct stat st;
	int dirfd, r;

	if ((dirfd = ftp_fs_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		close(dirfd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, EISDIR);
	}
	r = unlinkat(dirfd, name, 0);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	log_peer(LOG_INFO, conn_peer(s->c), "%s deleted %s",
	    s->user, path);
	return ftp_reply(s, FTP_FILE_OK, "Delete operation successful.");
}

int
ftp_fs_mkd(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], q[2 * FTP_PATH_MAX + 4];
	const char *name;
	int dirfd, r;

	if ((dirfd = ftp_fs_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	r = mkdirat(dirfd, name, 0777);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	ftp_reply_quote(q, sizeof(q), path);
	return ftp_reply(s, FTP_CREATED, "\"%s\" created.", q);
}

int
ftp_fs_rmd(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	const char *name;
	int dirfd, r;

	if ((dirfd = ftp_fs_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	r = unlinkat(dirfd, name, AT_REMOVEDIR);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	return ftp_reply(s, FTP_FILE_OK, "Remove directory operation "
	    "successful.");
}

int
ftp_fs_rnfr(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	const char *name;
	struct stat st;
	int dirfd, r;

	if ((dirfd = ftp_fs_parent(s, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	r = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW);
	close(dirfd);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if ((s->rnfr = strdup(path)) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_NEED_INFO, "Ready for RNTO.");
}

int
ftp_fs_rnto(struct ftp_session *s, char *arg)
{
	char from[FTP_PATH_MAX + 1], path[FTP_PATH_MAX + 1];
	const char *fname, *name;
	int fdir, tdir, r, err;

	/* ftp_session_run() has seen RNFR's path in s->rnfr. */
	fdir = ftp_fs_parent(s, s->rnfr, from, &fname);
	free(s->rnfr);
	s->rnfr = NULL;
	if (fdir == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if ((tdir = ftp_fs_parent(s, arg, path, &name)) == -1) {
		err = errno;
		close(fdir);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
	r = renameat(fdir, fname, tdir, name);
	err = errno;
	close(fdir);
	close(tdir);
	if (r == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	return ftp_reply(s, FTP_FILE_OK, "Rename successful.");
}

/* SITE CHMOD MODE PATH: permission bits only (no set-id, no sticky). */
static int
ftp_fs_chmod(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1], *sp, *end;
	const char *name;
	unsigned long mode;
	int dirfd, fd, err;

	if (!s->may_write)
		return ftp_reply(s, FTP_FILE_FAIL, "Permission denied.");
	if ((sp = strchr(arg, ' ')) == NULL)
		return ftp_reply(s, FTP_BAD_ARGS, "SITE CHMOD MODE PATH.");
	*sp++ = '\0';
	errno = 0;
	mode = strtoul(arg, &end, 8);
	if (*arg == '\0' || *end != '\0' || errno != 0 || mode > 0777)
		return ftp_reply(s, FTP_BAD_ARGS, "Bad mode (000-777).");
	if ((dirfd = ftp_fs_parent(s, sp, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, sp, errno);
	/* Opened without following a symlink: chmod reaches only it. */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	err = errno;
	close(dirfd);
	if (fd == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, sp, err == ELOOP ?
		    EACCES : err);
	if (fchmod(fd, (mode_t)mode) == -1) {
		err = errno;
		close(fd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, sp, err);
	}
	close(fd);
	return ftp_reply(s, FTP_OK, "SITE CHMOD command ok.");
}

/*
 * STAT PATH: its listing on the control connection, at most FTP_STAT_MAX
 * bytes of it; ls options before the path are skipped.
 */
int
ftp_fs_stat(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	struct ftp_listing *l;
	struct evbuffer *b;

	arg = ftp_list_skip_options(arg);
	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if ((l = ftp_listing_open(s->rootfd, path, arg, FTP_LIST_LONG,
	    s->facts, s->may_write)) == NULL)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, errno);
	if ((b = evbuffer_new()) == NULL) {
		ftp_listing_free(l);
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	}
	evbuffer_add_printf(b, "213-Status of %s:\r\n", path);
	(void)ftp_listing_fill(l, b, FTP_STAT_MAX);
	ftp_listing_free(l);
	evbuffer_add_printf(b, "213 End of status\r\n");
	return ftp_reply_buffer(s, b);
}
