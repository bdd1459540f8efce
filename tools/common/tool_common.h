/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared userspace plumbing for the karena tools: one command line (the
 * options every tool takes, -h, -V/--version), environment checks, the -c
 * COMMAND child, one main loop (tool_run_loop: report every interval, count
 * times, or once at Ctrl-C or when the command exits), JSON strings and
 * libbpf logging.
 */
#ifndef KARENA_TOOL_COMMON_H
#define KARENA_TOOL_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#define KARENA_SYSFS_MODULE	"/sys/module/karena"
#define KARENA_BTF_VMLINUX	"/sys/kernel/btf/vmlinux"

/* What a tool needs to run (tool_check_env, tool_setup). */
enum tool_needs {
	TOOL_NEED_ROOT		= 0,	/* always checked */
	TOOL_NEED_BTF		= 1,	/* CO-RE: /sys/kernel/btf/vmlinux */
	TOOL_NEED_MODULE	= 2,	/* karena.ko loaded (not for uprobes on the library) */
};

/* Environment checks; each prints "TOOL: reason" to stderr and returns
 * false when the tool cannot run.  needs: enum tool_needs bits. */
bool tool_check_env(const char *tool, unsigned int needs);

/* libbpf messages: only warnings unless verbose. */
void tool_setup_libbpf(bool verbose);

/* -c COMMAND: fork a child that waits until tool_child_start() and then
 * runs "/bin/sh -c 'exec COMMAND'", so its pid is the traced pid. */
pid_t tool_child_spawn(const char *tool, const char *command);
/* Start it; prints "TOOL: could not start the command" and returns
 * -errno when that fails.  0 without -c. */
int tool_child_start(const char *tool);
/*
 * The -p and -c filters into a BPF skeleton's read-only data (the
 * variables karena_bpf.h's KARENA_FILTER_DECL declares), before load.
 */
#define TOOL_SET_FILTER(rodata, a) do {					\
	(rodata)->targ_tgid = (a)->pid;					\
	if ((a)->comm) {						\
		strncpy((char *)(rodata)->targ_comm, (a)->comm,		\
			sizeof((rodata)->targ_comm) - 1);		\
		(rodata)->filter_comm = true;				\
	}								\
} while (0)

/* Non-blocking: true (and *status set) once the child has exited. */
bool tool_child_exited(pid_t pid, int *status);
void tool_child_kill(pid_t pid);

/* SIGINT/SIGTERM set this flag. */
extern volatile int tool_exiting;
void tool_install_signals(void);

/* Sleep up to ms milliseconds, returning early on a signal or when the
 * child (if any) exits.  Returns true if the child exited. */
bool tool_sleep_ms(long ms, pid_t child, int *status);

/*
 * The tools' main loop.  Waits in short steps (step(ctx, ms): poll a ring
 * buffer, refresh symbols...; NULL: sleep); every interval seconds calls
 * report(ctx, false, 0); stops after count reports, at SIGINT/SIGTERM, or
 * when the -c child exits, and without an interval runs until one of the
 * last two.  The last report is final: report(ctx, true, status), status
 * being the child's exit status (128 + signal if killed), else 0.  Returns
 * 0, or step()'s negative error (then no final report).
 */
struct tool_loop {
	void *ctx;
	int (*step)(void *ctx, long ms);
	void (*report)(void *ctx, bool final, int status);
};
struct tool_args;
int tool_run_loop(const struct tool_args *a, pid_t child, const struct tool_loop *l);

/* JSON string with escapes. */
void json_str(FILE *f, const char *s);

/* Monotonic and wall-clock helpers. */
unsigned long long tool_now_ns(void);
const char *tool_strftime(char *buf, size_t len);

/* Parse positional interval/count. Returns 0 or -1 with a message. */
int tool_parse_ulong(const char *tool, const char *what, const char *arg,
		     unsigned long *out);

#endif

/*
 * Common command line: -p PID, -c COMMAND, -a, -n COMM, -j, -v, -T
 * (timestamps, as in libbpf-tools), [interval [count]]; plus -h (= --help,
 * which argp spells -?) and -V/--version ("TOOL VERSION", VERSION being the
 * project's) for every tool that links tool_common.
 */
#include <argp.h>

struct tool_args {
	const char *tool;
	pid_t pid;
	const char *command;
	const char *comm;
	bool json;
	bool verbose;
	bool all;		/* -a: with -c, trace every process */
	bool timestamp;		/* -T: timestamps in the output */
	unsigned long interval;	/* seconds, 0 = until Ctrl-C / command exit */
	unsigned long count;	/* 0 = forever */
	int npos;
};

#define TOOL_COMMON_OPTIONS						\
	{ "pid", 'p', "PID", 0, "Trace this process (tgid) only", 0 },	\
	{ "command", 'c', "COMMAND", 0,					\
	  "Run COMMAND (via /bin/sh), trace only it, stop when it exits", 0 }, \
	{ "name", 'n', "COMM", 0, "Trace only tasks whose comm is COMM", 0 }, \
	{ "all", 'a', NULL, 0,						\
	  "With -c: trace every process, not only COMMAND", 0 },	\
	{ "json", 'j', NULL, 0, "JSON output", 0 },			\
	{ "verbose", 'v', NULL, 0, "Show libbpf debug output", 0 },	\
	TOOL_BASE_OPTIONS

/* -T and -h, for tools without the tracing options (karena-stat). */
#define TOOL_BASE_OPTIONS						\
	{ "timestamp", 'T', NULL, 0, "Include timestamps in the output", 0 }, \
	{ NULL, 'h', NULL, OPTION_HIDDEN, "Show this help", 0 }

/* Handles the common keys; returns ARGP_ERR_UNKNOWN for others. */
int tool_args_parse(int key, char *arg, struct argp_state *state, struct tool_args *a);

/* Common setup after argument parsing: env checks (needs: enum
 * tool_needs), libbpf logging, signals, and -c child spawn (stored in
 * *child).  Returns 0 or 1. */
int tool_setup(struct tool_args *a, unsigned int needs, pid_t *child);
