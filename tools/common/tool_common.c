// SPDX-License-Identifier: GPL-2.0
/* Shared userspace plumbing for the karena tools (see tool_common.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifndef TOOL_NO_LIBBPF
#include <bpf/libbpf.h>
#endif

#include "tool_common.h"
#include "karena_version.h"

volatile int tool_exiting;
static pid_t child_reaped;

/* -V/--version: argp adds the option when this hook is set. */
static void print_version(FILE *f, struct argp_state *state)
{
	(void)state;
	fprintf(f, "%s %s\n", program_invocation_short_name, KARENA_VERSION);
}
void (*argp_program_version_hook)(FILE *, struct argp_state *) = print_version;
#ifndef TOOL_NO_LIBBPF
static bool libbpf_verbose;
#endif
static int child_gate[2] = { -1, -1 };

bool tool_check_env(const char *tool, unsigned int needs)
{
	const char *btf;
	struct stat st;

	if (geteuid() != 0) {
		fprintf(stderr, "%s: must be run as root (needs CAP_BPF/CAP_SYS_ADMIN and debugfs)\n",
			tool);
		return false;
	}
	/* KARENA_BTF overrides the path checked (tests of this error path) */
	btf = getenv("KARENA_BTF");
	if (!btf || !*btf)
		btf = KARENA_BTF_VMLINUX;
	if ((needs & TOOL_NEED_BTF) && stat(btf, &st) != 0) {
		fprintf(stderr, "%s: kernel BTF is missing (%s); a kernel built with "
			"CONFIG_DEBUG_INFO_BTF=y is required\n", tool, btf);
		return false;
	}
	if ((needs & TOOL_NEED_MODULE) && stat(KARENA_SYSFS_MODULE, &st) != 0) {
		fprintf(stderr, "%s: the karena module is not loaded (%s is absent); "
			"load it first: insmod karena.ko or modprobe karena\n",
			tool, KARENA_SYSFS_MODULE);
		return false;
	}
	return true;
}

#ifndef TOOL_NO_LIBBPF
static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !libbpf_verbose)
		return 0;
	if (level == LIBBPF_INFO && !libbpf_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

void tool_setup_libbpf(bool verbose)
{
	libbpf_verbose = verbose;
	libbpf_set_print(libbpf_print_fn);
}
#else
void tool_setup_libbpf(bool verbose)
{
	(void)verbose;
}
#endif

pid_t tool_child_spawn(const char *tool, const char *command)
{
	pid_t pid;
	char *cmd;

	if (pipe(child_gate) < 0) {
		fprintf(stderr, "%s: pipe: %s\n", tool, strerror(errno));
		return -1;
	}
	if (asprintf(&cmd, "exec %s", command) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", tool, strerror(errno));
		free(cmd);
		return -1;
	}
	if (pid == 0) {
		char c;

		close(child_gate[1]);
		/* Wait until the tracer is attached; EOF means it gave up. */
		if (read(child_gate[0], &c, 1) != 1)
			_exit(127);
		close(child_gate[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		fprintf(stderr, "%s: exec /bin/sh: %s\n", tool, strerror(errno));
		_exit(127);
	}
	free(cmd);
	close(child_gate[0]);
	child_gate[0] = -1;
	return pid;
}

int tool_child_start(const char *tool)
{
	int ret = 0;

	if (child_gate[1] < 0)
		return 0;
	if (write(child_gate[1], "g", 1) != 1) {
		ret = -errno;
		fprintf(stderr, "%s: could not start the command\n", tool);
	}
	close(child_gate[1]);
	child_gate[1] = -1;
	return ret;
}

bool tool_child_exited(pid_t pid, int *status)
{
	int st;
	pid_t r;

	if (pid <= 0)
		return false;
	if (pid == child_reaped) {
		if (status)
			*status = 0;
		return true;
	}
	r = waitpid(pid, &st, WNOHANG);
	if (r == pid) {
		child_reaped = pid;
		if (status)
			*status = st;
		return true;
	}
	if (r < 0 && errno == ECHILD) {
		child_reaped = pid;
		if (status)
			*status = 0;
		return true;
	}
	return false;
}

void tool_child_kill(pid_t pid)
{
	if (pid <= 0 || pid == child_reaped)
		return;
	if (child_gate[1] >= 0) {
		close(child_gate[1]);	/* child exits 127 without running */
		child_gate[1] = -1;
	} else {
		kill(pid, SIGTERM);
	}
	waitpid(pid, NULL, 0);
}

static void sig_handler(int sig)
{
	(void)sig;
	tool_exiting = 1;
}

void tool_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool tool_sleep_ms(long ms, pid_t child, int *status)
{
	while (ms > 0 && !tool_exiting) {
		long step = ms < 50 ? ms : 50;
		struct timespec ts = { .tv_sec = 0, .tv_nsec = step * 1000000L };

		if (tool_child_exited(child, status))
			return true;
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return tool_child_exited(child, status);
}

static int sleep_step(void *ctx, long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };

	(void)ctx;
	nanosleep(&ts, NULL);
	return 0;
}

int tool_run_loop(const struct tool_args *a, pid_t child, const struct tool_loop *l)
{
	unsigned long long interval_ns = a->interval * 1000000000ULL;
	unsigned long long next = a->interval ? tool_now_ns() + interval_ns : ULLONG_MAX;
	int (*step)(void *, long) = l->step ? l->step : sleep_step;
	unsigned long done = 0;
	int status = 0, err;

	for (;;) {
		err = step(l->ctx, 50);
		if (err < 0)
			return err;
		if (tool_child_exited(child, &status)) {
			status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		if (tool_exiting)
			break;
		if (tool_now_ns() < next)
			continue;
		if (a->count && ++done >= a->count)
			break;
		l->report(l->ctx, false, 0);
		next += interval_ns;
	}
	l->report(l->ctx, true, status);
	return 0;
}

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

unsigned long long tool_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

const char *tool_strftime(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
	return buf;
}

int tool_parse_ulong(const char *tool, const char *what, const char *arg,
		     unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *out == 0) {
		fprintf(stderr, "%s: invalid %s: %s (a positive integer)\n", tool, what, arg);
		return -1;
	}
	return 0;
}

int tool_args_parse(int key, char *arg, struct argp_state *state, struct tool_args *a)
{
	unsigned long v;

	switch (key) {
	case 'p':
		if (tool_parse_ulong(a->tool, "PID", arg, &v))
			argp_usage(state);
		a->pid = (pid_t)v;
		break;
	case 'c':
		a->command = arg;
		break;
	case 'n':
		if (strlen(arg) > 15)
			fprintf(stderr, "%s: COMM is at most 15 characters; truncating\n", a->tool);
		a->comm = arg;
		break;
	case 'j':
		a->json = true;
		break;
	case 'a':
		a->all = true;
		break;
	case 'v':
		a->verbose = true;
		break;
	case 'T':
		a->timestamp = true;
		break;
	case 'h':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case ARGP_KEY_ARG:
		if (a->npos == 0) {
			if (tool_parse_ulong(a->tool, "interval", arg, &a->interval))
				argp_usage(state);
		} else if (a->npos == 1) {
			if (tool_parse_ulong(a->tool, "count", arg, &a->count))
				argp_usage(state);
		} else {
			fprintf(stderr, "%s: unexpected argument %s\n", a->tool, arg);
			argp_usage(state);
		}
		a->npos++;
		break;
	case ARGP_KEY_END:
		if (a->pid && a->command) {
			fprintf(stderr, "%s: -p and -c are mutually exclusive\n", a->tool);
			argp_usage(state);
		}
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int tool_setup(struct tool_args *a, unsigned int needs, pid_t *child)
{
	*child = 0;
	if (!tool_check_env(a->tool, needs))
		return 1;
	tool_setup_libbpf(a->verbose);
	tool_install_signals();
	if (a->command) {
		*child = tool_child_spawn(a->tool, a->command);
		if (*child < 0)
			return 1;
		if (!a->all)
			a->pid = *child;
	}
	return 0;
}
