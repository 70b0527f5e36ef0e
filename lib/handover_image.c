/* SPDX-License-Identifier: ISC */
/*
 * The hand-over image, little-endian whatever the machine:
 *
 *   header (72 bytes)
 *     0  "CWHNDOVR"        8  version (1)      12 header length (72)
 *     16 daemon, NUL-padded (16)               32 pid of the writer
 *     36 listening sockets 40 clients          44 blob length
 *     48 image length (8)  56 CLOCK_MONOTONIC us when the writer began (8)
 *     64 CRC-32 of the blob                    68 CRC-32 of bytes 0-67
 *   the daemon's blob
 *   one record per client, in the order of its socket in the capsule:
 *     0  record length     4  "CLNT"           8  CRC-32 of bytes 12-end
 *     12 index             16 flags            20 family (4 or 6), port
 *     24 IPv6 scope        28 address (16)     44 out, in, data lengths
 *     56 the queued output, the unread input, the daemon's record
 *
 * The reader trusts nothing: every length is checked against the bytes
 * that are there and against a bound before it is used, and a record
 * that fails its checksum is reported as such while the next one can
 * still be read.  A broken length ends the walk (HANDOVER_LOST): the
 * clients after it cannot be told apart and are closed by the caller.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "handover_image.h"

#define HANDOVER_MAGIC		"CWHNDOVR"
#define HANDOVER_VERSION	1
#define HANDOVER_KIND_CLIENT	0x544e4c43U	/* "CLNT" */

static uint32_t	get16(const uint8_t *);
static uint32_t	get32(const uint8_t *);
static uint64_t	get64(const uint8_t *);
static void	put16(uint8_t *, uint32_t);
static void	put32(uint8_t *, uint32_t);
static void	put64(uint8_t *, uint64_t);
static uint8_t	*handover_grow(struct handover_writer *, size_t);

static uint32_t
get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* CRC-32 (IEEE 802.3), continued from crc (0 to start). */
uint32_t
handover_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	static int ready;
	const uint8_t *p = buf;
	uint32_t c;
	int i, k;

	if (!ready) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	while (len-- > 0)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

const char *
handover_result_str(enum handover_result r)
{
	switch (r) {
	case HANDOVER_OK:
		return "ok";
	case HANDOVER_END:
		return "no more records";
	case HANDOVER_SHORT:
		return "image cut short";
	case HANDOVER_BAD_MAGIC:
		return "not a hand-over image";
	case HANDOVER_BAD_VERSION:
		return "image of an unknown version";
	case HANDOVER_WRONG_DAEMON:
		return "image of another daemon";
	case HANDOVER_BAD_HEADER:
		return "image header damaged";
	case HANDOVER_BAD_RECORD:
		return "client record damaged";
	case HANDOVER_LOST:
		return "client records unreadable from here on";
	}
	return "unknown";
}

/*
 * Checks the header of img (len bytes, all of the image) and readies r
 * for the client records.  daemon: the name the image must carry.
 */
enum handover_result
handover_read_head(struct handover_reader *r, const void *img, size_t len,
    const char *daemon, struct handover_head *h)
{
	const uint8_t *p = img, *nul;
	uint64_t imagelen;
	uint32_t bloblen;

	memset(r, 0, sizeof(*r));
	memset(h, 0, sizeof(*h));
	r->lost = 1;
	if (len < 8 || memcmp(p, HANDOVER_MAGIC, 8) != 0)
		return len < 8 ? HANDOVER_SHORT : HANDOVER_BAD_MAGIC;
	if (len < HANDOVER_HEAD_LEN)
		return HANDOVER_SHORT;
	if (handover_crc32(0, p, 68) != get32(p + 68))
		return HANDOVER_BAD_HEADER;
	if (get32(p + 8) != HANDOVER_VERSION)
		return HANDOVER_BAD_VERSION;
	if (get32(p + 12) != HANDOVER_HEAD_LEN)
		return HANDOVER_BAD_HEADER;
	/* The name: NUL-terminated inside its 16 bytes, then only NULs. */
	if ((nul = memchr(p + 16, '\0', HANDOVER_NAME_MAX + 1)) == NULL)
		return HANDOVER_BAD_HEADER;
	for (; nul < p + 32; nul++)
		if (*nul != '\0')
			return HANDOVER_BAD_HEADER;
	memcpy(h->daemon, p + 16, HANDOVER_NAME_MAX + 1);
	if (strcmp(h->daemon, daemon) != 0)
		return HANDOVER_WRONG_DAEMON;
	h->pid = get32(p + 32);
	h->nlisteners = get32(p + 36);
	h->nclients = get32(p + 40);
	bloblen = get32(p + 44);
	imagelen = get64(p + 48);
	h->started_us = get64(p + 56);
	if (h->nlisteners > HANDOVER_LISTENERS_MAX ||
	    h->nclients > HANDOVER_CLIENTS_MAX || bloblen > HANDOVER_BLOB_MAX ||
	    imagelen > HANDOVER_IMAGE_MAX)
		return HANDOVER_BAD_HEADER;
	if (imagelen > len)
		return HANDOVER_SHORT;
	if (imagelen < len || bloblen > len - HANDOVER_HEAD_LEN)
		return HANDOVER_BAD_HEADER;
	if (handover_crc32(0, p + HANDOVER_HEAD_LEN, bloblen) != get32(p + 64))
		return HANDOVER_BAD_HEADER;
	h->blob = p + HANDOVER_HEAD_LEN;
	h->bloblen = bloblen;
	r->img = p;
	r->len = len;
	r->off = HANDOVER_HEAD_LEN + bloblen;
	r->nclients = h->nclients;
	r->lost = 0;
	return HANDOVER_OK;
}

/*
 * The next client record.  HANDOVER_BAD_RECORD: this one is unusable
 * (its client must be closed) but the walk goes on; HANDOVER_LOST and
 * HANDOVER_SHORT: neither this one nor any after it can be read.
 */
enum handover_result
handover_read_client(struct handover_reader *r, struct handover_client *c)
{
	const uint8_t *p;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	size_t left, rlen, outlen, inlen, datalen;
	uint32_t index, family;
	int i;

	memset(c, 0, sizeof(*c));
	if (r->lost)
		return HANDOVER_LOST;
	if (r->next >= r->nclients) {
		/* Bytes after the last record: written by nobody we know. */
		if (r->off != r->len) {
			r->lost = 1;
			return HANDOVER_LOST;
		}
		return HANDOVER_END;
	}
	index = r->next++;
	left = r->len - r->off;
	p = r->img + r->off;
	if (left < 12) {
		r->lost = 1;
		return HANDOVER_SHORT;
	}
	rlen = get32(p);
	if (get32(p + 4) != HANDOVER_KIND_CLIENT ||
	    rlen < HANDOVER_RECORD_MIN || rlen > left) {
		r->lost = 1;
		return rlen > left ? HANDOVER_SHORT : HANDOVER_LOST;
	}
	r->off += rlen;
	if (handover_crc32(0, p + 12, rlen - 12) != get32(p + 8) ||
	    get32(p + 12) != index)
		return HANDOVER_BAD_RECORD;
	c->index = index;
	c->flags = get32(p + 16);
	if (c->flags & ~(uint32_t)HANDOVER_CLIENT_FLAGS)
		return HANDOVER_BAD_RECORD;
	family = get16(p + 20);
	if (family == 4) {
		/* The scope and the rest of the address are zero. */
		if (get32(p + 24) != 0)
			return HANDOVER_BAD_RECORD;
		for (i = 4; i < 16; i++)
			if (p[28 + i] != 0)
				return HANDOVER_BAD_RECORD;
		sin = (struct sockaddr_in *)&c->peer;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)get16(p + 22));
		memcpy(&sin->sin_addr, p + 28, 4);
		c->peerlen = sizeof(*sin);
	} else if (family == 6) {
		sin6 = (struct sockaddr_in6 *)&c->peer;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)get16(p + 22));
		sin6->sin6_scope_id = get32(p + 24);
		memcpy(&sin6->sin6_addr, p + 28, 16);
		c->peerlen = sizeof(*sin6);
	} else
		return HANDOVER_BAD_RECORD;
	outlen = get32(p + 44);
	inlen = get32(p + 48);
	datalen = get32(p + 52);
	if (outlen > HANDOVER_PART_MAX || inlen > HANDOVER_PART_MAX ||
	    datalen > HANDOVER_PART_MAX ||
	    HANDOVER_RECORD_MIN + outlen + inlen + datalen != rlen) {
		memset(c, 0, sizeof(*c));
		return HANDOVER_BAD_RECORD;
	}
	c->out = p + HANDOVER_RECORD_MIN;
	c->outlen = outlen;
	c->in = c->out + outlen;
	c->inlen = inlen;
	c->data = c->in + inlen;
	c->datalen = datalen;
	return HANDOVER_OK;
}

/* n more bytes at the end of the image; NULL (and failed) past a bound. */
static uint8_t *
handover_grow(struct handover_writer *w, size_t n)
{
	uint8_t *p;
	size_t cap;

	if (w->failed)
		return NULL;
	if (n > HANDOVER_IMAGE_MAX - w->len) {
		w->failed = EFBIG;
		return NULL;
	}
	if (w->len + n > w->cap) {
		cap = w->cap == 0 ? 65536 : w->cap;
		while (cap < w->len + n)
			cap *= 2;
		if ((p = realloc(w->p, cap)) == NULL) {
			w->failed = ENOMEM;
			return NULL;
		}
		w->p = p;
		w->cap = cap;
	}
	p = w->p + w->len;
	w->len += n;
	return p;
}

/*
 * Starts an image: the daemon's name, the writer's pid, how many
 * listening sockets come first in the capsule, when the hand-over began,
 * and the daemon's blob.  -1 with errno on a bound or ENOMEM.
 */
int
handover_write_begin(struct handover_writer *w, const char *daemon,
    uint32_t pid, uint32_t nlisteners, uint64_t started_us,
    const void *blob, size_t bloblen)
{
	uint8_t *p;

	memset(w, 0, sizeof(*w));
	if (strlen(daemon) > HANDOVER_NAME_MAX ||
	    nlisteners > HANDOVER_LISTENERS_MAX || bloblen > HANDOVER_BLOB_MAX) {
		w->failed = EINVAL;
		errno = EINVAL;
		return -1;
	}
	if ((p = handover_grow(w, HANDOVER_HEAD_LEN + bloblen)) == NULL) {
		errno = w->failed;
		return -1;
	}
	memset(p, 0, HANDOVER_HEAD_LEN);
	memcpy(p, HANDOVER_MAGIC, 8);
	put32(p + 8, HANDOVER_VERSION);
	put32(p + 12, HANDOVER_HEAD_LEN);
	memcpy(p + 16, daemon, strlen(daemon));
	put32(p + 32, pid);
	put32(p + 36, nlisteners);
	put32(p + 44, (uint32_t)bloblen);
	put64(p + 56, started_us);
	if (bloblen > 0)
		memcpy(p + HANDOVER_HEAD_LEN, blob, bloblen);
	put32(p + 64, handover_crc32(0, p + HANDOVER_HEAD_LEN, bloblen));
	return 0;
}

/*
 * One client, the next socket in the capsule: its flags, its peer, and
 * the bytes of out (queued), in (unread) and data (the daemon's record);
 * each may be NULL.  The buffers are left as they were.
 */
int
handover_write_client(struct handover_writer *w, uint32_t flags,
    const struct sockaddr *peer, struct evbuffer *out, struct evbuffer *in,
    struct evbuffer *data)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct evbuffer *parts[3];
	size_t lens[3], total = 0, at;
	uint8_t *p;
	int i;

	parts[0] = out;
	parts[1] = in;
	parts[2] = data;
	for (i = 0; i < 3; i++) {
		lens[i] = parts[i] != NULL ? evbuffer_get_length(parts[i]) : 0;
		if (lens[i] > HANDOVER_PART_MAX)
			w->failed = EFBIG;
		total += lens[i];
	}
	if (w->nclients >= HANDOVER_CLIENTS_MAX ||
	    (flags & ~(uint32_t)HANDOVER_CLIENT_FLAGS) ||
	    (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
		w->failed = EINVAL;
	if (w->failed || (p = handover_grow(w, HANDOVER_RECORD_MIN + total)) ==
	    NULL) {
		errno = w->failed;
		return -1;
	}
	memset(p, 0, HANDOVER_RECORD_MIN);
	put32(p, (uint32_t)(HANDOVER_RECORD_MIN + total));
	put32(p + 4, HANDOVER_KIND_CLIENT);
	put32(p + 12, w->nclients);
	put32(p + 16, flags);
	if (peer->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)peer;
		put16(p + 20, 4);
		put16(p + 22, ntohs(sin->sin_port));
		memcpy(p + 28, &sin->sin_addr, 4);
	} else {
		sin6 = (const struct sockaddr_in6 *)(const void *)peer;
		put16(p + 20, 6);
		put16(p + 22, ntohs(sin6->sin6_port));
		put32(p + 24, sin6->sin6_scope_id);
		memcpy(p + 28, &sin6->sin6_addr, 16);
	}
	at = HANDOVER_RECORD_MIN;
	for (i = 0; i < 3; i++) {
		put32(p + 44 + 4 * i, (uint32_t)lens[i]);
		if (lens[i] > 0 && evbuffer_copyout(parts[i], p + at, lens[i]) !=
		    (ev_ssize_t)lens[i]) {
			w->failed = EIO;
			errno = EIO;
			return -1;
		}
		at += lens[i];
	}
	put32(p + 8, handover_crc32(0, p + 12, HANDOVER_RECORD_MIN - 12 +
	    total));
	w->nclients++;
	return 0;
}

/* Seals the header: the count of clients, the length, the checksum. */
int
handover_write_end(struct handover_writer *w)
{
	if (w->failed || w->len < HANDOVER_HEAD_LEN) {
		errno = w->failed ? w->failed : EINVAL;
		return -1;
	}
	put32(w->p + 40, w->nclients);
	put64(w->p + 48, w->len);
	put32(w->p + 68, handover_crc32(0, w->p, 68));
	return 0;
}

void
handover_write_free(struct handover_writer *w)
{
	free(w->p);
	memset(w, 0, sizeof(*w));
}
