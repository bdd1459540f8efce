// SPDX-License-Identifier: MIT
/*
 * options.c - every KARENA_* environment variable, in one table.
 *
 * The table (name, kind, default, range or choices, one-line doc) is the
 * only place a variable is defined: options_init() parses the environment
 * once through it, the other components read the parsed values with
 * karena_option(), and options_print() prints it (KARENA_STATS=2,
 * KARENA_VERBOSE=1, the JSON report).  Integers are decimal and must lie in
 * [min, max]; choices are matched exactly.  An empty variable means unset.
 * A value that does not parse or is out of range keeps the default and is
 * reported with one warning on stderr, the first time the environment is
 * read (the library reads it once).
 *
 * Parsing runs before the heap exists (from the constructor or the first
 * allocation, whichever comes first): no allocation, no stdio, warnings go
 * out with write(2).
 *
 * mallopt() lives here too: glibc's tuning parameters, accepted (validated
 * as glibc validates them) and ignored, since none maps to a knob of
 * karena's design; unknown parameters return 0.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

enum opt_kind { OPT_INT, OPT_CHOICE, OPT_PATH };

struct karena_option_def {
	const char *name;
	enum opt_kind kind;
	long def, min, max;		/* OPT_CHOICE: index into choices */
	const char *const *choices;	/* OPT_CHOICE: NULL-terminated */
	const char *doc;
};

static const char *const backend_choices[] = { "auto", "dev", "mmap", NULL };
static const char *const stats_choices[] = { "0", "1", "2", "json", NULL };

static const struct karena_option_def options[OPT_COUNT] = {
	[OPT_BACKEND] = { "KARENA_BACKEND", OPT_CHOICE, BACKEND_AUTO, 0, 2,
		backend_choices,
		"OS layer: auto = /dev/karena when it opens, else mmap; dev (falls back to mmap with a warning); mmap" },
	[OPT_STATS] = { "KARENA_STATS", OPT_CHOICE, 0, 0, 3, stats_choices,
		"statistics at exit: 1 totals, 2 also per size class and these options, json everything as one JSON object" },
	[OPT_STATS_FILE] = { "KARENA_STATS_FILE", OPT_PATH, 0, 0, 0, NULL,
		"write the KARENA_STATS report to this file (appended; %p becomes the pid) instead of stderr" },
	[OPT_VERBOSE] = { "KARENA_VERBOSE", OPT_INT, 0, 0, 1, NULL,
		"1: print these options (values in effect) to stderr when the heap starts" },
	[OPT_DEBUG] = { "KARENA_DEBUG", OPT_INT, 0, 0, 1, NULL,
		"1: abort on double free, foreign or invalid pointers; say why the device backend is not used" },
	[OPT_SCAVENGER] = { "KARENA_SCAVENGER", OPT_INT, 1, 0, 1, NULL,
		"0: no background scavenger thread" },
	[OPT_SCAVENGE_PERCENT] = { "KARENA_SCAVENGE_PERCENT", OPT_INT, 10, 0, 10000, NULL,
		"retained-memory goal: keep at most heap_inuse * (100 + N) / 100 bytes backed by memory" },
	[OPT_SCAVENGE_RATE] = { "KARENA_SCAVENGE_RATE", OPT_INT, 256, 1, 1 << 20, NULL,
		"background scavenger rate limit, MiB/s" },
	[OPT_SCAVENGE_AGE_MS] = { "KARENA_SCAVENGE_AGE_MS", OPT_INT, 200, 0, 3600000, NULL,
		"background scavenger leaves free runs younger than this (ms) alone" },
	[OPT_HUGEPAGE] = { "KARENA_HUGEPAGE", OPT_INT, -1, -1, 1, NULL,
		"huge-page hint on the heap's arenas: 1 on, 0 off, -1 on for the device backend only (huge blocks, one fault per 2 MiB)" },
	[OPT_URING] = { "KARENA_URING", OPT_INT, 0, 0, 1, NULL,
		"1: device backend batches go through io_uring (IORING_OP_URING_CMD) when the module offers it" },
	[OPT_LAZY_RELEASE] = { "KARENA_LAZY_RELEASE", OPT_INT, 1, 0, 1, NULL,
		"1: on the device backend the scavenger and karena_release() release pages lazily (KARENA_F_LAZY: the module takes them back under memory pressure); 0: at once. malloc_trim() always releases at once" },
};

static long values[OPT_COUNT];
static const char *stats_file;
static pthread_once_t parsed = PTHREAD_ONCE_INIT;

static void warn_bad(const struct karena_option_def *o, const char *v)
{
	char buf[256], range[128], def[32];
	size_t n = 0;

	if (o->kind == OPT_CHOICE) {
		for (int i = 0; o->choices[i] && n < sizeof(range); i++)
			n += (size_t)snprintf(range + n, sizeof(range) - n, "%s%s",
					      i ? ", " : "one of ", o->choices[i]);
	} else {
		snprintf(range, sizeof(range), "an integer in %ld..%ld", o->min, o->max);
	}
	snprintf(buf, sizeof(buf), "%s=%.40s is invalid (%s); using the default %s",
		 o->name, v, range, karena_option_text((int)(o - options), o->def, def,
						       sizeof(def)));
	karena_warn(buf);
}

static bool parse_one(const struct karena_option_def *o, const char *v, long *out)
{
	char *end;
	long x;

	if (o->kind == OPT_CHOICE) {
		for (int i = 0; o->choices[i]; i++) {
			if (!strcmp(v, o->choices[i])) {
				*out = i;
				return true;
			}
		}
		return false;
	}
	errno = 0;
	x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < o->min || x > o->max)
		return false;
	*out = x;
	return true;
}

static void parse_all(void)
{
	int saved = errno;

	for (int i = 0; i < OPT_COUNT; i++) {
		const struct karena_option_def *o = &options[i];
		const char *v = getenv(o->name);

		values[i] = o->def;
		if (!v || !*v)
			continue;
		if (o->kind == OPT_PATH) {
			stats_file = v;
			values[i] = 1;
		} else if (!parse_one(o, v, &values[i])) {
			values[i] = o->def;
			warn_bad(o, v);
		}
	}
	errno = saved;
}

HIDDEN void options_init(void)
{
	pthread_once(&parsed, parse_all);
}

HIDDEN long karena_option(enum karena_opt id)
{
	options_init();
	return values[id];
}

HIDDEN const char *karena_option_path(enum karena_opt id)
{
	options_init();
	return values[id] ? stats_file : NULL;
}

/* The value v of option id as text (into buf for numbers). */
HIDDEN const char *karena_option_text(int id, long v, char *buf, size_t len)
{
	const struct karena_option_def *o = &options[id];

	if (o->kind == OPT_CHOICE)
		return o->choices[v];
	if (o->kind == OPT_PATH)
		return v && stats_file ? stats_file : "";
	snprintf(buf, len, "%ld", v);
	return buf;
}

HIDDEN void options_print(struct stats_out *out, bool json)
{
	char vb[32], db[32], range[48];

	options_init();
	if (json)
		stats_out_printf(out, "\"options\":[");
	else
		stats_out_printf(out, "karena: options (%-23s %-8s %-8s %-13s %s)\n",
				 "name", "value", "default", "range", "meaning");
	for (int i = 0; i < OPT_COUNT; i++) {
		const struct karena_option_def *o = &options[i];
		const char *val = karena_option_text(i, values[i], vb, sizeof(vb));
		const char *def = karena_option_text(i, o->def, db, sizeof(db));

		if (o->kind == OPT_INT)
			snprintf(range, sizeof(range), "%ld..%ld", o->min, o->max);
		else if (o->kind == OPT_PATH)
			snprintf(range, sizeof(range), "path");
		else
			snprintf(range, sizeof(range), "%s|%s|%s%s", o->choices[0],
				 o->choices[1], o->choices[2], o->choices[3] ? "|..." : "");
		if (!json) {
			stats_out_printf(out, "karena:   %-31s %-8s %-8s %-13s %s\n", o->name,
					 *val ? val : "-", *def ? def : "-", range, o->doc);
			continue;
		}
		stats_out_printf(out, "%s{\"name\":\"%s\",\"value\":", i ? "," : "", o->name);
		stats_out_json_str(out, val);
		stats_out_printf(out, ",\"default\":");
		stats_out_json_str(out, def);
		stats_out_printf(out, ",\"range\":\"%s\",\"doc\":", range);
		stats_out_json_str(out, o->doc);
		stats_out_printf(out, "}");
	}
	if (json)
		stats_out_printf(out, "]");
}

/* ---- mallopt ---- */

/* glibc's parameter numbers (malloc.h) and its limits on 64-bit */
#define GLIBC_MAX_FAST		(80 * sizeof(size_t) / 4)
#define GLIBC_MMAP_THRESHOLD_MAX (4UL * 1024 * 1024 * sizeof(long))

KARENA_EXPORT int karena_mallopt(int param, int value)
{
	switch (param) {
	case M_MXFAST:
		return (size_t)value <= GLIBC_MAX_FAST;
	case M_MMAP_THRESHOLD:
		return (size_t)value <= GLIBC_MMAP_THRESHOLD_MAX;
	case M_TRIM_THRESHOLD:
	case M_TOP_PAD:
	case M_MMAP_MAX:
	case M_CHECK_ACTION:
	case M_PERTURB:
	case M_ARENA_TEST:
	case M_ARENA_MAX:
		return 1;
	default:
		return 0;
	}
}

#ifndef KARENA_PREFIX_ONLY
KARENA_EXPORT int mallopt(int param, int value) { return karena_mallopt(param, value); }
#endif
