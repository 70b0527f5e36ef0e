/* SPDX-License-Identifier: ISC */
/*
 * Message sharing: every line for the room is formatted once into the
 * turn's batch, a shared block that is fanned out to every member at the
 * end of the turn, so all members see one order.
 */
#ifndef CHATD_RELAY_H
#define CHATD_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct event_base;
struct relay;
struct server;

/* Where a member is in the batch being built. */
struct relay_pos {
	uint64_t	 gen;		/* the batch it joined in */
	size_t		 from;		/* and from which byte of it */
};

/* Per connection: its position, or NULL when it is not a member. */
typedef struct relay_pos *relay_pos_fn(struct conn *);

struct relay *relay_new(struct event_base *, struct server *, relay_pos_fn *,
	    void (*)(void *), void *);
void	relay_free(struct relay *);
int	relay_say(struct relay *, const char *, size_t, const char *, size_t);
int	relay_event(struct relay *, const char *, size_t, const char *);
void	relay_join(struct relay *, struct relay_pos *);
int	relay_catch_up(struct relay *, struct conn *, struct relay_pos *);
void	relay_flush(struct relay *);
unsigned long long relay_said(const struct relay *);
void	relay_add_said(struct relay *, unsigned long long);

#endif
