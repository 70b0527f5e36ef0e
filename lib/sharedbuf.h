/* SPDX-License-Identifier: ISC */
/*
 * Bytes formatted once and queued to many clients by reference: a block
 * with a reference count.  Bytes in the block never change, and once the
 * block is shared they never move either, so every queue may point into
 * them: a shared block takes appends only while they fit in it (a list
 * that grows, sent in part to each newcomer).  References are taken and
 * dropped on the event loop's thread only.
 */
#ifndef CLOCKWORK_SHAREDBUF_H
#define CLOCKWORK_SHAREDBUF_H

#include <stddef.h>

struct sharedbuf;

struct sharedbuf *sharedbuf_new(size_t);
int	sharedbuf_add(struct sharedbuf **, const void *, size_t);
void	sharedbuf_trim(struct sharedbuf **);
const char *sharedbuf_data(const struct sharedbuf *);
size_t	sharedbuf_len(const struct sharedbuf *);
size_t	sharedbuf_room(const struct sharedbuf *);
unsigned long sharedbuf_refs(const struct sharedbuf *);
struct sharedbuf *sharedbuf_ref(struct sharedbuf *);
void	sharedbuf_unref(struct sharedbuf *);

#endif
