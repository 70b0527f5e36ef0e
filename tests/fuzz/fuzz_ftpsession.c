/* SPDX-License-Identifier: ISC */
/*
 * Whole FTP sessions: each input is what one client sends on a control
 * connection to the real session code (ftp_session.c, ftp_data.c and the
 * rest, on lib/server.c), in process.  The harness connects, sends the
 * bytes, runs the event loop until the server has nothing more to say,
 * hangs up and runs it until the session is gone: any memory error in a
 * command handler, a half-begun transfer or the teardown shows up under
 * ASan, and a session must never outlive its connection nor leave a
 * descriptor behind.
 *
 * The root holds files, directories and symbolic links out of it; it is
 * served read-only to anonymous users; a user "rw" (password "pw") may
 * write in a home of its own beside it.  Data connections
 * (PASV/EPSV) are opened but nobody connects to them; PORT/EPRT connect
 * back to the client's address, which is in a network namespace of the
 * harness's own when it may make one (else inputs with them are
 * skipped).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "ftp_session.h"
#include "ftp_users.h"
#include "ftpd.h"
#include "fuzz.h"
#include "listen.h"
#include "log.h"
#include "server.h"

#define SESSION_ROUNDS	256	/* loop passes per input (one command each) */

static void	fuzz_init(void);
static void	fuzz_tree(void);
static int	fuzz_netns(void);
static void	fuzz_cleanup(void);
static int	fuzz_rm_cb(const char *, const struct stat *, int,
		    struct FTW *);
static int	fuzz_check_user(const struct ftp_users *, const char *,
		    const char *, const struct ftp_user **);
static int	fuzz_drain(int);
static int	fuzz_lowest_fd(void);
static int	fuzz_connect(void);

static const struct server_ops fuzz_ops = {
	.accepted = ftp_session_accepted,
	.readable = ftp_session_readable,
	.drained = ftp_session_drained,
	.stopping = ftp_session_stopping,
	.closed = ftp_session_closed,
};

static struct ftpd fuzz_d;
static int fuzz_fdfree;		/* lowest free descriptor between sessions */
static struct ftp_user fuzz_rw;
static struct sockaddr_in fuzz_addr;
static char fuzz_top[] = "/tmp/clockwork-fuzz-XXXXXX";
static pid_t fuzz_owner;
static int fuzz_isolated;

/*
 * Removes one entry of the tree, made writable first (a session may have
 * taken its rights away), but never through a symlink: chmod follows
 * one, and root/abs points at /etc.
 */
static int
fuzz_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	if (flag != FTW_SL && flag != FTW_SLN)
		chmod(path, 0700);
	return remove(path);
}

static void
fuzz_cleanup(void)
{
	if (getpid() == fuzz_owner)
		nftw(fuzz_top, fuzz_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* TOP/secret outside; TOP/root served, with TOP/root/rw for writing. */
static void
fuzz_tree(void)
{
	static const char *dirs[] = { "root", "root/pub", "root/pub/sub dir",
	    "root/rw", "root/empty" };
	static const char *files[] = { "secret", "root/hello.txt",
	    "root/pub/big.bin", "root/pub/caf\xc3\xa9.txt", "root/rw/a.txt" };
	char p[PATH_MAX];
	size_t i;
	int fd;

	if (mkdtemp(fuzz_top) == NULL)
		abort();
	fuzz_owner = getpid();
	atexit(fuzz_cleanup);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fuzz_top, dirs[i]);
		if (mkdir(p, 0755) == -1)
			abort();
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", fuzz_top, files[i]);
		if ((fd = open(p, O_CREAT | O_WRONLY, 0644)) == -1 ||
		    write(fd, "hello\n", 6) != 6 || close(fd) == -1)
			abort();
	}
	snprintf(p, sizeof(p), "%s/root/pub/up", fuzz_top);
	if (symlink("../..", p) == -1)
		abort();
	snprintf(p, sizeof(p), "%s/root/pub/ok", fuzz_top);
	if (symlink("../hello.txt", p) == -1)
		abort();
	snprintf(p, sizeof(p), "%s/root/abs", fuzz_top);
	if (symlink("/etc", p) == -1)
		abort();
}

/*
 * A network namespace of our own: PORT/EPRT reach nobody else, and the
 * many short connections may reuse ports in TIME_WAIT.
 */
static int
fuzz_netns(void)
{
	struct ifreq ifr;
	int s, fd;

	if (unshare(CLONE_NEWNET) == -1)
		return 0;
	if ((fd = open("/proc/sys/net/ipv4/tcp_tw_reuse", O_WRONLY |
	    O_CLOEXEC)) != -1) {
		(void)write(fd, "1\n", 2);
		close(fd);
	}
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == -1) {
		close(s);
		return 0;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) == -1) {
		close(s);
		return 0;
	}
	close(s);
	return 1;
}

/* crypt(3) costs milliseconds: one user with a plain password instead. */
static int
fuzz_check_user(const struct ftp_users *us, const char *name,
    const char *password, const struct ftp_user **up)
{
	if (strcmp(name, fuzz_rw.name) == 0 && strcmp(password, "pw") == 0) {
		*up = &fuzz_rw;
		return 1;
	}
	return 0;
}

static void
fuzz_init(void)
{
	struct server_limits limits;
	struct listen_set set;
	struct ftpd_config *cfg = &fuzz_d.cfg;
	char p[PATH_MAX];
	socklen_t len = sizeof(fuzz_addr);
	int lfd, on = 1;

	log_init("fuzz-ftpsession", LOG_VERBOSITY_QUIET);
	fuzz_isolated = fuzz_netns();
	fuzz_tree();

	memset(&fuzz_d, 0, sizeof(fuzz_d));
	ftp_data_conf_init(&fuzz_d.data);
	snprintf(p, sizeof(p), "%s/root", fuzz_top);
	if ((cfg->root = strdup(p)) == NULL)
		abort();
	if ((cfg->rootfd = open(cfg->root, O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		abort();
	cfg->idle.tv_sec = 300;
	fuzz_d.data.timeout.tv_sec = 300;
	fuzz_d.data.accept.tv_sec = 60;
	fuzz_d.budget.max = 64 * 1024 * 1024;
	cfg->xferlog_fd = -1;
	cfg->check_user = fuzz_check_user;
	fuzz_rw.name = "rw";
	fuzz_rw.hash = "x";
	snprintf(p, sizeof(p), "%s/root/rw", fuzz_top);
	if ((fuzz_rw.home = strdup(p)) == NULL)
		abort();
	fuzz_rw.rw = 1;
	if ((cfg->users = ftp_users_new()) == NULL ||
	    (cfg->users->users = calloc(1, sizeof(struct ftp_user))) == NULL)
		abort();
	cfg->users->users[0] = fuzz_rw;
	cfg->users->n = 1;

	memset(&fuzz_addr, 0, sizeof(fuzz_addr));
	fuzz_addr.sin_family = AF_INET;
	fuzz_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    bind(lfd, (struct sockaddr *)&fuzz_addr, sizeof(fuzz_addr)) == -1 ||
	    listen(lfd, 64) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&fuzz_addr, &len) == -1)
		abort();
	memset(&set, 0, sizeof(set));
	set.fds[0] = lfd;
	set.nfds = 1;
	memset(&limits, 0, sizeof(limits));
	limits.max_output = 512 * 1024;
	limits.max_input = 2 * 4096;
	limits.idle = cfg->idle;
	if ((fuzz_d.base = event_base_new()) == NULL ||
	    (fuzz_d.srv = server_new(fuzz_d.base, &set, &fuzz_ops, &limits,
	    &fuzz_d)) == NULL)
		abort();
	fuzz_d.data.base = fuzz_d.base;
	fuzz_fdfree = fuzz_lowest_fd();
}

static int
fuzz_lowest_fd(void)
{
	int fd;

	if ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		abort();
	close(fd);
	return fd;
}

/* A client connection; ports may be short for a moment, never for long. */
static int
fuzz_connect(void)
{
	int fd, tries;

	for (tries = 0; tries < 50; tries++) {
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
			break;
		if (connect(fd, (struct sockaddr *)&fuzz_addr,
		    sizeof(fuzz_addr)) == 0)
			return fd;
		close(fd);
		/* libFuzzer's own timer signals may interrupt the connect. */
		if (errno != EADDRNOTAVAIL && errno != EAGAIN &&
		    errno != EINTR)
			break;
		event_base_loop(fuzz_d.base, EVLOOP_NONBLOCK);
		usleep(20000);
	}
	fprintf(stderr, "cannot connect to the server: %s\n", strerror(errno));
	abort();
}

/* Reads whatever the server has sent; 1 if anything came. */
static int
fuzz_drain(int fd)
{
	char buf[65536];
	ssize_t n;
	int got = 0;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		got = 1;
	return got;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct server_stats *st;
	int fd, i, quiet;
	size_t off;
	ssize_t n;

	if (fuzz_d.base == NULL)
		fuzz_init();
	if (size > 16384)
		return 0;
	if (!fuzz_isolated && (memmem(data, size, "PORT", 4) != NULL ||
	    memmem(data, size, "EPRT", 4) != NULL ||
	    memmem(data, size, "port", 4) != NULL ||
	    memmem(data, size, "eprt", 4) != NULL))
		return 0;
	st = server_stats(fuzz_d.srv);
	FUZZ_CHECK(st->clients == 0);

	fd = fuzz_connect();
	for (i = 0; i < SESSION_ROUNDS && st->clients == 0; i++)
		event_base_loop(fuzz_d.base, EVLOOP_NONBLOCK);
	FUZZ_CHECK(st->clients == 1);

	/* The bytes, as fast as the server takes them. */
	for (off = 0, i = 0; off < size && i < SESSION_ROUNDS; i++) {
		n = send(fd, data + off, size - off, MSG_DONTWAIT |
		    MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		event_base_loop(fuzz_d.base, EVLOOP_NONBLOCK);
		fuzz_drain(fd);
	}
	/* Until it has answered all it will answer now. */
	for (i = 0, quiet = 0; i < SESSION_ROUNDS && quiet < 3; i++) {
		event_base_loop(fuzz_d.base, EVLOOP_NONBLOCK);
		quiet = fuzz_drain(fd) ? 0 : quiet + 1;
	}

	/* Hang up: the session and everything it began must go. */
	close(fd);
	for (i = 0; i < SESSION_ROUNDS && st->clients != 0; i++)
		event_base_loop(fuzz_d.base, EVLOOP_NONBLOCK);
	FUZZ_CHECK(st->clients == 0);
	/* Nor any descriptor of it (data sockets, files, listeners). */
	FUZZ_CHECK(fuzz_lowest_fd() <= fuzz_fdfree + 4);
	return 0;
}
