/* SPDX-License-Identifier: ISC */
/*
 * Bounded line reading.  All size arithmetic for incoming lines lives here,
 * so the check that a peer cannot make us buffer without limit is written
 * once.
 */
#include <string.h>

#include <event2/buffer.h>

#include "lineio.h"

/*
 * Copies the next LF-terminated line out of in into buf, without the LF and
 * without a CR just before it, NUL-terminated; its length goes to *lenp
 * (the line may contain NULs).  A line of cap or more bytes before its LF,
 * or cap or more buffered bytes without one, is LINE_TOO_LONG and the
 * buffer is left as it was: the caller decides what to drop.
 */
enum line_result
line_read(struct evbuffer *in, char *buf, size_t cap, size_t *lenp)
{
	struct evbuffer_ptr eol;
	size_t len;

	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos == -1)
		return evbuffer_get_length(in) >= cap ? LINE_TOO_LONG :
		    LINE_NONE;
	len = (size_t)eol.pos;
	if (len >= cap)
		return LINE_TOO_LONG;
	if (evbuffer_remove(in, buf, len) != (int)len)
		return LINE_NONE;
	evbuffer_drain(in, 1);
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	*lenp = len;
	return LINE_OK;
}

/*
 * line_read() for peers that may send an over-long line and stay (chat):
 * such a line is reported once, as LINE_TOO_LONG, and from the next call
 * on its bytes are dropped as they arrive, up to and including its LF, so
 * that nothing of it is ever held.  *skipping (0 at first) keeps that
 * state from one call to the next.
 */
enum line_result
line_next(struct evbuffer *in, char *buf, size_t cap, size_t *lenp,
    int *skipping)
{
	struct evbuffer_ptr eol;
	enum line_result r;

	if (*skipping) {
		eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
		if (eol.pos == -1) {
			evbuffer_drain(in, evbuffer_get_length(in));
			return LINE_NONE;
		}
		evbuffer_drain(in, (size_t)eol.pos + 1);
		*skipping = 0;
	}
	if ((r = line_read(in, buf, cap, lenp)) == LINE_TOO_LONG)
		*skipping = 1;
	return r;
}
