/* SPDX-License-Identifier: ISC */
/* Text from peers and users made safe and measured for the terminal. */
#ifndef CLOCKWALL_TEXT_H
#define CLOCKWALL_TEXT_H

#include <stddef.h>

size_t	text_clean(char *, size_t, const char *, size_t, int);
size_t	text_width(const char *);
size_t	text_fit(const char *, size_t, size_t *);

#endif
