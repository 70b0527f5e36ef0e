/* SPDX-License-Identifier: ISC */
/* The daemon's life: event base, signals, graceful stop. */
#ifndef CLOCKWORK_LIFE_H
#define CLOCKWORK_LIFE_H

#include <sys/time.h>

struct event;
struct event_base;
struct server;

/* The graceful stop of a daemon on lib/server (life_stop_server). */
struct life_stop {
	struct server	*srv;
	struct timeval	 grace;		/* for the clients to finish */
	struct event	*timer;		/* the daemon's own, stopped first */
	/*
	 * Under systemd with an fd store (lib/handover.c): run instead, once
	 * no client is accepted any more, to leave the clients in the store;
	 * when it cannot, it calls life_stop_graceful().  NULL: never.
	 */
	void		(*to_store)(void *);
	void		*arg;		/* to_store's */
};

struct event_base *life_base_new(void);
int	life_start(struct event_base *, void (*)(void *), void *);
void	life_on_reload(void (*)(void *), void *);
void	life_stop_server(void *);
void	life_stop_graceful(struct life_stop *);
int	life_stopping(void);
void	life_end(void);

#endif
