/* SPDX-License-Identifier: ISC */
/* The capsule: one descriptor carrying a hand-over's image and sockets. */
#ifndef CLOCKWORK_HANDOVER_CAPSULE_H
#define CLOCKWORK_HANDOVER_CAPSULE_H

#include <stddef.h>
#include <stdint.h>

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

int	handover_pack(const void *, size_t, const int *, size_t, size_t);
int	handover_unpack(int, struct handover_in *);
void	handover_in_close(struct handover_in *);
/* One message; the tests make damaged capsules with it. */
int	handover_send(int, const void *, size_t, const int *, size_t);

#endif
