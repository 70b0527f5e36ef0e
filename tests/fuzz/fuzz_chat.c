/* SPDX-License-Identifier: ISC */
/*
 * chatd's line and name handling, as the daemon chains it: a client's
 * bytes arrive in pieces (their size from the input), line_next() cuts
 * them at --max-line (a cap from the input), each line is cleaned for the
 * room or checked as a name and joined to a room with names.
 *
 * Invariants: the lines and refusals are exactly those of a model that
 * splits the whole input at once (one LINE_TOO_LONG per long line, none
 * of its bytes held); a cleaned line is never longer, is valid UTF-8 and
 * holds no control character but TAB, and cleaning it again changes
 * nothing; a name that passes has 1 to 32 characters, no space around
 * it, no control character; a name in the room is taken whatever its
 * case, and the roster ends with the newcomer, as it was before it.
 */
#include <errno.h>
#include <string.h>

#include <event2/buffer.h>
#include <unistr.h>

#include "chat_text.h"
#include "fuzz.h"
#include "lineio.h"
#include "room.h"
#include "sharedbuf.h"

#define CHAT_MAXCAP	300
#define CHAT_ROOM_MAX	32	/* names before the room starts again */

struct model {
	const uint8_t	*p;
	size_t		 len, at;
	size_t		 cap;
};

static void	check_clean(const char *, size_t);
static void	check_name(struct room *, const char *, size_t);
static int	model_next(struct model *, const uint8_t **, size_t *);

/* The model's next event: 1 a line (*linep, *lenp), 0 too long, -1 done. */
static int
model_next(struct model *m, const uint8_t **linep, size_t *lenp)
{
	const uint8_t *lf;
	size_t seg;

	while (m->at < m->len) {
		lf = memchr(m->p + m->at, '\n', m->len - m->at);
		seg = lf != NULL ? (size_t)(lf - (m->p + m->at)) :
		    m->len - m->at;
		*linep = m->p + m->at;
		m->at += seg + (lf != NULL);
		if (seg >= m->cap)
			return 0;
		if (lf == NULL)
			return -1;	/* a partial line, never reported */
		*lenp = seg > 0 && (*linep)[seg - 1] == '\r' ? seg - 1 : seg;
		return 1;
	}
	return -1;
}

static void
check_clean(const char *line, size_t len)
{
	char a[CHAT_MAXCAP], b[CHAT_MAXCAP];
	size_t n, n2, i;
	ucs4_t uc;
	int k;

	memcpy(a, line, len);
	n = chat_text_clean(a, len);
	FUZZ_CHECK(n <= len);
	FUZZ_CHECK(u8_check((const uint8_t *)a, n) == NULL);
	for (i = 0; i < n; i += (size_t)k) {
		k = u8_mbtoucr(&uc, (const uint8_t *)a + i, n - i);
		FUZZ_CHECK(k > 0);
		FUZZ_CHECK(uc == '\t' || (uc >= 0x20 && uc != 0x7f &&
		    !(uc >= 0x80 && uc <= 0x9f)));
	}
	memcpy(b, a, n);
	n2 = chat_text_clean(b, n);
	FUZZ_CHECK(n2 == n && memcmp(a, b, n) == 0);
}

static void
check_name(struct room *r, const char *line, size_t len)
{
	char buf[CHAT_MAXCAP], upper[CHAT_MAXCAP];
	struct sharedbuf *before, *after;
	struct member *m;
	size_t off, nlen, blen, alen, chars, i;

	memcpy(buf, line, len);
	if (chat_name_check(buf, len, &off, &nlen) != CHAT_NAME_OK)
		return;
	FUZZ_CHECK(nlen > 0 && off + nlen <= len);
	FUZZ_CHECK(buf[off] != ' ' && buf[off + nlen - 1] != ' ');
	FUZZ_CHECK(u8_check((const uint8_t *)buf + off, nlen) == NULL);
	chars = u8_mbsnlen((const uint8_t *)buf + off, nlen);
	FUZZ_CHECK(chars >= 1 && chars <= CHAT_NAME_MAX);
	for (i = 0; i < nlen; i++)
		FUZZ_CHECK((unsigned char)buf[off + i] >= 0x20 &&
		    buf[off + i] != 0x7f);
	if (r->count >= CHAT_ROOM_MAX) {
		room_clear(r);
		FUZZ_CHECK(room_init(r, 1) == 0);
	}
	before = room_roster(r);
	FUZZ_CHECK(before != NULL);
	sharedbuf_ref(before);
	blen = sharedbuf_len(before);
	errno = 0;
	m = room_join(r, buf + off, nlen, NULL);
	if (m == NULL) {
		FUZZ_CHECK(errno == EEXIST);
		FUZZ_CHECK(room_taken(r, buf + off, nlen) == 1);
		sharedbuf_unref(before);
		return;
	}
	FUZZ_CHECK(room_taken(r, buf + off, nlen) == 1);
	/* ASCII letters in another case: the same name. */
	for (i = 0; i < nlen; i++)
		upper[i] = buf[off + i] >= 'a' && buf[off + i] <= 'z' ?
		    (char)(buf[off + i] - 'a' + 'A') : buf[off + i];
	FUZZ_CHECK(room_taken(r, upper, nlen) == 1);
	/* The roster: what it was, then (", ") the newcomer. */
	after = room_roster(r);
	FUZZ_CHECK(after != NULL);
	alen = sharedbuf_len(after);
	FUZZ_CHECK(alen == blen + (r->count > 1 ? 2 : 0) + nlen);
	FUZZ_CHECK(memcmp(sharedbuf_data(after), sharedbuf_data(before),
	    blen) == 0);
	FUZZ_CHECK(memcmp(sharedbuf_data(after) + alen - nlen, buf + off,
	    nlen) == 0);
	sharedbuf_unref(before);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *in;
	struct model m;
	struct room r;
	enum line_result res;
	const uint8_t *want;
	char *buf;
	size_t cap, chunk, fed = 0, len, wlen;
	int skipping = 0, ev;

	if (size < 2)
		return 0;
	cap = 2 + data[0] % (CHAT_MAXCAP - 2);
	chunk = 1 + data[1] % 64;
	memset(&m, 0, sizeof(m));
	m.p = data + 2;
	m.len = size - 2;
	m.cap = cap;
	if ((in = evbuffer_new()) == NULL || (buf = malloc(cap)) == NULL)
		abort();
	FUZZ_CHECK(room_init(&r, 1) == 0);
	for (;;) {
		res = line_next(in, buf, cap, &len, &skipping);
		if (res == LINE_NONE) {
			/* Nothing held past the cap, and nothing of a long line. */
			FUZZ_CHECK(evbuffer_get_length(in) < cap);
			if (fed == m.len)
				break;
			len = m.len - fed < chunk ? m.len - fed : chunk;
			if (evbuffer_add(in, m.p + fed, len) == -1)
				abort();
			fed += len;
			continue;
		}
		ev = model_next(&m, &want, &wlen);
		if (res == LINE_TOO_LONG) {
			FUZZ_CHECK(ev == 0);
			continue;
		}
		FUZZ_CHECK(ev == 1);
		FUZZ_CHECK(len == wlen && memcmp(buf, want, len) == 0);
		check_clean(buf, len);
		check_name(&r, buf, len);
	}
	/* The model has nothing left to report either. */
	FUZZ_CHECK(model_next(&m, &want, &wlen) == -1);
	room_clear(&r);
	evbuffer_free(in);
	free(buf);
	return 0;
}
