/* SPDX-License-Identifier: ISC */
/*
 * Case mapping of UTF-8 text, one code point at a time, with the simple
 * (one to one) mappings of the Unicode Character Database, as Go's
 * unicode.ToUpper and unicode.ToLower do.  The tables are libunistring's,
 * which never consult the locale: a daemon under systemd has none.
 * Bytes that are not valid UTF-8 pass unchanged.
 */
#include <stdint.h>
#include <string.h>

#include <unicase.h>

#include "casemap.h"

static size_t	casemap_decode(const unsigned char *, size_t, uint32_t *);
static size_t	casemap_encode(uint32_t, unsigned char *);

/*
 * Decodes one well-formed UTF-8 sequence at p (at most len bytes) into
 * *cp and returns its length, or 0 when the bytes there are not one:
 * truncated, overlong, a surrogate or beyond U+10FFFF.
 */
static size_t
casemap_decode(const unsigned char *p, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		c = p[0] & 0x1f;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		c = p[0] & 0x0f;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		c = p[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Encodes a valid code point into out (4 bytes room); returns the length. */
static size_t
casemap_encode(uint32_t c, unsigned char *out)
{
	if (c < 0x80) {
		out[0] = (unsigned char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (unsigned char)(0xc0 | (c >> 6));
		out[1] = (unsigned char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (c >> 12));
		out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (c >> 18));
	out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (c & 0x3f));
	return 4;
}

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
	const unsigned char *p = (const unsigned char *)in;
	unsigned char enc[4];
	uint32_t c;
	size_t i = 0, o = 0, n, m;

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
		if ((n = casemap_decode(p + i, len - i, &c)) == 0) {
			/* Not UTF-8: the byte passes as it is. */
			if (o < cap)
				out[o] = (char)p[i];
			o++;
			i++;
			continue;
		}
		c = dir == CASEMAP_UPPER ? uc_toupper(c) : uc_tolower(c);
		m = casemap_encode(c, enc);
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
