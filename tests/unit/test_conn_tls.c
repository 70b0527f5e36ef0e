/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for conn_starttls() (lib/conn_tls.c): a line protocol in
 * clear that switches to TLS on "STARTTLS", served by lib/server on
 * loopback, with an OpenSSL client on a thread of its own and a
 * certificate made in memory.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "lineio.h"
#include "log.h"
#include "loopback_server.h"
#include "server.h"
#include "timeout.h"

static struct event_base *base;
static struct server *srv;
static struct sockaddr_in srv_addr;
static SSL_CTX *server_ctx;
static int starttls_rc, starttls_errno, send_fd_after;
static volatile int client_done;

/* "STARTTLS" switches (after "OK"), any other line comes back as "echo:". */
static void
readable(struct conn *c)
{
	char line[64], reply[80];
	size_t len;

	while (!conn_closing(c) && line_read(conn_input(c), line,
	    sizeof(line), &len) == LINE_OK) {
		if (strcmp(line, "STARTTLS") != 0) {
			snprintf(reply, sizeof(reply), "echo:%s\n", line);
			if (conn_send(c, reply, strlen(reply)) == -1)
				return;
			continue;
		}
		if (conn_send(c, "OK\n", 3) == -1)
			return;
		starttls_rc = conn_starttls(c, SSL_new(server_ctx));
		starttls_errno = errno;
		send_fd_after = conn_send_fd(c);
		if (starttls_rc == -1 && conn_send(c, "NO\n", 3) == -1)
			return;
	}
}

/* On a lean connection there is no bufferevent to put TLS on. */
static int
accepted_lean(struct conn *c)
{
	starttls_rc = conn_starttls(c, SSL_new(server_ctx));
	starttls_errno = errno;
	return 0;
}

static const struct server_ops ops = { .readable = readable };
static const struct server_ops lean_ops = { .accepted = accepted_lean };

/* A self-signed P-256 certificate for "localhost", in memory. */
static SSL_CTX *
make_server_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(x);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_gt(X509_sign(x, key, EVP_sha256()), 0);
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

/* Reads until want bytes came or the peer closed; NUL-terminated. */
static size_t
read_some(int fd, SSL *ssl, char *buf, size_t want)
{
	size_t got = 0;
	int n;

	while (got < want) {
		n = ssl != NULL ? SSL_read(ssl, buf + got, (int)(want - got)) :
		    (int)read(fd, buf + got, want - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return got;
}

struct client_result {
	char	 clear[64];	/* what came before the handshake */
	char	 secret[64];	/* what came in TLS */
	int	 handshake;	/* SSL_connect's result */
	const char *send;	/* in clear, first */
};

/* The client: a line in clear, the handshake, then a line in TLS. */
static void *
client_main(void *arg)
{
	struct client_result *r = arg;
	struct timeval tv = { 5, 0 };
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&srv_addr, sizeof(srv_addr)) ==
	    -1)
		goto out;
	if (write(fd, r->send, strlen(r->send)) != (ssize_t)strlen(r->send))
		goto out;
	read_some(fd, NULL, r->clear, strchr(r->send, 'x') != NULL ?
	    strlen("OK\nNO\necho:extra\n") : strlen("OK\n"));
	if (strcmp(r->clear, "OK\n") != 0)
		goto out;
	SSL_set_fd(ssl, fd);
	if ((r->handshake = SSL_connect(ssl)) != 1)
		goto out;
	SSL_write(ssl, "ping\n", 5);
	read_some(fd, ssl, r->secret, strlen("echo:ping\n"));
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	client_done = 1;
	return NULL;
}

static void
run_client(struct client_result *r)
{
	pthread_t t;
	int i;

	client_done = 0;
	ck_assert_int_eq(pthread_create(&t, NULL, client_main, r), 0);
	for (i = 0; i < 5000 && !client_done; i++)
		loopback_spin(base, 1);
	pthread_join(t, NULL);
	loopback_spin(base, 20);
}

static void
start(const struct server_ops *o, int lean)
{
	struct server_limits lim = { .lean = lean };

	log_init("test_conn_tls", LOG_VERBOSITY_QUIET);
	server_ctx = make_server_ctx();
	srv = loopback_server_start(&base, o, &lim, &srv_addr, 16);
	starttls_rc = -2;
	send_fd_after = -2;
}

static void
stop(void)
{
	server_free(srv);
	event_base_free(base);
	SSL_CTX_free(server_ctx);
}

/* The switch: replies in clear before it, in TLS after it, never past it. */
START_TEST(test_starttls_switches)
{
	struct client_result r = { .send = "STARTTLS\n" };

	start(&ops, 0);
	run_client(&r);
	ck_assert_int_eq(starttls_rc, 0);
	ck_assert_str_eq(r.clear, "OK\n");
	ck_assert_int_eq(r.handshake, 1);
	ck_assert_str_eq(r.secret, "echo:ping\n");
	/* In TLS nothing may be written to the socket itself. */
	ck_assert_int_eq(send_fd_after, -1);
	ck_assert_uint_eq(server_stats(srv)->clients, 0);
	stop();
}
END_TEST

/* Bytes after the request cannot be told from the handshake: refused. */
START_TEST(test_starttls_refused_with_input_pending)
{
	struct client_result r = { .send = "STARTTLS\nextra\n" };

	start(&ops, 0);
	run_client(&r);
	ck_assert_int_eq(starttls_rc, -1);
	ck_assert_int_eq(starttls_errno, EBUSY);
	/* Still in clear, and still served. */
	ck_assert_str_eq(r.clear, "OK\nNO\necho:extra\n");
	ck_assert_int_ne(send_fd_after, -1);
	stop();
}
END_TEST

START_TEST(test_starttls_refused_on_lean)
{
	int fd;

	start(&lean_ops, 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&srv_addr,
	    sizeof(srv_addr)), 0);
	loopback_spin(base, 20);
	ck_assert_int_eq(starttls_rc, -1);
	ck_assert_int_eq(starttls_errno, EINVAL);
	ck_assert_uint_eq(server_stats(srv)->clients, 1);
	close(fd);
	stop();
}
END_TEST

static Suite *
conn_tls_suite(void)
{
	Suite *s = suite_create("conn_tls");
	TCase *tc = tcase_create("core");

	/* Three loopback TLS handshakes with a fresh P-256 key each: well
	 * under a second at rest, at most 5000 loop turns each. */
	tcase_budget(tc, 20);
	tcase_add_test(tc, test_starttls_switches);
	tcase_add_test(tc, test_starttls_refused_with_input_pending);
	tcase_add_test(tc, test_starttls_refused_on_lean);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conn_tls_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed != 0;
}
