/* SPDX-License-Identifier: ISC */
/*
 * The memory budget of listings and transfers: plain counting, in the
 * loop only.  A session's share is a size_t of its own (held), checked
 * against FTP_BUDGET_SESSION, and counted in the server's.
 */
#include "ftp_budget.h"

/*
 * Takes n bytes for a session that holds *held already: 0, or -1 (and
 * nothing taken) when the session or the server would pass its bound.
 */
int
ftp_budget_take(struct ftp_budget *b, size_t *held, size_t n)
{
	if (n > FTP_BUDGET_SESSION - *held || n > b->max - b->used) {
		b->refused++;
		return -1;
	}
	*held += n;
	b->used += n;
	return 0;
}

/* Gives back n bytes of what the session holds (all of it at most). */
void
ftp_budget_give(struct ftp_budget *b, size_t *held, size_t n)
{
	if (n > *held)
		n = *held;
	*held -= n;
	b->used -= n;
}
