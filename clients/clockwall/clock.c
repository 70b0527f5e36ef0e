/* SPDX-License-Identifier: ISC */
/*
 * One clock on the wall.  Connects to each address of the host in turn,
 * takes the last whole line of each read as the time, and notes when it
 * arrived (the kernel's receive timestamp) to tell how far the clock is
 * from ours (offset.c).  A clock with no line for CLOCK_SILENT_MS plus two
 * round trips is silent but kept: on a slow, lossy path TCP may still be
 * resending.  After CLOCK_DOWN_MS (plus two round trips) it is down, as is
 * one that refuses or closes; it is retried after a back-off that doubles
 * from 0.5 s up to 8 s, its host name looked up again first.  All clocks
 * share one event loop, so a dead one never holds the others up.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "lineio.h"
#include "lookup.h"
#include "monotime.h"
#include "text.h"

#define CLOCK_RTT_MAX_MS	60000	/* a round trip counted at most */

static void	clock_attempt(struct clock *);
static void	clock_reconnect(struct clock *);
static void	clock_close(struct clock *);
static void	clock_fail(struct clock *, const char *);
static void	clock_fail_errno(struct clock *, int);
static void	clock_arm(struct clock *, unsigned);
static void	clock_rtt(struct clock *);
static void	clock_lookup_check(struct clock *);
static void	clock_offset(struct clock *, const struct timespec *);
static void	clock_connect_cb(evutil_socket_t, short, void *);
static void	clock_read_cb(evutil_socket_t, short, void *);
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
 * A silence of base milliseconds stretched by two round trips: a line
 * lost on the way is resent after about one, and arrives half of one
 * later.
 */
unsigned
clock_silence_ms(const struct clock *c, unsigned base)
{
	unsigned long rtt_ms = c->rtt_us / 1000;

	if (rtt_ms > CLOCK_RTT_MAX_MS)
		rtt_ms = CLOCK_RTT_MAX_MS;
	return base + 2 * (unsigned)rtt_ms;
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
	if ((c->in = evbuffer_new()) == NULL) {
		event_free(c->timer);
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
	c->fd = -1;
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
	lookup_drop(c->lookup);
	event_free(c->timer);
	evbuffer_free(c->in);
	if (c->ai != NULL)
		freeaddrinfo(c->ai);
	free(c);
}

/* Starts a connection, to the host's first address. */
void
clock_start(struct clock *c)
{
	c->try = c->ai;
	clock_attempt(c);
}

/*
 * Connects again after a failure.  A host given by name is looked up
 * again first, so that a name moved to another address is followed; the
 * lookup runs in the background and the timer polls it.
 */
static void
clock_reconnect(struct clock *c)
{
	struct timeval now, wait;

	if (spec_host_fixed(c->spec.host) ||
	    (c->lookup = lookup_start(c->spec.host, c->spec.port)) == NULL) {
		/* An address or localhost, or no lookup possible: as before. */
		clock_start(c);
		return;
	}
	c->try = NULL;
	c->state = CLOCK_CONNECTING;
	monotime_tv(&now);
	wait.tv_sec = CLOCK_CONNECT_MS / 1000;
	wait.tv_usec = (CLOCK_CONNECT_MS % 1000) * 1000;
	timeradd(&now, &wait, &c->lookup_until);
	/* From files it takes a millisecond: look soon, then less often. */
	c->lookup_poll_ms = 1;
	clock_arm(c, c->lookup_poll_ms);
	c->changed(c, c->arg);
}

/* A clock that is down is tried again now rather than at its timer. */
void
clock_retry_now(struct clock *c)
{
	if (c->state != CLOCK_DOWN || !c->retry)
		return;
	evtimer_del(c->timer);
	clock_reconnect(c);
}

/*
 * Gives up on a clock that has not answered (--once ran out of time): why
 * it is down, or "silent" when it connected but said nothing.
 */
void
clock_give_up(struct clock *c, const char *why)
{
	c->retry = 0;
	if (c->state != CLOCK_CONNECTING)
		return;
	if (c->connected)
		why = "silent";
	clock_close(c);
	lookup_drop(c->lookup);
	c->lookup = NULL;
	evtimer_del(c->timer);
	c->state = CLOCK_DOWN;
	c->failures++;
	snprintf(c->why, sizeof(c->why), "%s", why);
	c->changed(c, c->arg);
}

static void
clock_close(struct clock *c)
{
	if (c->io != NULL) {
		event_free(c->io);
		c->io = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	evbuffer_drain(c->in, evbuffer_get_length(c->in));
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

/* The connection's smoothed round trip, as TCP measured it. */
static void
clock_rtt(struct clock *c)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
	    len >= offsetof(struct tcp_info, tcpi_rttvar))
		c->rtt_us = ti.tcpi_rtt;
}

/*
 * Connects to c->try.  An address that fails at once passes to the next;
 * the rest is up to clock_connect_cb.
 */
static void
clock_attempt(struct clock *c)
{
	struct addrinfo *a;
	int fd, e = EHOSTUNREACH, on = 1;

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
		/* Each read says when its data arrived (clock_offset). */
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on,
		    sizeof(on));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == -1 &&
		    errno != EINPROGRESS) {
			e = errno;
			close(fd);
			continue;
		}
		c->fd = fd;
		if ((c->io = event_new(c->base, fd, EV_WRITE, clock_connect_cb,
		    c)) == NULL || event_add(c->io, NULL) == -1) {
			clock_fail(c, "cannot watch the socket");
			return;
		}
		clock_arm(c, CLOCK_CONNECT_MS);
		return;
	}
	clock_fail_errno(c, e);
}

/* The connection is made or refused. */
static void
clock_connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clock *c = arg;
	socklen_t len = sizeof(int);
	int e = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		e = errno;
	if (e != 0) {
		clock_fail_errno(c, e);
		return;
	}
	event_free(c->io);
	if ((c->io = event_new(c->base, fd, EV_READ | EV_PERSIST,
	    clock_read_cb, c)) == NULL || event_add(c->io, NULL) == -1) {
		clock_fail(c, "cannot watch the socket");
		return;
	}
	c->connected = 1;
	offset_reset(&c->filter);
	c->has_offset = 0;
	clock_rtt(c);
	/*
	 * The first line comes at the clock's next second.  A clock tried
	 * once (--once) has until the deadline: one that systemd starts on
	 * this very connection may take a few seconds.
	 */
	if (c->retry)
		clock_arm(c, clock_silence_ms(c, CLOCK_SILENT_MS));
	else
		evtimer_del(c->timer);
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

/*
 * One line's offset into the filter.  Only a read that ended with a whole
 * line counts: its timestamp is that of the data that completed the line.
 */
static void
clock_offset(struct clock *c, const struct timespec *at)
{
	int sec;

	if (evbuffer_get_length(c->in) != 0 ||
	    (sec = offset_line_seconds(c->time, strlen(c->time))) == -1)
		return;
	clock_rtt(c);
	offset_add(&c->filter, offset_sample(at, c->rtt_us, sec));
	c->has_offset = offset_get(&c->filter, &c->offset) == 0;
}

/*
 * New data: the last whole line is the time now.  One read per wake-up,
 * at most a line's worth: a clock that floods cannot hold the loop.
 */
static void
clock_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clock *c = arg;
	char buf[CLOCK_LINE_MAX], line[CLOCK_LINE_MAX];
	union {
		struct cmsghdr	hdr;
		char		space[CMSG_SPACE(sizeof(struct timespec))];
	} control;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg;
	struct cmsghdr *cm;
	struct timespec at;
	enum line_result r;
	ssize_t n;
	size_t len;
	int got = 0, stamped = 0;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.space;
	msg.msg_controllen = sizeof(control.space);
	if ((n = recvmsg(fd, &msg, 0)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			clock_fail_errno(c, errno);
		return;
	}
	if (n == 0) {
		clock_fail(c, "closed");
		return;
	}
	for (cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPNS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(at))) {
			memcpy(&at, CMSG_DATA(cm), sizeof(at));
			stamped = 1;
		}
	if (!stamped)
		clock_gettime(CLOCK_REALTIME, &at);
	if (evbuffer_add(c->in, buf, (size_t)n) == -1) {
		clock_fail(c, "out of memory");
		return;
	}
	while ((r = line_read(c->in, line, sizeof(line), &len)) == LINE_OK) {
		text_clean(c->time, sizeof(c->time), line, len, c->utf8);
		got = 1;
	}
	if (r == LINE_TOO_LONG) {
		clock_fail(c, "line too long");
		return;
	}
	if (!got)
		return;
	clock_offset(c, &at);
	c->lines++;
	c->state = CLOCK_UP;
	c->answered = 1;
	c->backoff_ms = CLOCK_BACKOFF_FIRST_MS;
	c->why[0] = '\0';
	monotime_tv(&c->last_line);
	clock_arm(c, clock_silence_ms(c, CLOCK_SILENT_MS));
	c->changed(c, c->arg);
}

/* The host looked up again: connect to what it says now, or fail. */
static void
clock_lookup_check(struct clock *c)
{
	struct addrinfo *res = NULL;
	struct timeval now;

	switch (lookup_poll(c->lookup, &res)) {
	case LOOKUP_PENDING:
		monotime_tv(&now);
		if (timercmp(&now, &c->lookup_until, <)) {
			c->lookup_poll_ms = c->lookup_poll_ms * 2 >
			    CLOCK_LOOKUP_POLL_MS ? CLOCK_LOOKUP_POLL_MS :
			    c->lookup_poll_ms * 2;
			clock_arm(c, c->lookup_poll_ms);
			return;
		}
		lookup_drop(c->lookup);
		c->lookup = NULL;
		clock_fail(c, "cannot resolve");
		return;
	case LOOKUP_FOUND:
		c->lookup = NULL;
		if (c->ai != NULL)
			freeaddrinfo(c->ai);
		c->ai = res;
		clock_start(c);
		return;
	case LOOKUP_UNKNOWN:
		c->lookup = NULL;
		clock_fail(c, "unknown host");
		return;
	default:
		c->lookup = NULL;
		clock_fail(c, "cannot resolve");
		return;
	}
}

/* A timeout, a silence, or time for a retry. */
static void
clock_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clock *c = arg;

	switch (c->state) {
	case CLOCK_DOWN:
		clock_reconnect(c);
		break;
	case CLOCK_CONNECTING:
		if (c->lookup != NULL)
			clock_lookup_check(c);
		else
			clock_fail(c, c->connected ? "silent" : "no answer");
		break;
	case CLOCK_UP:
		/* Kept connected: a resent line may still come. */
		c->state = CLOCK_SILENT;
		clock_arm(c, clock_silence_ms(c, CLOCK_DOWN_MS) -
		    clock_silence_ms(c, CLOCK_SILENT_MS));
		c->changed(c, c->arg);
		break;
	case CLOCK_SILENT:
		clock_fail(c, "silent");
		break;
	}
}
