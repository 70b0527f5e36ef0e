/* SPDX-License-Identifier: ISC */
/*
 * Message sharing.  What is said in the room during one turn of the event
 * loop is formatted once, in arrival order, into one shared block (the
 * batch); at the end of the turn the batch goes to every member through
 * lib/fanout, from both cores past a few hundred members, and whatever a
 * socket does not take is queued as a reference into the block, not a
 * copy.  One batch per turn is one send(2) per member however much was
 * said: an arrival storm of thousands costs thousands of sends, not
 * millions.
 *
 * A member that joins during a turn starts at the batch's end, so it sees
 * nothing said before it arrived; one that is sent a line of its own
 * mid-turn (an error, a farewell) first gets its part of the batch so far
 * (relay_catch_up), so its view keeps the room's order.
 */
#include <sys/uio.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "fanout.h"
#include "relay.h"
#include "server.h"
#include "sharedbuf.h"

#define RELAY_BATCH_MAX		65536	/* bytes before a batch goes early */
#define RELAY_SPLIT_MIN		512	/* members before two threads send */

struct relay {
	struct server		*srv;
	struct fanout		*fanout;
	struct event		*flush_ev;	/* end of the turn */
	struct sharedbuf	*batch;		/* NULL: nothing said this turn */
	uint64_t		 gen;		/* batches begun so far */
	relay_pos_fn		*pos;
	void			(*flushed)(void *);
	void			*arg;
	unsigned long long	 said;		/* "WHO: line" relayed */
	int			 flushing;	/* lines said now wait their turn */
};

static void	relay_flush_cb(evutil_socket_t, short, void *);
static size_t	relay_from_cb(struct conn *, void *);
static int	relay_add(struct relay *, const struct iovec *, int);
static size_t	relay_offset(const struct relay *, const struct relay_pos *);

/*
 * pos tells a member's position (NULL for clients not in the room);
 * flushed(arg) runs after each batch has gone out (to check queues).
 */
struct relay *
relay_new(struct event_base *base, struct server *srv, relay_pos_fn *pos,
    void (*flushed)(void *), void *arg)
{
	struct relay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->srv = srv;
	r->pos = pos;
	r->flushed = flushed;
	r->arg = arg;
	if ((r->fanout = fanout_new(RELAY_SPLIT_MIN)) == NULL ||
	    (r->flush_ev = event_new(base, -1, 0, relay_flush_cb, r)) ==
	    NULL) {
		relay_free(r);
		return NULL;
	}
	return r;
}

void
relay_free(struct relay *r)
{
	if (r == NULL)
		return;
	if (r->flush_ev != NULL)
		event_free(r->flush_ev);
	fanout_free(r->fanout);
	sharedbuf_unref(r->batch);
	free(r);
}

unsigned long long
relay_said(const struct relay *r)
{
	return r->said;
}

/* A predecessor's count, carried on. */
void
relay_add_said(struct relay *r, unsigned long long n)
{
	r->said += n;
}

/* Where in the current batch a member starts: members of earlier turns at 0. */
static size_t
relay_offset(const struct relay *r, const struct relay_pos *p)
{
	return p->gen == r->gen ? p->from : 0;
}

/*
 * Appends one line, given in pieces, to the batch, begun if need be; the
 * flush is due at the end of the turn, or now once the batch is full.
 */
static int
relay_add(struct relay *r, const struct iovec *iov, int n)
{
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += iov[i].iov_len;
	if (r->batch == NULL) {
		if ((r->batch = sharedbuf_new(len)) == NULL)
			return -1;
		r->gen++;
		event_active(r->flush_ev, EV_TIMEOUT, 0);
	}
	for (i = 0; i < n; i++)
		if (sharedbuf_add(&r->batch, iov[i].iov_base,
		    iov[i].iov_len) == -1)
			return -1;
	if (sharedbuf_len(r->batch) >= RELAY_BATCH_MAX && !r->flushing)
		relay_flush(r);
	return 0;
}

/* "WHO: line" to everyone in the room, WHO included. */
int
relay_say(struct relay *r, const char *who, size_t wholen, const char *line,
    size_t len)
{
	struct iovec iov[4] = {
		{ (void *)(uintptr_t)who, wholen },
		{ (void *)(uintptr_t)": ", 2 },
		{ (void *)(uintptr_t)line, len },
		{ (void *)(uintptr_t)"\n", 1 },
	};

	if (relay_add(r, iov, 4) == -1)
		return -1;
	r->said++;
	return 0;
}

/* "WHO has arrived", "WHO has left": what is " has arrived\n". */
int
relay_event(struct relay *r, const char *who, size_t wholen, const char *what)
{
	struct iovec iov[2] = {
		{ (void *)(uintptr_t)who, wholen },
		{ (void *)(uintptr_t)what, strlen(what) },
	};

	return relay_add(r, iov, 2);
}

/* A new member: it hears what is said from now on. */
void
relay_join(struct relay *r, struct relay_pos *p)
{
	if (r->batch != NULL) {
		p->gen = r->gen;
		p->from = sharedbuf_len(r->batch);
	} else {
		p->gen = r->gen + 1;	/* the next batch, from its start */
		p->from = 0;
	}
}

/*
 * Before a line for this member alone: its part of the batch so far,
 * copied (the batch is still being written).  -1 when c is gone.
 */
int
relay_catch_up(struct relay *r, struct conn *c, struct relay_pos *p)
{
	size_t off, len;

	if (r->batch == NULL)
		return 0;
	off = relay_offset(r, p);
	len = sharedbuf_len(r->batch);
	p->gen = r->gen;
	p->from = len;
	if (off >= len)
		return 0;
	return conn_send(c, sharedbuf_data(r->batch) + off, len - off);
}

static size_t
relay_from_cb(struct conn *c, void *arg)
{
	struct relay *r = arg;
	struct relay_pos *p = r->pos(c);

	return p != NULL ? relay_offset(r, p) : SIZE_MAX;
}

/*
 * Sends the batch to every member now.  The batch is taken first: lines
 * said while it goes (members that fail or are too slow, and leave) begin
 * the next one, sent at the end of the turn, not from in here.
 */
void
relay_flush(struct relay *r)
{
	struct sharedbuf *sb = r->batch;

	if (sb == NULL || r->flushing)
		return;
	r->batch = NULL;
	r->flushing = 1;
	event_del(r->flush_ev);
	sharedbuf_trim(&sb);
	fanout_send_shared(r->fanout, r->srv, sb, relay_from_cb, r);
	sharedbuf_unref(sb);
	if (r->flushed != NULL)
		r->flushed(r->arg);
	r->flushing = 0;
}

static void
relay_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	relay_flush(arg);
}
