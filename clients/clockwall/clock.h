/* SPDX-License-Identifier: ISC */
/* One clock on the wall: its connection, its latest time, its retries. */
#ifndef CLOCKWALL_CLOCK_H
#define CLOCKWALL_CLOCK_H

#include <sys/time.h>

#include "offset.h"
#include "spec.h"

#define CLOCK_LINE_MAX		256	/* longest line taken from a clock */
#define CLOCK_CONNECT_MS	4000	/* to connect (two SYN resends fit) */
#define CLOCK_SILENT_MS		3000	/* without a line: silent ... */
#define CLOCK_DOWN_MS		10000	/* ... and then down; both + 2 RTT */
#define CLOCK_LOOKUP_POLL_MS	50	/* a lookup polled, at most every */
#define CLOCK_BACKOFF_FIRST_MS	500	/* first retry */
#define CLOCK_BACKOFF_MAX_MS	8000	/* retries never wait longer */

struct addrinfo;
struct evbuffer;
struct event;
struct event_base;
struct lookup;

enum clock_state {
	CLOCK_CONNECTING,	/* looking up, connecting, or no line yet */
	CLOCK_UP,		/* lines arriving */
	CLOCK_SILENT,		/* connected, but no line for a while */
	CLOCK_DOWN,		/* failed; retried when the timer fires */
};

struct clock {
	struct spec		 spec;
	char			 addr[SPEC_HOST_MAX + SPEC_PORT_MAX + 4];
	struct event_base	*base;
	struct addrinfo		*ai;		/* every address of the host */
	struct addrinfo		*try;		/* the one being tried */
	struct lookup		*lookup;	/* the host looked up again */
	int			 fd;
	struct event		*io;		/* connect, then read */
	struct evbuffer		*in;		/* a partial line */
	struct event		*timer;		/* timeouts and retries */
	enum clock_state	 state;
	int			 connected;	/* TCP is up (maybe no line) */
	int			 answered;	/* a line ever arrived */
	int			 retry;		/* 0: fail once and stay down */
	int			 utf8;
	char			 time[CLOCK_LINE_MAX];	/* latest line, clean */
	char			 why[96];	/* why it is down */
	char			 said[160];	/* last state printed (plain) */
	unsigned		 backoff_ms;	/* next retry's wait */
	struct timeval		 retry_at;	/* monotonic, when down */
	struct timeval		 last_line;	/* monotonic, the latest line */
	struct timeval		 lookup_until;	/* monotonic, lookup deadline */
	unsigned		 lookup_poll_ms;	/* next poll's wait */
	unsigned long		 rtt_us;	/* the connection's round trip */
	struct offset_filter	 filter;
	double			 offset;	/* seconds ahead of ours */
	int			 has_offset;
	unsigned long		 lines;
	unsigned long		 failures;
	void			(*changed)(struct clock *, void *);
	void			*arg;
};

struct clock *clock_new(struct event_base *, const struct spec *,
	    struct addrinfo *, int, int, void (*)(struct clock *, void *),
	    void *);
void	clock_start(struct clock *);
void	clock_retry_now(struct clock *);
void	clock_give_up(struct clock *, const char *);
void	clock_free(struct clock *);
unsigned clock_backoff_next(unsigned);
unsigned clock_silence_ms(const struct clock *, unsigned);

#endif
