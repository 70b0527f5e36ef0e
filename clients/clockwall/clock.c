/* SPDX-License-Identifier: ISC */
/*
 * One clock on the wall.  Connects to each address of the host in turn,
 * takes the last whole line of each read as the time, and calls a clock
 * down when it refuses, closes, or stays silent for CLOCK_SILENCE seconds;
 * then retries after a back-off that doubles from 0.5 s up to 8 s.  All
 * clocks share one event loop, so a dead one never holds the others up.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "clock.h"
#include "lineio.h"
#include "monotime.h"
#include "text.h"

static void	clock_attempt(struct clock *);
static void	clock_close(struct clock *);
static void	clock_fail(struct clock *, const char *);
static void	clock_fail_errno(struct clock *, int);
static void	clock_arm(struct clock *, unsigned);
static void	clock_read_cb(struct bufferevent *, void *);
static void	clock_event_cb(struct bufferevent *, short, void *);
static void	clock_timer_cb(evutil_socket_t, short, void *);

/* The wait after this one: doubled, at most CLOCK_BACKOFF_MAX_MS. */
unsigned
clock_backoff_next(unsigned ms)
{
	if (ms < CLOCK_BACKOFF_FIRST_MS)
		return CLOCK_BACKOFF_FIRST_MS;
	return ms >= CLOCK_BACKOFF_MAX_MS / 2 ? CLOCK_BACKOFF_MAX_MS : ms * 2;
}

/*
 * A clock for sp at the addresses ai (the clock owns them from now on).
 * With retry 0 a failure is final (--once).  changed is called after
 * every new time and every change of state.
 */
struct clock *
clock_new(struct event_base *base, const struct spec *sp, struct addrinfo *ai,
    int retry, int utf8, void (*changed)(struct clock *, void *), void *arg)
{
	struct clock *c;
	int r;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((c->timer = evtimer_new(base, clock_timer_cb, c)) == NULL) {
		free(c);
		return NULL;
	}
	c->spec = *sp;
	if (strchr(sp->host, ':') != NULL)
		r = snprintf(c->addr, sizeof(c->addr), "[%s]:%s", sp->host,
		    sp->port);
	else
		r = snprintf(c->addr, sizeof(c->addr), "%s:%s", sp->host,
		    sp->port);
	if (r < 0 || (size_t)r >= sizeof(c->addr))
		c->addr[0] = '\0';
	c->base = base;
	c->ai = ai;
	c->retry = retry;
	c->utf8 = utf8;
	c->backoff_ms = CLOCK_BACKOFF_FIRST_MS;
	c->changed = changed;
	c->arg = arg;
	/* About to start: not down, or --once would count it as settled. */
	c->state = CLOCK_CONNECTING;
	return c;
}

void
clock_free(struct clock *c)
{
	if (c == NULL)
		return;
	clock_close(c);
	event_free(c->timer);
	if (c->ai != NULL)
		freeaddrinfo(c->ai);
	free(c);
}

/* Starts the first connection, to the host's first address. */
void
clock_start(struct clock *c)
{
	c->try = c->ai;
	clock_attempt(c);
}

/* A clock that is down is tried again now rather than at its timer. */
void
clock_retry_now(struct clock *c)
{
	if (c->state != CLOCK_DOWN || !c->retry)
		return;
	evtimer_del(c->timer);
	clock_start(c);
}

/* Gives up on a clock that has not answered (--once ran out of time). */
void
clock_give_up(struct clock *c, const char *why)
{
	c->retry = 0;
	if (c->state != CLOCK_CONNECTING)
		return;
	clock_close(c);
	evtimer_del(c->timer);
	c->state = CLOCK_DOWN;
	c->failures++;
	snprintf(c->why, sizeof(c->why), "%s", why);
	c->changed(c, c->arg);
}

static void
clock_close(struct clock *c)
{
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->connected = 0;
}

static void
clock_arm(struct clock *c, unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(c->timer, &tv);
}

/*
 * Connects to c->try.  The socket is connected here rather than by
 * bufferevent_socket_connect(), so that a refusal known at once keeps its
 * errno; an address that fails at once passes to the next.
 */
static void
clock_attempt(struct clock *c)
{
	struct addrinfo *a;
	int fd, e = EHOSTUNREACH;

	clock_close(c);
	c->state = CLOCK_CONNECTING;
	c->changed(c, c->arg);
	for (a = c->try; a != NULL; a = a->ai_next) {
		c->try = a;
		fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, a->ai_protocol);
		if (fd == -1) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			e = errno;
			close(fd);
			continue;
		}
		if ((c->bev = bufferevent_socket_new(c->base, fd,
		    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
			close(fd);
			clock_fail(c, "out of memory");
			return;
		}
		bufferevent_setcb(c->bev, clock_read_cb, NULL, clock_event_cb,
		    c);
		/* At most one line and a bit buffered: line_read bounds it. */
		bufferevent_setwatermark(c->bev, EV_READ, 0, CLOCK_LINE_MAX);
		if (bufferevent_socket_connect(c->bev, NULL, 0) == -1 ||
		    bufferevent_enable(c->bev, EV_READ) == -1) {
			clock_fail(c, "cannot watch the socket");
			return;
		}
		clock_arm(c, CLOCK_SILENCE * 1000);
		return;
	}
	clock_fail_errno(c, e);
}

/* The reason shown for a failed connection, short enough for the wall. */
static void
clock_fail_errno(struct clock *c, int e)
{
	switch (e) {
	case ECONNREFUSED:
		clock_fail(c, "refused");
		break;
	case ECONNRESET:
		clock_fail(c, "reset");
		break;
	case ETIMEDOUT:
		clock_fail(c, "timed out");
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
		clock_fail(c, "unreachable");
		break;
	default:
		clock_fail(c, strerror(e));
		break;
	}
}

/*
 * The connection failed: tries the host's next address if connecting,
 * else calls the clock down and, unless this is the last try, arms the
 * retry after the back-off.
 */
static void
clock_fail(struct clock *c, const char *why)
{
	struct timeval now, wait;
	int was_connected = c->connected;

	clock_close(c);
	evtimer_del(c->timer);
	if (!was_connected && c->state == CLOCK_CONNECTING && c->try != NULL &&
	    c->try->ai_next != NULL) {
		c->try = c->try->ai_next;
		clock_attempt(c);
		return;
	}
	c->state = CLOCK_DOWN;
	c->failures++;
	snprintf(c->why, sizeof(c->why), "%s", why);
	if (c->retry) {
		clock_arm(c, c->backoff_ms);
		monotime_tv(&now);
		wait.tv_sec = c->backoff_ms / 1000;
		wait.tv_usec = (c->backoff_ms % 1000) * 1000;
		timeradd(&now, &wait, &c->retry_at);
		c->backoff_ms = clock_backoff_next(c->backoff_ms);
	}
	c->changed(c, c->arg);
}

/* New lines: the last whole one is the time now. */
static void
clock_read_cb(struct bufferevent *bev, void *arg)
{
	struct clock *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[CLOCK_LINE_MAX];
	enum line_result r;
	size_t len;
	int got = 0;

	while ((r = line_read(in, line, sizeof(line), &len)) == LINE_OK) {
		text_clean(c->time, sizeof(c->time), line, len, c->utf8);
		got = 1;
	}
	if (r == LINE_TOO_LONG) {
		clock_fail(c, "line too long");
		return;
	}
	if (!got)
		return;
	c->lines++;
	c->state = CLOCK_UP;
	c->answered = 1;
	c->backoff_ms = CLOCK_BACKOFF_FIRST_MS;
	c->why[0] = '\0';
	clock_arm(c, CLOCK_SILENCE * 1000);
	c->changed(c, c->arg);
}

static void
clock_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct clock *c = arg;
	int e = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		return;
	}
	if (what & BEV_EVENT_EOF)
		clock_fail(c, "closed");
	else if (what & BEV_EVENT_ERROR)
		clock_fail_errno(c, e);
}

/* Silent too long, or time for a retry. */
static void
clock_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clock *c = arg;

	switch (c->state) {
	case CLOCK_DOWN:
		clock_start(c);
		break;
	case CLOCK_CONNECTING:
		clock_fail(c, c->connected ? "silent" : "no answer");
		break;
	case CLOCK_UP:
		clock_fail(c, "silent");
		break;
	}
}
