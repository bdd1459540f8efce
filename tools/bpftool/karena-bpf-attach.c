// SPDX-License-Identifier: GPL-2.0
/*
 * karena-bpf-attach: attach BPF programs that plain bpftool has pinned,
 * and pin their links.
 *
 * bpftool v7.1 (Debian 12) loads and pins tracing programs
 * (bpftool prog loadall OBJ DIR) but cannot attach them: 'autoattach'
 * arrived in bpftool 7.2 and 'bpftool prog attach' only knows socket and
 * flow-dissector attach types.  This helper does the missing step with
 * the low-level bpf(2) wrappers and perf_event_open(2), and pins each
 * link next to the programs, like autoattach does:
 *
 *   raw_tp/NAME             BPF_RAW_TRACEPOINT_OPEN (raw tracepoint link)
 *   tp/CATEGORY/NAME        perf tracepoint event + BPF_LINK_CREATE(BPF_PERF_EVENT)
 *   kprobe/FN, kretprobe/FN perf kprobe PMU event + BPF_LINK_CREATE(BPF_PERF_EVENT)
 *
 * Usage: karena-bpf-attach OBJ PROGDIR LINKDIR
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>

static const char *prog_name = "karena-bpf-attach";

/* Section of the function symbol @fn in the BPF object, or NULL. */
static char *section_of(const char *obj, const char *fn)
{
	Elf_Scn *scn = NULL;
	char *ret = NULL;
	size_t shstrndx;
	Elf *e;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	fd = open(obj, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_getshdrstrndx(e, &shstrndx))
		goto out;
	while (!ret && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;
		size_t i, n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (i = 0; d && i < n; i++) {
			GElf_Sym s;
			GElf_Shdr ps;
			const char *name;
			Elf_Scn *sec;

			if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
			    s.st_shndx == SHN_UNDEF)
				continue;
			name = elf_strptr(e, sh.sh_link, s.st_name);
			if (!name || strcmp(name, fn))
				continue;
			sec = elf_getscn(e, s.st_shndx);
			if (sec && gelf_getshdr(sec, &ps))
				ret = strdup(elf_strptr(e, shstrndx, ps.sh_name));
			break;
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return ret;
}

static int read_int(const char *path, const char *after, int *out)
{
	char buf[64], *p;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	p = after ? strstr(buf, after) : buf;
	if (!p)
		return -EINVAL;
	*out = atoi(after ? p + strlen(after) : p);
	return 0;
}

static int perf_open(__u32 type, __u64 config, __u64 config1)
{
	struct perf_event_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.size = sizeof(attr);
	attr.type = type;
	attr.config = config;
	attr.config1 = config1;	/* kprobe_func */
	fd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int link_perf(int prog_fd, int perf_fd)
{
	int fd = bpf_link_create(prog_fd, perf_fd, BPF_PERF_EVENT, NULL);

	close(perf_fd);
	return fd < 0 ? -errno : fd;
}

static int attach(int prog_fd, const char *sec)
{
	const char *target = strchr(sec, '/');
	char path[PATH_MAX];
	int id, fd, bit, type;

	if (!target)
		return -EOPNOTSUPP;
	target++;
	if (!strncmp(sec, "raw_tp/", 7) || !strncmp(sec, "raw_tracepoint/", 15)) {
		fd = bpf_raw_tracepoint_open(target, prog_fd);
		return fd < 0 ? -errno : fd;
	}
	if (!strncmp(sec, "tp/", 3) || !strncmp(sec, "tracepoint/", 11)) {
		snprintf(path, sizeof(path), "/sys/kernel/tracing/events/%s/id", target);
		if (read_int(path, NULL, &id)) {
			snprintf(path, sizeof(path), "/sys/kernel/debug/tracing/events/%s/id", target);
			if (read_int(path, NULL, &id))
				return -ENOENT;
		}
		fd = perf_open(PERF_TYPE_TRACEPOINT, id, 0);
		return fd < 0 ? fd : link_perf(prog_fd, fd);
	}
	if (!strncmp(sec, "kprobe/", 7) || !strncmp(sec, "kretprobe/", 10)) {
		bool ret = sec[1] == 'r';
		__u64 config = 0;

		if (read_int("/sys/bus/event_source/devices/kprobe/type", NULL, &type))
			return -ENOENT;
		if (ret) {
			if (read_int("/sys/bus/event_source/devices/kprobe/format/retprobe",
				     "config:", &bit))
				return -ENOENT;
			config = 1ULL << bit;
		}
		fd = perf_open(type, config, (__u64)(unsigned long)target);
		return fd < 0 ? fd : link_perf(prog_fd, fd);
	}
	return -EOPNOTSUPP;
}

int main(int argc, char **argv)
{
	const char *obj, *progdir, *linkdir;
	struct dirent *de;
	int n = 0, rc = 0;
	DIR *d;

	if (argc != 4 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		printf("Usage: %s OBJ PROGDIR LINKDIR\n"
		       "Attach the programs bpftool pinned in PROGDIR (loaded from OBJ, whose\n"
		       "section names give the attach points: raw_tp/, tp/, kprobe/, kretprobe/)\n"
		       "and pin one link per program in LINKDIR.  For bpftool < 7.2, which has\n"
		       "no 'autoattach'.  Removing the pins detaches and unloads everything.\n",
		       prog_name);
		return argc == 2 ? 0 : 2;
	}
	obj = argv[1];
	progdir = argv[2];
	linkdir = argv[3];
	if (mkdir(linkdir, 0700) && errno != EEXIST) {
		fprintf(stderr, "%s: mkdir %s: %s\n", prog_name, linkdir, strerror(errno));
		return 1;
	}
	d = opendir(progdir);
	if (!d) {
		fprintf(stderr, "%s: %s: %s\n", prog_name, progdir, strerror(errno));
		return 1;
	}
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		char *sec;
		int pfd, lfd;

		if (de->d_name[0] == '.')
			continue;
		sec = section_of(obj, de->d_name);
		if (!sec) {
			fprintf(stderr, "%s: pinned program %s is not in %s\n", prog_name,
				de->d_name, obj);
			rc = 1;
			break;
		}
		if (!strncmp(sec, "uprobe", 6) || !strncmp(sec, "uretprobe", 9)) {
			printf("skip     %-24s %s (uprobes need a target binary)\n", de->d_name, sec);
			free(sec);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", progdir, de->d_name);
		pfd = bpf_obj_get(path);
		if (pfd < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog_name, path, strerror(errno));
			free(sec);
			rc = 1;
			break;
		}
		lfd = attach(pfd, sec);
		close(pfd);
		if (lfd < 0) {
			fprintf(stderr, "%s: attach %s (%s): %s\n", prog_name, de->d_name, sec,
				strerror(-lfd));
			free(sec);
			rc = 1;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", linkdir, de->d_name);
		if (bpf_obj_pin(lfd, path)) {
			fprintf(stderr, "%s: pin %s: %s\n", prog_name, path, strerror(errno));
			close(lfd);
			free(sec);
			rc = 1;
			break;
		}
		close(lfd);
		printf("attached %-24s %s\n", de->d_name, sec);
		free(sec);
		n++;
	}
	closedir(d);
	if (!rc && !n) {
		fprintf(stderr, "%s: no programs attached\n", prog_name);
		rc = 1;
	}
	return rc;
}
