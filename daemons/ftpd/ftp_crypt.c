/* SPDX-License-Identifier: ISC */
/*
 * A data connection's TLS on the TLS pool.  Encrypting a download costs
 * the CPU in proportion to its bytes; done in the loop, four PROT P
 * downloads at full speed kept every other session waiting.  So the
 * stream's steps (the handshake, a piece of a file read and made into
 * records, records read and written to a file) are jobs of the pool: the
 * loop hands a step over and goes on, the worker runs it, and the loop
 * hears of its end through the callback and moves the records it made to
 * the socket (or the next bytes that came in to the stream).
 *
 * While a step runs, the worker alone touches the stream: its TLS, its
 * three buffers, its copy of the file and its sink; between steps, the
 * loop alone.  The stream keeps a descriptor of its own for the file, so
 * that the transfer may end (and close its file) while a step still
 * reads or writes: a stream freed during a step is freed at its end.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ftp_crypt.h"
#include "ftp_sink.h"
#include "ftp_tls.h"
#include "ftp_work.h"

#define FTP_CRYPT_CHUNK		(64 * 1024)	/* plaintext at a time */

enum ftp_crypt_step {
	FTP_STEP_HANDSHAKE,
	FTP_STEP_SEND_FILE,
	FTP_STEP_SEND_TEXT,
	FTP_STEP_RECEIVE,
};

struct ftp_crypt {
	struct ftp_job		 job;		/* first: the pool's handle */
	const struct ftp_tls_ops *ops;
	struct ftp_tls_conn	*tls;
	struct ftp_work		*pool;
	ftp_crypt_done_fn	 done;
	void			*arg;
	int			 busy;		/* a step is the worker's */
	int			 orphan;	/* freed when the step ends */
	enum ftp_crypt_step	 step;
	enum ftp_crypt_state	 state;
	struct evbuffer		*in;		/* ciphertext that came in */
	struct evbuffer		*out;		/* ciphertext to send */
	struct evbuffer		*text;		/* plaintext to send */
	int			 fd;		/* the file (a copy), or -1 */
	struct ftp_sink		 sink;		/* receiving into fd */
	off_t			 off;		/* sending: from off, len */
	size_t			 len;
	size_t			 moved;		/* plaintext the step moved */
	int			 err;		/* FTP_CRYPT_FILE_ERROR's */
	char			*buf;		/* plaintext: a chunk */
};

static void	ftp_crypt_run(struct ftp_job *);
static void	ftp_crypt_done(struct ftp_job *);
static int	ftp_crypt_start(struct ftp_crypt *, enum ftp_crypt_step);
static void	ftp_crypt_destroy(struct ftp_crypt *);
static void	ftp_crypt_send_chunks(struct ftp_crypt *);
static void	ftp_crypt_receive_chunks(struct ftp_crypt *);

/*
 * A stream that will accept a handshake within the session id context
 * sid, its steps run on pool, their ends told to done(arg).  NULL when
 * out of memory.
 */
struct ftp_crypt *
ftp_crypt_new(const struct ftp_tls_ops *ops, struct ssl_ctx_st *ctx,
    const unsigned char *sid, struct ftp_work *pool, ftp_crypt_done_fn done,
    void *arg)
{
	struct ftp_crypt *c;

	if (pool == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->ops = ops;
	c->pool = pool;
	c->done = done;
	c->arg = arg;
	c->fd = -1;
	c->state = FTP_CRYPT_HANDSHAKE;
	c->job.run = ftp_crypt_run;
	c->job.done = ftp_crypt_done;
	if ((c->in = evbuffer_new()) == NULL ||
	    (c->out = evbuffer_new()) == NULL ||
	    (c->text = evbuffer_new()) == NULL ||
	    (c->tls = ops->conn_new(ctx, sid)) == NULL) {
		ftp_crypt_destroy(c);
		return NULL;
	}
	return c;
}

static void
ftp_crypt_destroy(struct ftp_crypt *c)
{
	if (c->tls != NULL)
		c->ops->conn_free(c->tls);
	if (c->in != NULL)
		evbuffer_free(c->in);
	if (c->out != NULL)
		evbuffer_free(c->out);
	if (c->text != NULL)
		evbuffer_free(c->text);
	if (c->fd != -1)
		close(c->fd);
	free(c->buf);
	free(c);
}

/* Gone now, or at the end of the step that runs. */
void
ftp_crypt_free(struct ftp_crypt *c)
{
	if (c == NULL)
		return;
	if (c->busy) {
		c->orphan = 1;
		return;
	}
	ftp_crypt_destroy(c);
}

int
ftp_crypt_busy(const struct ftp_crypt *c)
{
	return c->busy;
}

/*
 * The file the transfer reads or writes (a copy of fd is kept); ascii:
 * TYPE A for an upload.  -1 with errno.
 */
int
ftp_crypt_set_file(struct ftp_crypt *c, int fd, int ascii)
{
	int copy;

	if ((copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	if (c->fd != -1)
		close(c->fd);
	c->fd = copy;
	ftp_sink_init(&c->sink, copy, ascii);
	return 0;
}

/* Hands a step to the pool.  -1: it cannot run (no memory). */
static int
ftp_crypt_start(struct ftp_crypt *c, enum ftp_crypt_step step)
{
	if (c->busy || (c->buf == NULL &&
	    (c->buf = malloc(FTP_CRYPT_CHUNK)) == NULL))
		return -1;
	c->step = step;
	c->moved = 0;
	c->busy = 1;
	/* One step per stream at most: the queue is bounded by streams. */
	if (ftp_work_submit(c->pool, &c->job, FTP_WORK_ALWAYS) == -1) {
		c->busy = 0;
		return -1;
	}
	return 0;
}

/* The handshake, with what ftp_crypt_input() has gathered. */
int
ftp_crypt_handshake(struct ftp_crypt *c)
{
	return ftp_crypt_start(c, FTP_STEP_HANDSHAKE);
}

/* len bytes of the file from off, as records. */
int
ftp_crypt_send_file(struct ftp_crypt *c, off_t off, size_t len)
{
	c->off = off;
	c->len = len;
	return ftp_crypt_start(c, FTP_STEP_SEND_FILE);
}

/* All of ftp_crypt_text(), as records. */
int
ftp_crypt_send_text(struct ftp_crypt *c)
{
	return ftp_crypt_start(c, FTP_STEP_SEND_TEXT);
}

/* The records gathered in ftp_crypt_input(), into the file. */
int
ftp_crypt_receive(struct ftp_crypt *c)
{
	return ftp_crypt_start(c, FTP_STEP_RECEIVE);
}

/* On the worker: a piece of the file, as records. */
static void
ftp_crypt_send_chunks(struct ftp_crypt *c)
{
	size_t want;
	ssize_t n;

	while (c->len > 0) {
		want = c->len < FTP_CRYPT_CHUNK ? c->len : FTP_CRYPT_CHUNK;
		do
			n = pread(c->fd, c->buf, want, c->off);
		while (n == -1 && errno == EINTR);
		if (n <= 0) {
			/* Shorter than it was at RETR: a local error. */
			c->err = n == 0 ? EIO : errno;
			c->state = FTP_CRYPT_FILE_ERROR;
			return;
		}
		if (c->ops->encrypt(c->tls, c->buf, (size_t)n, c->out) == -1) {
			c->state = FTP_CRYPT_FAILED;
			return;
		}
		c->off += n;
		c->len -= (size_t)n;
		c->moved += (size_t)n;
	}
}

/* On the worker: every whole record that came in, into the file. */
static void
ftp_crypt_receive_chunks(struct ftp_crypt *c)
{
	ssize_t n;

	for (;;) {
		n = c->ops->decrypt(c->tls, c->in, c->buf, FTP_CRYPT_CHUNK);
		if (n == 0)
			return;
		if (n < 0) {
			c->state = n == FTP_TLS_CLOSED ? FTP_CRYPT_CLOSED :
			    FTP_CRYPT_FAILED;
			return;
		}
		c->moved += (size_t)n;
		if (ftp_sink_write(&c->sink, c->buf, (size_t)n) == -1) {
			c->err = c->sink.err;
			c->state = FTP_CRYPT_FILE_ERROR;
			return;
		}
	}
}

/* On a worker of the TLS pool: one step. */
static void
ftp_crypt_run(struct ftp_job *job)
{
	struct ftp_crypt *c = (struct ftp_crypt *)job;
	int n, r;

	if (c->orphan)
		return;
	switch (c->step) {
	case FTP_STEP_HANDSHAKE:
		r = c->ops->handshake(c->tls, c->in, c->out);
		c->state = r == 1 ? FTP_CRYPT_OPEN : r == 0 ?
		    FTP_CRYPT_HANDSHAKE : FTP_CRYPT_FAILED;
		break;
	case FTP_STEP_SEND_FILE:
		ftp_crypt_send_chunks(c);
		break;
	case FTP_STEP_SEND_TEXT:
		while ((n = evbuffer_remove(c->text, c->buf,
		    FTP_CRYPT_CHUNK)) > 0) {
			if (c->ops->encrypt(c->tls, c->buf, (size_t)n,
			    c->out) == -1) {
				c->state = FTP_CRYPT_FAILED;
				break;
			}
			c->moved += (size_t)n;
		}
		break;
	case FTP_STEP_RECEIVE:
		ftp_crypt_receive_chunks(c);
		break;
	}
}

/* In the loop: the step is over. */
static void
ftp_crypt_done(struct ftp_job *job)
{
	struct ftp_crypt *c = (struct ftp_crypt *)job;

	c->busy = 0;
	if (c->orphan) {
		ftp_crypt_destroy(c);
		return;
	}
	c->done(c->arg);
}

/* Ciphertext that came in: the loop adds to it between steps. */
struct evbuffer *
ftp_crypt_input(struct ftp_crypt *c)
{
	return c->in;
}

/* Ciphertext to send: the loop takes it between steps. */
struct evbuffer *
ftp_crypt_output(struct ftp_crypt *c)
{
	return c->out;
}

/* Plaintext to send (listings, TYPE A): the loop adds to it. */
struct evbuffer *
ftp_crypt_text(struct ftp_crypt *c)
{
	return c->text;
}

enum ftp_crypt_state
ftp_crypt_state(const struct ftp_crypt *c)
{
	return c->state;
}

/* Plaintext bytes the last step sent or received. */
size_t
ftp_crypt_moved(const struct ftp_crypt *c)
{
	return c->moved;
}

int
ftp_crypt_error(const struct ftp_crypt *c)
{
	return c->err;
}

/* An upload is all in: a CR held back goes to the file.  -1: errno. */
int
ftp_crypt_finish_file(struct ftp_crypt *c)
{
	if (ftp_sink_end(&c->sink) == -1) {
		errno = c->sink.err;
		return -1;
	}
	return 0;
}

/*
 * close_notify into the output (between steps; a few bytes), also in
 * answer to the peer's.
 */
void
ftp_crypt_close(struct ftp_crypt *c)
{
	if (c->state == FTP_CRYPT_OPEN || c->state == FTP_CRYPT_CLOSED)
		c->ops->close(c->tls, c->out);
}

/* After the handshake: whether it resumed the session of context sid. */
int
ftp_crypt_resumed(const struct ftp_crypt *c, const unsigned char *sid)
{
	return c->ops->resumed(c->tls, sid);
}

void
ftp_crypt_describe(const struct ftp_crypt *c, char *buf, size_t cap)
{
	c->ops->describe(c->tls, buf, cap);
}
