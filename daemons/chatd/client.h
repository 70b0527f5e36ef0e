/* SPDX-License-Identifier: ISC */
/* chatd: one client, shared by its life (client.c) and its hand-over. */
#ifndef CHATD_CLIENT_H
#define CHATD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "idle.h"
#include "relay.h"

struct conn;
struct member;

enum client_state {
	CLIENT_NAMING,		/* asked for a name, not in the room yet */
	CLIENT_MEMBER,
	CLIENT_GONE,		/* left the room, closing */
};

#define CHATD_NAME_TRIES	5

struct client {
	struct conn		*c;
	struct member		*m;		/* while CLIENT_MEMBER */
	struct relay_pos	 pos;		/* in the batch being built */
	struct idle_entry	 idle;
	size_t			 allow;		/* greeting unsent past the bound */
	int			 skipping;	/* the rest of a too-long line */
	uint8_t			 state;
	uint8_t			 tries;		/* names refused */
	uint8_t			 why;		/* enum client_why */
};

extern const struct handover_ops client_handover_ops;

void	client_input(struct conn *, int);
void	client_log(struct client *, const char *, const char *);
void	client_handover_blob(uint8_t *);
void	client_handover_begin(const void *, size_t);
void	client_handover_end(void);

#define CLIENT_BLOB_LEN		24	/* arrivals, lines said, slow drops */

#endif
