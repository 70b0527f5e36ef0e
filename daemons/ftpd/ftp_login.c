/* SPDX-License-Identifier: ISC */
/*
 * Logging in: USER and PASS.  Anonymous users get the --root; named users
 * (--users) their home, once the password is checked on a worker thread
 * (ftp_work.c): a hash costs milliseconds by design, which the loop must
 * not spend.  A failed login is answered only after a delay that grows
 * with the failures from the same address and as the same name
 * (ftp_throttle.c), on a timer: the session waits, nobody else does.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "ftp_control.h"
#include "ftp_login.h"
#include "ftp_session.h"
#include "ftp_throttle.h"
#include "ftp_work.h"
#include "ftpd.h"
#include "log.h"
#include "server.h"

#define FTP_MAX_FAILURES	3	/* failed logins before we hang up */

/* A password to check on a worker: the job owns a copy of what it needs. */
struct ftp_login_job {
	struct ftp_job		 job;		/* first: the pool's handle */
	struct ftp_session	*s;		/* NULL once it has ended */
	struct ftp_users	*users;		/* a reference: a reload may come */
	int			(*check)(const struct ftp_users *,
				    const char *, const char *,
				    const struct ftp_user **);
	char			 name[FTP_USER_MAX];
	char			*password;
	const struct ftp_user	*user;		/* the answer: NULL, wrong */
};

/* Failed logins: each one delayed, but many sessions can fail at once. */
static struct log_limit ftp_login_log_failed =
    LOG_LIMIT("failed logins", 20);

static void	ftp_login_delay_cb(evutil_socket_t, short, void *);
static int	ftp_login_check(struct ftp_session *, const char *);
static void	ftp_login_job_run(struct ftp_job *);
static void	ftp_login_job_done(struct ftp_job *);
static void	ftp_login_job_free(struct ftp_login_job *);
static void	ftp_login_failed(struct ftp_session *);
static int	ftp_login_ok(struct ftp_session *, const struct ftp_user *);

/* A new session's login state: the timer of the failed-login delay. */
int
ftp_login_init(struct ftp_session *s)
{
	s->delay_ev = evtimer_new(s->d->base, ftp_login_delay_cb, s);
	return s->delay_ev == NULL ? -1 : 0;
}

/* The session ends: its timer goes, its password check is nobody's. */
void
ftp_login_end(struct ftp_session *s)
{
	struct ftp_login_job *j = s->auth_job;

	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	s->delay_ev = NULL;
	if (j == NULL)
		return;
	if (ftp_work_cancel(s->d->work, &j->job))
		ftp_login_job_free(j);
	else
		j->s = NULL;	/* freed when its answer comes */
	s->auth_job = NULL;
}

/* The delay after a failed login is over: say so, go on reading. */
static void
ftp_login_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	if (ftp_reply(s, FTP_NOT_LOGGED_IN, "Login incorrect.") == -1)
		return;
	if (s->failures >= FTP_MAX_FAILURES) {
		conn_close_after_flush(s->c, "too many failed logins");
		return;
	}
	ftp_control_wake(s);
}

int
ftp_login_user(struct ftp_session *s, char *arg)
{
	if (s->login == FTP_LOGIN_DONE)
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Can't change to "
		    "another user.");
	if (strlen(arg) >= sizeof(s->user))
		return ftp_reply(s, FTP_BAD_ARGS, "User name too long.");
	if (s->d->cfg.require_tls && !s->tls &&
	    strcasecmp(arg, "anonymous") != 0 && strcasecmp(arg, "ftp") != 0)
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "TLS required: send "
		    "AUTH TLS before logging in.");
	strcpy(s->user, arg);
	s->anonymous = strcasecmp(arg, "anonymous") == 0 ||
	    strcasecmp(arg, "ftp") == 0;
	s->login = FTP_LOGIN_USER;
	return ftp_reply(s, FTP_NEED_PASS, "Please specify the password.");
}

/*
 * Anonymous users get the --root (read-only unless --anon-write); users
 * of --users their home.  An unknown user and a wrong password fail
 * alike (ftp_login_failed).
 */
int
ftp_login_pass(struct ftp_session *s, char *arg)
{
	int r;

	if (s->login == FTP_LOGIN_DONE)
		return ftp_reply(s, FTP_LOGGED_IN, "Already logged in.");
	if (s->login != FTP_LOGIN_USER)
		return ftp_reply(s, FTP_BAD_SEQUENCE, "Login with USER first.");
	if (s->anonymous) {
		s->login = FTP_LOGIN_DONE;
		s->rootfd = s->d->cfg.rootfd;
		s->may_write = s->d->cfg.anon_write;
		strcpy(s->user, "anonymous");
		log_peer(LOG_INFO, conn_peer(s->c),
		    "anonymous login%s", s->may_write ? " (may write)" : "");
		return ftp_reply(s, FTP_LOGGED_IN, "Login successful.");
	}
	s->login = FTP_LOGIN_NONE;
	r = ftp_login_check(s, arg != NULL ? arg : "");
	if (arg != NULL)
		explicit_bzero(arg, strlen(arg));
	return r;
}

/*
 * Checks the password: on a worker when there is one (this session waits
 * for ftp_login_job_done(), nobody else does), else here.
 */
static int
ftp_login_check(struct ftp_session *s, const char *password)
{
	const struct ftp_user *u = NULL;
	struct ftp_login_job *j;
	int (*check)(const struct ftp_users *, const char *, const char *,
	    const struct ftp_user **) = s->d->cfg.check_user;

	if (s->d->work == NULL) {
		if (check != NULL && check(s->d->cfg.users, s->user,
		    password, &u) == 1)
			return ftp_login_ok(s, u);
		ftp_login_failed(s);
		return 0;
	}
	s->paused = 1;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->password = strdup(password)) == NULL) {
		free(j);
		ftp_login_failed(s);
		return 0;
	}
	j->job.run = ftp_login_job_run;
	j->job.done = ftp_login_job_done;
	j->s = s;
	j->users = ftp_users_ref(s->d->cfg.users);
	j->check = check;
	strcpy(j->name, s->user);
	if (ftp_work_submit(s->d->work, &j->job, 0) == -1) {
		/* Too many checks waiting: this one fails at once. */
		ftp_login_job_free(j);
		ftp_login_failed(s);
		return 0;
	}
	s->auth_job = j;
	return 0;
}

/* On the worker: the hash, and the password forgotten. */
static void
ftp_login_job_run(struct ftp_job *job)
{
	struct ftp_login_job *j = (struct ftp_login_job *)job;
	const struct ftp_user *u = NULL;

	if (j->check == NULL || j->check(j->users, j->name, j->password,
	    &u) != 1)
		u = NULL;
	explicit_bzero(j->password, strlen(j->password));
	j->user = u;
}

/*
 * In the loop: the answer for the session, if it is still there.  A user
 * whose home cannot be opened fails at once (a configuration fault, not
 * a guess).
 */
static void
ftp_login_job_done(struct ftp_job *job)
{
	struct ftp_login_job *j = (struct ftp_login_job *)job;
	struct ftp_session *s = j->s;
	const struct ftp_user *u = j->user;

	/* u lives in j's table: the job goes only once it is used. */
	if (s != NULL) {
		s->auth_job = NULL;
		if (u == NULL)
			ftp_login_failed(s);
		else if (ftp_login_ok(s, u) == 0)
			ftp_control_wake(s);
	}
	ftp_login_job_free(j);
}

static void
ftp_login_job_free(struct ftp_login_job *j)
{
	ftp_users_unref(j->users);
	if (j->password != NULL) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j);
}

/*
 * A failed login: counted for the address and for the name, and answered
 * after a delay that doubles with each failure of either (ftp_throttle.c),
 * on a timer.  The session stays paused until then.
 */
static void
ftp_login_failed(struct ftp_session *s)
{
	struct ftp_throttle_counts counts;
	struct timeval delay;
	char shown[FTP_USER_MAX * 4];
	double secs;

	log_escape(shown, sizeof(shown), s->user, strlen(s->user));
	s->login = FTP_LOGIN_NONE;
	s->failures++;
	secs = ftp_throttle_fail(&s->d->throttle, conn_host(s->c), s->user,
	    time(NULL), (double)s->d->cfg.login_delay.tv_sec +
	    (double)s->d->cfg.login_delay.tv_usec / 1e6, &counts);
	log_limited(&ftp_login_log_failed, LOG_NOTICE, conn_peer(s->c),
	    "failed login as '%s' (%u from this address, %u as this name, "
	    "%.1f s delay)", shown, counts.host, counts.name, secs);
	delay.tv_sec = (time_t)secs;
	delay.tv_usec = (suseconds_t)((secs - (double)delay.tv_sec) * 1e6);
	s->paused = 1;
	evtimer_add(s->delay_ev, &delay);
}

/* The right password: into the user's home.  -1: the session is gone. */
static int
ftp_login_ok(struct ftp_session *s, const struct ftp_user *u)
{
	char shown[FTP_USER_MAX * 4];
	int fd;

	log_escape(shown, sizeof(shown), s->user, strlen(s->user));
	fd = open(u->home, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		log_peer(LOG_WARNING, conn_peer(s->c),
		    "login as '%s': home %s: %s", shown, u->home,
		    strerror(errno));
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Cannot open your home "
		    "directory.");
	}
	s->login = FTP_LOGIN_DONE;
	s->rootfd = fd;
	s->may_write = u->rw;
	ftp_throttle_forgive(&s->d->throttle, s->user, time(NULL));
	log_peer(LOG_INFO, conn_peer(s->c), "login as '%s'%s",
	    shown, s->may_write ? " (may write)" : "");
	return ftp_reply(s, FTP_LOGGED_IN, "Login successful.");
}
