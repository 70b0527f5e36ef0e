/* SPDX-License-Identifier: ISC */
/* Socket addresses as text, and text as socket addresses. */
#ifndef CLOCKWORK_ADDR_H
#define CLOCKWORK_ADDR_H

#include <sys/socket.h>

#define ADDR_STRLEN	64

int	addr_format(const struct sockaddr *, char *, size_t, unsigned *);
int	addr_same_host(const struct sockaddr *, const struct sockaddr *);
int	addr_split_hostport(const char *, char *, size_t, char *, size_t);

#endif
