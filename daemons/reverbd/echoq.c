/* SPDX-License-Identifier: ISC */
/*
 * The echoes a connection owes.  Each line is queued once, with the time
 * its next echo is due; its plain echo is sent first, then it waits one
 * more delay for its lower-case echo and leaves the queue.  Lines before
 * the plain cursor wait for their lower-case echo, due in the order their
 * plain echoes went out; lines from the cursor on wait for their plain
 * echo, due in arrival order.  The earliest due echo is therefore one of
 * two: the head, or the cursor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "echoq.h"

void
echoq_init(struct echoq *q)
{
	STAILQ_INIT(&q->all);
	q->plain = NULL;
	q->count = 0;
	q->bytes = 0;
}

/* A line at the tail, in stage; NULL with errno (ENOMEM, EOVERFLOW). */
static struct echo *
echoq_append(struct echoq *q, const char *line, size_t len, uint64_t due,
    enum echo_stage stage)
{
	struct echo *e;

	if (len > UINT32_MAX) {
		errno = EOVERFLOW;
		return NULL;
	}
	if ((e = malloc(ECHOQ_SIZE(len))) == NULL)
		return NULL;
	e->due = due;
	e->len = (uint32_t)len;
	e->stage = stage;
	memcpy(e->line, line, len);
	STAILQ_INSERT_TAIL(&q->all, e, entry);
	if (q->plain == NULL && stage == ECHO_PLAIN)
		q->plain = e;
	q->count++;
	q->bytes += len;
	return e;
}

/* Queues a line whose plain echo is due at due; -1/ENOMEM or EOVERFLOW. */
int
echoq_push(struct echoq *q, const char *line, size_t len, uint64_t due)
{
	return echoq_append(q, line, len, due, ECHO_PLAIN) != NULL ? 0 : -1;
}

/*
 * Appends a line as a predecessor saved it, in its stage: lines owed only
 * their lower-case echo come before any owed its plain echo (-1/EINVAL
 * otherwise), each run in due order (the caller checks).
 */
int
echoq_restore(struct echoq *q, const char *line, size_t len, uint64_t due,
    enum echo_stage stage)
{
	if ((stage != ECHO_PLAIN && stage != ECHO_LOWER) ||
	    (stage == ECHO_LOWER && q->plain != NULL)) {
		errno = EINVAL;
		return -1;
	}
	return echoq_append(q, line, len, due, stage) != NULL ? 0 : -1;
}

/* The earliest owed echo, or NULL when nothing is owed. */
static struct echo *
echoq_first(const struct echoq *q)
{
	struct echo *head = STAILQ_FIRST(&q->all);

	if (head == NULL || head == q->plain)
		return q->plain;
	/* On a tie the older line goes first. */
	if (q->plain == NULL || head->due <= q->plain->due)
		return head;
	return q->plain;
}

/* When the next echo is due; 0 when nothing is owed. */
int
echoq_next(const struct echoq *q, uint64_t *due)
{
	struct echo *e;

	if ((e = echoq_first(q)) == NULL)
		return 0;
	*due = e->due;
	return 1;
}

/* The earliest echo due at or before now, or NULL. */
struct echo *
echoq_due(const struct echoq *q, uint64_t now)
{
	struct echo *e;

	if ((e = echoq_first(q)) == NULL || e->due > now)
		return NULL;
	return e;
}

/*
 * Records that e's echo went out: after its plain echo it waits for its
 * lower-case echo at next; after that it is freed.  e must come from
 * echoq_due, which only returns the head or the cursor.
 */
void
echoq_sent(struct echoq *q, struct echo *e, uint64_t next)
{
	if (e->stage == ECHO_PLAIN) {
		e->stage = ECHO_LOWER;
		e->due = next;
		q->plain = STAILQ_NEXT(e, entry);
		return;
	}
	STAILQ_REMOVE_HEAD(&q->all, entry);
	q->count--;
	q->bytes -= e->len;
	free(e);
}

void
echoq_clear(struct echoq *q)
{
	struct echo *e;

	while ((e = STAILQ_FIRST(&q->all)) != NULL) {
		STAILQ_REMOVE_HEAD(&q->all, entry);
		free(e);
	}
	echoq_init(q);
}
