/* SPDX-License-Identifier: ISC */
/* The daemon's life: event base, signals, graceful stop. */
#ifndef CLOCKWORK_LIFE_H
#define CLOCKWORK_LIFE_H

struct event_base;

struct event_base *life_base_new(void);
int	life_start(struct event_base *, void (*)(void *), void *);
void	life_on_reload(void (*)(void *), void *);
int	life_stopping(void);
void	life_end(void);

#endif
