/* SPDX-License-Identifier: ISC */
/* sd_notify(3) wrappers: readiness, status, stopping, watchdog. */
#ifndef CLOCKWORK_SDNOTIFY_H
#define CLOCKWORK_SDNOTIFY_H

struct event_base;

void	sdn_ready(void);
void	sdn_reloading(void);
void	sdn_status(const char *, ...) __attribute__((format(printf, 1, 2)));
void	sdn_stopping(void);
int	sdn_watchdog_start(struct event_base *);
void	sdn_watchdog_ping(void);
void	sdn_watchdog_stop(void);

#endif
