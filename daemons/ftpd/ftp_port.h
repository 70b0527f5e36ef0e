/* SPDX-License-Identifier: ISC */
/* PORT and EPRT arguments into socket addresses. */
#ifndef CLOCKWORK_FTP_PORT_H
#define CLOCKWORK_FTP_PORT_H

#include <sys/socket.h>
#include <netinet/in.h>

int	ftp_port_parse(const char *, struct sockaddr_in *);
int	ftp_port_parse_eprt(const char *, struct sockaddr_storage *,
	    socklen_t *);

#endif
