/* SPDX-License-Identifier: ISC */
/* chatd: what main() sets up and the clients share. */
#ifndef CHATD_CHATD_H
#define CHATD_CHATD_H

#include <stddef.h>

#include "idle.h"
#include "room.h"

struct conn;
struct event_base;
struct relay;
struct server;
struct server_ops;

struct chatd {
	struct event_base	*base;
	struct server		*srv;
	struct relay		*relay;
	struct room		 room;		/* the state worth keeping */
	struct idle_list	 idle;		/* one timer for every client */
	int			 idle_on;	/* --idle-timeout is not 0 */
	int			 names;		/* --names */
	int			 stopping;	/* SIGTERM: no more news */
	int			 handed;	/* the room is a successor's */
	struct conn		**deferred;	/* taken over with input waiting */
	size_t			 ndeferred;
	size_t			 max_line;
	size_t			 max_queue;
	char			*line;		/* one line read, CR and NUL */
	size_t			 linecap;
	char			 too_long[64];	/* "Line too long (...)" */
	size_t			 too_long_len;
	unsigned long long	 slow;		/* dropped as too slow */
};

extern struct chatd		 chatd;
extern const struct server_ops	 client_ops;

void	client_flushed(void *);
void	client_idle_cb(struct idle_entry *, void *);
struct relay_pos *client_pos(struct conn *);

#endif
