/* SPDX-License-Identifier: ISC */
/*
 * An upload's bytes into its file.  TYPE A makes CR LF into LF: a CR at
 * the end of one piece waits for the next to know what follows it, and
 * one at the very end is written as it came.  Every FTP_SINK_WRITEBACK
 * bytes the kernel is asked to start writing back, without waiting, so
 * that the fsync at the end finds little left to do.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "ftp_sink.h"

#define FTP_SINK_CHUNK		(32 * 1024)	/* TYPE A: converted at once */
#define FTP_SINK_WRITEBACK	(8 * 1024 * 1024) /* start writeback every */

static int	ftp_sink_write_all(int, const char *, size_t);

void
ftp_sink_init(struct ftp_sink *k, int fd, int ascii)
{
	k->fd = fd;
	k->ascii = ascii;
	k->prev_cr = 0;
	k->bytes = 0;
	k->synced = 0;
	k->err = 0;
}

/* write(2) all of buf; -1 with errno on failure. */
static int
ftp_sink_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* n bytes received into the file.  -1 with the errno in k->err. */
int
ftp_sink_write(struct ftp_sink *k, const char *raw, size_t n)
{
	char out[FTP_SINK_CHUNK + 1];
	size_t i, o = 0;

	k->bytes += n;
	if (!k->ascii) {
		if (ftp_sink_write_all(k->fd, raw, n) == -1)
			goto fail;
	} else if (n > 0) {
		if (k->prev_cr && raw[0] != '\n')
			out[o++] = '\r';
		k->prev_cr = 0;
		for (i = 0; i < n; i++) {
			if (raw[i] == '\r' && i + 1 == n) {
				k->prev_cr = 1;
				break;
			}
			if (raw[i] == '\r' && raw[i + 1] == '\n')
				continue;
			out[o++] = raw[i];
			if (o >= FTP_SINK_CHUNK) {
				if (ftp_sink_write_all(k->fd, out, o) == -1)
					goto fail;
				o = 0;
			}
		}
		if (o > 0 && ftp_sink_write_all(k->fd, out, o) == -1)
			goto fail;
	}
	if (k->bytes - k->synced >= FTP_SINK_WRITEBACK) {
		(void)sync_file_range(k->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		k->synced = k->bytes;
	}
	return 0;
fail:
	k->err = errno;
	return -1;
}

/* All is in: a CR held back is written.  -1 with the errno in k->err. */
int
ftp_sink_end(struct ftp_sink *k)
{
	if (k->ascii && k->prev_cr) {
		k->prev_cr = 0;
		if (ftp_sink_write_all(k->fd, "\r", 1) == -1) {
			k->err = errno;
			return -1;
		}
	}
	return 0;
}
