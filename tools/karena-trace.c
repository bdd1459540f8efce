// SPDX-License-Identifier: GPL-2.0
/*
 * karena-trace: live trace of karena transitions and per-CPU cache
 * refills/drains (tracepoints karena:karena_transition, karena:karena_cache_refill,
 * karena:karena_cache_drain), one line (or one JSON object) per event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "karena-trace.h"
#include "karena-trace.skel.h"
#include "karena_names.h"
#include "trace_helpers.h"
#include "tool_common.h"

static struct tool_args args = { .tool = "karena-trace" };
static bool opt_ts_rel;
static unsigned long long start_ns;
static unsigned long long seen[KT_NTYPES];

static const struct argp_option opts[] = {
	TOOL_COMMON_OPTIONS,
	{ "relative", 't', NULL, 0, "Time column in seconds since start (with or without -T)", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	if (key == 't') {
		opt_ts_rel = true;
		return 0;
	}
	return tool_args_parse(key, arg, state, &args);
}

static const char doc[] =
"Trace karena transitions and per-CPU page cache refills/drains.\v"
"Every transition ioctl (also vector entries and io_uring commands) and every\n"
"per-CPU cache refill or drain prints one line: pid, comm, cpu, event, op,\n"
"address range, pages and result, after the time with -T (HH:MM:SS) or -t\n"
"(seconds since start).  With -p or -c only events raised in\n"
"that process's context are shown (drains by the shrinker or at unload run\n"
"in other contexts).  With an interval, a summary is printed every interval\n"
"seconds, count times.\n\n"
"EXAMPLES:\n"
"    karena-trace                 # trace until Ctrl-C\n"
"    karena-trace -T -p 181       # only PID 181, with the time\n"
"    karena-trace -c ./workload   # run ./workload and trace it\n"
"    karena-trace -j 5 1          # JSON lines for 5 seconds\n";

static const char *errname(int err)
{
	switch (-err) {
	case 0: return "0";
	case EINVAL: return "-EINVAL";
	case ENOMEM: return "-ENOMEM";
	case EFAULT: return "-EFAULT";
	case EPERM: return "-EPERM";
	case EINTR: return "-EINTR";
	case ENOTTY: return "-ENOTTY";
	default: return NULL;
	}
}

static const char *type_name(__u32 t)
{
	switch (t) {
	case KT_TRANSITION: return "transition";
	case KT_REFILL: return "cache_refill";
	case KT_DRAIN: return "cache_drain";
	default: return "unknown";
	}
}

static int handle_event(void *ctx, void *data, size_t size)
{
	const struct ktrace_event *e = data;
	char tbuf[32], rbuf[16];
	const char *rs;

	(void)ctx;
	if (size < sizeof(*e))
		return 0;
	if (e->type < KT_NTYPES)
		seen[e->type]++;
	if (opt_ts_rel && !args.json)
		snprintf(tbuf, sizeof(tbuf), "%.6f",
			 e->ts_ns > start_ns ? (e->ts_ns - start_ns) / 1e9 : 0.0);
	else
		tool_strftime(tbuf, sizeof(tbuf));

	if (args.json) {
		printf("{\"time\":\"%s\",\"ts_ns\":%llu,\"pid\":%u,\"tid\":%u,\"comm\":",
		       tbuf, (unsigned long long)e->ts_ns, e->pid, e->tid);
		json_str(stdout, e->comm);
		printf(",\"cpu\":%u,\"event\":\"%s\"", e->cpu, type_name(e->type));
		if (e->type == KT_TRANSITION)
			printf(",\"op\":\"%s\",\"op_id\":%u,\"start\":\"0x%llx\",\"end\":\"0x%llx\","
			       "\"npages\":%llu,\"flags\":%u,\"result\":%d",
			       karena_op_name(e->op), e->op, (unsigned long long)e->start,
			       (unsigned long long)(e->start + e->npages * (unsigned long long)getpagesize()),
			       (unsigned long long)e->npages, e->flags, e->result);
		else if (e->type == KT_REFILL)
			printf(",\"cache_cpu\":%d,\"npages\":%llu,\"cached\":%u",
			       e->cache_cpu, (unsigned long long)e->npages, e->aux);
		else
			printf(",\"cache_cpu\":%d,\"npages\":%llu,\"reason\":\"%s\",\"reason_id\":%u",
			       e->cache_cpu, (unsigned long long)e->npages,
			       karena_drain_reason(e->aux), e->aux);
		printf("}\n");
		fflush(stdout);
		return 0;
	}

	if (args.timestamp || opt_ts_rel)
		printf("%-15s ", tbuf);
	printf("%-7u %-16s %-3u %-12s ", e->pid, e->comm, e->cpu, type_name(e->type));
	if (e->type == KT_TRANSITION) {
		char range[48];

		rs = errname(e->result);
		if (!rs) {
			snprintf(rbuf, sizeof(rbuf), "%d", e->result);
			rs = rbuf;
		}
		snprintf(range, sizeof(range), "0x%llx-0x%llx", (unsigned long long)e->start,
			 (unsigned long long)(e->start + e->npages * (unsigned long long)getpagesize()));
		printf("%-10s %-31s %-8llu %s%s%s\n", karena_op_name(e->op), range,
		       (unsigned long long)e->npages, rs,
		       (e->flags & KARENA_F_POPULATE) ? " populate" : "",
		       (e->flags & KARENA_F_LAZY) ? " lazy" : "");
	} else if (e->type == KT_REFILL) {
		printf("%-10s cpu%-28d %-8llu cached=%u\n", "refill", e->cache_cpu,
		       (unsigned long long)e->npages, e->aux);
	} else {
		printf("%-10s cpu%-28d %-8llu reason=%s\n", "drain", e->cache_cpu,
		       (unsigned long long)e->npages, karena_drain_reason(e->aux));
	}
	fflush(stdout);
	return 0;
}

static void read_counts(int fd, unsigned long long out[KT_NTYPES])
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 k;
	int c;

	memset(out, 0, sizeof(unsigned long long) * KT_NTYPES);
	if (ncpu <= 0)
		return;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return;
	for (k = 0; k < KT_NTYPES; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

static void print_summary(int fd, const char *label)
{
	unsigned long long c[KT_NTYPES];

	read_counts(fd, c);
	if (args.json)
		printf("{\"summary\":\"%s\",\"transition\":%llu,\"cache_refill\":%llu,"
		       "\"cache_drain\":%llu,\"lost\":%llu}\n", label,
		       c[KT_TRANSITION], c[KT_REFILL], c[KT_DRAIN], c[KT_LOST]);
	else
		printf("# %s: %llu transitions, %llu cache refills, %llu cache drains, %llu lost\n",
		       label, c[KT_TRANSITION], c[KT_REFILL], c[KT_DRAIN], c[KT_LOST]);
	fflush(stdout);
}

struct trace_ctx {
	struct karena_trace *skel;
	struct ring_buffer *rb;
};

static int poll_events(void *ctx, long ms)
{
	struct trace_ctx *t = ctx;
	int err = ring_buffer__poll(t->rb, (int)ms);

	if (err < 0 && err != -EINTR) {
		fprintf(stderr, "karena-trace: ring buffer poll: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

static void report(void *ctx, bool final, int status)
{
	struct trace_ctx *t = ctx;

	ring_buffer__consume(t->rb);
	if (!final) {
		print_summary(bpf_map__fd(t->skel->maps.counts), "interval");
		return;
	}
	print_summary(bpf_map__fd(t->skel->maps.counts), "total");
	if (status)
		fprintf(stderr, "karena-trace: command exited with status %d\n", status);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "[interval [count]]", doc, NULL, NULL, NULL };
	struct karena_trace *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct trace_ctx ctx;
	struct tool_loop loop = { .ctx = &ctx, .step = poll_events, .report = report };
	int err;
	pid_t child;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	if (tool_setup(&args, TOOL_NEED_BTF | TOOL_NEED_MODULE, &child))
		return 1;

	skel = karena_trace__open();
	if (!skel) {
		fprintf(stderr, "karena-trace: failed to open BPF object\n");
		err = 1;
		goto out;
	}
	TOOL_SET_FILTER(skel->rodata, &args);
	err = karena_trace__load(skel);
	if (err) {
		fprintf(stderr, "karena-trace: failed to load BPF programs: %s\n", strerror(-err));
		goto out;
	}
	err = karena_trace__attach(skel);
	if (err) {
		fprintf(stderr, "karena-trace: failed to attach to the karena tracepoints: %s "
			"(is the karena module loaded?)\n", strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, NULL, NULL);
	if (!rb) {
		err = -errno;
		fprintf(stderr, "karena-trace: failed to create ring buffer\n");
		goto out;
	}
	start_ns = tool_now_ns();
	if (!args.json) {
		if (opt_ts_rel || args.timestamp)
			printf("%-15s ", opt_ts_rel ? "TIME(s)" : "TIME");
		printf("%-7s %-16s %-3s %-12s %-10s %-31s %-8s %s\n", "PID", "COMM",
		       "CPU", "EVENT", "OP", "RANGE", "PAGES", "RESULT");
	}
	fflush(stdout);
	if (tool_child_start("karena-trace")) {
		err = 1;
		goto out;
	}

	ctx.skel = skel;
	ctx.rb = rb;
	err = tool_run_loop(&args, child, &loop);
out:
	tool_child_kill(child);
	ring_buffer__free(rb);
	karena_trace__destroy(skel);
	return err ? 1 : 0;
}
