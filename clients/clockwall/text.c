/* SPDX-License-Identifier: ISC */
/*
 * Text that reaches the terminal comes from clocks we do not control and
 * from arguments and files: it must never carry a control sequence.  All
 * of it passes text_clean() first; the view then measures it in columns.
 */
#include <string.h>

#include <unistr.h>

#include "text.h"

static size_t	text_utf8_len(const unsigned char *, size_t);

/*
 * Length of the valid UTF-8 sequence at s (at most len bytes), 0 when it
 * is not one (libunistring's decoder: no overlong forms, surrogates or
 * code points past U+10FFFF), or is a C1 control (U+0080-U+009F), which
 * some terminals obey as ESC-sequences.
 */
static size_t
text_utf8_len(const unsigned char *s, size_t len)
{
	ucs4_t cp;
	int n;

	if ((n = u8_mbtoucr(&cp, s, len)) < 0 || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return (size_t)n;
}

/*
 * Copies len bytes of src to dst (cap bytes, NUL-terminated), each byte
 * that is not printable ASCII (or, with utf8, part of a valid printable
 * UTF-8 character) replaced by '?'.  Never splits a character; returns
 * the length written.
 */
size_t
text_clean(char *dst, size_t cap, const char *src, size_t len, int utf8)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, o = 0, n;

	if (cap == 0)
		return 0;
	while (i < len) {
		if (s[i] >= 0x20 && s[i] < 0x7f)
			n = 1;
		else if (utf8 && s[i] >= 0x80 &&
		    (n = text_utf8_len(s + i, len - i)) > 0)
			;
		else {
			if (o + 1 >= cap)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= cap)
			break;
		memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

/* Columns taken by clean text: one per character. */
size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/*
 * Bytes of the longest prefix of clean text s that fits in cols columns;
 * its width goes to *widthp (may be NULL).
 */
size_t
text_fit(const char *s, size_t cols, size_t *widthp)
{
	size_t i, w = 0, end = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) == 0x80)
			continue;
		if (w == cols)
			break;
		w++;
		/* The character ends where the next one starts. */
		end = i + 1;
		while (((unsigned char)s[end] & 0xc0) == 0x80)
			end++;
	}
	if (widthp != NULL)
		*widthp = w;
	return end;
}
