/* SPDX-License-Identifier: ISC */
/* The same bytes to every client of a server, from both cores. */
#ifndef CLOCKWORK_FANOUT_H
#define CLOCKWORK_FANOUT_H

#include <stddef.h>

struct conn;
struct fanout;
struct server;
struct sharedbuf;

/* Where client c starts in the bytes sent; their length or more: skip it. */
typedef size_t fanout_from_fn(struct conn *, void *);

struct fanout *fanout_new(int);
void	fanout_free(struct fanout *);
void	fanout_send(struct fanout *, struct server *, const void *, size_t);
void	fanout_send_shared(struct fanout *, struct server *, struct sharedbuf *,
	    fanout_from_fn *, void *);

#endif
