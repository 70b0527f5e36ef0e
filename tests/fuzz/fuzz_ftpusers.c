/* SPDX-License-Identifier: ISC */
/*
 * The --users file: ftp_users_load() on any bytes (through a memfd, as a
 * file), and ftp_users_parse_line() on each of its lines.  A user parsed
 * has a plain name, a hash and an absolute home without ':', and its
 * line is exactly name:hash:home with an optional :rw, :ro or ':'; every
 * loaded user is found by name, and names are never loaded twice.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ftp_users.h"
#include "fuzz.h"

static void	fuzz_line(const char *);

static void
fuzz_line(const char *line)
{
	struct ftp_user u;
	char *again;
	size_t need;
	int r;

	errno = 0;
	r = ftp_users_parse_line(line, &u);
	if (r != 1) {
		FUZZ_CHECK(r == 0 || (r == -1 && errno == EINVAL));
		FUZZ_CHECK(u.name == NULL && u.hash == NULL && u.home == NULL);
		return;
	}
	FUZZ_CHECK(ftp_users_name_ok(u.name));
	FUZZ_CHECK(u.hash[0] != '\0' && strchr(u.hash, ':') == NULL);
	FUZZ_CHECK(u.home[0] == '/' && strchr(u.home, ':') == NULL);
	FUZZ_CHECK(u.rw == 0 || u.rw == 1);
	need = strlen(u.name) + strlen(u.hash) + strlen(u.home) + 8;
	if ((again = malloc(need)) == NULL)
		abort();
	snprintf(again, need, "%s:%s:%s", u.name, u.hash, u.home);
	FUZZ_CHECK(strncmp(line, again, strlen(again)) == 0);
	line += strlen(again);
	FUZZ_CHECK(*line == '\0' || strcmp(line, ":") == 0 ||
	    strcmp(line, ":ro") == 0 || strcmp(line, ":rw") == 0);
	FUZZ_CHECK(u.rw == (strcmp(line, ":rw") == 0));
	free(again);
	ftp_user_free(&u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	struct ftp_users us;
	char path[64], err[256], *text, *line, *nl;
	size_t i, j;

	if (fd == -1 && (fd = memfd_create("users", MFD_CLOEXEC)) == -1)
		abort();
	if (ftruncate(fd, 0) == -1 || pwrite(fd, data, size, 0) !=
	    (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	if (ftp_users_load(path, &us, err, sizeof(err)) == 0) {
		FUZZ_CHECK(us.n <= FTP_USERS_MAX);
		for (i = 0; i < us.n; i++) {
			FUZZ_CHECK(ftp_users_name_ok(us.users[i].name));
			FUZZ_CHECK(ftp_users_find(&us, us.users[i].name) ==
			    &us.users[i]);
			for (j = i + 1; j < us.n && j < i + 64; j++)
				FUZZ_CHECK(strcmp(us.users[i].name,
				    us.users[j].name) != 0);
		}
		ftp_users_free(&us);
	} else {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(us.n == 0 && us.users == NULL);
	}

	/* Each line on its own, as the loader cuts them. */
	if ((text = malloc(size + 1)) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; line < text + size; line = nl + 1) {
		if ((nl = memchr(line, '\n', (size_t)(text + size - line))) ==
		    NULL)
			nl = text + size;
		*nl = '\0';
		fuzz_line(line);
	}
	free(text);
	return 0;
}
