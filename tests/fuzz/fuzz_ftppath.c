/* SPDX-License-Identifier: ISC */
/*
 * The FTP path resolver, ftp_path_resolve(), against an independent model:
 * the result is always a canonical path inside the root (it starts with
 * "/", has no empty, "." or ".." component and no trailing slash), equal
 * to what a component stack gives, stable when resolved again, and
 * ftp_path_split() takes it apart into parent and name.
 *
 * Input: one byte for the output size, then cwd NUL arg.
 */
#include <errno.h>
#include <string.h>

#include "ftp_path.h"
#include "fuzz.h"

#define MODEL_MAXCOMP	(FTP_PATH_MAX + 1)

static int	fuzz_model(const char *, const char *, size_t, char *);
static void	fuzz_canonical(const char *);

/*
 * The resolver's contract written out as a component stack: 0 with the
 * path in out, EACCES above the root, ENAMETOOLONG when a step does not
 * fit in cap (the resolver builds the path left to right).
 */
static int
fuzz_model(const char *cwd, const char *arg, size_t cap, char *out)
{
	static size_t clen[MODEL_MAXCOMP];
	const char *src[2], *s;
	size_t depth = 0, len = 0, i, n;
	int pass;

	src[0] = arg[0] == '/' ? "" : cwd;
	src[1] = arg;
	for (pass = 0; pass < 2; pass++) {
		s = src[pass];
		for (i = 0; s[i] != '\0'; ) {
			if (s[i] == '/') {
				i++;
				continue;
			}
			for (n = 0; s[i + n] != '\0' && s[i + n] != '/'; n++)
				;
			if (n == 1 && s[i] == '.')
				;
			else if (n == 2 && s[i] == '.' && s[i + 1] == '.') {
				if (depth == 0)
					return EACCES;
				depth--;
				len -= 1 + clen[depth];
			} else {
				if (len + 1 + n >= cap)
					return ENAMETOOLONG;
				clen[depth] = n;
				out[len] = '/';
				memcpy(out + len + 1, s + i, n);
				len += 1 + n;
				depth++;
			}
			i += n;
		}
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* What "inside the root" means for a virtual path. */
static void
fuzz_canonical(const char *p)
{
	const char *c, *e;
	size_t n;

	FUZZ_CHECK(p[0] == '/');
	if (p[1] == '\0')
		return;
	FUZZ_CHECK(p[strlen(p) - 1] != '/');
	for (c = p + 1; ; c = e + 1) {
		if ((e = strchr(c, '/')) == NULL)
			e = c + strlen(c);
		n = (size_t)(e - c);
		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(!(n == 1 && c[0] == '.'));
		FUZZ_CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
		if (*e == '\0')
			break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char model[FTP_PATH_MAX * 2 + 8];
	char *text, *cwd, *arg, *out, *again, *dir;
	const char *name;
	size_t cap, eff, tlen;
	int rc, saved, mrc;

	if (size < 1)
		return 0;
	/* Output sizes around the real one (FTP_PATH_MAX + 1) and tiny. */
	cap = data[0] & 0x80 ? FTP_PATH_MAX + 1 : (size_t)(data[0] & 0x7f);
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	tlen = strlen(text);
	/* cwd NUL arg; a cwd must be absolute, as the session keeps it. */
	cwd = text;
	arg = tlen + 1 < size ? text + tlen + 1 : NULL;
	text[size] = '\0';
	if ((out = malloc(cap ? cap : 1)) == NULL)
		abort();

	errno = 0;
	rc = ftp_path_resolve(cwd, arg, out, cap);
	saved = errno;
	eff = cap > FTP_PATH_MAX + 1 ? FTP_PATH_MAX + 1 : cap;
	if (eff < 2 || cwd[0] != '/') {
		FUZZ_CHECK(rc == -1 && saved == EINVAL);
		goto done;
	}
	mrc = fuzz_model(cwd, arg != NULL ? arg : "", eff, model);
	if (rc == -1) {
		FUZZ_CHECK(saved == EACCES || saved == ENAMETOOLONG);
		FUZZ_CHECK(mrc == saved);
		goto done;
	}
	FUZZ_CHECK(mrc == 0);
	FUZZ_CHECK(strlen(out) < eff);
	FUZZ_CHECK(strcmp(out, model) == 0);
	fuzz_canonical(out);

	/* Resolving a result again changes nothing. */
	if ((again = malloc(eff)) == NULL || (dir = malloc(eff)) == NULL)
		abort();
	FUZZ_CHECK(ftp_path_resolve("/", out, again, eff) == 0);
	FUZZ_CHECK(strcmp(again, out) == 0);
	FUZZ_CHECK(ftp_path_resolve(out, ".", again, eff) == 0);
	FUZZ_CHECK(strcmp(again, out) == 0);
	/* ".." of a result is its parent, the root stays put only as EACCES. */
	if (strcmp(out, "/") == 0) {
		FUZZ_CHECK(ftp_path_split(out, dir, eff, &name) == -1);
		FUZZ_CHECK(ftp_path_resolve(out, "..", again, eff) == -1);
	} else {
		FUZZ_CHECK(ftp_path_split(out, dir, eff, &name) == 0);
		fuzz_canonical(dir);
		FUZZ_CHECK(name > out && strchr(name, '/') == NULL);
		FUZZ_CHECK(name[0] != '\0');
		FUZZ_CHECK(strncmp(out, dir, strlen(dir)) == 0);
		FUZZ_CHECK(ftp_path_resolve(out, "..", again, eff) == 0);
		FUZZ_CHECK(strcmp(again, dir) == 0);
	}
	free(again);
	free(dir);
done:
	free(out);
	free(text);
	return 0;
}
