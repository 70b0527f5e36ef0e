/* SPDX-License-Identifier: ISC */
/*
 * netdelay: one network path of the multi-host test rig, for kernels
 * without the netem qdisc.  It makes a TUN device in each of two network
 * namespaces and joins them: every IP packet read from one device is
 * written to the other after its delay (a fixed delay plus a uniform
 * jitter), or dropped with the given probability.  It works on packets,
 * not on connections, so TCP on either side sees the delay in its own
 * round trip and repairs the losses itself, as on a long real path.
 * Each packet's delay is drawn on its own, as netem does: packets closer
 * together than the jitter may overtake each other (held in order, one
 * late packet would delay all that follow it, and a burst, such as two
 * connections opened together, would see more than the jitter).
 *
 *   netdelay -a NETNS -A DEV -b NETNS -B DEV [-d MS] [-j MS] [-l PCT]
 *            [-s SEED] [-q PACKETS] [-r]
 *
 * NETNS is a namespace file (/proc/PID/ns/net); the delay, jitter and
 * loss apply to each direction.  -r asks for a real-time priority, so that
 * a loaded machine does not add its scheduling delays to the path's (a
 * late wake-up at the handshake would skew the round trip TCP measures);
 * without it, or where it is refused, the path is as punctual as the
 * machine.  "ready" on standard output says both
 * devices exist (down, without addresses: the caller configures them).
 * SIGUSR1 prints the counters on standard error; SIGTERM, SIGINT and the
 * death of the parent end it (the devices go with it).
 */
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <linux/if.h>
#include <linux/if_tun.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define PKT_MAX		2048	/* bytes of a packet (the MTU is 1500) */
#define QUEUE_DEFAULT	1024	/* packets held per direction */
#define READS_PER_WAKE	64	/* a flood cannot starve the other side */

struct pkt {
	struct timespec	 due;
	size_t		 len;
	unsigned char	 data[PKT_MAX];
};

/*
 * One direction: packets read from in, held, then written to out.  The
 * packets live in slab; order is a ring of their slots, earliest due
 * first.
 */
struct dir {
	const char	*name;
	int		 in, out;
	struct pkt	*slab;
	size_t		*spare;		/* slots not in use, a stack */
	size_t		 nspare;
	size_t		*order;
	size_t		 cap, head, len;
	unsigned long	 got, lost, overflow, undeliverable, sent;
};

static volatile sig_atomic_t	stop_flag, stats_flag;
static uint64_t			rng_state;
static long			delay_ns, jitter_ns;
static double			loss;

static void
usage(void)
{
	fprintf(stderr, "usage: netdelay -a NETNS -A DEV -b NETNS -B DEV "
	    "[-d MS] [-j MS] [-l PCT] [-s SEED] [-q PACKETS] [-r]\n");
	exit(EX_USAGE);
}

static void
on_signal(int sig)
{
	if (sig == SIGUSR1)
		stats_flag = 1;
	else
		stop_flag = 1;
}

/* xorshift64*: a small generator, reproducible from -s. */
static double
rng_unit(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) /
	    9007199254740992.0;
}

static void
ts_add_ns(struct timespec *t, long ns)
{
	long long v = (long long)t->tv_nsec + ns;

	while (v < 0) {
		v += 1000000000LL;
		t->tv_sec--;
	}
	while (v >= 1000000000LL) {
		v -= 1000000000LL;
		t->tv_sec++;
	}
	t->tv_nsec = (long)v;
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec &&
	    a->tv_nsec < b->tv_nsec);
}

/* A TUN device named dev in the network namespace of the file ns. */
static int
tun_open(const char *ns, const char *dev)
{
	struct ifreq ifr;
	int nsfd, fd;

	if ((nsfd = open(ns, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "netdelay: %s: %s\n", ns, strerror(errno));
		exit(EX_NOINPUT);
	}
	if (setns(nsfd, CLONE_NEWNET) == -1) {
		fprintf(stderr, "netdelay: setns %s: %s\n", ns,
		    strerror(errno));
		exit(EX_OSERR);
	}
	close(nsfd);
	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK)) ==
	    -1) {
		fprintf(stderr, "netdelay: /dev/net/tun: %s\n",
		    strerror(errno));
		exit(EX_UNAVAILABLE);
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (strlen(dev) >= sizeof(ifr.ifr_name)) {
		fprintf(stderr, "netdelay: device name too long: %s\n", dev);
		exit(EX_USAGE);
	}
	strcpy(ifr.ifr_name, dev);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		fprintf(stderr, "netdelay: TUNSETIFF %s: %s\n", dev,
		    strerror(errno));
		exit(EX_OSERR);
	}
	return fd;
}

/* The packet due first, or NULL. */
static struct pkt *
dir_next(const struct dir *d)
{
	return d->len > 0 ? &d->slab[d->order[d->head]] : NULL;
}

/* Queues the packet in slot by its time: after every one due no later. */
static void
dir_queue(struct dir *d, size_t slot)
{
	const struct timespec *due = &d->slab[slot].due;
	size_t j = d->len;

	while (j > 0 && ts_before(due,
	    &d->slab[d->order[(d->head + j - 1) % d->cap]].due)) {
		d->order[(d->head + j) % d->cap] =
		    d->order[(d->head + j - 1) % d->cap];
		j--;
	}
	d->order[(d->head + j) % d->cap] = slot;
	d->len++;
}

/* Reads what waits on d->in: each packet is lost or queued with its time. */
static void
dir_read(struct dir *d)
{
	static unsigned char scratch[PKT_MAX];
	struct timespec now;
	struct pkt *p;
	size_t slot;
	ssize_t n;
	int i;

	for (i = 0; i < READS_PER_WAKE; i++) {
		if (d->nspare == 0) {
			/* Full: read it all the same, and drop it. */
			if (read(d->in, scratch, sizeof(scratch)) <= 0)
				return;
			d->got++;
			d->overflow++;
			continue;
		}
		slot = d->spare[d->nspare - 1];
		p = &d->slab[slot];
		if ((n = read(d->in, p->data, sizeof(p->data))) <= 0)
			return;
		d->got++;
		if (loss > 0 && rng_unit() * 100.0 < loss) {
			d->lost++;
			continue;
		}
		d->nspare--;
		clock_gettime(CLOCK_MONOTONIC, &now);
		p->due = now;
		ts_add_ns(&p->due, delay_ns + (jitter_ns > 0 ?
		    (long)((rng_unit() * 2.0 - 1.0) * (double)jitter_ns) : 0));
		p->len = (size_t)n;
		dir_queue(d, slot);
	}
}

/* Writes every packet whose time has come. */
static void
dir_release(struct dir *d, const struct timespec *now)
{
	struct pkt *p;

	while ((p = dir_next(d)) != NULL && !ts_before(now, &p->due)) {
		/* A device that is down (a cut link) refuses: the packet is gone. */
		if (write(d->out, p->data, p->len) == (ssize_t)p->len)
			d->sent++;
		else
			d->undeliverable++;
		d->spare[d->nspare++] = d->order[d->head];
		d->head = (d->head + 1) % d->cap;
		d->len--;
	}
}

static void
dir_stats(const struct dir *d)
{
	fprintf(stderr, "netdelay %s: %lu in, %lu lost, %lu overflow, "
	    "%lu undeliverable, %lu out\n", d->name, d->got, d->lost,
	    d->overflow, d->undeliverable, d->sent);
}

int
main(int argc, char **argv)
{
	const char *ns_a = NULL, *ns_b = NULL, *dev_a = NULL, *dev_b = NULL;
	struct dir dirs[2];
	struct pollfd pfd[2];
	struct timespec now, wait, *tp;
	struct sigaction sa;
	sigset_t block, old;
	unsigned long seed = (unsigned long)getpid() ^ (unsigned long)time(NULL);
	size_t cap = QUEUE_DEFAULT;
	char *end;
	struct sched_param sp;
	int ch, fa, fb, i, realtime = 0;
	double v;

	while ((ch = getopt(argc, argv, "a:A:b:B:d:j:l:q:rs:")) != -1) {
		switch (ch) {
		case 'a':
			ns_a = optarg;
			break;
		case 'A':
			dev_a = optarg;
			break;
		case 'b':
			ns_b = optarg;
			break;
		case 'B':
			dev_b = optarg;
			break;
		case 'd':
		case 'j':
		case 'l':
			v = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || v < 0 ||
			    v > (ch == 'l' ? 100 : 60000))
				usage();
			if (ch == 'd')
				delay_ns = (long)(v * 1e6);
			else if (ch == 'j')
				jitter_ns = (long)(v * 1e6);
			else
				loss = v;
			break;
		case 'q':
			cap = strtoul(optarg, &end, 10);
			if (*end != '\0' || cap == 0 || cap > 65536)
				usage();
			break;
		case 'r':
			realtime = 1;
			break;
		case 's':
			seed = strtoul(optarg, &end, 10);
			if (*end != '\0')
				usage();
			break;
		default:
			usage();
		}
	}
	if (ns_a == NULL || ns_b == NULL || dev_a == NULL || dev_b == NULL ||
	    optind != argc || jitter_ns > delay_ns)
		usage();
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	/* The rig's own clean-up is the norm; this is for when it is killed. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (realtime) {
		memset(&sp, 0, sizeof(sp));
		sp.sched_priority = 10;
		if (sched_setscheduler(0, SCHED_FIFO, &sp) == -1)
			fprintf(stderr, "netdelay: no real-time priority (%s): "
			    "the delays are as punctual as the machine\n",
			    strerror(errno));
	}

	fa = tun_open(ns_a, dev_a);
	fb = tun_open(ns_b, dev_b);
	memset(dirs, 0, sizeof(dirs));
	dirs[0].name = "a>b";
	dirs[0].in = fa;
	dirs[0].out = fb;
	dirs[1].name = "b>a";
	dirs[1].in = fb;
	dirs[1].out = fa;
	for (i = 0; i < 2; i++) {
		dirs[i].cap = cap;
		if ((dirs[i].slab = calloc(cap, sizeof(struct pkt))) == NULL ||
		    (dirs[i].spare = calloc(cap, sizeof(size_t))) == NULL ||
		    (dirs[i].order = calloc(cap, sizeof(size_t))) == NULL) {
			fprintf(stderr, "netdelay: out of memory\n");
			return EX_OSERR;
		}
		for (dirs[i].nspare = 0; dirs[i].nspare < cap; dirs[i].nspare++)
			dirs[i].spare[dirs[i].nspare] = dirs[i].nspare;
	}

	/* Signals are taken only inside ppoll: no wake-up is ever missed. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	printf("ready\n");
	fflush(stdout);
	while (!stop_flag) {
		pfd[0].fd = fa;
		pfd[1].fd = fb;
		pfd[0].events = pfd[1].events = POLLIN;
		tp = NULL;
		clock_gettime(CLOCK_MONOTONIC, &now);
		for (i = 0; i < 2; i++) {
			struct timespec w;

			if (dir_next(&dirs[i]) == NULL)
				continue;
			/* The time left until this direction's next packet. */
			w = dir_next(&dirs[i])->due;
			if (ts_before(&w, &now))
				w = now;
			ts_add_ns(&w, -now.tv_nsec);
			w.tv_sec -= now.tv_sec;
			if (tp == NULL || ts_before(&w, &wait))
				wait = w;
			tp = &wait;
		}
		if (ppoll(pfd, 2, tp, &old) == -1 && errno != EINTR) {
			fprintf(stderr, "netdelay: ppoll: %s\n",
			    strerror(errno));
			return EX_OSERR;
		}
		if (pfd[0].revents & POLLIN)
			dir_read(&dirs[0]);
		if (pfd[1].revents & POLLIN)
			dir_read(&dirs[1]);
		clock_gettime(CLOCK_MONOTONIC, &now);
		dir_release(&dirs[0], &now);
		dir_release(&dirs[1], &now);
		if (stats_flag) {
			stats_flag = 0;
			dir_stats(&dirs[0]);
			dir_stats(&dirs[1]);
		}
	}
	dir_stats(&dirs[0]);
	dir_stats(&dirs[1]);
	for (i = 0; i < 2; i++) {
		free(dirs[i].slab);
		free(dirs[i].spare);
		free(dirs[i].order);
	}
	close(fa);
	close(fb);
	return EX_OK;
}
