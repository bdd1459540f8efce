// SPDX-License-Identifier: MIT
/*
 * stats_print.c - the statistics as text or JSON: karena_stats_print(),
 * malloc_stats(), the KARENA_STATS report at exit and the KARENA_VERBOSE
 * options table.
 *
 * Output goes through a small buffer (struct stats_out) to a callback or,
 * without one, straight to a file descriptor with write(2): no stdio, no
 * allocation, since the exit report runs from a destructor, possibly after
 * the program closed its stdio streams.  The exit report's descriptor is
 * taken early (constructor or first allocation): a duplicate of stderr,
 * because programs such as coreutils close fd 2 in an atexit handler that
 * runs before this library's destructor, or the file KARENA_STATS_FILE
 * names (opened for append, "%p" replaced by the pid).
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

static int report_fd = -1;

static void stats_out_flush(struct stats_out *o)
{
	size_t off = 0;

	o->buf[o->n] = 0;
	if (o->write) {
		if (o->n)
			o->write(o->opaque, o->buf);
		o->n = 0;
		return;
	}
	while (off < o->n) {
		ssize_t r = write(o->fd, o->buf + off, o->n - off);

		if (r <= 0)
			break;
		off += (size_t)r;
	}
	o->n = 0;
}

HIDDEN void stats_out_printf(struct stats_out *o, const char *fmt, ...)
{
	size_t room = sizeof(o->buf) - 1 - o->n;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(o->buf + o->n, room + 1, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	if ((size_t)len <= room) {
		o->n += (size_t)len;
		return;
	}
	/* did not fit: flush what was there and format again (lines are short) */
	o->buf[o->n] = 0;
	stats_out_flush(o);
	va_start(ap, fmt);
	len = vsnprintf(o->buf, sizeof(o->buf), fmt, ap);
	va_end(ap);
	if (len > 0)
		o->n = (size_t)len < sizeof(o->buf) ? (size_t)len : sizeof(o->buf) - 1;
}

HIDDEN void stats_out_json_str(struct stats_out *o, const char *s)
{
	stats_out_printf(o, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			stats_out_printf(o, "\\%c", c);
		else if (c < 0x20)
			stats_out_printf(o, "\\u%04x", c);
		else
			stats_out_printf(o, "%c", c);
	}
	stats_out_printf(o, "\"");
}

#define U(x)	((unsigned long long)(x))

static void print_text(struct stats_out *o, const struct karena_heap_stats *st,
		       bool classes)
{
	stats_out_printf(o, "karena: backend=%s threads=%llu\n", os_cur->name, U(st->nthreads));
	stats_out_printf(o, "karena: mallocs=%llu frees=%llu\n", U(st->mallocs), U(st->frees));
	stats_out_printf(o, "karena: heap_sys=%llu heap_alloc=%llu heap_idle=%llu "
			 "heap_inuse=%llu heap_released=%llu\n",
			 U(st->heap_sys), U(st->heap_alloc), U(st->heap_idle),
			 U(st->heap_inuse), U(st->heap_released));
	stats_out_printf(o, "karena: heap_objects=%llu total_alloc=%llu large=%llu/%llu "
			 "tiny=%llu os_ops=%llu\n",
			 U(st->heap_objects), U(st->total_alloc), U(st->large_mallocs),
			 U(st->large_frees), U(st->tiny_allocs), U(st->os_ops));
	for (int i = 1; i < NUM_CLASSES && classes; i++) {
		if (!st->by_size[i].mallocs)
			continue;
		stats_out_printf(o, "karena: class %2d size %5llu mallocs=%llu frees=%llu\n",
				 i, U(st->by_size[i].size), U(st->by_size[i].mallocs),
				 U(st->by_size[i].frees));
	}
}

static void print_json(struct stats_out *o, const struct karena_heap_stats *st,
		       bool classes, bool opts)
{
	static const struct { const char *name; size_t off; } fields[] = {
#define F(f)	{ #f, offsetof(struct karena_heap_stats, f) }
		F(heap_sys), F(heap_alloc), F(heap_idle), F(heap_inuse),
		F(heap_released), F(heap_objects), F(heap_reserved),
		F(total_alloc), F(mallocs), F(frees), F(large_mallocs),
		F(large_frees), F(large_inuse), F(tiny_allocs), F(spans_inuse),
		F(scavenged_total), F(os_ops), F(nthreads),
#undef F
	};

	stats_out_printf(o, "{\"version\":\"%s\",\"pid\":%d,\"backend\":\"%s\"",
			 KARENA_VERSION, (int)getpid(), os_cur->name);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		stats_out_printf(o, ",\"%s\":%llu", fields[i].name,
				 U(*(const uint64_t *)((const char *)st + fields[i].off)));
	if (classes) {
		stats_out_printf(o, ",\"by_size\":[");
		for (int i = 0; i < NUM_CLASSES; i++)
			stats_out_printf(o, "%s{\"class\":%d,\"size\":%llu,\"mallocs\":%llu,\"frees\":%llu}",
					 i ? "," : "", i, U(st->by_size[i].size),
					 U(st->by_size[i].mallocs), U(st->by_size[i].frees));
		stats_out_printf(o, "]");
	}
	if (opts) {
		stats_out_printf(o, ",");
		options_print(o, true);
	}
	stats_out_printf(o, "}\n");
}

static void print_to(struct stats_out *o, const char *opts)
{
	struct karena_heap_stats st = { .size = sizeof(st) };
	bool json = opts && strchr(opts, 'J');
	bool classes = !opts || !strchr(opts, 'b');
	bool options = !opts || !strchr(opts, 'o');

	if (karena_stats(&st))
		return;
	if (json) {
		print_json(o, &st, classes, options);
	} else {
		print_text(o, &st, classes);
		if (options)
			options_print(o, false);
	}
	stats_out_flush(o);
}

KARENA_EXPORT void karena_stats_print(karena_write_fn *write, void *opaque, const char *opts)
{
	struct stats_out o = { .write = write, .opaque = opaque, .fd = 2 };

	print_to(&o, opts);
}

/* glibc prints its statistics to stderr */
KARENA_EXPORT void karena_malloc_stats(void)
{
	karena_stats_print(NULL, NULL, "o");
}

/* The file KARENA_STATS_FILE names, "%p" replaced by the pid; -1 if none. */
static int open_stats_file(void)
{
	const char *tmpl = karena_option_path(OPT_STATS_FILE);
	char path[4096];
	size_t n = 0;

	if (!tmpl)
		return -1;
	for (const char *p = tmpl; *p && n < sizeof(path) - 24; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			n += (size_t)snprintf(path + n, sizeof(path) - n, "%d", (int)getpid());
			p++;
		} else {
			path[n++] = *p;
		}
	}
	path[n] = 0;
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* A descriptor out of the program's way (it may dup2 over low ones). */
static int fd_high(int fd)
{
	int h;

	if (fd < 0)
		return fd;
	h = fcntl(fd, F_DUPFD_CLOEXEC, 1000);
	if (h < 0)
		return fd;
	close(fd);
	return h;
}

HIDDEN void stats_report_prepare(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	int fd;

	if (karena_option(OPT_STATS) == STATS_OFF)
		return;
	pthread_mutex_lock(&lock);
	if (report_fd < 0) {
		fd = open_stats_file();
		if (fd < 0 && karena_option_path(OPT_STATS_FILE))
			karena_warn("KARENA_STATS_FILE cannot be opened; the report goes to stderr");
		if (fd < 0)
			fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		report_fd = fd_high(fd);
	}
	pthread_mutex_unlock(&lock);
}

HIDDEN void stats_report_at_exit(void)
{
	static const char *const opts[] = {
		[STATS_TOTALS] = "bo", [STATS_CLASSES] = "", [STATS_JSON] = "J",
	};
	long level = karena_option(OPT_STATS);
	struct stats_out o = { .fd = report_fd >= 0 ? report_fd : 2 };

	if (level == STATS_OFF)
		return;
	print_to(&o, opts[level]);
}

HIDDEN void options_report(void)
{
	struct stats_out o = { .fd = 2 };

	options_print(&o, false);
	stats_out_flush(&o);
}
