/* SPDX-License-Identifier: ISC */
/*
 * reverbd's case mapper, casemap_utf8(), on any bytes: with
 * CASEMAP_BOUND(len) of room the whole text always fits; with less,
 * nothing is written past the room and what is written is a prefix of
 * the whole result; ASCII maps as toupper and
 * tolower do, and upper or lower case is kept by a second pass.
 *
 * Input: one byte (direction, room), then the line.
 */
#include <string.h>

#include "casemap.h"
#include "fuzz.h"

#define SENTINEL	0xa5

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum casemap_dir dir;
	const char *in;
	char *full, *again, *cut;
	size_t len, bound, n, m, cap, i, ascii;

	if (size < 1)
		return 0;
	dir = data[0] & 1 ? CASEMAP_LOWER : CASEMAP_UPPER;
	in = (const char *)data + 1;
	len = size - 1;
	bound = CASEMAP_BOUND(len);

	/* Exactly the bound: ASan sees any byte written past it. */
	if ((full = malloc(bound ? bound : 1)) == NULL ||
	    (again = malloc(bound ? bound : 1)) == NULL)
		abort();
	n = casemap_utf8(full, bound, in, len, dir);
	FUZZ_CHECK(n <= bound);
	for (i = 0, ascii = 1; i < len; i++)
		if ((unsigned char)in[i] >= 0x80)
			ascii = 0;
	if (ascii) {
		FUZZ_CHECK(n == len);
		for (i = 0; i < len; i++) {
			char c = in[i];

			if (dir == CASEMAP_UPPER && c >= 'a' && c <= 'z')
				c -= 'a' - 'A';
			if (dir == CASEMAP_LOWER && c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			FUZZ_CHECK(full[i] == c);
		}
	}
	/* The length reported does not depend on the room. */
	FUZZ_CHECK(casemap_utf8(NULL, 0, in, len, dir) == n);

	/* A smaller room: a prefix of the full result, the rest untouched. */
	cap = (size_t)data[0] >> 1;
	if (cap < n) {
		if ((cut = malloc(cap ? cap : 1)) == NULL)
			abort();
		memset(cut, SENTINEL, cap);
		FUZZ_CHECK(casemap_utf8(cut, cap, in, len, dir) == n);
		for (m = 0; m < cap && cut[m] == full[m]; m++)
			;
		for (i = m; i < cap; i++)
			FUZZ_CHECK((unsigned char)cut[i] == SENTINEL);
		free(cut);
	}

	/* Mapping mapped text the same way again changes nothing. */
	m = casemap_utf8(again, bound, full, n, dir);
	if (m <= bound)
		FUZZ_CHECK(m == n && memcmp(again, full, n) == 0);

	free(full);
	free(again);
	return 0;
}
