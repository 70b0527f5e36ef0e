/* SPDX-License-Identifier: ISC */
/* Which clocks to show: NAME=HOST:PORT arguments and clock@PORT.env files. */
#ifndef CLOCKWALL_SPEC_H
#define CLOCKWALL_SPEC_H

#include <stddef.h>

#define SPEC_NAME_MAX	64	/* bytes of a name, with its NUL */
#define SPEC_HOST_MAX	256
#define SPEC_PORT_MAX	8
#define SPEC_CLOCKS_MAX	512	/* clocks on one wall */
#define SPEC_ENV_MAX	16384	/* bytes read of one .env file */
#define SPEC_CONFIG_DIR	"/etc/clockwork"

struct addrinfo;

struct spec {
	char	name[SPEC_NAME_MAX];
	char	host[SPEC_HOST_MAX];
	char	port[SPEC_PORT_MAX];
};

enum spec_resolve_result {
	SPEC_RESOLVED,
	SPEC_UNKNOWN_HOST,	/* the name does not exist */
	SPEC_RESOLVE_FAILED,	/* the resolver could not say now */
};

int	spec_parse(const char *, struct spec *, int, char *, size_t);
int	spec_zone_name(const char *, char *, size_t, int);
int	spec_env_tz(const char *, char *, size_t);
int	spec_config_read(const char *, struct spec *, size_t, size_t *, int,
	    char *, size_t);
enum spec_resolve_result spec_resolve(const struct spec *, struct addrinfo **,
	    char *, size_t);
void	spec_hints(struct addrinfo *);
int	spec_host_fixed(const char *);
int	spec_unknown_host(int);

#endif
