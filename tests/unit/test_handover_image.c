/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/handover_image.c: an image written is read back the
 * same; every damaged header is refused; a damaged client record costs
 * that client only, a broken framing the records from there on; every
 * bound is enforced on both sides.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "handover_image.h"

#define NCLIENTS	3
#define BIG		100000

static struct handover_writer w;
static uint8_t *big;

static void	put32(uint8_t *, uint32_t);
static void	recrc_head(uint8_t *);
static void	recrc_record(uint8_t *, size_t);
static struct evbuffer *buf_of(const void *, size_t);
static void	write_image(void);
static size_t	record_at(const uint8_t *, int);

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void
recrc_head(uint8_t *img)
{
	put32(img + 68, handover_crc32(0, img, 68));
}

static void
recrc_record(uint8_t *img, size_t off)
{
	uint32_t len = (uint32_t)img[off] | (uint32_t)img[off + 1] << 8 |
	    (uint32_t)img[off + 2] << 16 | (uint32_t)img[off + 3] << 24;

	put32(img + off + 8, handover_crc32(0, img + off + 12, len - 12));
}

static struct evbuffer *
buf_of(const void *p, size_t len)
{
	struct evbuffer *b = evbuffer_new();

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(evbuffer_add(b, p, len), 0);
	return b;
}

/*
 * clockd's image with a blob and three clients: IPv4 with output and a
 * record; IPv6 with unread input only; IPv4 with a big queue.
 */
static void
write_image(void)
{
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct evbuffer *out, *in, *data;

	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons(1234);
	inet_pton(AF_INET, "127.0.0.2", &a4.sin_addr);
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons(9);
	a6.sin6_scope_id = 3;
	inet_pton(AF_INET6, "fe80::1", &a6.sin6_addr);
	ck_assert_int_eq(handover_write_begin(&w, "clockd", 42, 2, 123456789,
	    "blob", 4), 0);
	out = buf_of("hello\n", 6);
	data = buf_of("d1", 2);
	ck_assert_int_eq(handover_write_client(&w, HANDOVER_CLIENT_PAUSED,
	    (struct sockaddr *)&a4, out, NULL, data), 0);
	in = buf_of("partial", 7);
	ck_assert_int_eq(handover_write_client(&w, 0, (struct sockaddr *)&a6,
	    NULL, in, NULL), 0);
	if ((big = malloc(BIG)) == NULL)
		ck_abort();
	memset(big, 'x', BIG);
	evbuffer_free(out);
	out = buf_of(big, BIG);
	ck_assert_int_eq(handover_write_client(&w, HANDOVER_CLIENT_CLOSING,
	    (struct sockaddr *)&a4, out, NULL, NULL), 0);
	ck_assert_int_eq(handover_write_end(&w), 0);
	/* The writer copied: the buffers are as they were. */
	ck_assert_uint_eq(evbuffer_get_length(out), BIG);
	evbuffer_free(out);
	evbuffer_free(in);
	evbuffer_free(data);
}

/* Offset of client record k. */
static size_t
record_at(const uint8_t *img, int k)
{
	size_t off = HANDOVER_HEAD_LEN + 4;
	int i;

	for (i = 0; i < k; i++)
		off += (size_t)img[off] | (size_t)img[off + 1] << 8 |
		    (size_t)img[off + 2] << 16 | (size_t)img[off + 3] << 24;
	return off;
}

static void
teardown(void)
{
	handover_write_free(&w);
	free(big);
	big = NULL;
}

START_TEST(test_round_trip)
{
	struct handover_reader r;
	struct handover_head h;
	struct handover_client c;
	const struct sockaddr_in6 *a6;

	write_image();
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_OK);
	ck_assert_str_eq(h.daemon, "clockd");
	ck_assert_uint_eq(h.pid, 42);
	ck_assert_uint_eq(h.nlisteners, 2);
	ck_assert_uint_eq(h.nclients, NCLIENTS);
	ck_assert(h.started_us == 123456789);
	ck_assert_uint_eq(h.bloblen, 4);
	ck_assert_mem_eq(h.blob, "blob", 4);

	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_OK);
	ck_assert_uint_eq(c.index, 0);
	ck_assert_uint_eq(c.flags, HANDOVER_CLIENT_PAUSED);
	ck_assert_int_eq(c.peer.ss_family, AF_INET);
	ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&c.peer)->sin_port), 1234);
	ck_assert_uint_eq(c.outlen, 6);
	ck_assert_mem_eq(c.out, "hello\n", 6);
	ck_assert_uint_eq(c.inlen, 0);
	ck_assert_uint_eq(c.datalen, 2);
	ck_assert_mem_eq(c.data, "d1", 2);

	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_OK);
	ck_assert_uint_eq(c.index, 1);
	a6 = (const struct sockaddr_in6 *)&c.peer;
	ck_assert_int_eq(a6->sin6_family, AF_INET6);
	ck_assert_uint_eq(a6->sin6_scope_id, 3);
	ck_assert_uint_eq(c.peerlen, sizeof(*a6));
	ck_assert_uint_eq(c.inlen, 7);
	ck_assert_mem_eq(c.in, "partial", 7);
	ck_assert_uint_eq(c.outlen + c.datalen, 0);

	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_OK);
	ck_assert_uint_eq(c.flags, HANDOVER_CLIENT_CLOSING);
	ck_assert_uint_eq(c.outlen, BIG);
	ck_assert_mem_eq(c.out, big, BIG);
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_END);
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_END);
	teardown();
}
END_TEST

START_TEST(test_other_daemon)
{
	struct handover_reader r;
	struct handover_head h;
	struct handover_client c;

	write_image();
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "reverbd", &h),
	    HANDOVER_WRONG_DAEMON);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clock", &h),
	    HANDOVER_WRONG_DAEMON);
	/* A reader that failed its header reads no record. */
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_LOST);
	teardown();
}
END_TEST

/* Any bit of the header or the blob changed: refused. */
START_TEST(test_header_damage)
{
	struct handover_reader r;
	struct handover_head h;
	enum handover_result res;
	size_t i;
	int bit;

	write_image();
	for (i = 0; i < HANDOVER_HEAD_LEN + 4; i++)
		for (bit = 0; bit < 8; bit++) {
			w.p[i] ^= (uint8_t)(1 << bit);
			res = handover_read_head(&r, w.p, w.len, "clockd", &h);
			ck_assert_msg(res != HANDOVER_OK, "byte %zu bit %d", i,
			    bit);
			if (i < 8)
				ck_assert_int_eq(res, HANDOVER_BAD_MAGIC);
			w.p[i] ^= (uint8_t)(1 << bit);
		}
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_OK);
	teardown();
}
END_TEST

/* Shorter or longer than it says: refused, whatever the cut. */
START_TEST(test_length)
{
	struct handover_reader r;
	struct handover_head h;
	uint8_t *p;
	size_t len;

	write_image();
	for (len = 0; len < w.len; len += len < 200 ? 1 : 997)
		ck_assert_int_ne(handover_read_head(&r, w.p, len, "clockd", &h),
		    HANDOVER_OK);
	ck_assert_int_eq(handover_read_head(&r, w.p, 7, "clockd", &h),
	    HANDOVER_SHORT);
	ck_assert_int_eq(handover_read_head(&r, w.p, 71, "clockd", &h),
	    HANDOVER_SHORT);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len - 1, "clockd", &h),
	    HANDOVER_SHORT);
	if ((p = calloc(1, w.len + 1)) == NULL)
		ck_abort();
	memcpy(p, w.p, w.len);
	ck_assert_int_eq(handover_read_head(&r, p, w.len + 1, "clockd", &h),
	    HANDOVER_BAD_HEADER);
	free(p);
	teardown();
}
END_TEST

/*
 * A byte changed anywhere in a record's checksummed part costs that
 * client only: the others still read.  A changed length or kind loses
 * the records from there on, never more.
 */
START_TEST(test_record_damage)
{
	struct handover_reader r;
	struct handover_head h;
	struct handover_client c;
	enum handover_result res;
	size_t off1, off2, i;
	int ok, k;

	write_image();
	off1 = record_at(w.p, 1);
	off2 = record_at(w.p, 2);
	for (i = off1; i < off2; i++) {
		w.p[i] ^= 0x20;
		ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd",
		    &h), HANDOVER_OK);
		ok = 0;
		for (k = 0; k < NCLIENTS; k++) {
			res = handover_read_client(&r, &c);
			if (res == HANDOVER_OK) {
				ok++;
				ck_assert_int_ne(k, 1);
			} else if (k == 1 && i >= off1 + 8)
				ck_assert_int_eq(res, HANDOVER_BAD_RECORD);
		}
		/* Records 0 and 2 survive a change past the framing. */
		if (i >= off1 + 8)
			ck_assert_msg(ok == 2, "byte %zu: %d records read", i - off1,
			    ok);
		else
			ck_assert_msg(ok == 1, "framing byte %zu: %d read",
			    i - off1, ok);
		w.p[i] ^= 0x20;
	}
	teardown();
}
END_TEST

/* Records that are sound as bytes but say what a reader must refuse. */
START_TEST(test_record_fields)
{
	struct handover_reader r;
	struct handover_head h;
	struct handover_client c;
	size_t off;
	struct {
		size_t	 at;	/* offset in record 0 */
		uint32_t v;
		int	 width;	/* 2 or 4 */
	} cases[] = {
		{ 12, 5, 4 },		/* index not its place */
		{ 16, 0x80, 4 },	/* an unknown flag */
		{ 20, 5, 2 },		/* family neither 4 nor 6 */
		{ 24, 1, 4 },		/* a scope on IPv4 */
		{ 44, 7, 4 },		/* lengths that do not add up */
		{ 52, HANDOVER_PART_MAX + 1, 4 },
	};
	size_t i;
	uint8_t save[4];

	write_image();
	off = record_at(w.p, 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(save, w.p + off + cases[i].at, 4);
		if (cases[i].width == 2) {
			w.p[off + cases[i].at] = (uint8_t)cases[i].v;
			w.p[off + cases[i].at + 1] = 0;
		} else
			put32(w.p + off + cases[i].at, cases[i].v);
		recrc_record(w.p, off);
		ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd",
		    &h), HANDOVER_OK);
		ck_assert_msg(handover_read_client(&r, &c) ==
		    HANDOVER_BAD_RECORD, "case %zu", i);
		ck_assert_uint_eq(c.outlen + c.inlen + c.datalen, 0);
		ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_OK);
		memcpy(w.p + off + cases[i].at, save, 4);
		recrc_record(w.p, off);
	}
	/* An address past byte 4 on IPv4. */
	w.p[off + 28 + 9] = 1;
	recrc_record(w.p, off);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_OK);
	ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_BAD_RECORD);
	teardown();
}
END_TEST

/* Counts in the header beyond the bounds are refused before any use. */
START_TEST(test_header_bounds)
{
	struct handover_reader r;
	struct handover_head h;

	write_image();
	put32(w.p + 40, HANDOVER_CLIENTS_MAX + 1);
	recrc_head(w.p);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_BAD_HEADER);
	put32(w.p + 40, NCLIENTS);
	put32(w.p + 36, HANDOVER_LISTENERS_MAX + 1);
	recrc_head(w.p);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_BAD_HEADER);
	put32(w.p + 36, 2);
	put32(w.p + 44, 0xffffffffU);
	recrc_head(w.p);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_BAD_HEADER);
	put32(w.p + 44, 4);
	put32(w.p + 8, 2);
	recrc_head(w.p);
	ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd", &h),
	    HANDOVER_BAD_VERSION);
	/* More clients announced than recorded: the walk ends short. */
	put32(w.p + 8, 1);
	put32(w.p + 40, NCLIENTS + 1);
	recrc_head(w.p);
	{
		struct handover_client c;
		int k;

		ck_assert_int_eq(handover_read_head(&r, w.p, w.len, "clockd",
		    &h), HANDOVER_OK);
		for (k = 0; k < NCLIENTS; k++)
			ck_assert_int_eq(handover_read_client(&r, &c),
			    HANDOVER_OK);
		ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_SHORT);
		ck_assert_int_eq(handover_read_client(&r, &c), HANDOVER_LOST);
	}
	teardown();
}
END_TEST

/* The writer refuses what a reader would. */
START_TEST(test_writer_bounds)
{
	struct sockaddr_in a4;
	struct sockaddr_storage un;

	ck_assert_int_eq(handover_write_begin(&w, "sixteen-letters!", 1, 0, 0,
	    NULL, 0), -1);
	ck_assert_int_eq(errno, EINVAL);
	handover_write_free(&w);
	ck_assert_int_eq(handover_write_begin(&w, "clockd", 1,
	    HANDOVER_LISTENERS_MAX + 1, 0, NULL, 0), -1);
	handover_write_free(&w);
	ck_assert_int_eq(handover_write_begin(&w, "clockd", 1, 0, 0, "x",
	    HANDOVER_BLOB_MAX + 1), -1);
	handover_write_free(&w);
	ck_assert_int_eq(handover_write_begin(&w, "clockd", 1, 0, 0, NULL, 0),
	    0);
	memset(&un, 0, sizeof(un));
	un.ss_family = AF_UNIX;
	ck_assert_int_eq(handover_write_client(&w, 0, (struct sockaddr *)&un,
	    NULL, NULL, NULL), -1);
	/* Once failed, it stays failed: no half image is ever finished. */
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	ck_assert_int_eq(handover_write_client(&w, 0, (struct sockaddr *)&a4,
	    NULL, NULL, NULL), -1);
	ck_assert_int_eq(handover_write_end(&w), -1);
	handover_write_free(&w);
	ck_assert_int_eq(handover_write_begin(&w, "clockd", 1, 0, 0, NULL, 0),
	    0);
	ck_assert_int_eq(handover_write_client(&w, 0x100,
	    (struct sockaddr *)&a4, NULL, NULL, NULL), -1);
	handover_write_free(&w);
}
END_TEST

/* CRC-32 as everyone computes it (zlib, Python's zlib.crc32). */
START_TEST(test_crc32)
{
	ck_assert_uint_eq(handover_crc32(0, "123456789", 9), 0xcbf43926U);
	ck_assert_uint_eq(handover_crc32(handover_crc32(0, "1234", 4),
	    "56789", 5), 0xcbf43926U);
	ck_assert_uint_eq(handover_crc32(0, "", 0), 0);
}
END_TEST

static Suite *
handover_image_suite(void)
{
	Suite *s = suite_create("handover_image");
	TCase *core = tcase_create("core"), *limits = tcase_create("limits");

	tcase_add_test(core, test_round_trip);
	tcase_add_test(core, test_other_daemon);
	tcase_add_test(core, test_crc32);
	tcase_set_timeout(limits, 30);
	tcase_add_test(limits, test_header_damage);
	tcase_add_test(limits, test_length);
	tcase_add_test(limits, test_record_damage);
	tcase_add_test(limits, test_record_fields);
	tcase_add_test(limits, test_header_bounds);
	tcase_add_test(limits, test_writer_bounds);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(handover_image_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
