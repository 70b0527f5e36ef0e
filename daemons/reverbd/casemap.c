/* SPDX-License-Identifier: ISC */
/*
 * Case mapping of UTF-8 text, one code point at a time, with the simple
 * (one to one) mappings of the Unicode Character Database, as Go's
 * unicode.ToUpper and unicode.ToLower do.  The tables and the UTF-8
 * decoder (u8_mbtoucr: no overlong forms, surrogates or code points past
 * U+10FFFF) are libunistring's, which never consults the locale: a daemon
 * under systemd has none.  Bytes that are not valid UTF-8 pass unchanged.
 */
#include <stdint.h>
#include <string.h>

#include <unicase.h>
#include <unistr.h>

#include "casemap.h"

/*
 * Maps len bytes of in to upper or lower case into out, writing at most
 * cap bytes and nothing beyond them.  Returns the length of the whole
 * mapped text, as snprintf does: more than cap means it was cut short.
 * CASEMAP_BOUND(len) bytes of room are always enough.
 */
size_t
casemap_utf8(char *out, size_t cap, const char *in, size_t len,
    enum casemap_dir dir)
{
	const uint8_t *p = (const uint8_t *)in;
	uint8_t enc[4];
	ucs4_t c;
	size_t i = 0, o = 0, n, m;
	int r;

	while (i < len) {
		if (p[i] < 0x80) {
			/* ASCII, the common case, without the tables. */
			c = p[i];
			if (dir == CASEMAP_UPPER && c >= 'a' && c <= 'z')
				c -= 'a' - 'A';
			else if (dir == CASEMAP_LOWER && c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (o < cap)
				out[o] = (char)c;
			o++;
			i++;
			continue;
		}
		if ((r = u8_mbtoucr(&c, p + i, len - i)) < 0) {
			/* Not UTF-8: the byte passes as it is. */
			if (o < cap)
				out[o] = (char)p[i];
			o++;
			i++;
			continue;
		}
		n = (size_t)r;
		c = dir == CASEMAP_UPPER ? uc_toupper(c) : uc_tolower(c);
		/* A mapping is a valid code point: 1 to 4 bytes. */
		m = (size_t)u8_uctomb(enc, c, sizeof(enc));
		if (o + m <= cap)
			memcpy(out + o, enc, m);
		else if (o < cap)
			/* Nothing after a cut: a half character would lie. */
			cap = o;
		o += m;
		i += n;
	}
	return o;
}
