/* SPDX-License-Identifier: ISC */
/*
 * Handing a running daemon's clients to its successor: on reload the
 * daemon re-executes its binary in place (same PID), on stop it leaves
 * them in systemd's file descriptor store for the next start.  Either
 * way the successor adopts every client that checks out and closes the
 * rest, which can reconnect.
 */
#ifndef CLOCKWORK_HANDOVER_H
#define CLOCKWORK_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

#include "handover_image.h"

struct listen_set;
struct server;

#define HANDOVER_FDNAME		"handover"	/* its name in the fd store */
#define HANDOVER_ENV_FD		"CLOCKWORK_HANDOVER_FD"
#define HANDOVER_ENV_PID	"CLOCKWORK_HANDOVER_PID"
#define HANDOVER_BATCH		253		/* SCM_MAX_FD: sockets per message */

/* One capsule, opened: the image and the sockets that came with it. */
struct handover_in {
	uint8_t			*img;		/* mapped, read-only; NULL: unusable */
	size_t			 len;
	int			*fds;		/* listeners, then clients; -1: lost */
	size_t			 nlisteners;
	size_t			 nclients;
	int			 truncated;	/* the kernel dropped some sockets */
	char			 why[160];	/* why img is NULL */
};

/* For daemons. */
void	handover_init(int, char **);
int	handover_receive(struct listen_set *, const char *);
const void *handover_blob(size_t *);
void	handover_adopt(struct server *);
int	handover_reexec(struct server *, const void *, size_t);
int	handover_to_store(struct server *, const void *, size_t);
int	handover_store_enabled(void);

/* The capsule itself (and for tests). */
int	handover_pack(const void *, size_t, const int *, size_t, size_t);
int	handover_send(int, const void *, size_t, const int *, size_t);
int	handover_unpack(int, struct handover_in *);
void	handover_in_close(struct handover_in *);

#endif
