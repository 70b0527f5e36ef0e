/* SPDX-License-Identifier: ISC */
/*
 * File commands on the control connection: where the session is (CWD,
 * CDUP, PWD), what a path is (SIZE, MDTM, MLST, STAT PATH) and changes
 * to the tree (MKD, RMD, DELE, RNFR/RNTO, SITE CHMOD).  Every path is
 * resolved against the session's directory and opened beneath its root
 * (ftp_path.c); nothing here follows a symlink out.  DELE's unlink and
 * RNTO's rename run on the files pool (ftp_work.c) while the session
 * waits: either can keep the disk busy for long.
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

#include "ftp_budget.h"
#include "ftp_control.h"
#include "ftp_fs.h"
#include "ftp_list.h"
#include "ftp_path.h"
#include "ftp_session.h"
#include "ftp_work.h"
#include "ftpd.h"
#include "log.h"
#include "server.h"

#define FTP_STAT_MAX		(64 * 1024)	/* STAT PATH text at most */
/* What a STAT reply holds: its text, and the listing's batch of names. */
#define FTP_STAT_RESERVE	(FTP_STAT_MAX + FTP_LIST_LINE_MAX + \
				    FTP_LIST_BATCH * 48)

/*
 * A DELE or RNTO on the files pool.  The worker touches only what the
 * job holds: the directories open beneath the root and the names in them.
 */
struct ftp_fs_job {
	struct ftp_job		 job;		/* first: the pool's handle */
	struct ftp_session	*s;		/* NULL once it has ended */
	int			 rename;	/* RNTO; else DELE */
	int			 fdir;		/* DELE's, RNTO's from */
	int			 tdir;		/* RNTO's to */
	const char		*fname;		/* in fpath */
	const char		*tname;		/* in tpath */
	char			 fpath[FTP_PATH_MAX + 1];
	char			 tpath[FTP_PATH_MAX + 1];
	char			 arg[FTP_PATH_MAX + 1];	/* for the reply */
	int			 r;		/* the answer, and its errno */
	int			 err;
};

static int	ftp_fs_chmod(struct ftp_session *, char *);
static void	ftp_fs_stat_done(struct ftp_session *);
static int	ftp_fs_submit(struct ftp_session *, struct ftp_fs_job *);
static void	ftp_fs_job_run(struct ftp_job *);
static void	ftp_fs_job_done(struct ftp_job *);
static int	ftp_fs_job_reply(struct ftp_session *, struct ftp_fs_job *);
static void	ftp_fs_job_free(struct ftp_fs_job *);
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

/*
 * DELE: the unlink on the files pool (freeing a big file's blocks can
 * take the disk a while), the session waiting.
 */
int
ftp_fs_dele(struct ftp_session *s, char *arg)
{
	struct ftp_fs_job *j;
	struct stat st;
	int err;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	j->tdir = -1;
	snprintf(j->arg, sizeof(j->arg), "%s", arg);
	if ((j->fdir = ftp_fs_parent(s, arg, j->fpath, &j->fname)) == -1) {
		err = errno;
		free(j);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
	if (fstatat(j->fdir, j->fname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		ftp_fs_job_free(j);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, EISDIR);
	}
	return ftp_fs_submit(s, j);
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

/* RNTO: the rename on the files pool, as DELE's unlink. */
int
ftp_fs_rnto(struct ftp_session *s, char *arg)
{
	struct ftp_fs_job *j;
	int err;

	/* ftp_session_run() has seen RNFR's path in s->rnfr. */
	if (s->rnfr == NULL)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "RNFR required first.");
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	j->rename = 1;
	j->tdir = -1;
	snprintf(j->arg, sizeof(j->arg), "%s", arg);
	j->fdir = ftp_fs_parent(s, s->rnfr, j->fpath, &j->fname);
	free(s->rnfr);
	s->rnfr = NULL;
	if (j->fdir == -1 ||
	    (j->tdir = ftp_fs_parent(s, arg, j->tpath, &j->tname)) == -1) {
		err = errno;
		ftp_fs_job_free(j);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, err);
	}
	return ftp_fs_submit(s, j);
}

/*
 * A DELE or RNTO goes to the files pool and the session waits for its
 * answer; without a pool (no writing configured) it runs here.
 */
static int
ftp_fs_submit(struct ftp_session *s, struct ftp_fs_job *j)
{
	j->job.run = ftp_fs_job_run;
	j->job.done = ftp_fs_job_done;
	j->s = s;
	if (ftp_work_submit(s->d->files, &j->job, 0) == 0) {
		s->fs_job = j;
		s->paused = 1;
		return 0;
	}
	if (s->d->files != NULL) {
		ftp_fs_job_free(j);
		return ftp_reply(s, FTP_FILE_BUSY, "Server busy: try again "
		    "later.");
	}
	ftp_fs_job_run(&j->job);
	return ftp_fs_job_reply(s, j);
}

/* On a worker: the unlink or the rename, nothing else. */
static void
ftp_fs_job_run(struct ftp_job *job)
{
	struct ftp_fs_job *j = (struct ftp_fs_job *)job;

	if (j->rename)
		j->r = renameat(j->fdir, j->fname, j->tdir, j->tname);
	else
		j->r = unlinkat(j->fdir, j->fname, 0);
	j->err = errno;
}

/* The answer, in the loop: for the session, if it is still there. */
static void
ftp_fs_job_done(struct ftp_job *job)
{
	struct ftp_fs_job *j = (struct ftp_fs_job *)job;
	struct ftp_session *s = j->s;

	if (s == NULL) {
		ftp_fs_job_free(j);
		return;
	}
	s->fs_job = NULL;
	if (ftp_fs_job_reply(s, j) == 0)
		ftp_control_wake(s);
}

/* The reply to a DELE or RNTO done; takes j.  -1: the session is gone. */
static int
ftp_fs_job_reply(struct ftp_session *s, struct ftp_fs_job *j)
{
	int r;

	if (j->r == -1)
		r = ftp_reply_errno(s, FTP_FILE_FAIL, j->arg, j->err);
	else if (j->rename)
		r = ftp_reply(s, FTP_FILE_OK, "Rename successful.");
	else {
		log_peer(LOG_INFO, conn_peer(s->c), "%s deleted %s", s->user,
		    j->fpath);
		r = ftp_reply(s, FTP_FILE_OK, "Delete operation successful.");
	}
	ftp_fs_job_free(j);
	return r;
}

static void
ftp_fs_job_free(struct ftp_fs_job *j)
{
	if (j->fdir != -1)
		close(j->fdir);
	if (j->tdir != -1)
		close(j->tdir);
	free(j);
}

/* The session ends: its DELE or RNTO is taken back, or left to finish. */
void
ftp_fs_end(struct ftp_session *s)
{
	struct ftp_fs_job *j = s->fs_job;

	if (j == NULL)
		return;
	if (ftp_work_cancel(s->d->files, &j->job))
		ftp_fs_job_free(j);
	else
		j->s = NULL;	/* freed by its done() */
	s->fs_job = NULL;
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
 * STAT PATH: its listing on the control connection: what one batch of
 * the listing gives, about FTP_STAT_MAX bytes of it, so that the work
 * and the reply are bounded whatever the directory (LIST shows it all);
 * ls options before the path are skipped.  The reply's memory is taken
 * from the budget until the client has read it (ftp_session_drained).
 */
int
ftp_fs_stat(struct ftp_session *s, char *arg)
{
	char path[FTP_PATH_MAX + 1];
	struct ftp_listing *l;
	struct evbuffer *b;
	int r;

	arg = ftp_list_skip_options(arg);
	if (ftp_path_resolve(s->cwd, arg, path, sizeof(path)) == -1)
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg, errno);
	if (ftp_budget_take(&s->d->budget, &s->held_bytes,
	    FTP_STAT_RESERVE) == -1)
		return ftp_reply(s, FTP_LOCAL_ERROR, "Server busy: try STAT "
		    "later.");
	s->reply_bytes += FTP_STAT_RESERVE;
	if ((l = ftp_listing_open(s->rootfd, path, arg, FTP_LIST_LONG,
	    s->facts, s->may_write)) == NULL) {
		r = errno;
		ftp_fs_stat_done(s);
		return ftp_reply_errno(s, FTP_FILE_FAIL, arg != NULL ? arg :
		    s->cwd, r);
	}
	if ((b = evbuffer_new()) == NULL) {
		ftp_listing_free(l);
		ftp_fs_stat_done(s);
		return ftp_reply(s, FTP_LOCAL_ERROR, "Out of memory.");
	}
	evbuffer_add_printf(b, "213-Status of %s:\r\n", path);
	r = ftp_listing_fill(l, b, FTP_STAT_MAX);
	ftp_listing_free(l);
	if (r == 0)
		evbuffer_add_printf(b, " (the rest is not shown here: LIST "
		    "shows it all)\r\n");
	evbuffer_add_printf(b, "213 End of status\r\n");
	if (ftp_reply_buffer(s, b) == -1)
		return -1;
	ftp_fs_stat_done(s);
	return 0;
}

/* The STAT reply's memory goes back at once if it is all sent. */
static void
ftp_fs_stat_done(struct ftp_session *s)
{
	if (conn_output_len(s->c) > 0)
		return;		/* ftp_session_drained() gives it back */
	ftp_budget_give(&s->d->budget, &s->held_bytes, s->reply_bytes);
	s->reply_bytes = 0;
}
