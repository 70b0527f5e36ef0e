/* SPDX-License-Identifier: ISC */
/*
 * Password checks off the event loop.  A yescrypt check costs about 20 ms
 * of CPU by design; done in the loop, a stream of login attempts would
 * stall every transfer.  So one worker thread does them, in order: the
 * loop queues a job (name, password, session) and goes on; the worker
 * hashes, then writes the job's address to a pipe the loop watches, and
 * the loop hands the result to the session.  A session that ends first
 * leaves its job behind, marked as nobody's.  The worker touches only the
 * job and the users table, which nobody changes after start-up.
 */
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "ftp_auth.h"
#include "ftp_login.h"
#include "ftp_session.h"
#include "ftp_upload.h"
#include "ftp_xfer.h"
#include "ftp_users.h"
#include "ftpd.h"
#include "log.h"

#define FTP_AUTH_QUEUE_MAX	256	/* jobs waiting at most */

struct ftp_auth_job {
	struct ftp_commit	*commit;	/* an upload's end, or NULL */
	struct ftp_session	*s;		/* NULL once the session ended */
	char			 name[FTP_USER_MAX];
	char			*password;
	const struct ftp_user	*user;		/* the worker's answer */
	TAILQ_ENTRY(ftp_auth_job) entry;
};

TAILQ_HEAD(ftp_auth_jobs, ftp_auth_job);

struct ftp_auth {
	struct ftpd		*d;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct ftp_auth_jobs	 todo;		/* under mu */
	size_t			 ntodo;
	int			 stop;		/* under mu */
	int			 pipe[2];	/* worker -> loop: job pointers */
	struct event		*ev;
};

static void	*ftp_auth_main(void *);
static void	 ftp_auth_done_cb(evutil_socket_t, short, void *);
static void	 ftp_auth_job_free(struct ftp_auth_job *);

static void
ftp_auth_job_free(struct ftp_auth_job *j)
{
	if (j->password != NULL) {
		explicit_bzero(j->password, strlen(j->password));
		free(j->password);
	}
	free(j);
}

/* The worker: one job at a time until told to stop. */
static void *
ftp_auth_main(void *arg)
{
	struct ftp_auth *a = arg;
	struct ftp_auth_job *j;
	const struct ftp_user *u;
	ssize_t n;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->stop && TAILQ_EMPTY(&a->todo))
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->stop)
			break;
		j = TAILQ_FIRST(&a->todo);
		TAILQ_REMOVE(&a->todo, j, entry);
		a->ntodo--;
		pthread_mutex_unlock(&a->mu);
		if (j->commit != NULL)
			ftp_upload_commit(&j->commit->up);
		else {
			if (ftp_users_check(&a->d->cfg.users, j->name,
			    j->password, &u) != 1)
				u = NULL;
			explicit_bzero(j->password, strlen(j->password));
			j->user = u;
		}
		/* A pointer is less than PIPE_BUF: the write is whole. */
		do
			n = write(a->pipe[1], &j, sizeof(j));
		while (n == -1 && errno == EINTR);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Results from the worker: each to its session, if it is still there. */
static void
ftp_auth_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_auth *a = arg;
	struct ftp_auth_job *j;
	struct ftp_session *s;

	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		if (j->commit != NULL) {
			ftp_xfer_commit_done(j->commit);
			ftp_auth_job_free(j);
			continue;
		}
		pthread_mutex_lock(&a->mu);
		s = j->s;
		pthread_mutex_unlock(&a->mu);
		if (s != NULL) {
			s->auth_job = NULL;
			ftp_login_auth_done(s, j->user);
		}
		ftp_auth_job_free(j);
	}
}

/* Starts the worker; NULL (errno set) if it cannot. */
struct ftp_auth *
ftp_auth_new(struct ftpd *d)
{
	struct ftp_auth *a;
	sigset_t all, old;
	int r;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->d = d;
	TAILQ_INIT(&a->todo);
	a->pipe[0] = a->pipe[1] = -1;
	if (pipe2(a->pipe, O_CLOEXEC) == -1 ||
	    fcntl(a->pipe[0], F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	if ((a->ev = event_new(d->base, a->pipe[0], EV_READ | EV_PERSIST,
	    ftp_auth_done_cb, a)) == NULL || event_add(a->ev, NULL) == -1)
		goto fail;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	/* Signals are the loop's business, never the worker's. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&a->thread, NULL, ftp_auth_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		errno = r;
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		goto fail;
	}
	return a;
fail:
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->pipe[0] != -1)
		close(a->pipe[0]);
	if (a->pipe[1] != -1)
		close(a->pipe[1]);
	free(a);
	return NULL;
}

/*
 * Queues the check of name and password for s; its result comes later,
 * through ftp_login_auth_done().  -1 when the queue is full or memory
 * short: the caller fails the login at once.
 */
int
ftp_auth_start(struct ftpd *d, struct ftp_session *s, const char *name,
    const char *password)
{
	struct ftp_auth *a = d->auth;
	struct ftp_auth_job *j;

	if (a == NULL || strlen(name) >= sizeof(j->name))
		return -1;
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	if ((j->password = strdup(password)) == NULL) {
		free(j);
		return -1;
	}
	strcpy(j->name, name);
	j->s = s;
	pthread_mutex_lock(&a->mu);
	if (a->ntodo >= FTP_AUTH_QUEUE_MAX) {
		pthread_mutex_unlock(&a->mu);
		ftp_auth_job_free(j);
		return -1;
	}
	TAILQ_INSERT_TAIL(&a->todo, j, entry);
	a->ntodo++;
	s->auth_job = j;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/*
 * Queues an upload's commit (fsync and rename) for the worker; the result
 * comes back through ftp_xfer_commit_done().  -1: do it in the loop.
 */
int
ftp_auth_commit(struct ftpd *d, struct ftp_commit *c)
{
	struct ftp_auth *a = d->auth;
	struct ftp_auth_job *j;

	if (a == NULL || (j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->commit = c;
	pthread_mutex_lock(&a->mu);
	/* Uploads are never refused for a full queue: they are done. */
	TAILQ_INSERT_TAIL(&a->todo, j, entry);
	a->ntodo++;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	return 0;
}

/* The session ends: its job, waiting or running, is nobody's now. */
void
ftp_auth_cancel(struct ftpd *d, struct ftp_session *s)
{
	struct ftp_auth *a = d->auth;
	struct ftp_auth_job *j = s->auth_job, *t;

	if (a == NULL || j == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	TAILQ_FOREACH(t, &a->todo, entry)
		if (t == j)
			break;
	if (t != NULL) {
		TAILQ_REMOVE(&a->todo, j, entry);
		a->ntodo--;
		ftp_auth_job_free(j);
	} else
		j->s = NULL;	/* freed when its result is read */
	pthread_mutex_unlock(&a->mu);
	s->auth_job = NULL;
}

/* Stops the worker and frees what is left. */
void
ftp_auth_free(struct ftp_auth *a)
{
	struct ftp_auth_job *j;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = 1;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	while ((j = TAILQ_FIRST(&a->todo)) != NULL) {
		TAILQ_REMOVE(&a->todo, j, entry);
		if (j->commit != NULL) {
			/* A whole upload is still kept. */
			ftp_upload_commit(&j->commit->up);
			ftp_xfer_commit_done(j->commit);
		}
		ftp_auth_job_free(j);
	}
	while (read(a->pipe[0], &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		if (j->commit != NULL)
			ftp_xfer_commit_done(j->commit);
		ftp_auth_job_free(j);
	}
	event_free(a->ev);
	close(a->pipe[0]);
	close(a->pipe[1]);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}
