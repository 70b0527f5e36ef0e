/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for daemons/ftpd/ftp_crypt.c (with ftp_tls.c's context and
 * in-memory TLS, on a real pool of worker threads): an OpenSSL client
 * in memory does the handshake with a stream, which says whether the
 * client resumed the session of its context; a file goes out as records
 * the client reads back byte for byte; records the client sends go to a
 * file until its close_notify; a stream freed during a step is freed at
 * its end (no leak, no use after free: ASan and valgrind say).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../../daemons/ftpd/ftp_crypt.h"
#include "../../daemons/ftpd/ftp_tls.h"
#include "../../daemons/ftpd/ftp_work.h"
#include "timeout.h"

#define FILE_BYTES	(700 * 1024 + 123)	/* several steps' worth */

static char tmpl[] = "/tmp/test_ftp_crypt.XXXXXX";
static char *top;
static char errbuf[256];
static struct ssl_ctx_st *server_ctx;
static SSL_CTX *client_ctx;
static struct event_base *base;
static struct ftp_work *pool;
static int steps_done;

/* A client in memory: what it sends, what it reads. */
struct client {
	SSL	*ssl;
	BIO	*in;		/* records from the stream */
	BIO	*out;		/* records to the stream */
};

/* Writes a self-signed P-256 certificate and its key as PEM files. */
static void
write_cert(const char *cert, const char *key)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	FILE *f;

	ck_assert_ptr_nonnull(pk);
	ck_assert_ptr_nonnull(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pk);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"ftp.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_gt(X509_sign(x, pk, EVP_sha256()), 0);
	ck_assert_ptr_nonnull(f = fopen(cert, "w"));
	ck_assert_int_eq(PEM_write_X509(f, x), 1);
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(key, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static void
setup(void)
{
	char cert[PATH_MAX], key[PATH_MAX];

	strcpy(tmpl + strlen(tmpl) - 6, "XXXXXX");
	ck_assert_ptr_nonnull(top = mkdtemp(tmpl));
	snprintf(cert, sizeof(cert), "%s/cert.pem", top);
	snprintf(key, sizeof(key), "%s/key.pem", top);
	write_cert(cert, key);
	server_ctx = ftp_tls_ctx_new(cert, key, errbuf, sizeof(errbuf));
	ck_assert_msg(server_ctx != NULL, "%s", errbuf);
	ck_assert_ptr_nonnull(client_ctx = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_verify(client_ctx, SSL_VERIFY_NONE, NULL);
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(pool = ftp_work_new(base, 2, 16, "test-tls", 0));
}

static void
teardown(void)
{
	char cmd[PATH_MAX + 16];

	ftp_work_free(pool);
	event_base_free(base);
	SSL_CTX_free(client_ctx);
	ftp_tls_ctx_free(server_ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	ck_assert_int_eq(system(cmd), 0);
}

static void
step_done(void *arg)
{
	steps_done++;
}

/* Runs the loop until the stream's step has ended. */
static void
wait_step(struct ftp_crypt *c)
{
	int i;

	for (i = 0; i < 10000 && ftp_crypt_busy(c); i++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(!ftp_crypt_busy(c));
}

static void
client_new(struct client *k, SSL_SESSION *resume)
{
	ck_assert_ptr_nonnull(k->ssl = SSL_new(client_ctx));
	k->in = BIO_new(BIO_s_mem());
	k->out = BIO_new(BIO_s_mem());
	SSL_set_bio(k->ssl, k->in, k->out);
	SSL_set_connect_state(k->ssl);
	if (resume != NULL)
		ck_assert_int_eq(SSL_set_session(k->ssl, resume), 1);
}

/* The stream's records to the client; the client's to the stream. */
static void
shuttle(struct client *k, struct ftp_crypt *c)
{
	struct evbuffer *made = ftp_crypt_output(c);
	char buf[16384];
	int n;

	while ((n = evbuffer_remove(made, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(BIO_write(k->in, buf, n), n);
	while ((n = BIO_read(k->out, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(evbuffer_add(ftp_crypt_input(c), buf,
		    (size_t)n), 0);
}

/*
 * The whole handshake between a client (resuming resume if not NULL) and
 * a new stream in the context sid; the client's session afterwards.
 */
static struct ftp_crypt *
handshake(struct client *k, SSL_SESSION *resume, const unsigned char *sid)
{
	struct ftp_crypt *c;
	char buf[64];
	int i, r = 0;

	client_new(k, resume);
	c = ftp_crypt_new(&ftp_tls_ops, server_ctx, sid, pool, step_done,
	    NULL);
	ck_assert_ptr_nonnull(c);
	for (i = 0; i < 20 && ftp_crypt_state(c) == FTP_CRYPT_HANDSHAKE;
	    i++) {
		r = SSL_do_handshake(k->ssl);
		shuttle(k, c);
		ck_assert_int_eq(ftp_crypt_handshake(c), 0);
		wait_step(c);
		shuttle(k, c);
	}
	ck_assert_int_eq(ftp_crypt_state(c), FTP_CRYPT_OPEN);
	if (r != 1)
		r = SSL_do_handshake(k->ssl);
	ck_assert_int_eq(r, 1);
	/* TLS 1.3 tickets come after the handshake: read them. */
	(void)SSL_read(k->ssl, buf, sizeof(buf));
	return c;
}

static void
client_free(struct client *k)
{
	SSL_free(k->ssl);
}

/*
 * A full handshake (the control connection's, which stays open: a
 * session freed unshut is not resumable), then resumptions of its
 * session, accepted only within the same context.
 */
START_TEST(test_handshake_and_resumption)
{
	static const unsigned char sid[FTP_TLS_SID_LEN] = "control-one";
	static const unsigned char other[FTP_TLS_SID_LEN] = "control-two";
	struct client control, k;
	struct ftp_crypt *first, *c;
	SSL_SESSION *sess;
	char how[96];

	first = handshake(&control, NULL, sid);
	ck_assert_int_eq(ftp_crypt_resumed(first, sid), 0);
	ftp_crypt_describe(first, how, sizeof(how));
	ck_assert_ptr_nonnull(strstr(how, "TLS"));
	ck_assert_ptr_nonnull(sess = SSL_get1_session(control.ssl));

	c = handshake(&k, sess, sid);
	ck_assert_int_eq(SSL_session_reused(k.ssl), 1);
	ck_assert_int_eq(ftp_crypt_resumed(c, sid), 1);
	ftp_crypt_free(c);
	client_free(&k);

	/* The session of one control connection opens no other's. */
	c = handshake(&k, sess, other);
	ck_assert_int_eq(ftp_crypt_resumed(c, other), 0);
	ftp_crypt_free(c);
	client_free(&k);
	SSL_SESSION_free(sess);
	ftp_crypt_free(first);
	client_free(&control);
}
END_TEST

/* A file made of a pattern; its descriptor, open for reading. */
static int
pattern_file(const char *name, unsigned char *want, size_t len)
{
	char p[PATH_MAX];
	size_t i;
	int fd;

	for (i = 0; i < len; i++)
		want[i] = (unsigned char)(i * 7 + i / 4096);
	snprintf(p, sizeof(p), "%s/%s", top, name);
	ck_assert_int_ne(fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644), -1);
	ck_assert_int_eq(write(fd, want, len), (ssize_t)len);
	return fd;
}

/* A file goes out in steps; the client reads back every byte. */
START_TEST(test_send_file)
{
	static const unsigned char sid[FTP_TLS_SID_LEN] = "sending";
	unsigned char *want = malloc(FILE_BYTES), *got = malloc(FILE_BYTES);
	struct client k;
	struct ftp_crypt *c;
	size_t off = 0, have = 0, step;
	int fd, n;

	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(got);
	fd = pattern_file("out.bin", want, FILE_BYTES);
	c = handshake(&k, NULL, sid);
	ck_assert_int_eq(ftp_crypt_set_file(c, fd, 0), 0);
	close(fd);	/* the stream keeps a copy */
	while (off < FILE_BYTES) {
		step = FILE_BYTES - off < 200000 ? FILE_BYTES - off : 200000;
		ck_assert_int_eq(ftp_crypt_send_file(c, (off_t)off, step), 0);
		wait_step(c);
		ck_assert_int_eq(ftp_crypt_state(c), FTP_CRYPT_OPEN);
		ck_assert_uint_eq(ftp_crypt_moved(c), step);
		off += step;
		shuttle(&k, c);
		while ((n = SSL_read(k.ssl, got + have,
		    (int)(FILE_BYTES - have))) > 0)
			have += (size_t)n;
	}
	/* Past the end of the file: a local error, not short data. */
	ck_assert_int_eq(ftp_crypt_send_file(c, FILE_BYTES, 10), 0);
	wait_step(c);
	ck_assert_int_eq(ftp_crypt_state(c), FTP_CRYPT_FILE_ERROR);
	ck_assert_uint_eq(have, FILE_BYTES);
	ck_assert_int_eq(memcmp(got, want, FILE_BYTES), 0);
	ftp_crypt_free(c);
	client_free(&k);
	free(want);
	free(got);
}
END_TEST

/* Text (a listing) as records. */
START_TEST(test_send_text)
{
	static const unsigned char sid[FTP_TLS_SID_LEN] = "listing";
	struct client k;
	struct ftp_crypt *c;
	char got[64];
	int n;

	c = handshake(&k, NULL, sid);
	evbuffer_add_printf(ftp_crypt_text(c), "-rw-r--r-- 1 ftp ftp 0 x\r\n");
	ck_assert_int_eq(ftp_crypt_send_text(c), 0);
	wait_step(c);
	ck_assert_uint_eq(evbuffer_get_length(ftp_crypt_text(c)), 0);
	shuttle(&k, c);
	ck_assert_int_gt(n = SSL_read(k.ssl, got, sizeof(got) - 1), 0);
	got[n] = '\0';
	ck_assert_str_eq(got, "-rw-r--r-- 1 ftp ftp 0 x\r\n");
	ftp_crypt_free(c);
	client_free(&k);
}
END_TEST

/* The client's records go to the file, TYPE A made LF, until its end. */
START_TEST(test_receive)
{
	static const unsigned char sid[FTP_TLS_SID_LEN] = "receiving";
	static const char text[] = "one\r\ntwo\r\nthree\r";
	struct client k;
	struct ftp_crypt *c;
	char p[PATH_MAX], got[64];
	ssize_t n;
	int fd;

	c = handshake(&k, NULL, sid);
	snprintf(p, sizeof(p), "%s/in.txt", top);
	ck_assert_int_ne(fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644), -1);
	ck_assert_int_eq(ftp_crypt_set_file(c, fd, 1), 0);
	ck_assert_int_eq(SSL_write(k.ssl, text, (int)strlen(text)),
	    (int)strlen(text));
	shuttle(&k, c);
	ck_assert_int_eq(ftp_crypt_receive(c), 0);
	wait_step(c);
	ck_assert_int_eq(ftp_crypt_state(c), FTP_CRYPT_OPEN);
	ck_assert_uint_eq(ftp_crypt_moved(c), strlen(text));
	/* close_notify: the end of the data, answered with ours. */
	ck_assert_int_eq(SSL_shutdown(k.ssl), 0);
	shuttle(&k, c);
	ck_assert_int_eq(ftp_crypt_receive(c), 0);
	wait_step(c);
	ck_assert_int_eq(ftp_crypt_state(c), FTP_CRYPT_CLOSED);
	ck_assert_int_eq(ftp_crypt_finish_file(c), 0);
	ftp_crypt_close(c);
	shuttle(&k, c);
	ck_assert_int_eq(SSL_shutdown(k.ssl), 1);
	ck_assert_int_eq(n = pread(fd, got, sizeof(got) - 1, 0), 14);
	got[n] = '\0';
	ck_assert_str_eq(got, "one\ntwo\nthree\r");
	close(fd);
	ftp_crypt_free(c);
	client_free(&k);
}
END_TEST

/* Garbage instead of a handshake: the stream fails, cleanly. */
START_TEST(test_garbage)
{
	static const unsigned char sid[FTP_TLS_SID_LEN] = "garbage";
	struct ftp_crypt *c;

	c = ftp_crypt_new(&ftp_tls_ops, server_ctx, sid, pool, step_done,
	    NULL);
	ck_assert_ptr_nonnull(c);
	evbuffer_add_printf(ftp_crypt_input(c), "GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(ftp_crypt_handshake(c), 0);
	wait_step(c);
	ck_assert_int_eq(ftp_crypt_state(c), FTP_CRYPT_FAILED);
	ftp_crypt_free(c);
}
END_TEST

/* Freed while its step runs: the step ends alone, nothing is told. */
START_TEST(test_freed_while_busy)
{
	static const unsigned char sid[FTP_TLS_SID_LEN] = "orphan";
	unsigned char *want = malloc(FILE_BYTES);
	struct client k;
	struct ftp_crypt *c;
	int fd, before, i;

	ck_assert_ptr_nonnull(want);
	fd = pattern_file("orphan.bin", want, FILE_BYTES);
	c = handshake(&k, NULL, sid);
	ck_assert_int_eq(ftp_crypt_set_file(c, fd, 0), 0);
	close(fd);
	before = steps_done;
	ck_assert_int_eq(ftp_crypt_send_file(c, 0, FILE_BYTES), 0);
	ck_assert(ftp_crypt_busy(c));
	ftp_crypt_free(c);
	for (i = 0; i < 100; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(steps_done, before);
	client_free(&k);
	free(want);
}
END_TEST

static Suite *
ftp_crypt_suite(void)
{
	Suite *s = suite_create("ftp_crypt");
	TCase *core = tcase_create("core");
	TCase *limits = tcase_create("limits");

	tcase_add_checked_fixture(core, setup, teardown);
	tcase_add_checked_fixture(limits, setup, teardown);
	/* Handshakes and a few MiB through real workers, on a busy machine. */
	tcase_budget(core, 30);
	tcase_budget(limits, 30);
	tcase_add_test(core, test_handshake_and_resumption);
	tcase_add_test(core, test_send_file);
	tcase_add_test(core, test_send_text);
	tcase_add_test(core, test_receive);
	tcase_add_test(limits, test_garbage);
	tcase_add_test(limits, test_freed_while_busy);
	suite_add_tcase(s, core);
	suite_add_tcase(s, limits);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ftp_crypt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
