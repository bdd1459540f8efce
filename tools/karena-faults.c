// SPDX-License-Identifier: GPL-2.0
/*
 * karena-faults: page faults per process on karena mappings vs other
 * mappings, the karena ones split by page state and by how they were
 * served (Ready from the per-CPU cache, Ready from the page allocator,
 * SIGSEGV on Reserved/Prepared/None, lenient zero page, copy after fork).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "karena-faults.h"
#include "karena-faults.skel.h"
#include "karena_names.h"
#include "trace_helpers.h"
#include "tool_common.h"

static struct tool_args args = { .tool = "karena-faults" };
static bool opt_cumulative;
static unsigned long opt_top;

static const struct argp_option opts[] = {
	TOOL_COMMON_OPTIONS,
	{ "cumulative", 'C', NULL, 0, "Do not clear counts after each interval", 0 },
	{ "maxrows", 'r', "N", 0, "Show the N processes with most faults (default all)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'C':
		opt_cumulative = true;
		return 0;
	case 'r':
		if (tool_parse_ulong(args.tool, "N", arg, &opt_top))
			argp_usage(state);
		return 0;
	}
	return tool_args_parse(key, arg, state, &args);
}

static const char doc[] =
"Count page faults per process on karena mappings vs other mappings.\v"
"Columns: FAULTS = all user page faults of the process; OTHER = those not on\n"
"a karena mapping; KARENA = faults the karena module handled (including ones\n"
"raised from kernel context); HIT/MISS = Ready pages served from the per-CPU\n"
"cache / the page allocator; SEGV-R, SEGV-P, SEGV-N = SIGSEGV on Reserved,\n"
"Prepared (strict mode) and None pages; ZERO = lenient-mode reads of Prepared\n"
"pages; COW = private copies after fork.\n\n"
"Without an interval the counts are printed once, at Ctrl-C or when the -c\n"
"command exits.\n\n"
"EXAMPLES:\n"
"    karena-faults                # until Ctrl-C\n"
"    karena-faults 1 10           # every second, 10 times\n"
"    karena-faults -T -r 5 1      # top 5 processes every second, with the time\n"
"    karena-faults -p 181 -j 5    # PID 181, JSON every 5 seconds\n"
"    karena-faults -c ./workload  # run ./workload and count its faults\n";

struct row {
	__u32 pid;
	struct kf_proc p;
	__u64 sk[KARENA_NR_STATES][KARENA_FAULT_NR_KINDS];
	__u64 total_karena;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	__u64 xa = x->p.user_faults > x->p.karena_all ? x->p.user_faults : x->p.karena_all;
	__u64 ya = y->p.user_faults > y->p.karena_all ? y->p.user_faults : y->p.karena_all;

	if (xa != ya)
		return xa < ya ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static struct row *find_row(struct row *rows, size_t n, __u32 pid)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rows[i].pid == pid)
			return &rows[i];
	return NULL;
}

/* The comm now, if the process is alive (its first fault may predate exec). */
static void fresh_comm(struct row *r)
{
	char path[64], buf[KF_COMM_LEN + 1];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", r->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = 0;
		buf[KF_COMM_LEN - 1] = 0;
		memcpy(r->p.comm, buf, KF_COMM_LEN);
	}
	fclose(f);
}

static size_t collect(struct karena_faults *skel, struct row **out)
{
	int pfd = bpf_map__fd(skel->maps.proc_faults);
	int kfd = bpf_map__fd(skel->maps.karena_faults);
	struct row *rows = NULL;
	size_t n = 0, cap = 0;
	__u32 pid, key, *prev = NULL;
	struct kf_key kk, kkeep, *kprev = NULL;

	while (bpf_map_get_next_key(pfd, prev, &pid) == 0) {
		key = pid;
		prev = &key;
		if (n == cap) {
			struct row *nr;

			cap = cap ? cap * 2 : 64;
			nr = realloc(rows, cap * sizeof(*rows));
			if (!nr)
				break;
			rows = nr;
		}
		memset(&rows[n], 0, sizeof(rows[n]));
		rows[n].pid = pid;
		if (bpf_map_lookup_elem(pfd, &pid, &rows[n].p) == 0) {
			fresh_comm(&rows[n]);
			n++;
		}
	}
	while (bpf_map_get_next_key(kfd, kprev, &kk) == 0) {
		struct row *r;
		__u64 v;

		kkeep = kk;
		kprev = &kkeep;
		if (bpf_map_lookup_elem(kfd, &kk, &v))
			continue;
		r = find_row(rows, n, kk.tgid);
		if (!r || kk.state >= KARENA_NR_STATES || kk.kind >= KARENA_FAULT_NR_KINDS)
			continue;
		r->sk[kk.state][kk.kind] += v;
		r->total_karena += v;
	}
	if (!opt_cumulative) {
		size_t i;

		/* delete what we read; new keys keep counting */
		for (i = 0; i < n; i++)
			bpf_map_delete_elem(pfd, &rows[i].pid);
		while (bpf_map_get_next_key(kfd, NULL, &kk) == 0)
			bpf_map_delete_elem(kfd, &kk);
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	*out = rows;
	return n;
}

static __u64 kind_sum(const struct row *r, unsigned int kind)
{
	__u64 s = 0;
	int st;

	for (st = 0; st < KARENA_NR_STATES; st++)
		s += r->sk[st][kind];
	return s;
}

static void print_rows(struct row *rows, size_t n, double secs, int status, bool final)
{
	char tbuf[32];
	size_t i, lim = opt_top && opt_top < n ? opt_top : n;

	tool_strftime(tbuf, sizeof(tbuf));
	if (args.json) {
		printf("{\"time\":\"%s\",\"seconds\":%.3f,\"final\":%s", tbuf, secs,
		       final ? "true" : "false");
		if (final && args.command)
			printf(",\"command_status\":%d", status);
		printf(",\"processes\":[");
		for (i = 0; i < lim; i++) {
			struct row *r = &rows[i];
			__u64 other = r->p.user_faults > r->p.karena_user ?
				      r->p.user_faults - r->p.karena_user : 0;
			bool first = true;
			int st, k;

			printf("%s{\"pid\":%u,\"comm\":", i ? "," : "", r->pid);
			json_str(stdout, r->p.comm);
			printf(",\"faults\":%llu,\"other\":%llu,\"karena\":%llu,"
			       "\"karena_user\":%llu,\"karena_kernel\":%llu",
			       (unsigned long long)r->p.user_faults, (unsigned long long)other,
			       (unsigned long long)r->p.karena_all,
			       (unsigned long long)r->p.karena_user,
			       (unsigned long long)(r->p.karena_all - r->p.karena_user));
			for (k = 0; k < KARENA_FAULT_NR_KINDS; k++)
				printf(",\"%s\":%llu", karena_kind_name(k),
				       (unsigned long long)kind_sum(r, k));
			printf(",\"sigsegv_none\":%llu,\"sigsegv_reserved\":%llu,\"sigsegv_prepared\":%llu",
			       (unsigned long long)r->sk[KARENA_STATE_NONE][KARENA_FAULT_SIGSEGV],
			       (unsigned long long)r->sk[KARENA_STATE_RESERVED][KARENA_FAULT_SIGSEGV],
			       (unsigned long long)r->sk[KARENA_STATE_PREPARED][KARENA_FAULT_SIGSEGV]);
			printf(",\"by_state\":[");
			for (st = 0; st < KARENA_NR_STATES; st++)
				for (k = 0; k < KARENA_FAULT_NR_KINDS; k++) {
					if (!r->sk[st][k])
						continue;
					printf("%s{\"state\":\"%s\",\"kind\":\"%s\",\"count\":%llu}",
					       first ? "" : ",", karena_state_name(st),
					       karena_kind_name(k), (unsigned long long)r->sk[st][k]);
					first = false;
				}
			printf("]}");
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	if (args.timestamp)
		printf("%s  (%.1fs)\n", tbuf, secs);
	printf("%-7s %-16s %9s %9s %9s %8s %8s %7s %7s %7s %6s %6s\n", "PID", "COMM", "FAULTS",
	       "OTHER", "KARENA", "HIT", "MISS", "SEGV-R", "SEGV-P", "SEGV-N", "ZERO", "COW");
	for (i = 0; i < lim; i++) {
		struct row *r = &rows[i];
		__u64 other = r->p.user_faults > r->p.karena_user ?
			      r->p.user_faults - r->p.karena_user : 0;

		printf("%-7u %-16s %9llu %9llu %9llu %8llu %8llu %7llu %7llu %7llu %6llu %6llu\n",
		       r->pid, r->p.comm, (unsigned long long)r->p.user_faults,
		       (unsigned long long)other, (unsigned long long)r->p.karena_all,
		       (unsigned long long)kind_sum(r, KARENA_FAULT_CACHE_HIT),
		       (unsigned long long)kind_sum(r, KARENA_FAULT_CACHE_MISS),
		       (unsigned long long)r->sk[KARENA_STATE_RESERVED][KARENA_FAULT_SIGSEGV],
		       (unsigned long long)r->sk[KARENA_STATE_PREPARED][KARENA_FAULT_SIGSEGV],
		       (unsigned long long)r->sk[KARENA_STATE_NONE][KARENA_FAULT_SIGSEGV],
		       (unsigned long long)kind_sum(r, KARENA_FAULT_ZERO),
		       (unsigned long long)kind_sum(r, KARENA_FAULT_COW));
	}
	if (!n)
		printf("(no faults)\n");
	printf("\n");
	fflush(stdout);
}

static unsigned long long since;

static void report(void *ctx, bool final, int status)
{
	struct row *rows = NULL;
	size_t n = collect(ctx, &rows);
	unsigned long long now = tool_now_ns();

	print_rows(rows, n, (now - since) / 1e9, status, final);
	since = now;
	free(rows);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "[interval [count]]", doc, NULL, NULL, NULL };
	struct karena_faults *skel = NULL;
	struct tool_loop loop = { .report = report };
	int err;
	pid_t child;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	if (tool_setup(&args, TOOL_NEED_BTF | TOOL_NEED_MODULE, &child))
		return 1;

	skel = karena_faults__open();
	if (!skel) {
		fprintf(stderr, "karena-faults: failed to open BPF object\n");
		err = 1;
		goto out;
	}
	TOOL_SET_FILTER(skel->rodata, &args);
	err = karena_faults__load(skel);
	if (err) {
		fprintf(stderr, "karena-faults: failed to load BPF programs: %s\n", strerror(-err));
		goto out;
	}
	err = karena_faults__attach(skel);
	if (err) {
		fprintf(stderr, "karena-faults: failed to attach (karena:karena_fault, exceptions:page_fault_user): %s\n",
			strerror(-err));
		goto out;
	}
	if (!args.json)
		fprintf(stderr, "Tracing page faults%s... %s\n",
			args.pid ? " of one process" : "",
			args.interval ? "" : "Ctrl-C to end.");
	if (tool_child_start("karena-faults")) {
		err = 1;
		goto out;
	}
	since = tool_now_ns();
	loop.ctx = skel;
	err = tool_run_loop(&args, child, &loop);
out:
	tool_child_kill(child);
	karena_faults__destroy(skel);
	return err ? 1 : 0;
}
