/* SPDX-License-Identifier: ISC */
/*
 * The image a daemon leaves its successor: a header (who wrote it, how
 * many listening sockets and clients, the daemon's own blob), then one
 * record per client in order of arrival.  Written by the predecessor,
 * read back, field by field and within bounds, by the successor.
 */
#ifndef CLOCKWORK_HANDOVER_IMAGE_H
#define CLOCKWORK_HANDOVER_IMAGE_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define HANDOVER_NAME_MAX	15		/* "clockd", "reverbd" */
#define HANDOVER_LISTENERS_MAX	32		/* LISTEN_MAX */
#define HANDOVER_CLIENTS_MAX	65536
#define HANDOVER_BLOB_MAX	(1U << 20)	/* the daemon's own state */
#define HANDOVER_PART_MAX	(1U << 24)	/* one client's out, in, or data */
#define HANDOVER_IMAGE_MAX	((size_t)1 << 30)
#define HANDOVER_HEAD_LEN	72
#define HANDOVER_RECORD_MIN	56		/* a client record without bytes */

/* What reading an image, or one record of it, came to. */
enum handover_result {
	HANDOVER_OK,
	HANDOVER_END,		/* every client record has been read, and all of the image */
	HANDOVER_SHORT,		/* the image ends before what it announces */
	HANDOVER_BAD_MAGIC,	/* not a hand-over image */
	HANDOVER_BAD_VERSION,	/* one from a version we do not read */
	HANDOVER_WRONG_DAEMON,	/* another daemon's */
	HANDOVER_BAD_HEADER,	/* checksum, sizes or counts out of bounds */
	HANDOVER_BAD_RECORD,	/* this client's record is unusable; the next one can be read */
	HANDOVER_LOST,		/* the records' framing is broken: none after this one */
};

/* Client flags: lib/server's state of the connection. */
#define HANDOVER_CLIENT_CLOSING	0x1	/* closing once its output is out */
#define HANDOVER_CLIENT_PAUSED	0x2	/* reading paused by the daemon */
#define HANDOVER_CLIENT_FLAGS	0x3	/* every flag a reader knows */

struct handover_head {
	char			 daemon[HANDOVER_NAME_MAX + 1];
	uint32_t		 pid;		/* of the predecessor */
	uint32_t		 nlisteners;
	uint32_t		 nclients;
	uint64_t		 started_us;	/* monotime_us() when it began */
	const uint8_t		*blob;
	size_t			 bloblen;
};

struct handover_client {
	uint32_t		 index;		/* its socket's place among the clients' */
	uint32_t		 flags;
	struct sockaddr_storage	 peer;		/* AF_INET or AF_INET6 */
	socklen_t		 peerlen;
	const uint8_t		*out;		/* queued, not yet sent */
	size_t			 outlen;
	const uint8_t		*in;		/* received, not yet read */
	size_t			 inlen;
	const uint8_t		*data;		/* the daemon's record of it */
	size_t			 datalen;
};

struct handover_reader {
	const uint8_t		*img;
	size_t			 len;
	size_t			 off;		/* of the next record */
	uint32_t		 next;		/* index of the next record */
	uint32_t		 nclients;
	int			 lost;
};

struct handover_writer {
	uint8_t			*p;
	size_t			 len;
	size_t			 cap;
	uint32_t		 nclients;
	int			 failed;	/* ENOMEM or a bound: image unusable */
};

enum handover_result handover_read_head(struct handover_reader *,
	    const void *, size_t, const char *, struct handover_head *);
enum handover_result handover_read_client(struct handover_reader *,
	    struct handover_client *);
const char *handover_result_str(enum handover_result);

int	handover_write_begin(struct handover_writer *, const char *, uint32_t,
	    uint32_t, uint64_t, const void *, size_t);
int	handover_write_client(struct handover_writer *, uint32_t,
	    const struct sockaddr *, struct evbuffer *, struct evbuffer *,
	    struct evbuffer *);
int	handover_write_end(struct handover_writer *);
void	handover_write_free(struct handover_writer *);

uint32_t handover_crc32(uint32_t, const void *, size_t);

#endif
