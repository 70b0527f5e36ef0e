/* SPDX-License-Identifier: ISC */
/*
 * Paths.  A client's path is made absolute against the session's working
 * directory and reduced to a canonical virtual path ("/", "/a/b") in one
 * function, ftp_path_resolve(), which refuses any ".." that would climb
 * above the root.  Files are then opened relative to the session's root
 * directory descriptor with openat2(RESOLVE_BENEATH), so that no symlink
 * can lead out either; where openat2 is missing the path is walked one
 * component at a time and no symlink is followed at all.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ftp_path.h"

#define FTP_PATH_RETRIES	4	/* openat2 EAGAIN: a racing rename */

static int	ftp_path_walk(int, const char *, int, mode_t);

static int ftp_path_walk_only;	/* set when openat2 is unavailable */

/* Tests (and kernels without openat2) use the component walk. */
void
ftp_path_use_walk(int on)
{
	ftp_path_walk_only = on;
}

/*
 * Resolves arg (absolute, or relative to the virtual directory cwd) into
 * out as a canonical virtual path: it starts with "/", has no ".", ".."
 * or empty components and no trailing slash.  Backslashes and "%2e" are
 * ordinary name bytes here, as they are to the kernel.  Returns -1 with
 * EACCES when ".." would climb above the root, ENAMETOOLONG when the
 * result does not fit in cap or FTP_PATH_MAX, EINVAL for an empty cwd.
 */
int
ftp_path_resolve(const char *cwd, const char *arg, char *out, size_t cap)
{
	const char *src[2], *p, *end;
	size_t len = 0, clen;
	int i;

	if (cap > FTP_PATH_MAX + 1)
		cap = FTP_PATH_MAX + 1;
	if (cap < 2 || cwd == NULL || cwd[0] != '/') {
		errno = EINVAL;
		return -1;
	}
	src[0] = (arg != NULL && arg[0] == '/') ? "" : cwd;
	src[1] = arg != NULL ? arg : "";
	out[0] = '\0';
	for (i = 0; i < 2; i++) {
		for (p = src[i]; *p != '\0'; p = end) {
			while (*p == '/')
				p++;
			if (*p == '\0')
				break;
			if ((end = strchr(p, '/')) == NULL)
				end = p + strlen(p);
			clen = (size_t)(end - p);
			if (clen == 1 && p[0] == '.')
				continue;
			if (clen == 2 && p[0] == '.' && p[1] == '.') {
				if (len == 0) {
					errno = EACCES;
					return -1;
				}
				while (len > 0 && out[len - 1] != '/')
					len--;
				len--;	/* the slash itself */
				out[len] = '\0';
				continue;
			}
			if (len + 1 + clen >= cap) {
				errno = ENAMETOOLONG;
				return -1;
			}
			out[len++] = '/';
			memcpy(out + len, p, clen);
			len += clen;
			out[len] = '\0';
		}
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

/*
 * Splits a canonical virtual path into its parent (into dir) and its last
 * component (*namep points into path).  The root has no parent: -1 EPERM.
 */
int
ftp_path_split(const char *path, char *dir, size_t cap, const char **namep)
{
	const char *slash = strrchr(path, '/');
	size_t dlen;

	if (slash == NULL || slash[1] == '\0') {
		errno = EPERM;
		return -1;
	}
	dlen = slash == path ? 1 : (size_t)(slash - path);
	if (dlen >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, dlen);
	dir[dlen] = '\0';
	*namep = slash + 1;
	return 0;
}

/*
 * A client path resolved against cwd into path (FTP_PATH_MAX + 1 bytes),
 * its parent directory opened beneath rootfd and its last component in
 * *namep (pointing into path): what DELE, MKD, RNTO or STOR work on.
 * Returns the directory's descriptor, or -1 with errno set.
 */
int
ftp_path_parent(int rootfd, const char *cwd, const char *arg, char *path,
    const char **namep)
{
	char dir[FTP_PATH_MAX + 1];

	if (ftp_path_resolve(cwd, arg, path, FTP_PATH_MAX + 1) == -1 ||
	    ftp_path_split(path, dir, sizeof(dir), namep) == -1)
		return -1;
	return ftp_path_open(rootfd, dir, O_PATH | O_DIRECTORY, 0);
}

/*
 * Opens a canonical virtual path beneath rootfd.  An absolute symlink, or
 * a relative one that leads above the root, fails (EXDEV is reported as
 * EACCES: to the client it is a file it may not have).
 */
int
ftp_path_open(int rootfd, const char *vpath, int flags, mode_t mode)
{
	struct open_how how;
	const char *rel = vpath[0] == '/' ? vpath + 1 : vpath;
	long fd = -1;
	int tries;

	if (*rel == '\0')
		rel = ".";
	if (ftp_path_walk_only)
		return ftp_path_walk(rootfd, rel, flags, mode);
	memset(&how, 0, sizeof(how));
	/* openat2 refuses O_PATH with any flag O_PATH ignores. */
	how.flags = (unsigned long long)(flags | O_CLOEXEC |
	    ((flags & O_PATH) ? 0 : O_NOCTTY));
	/* O_TMPFILE holds O_DIRECTORY's bit: test it whole. */
	how.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
	    mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	for (tries = 0; tries < FTP_PATH_RETRIES; tries++) {
		fd = syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
		if (fd != -1 || errno != EAGAIN)
			break;
	}
	if (fd == -1 && (errno == ENOSYS || errno == EPERM) &&
	    !(flags & O_CREAT) && (flags & O_TMPFILE) != O_TMPFILE) {
		/* No openat2 here (old kernel, seccomp): walk instead. */
		if (errno == ENOSYS)
			ftp_path_walk_only = 1;
		return ftp_path_walk(rootfd, rel, flags, mode);
	}
	if (fd == -1 && errno == EXDEV)
		errno = EACCES;
	return (int)fd;
}

/*
 * The fallback: one openat(O_NOFOLLOW) per component, directories opened
 * as O_PATH.  Stricter than openat2: no symlink is followed, even one
 * that stays inside.
 */
static int
ftp_path_walk(int rootfd, const char *rel, int flags, mode_t mode)
{
	char comp[FTP_PATH_MAX + 1];
	const char *p = rel, *slash;
	struct stat st;
	int dfd, fd, saved;
	size_t len;

	if ((dfd = dup(rootfd)) == -1)
		return -1;
	while ((slash = strchr(p, '/')) != NULL) {
		len = (size_t)(slash - p);
		if (len >= sizeof(comp)) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		if (strcmp(comp, "..") == 0) {
			/* Never made by ftp_path_resolve; refused anyway. */
			close(dfd);
			errno = EACCES;
			return -1;
		}
		fd = openat(dfd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		close(dfd);
		if (fd == -1) {
			errno = saved == ELOOP || saved == ENOTDIR ?
			    EACCES : saved;
			return -1;
		}
		dfd = fd;
		p = slash + 1;
	}
	if (strcmp(p, "..") == 0) {
		close(dfd);
		errno = EACCES;
		return -1;
	}
	fd = openat(dfd, p, flags | O_NOFOLLOW | O_CLOEXEC |
	    ((flags & O_PATH) ? 0 : O_NOCTTY), mode);
	saved = errno;
	close(dfd);
	if (fd == -1) {
		errno = saved == ELOOP ? EACCES : saved;
		return -1;
	}
	/* O_PATH | O_NOFOLLOW opens a symlink itself: refuse it. */
	if ((flags & O_PATH) && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
		close(fd);
		errno = EACCES;
		return -1;
	}
	return fd;
}

/* stat(2) of a virtual path, following symlinks only beneath the root. */
int
ftp_path_stat(int rootfd, const char *vpath, struct stat *st)
{
	int fd, saved;

	if ((fd = ftp_path_open(rootfd, vpath, O_PATH, 0)) == -1)
		return -1;
	if (fstat(fd, st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}
