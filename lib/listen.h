/* SPDX-License-Identifier: ISC */
/* Listening sockets: handed over by systemd, else bound from -p / -l. */
#ifndef CLOCKWORK_LISTEN_H
#define CLOCKWORK_LISTEN_H

#include <stddef.h>

#define LISTEN_MAX	32

struct listen_spec {
	char	host[256];	/* "" for every address */
	char	port[16];
};

struct listen_set {
	int	fds[LISTEN_MAX];
	int	nfds;
	int	activated;	/* 1 when the fds came from systemd */
	int	inherited;	/* 1 when they came from our predecessor */
	int	capsules[LISTEN_MAX];	/* hand-overs kept in systemd's fd store */
	int	ncapsules;
};

int	listen_spec_parse(const char *, struct listen_spec *);
int	listen_spec_port(const char *, struct listen_spec *);
int	listen_open(const struct listen_spec *, int, struct listen_set *,
	    char *, size_t);
int	listen_activated(struct listen_set *, char *, size_t);
int	listen_bind(const struct listen_spec *, int, struct listen_set *,
	    char *, size_t);
void	listen_close(struct listen_set *);

#endif
