/* SPDX-License-Identifier: ISC */
/*
 * The room: members in order of arrival (a list), and with --names an
 * index of their name keys (a hash table of chains), so that a name is
 * found taken or free in constant time however full the room.  The
 * roster that newcomers are sent is kept as one shared block, grown as
 * members arrive: a storm of arrivals costs no list built per newcomer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chat_text.h"
#include "room.h"
#include "sharedbuf.h"

#define ROOM_BUCKETS_MIN	64
#define ROOM_ROSTER_HEAD	"Here now: "

static uint32_t	room_hash(const char *, size_t);
static int	room_index_grow(struct room *);
static struct member **room_slot(struct room *, const char *, size_t,
		    uint32_t);
static void	room_roster_add(struct room *, const struct member *);

/* FNV-1a: names are short, and the table only needs a spread. */
static uint32_t
room_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* names: members are known by names they chose, unique by key. */
int
room_init(struct room *r, int names)
{
	memset(r, 0, sizeof(*r));
	TAILQ_INIT(&r->members);
	r->names = names;
	if (!names)
		return 0;
	r->nbuckets = ROOM_BUCKETS_MIN;
	if ((r->buckets = calloc(r->nbuckets, sizeof(*r->buckets))) == NULL)
		return -1;
	return 0;
}

/* Forgets every member (their owners are the caller's). */
void
room_clear(struct room *r)
{
	struct member *m;

	while ((m = TAILQ_FIRST(&r->members)) != NULL) {
		TAILQ_REMOVE(&r->members, m, entry);
		free(m);
	}
	free(r->buckets);
	sharedbuf_unref(r->roster);
	memset(r, 0, sizeof(*r));
	TAILQ_INIT(&r->members);
}

/* Where the member with this key is, or where it would be chained. */
static struct member **
room_slot(struct room *r, const char *key, size_t klen, uint32_t hash)
{
	struct member **mp;

	for (mp = &r->buckets[hash & (r->nbuckets - 1)]; *mp != NULL;
	    mp = &(*mp)->hnext)
		if ((*mp)->hash == hash && (*mp)->keylen == klen &&
		    memcmp((*mp)->key, key, klen) == 0)
			break;
	return mp;
}

/* Twice the buckets once there are more members than buckets. */
static int
room_index_grow(struct room *r)
{
	struct member **nb, *m;
	size_t n = r->nbuckets * 2;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return -1;
	TAILQ_FOREACH(m, &r->members, entry) {
		m->hnext = nb[m->hash & (n - 1)];
		nb[m->hash & (n - 1)] = m;
	}
	free(r->buckets);
	r->buckets = nb;
	r->nbuckets = n;
	return 0;
}

/* With names: whether a member goes by this name already (-1: no memory). */
int
room_taken(struct room *r, const char *name, size_t len)
{
	size_t klen;
	char *key;
	int taken;

	if (!r->names)
		return 0;
	if ((key = chat_name_key(name, len, &klen)) == NULL)
		return -1;
	taken = *room_slot(r, key, klen, room_hash(key, klen)) != NULL;
	free(key);
	return taken;
}

/*
 * Adds a member at the end of the order, known as who (len bytes, clean
 * text).  NULL with errno EEXIST when the name is taken, ENOMEM, EINVAL
 * when it is too long to be a WHO.
 */
struct member *
room_join(struct room *r, const char *who, size_t len, void *owner)
{
	return room_join_at(r, who, len, owner, 0);
}

/*
 * room_join() for a member that arrived as the seq-th (a predecessor's,
 * taken over): its place in the order is by seq, whatever order the
 * members come back in; seq 0: the next arrival, at the end.
 */
struct member *
room_join_at(struct room *r, const char *who, size_t len, void *owner,
    uint64_t seq)
{
	struct member *m, *prev, **slot = NULL;
	size_t klen = 0;
	char *key = NULL;
	uint32_t hash = 0;

	if (len >= ROOM_WHO_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (r->names) {
		if ((key = chat_name_key(who, len, &klen)) == NULL)
			return NULL;
		hash = room_hash(key, klen);
		if (klen > UINT16_MAX ||
		    *(slot = room_slot(r, key, klen, hash)) != NULL) {
			free(key);
			errno = klen > UINT16_MAX ? EINVAL : EEXIST;
			return NULL;
		}
	}
	/* One allocation: the member, its WHO, its key. */
	if ((m = malloc(sizeof(*m) + len + 1 + klen)) == NULL) {
		free(key);
		return NULL;
	}
	m->owner = owner;
	if (seq == 0)
		seq = r->seq + 1;
	if (seq > r->seq)
		r->seq = seq;
	m->seq = seq;
	m->hash = hash;
	m->hnext = NULL;
	m->wholen = (uint16_t)len;
	memcpy(m->who, who, len);
	m->who[len] = '\0';
	m->keylen = (uint16_t)klen;
	m->key = NULL;
	if (key != NULL) {
		memcpy(m->who + len + 1, key, klen);
		m->key = m->who + len + 1;
		free(key);
	}
	/* From the end: members come back mostly in order. */
	for (prev = TAILQ_LAST(&r->members, member_list); prev != NULL &&
	    prev->seq > seq; prev = TAILQ_PREV(prev, member_list, entry))
		;
	if (prev != NULL)
		TAILQ_INSERT_AFTER(&r->members, prev, m, entry);
	else
		TAILQ_INSERT_HEAD(&r->members, m, entry);
	r->count++;
	if (r->names) {
		*slot = m;
		if (r->count > r->nbuckets)
			(void)room_index_grow(r);	/* else chains grow */
	}
	if (TAILQ_NEXT(m, entry) == NULL)
		room_roster_add(r, m);
	else {
		/* Not at the end: made again when next asked for. */
		sharedbuf_unref(r->roster);
		r->roster = NULL;
	}
	return m;
}

void
room_leave(struct room *r, struct member *m)
{
	struct member **mp;

	if (r->names)
		for (mp = &r->buckets[m->hash & (r->nbuckets - 1)];
		    *mp != NULL; mp = &(*mp)->hnext)
			if (*mp == m) {
				*mp = m->hnext;
				break;
			}
	TAILQ_REMOVE(&r->members, m, entry);
	r->count--;
	free(m);
	/* Made again when next asked for: a hole cannot be cut in it. */
	sharedbuf_unref(r->roster);
	r->roster = NULL;
}

/*
 * A new member at the end of the roster.  A shared roster that has no
 * room left is copied into a bigger one: those it was sent to keep the
 * old.  Failing, the roster is made again when next asked for.
 */
static void
room_roster_add(struct room *r, const struct member *m)
{
	struct sharedbuf *nsb;
	size_t len, add;

	if (r->roster == NULL)
		return;
	add = (r->count > 1 ? 2 : 0) + m->wholen;
	if (sharedbuf_room(r->roster) < add && sharedbuf_refs(r->roster) > 1) {
		len = sharedbuf_len(r->roster);
		if ((nsb = sharedbuf_new(2 * (len + add))) == NULL ||
		    sharedbuf_add(&nsb, sharedbuf_data(r->roster), len) == -1) {
			sharedbuf_unref(nsb);
			goto fail;
		}
		sharedbuf_unref(r->roster);
		r->roster = nsb;
	}
	if ((r->count > 1 && sharedbuf_add(&r->roster, ", ", 2) == -1) ||
	    sharedbuf_add(&r->roster, m->who, m->wholen) == -1)
		goto fail;
	return;
fail:
	sharedbuf_unref(r->roster);
	r->roster = NULL;
}

/*
 * "Here now: A, B, C": every member in order of arrival, without the
 * newline; the caller sends it (or the part of it a newcomer is owed) and
 * takes a reference to keep it.  NULL when out of memory.
 */
struct sharedbuf *
room_roster(struct room *r)
{
	const struct member *m;
	size_t need = sizeof(ROOM_ROSTER_HEAD);

	if (r->roster != NULL)
		return r->roster;
	TAILQ_FOREACH(m, &r->members, entry)
		need += m->wholen + 2;
	/* Room to grow in place: arrivals outnumber departures in a storm. */
	if ((r->roster = sharedbuf_new(need + need / 2)) == NULL)
		return NULL;
	if (sharedbuf_add(&r->roster, ROOM_ROSTER_HEAD,
	    sizeof(ROOM_ROSTER_HEAD) - 1) == -1)
		goto fail;
	TAILQ_FOREACH(m, &r->members, entry)
		if ((m != TAILQ_FIRST(&r->members) &&
		    sharedbuf_add(&r->roster, ", ", 2) == -1) ||
		    sharedbuf_add(&r->roster, m->who, m->wholen) == -1)
			goto fail;
	return r->roster;
fail:
	sharedbuf_unref(r->roster);
	r->roster = NULL;
	return NULL;
}
