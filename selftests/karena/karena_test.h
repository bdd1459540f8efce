/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the karena device selftests: the ioctl wrappers
 * (selftests/common/karena_ioctl.h), skip-or-open, mappings with guard
 * pages, state checks, access probes that report the signal an access
 * raised, and /proc readers.
 */
#ifndef KARENA_TEST_H
#define KARENA_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "karena.h"
#include "karena_ioctl.h"

#define KT_STATE(b)	((b) & KARENA_STATE_MASK)

static inline long kt_ps(void)
{
	return sysconf(_SC_PAGESIZE);
}

/*
 * KT_OPEN_OR_SKIP: outside the guest (KARENA_GUEST unset) a missing
 * device is a reason to skip; inside the guest the module is loaded by the
 * runner, so a missing device is a failure.
 */
static inline bool kt_in_guest(void)
{
	const char *g = getenv("KARENA_GUEST");

	return g && !strcmp(g, "1");
}

/*
 * SKIP from a fixture setup: the 6.1 harness runs the test body after a
 * setup that skipped, so end the test process with the harness's skip
 * status instead of returning.
 */
#define KT_SKIP_SETUP(fmt, ...)	SKIP(_exit(255), fmt, ##__VA_ARGS__)

#define KT_OPEN_OR_SKIP(fdvar) do {					\
	(fdvar) = kt_open();						\
	if ((fdvar) < 0 && errno == ENOENT && !kt_in_guest())		\
		KT_SKIP_SETUP("%s missing (not in the guest)", KARENA_DEVICE); \
	ASSERT_LE(0, (fdvar)) TH_LOG("open %s: %s", KARENA_DEVICE,	\
				     strerror(errno));			\
} while (0)

/*
 * The mmap flavour the module accepts.  The module serves a shared
 * mapping of its own pages (kmod/README.md, "Mapping flavour"), so
 * MAP_SHARED is the flavour used everywhere; badinput.c checks the other
 * one is refused.
 */
#ifndef KT_MAP_FLAVOUR
#define KT_MAP_FLAVOUR		MAP_SHARED
#define KT_MAP_OTHER		MAP_PRIVATE
#endif

static inline void *kt_mmap(int fd, size_t len)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, KT_MAP_FLAVOUR, fd, 0);
}

/*
 * Map npages of the device between two PROT_NONE anonymous guard pages, so
 * the pages just outside the mapping belong to something else.  Returns
 * the karena mapping; munmap it with kt_munmap_guarded().
 */
static inline void *kt_mmap_guarded(int fd, size_t npages)
{
	long ps = kt_ps();
	char *g = mmap(NULL, (npages + 2) * ps, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	void *p;

	if (g == MAP_FAILED)
		return MAP_FAILED;
	p = mmap(g + ps, npages * ps, PROT_READ | PROT_WRITE,
		 KT_MAP_FLAVOUR | MAP_FIXED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(g, (npages + 2) * ps);
		errno = e;
	}
	return p;
}

static inline void kt_munmap_guarded(void *p, size_t npages)
{
	long ps = kt_ps();

	munmap((char *)p - ps, (npages + 2) * ps);
}

/*
 * Check that every page of [start, start + npages pages) is in state 'st'.
 * Returns -1 when they all are, else the index of the first page that is
 * not (or -2 when QUERY itself failed; errno tells why).
 */
static inline long kt_first_not(int fd, const void *start, size_t npages,
				unsigned int st)
{
	unsigned char *vec = malloc(npages);
	long bad = -1;
	size_t i;
	int ret;

	if (!vec)
		return -2;
	ret = kt_query(fd, start, npages * kt_ps(), vec);
	if (ret) {
		free(vec);
		errno = ret;
		return -2;
	}
	for (i = 0; i < npages; i++) {
		if (KT_STATE(vec[i]) != st) {
			bad = i;
			break;
		}
	}
	free(vec);
	return bad;
}

static inline int kt_state_of(int fd, const void *page)
{
	unsigned char b = 0xff;
	int ret = kt_query(fd, page, kt_ps(), &b);

	return ret ? -ret : b;
}

/* Access probes: 0 if the access completed, else the signal it raised. */
static sigjmp_buf kt_probe_env;
static volatile sig_atomic_t kt_probe_sig;

static void kt_probe_handler(int sig)
{
	kt_probe_sig = sig;
	siglongjmp(kt_probe_env, 1);
}

static inline int kt_probe(volatile char *p, bool write, char val, char *out)
{
	struct sigaction sa, old_segv, old_bus;
	int sig = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_probe_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	kt_probe_sig = 0;
	if (sigsetjmp(kt_probe_env, 1) == 0) {
		if (write)
			*p = val;
		else if (out)
			*out = *p;
		else
			(void)*p;
	} else {
		sig = kt_probe_sig;
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return sig;
}

static inline int kt_probe_read(const void *p, char *out)
{
	return kt_probe((volatile char *)p, false, 0, out);
}

static inline int kt_probe_write(void *p, char val)
{
	return kt_probe((volatile char *)p, true, val, NULL);
}

/* Index of the first nonzero byte in [p, p + len), or -1. */
static inline long kt_first_nonzero(const void *p, size_t len)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (c[i])
			return i;
	return -1;
}

/* Write a per-page pattern: the first and last byte of each page. */
static inline void kt_fill(void *p, size_t npages, unsigned char seed)
{
	long ps = kt_ps();
	size_t i;

	for (i = 0; i < npages; i++) {
		((volatile unsigned char *)p)[i * ps] = (unsigned char)(seed + i);
		((volatile unsigned char *)p)[i * ps + ps - 1] =
			(unsigned char)(seed ^ i);
	}
}

/* Does page i of a kt_fill()ed area (base p) still hold its pattern? */
static inline bool kt_page_ok(const void *p, size_t i, unsigned char seed)
{
	const volatile unsigned char *c = p;
	long ps = kt_ps();

	return c[i * ps] == (unsigned char)(seed + i) &&
	       c[i * ps + ps - 1] == (unsigned char)(seed ^ i);
}

/* Index of the first page not holding kt_fill()'s pattern, or -1. */
static inline long kt_check(const void *p, size_t npages, unsigned char seed)
{
	const volatile unsigned char *c = p;
	long ps = kt_ps();
	size_t i;

	for (i = 0; i < npages; i++)
		if (c[i * ps] != (unsigned char)(seed + i) ||
		    c[i * ps + ps - 1] != (unsigned char)(seed ^ i))
			return i;
	return -1;
}

/*
 * The number of the first line of @path that @fmt (one %lld) matches, or
 * -1: "Rss: %lld kB" in smaps_rollup, "oom_kill %lld" in vmstat...
 */
static inline long long kt_proc_num(const char *path, const char *fmt)
{
	FILE *f = fopen(path, "r");
	char line[256];
	long long v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* Rss of the calling process in kB from /proc/self/smaps_rollup, or -1. */
static inline long kt_rss_kb(void)
{
	return kt_proc_num("/proc/self/smaps_rollup", "Rss: %lld kB");
}

/* Rss in kB of the one VMA containing addr, from /proc/self/smaps, or -1. */
static inline long kt_vma_rss_kb(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	unsigned long lo, hi, a = (uintptr_t)addr;
	char line[512];
	bool in = false;
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* "lo-hi perms ..." starts a VMA; "Key: value" lines never parse so. */
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			in = lo <= a && a < hi;
			continue;
		}
		if (in && sscanf(line, "Rss: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* Read one unsigned number from a sysfs/debugfs/procfs file, or -1. */
static inline long long kt_read_num(const char *path)
{
	return kt_proc_num(path, "%lld");
}

/* Wait for a child; returns its exit status, or 128 + signal. */
static inline int kt_wait(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * RssFile of the calling process in kB (its RSS counter: what the OOM
 * killer adds up, unlike smaps' page walk), or -1.
 */
static inline long kt_rss_file_kb(void)
{
	return kt_proc_num("/proc/self/status", "RssFile: %lld kB");
}

/* Drop CAP_SYS_RESOURCE from this process: 0, or -1 with errno. */
static inline int kt_drop_cap_sys_resource(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	unsigned int bit = 1U << (CAP_SYS_RESOURCE % 32);

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_SYS_RESOURCE / 32].effective &= ~bit;
	d[CAP_SYS_RESOURCE / 32].permitted &= ~bit;
	d[CAP_SYS_RESOURCE / 32].inheritable &= ~bit;
	return syscall(SYS_capset, &h, d);
}

#define KT_NOBODY	65534

/*
 * Become nobody (uid and gid 65534), keeping one supplementary group: the
 * device node's, which is how an administrator lets a user in (the node
 * is mode 0660).  For a forked child of a root test; nothing is exec'd,
 * so nobody never needs to read the checkout.  0, or -1 with errno.
 */
static inline int kt_become_nobody(void)
{
	struct stat st;
	gid_t g;

	if (stat(KARENA_DEVICE, &st))
		return -1;
	g = st.st_gid;
	if (setgroups(1, &g) || setgid(KT_NOBODY) || setuid(KT_NOBODY))
		return -1;
	return 0;
}

#endif /* KARENA_TEST_H */
