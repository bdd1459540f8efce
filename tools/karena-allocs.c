// SPDX-License-Identifier: GPL-2.0
/*
 * karena-allocs: trace libkarena's malloc API with uprobes.  Allocation
 * counts by size class, alloc/free rates, and outstanding allocations
 * grouped by user stack (top N stacks by bytes, like memleak).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>

#include "karena-allocs.h"
#include "karena-allocs.skel.h"
#include "trace_helpers.h"
#include "tool_common.h"

static struct tool_args args = { .tool = "karena-allocs" };
static const char *opt_lib;
static unsigned long opt_top = 10;
static bool opt_no_stacks, opt_cumulative;

static const struct argp_option opts[] = {
	TOOL_COMMON_OPTIONS,
	{ "lib", 'l', "PATH", 0, "libkarena.so to probe (default: the one the process "
	  "maps, else next to this tool, else the installed one)", 0 },
	{ "maxrows", 'r', "N", 0, "Show the N stacks with most outstanding bytes (default 10)", 0 },
	{ "no-stacks", 'S', NULL, 0, "Do not collect user stacks", 0 },
	{ "cumulative", 'C', NULL, 0, "Do not clear counts after each interval", 0 },
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'l':
		opt_lib = arg;
		return 0;
	case 'r':
		if (tool_parse_ulong(args.tool, "N", arg, &opt_top))
			argp_usage(state);
		return 0;
	case 'S':
		opt_no_stacks = true;
		return 0;
	case 'C':
		opt_cumulative = true;
		return 0;
	}
	return tool_args_parse(key, arg, state, &args);
}

static const char doc[] =
"Trace allocations served by libkarena (linked with -lkarena or LD_PRELOAD).\v"
"Uprobes on malloc, calloc, realloc, reallocarray, posix_memalign,\n"
"aligned_alloc, memalign, valloc, pvalloc, free and their karena_* names.\n"
"Only a thread's outermost allocator call counts.  Reports allocations and\n"
"bytes per size class (Go's table, read from the library itself; class 0 =\n"
"large, > 32 KiB), alloc/free rates, and outstanding\n"
"allocations made while tracing, grouped by user stack (the program needs\n"
"frame pointers for deep stacks).  Without an interval the report is printed\n"
"once, at Ctrl-C or when the -c command exits.\n\n"
"EXAMPLES:\n"
"    karena-allocs -p 181 5       # PID 181, every 5 seconds\n"
"    karena-allocs -c 'env LD_PRELOAD=/usr/lib/libkarena.so python3 x.py'\n"
"                                 # a preloaded python3, until it exits\n"
"    karena-allocs -r 5 -j -c ./prog  # ./prog (-lkarena), top 5 stacks, JSON\n";

/* The library's own karena_class_to_size (karena.h), read from its file. */
static __u32 class_size[KA_NUM_CLASSES];

static unsigned int class_for(__u64 n, bool align16)
{
	unsigned int c;

	for (c = 1; c < KA_NUM_CLASSES; c++) {
		if (class_size[c] < n)
			continue;
		if (align16 && class_size[c] % 16)
			continue;
		return c;
	}
	return 0;
}

static int setup_classes(struct karena_allocs *skel, const char *lib)
{
	unsigned int i;

	if (elf_read_sym_data(lib, "karena_class_to_size", class_size, sizeof(class_size)) ||
	    class_size[0] || class_size[KA_NUM_CLASSES - 1] != KA_MAX_SMALL) {
		fprintf(stderr, "karena-allocs: %s has no karena_class_to_size[%d] "
			"(not a libkarena?)\n", lib, KA_NUM_CLASSES);
		return -1;
	}
	/* malloc's lookup: 0..8 B the 8-byte class, then 16-byte aligned
	 * classes up to 1 KiB, Go's above */
	for (i = 0; i < KA_C8_LEN; i++)
		((__u8 *)skel->rodata->class8)[i] = class_for(i ? i * 8 : 1, i > 1);
	for (i = 0; i < KA_C128_LEN; i++)
		((__u8 *)skel->rodata->class128)[i] = class_for(KA_SMALL_MAX + i * 128, false);
	return 0;
}

static const struct probe {
	const char *sym;
	int kind;	/* index into progs below */
} probes[] = {
	{ "malloc", 0 }, { "valloc", 0 }, { "pvalloc", 0 },
	{ "karena_malloc", 0 }, { "karena_valloc", 0 }, { "karena_pvalloc", 0 },
	{ "calloc", 1 }, { "karena_calloc", 1 },
	{ "realloc", 2 }, { "karena_realloc", 2 },
	{ "reallocarray", 3 }, { "karena_reallocarray", 3 },
	{ "memalign", 4 }, { "aligned_alloc", 4 },
	{ "karena_memalign", 4 }, { "karena_aligned_alloc", 4 },
	{ "posix_memalign", 5 }, { "karena_posix_memalign", 5 },
	{ "free", 6 }, { "cfree", 6 }, { "karena_free", 6 },
};

#define MAX_LINKS 64
static struct bpf_link *links[MAX_LINKS];
static int nlinks;

static int attach_probes(struct karena_allocs *skel, const char *lib, pid_t pid)
{
	struct bpf_program *entry[7] = {
		skel->progs.malloc_enter, skel->progs.calloc_enter, skel->progs.realloc_enter,
		skel->progs.reallocarray_enter, skel->progs.memalign_enter,
		skel->progs.posix_memalign_enter, skel->progs.free_enter,
	};
	long seen[sizeof(probes) / sizeof(probes[0])];
	size_t i, j, nseen = 0;
	int nattached = 0;

	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		long off = elf_sym_offset(lib, probes[i].sym);
		bool dup = false;
		struct bpf_link *l1, *l2;

		if (off < 0)
			continue;
		for (j = 0; j < nseen; j++)
			dup |= seen[j] == off;
		if (dup)
			continue;	/* alias of a symbol already probed */
		seen[nseen++] = off;
		l1 = bpf_program__attach_uprobe(entry[probes[i].kind], false, pid ? pid : -1, lib, off);
		if (!l1) {
			fprintf(stderr, "karena-allocs: uprobe %s:%s: %s\n", lib, probes[i].sym,
				strerror(errno));
			return -1;
		}
		l2 = bpf_program__attach_uprobe(skel->progs.alloc_exit, true, pid ? pid : -1, lib, off);
		if (!l2) {
			fprintf(stderr, "karena-allocs: uretprobe %s:%s: %s\n", lib, probes[i].sym,
				strerror(errno));
			bpf_link__destroy(l1);
			return -1;
		}
		links[nlinks++] = l1;
		links[nlinks++] = l2;
		nattached++;
		if (args.verbose)
			fprintf(stderr, "karena-allocs: probing %s at 0x%lx\n", probes[i].sym, off);
	}
	return nattached;
}

/* ---- user symbols per process ---- */

#define NSYMCACHE 32
static struct { pid_t pid; struct usyms *u; } symcache[NSYMCACHE];

static struct usyms *syms_for(pid_t pid, bool reload)
{
	int i, slot = -1;

	for (i = 0; i < NSYMCACHE; i++) {
		if (symcache[i].pid == pid && symcache[i].u) {
			if (!reload)
				return symcache[i].u;
			slot = i;
			break;
		}
		if (slot < 0 && !symcache[i].u)
			slot = i;
	}
	if (slot < 0)
		slot = pid % NSYMCACHE;
	if (reload || !symcache[slot].u || symcache[slot].pid != pid) {
		struct usyms *u = usyms_load(pid);

		if (!usyms_nmods(u) && symcache[slot].u && symcache[slot].pid == pid) {
			usyms_free(u);
			return symcache[slot].u;	/* exiting: keep the last good one */
		}
		usyms_free(symcache[slot].u);
		symcache[slot].u = u;
		symcache[slot].pid = pid;
	}
	return symcache[slot].u;
}

/* Re-read the memory maps of the processes that allocated (a process's
 * last good map is kept after it exits, for the final report). */
static void refresh_syms(int fd)
{
	__u32 key, next, *prev = NULL;
	int n = 0;

	while (n < NSYMCACHE && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		syms_for((pid_t)key, true);
		n++;
	}
}

/* ---- report ---- */

struct stackagg {
	__u32 tgid;
	__s64 stack_id;
	__u64 bytes;
	__u64 count;
};

static int agg_cmp(const void *a, const void *b)
{
	const struct stackagg *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static size_t collect_outstanding(int fd, struct stackagg **out, __u64 *nout, __u64 *bout)
{
	struct stackagg *agg = NULL;
	size_t n = 0, cap = 0, i;
	__u64 key, next, *prev = NULL;
	struct ka_alloc a;

	*nout = *bout = 0;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &a))
			continue;
		(*nout)++;
		*bout += a.size;
		for (i = 0; i < n; i++)
			if (agg[i].tgid == a.tgid && agg[i].stack_id == a.stack_id)
				break;
		if (i == n) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				agg = realloc(agg, cap * sizeof(*agg));
				if (!agg)
					return 0;
			}
			agg[n].tgid = a.tgid;
			agg[n].stack_id = a.stack_id;
			agg[n].bytes = 0;
			agg[n].count = 0;
			n++;
		}
		agg[i].bytes += a.size;
		agg[i].count++;
	}
	qsort(agg, n, sizeof(*agg), agg_cmp);
	*out = agg;
	return n;
}

static void print_stack(int sfd, const struct stackagg *s, bool json)
{
	__u64 ips[KA_MAX_STACK];
	struct usyms *u;
	__u32 id;
	int i;
	bool first = true;

	id = (__u32)s->stack_id;
	if (s->stack_id < 0 || bpf_map_lookup_elem(sfd, &id, ips)) {
		if (json)
			printf("\"[no stack]\"");
		else
			printf("\t\t[no stack: %lld]\n", (long long)s->stack_id);
		return;
	}
	u = syms_for(s->tgid, false);
	for (i = 0; i < KA_MAX_STACK && ips[i]; i++) {
		char buf[512];

		usyms_resolve(u, ips[i], buf, sizeof(buf));
		if (json) {
			printf("%s", first ? "" : ",");
			json_str(stdout, buf);
		} else {
			printf("\t\t%#llx %s\n", (unsigned long long)ips[i], buf);
		}
		first = false;
	}
}

static void report_at(struct karena_allocs *skel, double secs, bool final, int status,
		      const char *lib)
{
	int cfd = bpf_map__fd(skel->maps.class_stats);
	int tfd = bpf_map__fd(skel->maps.totals);
	int hfd = bpf_map__fd(skel->maps.size_hist);
	int afd = bpf_map__fd(skel->maps.allocs);
	int sfd = bpf_map__fd(skel->maps.stacks);
	struct ka_class cls[KA_NROWS], zc = {};
	__u64 tot[KA_NTOTALS] = {}, hist[KA_SIZE_SLOTS] = {}, zero = 0, nout, bout;
	struct stackagg *agg = NULL;
	size_t nagg, i, lim;
	char tbuf[32];
	bool first;
	__u32 k;

	for (k = 0; k < KA_NROWS; k++) {
		if (bpf_map_lookup_elem(cfd, &k, &cls[k]))
			memset(&cls[k], 0, sizeof(cls[k]));
		if (!opt_cumulative)
			bpf_map_update_elem(cfd, &k, &zc, BPF_ANY);
	}
	for (k = 0; k < KA_NTOTALS; k++) {
		bpf_map_lookup_elem(tfd, &k, &tot[k]);
		if (!opt_cumulative)
			bpf_map_update_elem(tfd, &k, &zero, BPF_ANY);
	}
	for (k = 0; k < KA_SIZE_SLOTS; k++) {
		bpf_map_lookup_elem(hfd, &k, &hist[k]);
		if (!opt_cumulative)
			bpf_map_update_elem(hfd, &k, &zero, BPF_ANY);
	}
	nagg = collect_outstanding(afd, &agg, &nout, &bout);
	lim = opt_top < nagg ? opt_top : nagg;
	if (secs <= 0)
		secs = 1e-9;
	tool_strftime(tbuf, sizeof(tbuf));

	if (args.json) {
		printf("{\"time\":\"%s\",\"seconds\":%.3f,\"final\":%s,\"lib\":", tbuf, secs,
		       final ? "true" : "false");
		json_str(stdout, lib);
		if (final && args.command)
			printf(",\"command_status\":%d", status);
		printf(",\"allocs\":%llu,\"alloc_bytes\":%llu,\"frees\":%llu,\"free_bytes\":%llu,"
		       "\"failed\":%llu,\"untracked_frees\":%llu,\"dropped\":%llu,"
		       "\"alloc_rate\":%.1f,\"free_rate\":%.1f",
		       (unsigned long long)tot[KA_T_ALLOCS], (unsigned long long)tot[KA_T_ALLOC_BYTES],
		       (unsigned long long)tot[KA_T_FREES], (unsigned long long)tot[KA_T_FREE_BYTES],
		       (unsigned long long)tot[KA_T_FAILED],
		       (unsigned long long)tot[KA_T_UNTRACKED_FREES],
		       (unsigned long long)tot[KA_T_DROPPED],
		       tot[KA_T_ALLOCS] / secs, tot[KA_T_FREES] / secs);
		printf(",\"classes\":[");
		first = true;
		for (k = 0; k < KA_NROWS; k++) {
			if (!cls[k].allocs && !cls[k].frees)
				continue;
			printf("%s{\"class\":%u,\"size\":%u", first ? "" : ",", k, class_size[k]);
			printf(",\"allocs\":%llu,\"alloc_bytes\":%llu,\"frees\":%llu,\"free_bytes\":%llu}",
			       (unsigned long long)cls[k].allocs, (unsigned long long)cls[k].alloc_bytes,
			       (unsigned long long)cls[k].frees, (unsigned long long)cls[k].free_bytes);
			first = false;
		}
		printf("],\"outstanding\":{\"count\":%llu,\"bytes\":%llu},\"stacks\":[",
		       (unsigned long long)nout, (unsigned long long)bout);
		for (i = 0; i < lim; i++) {
			printf("%s{\"pid\":%u,\"bytes\":%llu,\"count\":%llu,\"stack_id\":%lld,\"frames\":[",
			       i ? "," : "", agg[i].tgid, (unsigned long long)agg[i].bytes,
			       (unsigned long long)agg[i].count, (long long)agg[i].stack_id);
			print_stack(sfd, &agg[i], true);
			printf("]}");
		}
		printf("]}\n");
		fflush(stdout);
		free(agg);
		return;
	}

	if (args.timestamp)
		printf("[%s] ", tbuf);
	printf("%.1fs: %llu allocs (%.1f/s, %llu bytes), %llu frees (%.1f/s, %llu bytes), "
	       "%llu failed, %llu frees of untracked pointers\n", secs,
	       (unsigned long long)tot[KA_T_ALLOCS], tot[KA_T_ALLOCS] / secs,
	       (unsigned long long)tot[KA_T_ALLOC_BYTES], (unsigned long long)tot[KA_T_FREES],
	       tot[KA_T_FREES] / secs, (unsigned long long)tot[KA_T_FREE_BYTES],
	       (unsigned long long)tot[KA_T_FAILED], (unsigned long long)tot[KA_T_UNTRACKED_FREES]);
	{
		__u64 max = 0;

		for (k = 0; k < KA_NROWS; k++)
			if (cls[k].allocs > max)
				max = cls[k].allocs;
		printf("%-7s %7s %10s %12s %10s  distribution\n", "CLASS", "SIZE", "ALLOCS",
		       "BYTES", "FREES");
		for (k = 0; k < KA_NROWS; k++) {
			__u32 row = (k + 1) % KA_NROWS;	/* large (0) last */
			char name[16], size[16];
			int stars, s;

			if (!cls[row].allocs && !cls[row].frees)
				continue;
			if (row == 0) {
				snprintf(name, sizeof(name), "0");
				snprintf(size, sizeof(size), ">32768");
			} else {
				snprintf(name, sizeof(name), "%u", row);
				snprintf(size, sizeof(size), "%u", class_size[row]);
			}
			printf("%-7s %7s %10llu %12llu %10llu  |", name, size,
			       (unsigned long long)cls[row].allocs,
			       (unsigned long long)cls[row].alloc_bytes,
			       (unsigned long long)cls[row].frees);
			stars = max ? (int)((cls[row].allocs * 30 + max - 1) / max) : 0;
			for (s = 0; s < 30; s++)
				putchar(s < stars ? '*' : ' ');
			printf("|\n");
		}
		if (!max)
			printf("(no allocations)\n");
	}
	printf("\nOutstanding: %llu allocations, %llu bytes", (unsigned long long)nout,
	       (unsigned long long)bout);
	if (lim)
		printf("; top %zu stacks:\n", lim);
	else
		printf("\n");
	for (i = 0; i < lim; i++) {
		printf("\t%llu bytes in %llu allocations from pid %u, stack id %lld:\n",
		       (unsigned long long)agg[i].bytes, (unsigned long long)agg[i].count,
		       agg[i].tgid, (long long)agg[i].stack_id);
		print_stack(sfd, &agg[i], false);
	}
	printf("\n");
	fflush(stdout);
	free(agg);
}

struct allocs_ctx {
	struct karena_allocs *skel;
	const char *lib;
	unsigned long long since;
};

/* Short steps: keep the command's memory map fresh for symbols. */
static int refresh_step(void *ctx, long ms)
{
	struct allocs_ctx *a = ctx;

	(void)ms;
	tool_sleep_ms(200, 0, NULL);
	refresh_syms(bpf_map__fd(a->skel->maps.seen_pids));
	return 0;
}

static void report(void *ctx, bool final, int status)
{
	struct allocs_ctx *a = ctx;
	unsigned long long now = tool_now_ns();

	report_at(a->skel, (now - a->since) / 1e9, final, status, a->lib);
	a->since = now;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "[interval [count]]", doc, NULL, NULL, NULL };
	struct karena_allocs *skel = NULL;
	char lib[PATH_MAX];
	struct allocs_ctx ctx = { .lib = lib };
	struct tool_loop loop = { .ctx = &ctx, .step = refresh_step, .report = report };
	int err = 0, i;
	pid_t child;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	/* uprobes on the library: no module needed */
	if (!tool_check_env(args.tool, TOOL_NEED_BTF))
		return 1;
	if (opt_lib) {
		if (!realpath(opt_lib, lib)) {
			fprintf(stderr, "karena-allocs: %s: %s\n", opt_lib, strerror(errno));
			return 1;
		}
	} else if (!find_libkarena(args.pid, lib, sizeof(lib))) {
		fprintf(stderr, "karena-allocs: libkarena.so not found; give its path with -l PATH\n");
		return 1;
	}
	if (tool_setup(&args, TOOL_NEED_BTF, &child))
		return 1;

	skel = karena_allocs__open();
	if (!skel) {
		fprintf(stderr, "karena-allocs: failed to open BPF object\n");
		err = 1;
		goto out;
	}
	TOOL_SET_FILTER(skel->rodata, &args);
	skel->rodata->targ_stacks = !opt_no_stacks;
	if (setup_classes(skel, lib)) {
		err = 1;
		goto out;
	}
	if (opt_no_stacks)
		bpf_map__set_max_entries(skel->maps.stacks, 1);
	err = karena_allocs__load(skel);
	if (err) {
		fprintf(stderr, "karena-allocs: failed to load BPF programs: %s\n", strerror(-err));
		goto out;
	}
	i = attach_probes(skel, lib, args.pid);
	if (i <= 0) {
		if (i == 0)
			fprintf(stderr, "karena-allocs: no malloc API symbols found in %s\n", lib);
		err = 1;
		goto out;
	}
	if (!args.json)
		fprintf(stderr, "Tracing %d functions of %s... %s\n", i, lib,
			args.interval ? "" : "Ctrl-C to end.");
	if (tool_child_start("karena-allocs")) {
		err = 1;
		goto out;
	}
	ctx.skel = skel;
	ctx.since = tool_now_ns();
	err = tool_run_loop(&args, child, &loop);
out:
	tool_child_kill(child);
	for (i = 0; i < nlinks; i++)
		bpf_link__destroy(links[i]);
	karena_allocs__destroy(skel);
	for (i = 0; i < NSYMCACHE; i++)
		usyms_free(symcache[i].u);
	return err ? 1 : 0;
}
