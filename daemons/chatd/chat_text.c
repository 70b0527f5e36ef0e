/* SPDX-License-Identifier: ISC */
/*
 * Client text as chatd passes it on.  Every line is UTF-8 to its readers'
 * terminals, so a control character (C0 but TAB, DEL, C1) or a byte that
 * is not part of valid UTF-8 becomes '?' before anyone sees it.  Names are
 * stricter: no control character at all, 1 to CHAT_NAME_MAX characters
 * once the spaces around them are gone, and compared through a key that
 * ignores case and compatibility forms.  UTF-8 is decoded by libunistring,
 * which refuses overlong forms, surrogates and code points past U+10FFFF.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "chat_text.h"

static int	chat_is_control(ucs4_t);

static int
chat_is_control(ucs4_t uc)
{
	return uc < 0x20 || uc == 0x7f || (uc >= 0x80 && uc <= 0x9f);
}

/*
 * Cleans len bytes of s in place: each control character but TAB, and
 * each byte that does not start a valid UTF-8 character, becomes one '?'.
 * The result is never longer (a two-byte C1 control becomes one byte);
 * returns its length.
 */
size_t
chat_text_clean(char *s, size_t len)
{
	uint8_t *p = (uint8_t *)s;
	size_t i = 0, o = 0;
	ucs4_t uc;
	int n;

	while (i < len) {
		if (p[i] >= 0x20 && p[i] < 0x7f) {
			p[o++] = p[i++];
			continue;
		}
		n = u8_mbtoucr(&uc, p + i, len - i);
		if (n <= 0 || (chat_is_control(uc) && uc != '\t')) {
			p[o++] = '?';
			i += n > 0 ? (size_t)n : 1;
			continue;
		}
		memmove(p + o, p + i, (size_t)n);
		o += (size_t)n;
		i += (size_t)n;
	}
	return o;
}

/*
 * Checks a name as typed (CR and LF already gone) and makes it what is
 * shown: spaces around it trimmed, invalid UTF-8 as '?'.  The name is
 * *offp bytes into s and *lenp long when CHAT_NAME_OK.
 */
enum chat_name_result
chat_name_check(char *s, size_t len, size_t *offp, size_t *lenp)
{
	const uint8_t *p;
	size_t i, start = 0, end = len, chars = 0;
	ucs4_t uc;
	int n;

	while (start < end && s[start] == ' ')
		start++;
	while (end > start && s[end - 1] == ' ')
		end--;
	if (start == end)
		return CHAT_NAME_EMPTY;
	p = (const uint8_t *)s + start;
	for (i = 0; i < end - start; i += n > 0 ? (size_t)n : 1) {
		n = u8_mbtoucr(&uc, p + i, end - start - i);
		if (n > 0 && chat_is_control(uc))
			return CHAT_NAME_CONTROL;
		if (++chars > CHAT_NAME_MAX)
			return CHAT_NAME_LONG;
	}
	*offp = start;
	*lenp = chat_text_clean(s + start, end - start);
	return CHAT_NAME_OK;
}

/*
 * The key two names are compared by: Unicode case folding with
 * compatibility normalisation (NFKC), so that "Bob", "BOB" and a
 * fullwidth "Ｂｏｂ" are one name.  A new string (free it), its length in
 * *keylenp; NULL when out of memory.
 */
char *
chat_name_key(const char *name, size_t len, size_t *keylenp)
{
	uint8_t *key;
	size_t klen = 0;

	key = u8_casefold((const uint8_t *)name, len, NULL, UNINORM_NFKC,
	    NULL, &klen);
	if (key == NULL)
		return NULL;
	*keylenp = klen;
	return (char *)key;
}
