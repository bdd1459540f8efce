// SPDX-License-Identifier: GPL-2.0
/* Histograms, user-symbol resolution and uprobe offsets for the karena tools. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <elfutils/libdwfl.h>

#include "trace_helpers.h"

static void print_stars(FILE *f, uint64_t val, uint64_t max, int width)
{
	int n = max ? (int)((val * width + max - 1) / max) : 0;
	int i;

	if (n > width)
		n = width;
	for (i = 0; i < n; i++)
		fputc('*', f);
	for (; i < width; i++)
		fputc(' ', f);
}

void hist_print_log2(FILE *f, const uint32_t *slots, int nslots, const char *unit)
{
	int i, last = -1, first = -1;
	uint32_t max = 0;

	for (i = 0; i < nslots; i++) {
		if (slots[i]) {
			if (first < 0)
				first = i;
			last = i;
		}
		if (slots[i] > max)
			max = slots[i];
	}
	if (last < 0) {
		fprintf(f, "     (no events)\n");
		return;
	}
	fprintf(f, "%24s%-14s : count    distribution\n", unit, "");
	for (i = first; i <= last; i++) {
		unsigned long long lo = i ? 1ULL << i : 0;
		unsigned long long hi = (1ULL << (i + 1)) - 1;

		fprintf(f, "%20llu -> %-20llu : %-8u |", lo, hi, slots[i]);
		print_stars(f, slots[i], max, 40);
		fprintf(f, "|\n");
	}
}

void hist_print_log2_json(FILE *f, const uint32_t *slots, int nslots)
{
	bool first = true;
	int i;

	fputc('[', f);
	for (i = 0; i < nslots; i++) {
		if (!slots[i])
			continue;
		fprintf(f, "%s{\"lo\":%llu,\"hi\":%llu,\"count\":%u}", first ? "" : ",",
			i ? 1ULL << i : 0ULL, (1ULL << (i + 1)) - 1, slots[i]);
		first = false;
	}
	fputc(']', f);
}

void hist_print_labeled(FILE *f, const uint64_t *vals, const char *const *labels,
			int n, const char *hdr)
{
	uint64_t max = 0;
	int i;

	for (i = 0; i < n; i++)
		if (vals[i] > max)
			max = vals[i];
	fprintf(f, "%24s : count      distribution\n", hdr);
	for (i = 0; i < n; i++) {
		if (!vals[i])
			continue;
		fprintf(f, "%24s : %-10llu |", labels[i], (unsigned long long)vals[i]);
		print_stars(f, vals[i], max, 40);
		fprintf(f, "|\n");
	}
}

/* ---- ELF helpers ---- */

static Elf *elf_open_path(const char *path, int *fdp)
{
	Elf *e;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return e;
}

static void elf_close_path(Elf *e, int fd)
{
	elf_end(e);
	close(fd);
}

/* Convert a virtual address to a file offset through PT_LOAD segments. */
static long vaddr_to_off(Elf *e, uint64_t vaddr)
{
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(e, &n))
		return -1;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz)
			return (long)(vaddr - ph.p_vaddr + ph.p_offset);
	}
	return -1;
}

/*
 * File offset of the defined symbol sym (the static symbol table first,
 * then the dynamic one), or -1.  want_data selects data objects of at
 * least min_size bytes instead of functions.
 */
static long elf_find_sym(Elf *e, const char *sym, bool want_data, size_t min_size)
{
	int pass;

	for (pass = 0; pass < 2; pass++) {
		Elf64_Word want = pass == 0 ? SHT_SYMTAB : SHT_DYNSYM;
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e, scn))) {
			GElf_Shdr sh;
			Elf_Data *d;
			size_t i, cnt;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != want)
				continue;
			d = elf_getdata(scn, NULL);
			if (!d || !sh.sh_entsize)
				continue;
			cnt = sh.sh_size / sh.sh_entsize;
			for (i = 0; i < cnt; i++) {
				int type;
				GElf_Sym s;
				const char *name;

				if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
					continue;
				type = GELF_ST_TYPE(s.st_info);
				if (want_data ? type != STT_OBJECT || s.st_size < min_size
					      : (type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_value)
					continue;
				name = elf_strptr(e, sh.sh_link, s.st_name);
				if (name && !strcmp(name, sym))
					return vaddr_to_off(e, s.st_value);
			}
		}
	}
	return -1;
}

long elf_sym_offset(const char *path, const char *sym)
{
	long off;
	int fd;
	Elf *e = elf_open_path(path, &fd);

	if (!e)
		return -1;
	off = elf_find_sym(e, sym, false, 0);
	elf_close_path(e, fd);
	return off;
}

/*
 * ---- usyms ----
 *
 * A process's executable mappings and their symbols, through elfutils'
 * libdwfl: the modules come from /proc/PID/maps when the process is
 * loaded, each module's ELF file and its symbol table are read on the
 * first lookup.  libdwfl also finds separate debug info (build-id under
 * /usr/lib/debug/.build-id, .gnu_debuglink, .gnu_debugdata), so libraries
 * stripped to .dynsym, such as Debian's libc with libc6-dbg installed,
 * resolve static functions too (__libc_start_call_main, not [unknown]).
 */

struct usyms {
	Dwfl *dwfl;
	size_t nmods;
};

static const Dwfl_Callbacks usyms_callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
};

static int count_module(Dwfl_Module *mod, void **userdata, const char *name,
			Dwarf_Addr start, void *arg)
{
	(void)mod;
	(void)userdata;
	(void)name;
	(void)start;
	(*(size_t *)arg)++;
	return DWARF_CB_OK;
}

size_t usyms_nmods(const struct usyms *u)
{
	return u ? u->nmods : 0;
}

struct usyms *usyms_load(pid_t pid)
{
	struct usyms *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->dwfl = dwfl_begin(&usyms_callbacks);
	if (!u->dwfl) {
		free(u);
		return NULL;
	}
	dwfl_report_begin(u->dwfl);
	if (dwfl_linux_proc_report(u->dwfl, pid) == 0)
		dwfl_getmodules(u->dwfl, count_module, &u->nmods, 0);
	dwfl_report_end(u->dwfl, NULL, NULL);
	return u;
}

void usyms_free(struct usyms *u)
{
	if (!u)
		return;
	dwfl_end(u->dwfl);
	free(u);
}

const char *usyms_name(struct usyms *u, uint64_t addr, uint64_t *off, const char **module)
{
	Dwfl_Module *mod;
	const char *path, *name;
	GElf_Off o = 0;
	GElf_Sym sym;

	if (!u || !u->nmods)
		return NULL;
	mod = dwfl_addrmodule(u->dwfl, addr);
	if (!mod)
		return NULL;
	path = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	if (module && path) {
		const char *b = strrchr(path, '/');

		*module = b ? b + 1 : path;
	}
	name = dwfl_module_addrinfo(mod, addr, &o, &sym, NULL, NULL, NULL);
	if (name && off)
		*off = o;
	return name;
}

const char *usyms_resolve(struct usyms *u, uint64_t addr, char *buf, size_t len)
{
	const char *mod = NULL, *name;
	uint64_t off = 0;

	name = usyms_name(u, addr, &off, &mod);
	if (name)
		snprintf(buf, len, "%s+0x%llx (%s)", name, (unsigned long long)off, mod);
	else if (mod)
		snprintf(buf, len, "[unknown] (%s)", mod);
	else
		snprintf(buf, len, "[unknown]");
	return buf;
}

/* ---- libkarena lookup ---- */

static bool file_ok(const char *p)
{
	return access(p, R_OK) == 0;
}

bool find_libkarena(pid_t pid, char *out, size_t len)
{
	static const char *const rel[] = {
		"../lib/libkarena.so",			/* installed: PREFIX/sbin -> PREFIX/lib */
		"../lib64/libkarena.so",
		"../../lib/libkarena.so",		/* tree: tools/build -> lib */
		"../../lib/build/libkarena.so",
		"../../build/lib/libkarena.so",
		"../../lib/.libs/libkarena.so",
	};
	static const char *const abs_paths[] = {
		"/usr/local/lib/libkarena.so",
		"/usr/local/lib/x86_64-linux-gnu/libkarena.so",
		"/usr/lib/x86_64-linux-gnu/libkarena.so",
		"/usr/lib/libkarena.so",
	};
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n;
	size_t i;

	if (pid > 0) {
		char mp[64], line[PATH_MAX + 128];
		FILE *f;

		snprintf(mp, sizeof(mp), "/proc/%d/maps", (int)pid);
		f = fopen(mp, "re");
		if (f) {
			while (fgets(line, sizeof(line), f)) {
				char *p = strchr(line, '/');

				if (!p || !strstr(p, "libkarena"))
					continue;
				p[strcspn(p, "\n")] = 0;
				snprintf(out, len, "%s", p);
				fclose(f);
				return true;
			}
			fclose(f);
		}
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *slash;

		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			char real[PATH_MAX];

			snprintf(cand, sizeof(cand), "%s/%s", exe, rel[i]);
			if (file_ok(cand) && realpath(cand, real)) {
				snprintf(out, len, "%s", real);
				return true;
			}
		}
	}
	for (i = 0; i < sizeof(abs_paths) / sizeof(abs_paths[0]); i++) {
		if (file_ok(abs_paths[i])) {
			snprintf(out, len, "%s", abs_paths[i]);
			return true;
		}
	}
	return false;
}

int elf_read_sym_data(const char *path, const char *sym, void *buf, size_t len)
{
	int fd, ret = -1;
	long off;
	Elf *e = elf_open_path(path, &fd);

	if (!e)
		return -1;
	off = elf_find_sym(e, sym, true, len);
	if (off >= 0 && pread(fd, buf, len, off) == (ssize_t)len)
		ret = 0;
	elf_close_path(e, fd);
	return ret;
}
