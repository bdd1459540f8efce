/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the io_uring passthrough tests besides the ioctl and
 * io_uring command wrappers (selftests/common/karena_ioctl.h and
 * karena_uring.h): a reserved mapping, sysfs and module parameter
 * access, and the CPU-hotplug lock below.
 */
#ifndef URING_UTIL_H
#define URING_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "karena.h"
#include "karena_ioctl.h"
#include "karena_uring.h"

#define PS	4096UL

static inline void *ku_reserve(int fd, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* Write @val to the file @path (sysfs, procfs): 0 or -1. */
static inline int ku_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

	if (fd < 0)
		return -1;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok ? 0 : -1;
}

/*
 * CPU hotplug and new io_uring tasks, on Debian's 6.1.  io_wq_create()
 * (io_uring/io-wq.c, 6.1.192 lines 1252-1300) adds the new io-wq to the
 * CPU hotplug instance list (cpuhp_state_add_instance_nocalls(), line
 * 1255) before it allocates and initialises its per-node io_wqe (lines
 * 1269-1300).  A CPU coming online in between runs __io_wq_cpu_online()
 * on it: wq->wqes[node] is still NULL (oops reading 0x78, the offset of
 * io_wqe.all_list) or its all_list still zeroed (list entry NULL, worker
 * ffffffffffffffe8).  A task's io-wq is created when it sets up its first
 * ring (io_uring_install_fd() -> __io_uring_add_tctx_node()) or first
 * submits to one.  Upstream fixed it in October 2023 (0f8baa3c9802,
 * "io-wq: fully initialize wqe before calling
 * cpuhp_state_add_instance_nocalls()"; 6.12 has it), 6.1.y never got it.
 * Nothing a driver does can close that window, so tests
 * that hotplug CPUs while io_uring tasks come and go serialise the two:
 * ring setup under ku_cpuhp_lock(false), each offline/online write under
 * ku_cpuhp_lock(true) (iowq_hotplug.c shows the oops without it).
 */
#define KU_CPUHP_LOCK	"/tmp/karena-cpuhp.lock"

/* An fd holding the lock (shared or exclusive), or -1: close() releases. */
static inline int ku_cpuhp_lock(int exclusive)
{
	int fd = open(KU_CPUHP_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd >= 0 && flock(fd, exclusive ? LOCK_EX : LOCK_SH)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* /sys/module/karena/parameters/uring_inline: -1 if absent */
static inline int ku_get_inline(void)
{
	char c = 0;
	int fd = open("/sys/module/karena/parameters/uring_inline", O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y' || c == '1';
}

static inline int ku_set_inline(int on)
{
	int fd = open("/sys/module/karena/parameters/uring_inline", O_WRONLY);
	int ok;

	if (fd < 0)
		return -1;
	ok = write(fd, on ? "1" : "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static inline long ku_sysfs(const char *name)
{
	char path[128], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/karena/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

#endif
