/* SPDX-License-Identifier: ISC */
/*
 * Uploads never leave a half file under the final name: the data go to a
 * new file aside in the same directory (O_EXCL, a random name), which
 * replaces the target with rename(2) only once complete and on disk.
 * APPE and REST start the file aside as a copy of the old one (all of
 * it, or its first REST bytes), copied in the kernel.  Nothing here knows
 * of sessions or sockets; ftp_upload_commit() may run on any thread.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftp_upload.h"

static enum ftp_upload_status ftp_upload_old(int, const char *, int *,
	    struct stat *);
static int	ftp_upload_aside(struct ftp_upload *);
static int	ftp_upload_keep(int, int, off_t);

/* A new file aside in u->dirfd, under a name nobody uses.  -1: errno. */
static int
ftp_upload_aside(struct ftp_upload *u)
{
	int i;

	u->fd = -1;
	for (i = 0; i < 100 && u->fd == -1; i++) {
		snprintf(u->tmpname, sizeof(u->tmpname),
		    ".ftp-upload.%08lx%08lx", (unsigned long)random(),
		    (unsigned long)random());
		u->fd = openat(u->dirfd, u->tmpname, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (u->fd == -1 && errno != EEXIST)
			break;
	}
	if (u->fd != -1)
		return 0;
	u->tmpname[0] = '\0';	/* not ours: never to be removed */
	return -1;
}

/* Copies the first keep bytes of old into fd.  -1: errno. */
static int
ftp_upload_keep(int old, int fd, off_t keep)
{
	off_t off = 0;
	ssize_t n;

	while (off < keep) {
		n = copy_file_range(old, &off, fd, NULL, (size_t)(keep - off),
		    0);
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
	}
	return 0;
}

/*
 * The target as it is: *old is -1 when there is none, else a plain file
 * open for reading, with its status in *st.  Never follows a symlink
 * (refused, EACCES).
 */
static enum ftp_upload_status
ftp_upload_old(int dirfd, const char *name, int *old, struct stat *st)
{
	*old = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (*old == -1 && errno == ELOOP)
		errno = EACCES;
	if (*old == -1)
		return errno == ENOENT ? FTP_UPLOAD_OK : FTP_UPLOAD_REFUSED;
	if (fstat(*old, st) == -1 || !S_ISREG(st->st_mode)) {
		close(*old);
		*old = -1;
		return FTP_UPLOAD_NOT_PLAIN;
	}
	return FTP_UPLOAD_OK;
}

/*
 * Starts an upload of name in dirfd: the file aside made, with the old
 * file's mode and, for append or a rest offset, its data kept.  Takes
 * dirfd in every case; on failure everything is closed and removed, and
 * errno says why (FTP_UPLOAD_REFUSED, FTP_UPLOAD_NO_COPY).
 */
enum ftp_upload_status
ftp_upload_open(struct ftp_upload *u, int dirfd, const char *name,
    int append, off_t rest)
{
	enum ftp_upload_status r;
	struct stat st;
	int old, err;

	memset(u, 0, sizeof(*u));
	u->fd = -1;
	u->dirfd = dirfd;
	snprintf(u->name, sizeof(u->name), "%s", name);
	if ((r = ftp_upload_old(dirfd, name, &old, &st)) == FTP_UPLOAD_OK &&
	    old == -1 && rest > 0)
		r = FTP_UPLOAD_NO_RESUME;
	if (r == FTP_UPLOAD_OK && ftp_upload_aside(u) == -1)
		r = FTP_UPLOAD_REFUSED;
	if (r == FTP_UPLOAD_OK && old != -1) {
		(void)fchmod(u->fd, st.st_mode & 0777);
		if (ftp_upload_keep(old, u->fd, append ? st.st_size :
		    rest < st.st_size ? rest : st.st_size) == -1)
			r = FTP_UPLOAD_NO_COPY;
	}
	err = errno;
	if (old != -1)
		close(old);
	if (r != FTP_UPLOAD_OK)
		ftp_upload_discard(u);
	errno = err;
	return r;
}

/*
 * The end of a complete upload (any thread): the file aside flushed to
 * disk and renamed over the target, or removed on any failure.  Both
 * descriptors are closed; the errno, or 0, in u->err.
 */
void
ftp_upload_commit(struct ftp_upload *u)
{
	int err = 0;

	if (fsync(u->fd) == -1)
		err = errno;
	if (close(u->fd) == -1 && err == 0)
		err = errno;
	u->fd = -1;
	if (err == 0 && renameat(u->dirfd, u->tmpname, u->dirfd,
	    u->name) == -1)
		err = errno;
	if (err != 0)
		(void)unlinkat(u->dirfd, u->tmpname, 0);
	close(u->dirfd);
	u->dirfd = -1;
	u->err = err;
}

/* An upload that did not complete: the file aside goes, the target stays. */
void
ftp_upload_discard(struct ftp_upload *u)
{
	if (u->fd != -1)
		close(u->fd);
	u->fd = -1;
	if (u->dirfd != -1 && u->tmpname[0] != '\0')
		(void)unlinkat(u->dirfd, u->tmpname, 0);
	if (u->dirfd != -1)
		close(u->dirfd);
	u->dirfd = -1;
}
