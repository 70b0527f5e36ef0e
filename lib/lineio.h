/* SPDX-License-Identifier: ISC */
/* Bounded line reading from an evbuffer. */
#ifndef CLOCKWORK_LINEIO_H
#define CLOCKWORK_LINEIO_H

#include <stddef.h>

struct evbuffer;

enum line_result {
	LINE_OK,	/* a whole line was copied out */
	LINE_NONE,	/* no complete line yet */
	LINE_TOO_LONG,	/* no newline within the bound: the peer misbehaves */
};

enum line_result line_read(struct evbuffer *, char *, size_t, size_t *);
enum line_result line_next(struct evbuffer *, char *, size_t, size_t *,
	    int *);

#endif
