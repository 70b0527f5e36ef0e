/* SPDX-License-Identifier: ISC */
/*
 * Replays a fuzzer's committed corpus without libFuzzer, so that every
 * seed (regression seeds included) runs in `make check`, under the
 * sanitizers in CI.  Each file is one TAP case; a crash fails the test.
 * Arguments name files or directories; with none, the corpus of
 * FUZZ_NAME under $top_srcdir/tests/fuzz/corpus.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error FUZZ_NAME names the corpus
#endif

static int	replay_file(const char *, int *);
static int	replay_dir(const char *, int *);
static int	replay_path(const char *, int *);
static int	replay_cmp(const void *, const void *);

static int
replay_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs one input; reading errors are failures, crashes end the process. */
static int
replay_file(const char *path, int *n)
{
	FILE *f;
	uint8_t *data = NULL, *p;
	size_t len = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL) {
		printf("not ok %d - %s: %s\n", ++*n, path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((p = realloc(data, cap)) == NULL) {
				fclose(f);
				free(data);
				printf("not ok %d - %s: out of memory\n", ++*n,
				    path);
				return -1;
			}
			data = p;
		}
		got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	/* An exact-size copy, so that ASan sees any read past the end. */
	if ((p = malloc(len ? len : 1)) == NULL) {
		free(data);
		printf("not ok %d - %s: out of memory\n", ++*n, path);
		return -1;
	}
	memcpy(p, data, len);
	free(data);
	fflush(stdout);
	LLVMFuzzerTestOneInput(p, len);
	free(p);
	printf("ok %d - %s %s (%zu bytes)\n", ++*n, FUZZ_NAME,
	    strrchr(path, '/') ? strrchr(path, '/') + 1 : path, len);
	return 0;
}

/* The files of a directory in name order, so that runs are comparable. */
static int
replay_dir(const char *dir, int *n)
{
	DIR *d;
	struct dirent *de;
	char **names = NULL, **tmp, path[4096];
	size_t nnames = 0, i;
	int rc = 0;

	if ((d = opendir(dir)) == NULL) {
		printf("not ok %d - %s: %s\n", ++*n, dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((tmp = realloc(names, (nnames + 1) * sizeof(*names))) ==
		    NULL || (tmp[nnames] = strdup(de->d_name)) == NULL) {
			names = tmp != NULL ? tmp : names;
			rc = -1;
			break;
		}
		names = tmp;
		nnames++;
	}
	closedir(d);
	if (nnames > 0)
		qsort(names, nnames, sizeof(*names), replay_cmp);
	for (i = 0; i < nnames; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) >=
		    (int)sizeof(path))
			rc = -1;
		else if (replay_path(path, n) == -1)
			rc = -1;
		free(names[i]);
	}
	free(names);
	if (rc == -1)
		printf("not ok %d - %s: cannot list\n", ++*n, dir);
	return rc;
}

static int
replay_path(const char *path, int *n)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		printf("not ok %d - %s: %s\n", ++*n, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		return replay_dir(path, n);
	return replay_file(path, n);
}

int
main(int argc, char **argv)
{
	const char *top;
	char dir[4096];
	int i, n = 0, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			if (replay_path(argv[i], &n) == -1)
				rc = 1;
	} else {
		if ((top = getenv("top_srcdir")) == NULL)
			top = ".";
		if (snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top,
		    FUZZ_NAME) >= (int)sizeof(dir))
			return 2;
		if (replay_path(dir, &n) == -1)
			rc = 1;
		/* An empty corpus is a mistake: the test would prove nothing. */
		if (n == 0) {
			printf("not ok 1 - %s: empty corpus\n", dir);
			n = 1;
			rc = 1;
		}
	}
	printf("1..%d\n", n);
	return rc;
}
