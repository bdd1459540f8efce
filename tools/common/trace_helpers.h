/* SPDX-License-Identifier: GPL-2.0 */
/* Histograms, user-symbol resolution and uprobe offsets for the karena
 * tools (own implementation, in the spirit of libbpf-tools).  Credit: the
 * log2 histogram's layout (power-of-two slots printed as "lo -> hi : count
 * |****|" rows) is the one bcc's libbpf-tools print_log2_hist() made
 * familiar (github.com/iovisor/bcc, libbpf-tools/trace_helpers.c, LGPL-2.1
 * OR BSD-2-Clause); no code is taken from it. */
#ifndef KARENA_TRACE_HELPERS_H
#define KARENA_TRACE_HELPERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* log2 histogram: slot i counts values in [2^i, 2^(i+1)) (slot 0: 0..1). */
void hist_print_log2(FILE *f, const uint32_t *slots, int nslots, const char *unit);
void hist_print_log2_json(FILE *f, const uint32_t *slots, int nslots);
/* Linear histogram with caller-supplied labels (empty rows skipped). */
void hist_print_labeled(FILE *f, const uint64_t *vals, const char *const *labels,
			int n, const char *hdr);

/* ELF symbol -> file offset (what a uprobe attaches at).  Returns -1 if
 * not found or not a function.  Looks in .symtab then .dynsym. */
long elf_sym_offset(const char *path, const char *sym);

/* User address resolution for one process, from /proc/PID/maps. */
struct usyms;
struct usyms *usyms_load(pid_t pid);
void usyms_free(struct usyms *u);
/* Number of executable file mappings found (0: process gone or exiting). */
size_t usyms_nmods(const struct usyms *u);
/* "sym+0xoff (module)" or "[unknown]" into buf. */
const char *usyms_resolve(struct usyms *u, uint64_t addr, char *buf, size_t len);
/* Symbol name only (NULL if unknown) for tests that match a function. */
const char *usyms_name(struct usyms *u, uint64_t addr, uint64_t *off, const char **module);

/* First path of libkarena.so that exists: the one mapped by pid (if > 0),
 * then next to the tool's binary, then installed locations. */
bool find_libkarena(pid_t pid, char *out, size_t len);

/* Copy len bytes of the data object sym (from .symtab/.dynsym) of the
 * ELF file path into buf.  Returns 0 or -1. */
int elf_read_sym_data(const char *path, const char *sym, void *buf, size_t len);

#endif
