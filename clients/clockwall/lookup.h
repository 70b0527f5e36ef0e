/* SPDX-License-Identifier: ISC */
/* A host name looked up again while the wall runs, without stopping it. */
#ifndef CLOCKWALL_LOOKUP_H
#define CLOCKWALL_LOOKUP_H

struct addrinfo;
struct lookup;

enum lookup_result {
	LOOKUP_PENDING,		/* not answered yet: ask again later */
	LOOKUP_FOUND,		/* the addresses are the caller's */
	LOOKUP_UNKNOWN,		/* the name does not exist */
	LOOKUP_FAILED,		/* the resolver could not say */
};

struct lookup *lookup_start(const char *, const char *);
enum lookup_result lookup_poll(struct lookup *, struct addrinfo **);
void	lookup_drop(struct lookup *);
void	lookup_reap(void);

#endif
