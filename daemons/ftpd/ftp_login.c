/* SPDX-License-Identifier: ISC */
/*
 * Logging in: USER and PASS.  Anonymous users get the --root; named users
 * (--users) their home, once the password is checked off the loop.  A
 * failed login is answered only after a delay that grows with the
 * failures from the same address, on a timer: the session waits, nobody
 * else does.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
#include "ftpd.h"
#include "log.h"
#include "server.h"

#define FTP_MAX_FAILURES	3	/* failed logins before we hang up */

static void	ftp_login_delay_cb(evutil_socket_t, short, void *);
static struct ftp_fail *ftp_fail_find(struct ftpd *, const char *, int);
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
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	s->delay_ev = NULL;
	if (s->auth_job != NULL && s->d->auth_cancel != NULL)
		s->d->auth_cancel(s->d, s);
}

/* The delay after a failed login is over: say so, go on reading. */
static void
ftp_login_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_session *s = arg;

	s->paused = 0;
	if (ftp_reply(s, FTP_NOT_LOGGED_IN, "Login incorrect.") == -1)
		return;
	if (s->failures >= FTP_MAX_FAILURES) {
		conn_close_after_flush(s->c, "too many failed logins");
		return;
	}
	ftp_session_resume(s);
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
 * The failure record of an address; with create, a new one (the oldest
 * record makes room).  Records older than FTP_FAILS_FORGET are void.
 */
static struct ftp_fail *
ftp_fail_find(struct ftpd *d, const char *host, int create)
{
	struct ftp_fail *f, *oldest = NULL;
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < FTP_FAILS_MAX; i++) {
		f = &d->fails[i];
		if (f->count != 0 && now - f->last > FTP_FAILS_FORGET)
			f->count = 0;
		if (f->count != 0 && strcmp(f->host, host) == 0)
			return f;
		/* A free slot first, else the one left alone longest. */
		if (oldest == NULL || (oldest->count != 0 && (f->count == 0 ||
		    f->last < oldest->last)))
			oldest = f;
	}
	if (!create)
		return NULL;
	memset(oldest, 0, sizeof(*oldest));
	snprintf(oldest->host, sizeof(oldest->host), "%s", host);
	return oldest;
}

/*
 * Anonymous users get the --root (read-only unless --anon-write); users
 * of --users their home.  An unknown user and a wrong password fail
 * alike (ftp_login_failed).
 */
int
ftp_login_pass(struct ftp_session *s, char *arg)
{
	const struct ftp_user *u = NULL;
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
		log_peer(LOG_INFO, (struct sockaddr *)&s->c->peer,
		    "anonymous login%s", s->may_write ? " (may write)" : "");
		return ftp_reply(s, FTP_LOGGED_IN, "Login successful.");
	}
	s->login = FTP_LOGIN_NONE;
	if (s->d->auth_start != NULL) {
		/* On the worker thread: this session waits, nobody else. */
		s->paused = 1;
		r = s->d->auth_start(s->d, s, s->user, arg != NULL ? arg : "");
		if (arg != NULL)
			explicit_bzero(arg, strlen(arg));
		if (r == -1)
			ftp_login_failed(s);
		return 0;
	}
	r = s->d->cfg.check_user == NULL ? 0 : s->d->cfg.check_user(
	    &s->d->cfg.users, s->user, arg != NULL ? arg : "", &u);
	if (arg != NULL)
		explicit_bzero(arg, strlen(arg));
	if (r == 1)
		return ftp_login_ok(s, u);
	ftp_login_failed(s);
	return 0;
}

/*
 * A failed login: counted for the address, answered after a delay that
 * doubles with each failure from it (up to FTP_FAILS_DELAY_MAX), on a
 * timer: other sessions go on.  The session stays paused until then.
 */
static void
ftp_login_failed(struct ftp_session *s)
{
	struct ftp_fail *f;
	struct timeval delay;
	char shown[FTP_USER_MAX * 4];
	double secs;

	log_escape(shown, sizeof(shown), s->user, strlen(s->user));
	s->login = FTP_LOGIN_NONE;
	s->failures++;
	f = ftp_fail_find(s->d, s->c->host, 1);
	if (f->count < 30)
		f->count++;
	f->last = time(NULL);
	secs = ((double)s->d->cfg.login_delay.tv_sec +
	    (double)s->d->cfg.login_delay.tv_usec / 1e6) *
	    (double)(1U << (f->count - 1 < 16 ? f->count - 1 : 16));
	if (secs > FTP_FAILS_DELAY_MAX)
		secs = FTP_FAILS_DELAY_MAX;
	log_peer(LOG_NOTICE, (struct sockaddr *)&s->c->peer,
	    "failed login as '%s' (%u from this address, %.1f s delay)",
	    shown, f->count, secs);
	delay.tv_sec = (time_t)secs;
	delay.tv_usec = (suseconds_t)((secs - (double)delay.tv_sec) * 1e6);
	s->paused = 1;
	evtimer_add(s->delay_ev, &delay);
}

/*
 * The worker's answer on a password: u is the user, or NULL for a wrong
 * password or an unknown user.  A user whose home cannot be opened fails
 * at once (it is a configuration fault, not a guess).
 */
void
ftp_login_auth_done(struct ftp_session *s, const struct ftp_user *u)
{
	if (u == NULL) {
		ftp_login_failed(s);
		return;
	}
	s->paused = 0;
	if (ftp_login_ok(s, u) == -1)
		return;
	ftp_session_resume(s);
}

/* The right password: into the user's home.  -1: the session is gone. */
static int
ftp_login_ok(struct ftp_session *s, const struct ftp_user *u)
{
	struct ftp_fail *f;
	char shown[FTP_USER_MAX * 4];
	int fd;

	log_escape(shown, sizeof(shown), s->user, strlen(s->user));
	fd = open(u->home, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1) {
		log_peer(LOG_WARNING, (struct sockaddr *)&s->c->peer,
		    "login as '%s': home %s: %s", shown, u->home,
		    strerror(errno));
		return ftp_reply(s, FTP_NOT_LOGGED_IN, "Cannot open your home "
		    "directory.");
	}
	s->login = FTP_LOGIN_DONE;
	s->rootfd = fd;
	s->may_write = u->rw;
	if ((f = ftp_fail_find(s->d, s->c->host, 0)) != NULL)
		f->count = 0;
	log_peer(LOG_INFO, (struct sockaddr *)&s->c->peer, "login as '%s'%s",
	    shown, s->may_write ? " (may write)" : "");
	return ftp_reply(s, FTP_LOGGED_IN, "Login successful.");
}
