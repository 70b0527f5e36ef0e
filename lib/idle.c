/* SPDX-License-Identifier: ISC */
/*
 * Idle timeouts for many connections with one timer.  Every connection
 * has the same timeout, so keeping entries in order of last activity makes
 * the oldest the next to expire: a touch moves an entry to the tail, the
 * one timer waits for the head.  24 bytes an entry instead of an event.
 */
#include <event2/event.h>

#include "idle.h"
#include "monotime.h"

static void	idle_arm(struct idle_list *);
static void	idle_timer_cb(evutil_socket_t, short, void *);

int
idle_list_init(struct idle_list *l, struct event_base *base,
    const struct timeval *timeout, void (*expired)(struct idle_entry *, void *),
    void *arg)
{
	TAILQ_INIT(&l->entries);
	l->timeout_us = (uint64_t)timeout->tv_sec * 1000000 +
	    (uint64_t)timeout->tv_usec;
	l->expired = expired;
	l->arg = arg;
	l->ev = evtimer_new(base, idle_timer_cb, l);
	return l->ev == NULL ? -1 : 0;
}

void
idle_list_free(struct idle_list *l)
{
	struct idle_entry *e;

	while ((e = TAILQ_FIRST(&l->entries)) != NULL)
		idle_remove(l, e);
	if (l->ev != NULL)
		event_free(l->ev);
	l->ev = NULL;
}

/* Waits for the oldest entry; nothing to wait for, no timer. */
static void
idle_arm(struct idle_list *l)
{
	struct idle_entry *head = TAILQ_FIRST(&l->entries);
	struct timeval tv;
	uint64_t now, due, wait;

	if (head == NULL) {
		evtimer_del(l->ev);
		return;
	}
	now = monotime_us();
	due = head->last_us + l->timeout_us;
	wait = due > now ? due - now : 0;
	tv.tv_sec = (time_t)(wait / 1000000);
	tv.tv_usec = (suseconds_t)(wait % 1000000);
	evtimer_add(l->ev, &tv);
}

/* Activity: the entry becomes the newest. */
void
idle_touch(struct idle_list *l, struct idle_entry *e)
{
	int was_empty = TAILQ_EMPTY(&l->entries);

	if (e->linked)
		TAILQ_REMOVE(&l->entries, e, link);
	e->last_us = monotime_us();
	e->linked = 1;
	TAILQ_INSERT_TAIL(&l->entries, e, link);
	/* Only a new head changes when the timer must fire. */
	if (was_empty)
		idle_arm(l);
}

void
idle_remove(struct idle_list *l, struct idle_entry *e)
{
	if (!e->linked)
		return;
	TAILQ_REMOVE(&l->entries, e, link);
	e->linked = 0;
}

/*
 * Expires every entry past its time, oldest first.  Each is unlinked
 * before its callback, which may touch it again (still busy) or free it.
 */
static void
idle_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle_list *l = arg;
	struct idle_entry *e;
	uint64_t now = monotime_us();

	while ((e = TAILQ_FIRST(&l->entries)) != NULL &&
	    e->last_us + l->timeout_us <= now) {
		idle_remove(l, e);
		l->expired(e, l->arg);
	}
	idle_arm(l);
}
