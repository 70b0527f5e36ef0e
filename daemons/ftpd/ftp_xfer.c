/* SPDX-License-Identifier: ISC */
/*
 * Transfers: the commands that set up a data connection (PASV, EPSV,
 * PORT, EPRT) or shape a transfer (TYPE, MODE, STRU, REST), those that
 * run one (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) or cut it (ABOR),
 * and what happens when a transfer ends: the reply, the transfer log
 * and the control connection's idle timeout back on.  Uploads go to a
 * file aside that replaces the target only once complete.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "addr.h"
#include "ftp_cmd.h"
#include "ftp_control.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_port.h"
#include "ftp_session.h"
#include "ftp_xfer.h"
#include "ftpd.h"
#include "log.h"
#include "numparse.h"
#include "server.h"

static int	ftp_xfer_idle(struct ftp_session *, int);
static void	ftp_xfer_log(struct ftp_session *, enum ftp_xfer_result,
		    const char *, unsigned long long, double);
static int	ftp_xfer_clear_data(const struct ftp_session *);
static int	ftp_xfer_target_ok(struct ftp_session *,
		    const struct sockaddr *);
static int	ftp_xfer_refused(struct ftp_session *, int *);
static int	ftp_xfer_not_started(struct ftp_session *);
static int	ftp_xfer_listing(struct ftp_session *, char *,
		    enum ftp_list_style);
static int	ftp_xfer_store(struct ftp_session *, char *, enum ftp_verb);

/* The control idle timeout is off while a transfer runs. */
static int
ftp_xfer_idle(struct ftp_session *s, int on)
{
	return bufferevent_set_timeouts(s->c->bev, on ? &s->d->cfg.idle : NULL,
	    NULL);
}

/*
 * The end of a transfer, from ftp_data: the reply, the transfer log and
 * the control idle timeout back on.  -1: the session is gone.
 */
int
ftp_xfer_report(struct ftp_session *s, enum ftp_xfer_result result,
    const char *path, unsigned long long bytes, double secs, const char *why)
{
	static const char *names[] = { "ok", "no-connection", "closed",
	    "timeout", "local-error", "aborted", "no-space", "quota",
	    "tls-refused" };
	char f_user[96], f_path[FTP_PATH_MAX + 32], f_bytes[48], f_secs[48],
	    f_res[48], epath[512];
	const char *fields[] = { f_user, f_path, f_bytes, f_secs, f_res, NULL };
	int code, r;

	snprintf(f_user, sizeof(f_user), "FTP_USER=%s", s->user);
	snprintf(f_path, sizeof(f_path), "FTP_PATH=%s", path);
	snprintf(f_bytes, sizeof(f_bytes), "FTP_BYTES=%llu", bytes);
	snprintf(f_secs, sizeof(f_secs), "FTP_SECONDS=%.3f", secs);
	snprintf(f_res, sizeof(f_res), "FTP_RESULT=%s", names[result]);
	log_escape(epath, sizeof(epath), path, strlen(path));
	log_fields(result == FTP_XR_OK ? LOG_INFO : LOG_NOTICE, fields,
	    "%s: %s %s %s %s: %llu bytes in %.3f s: %s", s->c->host,
	    s->incoming ? "received" : "sent", epath,
	    s->incoming ? "from" : "to", s->user, bytes, secs,
	    result == FTP_XR_OK ? "ok" : why);
	if (s->xfer_file && s->d->cfg.xferlog_fd != -1)
		ftp_xfer_log(s, result, path, bytes, secs);
	s->incoming = 0;
	s->xfer_file = 0;
	ftp_xfer_idle(s, 1);
	switch (result) {
	case FTP_XR_OK:
		r = ftp_reply(s, FTP_XFER_DONE, "Transfer complete.");
		break;
	case FTP_XR_NO_CONN:
		r = ftp_reply(s, FTP_NO_DATA_CONN, "Failed to establish "
		    "connection.");
		break;
	case FTP_XR_LOCAL:
		r = ftp_reply(s, FTP_LOCAL_ERROR, "Local error: %s.", why);
		break;
	case FTP_XR_TIMEOUT:
		r = ftp_reply(s, FTP_XFER_ABORTED, "Data connection timed "
		    "out.");
		break;
	case FTP_XR_ABORTED:
		r = ftp_reply(s, FTP_XFER_ABORTED, "Transfer aborted.");
		break;
	case FTP_XR_NOSPACE:
		r = ftp_reply(s, FTP_NO_SPACE, "Insufficient storage space: "
		    "%s.", why);
		break;
	case FTP_XR_QUOTA:
		r = ftp_reply(s, FTP_QUOTA, "Exceeded storage allocation: "
		    "%s.", why);
		break;
	case FTP_XR_TLS:
		r = ftp_reply(s, FTP_TLS_DATA_FAILED, "TLS data connection "
		    "refused: %s.", why);
		break;
	case FTP_XR_CLOSED:
	default:
		code = FTP_XFER_ABORTED;
		r = ftp_reply(s, code, "Connection closed; transfer aborted.");
		break;
	}
	if (r == -1)
		return -1;
	if (s->stopping) {
		if (ftp_reply(s, FTP_UNAVAILABLE, "Service shutting down.") ==
		    -1)
			return -1;
		conn_close_after_flush(s->c, "shutdown");
		return -1;
	}
	return 0;
}

/*
 * One line of the wu-ftpd xferlog(5) format for a file transfer:
 * "time secs host bytes path a|b _ o|i a|r user ftp 0 * c|i", the path's
 * blanks and control bytes made '_' so that fields stay fields.
 */
static void
ftp_xfer_log(struct ftp_session *s, enum ftp_xfer_result result,
    const char *path, unsigned long long bytes, double secs)
{
	char line[FTP_PATH_MAX + 512], when[64], *p;
	time_t now = time(NULL);
	struct tm tm;
	int n, pstart;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return;
	n = snprintf(line, sizeof(line), "%s %.0f %s %llu %n%s %c _ %c %c %s "
	    "ftp 0 * %c\n", when, secs < 1 ? 1 : secs, s->c->host, bytes,
	    &pstart, path, s->ascii ? 'a' : 'b', s->incoming ? 'i' : 'o',
	    s->anonymous ? 'a' : 'r', s->user,
	    result == FTP_XR_OK ? 'c' : 'i');
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	for (p = line + pstart; *p != '\0' && p < line + pstart +
	    (int)strlen(path); p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			*p = '_';
	if (write(s->d->cfg.xferlog_fd, line, (size_t)n) != n)
		log_warn("xferlog");
}

/* --require-tls: a named user's transfers only under PROT P. */
static int
ftp_xfer_clear_data(const struct ftp_session *s)
{
	return s->d->cfg.require_tls && !s->anonymous && !s->prot_p;
}

int
ftp_xfer_type(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "I") == 0 || strcasecmp(arg, "L 8") == 0 ||
	    strcasecmp(arg, "L8") == 0) {
		s->ascii = 0;
		return ftp_reply(s, FTP_OK, "Switching to Binary mode.");
	}
	if (strcasecmp(arg, "A") == 0 || strcasecmp(arg, "A N") == 0) {
		s->ascii = 1;
		return ftp_reply(s, FTP_OK, "Switching to ASCII mode.");
	}
	return ftp_reply(s, FTP_BAD_PARAM, "Unsupported TYPE '%.16s'.", arg);
}

int
ftp_xfer_mode(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "S") == 0)
		return ftp_reply(s, FTP_OK, "Mode set to S.");
	if (strcasecmp(arg, "B") == 0 || strcasecmp(arg, "C") == 0)
		return ftp_reply(s, FTP_BAD_PARAM, "Only MODE S is supported.");
	return ftp_reply(s, FTP_BAD_ARGS, "Unknown MODE.");
}

int
ftp_xfer_stru(struct ftp_session *s, char *arg)
{
	if (strcasecmp(arg, "F") == 0)
		return ftp_reply(s, FTP_OK, "Structure set to F.");
	if (strcasecmp(arg, "R") == 0 || strcasecmp(arg, "P") == 0)
		return ftp_reply(s, FTP_BAD_PARAM, "Only STRU F is supported.");
	return ftp_reply(s, FTP_BAD_ARGS, "Unknown STRU.");
}

/* PASV and PORT are off after EPSV ALL (RFC 2428). */
int
ftp_xfer_pasv(struct ftp_session *s, char *arg)
{
	char buf[128];

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_data_passive(s, 0, buf, sizeof(buf)) == -1)
		return ftp_reply(s, FTP_NO_DATA_CONN, "%s", buf);
	return ftp_reply(s, FTP_PASV, "%s", buf);
}

int
ftp_xfer_epsv(struct ftp_session *s, char *arg)
{
	char buf[128];

	if (arg != NULL && strcasecmp(arg, "ALL") == 0) {
		s->epsv_all = 1;
		return ftp_reply(s, FTP_OK, "EPSV ALL ok.");
	}
	if (arg != NULL && strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0)
		return ftp_reply(s, FTP_BAD_PROTO, "Network protocol not "
		    "supported, use (1,2)");
	if (ftp_data_passive(s, 1, buf, sizeof(buf)) == -1)
		return ftp_reply(s, FTP_NO_DATA_CONN, "%s", buf);
	return ftp_reply(s, FTP_EPSV, "%s", buf);
}

/*
 * PORT and EPRT may name only the client's own address and a port of
 * 1024 or more (RFC 2577): no bounce to anyone else, no privileged port.
 */
static int
ftp_xfer_target_ok(struct ftp_session *s, const struct sockaddr *sa)
{
	char host[ADDR_STRLEN];
	unsigned port;

	if (addr_format(sa, host, sizeof(host), &port) == -1)
		return -1;
	if (addr_same_host(sa, (struct sockaddr *)&s->c->peer) &&
	    port >= 1024)
		return 0;
	log_peer(LOG_WARNING, (struct sockaddr *)&s->c->peer,
	    "refused a data connection to %s port %u", host, port);
	return -1;
}

int
ftp_xfer_port(struct ftp_session *s, char *arg)
{
	struct sockaddr_in sin;

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_port_parse(arg, &sin) == -1)
		return ftp_reply(s, FTP_BAD_ARGS, "Illegal PORT command.");
	if (ftp_xfer_target_ok(s, (struct sockaddr *)&sin) == -1)
		return ftp_reply(s, FTP_BAD_PARAM, "PORT refused: only to "
		    "your own address, port 1024 or above.");
	if (ftp_data_active(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_OK, "PORT command successful. Consider "
	    "using PASV.");
}

int
ftp_xfer_eprt(struct ftp_session *s, char *arg)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_port_parse_eprt(arg, &ss, &len) == -1)
		return errno == EAFNOSUPPORT ?
		    ftp_reply(s, FTP_BAD_PROTO, "Network protocol not "
		    "supported, use (1,2)") :
		    ftp_reply(s, FTP_BAD_ARGS, "Illegal EPRT command.");
	if (ftp_xfer_target_ok(s, (struct sockaddr *)&ss) == -1)
		return ftp_reply(s, FTP_BAD_PARAM, "EPRT refused: only to "
		    "your own address, port 1024 or above.");
	if (ftp_data_active(s, (struct sockaddr *)&ss, len) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_OK, "EPRT command successful.");
}

int
ftp_xfer_rest(struct ftp_session *s, char *arg)
{
	unsigned long v;

	if (parse_ulong(arg, 0, (unsigned long)INT64_MAX, &v) == -1)
		return ftp_reply(s, FTP_BAD_ARGS, "Bad restart position.");
	s->rest = v;
	return ftp_reply(s, FTP_NEED_INFO, "Restart position accepted (%lu).",
	    v);
}

/*
 * Whether a transfer may start: a data connection must be set up, and
 * protected when TLS requires it.  1 when refused (the reply is sent, its
 * result in *rc), 0 to go on.
 */
static int
ftp_xfer_refused(struct ftp_session *s, int *rc)
{
	if (!ftp_data_ready(s))
		*rc = ftp_reply(s, FTP_NO_DATA_CONN, "Use PORT or PASV first.");
	else if (ftp_xfer_clear_data(s))
		*rc = ftp_reply(s, FTP_TLS_DATA_REQUIRED, "Data connections "
		    "must be protected: use PROT P.");
	else
		return 0;
	return 1;
}

/* The data connection could not start: idle again, and say so. */
static int
ftp_xfer_not_started(struct ftp_session *s)
{
	ftp_xfer_idle(s, 1);
	return ftp_reply(s, FTP_NO_DATA_CONN, "Failed to establish "
	    "connection.");
}

int
ftp_xfer_retr(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	unsigned long long rest = s->rest;
	struct stat st;
	int fd, rc;

	s->rest = 0;
	if (ftp_xfer_refused(s, &rc))
		return rc;
	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	fd = ftp_path_open(s->rootfd, path, O_RDONLY | O_NONBLOCK, 0);
	if (fd == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	}
	if (ftp_reply(s, FTP_OPENING_DATA, "Opening %s mode data connection "
	    "for %.512s (%lld bytes).", s->ascii ? "ASCII" : "BINARY", arg,
	    (long long)st.st_size) == -1) {
		close(fd);
		return -1;
	}
	ftp_xfer_idle(s, 0);
	s->xfer_file = 1;
	if (ftp_data_send_file(s, fd, (off_t)rest, st.st_size, s->ascii,
	    path) == -1) {
		return ftp_xfer_not_started(s);
	}
	return 0;
}

/*
 * LIST, NLST and MLSD.  ls-style options ("-a", "-la") before the path
 * are skipped, as clients expect.
 */
static int
ftp_xfer_listing(struct ftp_session *s, char *arg, enum ftp_list_style style)
{
	char path[FTP_PATH_MAX + 1];
	struct ftp_listing *l;
	struct stat st;
	int rc;

	if (style != FTP_LIST_FACTS)
		arg = ftp_list_skip_options(arg);
	if (ftp_xfer_refused(s, &rc))
		return rc;
	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (style == FTP_LIST_FACTS) {
		if (ftp_path_stat(s->rootfd, path, &st) == -1)
			return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
		if (!S_ISDIR(st.st_mode))
			return ftp_reply_errno(s, FTP_FILE_FAIL, arg, ENOTDIR);
	}
	l = ftp_listing_open(s->rootfd, path, arg, style, s->facts,
	    s->may_write);
	if (l == NULL)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, errno);
	if (ftp_reply(s, FTP_OPENING_DATA, "Here comes the directory "
	    "listing.") == -1) {
		ftp_listing_free(l);
		return -1;
	}
	ftp_xfer_idle(s, 0);
	if (ftp_data_send_listing(s, l, path) == -1) {
		return ftp_xfer_not_started(s);
	}
	return 0;
}

int
ftp_xfer_list(struct ftp_session *s, char *arg)
{
	return ftp_xfer_listing(s, arg, FTP_LIST_LONG);
}

int
ftp_xfer_nlst(struct ftp_session *s, char *arg)
{
	return ftp_xfer_listing(s, arg, FTP_LIST_NAMES);
}

int
ftp_xfer_mlsd(struct ftp_session *s, char *arg)
{
	return ftp_xfer_listing(s, arg, FTP_LIST_FACTS);
}

/* ABOR: 426 for the transfer cut (ftp_data sends it), then 226. */
int
ftp_xfer_abor(struct ftp_session *s, char *arg)
{
	int r;

	if ((r = ftp_data_abort(s)) == -1)
		return -1;
	ftp_xfer_idle(s, 1);
	if (r == 1)
		return ftp_reply(s, FTP_XFER_DONE, "ABOR successful.");
	return ftp_reply(s, FTP_ABOR_NO_XFER, "No transfer to abort.");
}

/*
 * STOR, APPE, STOU (and REST + STOR): the data go to a new file aside in
 * the same directory, which replaces the target only when the upload
 * ends cleanly.  APPE and REST start it as a copy of the old file (all
 * of it, or its first REST bytes).
 */
static int
ftp_xfer_store(struct ftp_session *s, char *arg, enum ftp_verb verb)
{
	char path[FTP_PATH_MAX + 1], tmp[64], unique[40];
	unsigned long long rest = s->rest;
	const char *name;
	struct stat st;
	off_t keep = 0, off = 0;
	ssize_t n;
	int dirfd, fd = -1, old, err, i, rc;

	s->rest = 0;
	if (ftp_xfer_refused(s, &rc))
		return rc;
	if (verb == FTP_V_STOU) {
		snprintf(unique, sizeof(unique), "ftp%08lx",
		    (unsigned long)random());
		arg = unique;
	}
	if ((dirfd = ftp_path_parent(s->rootfd, s->cwd, arg, path, &name)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	for (i = 0; verb == FTP_V_STOU && i < 100 &&
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0; i++) {
		snprintf(unique, sizeof(unique), "ftp%08lx",
		    (unsigned long)random());
		name = unique;
		snprintf(strrchr(path, '/') + 1, sizeof(path) -
		    (size_t)(strrchr(path, '/') + 1 - path), "%s", unique);
	}
	old = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (old == -1 && errno != ENOENT) {
		err = errno;
		close(dirfd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err == ELOOP ?
		    EACCES : err);
	}
	if (old != -1 && (fstat(old, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(old);
		close(dirfd);
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	}
	if (old != -1)
		keep = verb == FTP_V_APPE ? st.st_size :
		    (off_t)rest < st.st_size ? (off_t)rest : st.st_size;
	else if (rest > 0) {
		close(dirfd);
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Nothing to "
		    "resume.", arg);
	}
	for (i = 0; i < 100 && fd == -1; i++) {
		snprintf(tmp, sizeof(tmp), ".ftp-upload.%08lx%08lx",
		    (unsigned long)random(), (unsigned long)random());
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		err = errno;
		if (old != -1)
			close(old);
		close(dirfd);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
	if (old != -1)
		(void)fchmod(fd, st.st_mode & 0777);
	/* The part kept from the old file, copied in the kernel. */
	while (off < keep) {
		n = copy_file_range(old, &off, fd, NULL, (size_t)(keep - off),
		    0);
		if (n <= 0) {
			err = n == 0 ? EIO : errno;
			close(old);
			close(fd);
			(void)unlinkat(dirfd, tmp, 0);
			close(dirfd);
			return ftp_reply(s, err == ENOSPC ? FTP_NO_SPACE :
			    FTP_LOCAL_ERROR, "Cannot keep the old data: %s.",
			    strerror(err));
		}
	}
	if (old != -1)
		close(old);
	if ((verb == FTP_V_STOU ? ftp_reply(s, FTP_OPENING_DATA, "FILE: %s",
	    name) : ftp_reply(s, FTP_OPENING_DATA, "Ok to send data.")) ==
	    -1) {
		close(fd);
		(void)unlinkat(dirfd, tmp, 0);
		close(dirfd);
		return -1;
	}
	ftp_xfer_idle(s, 0);
	s->incoming = 1;
	s->xfer_file = 1;
	if (ftp_data_recv_file(s, dirfd, tmp, fd, name, keep, s->ascii,
	    path) == -1) {
		s->incoming = 0;
		return ftp_xfer_not_started(s);
	}
	return 0;
}

int
ftp_xfer_stor(struct ftp_session *s, char *arg)
{
	return ftp_xfer_store(s, arg, FTP_V_STOR);
}

int
ftp_xfer_appe(struct ftp_session *s, char *arg)
{
	return ftp_xfer_store(s, arg, FTP_V_APPE);
}

int
ftp_xfer_stou(struct ftp_session *s, char *arg)
{
	return ftp_xfer_store(s, arg, FTP_V_STOU);
}
