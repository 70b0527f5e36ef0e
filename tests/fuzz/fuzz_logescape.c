/* SPDX-License-Identifier: ISC */
/*
 * log_escape(), which every daemon runs client text through before it is
 * logged: the output is printable ASCII only, NUL-terminated within its
 * buffer, and decodes back to a prefix of the input.
 */
#include <string.h>

#include "fuzz.h"
#include "log.h"

static int	fuzz_hex(char);

static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *src;
	char *dst;
	size_t cap, len, i, o;

	if (size < 1)
		return 0;
	cap = data[0];
	src = (const char *)data + 1;
	/* Exactly cap bytes (at least one to hand a valid pointer). */
	if ((dst = malloc(cap ? cap : 1)) == NULL)
		abort();
	len = log_escape(dst, cap, src, size - 1);
	if (cap == 0)
		FUZZ_CHECK(len == 0);
	else {
		FUZZ_CHECK(len < cap);
		FUZZ_CHECK(dst[len] == '\0');
		FUZZ_CHECK(strlen(dst) == len);
		for (i = 0, o = 0; o < len; i++) {
			unsigned char c = (unsigned char)dst[o];

			FUZZ_CHECK(c >= 0x20 && c < 0x7f);
			FUZZ_CHECK(i < size - 1);
			if (c == '\\') {
				FUZZ_CHECK(o + 3 < len);
				FUZZ_CHECK(dst[o + 1] == 'x');
				FUZZ_CHECK(fuzz_hex(dst[o + 2]) >= 0 &&
				    fuzz_hex(dst[o + 3]) >= 0);
				FUZZ_CHECK((unsigned char)src[i] ==
				    fuzz_hex(dst[o + 2]) * 16 +
				    fuzz_hex(dst[o + 3]));
				o += 4;
			} else {
				FUZZ_CHECK(src[i] == dst[o]);
				o++;
			}
		}
	}
	free(dst);
	return 0;
}
