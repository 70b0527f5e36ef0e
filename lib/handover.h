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

#include "handover_capsule.h"
#include "handover_image.h"

struct listen_set;
struct server;

#define HANDOVER_FDNAME		"handover"	/* its name in the fd store */
#define HANDOVER_ENV_FD		"CLOCKWORK_HANDOVER_FD"
#define HANDOVER_ENV_PID	"CLOCKWORK_HANDOVER_PID"

/* For daemons. */
void	handover_init(int, char **);
int	handover_receive(struct listen_set *, const char *);
const void *handover_blob(size_t *);
void	handover_adopt(struct server *);
int	handover_reexec(struct server *, const void *, size_t);
int	handover_to_store(struct server *, const void *, size_t);
int	handover_store_enabled(void);

#endif
