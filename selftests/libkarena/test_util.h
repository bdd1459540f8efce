/* SPDX-License-Identifier: MIT */
/* Helpers shared by the selftests/libkarena unit tests. */
#ifndef KARENA_TEST_UTIL_H
#define KARENA_TEST_UTIL_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include "include/karena.h"

/* Run fn in a child; true if it died of SIGABRT (the harness reserves
 * SIGABRT for its own assertions, so TEST_SIGNAL cannot be used).  The
 * child's stderr goes to /dev/null: the abort message is expected. */
static inline int dies_of_abort(void (*fn)(void))
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		fn();
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return 0;
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

/* Mallocs and frees of size class cls so far (karena_stats). */
static inline void counts_of(int cls, uint64_t *mallocs, uint64_t *frees)
{
	struct karena_heap_stats st = { .size = sizeof(st) };

	if (karena_stats(&st))
		abort();
	*mallocs = st.by_size[cls].mallocs;
	*frees = st.by_size[cls].frees;
}

#endif
