/* wake.c - the loop's wait between ticks: one poll() over a signalfd and the registered fds. */
#include "swarmflow/sched/wake.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "swarmflow/common/log.h"
#include "swarmflow/common/util.h"
#include "swarmflow/sched/sched.h"

/* Without a signalfd, the longest a signal waits to be seen. */
#define SIGNAL_LOOK_MS 100

bool sched_wake_add(struct scheduler *s, int fd, void (*on_ready)(void *ctx), void *ctx)
{
	if (fd < 0 || !on_ready)
		return false;
	for (size_t i = 0; i < s->n_wakes; i++)
		if (s->wakes[i].fd == fd)
			return false;
	s->wakes = xrealloc(s->wakes, (s->n_wakes + 1) * sizeof(*s->wakes));
	s->wakes[s->n_wakes++] = (struct sched_wake_fd){fd, on_ready, ctx};
	return true;
}

void sched_wake_remove(struct scheduler *s, int fd)
{
	for (size_t i = 0; i < s->n_wakes; i++) {
		if (s->wakes[i].fd != fd)
			continue;
		memmove(&s->wakes[i], &s->wakes[i + 1], (s->n_wakes - i - 1) * sizeof(*s->wakes));
		s->n_wakes--;
		return;
	}
}

/* Acts on one signal the loop watches. */
static void on_signal(struct scheduler *s, int sig)
{
	if (sig == SIGTERM || sig == SIGINT) {
		log_info("signal %s: stopping; %s", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			 s->only_run_pk ? "removing the test run's services"
					: "running tasks are left for the next start");
		s->stop = true;
	} else if (sig == SIGHUP && s->reload_config) {
		log_info("signal SIGHUP: reloading the config");
		s->reload_pending = true;
	} else {
		log_info("signal %d ignored", sig);
	}
}

/* Reads the pending signals off the signalfd; returns how many. */
static int read_signals(struct scheduler *s)
{
	int n = 0;
	struct signalfd_siginfo si;
	while (read(s->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		on_signal(s, (int)si.ssi_signo);
		n++;
	}
	return n;
}

/* Without a signalfd (none could be made): takes the pending signals, waiting for none. */
static int take_signals(struct scheduler *s)
{
	int n = 0;
	struct timespec zero = {0};
	siginfo_t info;
	for (int sig; (sig = sigtimedwait(s->signals, &info, &zero)) > 0; n++)
		on_signal(s, sig);
	return n;
}

/* The signalfd of s->signals, opened at the first wait; -1 when there are none to watch or
 * none could be made (said once; the wait then looks for signals every SIGNAL_LOOK_MS). */
static int signal_fd(struct scheduler *s)
{
	if (!s->signals)
		return -1;
	if (!s->signal_fd_open) {
		s->signal_fd = signalfd(-1, s->signals, SFD_NONBLOCK | SFD_CLOEXEC);
		if (s->signal_fd < 0)
			log_warn("signalfd: signals are looked for every %d ms instead",
				 SIGNAL_LOOK_MS);
		s->signal_fd_open = true;
	}
	return s->signal_fd;
}

int sched_wake_wait(struct scheduler *s, int64_t ms)
{
	int sfd = signal_fd(s);
	size_t n = s->n_wakes + 1;
	struct pollfd *fds = xcalloc(n, sizeof(*fds));
	fds[0] = (struct pollfd){.fd = sfd, .events = POLLIN}; /* -1: poll() skips it */
	for (size_t i = 0; i < s->n_wakes; i++)
		fds[i + 1] = (struct pollfd){.fd = s->wakes[i].fd, .events = POLLIN};
	int timeout = ms <= 0 ? 0 : ms > INT32_MAX ? INT32_MAX : (int)ms;
	if (s->signals && sfd < 0 && timeout > SIGNAL_LOOK_MS)
		timeout = SIGNAL_LOOK_MS;
	int woken = s->signals && sfd < 0 ? take_signals(s) : 0;
	if (woken == 0 && poll(fds, n, timeout) > 0) {
		if (fds[0].revents)
			woken += read_signals(s);
		/* A callback may register or remove fds: match by fd, not by index. */
		for (size_t i = 1; i < n; i++) {
			if (!fds[i].revents)
				continue;
			for (size_t k = 0; k < s->n_wakes; k++) {
				if (s->wakes[k].fd != fds[i].fd)
					continue;
				s->wakes[k].on_ready(s->wakes[k].ctx);
				woken++;
				break;
			}
		}
	}
	free(fds);
	if (s->signals && sfd < 0)
		woken += take_signals(s);
	return woken;
}

void sched_wake_finish(struct scheduler *s)
{
	if (s->signal_fd_open && s->signal_fd >= 0)
		close(s->signal_fd);
	s->signal_fd_open = false;
	free(s->wakes);
	s->wakes = NULL;
	s->n_wakes = 0;
}
