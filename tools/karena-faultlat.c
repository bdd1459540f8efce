// SPDX-License-Identifier: GPL-2.0
/*
 * karena-faultlat: page fault handling latency (handle_mm_fault) as log2
 * histograms, karena faults (by kind) next to anonymous and file faults.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "karena-faultlat.h"
#include "karena-faultlat.skel.h"
#include "karena_names.h"
#include "trace_helpers.h"
#include "tool_common.h"

static struct tool_args args = { .tool = "karena-faultlat" };
static bool opt_ns, opt_ms;

static const struct argp_option opts[] = {
	TOOL_COMMON_OPTIONS,
	{ "nanoseconds", 'N', NULL, 0, "Histograms in nanoseconds", 0 },
	{ "milliseconds", 'm', NULL, 0, "Histograms in milliseconds", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'N':
		opt_ns = true;
		return 0;
	case 'm':
		opt_ms = true;
		return 0;
	}
	return tool_args_parse(key, arg, state, &args);
}

static const char doc[] =
"Summarize page fault handling latency: karena faults vs anonymous faults.\v"
"Times handle_mm_fault() with a kprobe/kretprobe pair.  A fault is a karena\n"
"fault when the module's karena:karena_fault tracepoint fired inside the handler\n"
"(split by kind: cache_hit, cache_miss, sigsegv, zero, cow); otherwise it is\n"
"anon (no backing file) or file.  Without an interval the histograms are\n"
"printed once, at Ctrl-C or when the -c command exits.\n\n"
"EXAMPLES:\n"
"    karena-faultlat              # until Ctrl-C, microseconds\n"
"    karena-faultlat -N -T 1 5    # ns, every second, 5 times, with the time\n"
"    karena-faultlat -c ./bench   # latency of ./bench's faults\n";

/* karena_<kind> (karena_names.h), anon, file. */
static const char *class_name(__u32 c)
{
	static char karena[KARENA_FAULT_NR_KINDS][32];

	if (c < KARENA_FAULT_NR_KINDS) {
		if (!karena[c][0])
			snprintf(karena[c], sizeof(karena[c]), "karena_%s", karena_kind_name(c));
		return karena[c];
	}
	return c == KFL_ANON ? "anon" : c == KFL_FILE ? "file" : "unknown";
}

static void report(void *ctx, bool final, int status)
{
	int fd = bpf_map__fd(((struct karena_faultlat *)ctx)->maps.hists);
	const char *unit = opt_ns ? "nsecs" : opt_ms ? "msecs" : "usecs";
	struct kfl_hist h[KFL_NCLASSES];
	struct kfl_hist zero = {};
	char tbuf[32];
	bool first = true;
	__u32 c;

	for (c = 0; c < KFL_NCLASSES; c++) {
		if (bpf_map_lookup_elem(fd, &c, &h[c]))
			memset(&h[c], 0, sizeof(h[c]));
		bpf_map_update_elem(fd, &c, &zero, BPF_ANY);
	}
	tool_strftime(tbuf, sizeof(tbuf));
	if (args.json) {
		printf("{\"time\":\"%s\",\"unit\":\"%s\",\"final\":%s", tbuf, unit,
		       final ? "true" : "false");
		if (final && args.command)
			printf(",\"command_status\":%d", status);
		printf(",\"classes\":[");
		for (c = 0; c < KFL_NCLASSES; c++) {
			printf("%s{\"class\":\"%s\",\"count\":%llu,\"sum\":%llu,\"avg\":%.3f,\"hist\":",
			       first ? "" : ",", class_name(c), (unsigned long long)h[c].count,
			       (unsigned long long)h[c].sum,
			       h[c].count ? (double)h[c].sum / h[c].count : 0.0);
			hist_print_log2_json(stdout, h[c].slots, KFL_SLOTS);
			printf("}");
			first = false;
		}
		printf("]}\n");
		fflush(stdout);
		return;
	}
	if (args.timestamp)
		printf("%s\n", tbuf);
	printf("%-18s %10s %12s\n", "CLASS", "COUNT", "AVG");
	for (c = 0; c < KFL_NCLASSES; c++)
		printf("%-18s %10llu %10.1f %s\n", class_name(c), (unsigned long long)h[c].count,
		       h[c].count ? (double)h[c].sum / h[c].count : 0.0, unit);
	for (c = 0; c < KFL_NCLASSES; c++) {
		if (!h[c].count)
			continue;
		printf("\n%s faults:\n", class_name(c));
		hist_print_log2(stdout, h[c].slots, KFL_SLOTS, unit);
	}
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "[interval [count]]", doc, NULL, NULL, NULL };
	struct karena_faultlat *skel = NULL;
	struct tool_loop loop = { .report = report };
	int err;
	pid_t child;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	if (opt_ns && opt_ms) {
		fprintf(stderr, "karena-faultlat: -N and -m are mutually exclusive\n");
		return 1;
	}
	if (tool_setup(&args, TOOL_NEED_BTF | TOOL_NEED_MODULE, &child))
		return 1;

	skel = karena_faultlat__open();
	if (!skel) {
		fprintf(stderr, "karena-faultlat: failed to open BPF object\n");
		err = 1;
		goto out;
	}
	TOOL_SET_FILTER(skel->rodata, &args);
	skel->rodata->targ_ns = opt_ns;
	skel->rodata->targ_ms = opt_ms;
	err = karena_faultlat__load(skel);
	if (err) {
		fprintf(stderr, "karena-faultlat: failed to load BPF programs: %s\n", strerror(-err));
		goto out;
	}
	err = karena_faultlat__attach(skel);
	if (err) {
		fprintf(stderr, "karena-faultlat: failed to attach (handle_mm_fault kprobes, karena:karena_fault): %s\n",
			strerror(-err));
		goto out;
	}
	if (!args.json)
		fprintf(stderr, "Tracing fault latency... %s\n", args.interval ? "" : "Ctrl-C to end.");
	if (tool_child_start("karena-faultlat")) {
		err = 1;
		goto out;
	}
	loop.ctx = skel;
	err = tool_run_loop(&args, child, &loop);
out:
	tool_child_kill(child);
	karena_faultlat__destroy(skel);
	return err ? 1 : 0;
}
