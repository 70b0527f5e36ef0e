/* SPDX-License-Identifier: ISC */
/*
 * The same bytes to every client at once (clockd's tick).  Nearly all of
 * that time is the kernel's loopback/TCP path of one send(2) per client, so
 * with many clients a helper thread takes half of the sockets while the
 * loop's thread does the other half: the last client hears the tick about
 * twice as soon.  The helper only calls send(2) on descriptors that the
 * loop's thread keeps open until both halves are done; everything else
 * (queueing a remainder, closing on an error, counting) happens on the
 * loop's thread afterwards, through the ordinary server calls.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fanout.h"
#include "log.h"
#include "server.h"

#define FANOUT_NOT_SENT	(-SSIZE_MAX - 1)	/* queued output: conn_send */

struct fanout_item {
	struct conn	*c;
	int		 fd;
	ssize_t		 res;		/* bytes sent, -errno, or NOT_SENT */
};

struct fanout {
	struct fanout_item	*items;
	size_t			 cap;
	size_t			 min_split;	/* clients before the helper helps */
	int			 started;
	pthread_t		 thread;
	pthread_mutex_t		 mu;
	pthread_cond_t		 go, done;
	unsigned long		 job, finished;
	int			 quit;
	/* The helper's share of the current job. */
	const char		*buf;
	size_t			 len, from, to;
};

static void	*fanout_main(void *);
static void	 fanout_range(struct fanout_item *, size_t, size_t,
		    const char *, size_t);

static void
fanout_range(struct fanout_item *items, size_t from, size_t to,
    const char *buf, size_t len)
{
	size_t i;
	ssize_t n;

	for (i = from; i < to; i++) {
		if (items[i].res == FANOUT_NOT_SENT)
			continue;
		n = send(items[i].fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		items[i].res = n == -1 ? -(ssize_t)errno : n;
	}
}

static void *
fanout_main(void *arg)
{
	struct fanout *f = arg;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->job == f->finished && !f->quit)
			pthread_cond_wait(&f->go, &f->mu);
		if (f->quit)
			break;
		pthread_mutex_unlock(&f->mu);
		fanout_range(f->items, f->from, f->to, f->buf, f->len);
		pthread_mutex_lock(&f->mu);
		f->finished = f->job;
		pthread_cond_signal(&f->done);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

/*
 * min_split: from how many clients on the helper thread takes half.  If
 * the thread cannot be started, every send is made on the loop's thread.
 */
struct fanout *
fanout_new(int min_split)
{
	struct fanout *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->min_split = min_split > 2 ? (size_t)min_split : 2;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->go, NULL);
	pthread_cond_init(&f->done, NULL);
	if (pthread_create(&f->thread, NULL, fanout_main, f) == 0)
		f->started = 1;
	else
		log_warnx("fanout: no helper thread; sending from one thread");
	return f;
}

void
fanout_free(struct fanout *f)
{
	if (f == NULL)
		return;
	if (f->started) {
		pthread_mutex_lock(&f->mu);
		f->quit = 1;
		pthread_cond_signal(&f->go);
		pthread_mutex_unlock(&f->mu);
		pthread_join(f->thread, NULL);
	}
	pthread_cond_destroy(&f->go);
	pthread_cond_destroy(&f->done);
	pthread_mutex_destroy(&f->mu);
	free(f->items);
	free(f);
}

/*
 * Sends buf to every client that is not closing.  A client with output
 * already queued, a short send or EAGAIN goes through conn_send(), which
 * queues and enforces the output bound; an error closes that client.
 */
void
fanout_send(struct fanout *f, struct server *srv, const void *buf, size_t len)
{
	const struct server_stats *st = server_stats(srv);
	struct fanout_item *items;
	struct conn *c;
	size_t n = 0, i, half;
	ssize_t r;

	if (st->clients > f->cap) {
		size_t cap = st->clients + st->clients / 4 + 16;

		if ((items = reallocarray(f->items, cap, sizeof(*items))) ==
		    NULL)
			goto fallback;
		f->items = items;
		f->cap = cap;
	}
	items = f->items;
	for (c = server_first(srv); c != NULL && n < f->cap;
	    c = server_next(c)) {
		if (conn_closing(c))
			continue;
		items[n].c = c;
		items[n].fd = conn_send_fd(c);
		items[n].res = items[n].fd != -1 ? 0 : FANOUT_NOT_SENT;
		n++;
	}
	half = n >= f->min_split && f->started ? n / 2 : n;
	if (half < n) {
		pthread_mutex_lock(&f->mu);
		f->buf = buf;
		f->len = len;
		f->from = half;
		f->to = n;
		f->job++;
		pthread_cond_signal(&f->go);
		pthread_mutex_unlock(&f->mu);
	}
	fanout_range(items, 0, half, buf, len);
	if (half < n) {
		pthread_mutex_lock(&f->mu);
		while (f->finished != f->job)
			pthread_cond_wait(&f->done, &f->mu);
		pthread_mutex_unlock(&f->mu);
	}
	/*
	 * Back on the loop's thread alone: settle every client's outcome.
	 * Held, so that a client closed on the way (a daemon's closed()
	 * may write to others) is skipped, not freed under us.
	 */
	server_hold(srv);
	for (i = 0; i < n; i++) {
		c = items[i].c;
		r = items[i].res;
		if (r == FANOUT_NOT_SENT)
			(void)conn_send(c, buf, len);
		else if (r >= 0) {
			server_count_out(srv, (size_t)r);
			if ((size_t)r < len)
				(void)conn_send(c, (const char *)buf + r,
				    len - (size_t)r);
		} else if (r == -EAGAIN || r == -EWOULDBLOCK || r == -EINTR)
			(void)conn_send(c, buf, len);
		else
			conn_close(c, strerror((int)-r));
	}
	server_release(srv);
	return;
fallback:
	/* No memory for the batch: one client after the other. */
	server_hold(srv);
	for (c = server_first(srv); c != NULL; c = server_next(c))
		if (!conn_closing(c))
			(void)conn_send(c, buf, len);
	server_release(srv);
}
