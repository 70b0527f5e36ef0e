/* SPDX-License-Identifier: ISC */
/*
 * What every harness shares: the libFuzzer entry point and a check that
 * turns a broken invariant into a crash the fuzzer reports.
 */
#ifndef CLOCKWORK_FUZZ_H
#define CLOCKWORK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

#endif
