/* wake.h - what ends the scheduler loop's wait between ticks: its signals and registered fds. */
#ifndef SWARMFLOW_SCHED_WAKE_H
#define SWARMFLOW_SCHED_WAKE_H

#include <stdbool.h>
#include <stdint.h>

struct scheduler;

/* One file descriptor the loop's wait watches (poll() for POLLIN), and what to call when it is
 * ready. */
struct sched_wake_fd {
	int fd;
	void (*on_ready)(void *ctx);
	void *ctx;
};

/* Registers fd (not owned: the caller closes it after sched_wake_remove or sched_finish): when
 * it becomes readable during the wait between two ticks, the wait ends, on_ready(ctx) is called
 * on the loop's thread and the next tick follows at once. on_ready must drain what made fd
 * readable (a level-triggered poll() would wake the loop again at once) and must not block.
 * Returns false when fd is negative or already registered. */
bool sched_wake_add(struct scheduler *s, int fd, void (*on_ready)(void *ctx), void *ctx);
/* Stops watching fd (nothing when it is not registered). */
void sched_wake_remove(struct scheduler *s, int fd);

/* Waits up to ms (0: only looks) for a signal of s->signals or a registered fd, in one poll()
 * over a signalfd of s->signals (created at the first wait) and the registered fds. A signal is
 * acted on (SIGTERM/SIGINT: s->stop; SIGHUP: s->reload_pending); each ready fd's on_ready is
 * called. Returns the number of wake-ups it handled (0: the time ran out). */
int sched_wake_wait(struct scheduler *s, int64_t ms);

/* Closes the signalfd and forgets the registered fds (sched_finish). */
void sched_wake_finish(struct scheduler *s);

#endif
