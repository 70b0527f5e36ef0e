/* SPDX-License-Identifier: ISC */
/* Locale-independent Unicode case mapping of UTF-8 text. */
#ifndef REVERBD_CASEMAP_H
#define REVERBD_CASEMAP_H

#include <stddef.h>

enum casemap_dir {
	CASEMAP_UPPER,
	CASEMAP_LOWER,
};

/*
 * Output bytes that len input bytes can need: a mapped character takes at
 * most one byte more than the character it replaces, and that character
 * has at least two bytes (ASCII maps to ASCII); see the unit test.
 */
#define CASEMAP_BOUND(len)	((len) + (len) / 2)

size_t	casemap_utf8(char *, size_t, const char *, size_t, enum casemap_dir);

#endif
