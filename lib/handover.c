/* SPDX-License-Identifier: ISC */
/*
 * Handing clients to a successor.  The predecessor writes an image of its
 * state (lib/handover_image.c, through server_image()) and packs it, with
 * every listening and client socket, into a capsule
 * (lib/handover_capsule.c): one descriptor whatever the number of
 * clients, which keeps every socket in it alive:
 *
 *   reload   the daemon re-executes its binary in place (same PID, so
 *            systemd keeps watching it) with the capsule's number in
 *            CLOCKWORK_HANDOVER_FD (and its PID in CLOCKWORK_HANDOVER_PID);
 *   stop     under systemd with an fd store ($FDSTORE), the capsule goes
 *            to the store as "handover"; systemd (252) hands it to the
 *            next process of the unit on a restart, in LISTEN_FDS, and
 *            closes it, and with it every client, on a plain stop.
 *
 * The successor opens the capsule, checks everything it reads, adopts
 * each client whose socket and record agree, and closes the others:
 * closing the capsule or a socket taken out of it drops the last
 * reference, so such a client sees the connection end and can reconnect;
 * none is left connected to nobody.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "handover.h"
#include "listen.h"
#include "log.h"
#include "monotime.h"
#include "numparse.h"
#include "sdnotify.h"
#include "server.h"

#define HANDOVER_LOG_MAX	10	/* refusals logged one by one */
#define HANDOVER_BARRIER_USEC	5000000

/* The process's own hand-over: what to re-execute, what was received. */
static struct {
	char			**argv;
	char			 *exe;
	int			  have;		/* a predecessor's is pending */
	struct handover_in	  in;
	struct handover_head	  head;
	struct handover_reader	  reader;
	enum handover_result	  head_res;
	unsigned		  refusals;	/* logged so far */
} ho;

static int	handover_make(struct server *, const void *, size_t, long *);
static int	handover_env_capsule(void);
static void	handover_refuse(int, const char *);
static int	handover_pick(struct handover_in *, const char *, int);

/*
 * Keeps what a re-execution runs: the binary's path now (a package
 * upgrade replaces the file under that name, which is what is wanted)
 * and the arguments, before option parsing rearranges them.
 */
void
handover_init(int argc, char **argv)
{
	char path[PATH_MAX];
	ssize_t n;
	size_t len;
	int i;

	if ((ho.argv = calloc((size_t)argc + 1, sizeof(*ho.argv))) == NULL)
		return;
	for (i = 0; i < argc; i++)
		if ((ho.argv[i] = strdup(argv[i])) == NULL)
			return;
	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n > 0) {
		path[n] = '\0';
		len = strlen(path);
		if (len > 10 && strcmp(path + len - 10, " (deleted)") == 0)
			path[len - 10] = '\0';
		ho.exe = strdup(path);
	} else if (argc > 0 && strchr(argv[0], '/') != NULL)
		ho.exe = strdup(argv[0]);
}

/* A capsule may be used when systemd keeps an fd store for us. */
int
handover_store_enabled(void)
{
	const char *s = getenv("FDSTORE");
	unsigned long n;

	return getenv("NOTIFY_SOCKET") != NULL && s != NULL &&
	    parse_ulong(s, 0, ULONG_MAX, &n) == 0 && n > 0;
}

/* The capsule our predecessor passed across execve, or -1. */
static int
handover_env_capsule(void)
{
	const char *sfd = getenv(HANDOVER_ENV_FD);
	const char *spid = getenv(HANDOVER_ENV_PID);
	unsigned long fd, pid;
	int ok;

	ok = sfd != NULL && spid != NULL &&
	    parse_ulong(sfd, 3, INT_MAX, &fd) == 0 &&
	    parse_ulong(spid, 1, INT_MAX, &pid) == 0 &&
	    (pid_t)pid == getpid() && fcntl((int)fd, F_GETFD) != -1;
	/* Not for any child of ours. */
	unsetenv(HANDOVER_ENV_FD);
	unsetenv(HANDOVER_ENV_PID);
	if (!ok)
		return -1;
	(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

/*
 * Whether cand should replace the chosen hand-over (ho.in): the only one
 * whose header reads, or the one that began last.  Reads cand's header
 * into ho when it wins.
 */
static int
handover_pick(struct handover_in *cand, const char *daemon, int first)
{
	struct handover_reader r;
	struct handover_head h;
	enum handover_result res = HANDOVER_BAD_MAGIC;

	memset(&r, 0, sizeof(r));
	memset(&h, 0, sizeof(h));
	if (cand->img != NULL)
		res = handover_read_head(&r, cand->img, cand->len, daemon, &h);
	if (!first && (res != HANDOVER_OK || (ho.head_res == HANDOVER_OK &&
	    h.started_us <= ho.head.started_us)))
		return 0;
	ho.reader = r;
	ho.head = h;
	ho.head_res = res;
	if (res == HANDOVER_OK && (h.nlisteners != cand->nlisteners ||
	    h.nclients != cand->nclients))
		ho.head_res = HANDOVER_BAD_HEADER;
	if (cand->img == NULL)
		ho.head_res = HANDOVER_BAD_MAGIC;
	return 1;
}

/*
 * At start, before anything binds: opens the hand-over left by a
 * predecessor (across execve, or in systemd's fd store, whose capsules
 * listen_activated() set aside), keeps its clients for handover_adopt(),
 * and puts its listening sockets into set unless systemd handed us ours.
 * daemon: our name (NULL: we take no clients).  Returns 1 when there was
 * one, 0 when not.
 */
int
handover_receive(struct listen_set *set, const char *daemon)
{
	struct handover_in cand;
	int capsules[LISTEN_MAX + 1], n = 0, i, fd, from_store;
	uint64_t t0 = monotime_us();
	size_t k;

	if ((fd = handover_env_capsule()) != -1)
		capsules[n++] = fd;
	from_store = set->ncapsules > 0;
	for (i = 0; i < set->ncapsules; i++)
		capsules[n++] = set->capsules[i];
	set->ncapsules = 0;
	for (i = 0; i < n; i++) {
		if (handover_unpack(capsules[i], &cand) == -1) {
			log_warnx("hand-over: %s", cand.why);
			close(capsules[i]);
			continue;
		}
		close(capsules[i]);
		if (handover_pick(&cand, daemon != NULL ? daemon : "", !ho.have)) {
			if (ho.have) {
				log_warnx("hand-over: an older one closed, "
				    "with its %zu clients", ho.in.nclients);
				handover_in_close(&ho.in);
			}
			ho.in = cand;
			ho.have = 1;
		} else {
			log_warnx("hand-over: an older one closed, with its "
			    "%zu clients", cand.nclients);
			handover_in_close(&cand);
		}
	}
	/* The store's copy is spent: the next start must not see it. */
	if (from_store)
		sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=" HANDOVER_FDNAME);
	if (!ho.have)
		return 0;
	log_debug("hand-over: received in %.1f ms, %.1f ms after it began",
	    (double)(monotime_us() - t0) / 1e3, ho.head_res == HANDOVER_OK ?
	    (double)(monotime_us() - ho.head.started_us) / 1e3 : 0.0);
	/* Our listening sockets, unless systemd passed its own. */
	for (k = 0; k < ho.in.nlisteners; k++) {
		fd = ho.in.fds[k];
		ho.in.fds[k] = -1;
		if (fd == -1)
			continue;
		if (set->activated || set->nfds == LISTEN_MAX ||
		    sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			close(fd);
			continue;
		}
		set->fds[set->nfds++] = fd;
		set->inherited = 1;
	}
	if (daemon == NULL)
		handover_adopt(NULL);
	return 1;
}

/*
 * The predecessor's own state, when its hand-over is usable; it lives
 * until handover_adopt(), so the daemon copies what it keeps.
 */
const void *
handover_blob(size_t *len)
{
	if (!ho.have || ho.head_res != HANDOVER_OK)
		return NULL;
	*len = ho.head.bloblen;
	return ho.head.blob;
}

/* A client that is not taken over: logged (the first few), closed. */
static void
handover_refuse(int fd, const char *why)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (ho.refusals++ < HANDOVER_LOG_MAX) {
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
			log_peer(LOG_NOTICE, (struct sockaddr *)&ss,
			    "not taken over: %s", why);
		else
			log_info("a client not taken over: %s", why);
	}
	close(fd);
}

/*
 * The predecessor's clients become srv's, in their order, each with its
 * record; a client whose record or socket does not check out is closed
 * (it sees the connection end and can reconnect).  srv NULL: all closed.
 * Logs one summary.
 */
void
handover_adopt(struct server *srv)
{
	struct handover_client rec;
	enum handover_result r;
	unsigned long adopted = 0, closed = 0, lost = 0;
	const char *why, *first_why = NULL;
	uint64_t t0 = monotime_us();
	size_t i, nl;
	int fd, rc;

	if (!ho.have)
		return;
	nl = ho.in.nlisteners;
	r = ho.head_res;
	for (i = 0; i < ho.in.nclients; i++) {
		fd = ho.in.fds[nl + i];
		ho.in.fds[nl + i] = -1;
		if (r != HANDOVER_LOST && r != HANDOVER_SHORT &&
		    ho.head_res == HANDOVER_OK)
			r = handover_read_client(&ho.reader, &rec);
		if (fd == -1) {
			lost++;
			continue;
		}
		if (srv == NULL) {
			why = "this daemon takes over no clients";
			rc = -1;
		} else if (r == HANDOVER_OK) {
			rc = server_adopt(srv, fd, &rec, &why);
		} else {
			why = ho.head_res != HANDOVER_OK ? (ho.in.img == NULL ?
			    ho.in.why : handover_result_str(ho.head_res)) :
			    r == HANDOVER_END ? "no record for it" :
			    handover_result_str(r);
			rc = -1;
		}
		if (rc == 0) {
			adopted++;
			continue;
		}
		closed++;
		if (rc == -1) {
			if (first_why == NULL)
				first_why = why;
			handover_refuse(fd, why);
		}
	}
	log_debug("hand-over: clients adopted in %.1f ms",
	    (double)(monotime_us() - t0) / 1e3);
	if (ho.head_res == HANDOVER_OK)
		log_info("took over %lu of %zu clients from %s[%u] in %.1f ms%s",
		    adopted, ho.in.nclients, ho.head.daemon, ho.head.pid,
		    (double)(monotime_us() - ho.head.started_us) / 1e3,
		    ho.in.truncated ? " (some sockets were lost on the way)" :
		    "");
	else
		log_warnx("hand-over unusable (%s)", ho.in.img == NULL ?
		    ho.in.why : handover_result_str(ho.head_res));
	if (closed + lost > 0)
		log_warnx("hand-over: %lu clients closed (%s), %lu lost on "
		    "the way; they can reconnect", closed,
		    first_why != NULL ? first_why : "closed on adoption", lost);
	handover_in_close(&ho.in);
	memset(&ho.head, 0, sizeof(ho.head));
	ho.have = 0;
}

/* The capsule of srv's clients, or -1 (logged); *n: clients in it. */
static int
handover_make(struct server *srv, const void *blob, size_t bloblen,
    long *n)
{
	const struct server_stats *st = server_stats(srv);
	struct handover_writer w;
	uint64_t t0 = monotime_us(), t1;
	size_t cap, nl = 0;
	long total;
	int *fds, capsule = -1;

	cap = LISTEN_MAX + st->clients;
	if ((fds = calloc(cap, sizeof(*fds))) == NULL) {
		log_warn("hand-over");
		return -1;
	}
	total = server_image(srv, blob, bloblen, t0, &w, fds, cap, &nl);
	t1 = monotime_us();
	if (total == -1)
		log_warn("hand-over: cannot write the image");
	else if ((capsule = handover_pack(w.p, w.len, fds, (size_t)total,
	    nl)) == -1)
		log_warn("hand-over: cannot pack %ld sockets", total);
	else {
		*n = total - (long)nl;
		log_debug("hand-over: image of %ld clients (%zu bytes) in %.1f "
		    "ms, packed in %.1f ms", *n, w.len, (double)(t1 - t0) / 1e3,
		    (double)(monotime_us() - t1) / 1e3);
	}
	handover_write_free(&w);
	free(fds);
	return capsule;
}

/*
 * Reload: re-executes the daemon's binary with srv's clients, blob its
 * own state.  Does not return when it works; -1 (logged) when it could
 * not, the daemon then goes on as it was.
 */
int
handover_reexec(struct server *srv, const void *blob, size_t bloblen)
{
	char sfd[16], spid[16];
	long n = 0;
	int capsule, saved;

	if (ho.exe == NULL || ho.argv == NULL) {
		log_warnx("reload: the binary to re-execute is unknown");
		return -1;
	}
	sdn_reloading();
	if ((capsule = handover_make(srv, blob, bloblen, &n)) == -1) {
		sdn_ready();
		return -1;
	}
	log_info("reload: re-executing %s with %ld clients", ho.exe, n);
	snprintf(sfd, sizeof(sfd), "%d", capsule);
	snprintf(spid, sizeof(spid), "%d", (int)getpid());
	if (setenv(HANDOVER_ENV_FD, sfd, 1) == -1 ||
	    setenv(HANDOVER_ENV_PID, spid, 1) == -1 ||
	    fcntl(capsule, F_SETFD, 0) == -1)
		goto fail;
	/* systemd counts the watchdog on across execve: a fresh interval. */
	sdn_watchdog_ping();
	fflush(NULL);
	execv(ho.exe, ho.argv);
fail:
	saved = errno;
	unsetenv(HANDOVER_ENV_FD);
	unsetenv(HANDOVER_ENV_PID);
	close(capsule);
	log_warnx("reload: cannot re-execute %s: %s; still running",
	    ho.exe, strerror(saved));
	sdn_ready();
	errno = saved;
	return -1;
}

/*
 * Stop under systemd with an fd store: srv's clients go to the store for
 * the unit's next process (a restart); a plain stop closes them.  0 when
 * handed over: the daemon then lets go of its clients without a word and
 * exits.  -1 (logged) when not: the daemon stops as usual.
 */
int
handover_to_store(struct server *srv, const void *blob, size_t bloblen)
{
	uint64_t t0 = monotime_us();
	long n = 0;
	int capsule, r;

	if (!handover_store_enabled())
		return -1;
	if ((capsule = handover_make(srv, blob, bloblen, &n)) == -1)
		return -1;
	r = sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=" HANDOVER_FDNAME,
	    &capsule, 1);
	if (r <= 0) {
		close(capsule);
		log_warnx("stop: cannot leave the clients to systemd: %s",
		    r < 0 ? strerror(-r) : "no notification socket");
		return -1;
	}
	/* Theirs now: not a byte more from us, whatever happens on the way out. */
	server_let_go(srv);
	/* Make sure systemd holds it before we are gone. */
	if ((r = sd_notify_barrier(0, HANDOVER_BARRIER_USEC)) < 0)
		log_warnx("stop: systemd did not confirm the hand-over: %s",
		    strerror(-r));
	close(capsule);
	log_info("stop: %ld clients left to systemd in %.1f ms for the next "
	    "start (a restart keeps them, a stop closes them)", n,
	    (double)(monotime_us() - t0) / 1e3);
	return 0;
}
