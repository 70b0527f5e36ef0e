/* SPDX-License-Identifier: ISC */
/*
 * loadgen: the load generator of bench/run.  One thread, one epoll set,
 * tens of thousands of non-blocking TCP connections spread over the source
 * addresses 127.0.0.1 .. 127.0.0.K.  Every line received is stamped with
 * the kernel's receive time (SO_TIMESTAMPNS, CLOCK_REALTIME), so the time
 * a line reached us does not depend on when this process got to read it.
 *
 * Modes (first argument):
 *   clock     hold N clients of a clock server; per-line offsets from the
 *             second boundary, per-tick spread, skipped/repeated seconds.
 *   reverb    N clients each send one line and wait for its three echoes;
 *             the error of each echo against its schedule.
 *   tput      echo throughput: C clients keep W lines in flight.
 *   ftp       N clients connect and log in anonymously, then stay idle.
 *
 * Results are printed as "key=value" lines; --out PREFIX also writes
 * quantile tables (PREFIX.NAME.dat) for the plots.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT	24
#endif

#define NSEC		1000000000LL
#define MSEC		1000000LL
#define LINE_CAP	256
#define EVENTS_MAX	1024
#define QUANTILES	1000

enum mode {
	MODE_CLOCK,
	MODE_REVERB,
	MODE_TPUT,
	MODE_FTP,
};

enum cstate {
	CS_IDLE,	/* not yet connecting */
	CS_CONNECTING,
	CS_OPEN,
	CS_CLOSED,
};

enum ftpstate {
	FTP_GREETING,
	FTP_USER,
	FTP_PASS,
	FTP_DONE,
	FTP_FAILED,
};

struct client {
	int		 fd;
	unsigned char	 state;
	unsigned char	 ftp;
	uint16_t	 linelen;
	char		 line[LINE_CAP];
	/* clock */
	int64_t		 last_sec;	/* second named by the last line */
	/* reverb */
	int64_t		 t_send, t_echo[3];
	/* tput */
	uint64_t	 sent, replies;
};

struct clockrec {
	uint32_t	 client;
	int64_t		 named;		/* the second the line names */
	int64_t		 t;		/* receive time, ns */
};

struct opts {
	enum mode	 mode;
	const char	*host;
	int		 port;
	unsigned	 conns;
	unsigned	 sources;
	unsigned	 connect_inflight;
	pid_t		 pid;
	double		 warmup, window, delay, spread, duration;
	unsigned	 inflight;
	double		 connect_timeout;
	const char	*out;
	int		 hold;
	int		 user_ts;
	int		 read_every;	/* ms; 0: read as lines come */
};

static struct opts	 o;
static struct client	*cl;
static int		 ep;
static unsigned		 n_open, n_connecting, n_failed, n_closed_early;
static unsigned		 next_connect;
static int64_t		 t_connect_start, t_connect_done;
static int		 measuring;
static long long	 proc_preempt;	/* server's involuntary switches */

/* clock */
static struct clockrec	*recs;
static size_t		 nrecs, caprecs;
static int64_t		 win_start, win_end;
static uint64_t		 skipped, repeated, clock_lines, bad_lines;
static unsigned		 clients_skip, clients_repeat;
static unsigned char	*client_flags;

/* reverb */
static uint64_t		 echoes_got, unexpected, reverb_sent;

/* tput */
static int64_t		 tput_start, tput_end;
static uint64_t		 tput_base, tput_total;

/* ftp */
static unsigned		 ftp_done, ftp_failed;
static int64_t		 ftp_last_done;
static int		 ftp_fail_code;

static int64_t	now_ns(void);
static void	usage(void) __attribute__((noreturn));
static void	die(const char *, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void	start_connects(void);
static void	conn_start(unsigned);
static void	conn_ready(unsigned);
static void	conn_close(unsigned, int);
static void	conn_read(unsigned);
static void	on_line(unsigned, const char *, size_t, int64_t);
static void	run_loop(int64_t, int (*)(void));
static void	sample_proc(long long *, long long *);
static int	cmp_i64(const void *, const void *);
static void	write_quantiles(const char *, int64_t *, size_t, double);
static void	send_str(unsigned, const char *);
static void	mode_clock(void);
static void	mode_reverb(void);
static void	mode_tput(void);
static void	mode_ftp(void);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen clock|reverb|tput|ftp --port N [options]\n"
	    "  --host ADDR          server IPv4 address (127.0.0.1)\n"
	    "  --conns N            connections (1000)\n"
	    "  --sources K          source addresses 127.0.0.1..K "
	    "(auto: one per 10000)\n"
	    "  --connect-inflight N connects in progress at once (256)\n"
	    "  --connect-timeout S  give up connecting after S seconds (60)\n"
	    "  --pid PID            server to sample (RSS, CPU)\n"
	    "  --warmup S --window S          clock: measuring window\n"
	    "  --delay S --spread S           reverb: server delay, send spread\n"
	    "  --duration S --inflight W      tput: window, lines in flight\n"
	    "  --hold               ftp: print READY, wait for stdin EOF\n"
	    "  --user-timestamps    stamp lines when read, not when received\n"
	    "  --read-every MS      clock: read only every MS ms of the wall\n"
	    "                       clock (at MS/2 past), not as lines come\n"
	    "  --out PREFIX         write PREFIX.NAME.dat quantile tables\n");
	exit(64);
}

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "loadgen: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q (0..1) of a sorted array, nearest rank. */
static int64_t
quant(const int64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(q * (double)(n - 1) + 0.5);
	if (i >= n)
		i = n - 1;
	return v[i];
}

/* Writes a CDF table "fraction value" of a sorted array, in units of unit ns. */
static void
write_quantiles(const char *name, int64_t *v, size_t n, double unit)
{
	char path[4096];
	FILE *f;
	int i;

	if (o.out == NULL || n == 0)
		return;
	if (snprintf(path, sizeof(path), "%s.%s.dat", o.out, name) >=
	    (int)sizeof(path))
		die("--out too long");
	if ((f = fopen(path, "w")) == NULL)
		die("%s: %s", path, strerror(errno));
	fprintf(f, "# fraction value\n");
	for (i = 0; i <= QUANTILES; i++)
		fprintf(f, "%.4f %.6f\n", (double)i / QUANTILES,
		    (double)quant(v, n, (double)i / QUANTILES) / unit);
	fclose(f);
}

/* Reads utime+stime (clock ticks) and VmRSS (KiB) of the server. */
static void
sample_proc(long long *cpu, long long *rss)
{
	char path[128], buf[4096], *p;
	unsigned long long ut, st;
	struct dirent *de;
	DIR *dir;
	FILE *f;
	size_t n;
	int i;

	*cpu = *rss = -1;
	if (o.pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)o.pid);
	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		/* Fields after the command name, which may hold spaces. */
		if ((p = strrchr(buf, ')')) != NULL) {
			p += 2;
			for (i = 3; i < 14 && p != NULL; i++) {
				p = strchr(p, ' ');
				if (p != NULL)
					p++;
			}
			if (p != NULL && sscanf(p, "%llu %llu", &ut, &st) == 2)
				*cpu = (long long)(ut + st);
		}
	}
	snprintf(path, sizeof(path), "/proc/%d/status", (int)o.pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "VmRSS:", 6) == 0)
				*rss = atoll(buf + 6);
		fclose(f);
	}
	proc_preempt = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)o.pid);
	if ((dir = opendir(path)) == NULL)
		return;
	/* Involuntary switches are counted per thread (Go has several). */
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.' ||
		    snprintf(path, sizeof(path), "/proc/%d/task/%s/status",
		    (int)o.pid, de->d_name) >= (int)sizeof(path) ||
		    (f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(buf, sizeof(buf), f) != NULL)
			if (strncmp(buf, "nonvoluntary_ctxt_switches:", 27) == 0)
				proc_preempt += atoll(buf + 27);
		fclose(f);
	}
	closedir(dir);
}

static void
conn_start(unsigned i)
{
	struct client *c = &cl[i];
	struct sockaddr_in src, dst;
	struct epoll_event ev;
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		die("socket: %s (connection %u)", strerror(errno), i);
	(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
	    sizeof(one));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!o.user_ts)
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one,
		    sizeof(one));
	memset(&src, 0, sizeof(src));
	src.sin_family = AF_INET;
	src.sin_addr.s_addr = htonl(0x7f000001u + i % o.sources);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) == -1)
		die("bind 127.0.0.%u: %s", 1 + i % o.sources, strerror(errno));
	memset(&dst, 0, sizeof(dst));
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)o.port);
	if (inet_pton(AF_INET, o.host, &dst.sin_addr) != 1)
		die("bad --host %s", o.host);
	c->fd = fd;
	c->state = CS_CONNECTING;
	n_connecting++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.u32 = i;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1)
		die("epoll_ctl: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&dst, sizeof(dst)) == -1 &&
	    errno != EINPROGRESS) {
		n_connecting--;
		n_failed++;
		c->state = CS_CLOSED;
		close(fd);
		c->fd = -1;
	}
}

/* Keeps up to --connect-inflight connects in progress. */
static void
start_connects(void)
{
	unsigned busy;

	for (;;) {
		if (next_connect >= o.conns)
			return;
		/* FTP: logins in progress, not just connects, are bounded. */
		busy = o.mode == MODE_FTP ? next_connect - ftp_done -
		    ftp_failed - n_failed - n_closed_early : n_connecting;
		if (o.connect_inflight != 0 && busy >= o.connect_inflight)
			return;
		conn_start(next_connect++);
	}
}

static void
conn_ready(unsigned i)
{
	struct client *c = &cl[i];
	struct epoll_event ev;
	socklen_t len = sizeof(int);
	int err = 0;

	n_connecting--;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
	    err != 0) {
		n_failed++;
		c->state = CS_CLOSED;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
		return;
	}
	c->state = CS_OPEN;
	n_open++;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.u32 = i;
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	if (n_open + n_failed == o.conns)
		t_connect_done = now_ns();
}

/* Closes with a reset when abort is set, so no TIME_WAIT is left behind. */
static void
conn_close(unsigned i, int abort_it)
{
	struct client *c = &cl[i];
	struct linger lg = { 1, 0 };

	if (c->fd == -1)
		return;
	if (abort_it)
		(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (c->state == CS_OPEN)
		n_open--;
	else if (c->state == CS_CONNECTING)
		n_connecting--;
	close(c->fd);
	c->fd = -1;
	c->state = CS_CLOSED;
}

static void
send_str(unsigned i, const char *s)
{
	size_t len = strlen(s);
	ssize_t n;

	if (cl[i].fd == -1)
		return;
	n = send(cl[i].fd, s, len, MSG_NOSIGNAL);
	if (n != (ssize_t)len)
		conn_close(i, 1);
}

static void
conn_read(unsigned i)
{
	struct client *c = &cl[i];
	char buf[8192], cbuf[CMSG_SPACE(sizeof(struct timespec))];
	struct msghdr msg;
	struct iovec iov;
	struct cmsghdr *cm;
	struct timespec ts;
	int64_t t;
	ssize_t n, k, start;

	for (;;) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		n = recvmsg(c->fd, &msg, MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			if (measuring || o.mode == MODE_FTP)
				n_closed_early++;
			conn_close(i, n == -1);
			return;
		}
		t = -1;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_TIMESTAMPNS) {
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				t = (int64_t)ts.tv_sec * NSEC + ts.tv_nsec;
			}
		}
		if (t == -1)
			t = now_ns();
		if (o.mode == MODE_TPUT) {
			for (k = 0; k < n; k++)
				if (buf[k] == '\n')
					c->replies++;
			continue;
		}
		start = 0;
		for (k = 0; k < n; k++) {
			if (buf[k] != '\n')
				continue;
			if (c->linelen + (k - start) < LINE_CAP) {
				memcpy(c->line + c->linelen, buf + start,
				    (size_t)(k - start));
				c->linelen += (uint16_t)(k - start);
			} else
				c->linelen = LINE_CAP - 1;
			on_line(i, c->line, c->linelen, t);
			if (c->fd == -1)
				return;
			c->linelen = 0;
			start = k + 1;
		}
		if (n - start > 0) {
			if (c->linelen + (n - start) < LINE_CAP) {
				memcpy(c->line + c->linelen, buf + start,
				    (size_t)(n - start));
				c->linelen += (uint16_t)(n - start);
			} else
				c->linelen = LINE_CAP - 1;
		}
	}
}

/* "HH:MM:SS" (CR and anything after ignored) to seconds of the day. */
static int
parse_hms(const char *s, size_t len)
{
	if (len < 8 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]) ||
	    s[5] != ':' || !isdigit((unsigned char)s[6]) ||
	    !isdigit((unsigned char)s[7]))
		return -1;
	return ((s[0] - '0') * 10 + s[1] - '0') * 3600 +
	    ((s[3] - '0') * 10 + s[4] - '0') * 60 +
	    (s[6] - '0') * 10 + s[7] - '0';
}

static void
on_clock_line(unsigned i, const char *s, size_t len, int64_t t)
{
	struct client *c = &cl[i];
	int64_t tsec = t / NSEC, day = tsec - tsec % 86400, named, d;
	int hms;

	if ((hms = parse_hms(s, len)) == -1) {
		bad_lines++;
		return;
	}
	/* The absolute second nearest to the receive time (UTC lines). */
	named = day + hms;
	if (named - tsec > 43200)
		named -= 86400;
	else if (tsec - named > 43200)
		named += 86400;
	if (measuring && t >= win_start && t < win_end) {
		clock_lines++;
		if (c->last_sec != 0) {
			d = named - c->last_sec;
			if (d <= 0) {
				repeated += (uint64_t)(1 - d);
				if (!(client_flags[i] & 2))
					clients_repeat++;
				client_flags[i] |= 2;
			} else if (d > 1) {
				skipped += (uint64_t)(d - 1);
				if (!(client_flags[i] & 1))
					clients_skip++;
				client_flags[i] |= 1;
			}
		}
		client_flags[i] |= 4;	/* heard from in the window */
		if (nrecs == caprecs) {
			caprecs = caprecs == 0 ? 65536 : caprecs * 2;
			recs = realloc(recs, caprecs * sizeof(*recs));
			if (recs == NULL)
				die("out of memory");
		}
		recs[nrecs].client = i;
		recs[nrecs].named = named;
		recs[nrecs].t = t;
		nrecs++;
	}
	c->last_sec = named;
}

static void
on_reverb_line(unsigned i, const char *s, size_t len, int64_t t)
{
	struct client *c = &cl[i];
	char want[3][32];
	size_t k, wl;
	int e;

	/* "\t TEXT": both servers print a tab, a space, then the text. */
	while (len > 0 && (*s == '\t' || *s == ' ')) {
		s++;
		len--;
	}
	if (len > 0 && s[len - 1] == '\r')
		len--;
	snprintf(want[1], sizeof(want[1]), "Echo-%07u", i);
	wl = strlen(want[1]);
	for (k = 0; k <= wl; k++) {
		want[0][k] = (char)toupper((unsigned char)want[1][k]);
		want[2][k] = (char)tolower((unsigned char)want[1][k]);
	}
	for (e = 0; e < 3; e++)
		if (len == wl && memcmp(s, want[e], wl) == 0 &&
		    c->t_echo[e] == 0) {
			c->t_echo[e] = t;
			echoes_got++;
			return;
		}
	unexpected++;
}

static void
on_ftp_line(unsigned i, const char *s, size_t len, int64_t t)
{
	struct client *c = &cl[i];
	int code;

	if (len < 4 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
	    s[3] != ' ')
		return;		/* part of a multi-line reply */
	code = (s[0] - '0') * 100 + (s[1] - '0') * 10 + s[2] - '0';
	switch (c->ftp) {
	case FTP_GREETING:
		if (code == 220) {
			c->ftp = FTP_USER;
			send_str(i, "USER anonymous\r\n");
			return;
		}
		break;
	case FTP_USER:
		if (code == 331) {
			c->ftp = FTP_PASS;
			send_str(i, "PASS bench@example.org\r\n");
			return;
		}
		if (code != 230)
			break;
		/* FALLTHROUGH */
	case FTP_PASS:
		if (code == 230) {
			c->ftp = FTP_DONE;
			ftp_done++;
			ftp_last_done = t > ftp_last_done ? t : ftp_last_done;
			return;
		}
		break;
	default:
		return;
	}
	c->ftp = FTP_FAILED;
	ftp_failed++;
	ftp_fail_code = code;
}

static void
on_line(unsigned i, const char *s, size_t len, int64_t t)
{
	switch (o.mode) {
	case MODE_CLOCK:
		on_clock_line(i, s, len, t);
		break;
	case MODE_REVERB:
		on_reverb_line(i, s, len, t);
		break;
	case MODE_FTP:
		on_ftp_line(i, s, len, t);
		break;
	case MODE_TPUT:
		break;
	}
}

/*
 * Runs the loop until the deadline (absolute, ns) or until done() says
 * so; tput refills lines in flight after each batch of reads.
 */
static void
run_loop(int64_t deadline, int (*done)(void))
{
	struct epoll_event evs[EVENTS_MAX];
	static int nap_due;
	int64_t left;
	int n, k, ms;
	unsigned i;

	for (;;) {
		start_connects();
		if (done != NULL && done())
			return;
		left = deadline - now_ns();
		if (left <= 0)
			return;
		ms = (int)(left / MSEC) + 1;
		if (ms > 50)
			ms = 50;
		if (measuring && o.read_every > 0) {
			/*
			 * Read only at fixed moments of the wall clock: the
			 * kernel has stamped each line already, and a reader
			 * that wakes for every line would compete with the
			 * server for the CPU while it sends.
			 */
			if (nap_due) {
				int64_t now = now_ns(), per = o.read_every * MSEC;
				int64_t next = (now / per) * per + per / 2;
				struct timespec ts;

				if (next <= now)
					next += per;
				if (next > deadline)
					next = deadline;
				ts.tv_sec = (next - now) / NSEC;
				ts.tv_nsec = (next - now) % NSEC;
				nanosleep(&ts, NULL);
			}
			ms = 0;
		}
		n = epoll_wait(ep, evs, EVENTS_MAX, ms);
		/* Drained: nap until the next reading moment. */
		nap_due = n < EVENTS_MAX;
		if (n == -1 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++) {
			i = evs[k].data.u32;
			if (cl[i].fd == -1)
				continue;
			if (cl[i].state == CS_CONNECTING) {
				if (evs[k].events & (EPOLLOUT | EPOLLERR |
				    EPOLLHUP))
					conn_ready(i);
				if (cl[i].fd == -1)
					continue;
			}
			if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
				conn_read(i);
			if (o.mode == MODE_TPUT && cl[i].fd != -1) {
				char line[32];

				snprintf(line, sizeof(line), "Echo-%07u\n", i);
				while (cl[i].fd != -1 && cl[i].sent -
				    cl[i].replies / 3 < o.inflight) {
					send_str(i, line);
					cl[i].sent++;
				}
			}
		}
	}
}

static int
all_connected(void)
{
	return next_connect == o.conns && n_connecting == 0;
}

static void
report_connect(void)
{
	printf("conns=%u\nconnected=%u\nconnect_failed=%u\n", o.conns,
	    n_open, n_failed);
	printf("connect_secs=%.3f\n", (double)((t_connect_done ?
	    t_connect_done : now_ns()) - t_connect_start) / NSEC);
}

static void
connect_all(void)
{
	t_connect_start = now_ns();
	run_loop(t_connect_start + (int64_t)(o.connect_timeout * NSEC),
	    all_connected);
}

static void
close_all(void)
{
	unsigned i;

	for (i = 0; i < o.conns; i++)
		conn_close(i, 1);
}

static void
mode_clock(void)
{
	long long cpu0, cpu1, rss0, rss1, dummy, pre0;
	int64_t *v, cut, t, tick, first_tick, last_tick, *spreads, *within;
	int64_t *tmin, *tmax;
	size_t i, nv, nt, nw;
	unsigned *hist, heard = 0, j, *tcount;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t best_len, best_at, run_len, run_at, b;
	struct rusage ru0, ru1;
	double lg_cpu;

	sample_proc(&dummy, &rss0);
	client_flags = calloc(o.conns, 1);
	if (client_flags == NULL)
		die("out of memory");
	connect_all();
	report_connect();
	/* Whoever runs us may act once everyone is connected. */
	fflush(stdout);
	/* Window: whole seconds, starting half-way between boundaries. */
	t = now_ns() + (int64_t)(o.warmup * NSEC);
	win_start = (t / NSEC + 1) * NSEC + NSEC / 2;
	win_end = win_start + (int64_t)(o.window + 0.5) * NSEC;
	measuring = 1;
	run_loop(win_start, NULL);
	sample_proc(&cpu0, &dummy);
	pre0 = proc_preempt;
	getrusage(RUSAGE_SELF, &ru0);
	n_closed_early = 0;
	run_loop(win_end, NULL);
	sample_proc(&cpu1, &rss1);
	if (o.pid > 0)
		printf("server_preempted=%lld\n", proc_preempt - pre0);
	getrusage(RUSAGE_SELF, &ru1);
	run_loop(win_end + NSEC / 4, NULL);	/* lines in flight */
	measuring = 0;

	for (j = 0; j < o.conns; j++)
		if (client_flags[j] & 4)
			heard++;
	printf("open_at_end=%u\nclients_heard=%u\nclosed_in_window=%u\n",
	    n_open, heard, n_closed_early);
	printf("window_secs=%.0f\nlines=%" PRIu64 "\nbad_lines=%" PRIu64 "\n",
	    (double)(win_end - win_start) / NSEC, clock_lines, bad_lines);
	printf("lines_per_client_sec=%.4f\n", heard == 0 ? 0.0 :
	    (double)clock_lines / heard / ((double)(win_end - win_start) /
	    NSEC));
	printf("skipped=%" PRIu64 "\nrepeated=%" PRIu64 "\n", skipped,
	    repeated);
	printf("clients_skipped=%u\nclients_repeated=%u\n", clients_skip,
	    clients_repeat);
	if (o.pid > 0) {
		printf("rss_idle_kb=%lld\nrss_kb=%lld\n", rss0, rss1);
		printf("cpu_pct=%.2f\n", cpu0 < 0 || cpu1 < 0 ? -1.0 :
		    (double)(cpu1 - cpu0) / hz * 100.0 /
		    ((double)(win_end - win_start) / NSEC));
	}
	lg_cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec +
	    ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
	    (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
	    ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	printf("loadgen_cpu_pct=%.2f\n", lg_cpu * 100.0 /
	    ((double)(win_end - win_start) / NSEC));
	if (nrecs == 0)
		return;

	/* Offsets from the start of the second each line names. */
	nv = nrecs;
	if ((v = malloc(nv * sizeof(*v))) == NULL)
		die("out of memory");
	for (i = 0; i < nv; i++)
		v[i] = recs[i].t - recs[i].named * NSEC;
	qsort(v, nv, sizeof(*v), cmp_i64);
	printf("offset_min_ms=%.3f\noffset_p50_ms=%.3f\noffset_p99_ms=%.3f\n"
	    "offset_max_ms=%.3f\n", (double)v[0] / MSEC,
	    (double)quant(v, nv, 0.5) / MSEC,
	    (double)quant(v, nv, 0.99) / MSEC, (double)v[nv - 1] / MSEC);
	write_quantiles("offset", v, nv, MSEC);

	/*
	 * Ticks: cut the second at the middle of the longest quiet stretch
	 * of the phase histogram (1 ms bins, circular); a tick is the second
	 * that starts there.  A server that sends at the boundary gets a cut
	 * half a second away from it; one with per-client phases gets its
	 * cut wherever fewest clients are due.
	 */
	if ((hist = calloc(1000, sizeof(*hist))) == NULL)
		die("out of memory");
	for (i = 0; i < nv; i++)
		hist[(recs[i].t % NSEC) / MSEC]++;
	best_len = -1;
	best_at = 0;
	run_len = 0;
	run_at = 0;
	for (b = 0; b < 2000; b++) {
		if (hist[b % 1000] == 0) {
			if (run_len == 0)
				run_at = b;
			run_len++;
			if (run_len > best_len && run_len <= 1000) {
				best_len = run_len;
				best_at = run_at;
			}
		} else
			run_len = 0;
	}
	if (best_len <= 0) {
		/* No quiet millisecond: cut at the least busy one. */
		best_at = 0;
		for (b = 1; b < 1000; b++)
			if (hist[b] < hist[best_at])
				best_at = b;
		best_len = 1;
	}
	cut = ((best_at + best_len / 2) % 1000) * MSEC;
	printf("tick_cut_ms=%.0f\nquiet_ms=%" PRId64 "\n", (double)cut / MSEC,
	    best_len);
	first_tick = (win_start - cut + NSEC - 1) / NSEC;   /* full ticks */
	last_tick = (win_end - cut) / NSEC - 1;
	nt = last_tick >= first_tick ? (size_t)(last_tick - first_tick + 1) : 0;
	printf("ticks=%zu\n", nt);
	if (nt == 0)
		return;
	tmin = calloc(nt, sizeof(*tmin));
	tmax = calloc(nt, sizeof(*tmax));
	tcount = calloc(nt, sizeof(*tcount));
	spreads = calloc(nt, sizeof(*spreads));
	within = malloc(nv * sizeof(*within));
	if (tmin == NULL || tmax == NULL || tcount == NULL || spreads == NULL ||
	    within == NULL)
		die("out of memory");
	for (i = 0; i < nv; i++) {
		tick = (recs[i].t - cut) / NSEC;
		if (tick < first_tick || tick > last_tick)
			continue;
		j = (unsigned)(tick - first_tick);
		if (tcount[j] == 0 || recs[i].t < tmin[j])
			tmin[j] = recs[i].t;
		if (tcount[j] == 0 || recs[i].t > tmax[j])
			tmax[j] = recs[i].t;
		tcount[j]++;
	}
	nw = 0;
	for (i = 0; i < nv; i++) {
		tick = (recs[i].t - cut) / NSEC;
		if (tick < first_tick || tick > last_tick)
			continue;
		within[nw++] = recs[i].t - tmin[tick - first_tick];
	}
	for (i = 0; i < nt; i++)
		spreads[i] = tmax[i] - tmin[i];
	{
		double lines_tick = 0;

		for (i = 0; i < nt; i++)
			lines_tick += tcount[i];
		printf("lines_per_tick=%.1f\n", lines_tick / (double)nt);
	}
	qsort(spreads, nt, sizeof(*spreads), cmp_i64);
	qsort(within, nw, sizeof(*within), cmp_i64);
	printf("spread_min_ms=%.3f\nspread_med_ms=%.3f\nspread_max_ms=%.3f\n",
	    (double)spreads[0] / MSEC, (double)quant(spreads, nt, 0.5) / MSEC,
	    (double)spreads[nt - 1] / MSEC);
	printf("within_tick_p50_ms=%.3f\nwithin_tick_p99_ms=%.3f\n",
	    (double)quant(within, nw, 0.5) / MSEC,
	    (double)quant(within, nw, 0.99) / MSEC);
	write_quantiles("within", within, nw, MSEC);
}

static int
reverb_all_echoed(void)
{
	return echoes_got >= 3ULL * reverb_sent;
}

static void
mode_reverb(void)
{
	long long rss0, rss1, dummy, pre0;
	int64_t t0, t_sample, deadline, d = (int64_t)(o.delay * NSEC);
	int64_t *err, *lat, due;
	unsigned i, sent = 0, missing = 0, with_line = 0;
	size_t ne = 0, nl = 0;
	uint64_t pending;
	char line[32];

	sample_proc(&dummy, &rss0);
	connect_all();
	report_connect();
	run_loop(now_ns() + NSEC / 2, NULL);
	/* Spread the sends evenly; sample once all are out, none due yet. */
	t0 = now_ns();
	t_sample = t0 + (int64_t)(o.spread * NSEC) +
	    (d - (int64_t)(o.spread * NSEC)) / 2;
	while (sent < o.conns) {
		int64_t now = now_ns();

		while (sent < o.conns && t0 + (int64_t)((double)sent *
		    o.spread * NSEC / o.conns) <= now) {
			if (cl[sent].state == CS_OPEN) {
				snprintf(line, sizeof(line), "Echo-%07u\n",
				    sent);
				cl[sent].t_send = now_ns();
				send_str(sent, line);
				reverb_sent++;
			}
			sent++;
		}
		run_loop(now + MSEC, NULL);
	}
	run_loop(t_sample, NULL);
	sample_proc(&dummy, &rss1);
	pending = 0;
	for (i = 0; i < o.conns; i++) {
		if (cl[i].t_send == 0)
			continue;
		with_line++;
		pending += (cl[i].t_echo[1] == 0) + (cl[i].t_echo[2] == 0);
	}
	printf("lines_sent=%u\nsend_secs=%.3f\n", with_line, o.spread);
	printf("pending_echoes=%" PRIu64 "\n", pending);
	if (o.pid > 0)
		printf("rss_idle_kb=%lld\nrss_kb=%lld\n", rss0, rss1);
	pre0 = proc_preempt;
	measuring = 1;
	deadline = t0 + (int64_t)(o.spread * NSEC) + 2 * d + 5 * NSEC;
	run_loop(deadline, reverb_all_echoed);
	measuring = 0;
	sample_proc(&dummy, &dummy);
	if (o.pid > 0)
		printf("server_preempted=%lld\n", proc_preempt - pre0);

	err = malloc(2 * (size_t)o.conns * sizeof(*err));
	lat = malloc((size_t)o.conns * sizeof(*lat));
	if (err == NULL || lat == NULL)
		die("out of memory");
	for (i = 0; i < o.conns; i++) {
		if (cl[i].t_send == 0)
			continue;
		if (cl[i].t_echo[0] == 0) {
			missing += 3;
			continue;
		}
		lat[nl++] = cl[i].t_echo[0] - cl[i].t_send;
		for (due = 1; due <= 2; due++) {
			if (cl[i].t_echo[due] == 0) {
				missing++;
				continue;
			}
			err[ne++] = cl[i].t_echo[due] - cl[i].t_echo[0] -
			    due * d;
		}
	}
	printf("echoes=%" PRIu64 "\nmissing_echoes=%u\nunexpected_lines=%"
	    PRIu64 "\nclosed_early=%u\n", echoes_got, missing, unexpected,
	    n_closed_early);
	qsort(err, ne, sizeof(*err), cmp_i64);
	qsort(lat, nl, sizeof(*lat), cmp_i64);
	if (ne > 0) {
		printf("err_min_ms=%.3f\nerr_p50_ms=%.3f\nerr_p99_ms=%.3f\n"
		    "err_max_ms=%.3f\n", (double)err[0] / MSEC,
		    (double)quant(err, ne, 0.5) / MSEC,
		    (double)quant(err, ne, 0.99) / MSEC,
		    (double)err[ne - 1] / MSEC);
		write_quantiles("error", err, ne, MSEC);
	}
	if (nl > 0)
		printf("first_p50_ms=%.3f\nfirst_p99_ms=%.3f\n"
		    "first_max_ms=%.3f\n", (double)quant(lat, nl, 0.5) / MSEC,
		    (double)quant(lat, nl, 0.99) / MSEC,
		    (double)lat[nl - 1] / MSEC);
}

static void
mode_tput(void)
{
	long long cpu0, cpu1, dummy;
	long hz = sysconf(_SC_CLK_TCK);
	unsigned i;
	char line[32];

	connect_all();
	report_connect();
	for (i = 0; i < o.conns; i++) {
		snprintf(line, sizeof(line), "Echo-%07u\n", i);
		while (cl[i].state == CS_OPEN && cl[i].sent < o.inflight) {
			send_str(i, line);
			cl[i].sent++;
		}
	}
	run_loop(now_ns() + NSEC / 2, NULL);		/* warm up */
	for (i = 0; i < o.conns; i++)
		tput_base += cl[i].replies;
	sample_proc(&cpu0, &dummy);
	tput_start = now_ns();
	measuring = 1;
	run_loop(tput_start + (int64_t)(o.duration * NSEC), NULL);
	tput_end = now_ns();
	measuring = 0;
	sample_proc(&cpu1, &dummy);
	for (i = 0; i < o.conns; i++)
		tput_total += cl[i].replies;
	tput_total -= tput_base;
	printf("open_at_end=%u\nclosed_early=%u\n", n_open, n_closed_early);
	printf("replies=%" PRIu64 "\nsecs=%.3f\n", tput_total,
	    (double)(tput_end - tput_start) / NSEC);
	printf("lines_per_sec=%.0f\nreplies_per_sec=%.0f\n",
	    (double)tput_total / 3 / ((double)(tput_end - tput_start) / NSEC),
	    (double)tput_total / ((double)(tput_end - tput_start) / NSEC));
	if (o.pid > 0)
		printf("cpu_pct=%.2f\n", cpu0 < 0 || cpu1 < 0 ? -1.0 :
		    (double)(cpu1 - cpu0) / hz * 100.0 /
		    ((double)(tput_end - tput_start) / NSEC));
}

static int
ftp_all_done(void)
{
	return next_connect == o.conns && n_connecting == 0 &&
	    ftp_done + ftp_failed + n_failed + n_closed_early >= o.conns;
}

static void
mode_ftp(void)
{
	struct pollfd pfd;
	char buf[256];

	/* Logins in progress are bounded by --connect-inflight too. */
	t_connect_start = now_ns();
	for (;;) {
		run_loop(now_ns() + 20 * MSEC, ftp_all_done);
		if (ftp_all_done() || now_ns() - t_connect_start >
		    (int64_t)(o.connect_timeout * NSEC))
			break;
	}
	printf("conns=%u\nconnected=%u\nconnect_failed=%u\n", o.conns,
	    ftp_done + ftp_failed, n_failed);
	printf("logged_in=%u\nlogin_failed=%u\nlast_fail_code=%d\n", ftp_done,
	    ftp_failed, ftp_fail_code);
	{
		unsigned st[5] = { 0 }, i;

		for (i = 0; i < o.conns; i++)
			if (cl[i].state == CS_OPEN)
				st[cl[i].ftp]++;
		printf("waiting_greeting=%u\nwaiting_user=%u\n"
		    "waiting_pass=%u\n", st[FTP_GREETING], st[FTP_USER],
		    st[FTP_PASS]);
	}
	printf("closed_early=%u\n", n_closed_early);
	printf("login_secs=%.3f\n", ftp_last_done == 0 ? -1.0 :
	    (double)(ftp_last_done - t_connect_start) / NSEC);
	if (!o.hold)
		return;
	printf("READY\n");
	fflush(stdout);
	/* Idle: keep watching the sessions until stdin closes. */
	pfd.fd = 0;
	pfd.events = POLLIN;
	for (;;) {
		run_loop(now_ns() + 100 * MSEC, NULL);
		if (poll(&pfd, 1, 0) == 1 && read(0, buf, sizeof(buf)) <= 0)
			break;
	}
	printf("open_at_end=%u\nclosed_while_idle=%u\n", n_open,
	    n_closed_early);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'n' },
		{ "sources", required_argument, NULL, 's' },
		{ "connect-inflight", required_argument, NULL, 'c' },
		{ "connect-timeout", required_argument, NULL, 'T' },
		{ "pid", required_argument, NULL, 'P' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "window", required_argument, NULL, 'W' },
		{ "delay", required_argument, NULL, 'd' },
		{ "spread", required_argument, NULL, 'S' },
		{ "duration", required_argument, NULL, 'D' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "hold", no_argument, NULL, 'h' },
		{ "user-timestamps", no_argument, NULL, 'u' },
		{ "out", required_argument, NULL, 'o' },
		{ "read-every", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct rlimit rl;
	int ch;
	unsigned i;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "clock") == 0)
		o.mode = MODE_CLOCK;
	else if (strcmp(argv[1], "reverb") == 0)
		o.mode = MODE_REVERB;
	else if (strcmp(argv[1], "tput") == 0)
		o.mode = MODE_TPUT;
	else if (strcmp(argv[1], "ftp") == 0)
		o.mode = MODE_FTP;
	else
		usage();
	o.host = "127.0.0.1";
	o.conns = 1000;
	o.connect_inflight = 256;
	o.connect_timeout = 60;
	o.warmup = 2;
	o.window = 10;
	o.delay = 3;
	o.spread = 1;
	o.duration = 5;
	o.inflight = 4;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = atoi(optarg); break;
		case 'n': o.conns = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o.sources = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c':
			o.connect_inflight = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'T': o.connect_timeout = atof(optarg); break;
		case 'P': o.pid = (pid_t)atoi(optarg); break;
		case 'w': o.warmup = atof(optarg); break;
		case 'W': o.window = atof(optarg); break;
		case 'd': o.delay = atof(optarg); break;
		case 'S': o.spread = atof(optarg); break;
		case 'D': o.duration = atof(optarg); break;
		case 'i': o.inflight = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'h': o.hold = 1; break;
		case 'u': o.user_ts = 1; break;
		case 'o': o.out = optarg; break;
		case 'r': o.read_every = atoi(optarg); break;
		default: usage();
		}
	}
	if (o.port <= 0 || o.port > 65535 || o.conns == 0 ||
	    o.conns > 1000000 || o.window < 1 || o.spread <= 0 ||
	    o.duration <= 0 || o.inflight == 0)
		usage();
	if (o.mode == MODE_REVERB && o.delay <= o.spread)
		die("--delay must be longer than --spread");
	if (o.sources == 0)
		o.sources = (o.conns + 9999) / 10000;
	if (o.sources > 254)
		o.sources = 254;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    o.conns + 16 > rl.rlim_cur)
		die("%u connections need more than the %llu descriptors allowed",
		    o.conns, (unsigned long long)rl.rlim_cur);
	signal(SIGPIPE, SIG_IGN);
	if ((cl = calloc(o.conns, sizeof(*cl))) == NULL)
		die("out of memory");
	for (i = 0; i < o.conns; i++)
		cl[i].fd = -1;
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		die("epoll_create1: %s", strerror(errno));
	printf("mode=%s\ntimestamps=%s\n", argv[1], o.user_ts ? "user" :
	    "kernel");
	switch (o.mode) {
	case MODE_CLOCK:
		mode_clock();
		break;
	case MODE_REVERB:
		mode_reverb();
		break;
	case MODE_TPUT:
		mode_tput();
		break;
	case MODE_FTP:
		mode_ftp();
		break;
	}
	close_all();
	fflush(stdout);
	return 0;
}
