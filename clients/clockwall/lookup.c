/* SPDX-License-Identifier: ISC */
/*
 * A clock's host looked up again before each reconnection, so that a name
 * that now points elsewhere is followed.  getaddrinfo() would block the
 * one event loop (a resolver that does not answer takes seconds), so the
 * lookup runs in the background with getaddrinfo_a(), through the same
 * name service switch as getaddrinfo(), and the clock polls it on its
 * timer.  A lookup its clock gave up on cannot always be cancelled: it
 * is kept here until the resolver is done with it, then freed.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "lookup.h"
#include "spec.h"

struct lookup {
	struct gaicb	 cb;
	struct addrinfo	 hints;
	char		 host[SPEC_HOST_MAX];
	char		 port[SPEC_PORT_MAX];
	struct lookup	*next;		/* on the list of dropped ones */
};

static struct lookup	*dropped;	/* given up, still in the resolver */

static void
lookup_free(struct lookup *l)
{
	if (l->cb.ar_result != NULL)
		freeaddrinfo(l->cb.ar_result);
	free(l);
}

/* Starts looking up host (port numeric); NULL with errno on failure. */
struct lookup *
lookup_start(const char *host, const char *port)
{
	struct gaicb *list[1];
	struct lookup *l;

	lookup_reap();
	if (strlen(host) >= SPEC_HOST_MAX || strlen(port) >= SPEC_PORT_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	strcpy(l->host, host);
	strcpy(l->port, port);
	spec_hints(&l->hints);
	l->cb.ar_name = l->host;
	l->cb.ar_service = l->port;
	l->cb.ar_request = &l->hints;
	list[0] = &l->cb;
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, NULL) != 0) {
		free(l);
		errno = EAGAIN;
		return NULL;
	}
	return l;
}

/*
 * Whether the lookup is done.  Once it is (anything but LOOKUP_PENDING),
 * l is freed, and on LOOKUP_FOUND the addresses are in *res.
 */
enum lookup_result
lookup_poll(struct lookup *l, struct addrinfo **res)
{
	enum lookup_result r;
	int e = gai_error(&l->cb);

	if (e == EAI_INPROGRESS)
		return LOOKUP_PENDING;
	if (e == 0) {
		*res = l->cb.ar_result;
		l->cb.ar_result = NULL;
		r = LOOKUP_FOUND;
	} else
		r = spec_unknown_host(e) ? LOOKUP_UNKNOWN : LOOKUP_FAILED;
	lookup_free(l);
	return r;
}

/* Gives up on a lookup: cancelled, or kept until the resolver is done. */
void
lookup_drop(struct lookup *l)
{
	if (l == NULL)
		return;
	if (gai_cancel(&l->cb) == EAI_NOTCANCELED) {
		l->next = dropped;
		dropped = l;
		return;
	}
	lookup_free(l);
}

/* Frees the dropped lookups the resolver has finished with. */
void
lookup_reap(void)
{
	struct lookup **lp = &dropped, *l;

	while ((l = *lp) != NULL) {
		if (gai_error(&l->cb) == EAI_INPROGRESS) {
			lp = &l->next;
			continue;
		}
		*lp = l->next;
		lookup_free(l);
	}
}
