/* SPDX-License-Identifier: ISC */
/* Client text as chatd passes it on: clean lines, valid names. */
#ifndef CHATD_CHAT_TEXT_H
#define CHATD_CHAT_TEXT_H

#include <stddef.h>

#define CHAT_NAME_MAX		32	/* characters */
#define CHAT_NAME_BYTES		(4 * CHAT_NAME_MAX)	/* UTF-8 */

enum chat_name_result {
	CHAT_NAME_OK,
	CHAT_NAME_EMPTY,	/* nothing but spaces */
	CHAT_NAME_LONG,		/* more than CHAT_NAME_MAX characters */
	CHAT_NAME_CONTROL,	/* a control character */
};

size_t	chat_text_clean(char *, size_t);
enum chat_name_result chat_name_check(char *, size_t, size_t *, size_t *);
char	*chat_name_key(const char *, size_t, size_t *);

#endif
