/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cgroup v2 helpers shared by the karena selftests that run processes in
 * a memory cgroup of their own (memcg.c, fork.c, reclaim.c): read and write a
 * cgroup's files, enter one (and map the device there), make and remove
 * one under CGROOT.
 */
#ifndef KT_CGROUP_H
#define KT_CGROUP_H

#include <sched.h>

#include "karena_test.h"

#define CGROOT		"/sys/fs/cgroup"

static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

static inline int cg_write(const char *cg, const char *file, const char *s)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return write_file(path, s);
}

static inline long long cg_read(const char *cg, const char *file)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return kt_read_num(path);
}

static inline long long cg_current(const char *cg)
{
	return cg_read(cg, "memory.current");
}

/* One "key value" line of memory.events, or -1. */
static inline long long cg_event(const char *cg, const char *key)
{
	char path[160], k[64];
	long long v, ret = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.events", cg);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", k, &v) == 2)
		if (!strcmp(k, key))
			ret = v;
	fclose(f);
	return ret;
}

/* Move the calling process into @cg. */
static inline int cg_enter(const char *cg)
{
	return cg_write(cg, "cgroup.procs", "0");
}

/*
 * Child side of the cgroup tests: enter @cg, open the device and map @len
 * bytes (Reserved); the fd goes to *@fdp.  Exit codes: 10 cgroup, 11 open,
 * 12 mmap (the callers number their later steps from 13).
 */
static inline char *cg_child_map(const char *cg, size_t len, int *fdp)
{
	char *p;

	if (cg_enter(cg))
		_exit(10);
	*fdp = kt_open();
	if (*fdp < 0)
		_exit(11);
	p = kt_mmap(*fdp, len);
	if (p == MAP_FAILED)
		_exit(12);
	return p;
}

/* Run the calling thread on @cpu only. */
static inline int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Make CGROOT/karena-@name-<pid> with the memory controller, path into
 * @cg.  NULL, or a reason why not (no cgroup2, no memory controller).
 */
static inline const char *cg_make(char *cg, size_t len, const char *name)
{
	if (geteuid())
		return "needs root (cgroups)";
	if (access(CGROOT "/cgroup.controllers", F_OK))
		return "no cgroup2 at " CGROOT;
	write_file(CGROOT "/cgroup.subtree_control", "+memory");
	snprintf(cg, len, CGROOT "/karena-%s-%d", name, getpid());
	rmdir(cg);	/* a leftover of a killed run with the same pid */
	if (mkdir(cg, 0755))
		return "cannot make a cgroup";
	if (cg_current(cg) < 0) {
		rmdir(cg);
		return "memory controller not available";
	}
	return NULL;
}

/* Remove @cg once its last process is gone (that takes a moment). */
static inline int cg_remove(const char *cg)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		if (!rmdir(cg) || errno == ENOENT)
			return 0;
		usleep(10000);
	}
	return -1;
}

#endif /* KT_CGROUP_H */
