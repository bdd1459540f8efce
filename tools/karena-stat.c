// SPDX-License-Identifier: GPL-2.0
/*
 * karena-stat: module-wide karena statistics without BPF.
 *
 * Reads the module's parameters (/sys/module/karena/parameters), its global
 * counters (/sys/kernel/karena/, one value per file), the per-CPU cache
 * detail in debugfs (/sys/kernel/debug/karena/), and, per process, the
 * /dev/karena mappings with their resident size (/proc/PID/smaps).
 * Human output or JSON; with an interval, counters also show the change.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tool_common.h"

#define SYSFS_DIR	"/sys/kernel/karena"
#define PARAM_DIR	"/sys/module/karena/parameters"
#define DEBUGFS_DIR	"/sys/kernel/debug/karena"
#define DEBUGFS_ROOT	"/sys/kernel/debug"

static struct tool_args args = { .tool = "karena-stat" };
static bool opt_no_procs, opt_all_procs;

static const struct argp_option opts[] = {
	{ "pid", 'p', "PID", 0, "Show only this process's karena mappings", 0 },
	{ "json", 'j', NULL, 0, "JSON output", 0 },
	{ "no-procs", 'P', NULL, 0, "Skip the per-process scan", 0 },
	{ "all", 'a', NULL, 0, "List processes even without karena mappings (with -p)", 0 },
	TOOL_BASE_OPTIONS,
	{},
};

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'P':
		opt_no_procs = true;
		return 0;
	case 'a':
		opt_all_procs = true;
		return 0;
	case 'c':
	case 'n':
		return ARGP_ERR_UNKNOWN;
	}
	return tool_args_parse(key, arg, state, &args);
}

static const char doc[] =
"Show karena module statistics: parameters, global counters, per-CPU caches\n"
"and the processes that map /dev/karena.\v"
"Sources: " PARAM_DIR ", " SYSFS_DIR "/*,\n"
DEBUGFS_DIR "/* (debugfs, mounted by the tool if needed) and\n"
"/proc/PID/smaps.  A process's allocator statistics (libkarena's MemStats)\n"
"live inside the process: run it with KARENA_STATS=1 to print them at exit.\n\n"
"With an interval, prints every interval seconds (count times) and shows how\n"
"much each counter changed.\n\n"
"EXAMPLES:\n"
"    karena-stat             # once\n"
"    karena-stat -j          # once, JSON\n"
"    karena-stat -T 1 5      # every second, 5 times, with the time\n"
"    karena-stat -p 181      # only PID 181's mappings\n";

/* ---- key/value store of one snapshot ---- */

struct kv {
	char *name;
	char *text;		/* raw (trimmed) content */
	bool is_num;
	long long num;
};

struct kvset {
	struct kv *v;
	size_t n;
};

static void kv_free(struct kvset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].text);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static char *read_file(const char *path)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	FILE *f = fopen(path, "re");
	size_t r;

	if (!f || !buf) {
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	buf[n] = 0;
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	return buf;
}

static bool parse_num(const char *s, long long *out)
{
	char *end;

	if (!*s)
		return false;
	errno = 0;
	*out = strtoll(s, &end, 0);
	return !errno && end != s && *end == 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->name, ((const struct kv *)b)->name);
}

/* Every readable regular file under dir (one subdirectory level, named
 * "sub/name"). */
static void kv_load_dir(struct kvset *s, const char *dir, const char *prefix, int depth)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX], name[PATH_MAX];
		struct stat st;
		struct kv *kv;
		char *text;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		snprintf(name, sizeof(name), "%s%s", prefix, de->d_name);
		if (stat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth > 0) {
				char sub[PATH_MAX + 2];

				snprintf(sub, sizeof(sub), "%s/", name);
				kv_load_dir(s, path, sub, depth - 1);
			}
			continue;
		}
		if (!S_ISREG(st.st_mode) || !(st.st_mode & 0444))
			continue;
		text = read_file(path);
		if (!text)
			continue;
		kv = realloc(s->v, (s->n + 1) * sizeof(*kv));
		if (!kv) {
			free(text);
			break;
		}
		s->v = kv;
		kv = &s->v[s->n++];
		kv->name = strdup(name);
		kv->text = text;
		kv->is_num = parse_num(text, &kv->num);
	}
	closedir(d);
	qsort(s->v, s->n, sizeof(*s->v), name_cmp);
}

static const struct kv *kv_find(const struct kvset *s, const char *name)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return &s->v[i];
	return NULL;
}

/* ---- per-process mappings ---- */

struct proc {
	int pid;
	char comm[32];
	unsigned long maps;
	unsigned long long vsize, rss, pss, swap;
};

static bool scan_proc(int pid, struct proc *p)
{
	char path[64], line[512];
	bool in = false;
	FILE *f;

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, kb;

		if (sscanf(line, "%llx-%llx ", &a, &b) == 2 && strchr(line, ' ')) {
			in = strstr(line, " /dev/karena") != NULL;
			if (in) {
				p->maps++;
				p->vsize += b - a;
			}
			continue;
		}
		if (!in)
			continue;
		if (sscanf(line, "Rss: %llu kB", &kb) == 1)
			p->rss += kb * 1024;
		else if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			p->pss += kb * 1024;
		else if (sscanf(line, "Swap: %llu kB", &kb) == 1)
			p->swap += kb * 1024;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(p->comm, sizeof(p->comm), f))
			p->comm[strcspn(p->comm, "\n")] = 0;
		fclose(f);
	}
	return true;
}

static size_t scan_procs(struct proc **out)
{
	struct proc *v = NULL, p;
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if (args.pid) {
		if (scan_proc(args.pid, &p) && (p.maps || opt_all_procs)) {
			v = malloc(sizeof(*v));
			if (v) {
				v[0] = p;
				n = 1;
			}
		}
		*out = v;
		return n;
	}
	d = opendir("/proc");
	if (!d) {
		*out = NULL;
		return 0;
	}
	while ((de = readdir(d))) {
		struct proc *nv;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		if (!scan_proc(atoi(de->d_name), &p) || !p.maps)
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[n++] = p;
	}
	closedir(d);
	*out = v;
	return n;
}

/* ---- output ---- */

#define MAXCOLS 32

static int split_ws(char *line, char **f, int max)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(line, " \t", &save); t && n < max; t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	return n;
}

/* A debugfs table ("hdr1 hdr2 ...\nv1 v2 ...\n...") as a JSON array of
 * objects; false (nothing printed) if the text is not such a table. */
static bool json_table(const char *text)
{
	char *copy = strdup(text), *line, *save = NULL;
	char *hdr[MAXCOLS], *f[MAXCOLS], *check = strdup(text);
	int nh, i, rows = 0;
	bool ok = true;

	if (!copy || !check) {
		free(copy);
		free(check);
		return false;
	}
	/* first pass: every row has as many fields as the header */
	line = strtok_r(check, "\n", &save);
	nh = line ? split_ws(line, hdr, MAXCOLS) : 0;
	if (nh < 2)
		ok = false;
	while (ok && (line = strtok_r(NULL, "\n", &save)))
		ok = split_ws(line, f, MAXCOLS) == nh;
	free(check);
	if (!ok) {
		free(copy);
		return false;
	}
	save = NULL;
	line = strtok_r(copy, "\n", &save);
	nh = split_ws(line, hdr, MAXCOLS);
	putchar('[');
	while ((line = strtok_r(NULL, "\n", &save))) {
		split_ws(line, f, MAXCOLS);
		printf("%s{", rows++ ? "," : "");
		for (i = 0; i < nh; i++) {
			long long v;

			printf("%s", i ? "," : "");
			json_str(stdout, hdr[i]);
			if (parse_num(f[i], &v))
				printf(":%lld", v);
			else {
				putchar(':');
				json_str(stdout, f[i]);
			}
		}
		putchar('}');
	}
	putchar(']');
	free(copy);
	return true;
}

static void json_kvs(const struct kvset *s, const struct kvset *prev, const char *key)
{
	size_t i;

	printf("\"%s\":{", key);
	for (i = 0; i < s->n; i++) {
		const struct kv *kv = &s->v[i];

		printf("%s", i ? "," : "");
		json_str(stdout, kv->name);
		putchar(':');
		if (kv->is_num)
			printf("%lld", kv->num);
		else if (!strchr(kv->text, '\n') || !json_table(kv->text))
			json_str(stdout, kv->text);
	}
	printf("}");
	if (prev) {
		bool first = true;

		printf(",\"%s_delta\":{", key);
		for (i = 0; i < s->n; i++) {
			const struct kv *kv = &s->v[i], *o = kv_find(prev, kv->name);

			if (!kv->is_num || !o || !o->is_num)
				continue;
			printf("%s", first ? "" : ",");
			json_str(stdout, kv->name);
			printf(":%lld", kv->num - o->num);
			first = false;
		}
		printf("}");
	}
}

static void human_kvs(const struct kvset *s, const struct kvset *prev, const char *title)
{
	size_t i;

	printf("%s:\n", title);
	if (!s->n)
		printf("  (none)\n");
	for (i = 0; i < s->n; i++) {
		const struct kv *kv = &s->v[i], *o = prev ? kv_find(prev, kv->name) : NULL;

		if (strchr(kv->text, '\n')) {
			char *line, *save = NULL, *copy = strdup(kv->text);

			printf("  %s:\n", kv->name);
			for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
				printf("    %s\n", line);
			free(copy);
			continue;
		}
		printf("  %-32s %s", kv->name, kv->text);
		if (o && kv->is_num && o->is_num)
			printf("  (%+lld)", kv->num - o->num);
		printf("\n");
	}
}

static bool ensure_debugfs(void)
{
	struct stat st;

	if (stat(DEBUGFS_DIR, &st) == 0)
		return true;
	/* debugfs may be unmounted; try once, quietly */
	if (system("mountpoint -q " DEBUGFS_ROOT " || mount -t debugfs debugfs "
		   DEBUGFS_ROOT " 2>/dev/null") == -1)
		return false;
	return stat(DEBUGFS_DIR, &st) == 0;
}

int main(int argc, char **argv)
{
	static const struct argp argp = { opts, parse_arg, "[interval [count]]", doc, NULL, NULL, NULL };
	struct kvset prev_stats = {}, prev_cache = {};
	unsigned long done = 0;
	bool have_prev = false, have_debugfs;
	char *version;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return 1;
	if (!tool_check_env(args.tool, TOOL_NEED_MODULE))
		return 1;
	tool_install_signals();
	have_debugfs = ensure_debugfs();
	version = read_file("/sys/module/karena/version");

	for (;;) {
		struct kvset params = {}, stats = {}, cache = {};
		struct proc *procs = NULL;
		size_t nprocs = 0, i;
		char tbuf[32];

		kv_load_dir(&params, PARAM_DIR, "", 0);
		kv_load_dir(&stats, SYSFS_DIR, "", 1);
		if (have_debugfs)
			kv_load_dir(&cache, DEBUGFS_DIR, "", 1);
		if (!opt_no_procs)
			nprocs = scan_procs(&procs);
		tool_strftime(tbuf, sizeof(tbuf));

		if (args.json) {
			printf("{\"time\":\"%s\",\"module\":{\"loaded\":true,\"version\":", tbuf);
			json_str(stdout, version ? version : "");
			printf(",\"sysfs\":%s,\"debugfs\":%s},",
			       access(SYSFS_DIR, F_OK) == 0 ? "true" : "false",
			       have_debugfs ? "true" : "false");
			json_kvs(&params, NULL, "parameters");
			printf(",");
			json_kvs(&stats, have_prev ? &prev_stats : NULL, "stats");
			printf(",");
			json_kvs(&cache, have_prev ? &prev_cache : NULL, "percpu");
			printf(",\"processes\":[");
			for (i = 0; i < nprocs; i++) {
				printf("%s{\"pid\":%d,\"comm\":", i ? "," : "", procs[i].pid);
				json_str(stdout, procs[i].comm);
				printf(",\"mappings\":%lu,\"vsize\":%llu,\"rss\":%llu,\"pss\":%llu,\"swap\":%llu}",
				       procs[i].maps, procs[i].vsize, procs[i].rss, procs[i].pss,
				       procs[i].swap);
			}
			printf("]}\n");
		} else {
			if (args.timestamp)
				printf("%s  ", tbuf);
			printf("karena module loaded%s%s\n", version ? ", version " : "",
			       version ? version : "");
			human_kvs(&params, NULL, "parameters (" PARAM_DIR ")");
			if (access(SYSFS_DIR, F_OK))
				printf("global counters: %s is absent\n", SYSFS_DIR);
			else
				human_kvs(&stats, have_prev ? &prev_stats : NULL,
					  "global counters (" SYSFS_DIR ")");
			if (!have_debugfs)
				printf("per-CPU caches: %s is absent (debugfs not mounted?)\n",
				       DEBUGFS_DIR);
			else
				human_kvs(&cache, have_prev ? &prev_cache : NULL,
					  "per-CPU caches (" DEBUGFS_DIR ")");
			if (!opt_no_procs) {
				printf("processes mapping /dev/karena:\n");
				if (!nprocs)
					printf("  (none)\n");
				else
					printf("  %-7s %-16s %5s %14s %14s %14s\n", "PID", "COMM",
					       "MAPS", "VSIZE", "RSS", "PSS");
				for (i = 0; i < nprocs; i++)
					printf("  %-7d %-16s %5lu %14llu %14llu %14llu\n",
					       procs[i].pid, procs[i].comm, procs[i].maps,
					       procs[i].vsize, procs[i].rss, procs[i].pss);
			}
			printf("\n");
		}
		fflush(stdout);
		free(procs);
		kv_free(&params);
		kv_free(&prev_stats);
		kv_free(&prev_cache);
		prev_stats = stats;
		prev_cache = cache;
		have_prev = true;
		if (!args.interval || (args.count && ++done >= args.count))
			break;
		if (tool_sleep_ms((long)args.interval * 1000, 0, NULL), tool_exiting)
			break;
	}
	kv_free(&prev_stats);
	kv_free(&prev_cache);
	free(version);
	return 0;
}
