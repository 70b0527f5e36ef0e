/* SPDX-License-Identifier: ISC */
/*
 * The whole way from a client's path to an open file: ftp_path_resolve()
 * then ftp_path_open() / ftp_path_stat() beneath a root that holds
 * symlinks leading out of it (relative and absolute), a loop and a
 * symlink that stays inside, with openat2 and with the component walk.
 * Whatever opens must lie inside the root: /proc/self/fd says where.
 *
 * Input: one flag byte, then cwd NUL arg (as fuzz_ftppath.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "ftp_path.h"
#include "fuzz.h"

static void	fuzz_fixture(void);
static void	fuzz_cleanup(void);
static int	fuzz_rm_cb(const char *, const struct stat *, int,
		    struct FTW *);
static void	fuzz_inside(int);

static char fuzz_top[] = "/tmp/clockwork-fuzz-XXXXXX";
static char fuzz_root[PATH_MAX];
static int fuzz_rootfd = -1;
static pid_t fuzz_owner;

static int
fuzz_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void
fuzz_cleanup(void)
{
	if (getpid() == fuzz_owner)
		nftw(fuzz_top, fuzz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* TOP/secret outside, TOP/root served, with the symlinks listed above. */
static void
fuzz_fixture(void)
{
	char p[PATH_MAX + 64];
	int fd;

	if (mkdtemp(fuzz_top) == NULL)
		abort();
	fuzz_owner = getpid();
	atexit(fuzz_cleanup);
	snprintf(fuzz_root, sizeof(fuzz_root), "%s/root", fuzz_top);
#define MK(fmt, ...) (snprintf(p, sizeof(p), fmt, __VA_ARGS__), p)
	if (mkdir(fuzz_root, 0755) == -1 ||
	    mkdir(MK("%s/a", fuzz_root), 0755) == -1 ||
	    mkdir(MK("%s/a/b", fuzz_root), 0755) == -1 ||
	    (fd = open(MK("%s/a/file", fuzz_root), O_CREAT | O_WRONLY,
	    0644)) == -1 || close(fd) == -1 ||
	    (fd = open(MK("%s/secret", fuzz_top), O_CREAT | O_WRONLY,
	    0600)) == -1 || close(fd) == -1 ||
	    symlink("..", MK("%s/up", fuzz_root)) == -1 ||
	    symlink("../..", MK("%s/a/up2", fuzz_root)) == -1 ||
	    symlink("../secret", MK("%s/leak", fuzz_root)) == -1 ||
	    symlink("/", MK("%s/abs", fuzz_root)) == -1 ||
	    symlink("/etc/passwd", MK("%s/passwd", fuzz_root)) == -1 ||
	    symlink(fuzz_top, MK("%s/top", fuzz_root)) == -1 ||
	    symlink("a", MK("%s/in", fuzz_root)) == -1 ||
	    symlink("b/../../a/file", MK("%s/a/back", fuzz_root)) == -1 ||
	    symlink("loop", MK("%s/loop", fuzz_root)) == -1)
		abort();
#undef MK
	if ((fuzz_rootfd = open(fuzz_root, O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		abort();
}

/* The file behind fd is the root or beneath it. */
static void
fuzz_inside(int fd)
{
	char link[64], where[PATH_MAX + 1];
	size_t rlen = strlen(fuzz_root);
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, where, sizeof(where) - 1);
	FUZZ_CHECK(n > 0);
	where[n] = '\0';
	if (strncmp(where, fuzz_root, rlen) != 0 ||
	    (where[rlen] != '\0' && where[rlen] != '/')) {
		fprintf(stderr, "opened outside the root: %s\n", where);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char vpath[FTP_PATH_MAX + 1], *text, *arg;
	struct stat st;
	size_t tlen;
	int fd, flags;

	if (fuzz_rootfd == -1)
		fuzz_fixture();
	if (size < 1)
		return 0;
	if ((text = malloc(size)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	tlen = strlen(text);
	arg = tlen + 1 < size ? text + tlen + 1 : NULL;
	if (ftp_path_resolve(text[0] == '/' ? text : "/", arg, vpath,
	    sizeof(vpath)) == -1) {
		free(text);
		return 0;
	}
	free(text);
	ftp_path_use_walk(data[0] & 1);
	switch ((data[0] >> 1) & 3) {
	case 0:
		flags = O_RDONLY;
		break;
	case 1:
		flags = O_PATH;
		break;
	case 2:
		flags = O_RDONLY | O_DIRECTORY;
		break;
	default:
		flags = O_PATH | O_NOFOLLOW;
		break;
	}
	if ((fd = ftp_path_open(fuzz_rootfd, vpath, flags, 0)) != -1) {
		fuzz_inside(fd);
		close(fd);
	} else
		FUZZ_CHECK(errno != 0);
	if (ftp_path_stat(fuzz_rootfd, vpath, &st) == 0)
		FUZZ_CHECK(!S_ISLNK(st.st_mode) || (data[0] & 1) == 0);
	return 0;
}
