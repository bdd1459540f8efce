// SPDX-License-Identifier: GPL-2.0
/*
 * allocwork: an allocation workload of known shape for karena-allocs.
 *
 *   allocwork M S F T [HOLD_MS]
 *
 * keeps M objects of S bytes (allocated in leaky_alloc), allocates and
 * frees F objects of T bytes (temp_alloc), then waits HOLD_MS ms (default
 * 500) so a tracer can read its memory map, and exits without freeing.
 * Built with frame pointers so user stacks unwind through leaky_alloc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile *kept;

__attribute__((noinline)) void *leaky_alloc(size_t s)
{
	void *p = malloc(s);

	if (p)
		memset(p, 0xa5, 1);
	return p;
}

__attribute__((noinline)) void temp_alloc(size_t s)
{
	void *volatile p = malloc(s);

	if (p)
		memset(p, 0x5a, 1);
	free(p);
}

int main(int argc, char **argv)
{
	unsigned long m, s, f, t, hold = 500, i;
	struct timespec ts;

	if (argc < 5) {
		fprintf(stderr, "usage: allocwork M S F T [HOLD_MS]\n");
		return 2;
	}
	m = strtoul(argv[1], NULL, 0);
	s = strtoul(argv[2], NULL, 0);
	f = strtoul(argv[3], NULL, 0);
	t = strtoul(argv[4], NULL, 0);
	if (argc > 5)
		hold = strtoul(argv[5], NULL, 0);
	/* the pointer array itself comes from mmap-free static storage */
	static void *slots[100000];

	if (m > 100000)
		return 2;
	kept = slots;
	for (i = 0; i < m; i++) {
		kept[i] = leaky_alloc(s);
		if (!kept[i])
			return 1;
	}
	for (i = 0; i < f; i++)
		temp_alloc(t);
	ts.tv_sec = hold / 1000;
	ts.tv_nsec = (hold % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	return 0;
}
