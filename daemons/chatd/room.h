/* SPDX-License-Identifier: ISC */
/*
 * The room: who is in it, in order of arrival, under which name.  All the
 * state that outlives one turn of the loop is here and nowhere else, so
 * that it can be written out and read back (a hand-over to a successor);
 * the connections are only named through an opaque owner pointer.
 */
#ifndef CHATD_ROOM_H
#define CHATD_ROOM_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct sharedbuf;

struct member {
	TAILQ_ENTRY(member)	 entry;		/* order of arrival */
	struct member		*hnext;		/* same name bucket */
	void			*owner;		/* the daemon's client */
	uint64_t		 seq;		/* arrival number, from 1 */
	const char		*key;		/* name key, after who; or NULL */
	uint32_t		 hash;		/* of the key */
	uint16_t		 keylen;
	uint16_t		 wholen;
	char			 who[];		/* as shown, NUL-terminated */
};

struct room {
	TAILQ_HEAD(member_list, member) members;
	struct member		**buckets;	/* name index (with names) */
	size_t			 nbuckets;
	size_t			 count;
	uint64_t		 seq;		/* arrivals so far */
	int			 names;		/* WHO is a chosen name */
	/*
	 * "Here now: A, B, C": every member, in order, for newcomers; a
	 * cache, grown in place on arrivals (each newcomer is sent the part
	 * before it, by reference), made again after a departure.
	 */
	struct sharedbuf	*roster;
};

#define ROOM_WHO_MAX	(4 * 32 + 1)	/* a name, or "[v6]:port" */

int	room_init(struct room *, int);
void	room_clear(struct room *);
struct member *room_join(struct room *, const char *, size_t, void *);
struct member *room_join_at(struct room *, const char *, size_t, void *,
	    uint64_t);
int	room_taken(struct room *, const char *, size_t);
void	room_leave(struct room *, struct member *);
struct sharedbuf *room_roster(struct room *);

#endif
