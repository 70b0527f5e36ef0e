/* SPDX-License-Identifier: ISC */
/*
 * The hand-over image reader (lib/handover_image.c) on any bytes: the
 * first byte picks the daemon name it expects and whether the checksums
 * are made right first (so that the fuzzer gets past them to the fields
 * they guard); the rest is the image.
 * Every record it accepts lies inside the image with lengths that add
 * up, the walk ends within the count announced, and an image read back
 * whole is exactly what the writer makes of what was read: the encoding
 * has one form, so nothing unchecked can ride along.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz.h"
#include "handover_image.h"

static const char *names[] = { "clockd", "reverbd", "chatd", "" };

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* Every checksum made right, following the framing as far as it goes. */
static void
fix_checksums(uint8_t *p, size_t len)
{
	size_t off, rlen;
	uint32_t bloblen, k;

	if (len < HANDOVER_HEAD_LEN)
		return;
	bloblen = get32(p + 44);
	if (bloblen <= len - HANDOVER_HEAD_LEN)
		put32(p + 64, handover_crc32(0, p + HANDOVER_HEAD_LEN,
		    bloblen));
	put32(p + 68, handover_crc32(0, p, 68));
	if (bloblen > len - HANDOVER_HEAD_LEN)
		return;
	off = HANDOVER_HEAD_LEN + bloblen;
	for (k = 0; k < get32(p + 40) && len - off >= 12; k++) {
		rlen = get32(p + off);
		if (rlen < 12 || rlen > len - off)
			return;
		put32(p + off + 8, handover_crc32(0, p + off + 12, rlen - 12));
		off += rlen;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct handover_reader r;
	struct handover_head h;
	struct handover_client c;
	struct handover_writer w;
	struct evbuffer *out, *in, *rec;
	enum handover_result res;
	const uint8_t *img, *end;
	uint8_t *copy;
	size_t len, k, ok = 0;
	int whole = 1;

	if (size < 1)
		return 0;
	len = size - 1;
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, data + 1, len);
	if (data[0] & 4)
		fix_checksums(copy, len);
	img = copy;
	end = img + len;
	res = handover_read_head(&r, img, len, names[data[0] % 4], &h);
	if (res != HANDOVER_OK) {
		FUZZ_CHECK(handover_read_client(&r, &c) == HANDOVER_LOST);
		free(copy);
		return 0;
	}
	FUZZ_CHECK(strcmp(h.daemon, names[data[0] % 4]) == 0);
	FUZZ_CHECK(h.nclients <= HANDOVER_CLIENTS_MAX);
	FUZZ_CHECK(h.nlisteners <= HANDOVER_LISTENERS_MAX);
	FUZZ_CHECK(h.blob >= img && h.bloblen <= (size_t)(end - h.blob));
	if ((out = evbuffer_new()) == NULL || (in = evbuffer_new()) == NULL ||
	    (rec = evbuffer_new()) == NULL)
		abort();
	if (handover_write_begin(&w, h.daemon, h.pid, h.nlisteners,
	    h.started_us, h.blob, h.bloblen) == -1)
		abort();
	for (k = 0; k <= h.nclients; k++) {
		res = handover_read_client(&r, &c);
		if (k == h.nclients) {
			/* Done, or bytes after the last record. */
			FUZZ_CHECK(res == HANDOVER_END || res == HANDOVER_LOST);
			if (res == HANDOVER_LOST)
				whole = 0;
			break;
		}
		FUZZ_CHECK(res != HANDOVER_END);
		if (res == HANDOVER_LOST || res == HANDOVER_SHORT) {
			FUZZ_CHECK(handover_read_client(&r, &c) ==
			    HANDOVER_LOST);
			whole = 0;
			break;
		}
		if (res != HANDOVER_OK) {
			FUZZ_CHECK(res == HANDOVER_BAD_RECORD);
			whole = 0;
			continue;
		}
		ok++;
		FUZZ_CHECK(c.index == k);
		FUZZ_CHECK((c.flags & ~(uint32_t)HANDOVER_CLIENT_FLAGS) == 0);
		FUZZ_CHECK(c.peer.ss_family == AF_INET ||
		    c.peer.ss_family == AF_INET6);
		FUZZ_CHECK(c.out >= img && c.outlen <= (size_t)(end - c.out));
		FUZZ_CHECK(c.in == c.out + c.outlen);
		FUZZ_CHECK(c.inlen <= (size_t)(end - c.in));
		FUZZ_CHECK(c.data == c.in + c.inlen);
		FUZZ_CHECK(c.datalen <= (size_t)(end - c.data));
		evbuffer_drain(out, evbuffer_get_length(out));
		evbuffer_drain(in, evbuffer_get_length(in));
		evbuffer_drain(rec, evbuffer_get_length(rec));
		if (evbuffer_add(out, c.out, c.outlen) == -1 ||
		    evbuffer_add(in, c.in, c.inlen) == -1 ||
		    evbuffer_add(rec, c.data, c.datalen) == -1)
			abort();
		FUZZ_CHECK(handover_write_client(&w, c.flags,
		    (struct sockaddr *)&c.peer, out, in, rec) == 0);
	}
	FUZZ_CHECK(ok <= h.nclients);
	if (whole) {
		/* One form only: what was read, written again, is the input. */
		FUZZ_CHECK(handover_write_end(&w) == 0);
		FUZZ_CHECK(w.len == len && memcmp(w.p, img, len) == 0);
	}
	handover_write_free(&w);
	evbuffer_free(out);
	evbuffer_free(in);
	evbuffer_free(rec);
	free(copy);
	return 0;
}
