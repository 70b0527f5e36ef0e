/* SPDX-License-Identifier: ISC */
/*
 * line_read(), the one place where client lines are cut and bounded.  The
 * input arrives in pieces whose size comes from the input itself, so that
 * lines are split across reads; every answer is checked against the bytes
 * fed so far.
 */
#include <string.h>

#include <event2/buffer.h>

#include "fuzz.h"
#include "lineio.h"

#define LINEIO_MAXCAP	80

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *in;
	enum line_result r;
	const uint8_t *payload, *lf;
	char *buf;
	size_t cap, chunk, plen, fed = 0, used = 0, len, want, pending;

	if (size < 2)
		return 0;
	cap = 1 + data[0] % LINEIO_MAXCAP;
	chunk = 1 + data[1] % 32;
	payload = data + 2;
	plen = size - 2;
	if ((in = evbuffer_new()) == NULL)
		abort();
	/* Exactly cap bytes, so that ASan catches a write past the bound. */
	if ((buf = malloc(cap)) == NULL)
		abort();
	while (used < plen) {
		if (fed < plen) {
			len = plen - fed < chunk ? plen - fed : chunk;
			if (evbuffer_add(in, payload + fed, len) == -1)
				abort();
			fed += len;
		}
		for (;;) {
			pending = evbuffer_get_length(in);
			FUZZ_CHECK(pending == fed - used);
			len = (size_t)-1;
			r = line_read(in, buf, cap, &len);
			lf = memchr(payload + used, '\n', fed - used);
			if (r == LINE_OK) {
				FUZZ_CHECK(lf != NULL);
				want = (size_t)(lf - (payload + used));
				FUZZ_CHECK(want < cap);
				if (want > 0 && payload[used + want - 1] == '\r')
					want--;
				FUZZ_CHECK(len == want);
				FUZZ_CHECK(memcmp(buf, payload + used, len) == 0);
				FUZZ_CHECK(buf[len] == '\0');
				used = (size_t)(lf - payload) + 1;
				FUZZ_CHECK(evbuffer_get_length(in) ==
				    fed - used);
				continue;
			}
			FUZZ_CHECK(len == (size_t)-1);
			FUZZ_CHECK(evbuffer_get_length(in) == pending);
			if (r == LINE_NONE) {
				FUZZ_CHECK(lf == NULL);
				FUZZ_CHECK(pending < cap);
				break;
			}
			FUZZ_CHECK(r == LINE_TOO_LONG);
			if (lf != NULL)
				FUZZ_CHECK((size_t)(lf - (payload + used)) >=
				    cap);
			else
				FUZZ_CHECK(pending >= cap);
			/* What a daemon does: drop the line, go on. */
			len = lf != NULL ? (size_t)(lf - (payload + used)) + 1 :
			    pending;
			evbuffer_drain(in, len);
			used += len;
		}
		if (fed == plen)
			break;
	}
	evbuffer_free(in);
	free(buf);
	return 0;
}
