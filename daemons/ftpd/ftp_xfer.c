/* SPDX-License-Identifier: ISC */
/*
 * Transfers: the commands that set up a data connection (PASV, EPSV,
 * PORT, EPRT) or shape a transfer (TYPE, MODE, STRU, REST), those that
 * run one (RETR, STOR, APPE, STOU, LIST, NLST, MLSD) or cut it (ABOR),
 * and what happens when a transfer ends: an upload made the file, the
 * reply, the transfer log.  A transfer runs from its 150 reply to its
 * last; ftp_xfer_running() is the one place that starts and stops one.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "ftp_budget.h"
#include "ftp_cmd.h"
#include "ftp_control.h"
#include "ftp_data.h"
#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_port.h"
#include "ftp_session.h"
#include "ftp_upload.h"
#include "ftp_work.h"
#include "ftp_xfer.h"
#include "ftpd.h"
#include "log.h"
#include "numparse.h"
#include "server.h"

/*
 * An upload's file aside, from STOR until it is the file or removed.
 * The files pool makes it (with the old data for APPE or REST: a copy
 * that can take seconds), makes it the file (an fsync, a rename) and
 * removes it (an unlink of a big file can take long too), while the
 * session waits.  The worker touches only up and the opening's fields.
 */
struct ftp_commit {
	struct ftp_job		 job;		/* first: the pool's handle */
	struct ftp_upload	 up;
	unsigned long long	 bytes;		/* received */
	struct ftp_session	*owner;		/* waiting for it, or NULL */
	struct ftp_work		*pool;		/* the files pool, or NULL */
	/* The opening: what ftp_upload_open() is given, and its answer. */
	int			 dirfd;
	const char		*name;		/* in path */
	int			 append;
	off_t			 rest;
	enum ftp_verb		 verb;
	enum ftp_upload_status	 status;
	int			 err;
	char			 path[FTP_PATH_MAX + 1];
	char			 arg[FTP_PATH_MAX + 1];	/* as the client said */
};

/* A session's transfers: made with its first PASV or PORT. */
struct ftp_xfer {
	struct ftp_data		*dc;
	int			 running;	/* from 150 to the last reply */
	int			 incoming;	/* an upload */
	int			 file;		/* of a file, not a listing */
	size_t			 reserved;	/* of the memory budget */
	struct ftp_commit	*upload;	/* the upload's file aside */
	int			 opening;	/* ... being made */
	int			 committing;	/* ... being made the file */
	struct timeval		 began;
	char			 path[FTP_PATH_MAX + 1];
};

/* What clients can make us log, within limits. */
static struct log_limit ftp_xfer_log_port =
    LOG_LIMIT("refused PORT and EPRT", 5);
static struct log_limit ftp_xfer_log_xferlog =
    LOG_LIMIT("xferlog write errors", 5);

/* How each result is logged and answered. */
static const struct {
	const char	*name;		/* FTP_RESULT= */
	int		 code;
	const char	*text;
	int		 why;		/* the text is followed by why */
} ftp_xfer_results[] = {
	[FTP_XR_OK] = { "ok", FTP_XFER_DONE, "Transfer complete.", 0 },
	[FTP_XR_NO_CONN] = { "no-connection", FTP_NO_DATA_CONN,
	    "Failed to establish connection.", 0 },
	[FTP_XR_CLOSED] = { "closed", FTP_XFER_ABORTED,
	    "Connection closed; transfer aborted.", 0 },
	[FTP_XR_TIMEOUT] = { "timeout", FTP_XFER_ABORTED,
	    "Data connection timed out.", 0 },
	[FTP_XR_LOCAL] = { "local-error", FTP_LOCAL_ERROR, "Local error", 1 },
	[FTP_XR_ABORTED] = { "aborted", FTP_XFER_ABORTED,
	    "Transfer aborted.", 0 },
	[FTP_XR_NOSPACE] = { "no-space", FTP_NO_SPACE,
	    "Insufficient storage space", 1 },
	[FTP_XR_QUOTA] = { "quota", FTP_QUOTA,
	    "Exceeded storage allocation", 1 },
	[FTP_XR_TLS] = { "tls-refused", FTP_TLS_DATA_FAILED,
	    "TLS data connection refused", 1 },
};

static struct ftp_data *ftp_xfer_data(struct ftp_session *);
static void	ftp_xfer_running(struct ftp_session *, int);
static void	ftp_xfer_data_done(const struct ftp_data_result *, void *);
static int	ftp_xfer_ended(struct ftp_session *,
		    const struct ftp_data_result *);
static int	ftp_xfer_commit(struct ftp_session *, unsigned long long,
		    struct ftp_data_result *);
static void	ftp_xfer_commit_run(struct ftp_job *);
static void	ftp_xfer_commit_done(struct ftp_job *);
static void	ftp_xfer_commit_result(int, unsigned long long,
		    struct ftp_data_result *);
static int	ftp_xfer_end(struct ftp_session *,
		    const struct ftp_data_result *);
static int	ftp_xfer_reply(struct ftp_session *,
		    const struct ftp_data_result *);
static void	ftp_xfer_log(struct ftp_session *,
		    const struct ftp_data_result *, double);
static void	ftp_xfer_xferlog(struct ftp_session *,
		    const struct ftp_data_result *, double);
static int	ftp_xfer_clear_data(const struct ftp_session *);
static int	ftp_xfer_target_ok(struct ftp_session *,
		    const struct sockaddr *);
static int	ftp_xfer_refused(struct ftp_session *, int *);
static int	ftp_xfer_reserve(struct ftp_session *, enum ftp_data_kind,
		    int *);
static void	ftp_xfer_release(struct ftp_session *);
static void	ftp_xfer_start(struct ftp_session *, const char *, int, int);
static int	ftp_xfer_not_started(struct ftp_session *);
static int	ftp_xfer_listing(struct ftp_session *, char *,
		    enum ftp_list_style);
static int	ftp_xfer_store(struct ftp_session *, char *, enum ftp_verb);
static int	ftp_xfer_store_refused(struct ftp_session *, const char *,
		    enum ftp_upload_status, int);
static void	ftp_xfer_unique(int, char *, size_t);
static void	ftp_xfer_upload_abandon(struct ftp_session *,
		    struct ftp_data_result *);
static void	ftp_xfer_open_run(struct ftp_job *);
static void	ftp_xfer_open_done(struct ftp_job *);
static int	ftp_xfer_opened(struct ftp_session *, struct ftp_commit *);
static void	ftp_xfer_discard(struct ftp_commit *);
static void	ftp_xfer_discard_run(struct ftp_job *);
static void	ftp_xfer_discard_done(struct ftp_job *);

/*
 * The session's data connection, made on first use with the control
 * connection's two ends.  NULL when out of memory.
 */
static struct ftp_data *
ftp_xfer_data(struct ftp_session *s)
{
	struct ftp_xfer *x = s->xfer;
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);

	if (x != NULL)
		return x->dc;
	if (getsockname(conn_fd(s->c), (struct sockaddr *)&local, &len) == -1 ||
	    (x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	x->dc = ftp_data_new(&s->d->data, (struct sockaddr *)&local,
	    conn_peer(s->c), &s->prot, ftp_xfer_data_done, s);
	if (x->dc == NULL) {
		free(x);
		return NULL;
	}
	s->xfer = x;
	return x->dc;
}

/*
 * The session ends, or QUITs: the data connection goes and with it any
 * transfer (logged as cut when why is given); an upload complete on the
 * wire is still made the file, without anyone waiting.
 */
void
ftp_xfer_free(struct ftp_session *s, const char *why)
{
	struct ftp_xfer *x = s->xfer;
	char epath[512];

	if (x == NULL)
		return;
	if (x->running && why != NULL) {
		log_escape(epath, sizeof(epath), x->path, strlen(x->path));
		log_peer(LOG_NOTICE, conn_peer(s->c), "%s of %s "
		    "cut: %s", x->incoming ? "upload" : "download", epath, why);
	}
	ftp_data_free(x->dc);
	if (x->upload != NULL && (x->committing || x->opening))
		x->upload->owner = NULL;	/* its job's done() frees it */
	else if (x->upload != NULL)
		ftp_xfer_discard(x->upload);
	ftp_xfer_running(s, 0);
	free(x);
	s->xfer = NULL;
}

/* A transfer runs, or its last reply is not sent yet. */
int
ftp_xfer_busy(const struct ftp_session *s)
{
	return s->xfer != NULL && s->xfer->running;
}

/* The running transfer's bytes so far and its size (0 when unknown). */
void
ftp_xfer_progress(const struct ftp_session *s, unsigned long long *sent,
    unsigned long long *total)
{
	const struct ftp_xfer *x = s->xfer;

	*sent = *total = 0;
	if (x != NULL && x->committing)
		*sent = x->upload->bytes;
	else if (x != NULL)
		ftp_data_progress(x->dc, sent, total);
}

/*
 * The one rule of a running transfer: from its 150 to its last reply,
 * the daemon counts it and the control connection's idle timeout is off
 * (a long transfer is not an idle client).
 */
static void
ftp_xfer_running(struct ftp_session *s, int on)
{
	struct ftp_xfer *x = s->xfer;

	if (!on)
		ftp_xfer_release(s);
	if (x->running == on)
		return;
	x->running = on;
	if (on)
		s->d->transfers++;
	else
		s->d->transfers--;
	(void)conn_set_idle(s->c, on ? NULL : &s->d->cfg.idle);
}

/* A transfer is about to start: what the log will say of it. */
static void
ftp_xfer_start(struct ftp_session *s, const char *path, int incoming,
    int file)
{
	struct ftp_xfer *x = s->xfer;

	snprintf(x->path, sizeof(x->path), "%s", path);
	x->incoming = incoming;
	x->file = file;
	gettimeofday(&x->began, NULL);
	ftp_xfer_running(s, 1);
}

/* The data connection could not start: idle again, and say so. */
static int
ftp_xfer_not_started(struct ftp_session *s)
{
	ftp_xfer_running(s, 0);
	return ftp_reply(s, FTP_NO_DATA_CONN, "Failed to establish "
	    "connection.");
}

/* The data connection's report of a transfer's end, from the loop. */
static void
ftp_xfer_data_done(const struct ftp_data_result *r, void *arg)
{
	struct ftp_session *s = arg;

	if (ftp_xfer_ended(s, r) == 0)
		ftp_control_wake(s);
}

/*
 * A transfer's data came to an end: an upload complete on the wire is
 * made the file first, then the transfer ends.  Returns 1 while that is
 * done on the worker (its end comes later), 0 once ended, -1 if the
 * session is gone.
 */
static int
ftp_xfer_ended(struct ftp_session *s, const struct ftp_data_result *r)
{
	struct ftp_xfer *x = s->xfer;
	struct ftp_data_result res = *r;

	if (x->upload != NULL && r->result == FTP_XR_OK &&
	    ftp_xfer_commit(s, r->bytes, &res) == 1)
		return 1;
	return ftp_xfer_end(s, &res);
}

/*
 * Makes a complete upload the file: on the worker when there is one
 * (returns 1: ftp_xfer_commit_done() comes later), else here (returns 0,
 * the outcome in *res).
 */
static int
ftp_xfer_commit(struct ftp_session *s, unsigned long long bytes,
    struct ftp_data_result *res)
{
	struct ftp_xfer *x = s->xfer;
	struct ftp_commit *c = x->upload;

	c->job.run = ftp_xfer_commit_run;
	c->job.done = ftp_xfer_commit_done;
	c->bytes = bytes;
	c->owner = s;
	x->committing = 1;
	/* Never refused for a full queue: the data are all here. */
	if (ftp_work_submit(s->d->files, &c->job, FTP_WORK_ALWAYS) == 0)
		return 1;
	ftp_upload_commit(&c->up);
	x->committing = 0;
	x->upload = NULL;
	ftp_xfer_commit_result(c->up.err, bytes, res);
	free(c);
	return 0;
}

/* How an upload ended, from the commit's errno. */
static void
ftp_xfer_commit_result(int err, unsigned long long bytes,
    struct ftp_data_result *res)
{
	res->result = err == 0 ? FTP_XR_OK : ftp_data_errno_result(err);
	res->why = err == 0 ? NULL : strerror(err);
	res->bytes = bytes;
}

/* On the worker: fsync and rename. */
static void
ftp_xfer_commit_run(struct ftp_job *job)
{
	ftp_upload_commit(&((struct ftp_commit *)job)->up);
}

/* The worker made the upload the file, or failed to (in the loop). */
static void
ftp_xfer_commit_done(struct ftp_job *job)
{
	struct ftp_commit *c = (struct ftp_commit *)job;
	struct ftp_session *s = c->owner;
	struct ftp_data_result res;

	ftp_xfer_commit_result(c->up.err, c->bytes, &res);
	free(c);
	if (s == NULL)
		return;		/* nobody waits: aborted, or session ended */
	s->xfer->upload = NULL;
	s->xfer->committing = 0;
	if (ftp_xfer_end(s, &res) == 0)
		ftp_control_wake(s);
}

/*
 * ABOR while an upload is being made the file: that goes on (the data
 * are all here), without anyone waiting; the transfer ends as aborted.
 */
static void
ftp_xfer_upload_abandon(struct ftp_session *s, struct ftp_data_result *res)
{
	struct ftp_xfer *x = s->xfer;

	res->result = FTP_XR_ABORTED;
	res->why = "aborted";
	res->bytes = x->upload->bytes;
	x->upload->owner = NULL;
	x->upload = NULL;
	x->committing = 0;
}

/*
 * A transfer ends: an upload not complete is removed, the daemon counts
 * it, the log says how it went and the client gets its last reply.  -1
 * when the session is gone.
 */
static int
ftp_xfer_end(struct ftp_session *s, const struct ftp_data_result *r)
{
	struct ftp_xfer *x = s->xfer;
	struct timeval now, d;

	if (x->upload != NULL) {
		ftp_xfer_discard(x->upload);
		x->upload = NULL;
	}
	if (x->incoming) {
		s->d->bytes_received += r->bytes;
		s->d->files_received += r->result == FTP_XR_OK;
	} else {
		s->d->bytes_sent += r->bytes;
		s->d->files_sent += r->result == FTP_XR_OK;
	}
	gettimeofday(&now, NULL);
	timersub(&now, &x->began, &d);
	ftp_xfer_log(s, r, (double)d.tv_sec + (double)d.tv_usec / 1e6);
	ftp_xfer_running(s, 0);
	return ftp_xfer_reply(s, r);
}

/* The last reply of a transfer; then a stopping daemon says goodbye. */
static int
ftp_xfer_reply(struct ftp_session *s, const struct ftp_data_result *r)
{
	int code = ftp_xfer_results[r->result].code;
	const char *text = ftp_xfer_results[r->result].text;

	if ((ftp_xfer_results[r->result].why ? ftp_reply(s, code, "%s: %s.",
	    text, r->why) : ftp_reply(s, code, "%s", text)) == -1)
		return -1;
	if (!s->stopping)
		return 0;
	if (ftp_reply(s, FTP_UNAVAILABLE, "Service shutting down.") == -1)
		return -1;
	conn_close_after_flush(s->c, "shutdown");
	return -1;
}

/* Every transfer in the log, with fields; files in --xferlog too. */
static void
ftp_xfer_log(struct ftp_session *s, const struct ftp_data_result *r,
    double secs)
{
	struct ftp_xfer *x = s->xfer;
	char f_user[96], f_path[FTP_PATH_MAX + 32], f_bytes[48], f_secs[48],
	    f_res[48], epath[512];
	const char *fields[] = { f_user, f_path, f_bytes, f_secs, f_res, NULL };

	snprintf(f_user, sizeof(f_user), "FTP_USER=%s", s->user);
	snprintf(f_path, sizeof(f_path), "FTP_PATH=%s", x->path);
	snprintf(f_bytes, sizeof(f_bytes), "FTP_BYTES=%llu", r->bytes);
	snprintf(f_secs, sizeof(f_secs), "FTP_SECONDS=%.3f", secs);
	snprintf(f_res, sizeof(f_res), "FTP_RESULT=%s",
	    ftp_xfer_results[r->result].name);
	log_escape(epath, sizeof(epath), x->path, strlen(x->path));
	log_fields(r->result == FTP_XR_OK ? LOG_INFO : LOG_NOTICE, fields,
	    "%s: %s %s %s %s: %llu bytes in %.3f s: %s", conn_host(s->c),
	    x->incoming ? "received" : "sent", epath,
	    x->incoming ? "from" : "to", s->user, r->bytes, secs,
	    r->result == FTP_XR_OK ? "ok" : r->why);
	if (x->file && s->d->cfg.xferlog_fd != -1)
		ftp_xfer_xferlog(s, r, secs);
}

/*
 * One line of the wu-ftpd xferlog(5) format for a file transfer:
 * "time secs host bytes path a|b _ o|i a|r user ftp 0 * c|i", the path's
 * blanks made '_' so that fields stay fields (log_line() escapes any
 * other byte a client put in it).
 */
static void
ftp_xfer_xferlog(struct ftp_session *s, const struct ftp_data_result *r,
    double secs)
{
	char path[FTP_PATH_MAX + 1], when[64], *p;
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &tm) == 0)
		return;
	snprintf(path, sizeof(path), "%s", s->xfer->path);
	for (p = path; *p != '\0'; p++)
		if (*p == ' ' || *p == '\t')
			*p = '_';
	if (log_line(s->d->cfg.xferlog_fd, "%s %.0f %s %llu %s %c _ %c %c %s "
	    "ftp 0 * %c", when, secs < 1 ? 1 : secs, conn_host(s->c),
	    r->bytes, path, s->ascii ? 'a' : 'b', s->xfer->incoming ? 'i' : 'o',
	    s->anonymous ? 'a' : 'r', s->user,
	    r->result == FTP_XR_OK ? 'c' : 'i') == -1)
		log_limited(&ftp_xfer_log_xferlog, LOG_WARNING, NULL,
		    "xferlog: %s", strerror(errno));
}

/* --require-tls: a named user's transfers only under PROT P. */
static int
ftp_xfer_clear_data(const struct ftp_session *s)
{
	return s->d->cfg.require_tls && !s->anonymous && !s->prot.on;
}

/*
 * Whether a transfer may start: a data connection must be set up, under
 * the PROT level in force (one set up under the other is dropped unused),
 * and protected when TLS requires it.  1 when refused (the reply is sent,
 * its result in *rc), 0 to go on.
 */
static int
ftp_xfer_refused(struct ftp_session *s, int *rc)
{
	if (s->xfer != NULL && ftp_data_stale(s->xfer->dc))
		*rc = ftp_reply(s, FTP_NO_DATA_CONN, "PROT changed since "
		    "PASV or PORT: use PASV or PORT again.");
	else if (s->xfer == NULL || !ftp_data_ready(s->xfer->dc))
		*rc = ftp_reply(s, FTP_NO_DATA_CONN, "Use PORT or PASV first.");
	else if (ftp_xfer_clear_data(s))
		*rc = ftp_reply(s, FTP_TLS_DATA_REQUIRED, "Data connections "
		    "must be protected: use PROT P.");
	else
		return 0;
	return 1;
}

/*
 * What the transfer about to start may hold, taken from the session's
 * and the server's budget (--transfer-memory): -1 when either would pass
 * its bound (the 450 reply is sent, its result in *rc).
 */
static int
ftp_xfer_reserve(struct ftp_session *s, enum ftp_data_kind kind, int *rc)
{
	struct ftp_xfer *x = s->xfer;
	size_t n = ftp_data_memory(x->dc, kind);

	if (ftp_budget_take(&s->d->budget, &s->held_bytes, n) == -1) {
		*rc = ftp_reply(s, FTP_FILE_BUSY, "Server busy: too many "
		    "transfers at once, try again later.");
		return -1;
	}
	x->reserved += n;
	return 0;
}

/* The transfer's memory goes back to the budget. */
static void
ftp_xfer_release(struct ftp_session *s)
{
	struct ftp_xfer *x = s->xfer;

	ftp_budget_give(&s->d->budget, &s->held_bytes, x->reserved);
	x->reserved = 0;
}

/*
 * PROT was given: a data connection set up under the other level is
 * dropped now, unused (PROT waits for any transfer to end).
 */
void
ftp_xfer_prot_changed(struct ftp_session *s)
{
	if (s->xfer != NULL && !s->xfer->running)
		(void)ftp_data_stale(s->xfer->dc);
}

/* RETR: a plain file the daemon can read, from REST's offset. */
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
	if (ftp_xfer_reserve(s, s->ascii ? FTP_DATA_TEXT : FTP_DATA_FILE,
	    &rc) == -1) {
		close(fd);
		return rc;
	}
	if (ftp_reply(s, FTP_OPENING_DATA, "Opening %s mode data connection "
	    "for %.512s (%lld bytes).", s->ascii ? "ASCII" : "BINARY", arg,
	    (long long)st.st_size) == -1) {
		close(fd);
		return -1;
	}
	ftp_xfer_start(s, path, 0, 1);
	if (ftp_data_send_file(s->xfer->dc, fd, (off_t)rest, st.st_size,
	    s->ascii) == -1)
		return ftp_xfer_not_started(s);
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
	if (ftp_xfer_reserve(s, FTP_DATA_TEXT, &rc) == -1) {
		ftp_listing_free(l);
		return rc;
	}
	if (ftp_reply(s, FTP_OPENING_DATA, "Here comes the directory "
	    "listing.") == -1) {
		ftp_listing_free(l);
		return -1;
	}
	ftp_xfer_start(s, path, 0, 0);
	if (ftp_data_send_listing(s->xfer->dc, l) == -1)
		return ftp_xfer_not_started(s);
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

/*
 * STOU: the last component of path made up at random until no file in
 * dirfd has that name (100 tries at most).
 */
static void
ftp_xfer_unique(int dirfd, char *path, size_t cap)
{
	char *name = strrchr(path, '/') + 1;
	struct stat st;
	int i;

	for (i = 0; i < 100 && fstatat(dirfd, name, &st,
	    AT_SYMLINK_NOFOLLOW) == 0; i++)
		snprintf(name, cap - (size_t)(name - path), "ftp%08lx",
		    (unsigned long)random());
}

/* The reply to an upload whose file aside could not be made. */
static int
ftp_xfer_store_refused(struct ftp_session *s, const char *arg,
    enum ftp_upload_status st, int err)
{
	switch (st) {
	case FTP_UPLOAD_NOT_PLAIN:
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Not a plain file.",
		    arg);
	case FTP_UPLOAD_NO_RESUME:
		return ftp_reply(s, FTP_FILE_FAIL, "%.512s: Nothing to "
		    "resume.", arg);
	case FTP_UPLOAD_NO_COPY:
		return ftp_reply(s, err == ENOSPC ? FTP_NO_SPACE :
		    FTP_LOCAL_ERROR, "Cannot keep the old data: %s.",
		    strerror(err));
	default:
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
}

/*
 * STOR, APPE, STOU (and REST + STOR): the data go to a file aside
 * (ftp_upload.c), made the file once the client has sent it all.  The
 * file aside is made on the files pool (with the old data for APPE and
 * REST, a copy of any size), the session waiting; its 150 comes after.
 */
static int
ftp_xfer_store(struct ftp_session *s, char *arg, enum ftp_verb verb)
{
	char unique[40];
	off_t rest = (off_t)s->rest;
	struct ftp_commit *c;
	int rc;

	s->rest = 0;
	if (ftp_xfer_refused(s, &rc))
		return rc;
	if (verb == FTP_V_STOU) {
		snprintf(unique, sizeof(unique), "ftp%08lx",
		    (unsigned long)random());
		arg = unique;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	snprintf(c->arg, sizeof(c->arg), "%s", arg);
	c->dirfd = ftp_path_parent(s->rootfd, s->cwd, arg, c->path, &c->name);
	if (c->dirfd == -1) {
		rc = errno;
		free(c);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, rc);
	}
	if (ftp_xfer_reserve(s, s->ascii ? FTP_DATA_TEXT : FTP_DATA_FILE,
	    &rc) == -1) {
		close(c->dirfd);
		free(c);
		return rc;
	}
	if (verb == FTP_V_STOU)
		ftp_xfer_unique(c->dirfd, c->path, sizeof(c->path));
	c->append = verb == FTP_V_APPE;
	c->rest = rest;
	c->verb = verb;
	c->owner = s;
	c->pool = s->d->files;
	c->job.run = ftp_xfer_open_run;
	c->job.done = ftp_xfer_open_done;
	s->xfer->upload = c;
	if (ftp_work_submit(s->d->files, &c->job, 0) == 0) {
		s->xfer->opening = 1;
		s->paused = 1;		/* until ftp_xfer_open_done() */
		return 0;
	}
	if (s->d->files != NULL) {
		s->xfer->upload = NULL;
		ftp_xfer_release(s);
		close(c->dirfd);
		free(c);
		return ftp_reply(s, FTP_FILE_BUSY, "Server busy: try again "
		    "later.");
	}
	ftp_xfer_open_run(&c->job);
	return ftp_xfer_opened(s, c);
}

/* On a worker: the file aside made, the old data copied if asked. */
static void
ftp_xfer_open_run(struct ftp_job *job)
{
	struct ftp_commit *c = (struct ftp_commit *)job;

	c->status = ftp_upload_open(&c->up, c->dirfd, c->name, c->append,
	    c->rest);
	c->err = errno;
}

/* The file aside is made, or could not be: the session goes on. */
static void
ftp_xfer_open_done(struct ftp_job *job)
{
	struct ftp_commit *c = (struct ftp_commit *)job;
	struct ftp_session *s = c->owner;

	if (s == NULL) {
		/* The session ended meanwhile: nothing to keep. */
		if (c->status == FTP_UPLOAD_OK)
			ftp_xfer_discard(c);
		else
			free(c);
		return;
	}
	s->xfer->opening = 0;
	if (ftp_xfer_opened(s, c) == 0)
		ftp_control_wake(s);
}

/*
 * The upload starts with its 150 once its file aside is there, or is
 * refused.  -1: the session is gone.
 */
static int
ftp_xfer_opened(struct ftp_session *s, struct ftp_commit *c)
{
	struct ftp_xfer *x = s->xfer;
	int rc;

	if (c->status != FTP_UPLOAD_OK) {
		x->upload = NULL;
		ftp_xfer_release(s);
		rc = ftp_xfer_store_refused(s, c->arg, c->status, c->err);
		free(c);
		return rc;
	}
	if ((c->verb == FTP_V_STOU ? ftp_reply(s, FTP_OPENING_DATA,
	    "FILE: %s", c->name) : ftp_reply(s, FTP_OPENING_DATA, "Ok to "
	    "send data.")) == -1)
		return -1;
	ftp_xfer_start(s, c->path, 1, 1);
	if (ftp_data_recv_file(x->dc, c->up.fd, s->ascii) == -1) {
		x->upload = NULL;
		ftp_xfer_discard(c);
		return ftp_xfer_not_started(s);
	}
	return 0;
}

/*
 * An upload that will not be kept: its file aside removed on the files
 * pool, or here when there is none.  Takes c.
 */
static void
ftp_xfer_discard(struct ftp_commit *c)
{
	c->owner = NULL;
	c->job.run = ftp_xfer_discard_run;
	c->job.done = ftp_xfer_discard_done;
	if (ftp_work_submit(c->pool, &c->job, FTP_WORK_ALWAYS) == 0)
		return;
	ftp_upload_discard(&c->up);
	free(c);
}

static void
ftp_xfer_discard_run(struct ftp_job *job)
{
	ftp_upload_discard(&((struct ftp_commit *)job)->up);
}

static void
ftp_xfer_discard_done(struct ftp_job *job)
{
	free(job);
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

/*
 * ABOR: 426 for the transfer cut (or the reply of one that had just
 * ended), then 226; 225 when there was none.
 */
int
ftp_xfer_abor(struct ftp_session *s, char *arg)
{
	struct ftp_xfer *x = s->xfer;
	struct ftp_data_result res;
	enum ftp_data_cut cut;

	cut = x == NULL ? FTP_DATA_IDLE : ftp_data_abort(x->dc, &res);
	if (cut == FTP_DATA_ENDED) {
		/* Its end first, as if reported before ABOR came. */
		if (ftp_xfer_ended(s, &res) == -1)
			return -1;
		cut = FTP_DATA_IDLE;
	}
	if (x != NULL && x->committing) {
		ftp_xfer_upload_abandon(s, &res);
		cut = FTP_DATA_CUT;
	}
	if (cut == FTP_DATA_CUT && ftp_xfer_end(s, &res) == -1)
		return -1;
	if (cut == FTP_DATA_CUT)
		return ftp_reply(s, FTP_XFER_DONE, "ABOR successful.");
	return ftp_reply(s, FTP_ABOR_NO_XFER, "No transfer to abort.");
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
	if (addr_same_host(sa, conn_peer(s->c)) &&
	    port >= 1024)
		return 0;
	log_limited(&ftp_xfer_log_port, LOG_WARNING, conn_peer(s->c),
	    "refused a data connection to %s port %u", host, port);
	return -1;
}

/* PASV and PORT are off after EPSV ALL (RFC 2428). */
int
ftp_xfer_pasv(struct ftp_session *s, char *arg)
{
	struct ftp_data *dc;
	char buf[128];

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if ((dc = ftp_xfer_data(s)) == NULL)
		return ftp_reply(s, FTP_NO_DATA_CONN, "Out of memory.");
	if (ftp_data_passive(dc, 0, buf, sizeof(buf)) == -1)
		return ftp_reply(s, FTP_NO_DATA_CONN, "%s", buf);
	return ftp_reply(s, FTP_PASV, "%s", buf);
}

int
ftp_xfer_epsv(struct ftp_session *s, char *arg)
{
	struct ftp_data *dc;
	char buf[128];

	if (arg != NULL && strcasecmp(arg, "ALL") == 0) {
		s->epsv_all = 1;
		return ftp_reply(s, FTP_OK, "EPSV ALL ok.");
	}
	if (arg != NULL && strcmp(arg, "1") != 0 && strcmp(arg, "2") != 0)
		return ftp_reply(s, FTP_BAD_PROTO, "Network protocol not "
		    "supported, use (1,2)");
	if ((dc = ftp_xfer_data(s)) == NULL)
		return ftp_reply(s, FTP_NO_DATA_CONN, "Out of memory.");
	if (ftp_data_passive(dc, 1, buf, sizeof(buf)) == -1)
		return ftp_reply(s, FTP_NO_DATA_CONN, "%s", buf);
	return ftp_reply(s, FTP_EPSV, "%s", buf);
}

int
ftp_xfer_port(struct ftp_session *s, char *arg)
{
	struct ftp_data *dc;
	struct sockaddr_in sin;

	if (s->epsv_all)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "EPSV ALL in effect.");
	if (ftp_port_parse(arg, &sin) == -1)
		return ftp_reply(s, FTP_BAD_ARGS, "Illegal PORT command.");
	if (ftp_xfer_target_ok(s, (struct sockaddr *)&sin) == -1)
		return ftp_reply(s, FTP_BAD_PARAM, "PORT refused: only to "
		    "your own address, port 1024 or above.");
	if ((dc = ftp_xfer_data(s)) == NULL ||
	    ftp_data_active(dc, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_OK, "PORT command successful. Consider "
	    "using PASV.");
}

int
ftp_xfer_eprt(struct ftp_session *s, char *arg)
{
	struct ftp_data *dc;
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
	if ((dc = ftp_xfer_data(s)) == NULL ||
	    ftp_data_active(dc, (struct sockaddr *)&ss, len) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	return ftp_reply(s, FTP_OK, "EPRT command successful.");
}
