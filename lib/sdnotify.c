/* SPDX-License-Identifier: ISC */
/*
 * sd_notify(3) wrappers.  Outside systemd NOTIFY_SOCKET is unset and every
 * call is a cheap no-op, so callers never need to ask.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "sdnotify.h"

static struct event *watchdog_ev;

void
sdn_ready(void)
{
	sd_notify(0, "READY=1");
}

/*
 * A reload begins (a re-execution, or a daemon's configuration read
 * again); sdn_ready() says it is over.  MONOTONIC_USEC= is what
 * systemd 253's Type=notify-reload wants with it; older ones ignore it.
 */
void
sdn_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000);
}

/* One-line summary for `systemctl status`. */
void
sdn_status(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", buf);
}

void
sdn_stopping(void)
{
	sd_notify(0, "STOPPING=1");
}

/* A ping now, when a watchdog is set (harmless otherwise). */
void
sdn_watchdog_ping(void)
{
	if (getenv("WATCHDOG_USEC") != NULL)
		sd_notify(0, "WATCHDOG=1");
}

static void
sdn_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sdn_watchdog_ping();
}

/*
 * With WatchdogSec= set, pings from the event loop at half the interval,
 * so a wedged loop stops pinging and systemd restarts us.  The first ping
 * goes at once: after a re-execution systemd still counts from the
 * predecessor's last one.
 */
int
sdn_watchdog_start(struct event_base *base)
{
	uint64_t usec;
	struct timeval tv;

	if (sd_watchdog_enabled(0, &usec) <= 0)
		return 0;
	sd_notify(0, "WATCHDOG=1");
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	watchdog_ev = event_new(base, -1, EV_PERSIST, sdn_watchdog_cb, NULL);
	if (watchdog_ev == NULL || event_add(watchdog_ev, &tv) == -1) {
		log_warnx("cannot start the watchdog timer");
		return -1;
	}
	log_debug("watchdog ping every %lld.%06ld s", (long long)tv.tv_sec,
	    (long)tv.tv_usec);
	return 0;
}

void
sdn_watchdog_stop(void)
{
	if (watchdog_ev != NULL) {
		event_free(watchdog_ev);
		watchdog_ev = NULL;
	}
}
