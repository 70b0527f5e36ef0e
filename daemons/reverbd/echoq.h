/* SPDX-License-Identifier: ISC */
/*
 * The echoes a connection still owes, in one queue.  Every line has the
 * same delay, so lines waiting for their plain echo are in due order, and
 * so are lines waiting for their lower-case echo: one list holds both runs.
 */
#ifndef REVERBD_ECHOQ_H
#define REVERBD_ECHOQ_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

enum echo_stage {
	ECHO_PLAIN,	/* the line as it came, after one delay */
	ECHO_LOWER,	/* the line in lower case, after another */
};

struct echo {
	STAILQ_ENTRY(echo)	 entry;
	uint64_t		 due;	/* microseconds, monotonic clock */
	uint32_t		 len;
	uint8_t			 stage;	/* enum echo_stage */
	char			 line[];
};

struct echoq {
	STAILQ_HEAD(echo_list, echo) all;	/* arrival order */
	struct echo		*plain;	/* first still owed its plain echo */
	size_t			 count;	/* lines held */
	size_t			 bytes;	/* their text */
};

/* Bytes of one queued echo before malloc's own overhead. */
#define ECHOQ_SIZE(len)	(offsetof(struct echo, line) + (len))

void	echoq_init(struct echoq *);
int	echoq_push(struct echoq *, const char *, size_t, uint64_t);
int	echoq_restore(struct echoq *, const char *, size_t, uint64_t,
	    enum echo_stage);
int	echoq_next(const struct echoq *, uint64_t *);
struct echo *echoq_due(const struct echoq *, uint64_t);
void	echoq_sent(struct echoq *, struct echo *, uint64_t);
void	echoq_clear(struct echoq *);

#endif
