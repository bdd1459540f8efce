/* SPDX-License-Identifier: GPL-2.0 */
/*
 * runit: run a command, report its wall time and peak RSS.
 *
 *   runit [-p PRELOAD] [-o OUTFILE] -- CMD ARGS...
 *
 * The child gets LD_PRELOAD=PRELOAD (only the child: runit itself is not
 * preloaded), its stdout goes to OUTFILE if given.  On fd 3 if it is open,
 * else on stderr, runit prints one line
 *
 *   RUNIT wall_s=<seconds> cpu_s=<user+sys> maxrss_kb=<ru_maxrss> status=<exit>
 *         minflt=<ru_minflt> majflt=<ru_majflt>
 *
 * The rusage comes from wait4(): the child's peak RSS (the largest of it
 * and the descendants it waited for) and its page faults (with those of
 * the descendants it waited for, e.g. gcc's cc1 and as).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *preload = NULL, *out = NULL;
	struct timespec a, b;
	struct rusage ru;
	int opt, status, fd;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+p:o:")) != -1) {
		switch (opt) {
		case 'p':
			preload = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			fprintf(stderr, "usage: runit [-p lib] [-o out] -- cmd...\n");
			return 126;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "runit: no command\n");
		return 126;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 126;
	}
	if (pid == 0) {
		if (preload && *preload)
			setenv("LD_PRELOAD", preload, 1);
		else
			unsetenv("LD_PRELOAD");
		if (out) {
			fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || dup2(fd, 1) < 0) {
				perror(out);
				_exit(126);
			}
			close(fd);
		}
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "runit: %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("wait4");
			return 126;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	fd = fcntl(3, F_GETFD) >= 0 ? 3 : 2;
	dprintf(fd, "RUNIT wall_s=%.6f cpu_s=%.6f maxrss_kb=%ld status=%d minflt=%ld majflt=%ld\n",
		(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9,
		ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6, ru.ru_maxrss,
		WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
		ru.ru_minflt, ru.ru_majflt);
	return 0;
}
