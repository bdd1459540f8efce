// SPDX-License-Identifier: GPL-2.0
/*
 * kworkload: /dev/karena workloads of known shape for the tracing tools.
 *
 *   kworkload touch N [MS]     make N pages Ready (Map + Used), touch each once,
 *                              then stay MS milliseconds (default 0)
 *   kworkload segv K           touch K Reserved pages (SIGSEGV caught each time)
 *   kworkload segvprep K       touch K Prepared pages (strict mode: SIGSEGV)
 *   kworkload cow N            touch N Ready pages, fork; the child writes them
 *                              (private copies after fork), the parent waits
 *   kworkload zero K           read K Prepared pages in lenient mode (zero page)
 *   kworkload trans M          M legal transitions (Map, then Used/Unused
 *                              alternating on one page), then 1 illegal one
 *   kworkload hold MS          sleep MS milliseconds (a placeholder process)
 *
 * Every workload first sleeps a little (KW_DELAY_MS, default 0) and prints
 * one JSON line describing what it did (addresses, counts) on stdout.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include "karena.h"

static sigjmp_buf jb;
static volatile sig_atomic_t nsegv;

static void on_segv(int sig)
{
	(void)sig;
	nsegv++;
	siglongjmp(jb, 1);
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int transition(int fd, void *start, size_t len, unsigned int op, unsigned int flags)
{
	struct karena_transition t;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.range.start = (unsigned long)start;
	t.range.len = len;
	t.range.op = op;
	t.range.flags = flags;
	return ioctl(fd, KARENA_IOC_TRANSITION, &t) ? -errno : 0;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "kworkload: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

int main(int argc, char **argv)
{
	long ps = sysconf(_SC_PAGESIZE);
	const char *delay = getenv("KW_DELAY_MS");
	unsigned long n, i;
	char *p;
	int fd, r;

	if (argc < 3) {
		fprintf(stderr, "usage: kworkload touch|segv|segvprep|cow|zero|trans|hold N\n");
		return 2;
	}
	n = strtoul(argv[2], NULL, 0);
	if (delay)
		msleep(atol(delay));
	if (!strcmp(argv[1], "hold")) {
		msleep((long)n);
		printf("{\"workload\":\"hold\",\"ms\":%lu}\n", n);
		return 0;
	}
	fd = open(KARENA_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("open " KARENA_DEVICE, errno);
	p = mmap(NULL, (n + 1) * ps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap", errno);

	if (!strcmp(argv[1], "touch")) {
		r = transition(fd, p, n * ps, KARENA_OP_MAP, 0);
		if (r)
			die("MAP", r);
		r = transition(fd, p, n * ps, KARENA_OP_USED, 0);
		if (r)
			die("USED", r);
		for (i = 0; i < n; i++)
			((volatile char *)p)[i * ps] = 1;
		printf("{\"workload\":\"touch\",\"pid\":%d,\"start\":\"%p\",\"pages\":%lu,\"transitions\":2}\n",
		       (int)getpid(), (void *)p, n);
		fflush(stdout);
		if (argc > 3)
			msleep(atol(argv[3]));
	} else if (!strcmp(argv[1], "segv") || !strcmp(argv[1], "segvprep")) {
		struct sigaction sa;
		volatile unsigned long j;

		if (!strcmp(argv[1], "segvprep")) {
			r = transition(fd, p, n * ps, KARENA_OP_MAP, 0);
			if (r)
				die("MAP", r);
		}
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_segv;
		sa.sa_flags = SA_NODEFER;
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		for (j = 0; j < n; j++) {
			if (sigsetjmp(jb, 1) == 0)
				((volatile char *)p)[j * ps] = 1;
		}
		signal(SIGSEGV, SIG_DFL);
		printf("{\"workload\":\"%s\",\"pid\":%d,\"start\":\"%p\",\"pages\":%lu,\"sigsegv\":%d}\n",
		       argv[1], (int)getpid(), (void *)p, n, (int)nsegv);
		if ((unsigned long)nsegv != n)
			return 1;
	} else if (!strcmp(argv[1], "cow")) {
		pid_t c;
		int st = 0;

		r = transition(fd, p, n * ps, KARENA_OP_MAP, 0);
		if (!r)
			r = transition(fd, p, n * ps, KARENA_OP_USED, 0);
		if (r)
			die("MAP/USED", r);
		for (i = 0; i < n; i++)
			((volatile char *)p)[i * ps] = 1;
		fflush(stdout);
		c = fork();
		if (c < 0)
			die("fork", errno);
		if (c == 0) {
			for (i = 0; i < n; i++)
				((volatile char *)p)[i * ps] = 2;
			printf("{\"workload\":\"cow-child\",\"pid\":%d,\"pages\":%lu}\n",
			       (int)getpid(), n);
			fflush(stdout);
			_exit(0);
		}
		waitpid(c, &st, 0);
		for (i = 0; i < n; i++)
			if (((volatile char *)p)[i * ps] != 1)
				return 1;	/* the child's writes leaked into the parent */
		printf("{\"workload\":\"cow\",\"pid\":%d,\"child\":%d,\"pages\":%lu}\n",
		       (int)getpid(), (int)c, n);
	} else if (!strcmp(argv[1], "zero")) {
		struct karena_config c;
		volatile unsigned long j;
		unsigned long sum = 0;

		memset(&c, 0, sizeof(c));
		c.size = sizeof(c);
		c.flags = KARENA_CFG_LENIENT;
		if (ioctl(fd, KARENA_IOC_CONFIG, &c))
			die("CONFIG lenient", errno);
		r = transition(fd, p, n * ps, KARENA_OP_MAP, 0);
		if (r)
			die("MAP", r);
		for (j = 0; j < n; j++)
			sum += ((volatile char *)p)[j * ps];
		printf("{\"workload\":\"zero\",\"pid\":%d,\"start\":\"%p\",\"pages\":%lu,\"sum\":%lu}\n",
		       (int)getpid(), (void *)p, n, sum);
		if (sum)
			return 1;
	} else if (!strcmp(argv[1], "trans")) {
		unsigned long done = 0;

		if (n < 1)
			return 2;
		r = transition(fd, p, ps, KARENA_OP_MAP, 0);
		if (r)
			die("MAP", r);
		done++;
		for (i = 1; i < n; i++) {
			r = transition(fd, p, ps, (i % 2) ? KARENA_OP_USED : KARENA_OP_UNUSED, 0);
			if (r)
				die("USED/UNUSED", r);
			done++;
		}
		/* illegal: Map needs Reserved; page is Prepared or Ready now */
		r = transition(fd, p, ps, KARENA_OP_MAP, 0);
		printf("{\"workload\":\"trans\",\"pid\":%d,\"start\":\"%p\",\"legal\":%lu,\"illegal_result\":%d}\n",
		       (int)getpid(), (void *)p, done, r);
		if (r != -EINVAL)
			return 1;
	} else {
		fprintf(stderr, "kworkload: unknown workload %s\n", argv[1]);
		return 2;
	}
	fflush(stdout);
	munmap(p, (n + 1) * ps);
	close(fd);
	return 0;
}
