/* SPDX-License-Identifier: ISC */
/*
 * The room: members in order of arrival (a list), and with --names an
 * index of their name keys (a hash table of chains), so that a name is
 * found taken or free in constant time however full the room.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chat_text.h"
#include "room.h"

#define ROOM_BUCKETS_MIN	64

static uint32_t	room_hash(const char *, size_t);
static int	room_index_grow(struct room *);
static struct member **room_slot(struct room *, const char *, size_t,
		    uint32_t);

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
	free(r->here);
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
	struct member *m, **slot = NULL;
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
	m->seq = ++r->seq;
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
	TAILQ_INSERT_TAIL(&r->members, m, entry);
	r->count++;
	if (r->names) {
		*slot = m;
		if (r->count > r->nbuckets)
			(void)room_index_grow(r);	/* else chains grow */
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
}

/*
 * What a new member is told: "You are WHO\n", then "Here now: A, B\n"
 * (every other member, in order of arrival) or "Here now: nobody else\n".
 * In a buffer the room keeps until the next call; its length in *lenp.
 * NULL when out of memory.
 */
const char *
room_greeting(struct room *r, const struct member *newcomer, size_t *lenp)
{
	static const char you[] = "You are ", here[] = "Here now: ",
	    nobody[] = "nobody else";
	const struct member *m;
	size_t need, len, start;
	char *p;

	need = sizeof(you) + newcomer->wholen + sizeof(here) + sizeof(nobody);
	TAILQ_FOREACH(m, &r->members, entry)
		need += m->wholen + 2;
	if (need > r->herecap) {
		if ((p = realloc(r->here, need)) == NULL)
			return NULL;
		r->here = p;
		r->herecap = need;
	}
	p = r->here;
	len = 0;
#define ROOM_PUT(s, n)	do { memcpy(p + len, (s), (n)); len += (n); } while (0)
	ROOM_PUT(you, sizeof(you) - 1);
	ROOM_PUT(newcomer->who, newcomer->wholen);
	ROOM_PUT("\n", 1);
	ROOM_PUT(here, sizeof(here) - 1);
	start = len;
	TAILQ_FOREACH(m, &r->members, entry) {
		if (m == newcomer)
			continue;
		if (len > start)
			ROOM_PUT(", ", 2);
		ROOM_PUT(m->who, m->wholen);
	}
	if (len == start)
		ROOM_PUT(nobody, sizeof(nobody) - 1);
	ROOM_PUT("\n", 1);
#undef ROOM_PUT
	*lenp = len;
	return p;
}
