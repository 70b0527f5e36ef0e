/* SPDX-License-Identifier: ISC */
/*
 * Shared byte blocks (sharedbuf.h).  The block and its bytes are one
 * allocation; growing it may move it, which is why a shared block only
 * takes what fits.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sharedbuf.h"

#define SHAREDBUF_MIN	256	/* first size when none is given */

struct sharedbuf {
	unsigned long	 refs;
	size_t		 len;
	size_t		 cap;
	char		 data[];
};

/* An empty block with room for cap bytes, held once by the caller. */
struct sharedbuf *
sharedbuf_new(size_t cap)
{
	struct sharedbuf *sb;

	if (cap == 0)
		cap = SHAREDBUF_MIN;
	if (cap > SIZE_MAX - sizeof(*sb)) {
		errno = ENOMEM;
		return NULL;
	}
	if ((sb = malloc(sizeof(*sb) + cap)) == NULL)
		return NULL;
	sb->refs = 1;
	sb->len = 0;
	sb->cap = cap;
	return sb;
}

/*
 * Appends len bytes; *sbp may move while the caller holds the only
 * reference.  -1: EBUSY when the block is shared (its bytes are someone's
 * queue) and they do not fit in it, ENOMEM.
 */
int
sharedbuf_add(struct sharedbuf **sbp, const void *p, size_t len)
{
	struct sharedbuf *sb = *sbp, *nsb;
	size_t cap;

	if (len > SIZE_MAX - sizeof(*sb) - sb->len) {
		errno = ENOMEM;
		return -1;
	}
	if (sb->len + len > sb->cap && sb->refs != 1) {
		errno = EBUSY;
		return -1;
	}
	if (sb->len + len > sb->cap) {
		cap = sb->cap;
		while (cap < sb->len + len)
			cap = cap > (SIZE_MAX - sizeof(*sb)) / 2 ?
			    SIZE_MAX - sizeof(*sb) : cap * 2;
		if ((nsb = realloc(sb, sizeof(*sb) + cap)) == NULL)
			return -1;
		nsb->cap = cap;
		*sbp = sb = nsb;
	}
	memcpy(sb->data + sb->len, p, len);
	sb->len += len;
	return 0;
}

/*
 * Gives back the room beyond the bytes, before sharing: a block that
 * queues keep alive should cost what it holds.  Harmless when shrinking
 * fails or the block is shared.
 */
void
sharedbuf_trim(struct sharedbuf **sbp)
{
	struct sharedbuf *sb = *sbp, *nsb;

	if (sb->refs != 1 || sb->cap == sb->len || sb->len == 0)
		return;
	if ((nsb = realloc(sb, sizeof(*sb) + sb->len)) == NULL)
		return;
	nsb->cap = nsb->len;
	*sbp = nsb;
}

const char *
sharedbuf_data(const struct sharedbuf *sb)
{
	return sb->data;
}

size_t
sharedbuf_len(const struct sharedbuf *sb)
{
	return sb->len;
}

/* Bytes that may still be appended without moving the block. */
size_t
sharedbuf_room(const struct sharedbuf *sb)
{
	return sb->cap - sb->len;
}

unsigned long
sharedbuf_refs(const struct sharedbuf *sb)
{
	return sb->refs;
}

struct sharedbuf *
sharedbuf_ref(struct sharedbuf *sb)
{
	sb->refs++;
	return sb;
}

/* Drops one reference; the last frees the block.  NULL is ignored. */
void
sharedbuf_unref(struct sharedbuf *sb)
{
	if (sb != NULL && --sb->refs == 0)
		free(sb);
}
