/* SPDX-License-Identifier: ISC */
/* The same bytes to every client of a server, from both cores. */
#ifndef CLOCKWORK_FANOUT_H
#define CLOCKWORK_FANOUT_H

#include <stddef.h>

struct fanout;
struct server;

struct fanout *fanout_new(int);
void	fanout_free(struct fanout *);
void	fanout_send(struct fanout *, struct server *, const void *, size_t);

#endif
