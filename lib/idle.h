/* SPDX-License-Identifier: ISC */
/*
 * Idle timeouts for many connections with one timer: entries kept in
 * order of last activity, the timer armed for the oldest.
 */
#ifndef CLOCKWORK_IDLE_H
#define CLOCKWORK_IDLE_H

#include <sys/queue.h>
#include <sys/time.h>

#include <stdint.h>

struct event;
struct event_base;

struct idle_entry {
	TAILQ_ENTRY(idle_entry)	 link;
	uint64_t		 last_us;	/* monotonic, last activity */
	int			 linked;
};

struct idle_list {
	TAILQ_HEAD(, idle_entry) entries;
	struct event		*ev;
	uint64_t		 timeout_us;
	void			(*expired)(struct idle_entry *, void *);
	void			*arg;
};

int	idle_list_init(struct idle_list *, struct event_base *,
	    const struct timeval *, void (*)(struct idle_entry *, void *),
	    void *);
void	idle_list_free(struct idle_list *);
void	idle_touch(struct idle_list *, struct idle_entry *);
void	idle_remove(struct idle_list *, struct idle_entry *);

#endif
