/* SPDX-License-Identifier: ISC */
/*
 * Blocking work off the event loop.  A yescrypt check costs about 20 ms of
 * CPU by design, an fsync or the copy behind APPE can wait on the disk for
 * seconds, and TLS costs CPU in proportion to the bytes; done in the loop,
 * any of them would stall every other client.  So worker threads do such
 * jobs, in order: the loop queues a job and goes on; a worker runs it,
 * then writes the job's address to a pipe the loop watches, and the loop
 * calls the job's done().  The workers touch nothing but the queue (under
 * the mutex) and the job they run.  Each pool's threads carry its name
 * (ps -L, top -H show what they do).
 */
#include <sys/queue.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "ftp_work.h"

TAILQ_HEAD(ftp_jobs, ftp_job);

struct ftp_work {
	pthread_t		*threads;
	unsigned		 nthreads;	/* started */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct ftp_jobs		 todo;		/* under mu */
	size_t			 ntodo;		/* under mu */
	size_t			 max;		/* jobs waiting at most */
	int			 nice;		/* of each worker */
	int			 stop;		/* under mu */
	int			 pipe[2];	/* workers -> loop: jobs done */
	struct event		*ev;
};

static void	*ftp_work_main(void *);
static void	 ftp_work_done_cb(evutil_socket_t, short, void *);
static int	 ftp_work_start(struct ftp_work *, unsigned, const char *);
static void	 ftp_work_stop(struct ftp_work *);

/* A worker: one job at a time until told to stop. */
static void *
ftp_work_main(void *arg)
{
	struct ftp_work *w = arg;
	struct ftp_job *j;
	ssize_t n;

	/* Bulk work yields to the loop, which must answer at once. */
	if (w->nice != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)gettid(), w->nice);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && TAILQ_EMPTY(&w->todo))
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = TAILQ_FIRST(&w->todo);
		TAILQ_REMOVE(&w->todo, j, entry);
		w->ntodo--;
		j->queued = 0;
		pthread_mutex_unlock(&w->mu);
		j->run(j);
		/* A pointer is less than PIPE_BUF: the write is whole. */
		do
			n = write(w->pipe[1], &j, sizeof(j));
		while (n == -1 && errno == EINTR);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Jobs done by the workers: each back to its owner, in the loop. */
static void
ftp_work_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_job *j;

	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j))
		j->done(j);
}

/*
 * Starts n workers named name, with every signal blocked: signals are the
 * loop's.
 */
static int
ftp_work_start(struct ftp_work *w, unsigned n, const char *name)
{
	sigset_t all, old;
	unsigned i;
	int r = 0;

	if ((w->threads = calloc(n, sizeof(*w->threads))) == NULL)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < n && r == 0; i++)
		if ((r = pthread_create(&w->threads[i], NULL, ftp_work_main,
		    w)) == 0) {
			(void)pthread_setname_np(w->threads[i], name);
			w->nthreads++;
		}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		errno = r;
	return r == 0 ? 0 : -1;
}

/* Tells the workers to stop and waits for them. */
static void
ftp_work_stop(struct ftp_work *w)
{
	unsigned i;

	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	w->nthreads = 0;
}

/*
 * A pool of n worker threads named name (at most 15 bytes), at niceness
 * nice (0: as the loop; more: they give way to it), whose results come
 * back in base's loop, with at most max jobs waiting.  NULL (errno set)
 * if it cannot start.
 */
struct ftp_work *
ftp_work_new(struct event_base *base, unsigned n, size_t max,
    const char *name, int nice)
{
	struct ftp_work *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	TAILQ_INIT(&w->todo);
	w->max = max;
	w->nice = nice;
	w->pipe[0] = w->pipe[1] = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if (pipe2(w->pipe, O_CLOEXEC) == -1 ||
	    fcntl(w->pipe[0], F_SETFL, O_NONBLOCK) == -1 ||
	    (w->ev = event_new(base, w->pipe[0], EV_READ | EV_PERSIST,
	    ftp_work_done_cb, w)) == NULL || event_add(w->ev, NULL) == -1 ||
	    ftp_work_start(w, n, name) == -1) {
		ftp_work_free(w);
		return NULL;
	}
	return w;
}

/*
 * Queues a job for the workers; its done() comes later, in the loop.  -1
 * when the queue is full (unless FTP_WORK_ALWAYS) or there is no pool:
 * the job is still the caller's.
 */
int
ftp_work_submit(struct ftp_work *w, struct ftp_job *j, int flags)
{
	if (w == NULL)
		return -1;
	pthread_mutex_lock(&w->mu);
	if (w->ntodo >= w->max && !(flags & FTP_WORK_ALWAYS)) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	TAILQ_INSERT_TAIL(&w->todo, j, entry);
	w->ntodo++;
	j->queued = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

/*
 * Takes back a job not started yet: 1, and it is the caller's again (its
 * done() will not come).  0 when it runs or has run: done() still comes,
 * so the caller must leave the job to it.
 */
int
ftp_work_cancel(struct ftp_work *w, struct ftp_job *j)
{
	int taken = 0;

	pthread_mutex_lock(&w->mu);
	if (j->queued) {
		TAILQ_REMOVE(&w->todo, j, entry);
		w->ntodo--;
		j->queued = 0;
		taken = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return taken;
}

/*
 * Stops the workers; every job submitted and not taken back still ends
 * with its done(): the waiting ones are run here first (an upload whose
 * data are all in is still kept).
 */
void
ftp_work_free(struct ftp_work *w)
{
	struct ftp_job *j;

	if (w == NULL)
		return;
	ftp_work_stop(w);
	while ((j = TAILQ_FIRST(&w->todo)) != NULL) {
		TAILQ_REMOVE(&w->todo, j, entry);
		j->queued = 0;
		j->run(j);
		j->done(j);
	}
	if (w->pipe[0] != -1)
		ftp_work_done_cb(w->pipe[0], EV_READ, w);
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->pipe[0] != -1)
		close(w->pipe[0]);
	if (w->pipe[1] != -1)
		close(w->pipe[1]);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
}
