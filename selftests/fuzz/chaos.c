// SPDX-License-Identifier: GPL-2.0
/*
 * chaos: the system-level half of the karena fuzz run (root, in the guest).
 *
 *   chaos [-H] [-s SEED] [-i MS]   until SIGTERM/SIGINT, every MS ms
 *                                  (default 300): CPU 1 offline/online
 *                                  (-H), drop_caches, a module parameter
 *                                  set to a random value, an rmmod attempt
 *   chaos settle [N]               after the fuzzer: back to zero?
 *                                  (TAP lines numbered after N)
 *
 * The run mode holds /dev/karena open the whole time, so every rmmod
 * attempt (delete_module(2), no exec) must fail; one that succeeds is a
 * failure.  On exit it brings CPU 1 back online and restores every
 * parameter it touched, then prints its counts as '# ' lines.
 *
 * settle checks the end state the fuzzer must leave: the live-object
 * counters of /sys/kernel/karena/ (files, spaces, mappings,
 * pages_allocated) return to zero (rings are released asynchronously:
 * waits up to 60 s), drop_caches then empties the per-CPU caches, every
 * counter that is not an event count is zero, and rmmod succeeds.  It
 * prints TAP lines; exit status 0 only if all passed.  Event counters
 * (monotonic totals, never expected to return to zero) are listed in
 * chaos_event_counters[]; any other counter the module exports is checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "karena.h"

#define SYSFS		"/sys/kernel/karena"
#define PARAMS		"/sys/module/karena/parameters"
#define CPU1		"/sys/devices/system/cpu/cpu1/online"
#define DROP		"/proc/sys/vm/drop_caches"

static volatile sig_atomic_t chaos_stop;

static uint64_t chaos_rng;

static unsigned int chaos_rnd(unsigned int n)
{
	chaos_rng ^= chaos_rng << 13;
	chaos_rng ^= chaos_rng >> 7;
	chaos_rng ^= chaos_rng << 17;
	return (unsigned int)(chaos_rng % n);
}

static int chaos_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

static int chaos_read(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static void chaos_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int chaos_rmmod(void)
{
	return syscall(SYS_delete_module, "karena", O_NONBLOCK) ? errno : 0;
}

/* ------------------------------------------------------------------ */
/* run mode */

static const struct {
	const char *name;
	const char *values[6];
} chaos_params[] = {
	{ "cache_high", { "0", "1", "4", "32", "256", "1024" } },
	{ "cache_batch", { "1", "2", "8", "32", "64", "300" } },
	{ "strict", { "0", "1", "Y", "N", "1", "0" } },
	{ "uring_inline", { "0", "1", "0", "1", "0", "1" } },
	{ "max_ready", { "1048576", "16777216", "4096", "268435456", "0", "8192" } },
	{ "max_reserved", { "4194304", "67108864", "4096", "1073741824", "0", "8192" } },
};
#define NPARAMS (sizeof(chaos_params) / sizeof(chaos_params[0]))

struct chaos_state {
	char saved[NPARAMS][64];
	bool have[NPARAMS];
	unsigned long ticks, offline, online, hotplug_err, drops, params,
		      rmmod_refused, rmmod_unloaded;
};

static void chaos_on_signal(int sig)
{
	(void)sig;
	chaos_stop = 1;
}

static void chaos_param(struct chaos_state *s)
{
	unsigned int i = chaos_rnd(NPARAMS);
	char path[128];

	if (!s->have[i])
		return;
	snprintf(path, sizeof(path), PARAMS "/%s", chaos_params[i].name);
	if (!chaos_write(path, chaos_params[i].values[chaos_rnd(6)]))
		s->params++;
}

static void chaos_tick(struct chaos_state *s, bool hotplug)
{
	static const char *const drops[] = { "1", "2", "3" };
	int err;

	s->ticks++;
	if (hotplug) {
		if (chaos_write(CPU1, s->ticks & 1 ? "0" : "1"))
			s->hotplug_err++;
		else if (s->ticks & 1)
			s->offline++;
		else
			s->online++;
	}
	switch (chaos_rnd(4)) {
	case 0:
		if (!chaos_write(DROP, drops[chaos_rnd(3)]))
			s->drops++;
		break;
	case 1:
		err = chaos_rmmod();
		if (!err) {
			s->rmmod_unloaded++;
			printf("not ok - chaos: rmmod karena succeeded while a file was open\n");
			chaos_stop = 1;
		} else {
			s->rmmod_refused++;
		}
		break;
	default:
		chaos_param(s);
		break;
	}
}

static int chaos_run(bool hotplug, unsigned long seed, long interval)
{
	struct chaos_state s = { 0 };
	char path[128];
	unsigned int i;
	int fd;

	chaos_rng = seed | 1;
	fd = open(KARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return perror("chaos: open " KARENA_DEVICE), 1;
	for (i = 0; i < NPARAMS; i++) {
		snprintf(path, sizeof(path), PARAMS "/%s", chaos_params[i].name);
		s.have[i] = !chaos_read(path, s.saved[i], sizeof(s.saved[i]));
	}
	signal(SIGTERM, chaos_on_signal);
	signal(SIGINT, chaos_on_signal);
	if (hotplug && access(CPU1, W_OK))
		printf("# chaos: no %s: no CPU hotplug\n", CPU1), hotplug = false;
	while (!chaos_stop) {
		chaos_tick(&s, hotplug);
		chaos_sleep_ms(interval);
	}
	if (hotplug)
		chaos_write(CPU1, "1");
	for (i = 0; i < NPARAMS; i++) {
		snprintf(path, sizeof(path), PARAMS "/%s", chaos_params[i].name);
		if (s.have[i] && !s.rmmod_unloaded)
			chaos_write(path, s.saved[i]);
	}
	close(fd);
	printf("# chaos: seed 0x%lx: %lu ticks, CPU 1 offline %lu / online %lu "
	       "(%lu refused), %lu drop_caches, %lu parameter writes, "
	       "%lu rmmod refused, %lu rmmod succeeded\n", seed, s.ticks,
	       s.offline, s.online, s.hotplug_err, s.drops, s.params,
	       s.rmmod_refused, s.rmmod_unloaded);
	return s.rmmod_unloaded ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* settle mode */

static const char *const chaos_event_counters[] = {
	"faults", "faults_cache_hit", "faults_cache_miss", "faults_sigsegv",
	"faults_zero", "cow_copies", "cow_shared", "transitions",
	"transition_errors", "shrinker_freed", "held_refused", "lazy_reclaimed",
	"faults_huge", "huge_fallbacks", "huge_splits", "huge_split_fails",
};

static long chaos_counter(const char *name)
{
	char path[300], buf[64];

	snprintf(path, sizeof(path), SYSFS "/%s", name);
	if (chaos_read(path, buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

static bool chaos_is_event(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(chaos_event_counters) / sizeof(chaos_event_counters[0]); i++)
		if (!strcmp(name, chaos_event_counters[i]))
			return true;
	return false;
}

/* Wait up to secs for every named counter to read 0 (drop caches each try). */
static bool chaos_wait_zero(const char *const *names, int n, int secs, bool drop)
{
	int tries, i;
	bool zero = false;

	for (tries = 0; tries < secs * 5 && !zero; tries++) {
		if (tries)
			chaos_sleep_ms(200);
		if (drop)
			chaos_write(DROP, "3");
		zero = true;
		for (i = 0; i < n; i++)
			zero &= chaos_counter(names[i]) == 0;
	}
	for (i = 0; i < n; i++)
		printf("# %s %ld\n", names[i], chaos_counter(names[i]));
	return zero;
}

static int chaos_settle(int n)
{
	static const char *const live[] = { "files", "spaces", "mappings", "pages_allocated" };
	static const char *const caches[] = { "cache_pages", "cache_dirty" };
	struct dirent *de;
	bool ok, all = true;
	int err, i;
	DIR *d;

	ok = chaos_wait_zero(live, 4, 60, false);
	all &= ok;
	printf("%sok %d settle: files, spaces, mappings, pages_allocated back to 0\n",
	       ok ? "" : "not ", ++n);
	ok = chaos_wait_zero(caches, 2, 10, true);
	all &= ok;
	printf("%sok %d settle: drop_caches empties the per-CPU caches\n",
	       ok ? "" : "not ", ++n);
	ok = true;
	d = opendir(SYSFS);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.' || chaos_is_event(de->d_name))
			continue;
		if (chaos_counter(de->d_name) != 0) {
			printf("# %s is %ld\n", de->d_name, chaos_counter(de->d_name));
			ok = false;
		}
	}
	ok &= d != NULL;
	if (d)
		closedir(d);
	all &= ok;
	printf("%sok %d settle: every non-event counter in " SYSFS " is 0\n",
	       ok ? "" : "not ", ++n);
	for (i = 0, err = EBUSY; i < 50 && err; i++) {
		err = chaos_rmmod();
		if (err)
			chaos_sleep_ms(200);
	}
	if (err)
		printf("# rmmod karena: %s\n", strerror(err));
	all &= !err;
	printf("%sok %d settle: rmmod karena succeeds\n", err ? "not " : "", ++n);
	return all ? 0 : 1;
}

int main(int argc, char **argv)
{
	unsigned long seed = (unsigned long)time(NULL);
	bool hotplug = false;
	long interval = 300;
	int c;

	if (argc > 1 && !strcmp(argv[1], "settle"))
		return chaos_settle(argc > 2 ? atoi(argv[2]) : 0);
	while ((c = getopt(argc, argv, "Hs:i:")) != -1) {
		switch (c) {
		case 'H': hotplug = true; break;
		case 's': seed = strtoul(optarg, NULL, 0); break;
		case 'i': interval = atol(optarg); break;
		default:
			fprintf(stderr, "usage: chaos [-H] [-s SEED] [-i MS] | chaos settle\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	return chaos_run(hotplug, seed, interval);
}
