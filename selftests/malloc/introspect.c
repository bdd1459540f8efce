// SPDX-License-Identifier: GPL-2.0
/*
 * The allocator's introspection interface: karena_stats() and its size
 * field, karena_stats_print() (text and JSON), the KARENA_STATS report at
 * exit (KARENA_STATS=json, KARENA_STATS_FILE), the options table and its
 * warnings, and the C library's mallinfo, mallopt and malloc_info.
 *
 * Built like conformance.c (Makefile): introspect (-lkarena),
 * introspect-plain (run under LD_PRELOAD: karena's extensions are found
 * with dlsym, the libc names must be karena's, so the plain binary under
 * an older libkarena or under glibc fails), introspect-asan/-ubsan
 * (-DKARENA_PREFIXED, the karena_ names of the sanitizer archives).
 * The environment tests run this binary again as a helper (HELPER_ARG).
 */
#include "api.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "filter.h"

#define HELPER_ARG	"--introspect-helper"
#define HELPER_N	500
#define MiB		(1024ul * 1024ul)

typedef int stats_fn(struct karena_heap_stats *);
typedef void stats_print_fn(karena_write_fn *, void *, const char *);
typedef struct mallinfo2 mallinfo2_fn(void);

/* karena's extension entry points, found the way the binary was built */
#ifdef KARENA_PREFIXED
#define KSYM(name)	((void *)name)
#else
#define KSYM(name)	dlsym(RTLD_DEFAULT, #name)
#endif

static int helper(void)
{
	void *v[HELPER_N];

	for (int i = 0; i < HELPER_N; i++)
		v[i] = t_malloc(3000);
	for (int i = 0; i < HELPER_N; i++)
		t_free(v[i]);
	return 0;
}

/* Run the helper with extra environment "K=V" strings; its stderr into buf. */
static int run_helper(char *buf, size_t len, const char *const *env)
{
	size_t n = 0;
	int fds[2], status = -1;
	ssize_t r;
	pid_t pid;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char *argv[] = { "introspect", HELPER_ARG, NULL };

		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		for (; *env; env++)
			putenv((char *)*env);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(fds[1]);
	while (n < len - 1 && (r = read(fds[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = 0;
	close(fds[0]);
	waitpid(pid, &status, 0);
	return status;
}

static int count_of(const char *hay, const char *needle)
{
	int c = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s++)
		c++;
	return c;
}

/* The unsigned number after "key": in a JSON text, or -1. */
static long long json_num(const char *text, const char *key)
{
	char pat[64];
	const char *s;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	s = strstr(text, pat);
	return s ? strtoll(s + strlen(pat), NULL, 10) : -1;
}

/* Braces and brackets balance outside strings, and it is one object. */
static bool json_balanced(const char *t)
{
	int depth = 0;
	bool str = false;

	if (*t != '{')
		return false;
	for (; *t; t++) {
		if (str) {
			if (*t == '\\' && t[1])
				t++;
			else if (*t == '"')
				str = false;
			continue;
		}
		if (depth == 0 && *t != '{' && *t != '\n')
			return false;	/* something after the object */
		if (*t == '"')
			str = true;
		else if (*t == '{' || *t == '[')
			depth++;
		else if ((*t == '}' || *t == ']') && --depth < 0)
			return false;
	}
	return depth == 0 && !str;
}

struct text {
	char buf[1 << 16];
	size_t n;
	int calls;
};

static void collect(void *opaque, const char *s)
{
	struct text *t = opaque;
	size_t len = strlen(s);

	t->calls++;
	if (t->n + len < sizeof(t->buf)) {
		memcpy(t->buf + t->n, s, len + 1);
		t->n += len;
	}
}

/* ---- karena_stats: the size field ---- */

TEST(stats_size_field_checked)
{
	stats_fn *stats = (stats_fn *)KSYM(karena_stats);
	struct karena_heap_stats st;
	const uint32_t bad[] = { 0, 8, KARENA_HEAP_STATS_SIZE_V1 - 8,
				 KARENA_HEAP_STATS_SIZE_MAX + 1, UINT32_MAX };

	ASSERT_NE(NULL, stats) TH_LOG("no karena_stats: not served by karena");
	errno = 0;
	EXPECT_EQ(-1, stats(NULL));
	EXPECT_EQ(EINVAL, errno);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.size = bad[i];
		errno = 0;
		EXPECT_EQ(-1, stats(&st)) TH_LOG("size %u accepted", bad[i]);
		EXPECT_EQ(EINVAL, errno);
	}
	void *p = t_malloc(100);

	memset(&st, 0xff, sizeof(st));
	st.size = sizeof(st);
	ASSERT_EQ(0, stats(&st));
	EXPECT_EQ(sizeof(st), st.size);
	EXPECT_EQ(0, st.reserved);
	EXPECT_GT(st.mallocs, 0);
	EXPECT_GE(st.heap_sys, st.heap_inuse);
	t_free(p);
}

/* A caller built against a bigger (newer) struct: the library fills what
 * it knows, zeroes the rest and says how much it filled. */
TEST(stats_bigger_caller_struct)
{
	stats_fn *stats = (stats_fn *)KSYM(karena_stats);
	struct {
		struct karena_heap_stats st;
		unsigned char future[64];
	} big;

	ASSERT_NE(NULL, stats);
	memset(&big, 0xff, sizeof(big));
	big.st.size = sizeof(big);
	ASSERT_EQ(0, stats(&big.st));
	EXPECT_EQ(sizeof(big.st), big.st.size);
	for (size_t i = 0; i < sizeof(big.future); i++) {
		ASSERT_EQ(0, big.future[i]) TH_LOG("byte %zu past the struct not zeroed", i);
	}
}

/* ---- karena_stats_print ---- */

TEST(stats_print_text)
{
	stats_print_fn *print = (stats_print_fn *)KSYM(karena_stats_print);
	static struct text all, totals;
	void *p = t_malloc(3000);

	ASSERT_NE(NULL, print);
	print(collect, &all, NULL);
	print(collect, &totals, "bo");
	t_free(p);
	EXPECT_GT(all.calls, 0);
	EXPECT_EQ(1, count_of(all.buf, "karena: mallocs="));
	EXPECT_NE(0, count_of(all.buf, "karena: class "));
	EXPECT_EQ(1, count_of(all.buf, "KARENA_URING"));
	EXPECT_EQ(1, count_of(all.buf, "KARENA_SCAVENGE_AGE_MS"));
	EXPECT_EQ(1, count_of(totals.buf, "karena: mallocs="));
	EXPECT_EQ(0, count_of(totals.buf, "karena: class "));
	EXPECT_EQ(0, count_of(totals.buf, "KARENA_"));
	TH_LOG("%.200s", all.buf);
}

TEST(stats_print_json)
{
	stats_print_fn *print = (stats_print_fn *)KSYM(karena_stats_print);
	stats_fn *stats = (stats_fn *)KSYM(karena_stats);
	static struct text t;
	struct karena_heap_stats before = { .size = sizeof(before) };
	void *v[100];

	ASSERT_NE(NULL, print);
	ASSERT_EQ(0, stats(&before));
	for (int i = 0; i < 100; i++)
		v[i] = t_malloc(3000);
	print(collect, &t, "J");
	for (int i = 0; i < 100; i++)
		t_free(v[i]);
	TH_LOG("%.300s", t.buf);
	ASSERT_TRUE(json_balanced(t.buf));
	EXPECT_EQ('\n', t.buf[t.n - 1]);
	EXPECT_GE(json_num(t.buf, "mallocs"), (long long)before.mallocs + 100);
	EXPECT_EQ(1, count_of(t.buf, "\"by_size\":["));
	EXPECT_EQ(KARENA_NUM_CLASSES, count_of(t.buf, "{\"class\":"));
	EXPECT_EQ(1, count_of(t.buf, "\"name\":\"KARENA_STATS_FILE\""));
}

/* ---- the report at exit, the options ---- */

TEST(stats_json_at_exit_to_file)
{
	char err[4096], path[64], body[1 << 16];
	char file_env[] = "KARENA_STATS_FILE=/tmp/karena-introspect-%p.json";
	const char *env[] = { "KARENA_STATS=json", file_env, NULL };
	int status = run_helper(err, sizeof(err), env);
	ssize_t n;
	FILE *f;

	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, count_of(err, "karena: ")) TH_LOG("stderr: %.200s", err);
	/* the helper's pid is in the file name; find it by listing /tmp */
	f = popen("ls -t /tmp/karena-introspect-*.json 2>/dev/null | head -1", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(path, sizeof(path), f));
	pclose(f);
	path[strcspn(path, "\n")] = 0;
	f = fopen(path, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", path, strerror(errno));
	n = (ssize_t)fread(body, 1, sizeof(body) - 1, f);
	fclose(f);
	unlink(path);
	ASSERT_GT(n, 0);
	body[n] = 0;
	EXPECT_TRUE(json_balanced(body));
	EXPECT_GE(json_num(body, "mallocs"), HELPER_N);
	EXPECT_EQ(json_num(body, "pid"), strtoll(strrchr(path, '-') + 1, NULL, 10));
}

TEST(options_bad_values_warn_once)
{
	static char err[1 << 16];
	const char *env[] = { "KARENA_SCAVENGE_PERCENT=-5", "KARENA_BACKEND=bogus",
			      "KARENA_STATS=7", "KARENA_SCAVENGE_RATE=12abc",
			      "KARENA_DEBUG=", NULL };
	int status = run_helper(err, sizeof(err), env);

	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	TH_LOG("stderr: %.400s", err);
	EXPECT_EQ(1, count_of(err, "KARENA_SCAVENGE_PERCENT=-5 is invalid (an integer in 0..10000); using the default 10"));
	EXPECT_EQ(1, count_of(err, "KARENA_BACKEND=bogus is invalid (one of auto, dev, mmap); using the default auto"));
	EXPECT_EQ(1, count_of(err, "KARENA_STATS=7 is invalid"));
	EXPECT_EQ(1, count_of(err, "KARENA_SCAVENGE_RATE=12abc is invalid"));
	/* empty means unset; a bad KARENA_STATS keeps the default: no report */
	EXPECT_EQ(0, count_of(err, "KARENA_DEBUG"));
	EXPECT_EQ(4, count_of(err, "karena: "));
}

TEST(options_verbose_lists_every_variable)
{
	static char err[1 << 16];
	static const char *const names[] = {
		"KARENA_BACKEND", "KARENA_STATS", "KARENA_STATS_FILE",
		"KARENA_VERBOSE", "KARENA_DEBUG", "KARENA_SCAVENGER",
		"KARENA_SCAVENGE_PERCENT", "KARENA_SCAVENGE_RATE",
		"KARENA_SCAVENGE_AGE_MS", "KARENA_HUGEPAGE", "KARENA_URING",
	};
	const char *env[] = { "KARENA_VERBOSE=1", "KARENA_SCAVENGE_AGE_MS=1234", NULL };
	int status = run_helper(err, sizeof(err), env);
	char want[64];

	ASSERT_TRUE(WIFEXITED(status));
	TH_LOG("%.300s", err);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "karena:   %s ", names[i]);
		EXPECT_EQ(1, count_of(err, want)) TH_LOG("%s not listed once", names[i]);
	}
	EXPECT_EQ(1, count_of(err, "KARENA_SCAVENGE_AGE_MS          1234     200"));
}

/* ---- the C library's views ---- */

TEST(mallinfo_is_karenas)
{
	mallinfo2_fn *mi2 = (mallinfo2_fn *)KSYM(karena_mallinfo2);
	struct mallinfo2 m2;
	struct mallinfo m;
	void *big = t_malloc(MiB), *small = t_malloc(3000);

	ASSERT_NE(NULL, mi2);
	ASSERT_NE(NULL, big);
	ASSERT_NE(NULL, small);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	m = t_mallinfo();
#pragma GCC diagnostic pop
	m2 = mi2();
	TH_LOG("mallinfo: arena %d hblkhd %d uordblks %d; mallinfo2 (karena): %zu %zu %zu",
	       m.arena, m.hblkhd, m.uordblks, m2.arena, m2.hblkhd, m2.uordblks);
	EXPECT_EQ((size_t)m.hblkhd, m2.hblkhd);
	EXPECT_EQ((size_t)m.uordblks, m2.uordblks);
	EXPECT_EQ((size_t)m.arena, m2.arena);
	EXPECT_GE((size_t)m.hblkhd, MiB);
	t_free(big);
	t_free(small);
}

/* glibc's parameters are accepted as glibc accepts them; others are not */
TEST(mallopt_glibc_semantics)
{
	EXPECT_EQ(1, t_mallopt(M_TRIM_THRESHOLD, 128 * 1024));
	EXPECT_EQ(1, t_mallopt(M_TOP_PAD, 0));
	EXPECT_EQ(1, t_mallopt(M_MMAP_MAX, 65536));
	EXPECT_EQ(1, t_mallopt(M_CHECK_ACTION, 3));
	EXPECT_EQ(1, t_mallopt(M_PERTURB, 0));
	EXPECT_EQ(1, t_mallopt(M_ARENA_TEST, 8));
	EXPECT_EQ(1, t_mallopt(M_ARENA_MAX, 0));
	EXPECT_EQ(1, t_mallopt(M_MXFAST, 64));
	EXPECT_EQ(0, t_mallopt(M_MXFAST, 1000));
	EXPECT_EQ(0, t_mallopt(M_MXFAST, -1));
	EXPECT_EQ(1, t_mallopt(M_MMAP_THRESHOLD, 1024 * 1024));
	EXPECT_EQ(0, t_mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024));
	EXPECT_EQ(0, t_mallopt(12345, 1));
	EXPECT_EQ(0, t_mallopt(-100, 1));
}

TEST(malloc_info_xml)
{
	static char xml[1 << 16];
	void *v[60];
	size_t n;
	FILE *f = tmpfile();

	ASSERT_NE(NULL, f);
	errno = 0;
	EXPECT_EQ(-1, t_malloc_info(1, f));
	EXPECT_EQ(EINVAL, errno);
	for (int i = 0; i < 60; i++)
		v[i] = t_malloc(3000);
	ASSERT_EQ(0, t_malloc_info(0, f));
	for (int i = 0; i < 60; i++)
		t_free(v[i]);
	rewind(f);
	n = fread(xml, 1, sizeof(xml) - 1, f);
	fclose(f);
	xml[n] = 0;
	TH_LOG("%.300s", xml);
	const char *head = "<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n";

	EXPECT_EQ(0, strncmp(xml, head, strlen(head)));
	EXPECT_NE(NULL, strstr(xml, "</heap>\n"));
	EXPECT_NE(NULL, strstr(xml, "</malloc>\n"));
	/* the 3072-byte class holds our 60 live objects */
	const char *s = strstr(xml, "to=\"3072\" total=\"");

	ASSERT_NE(NULL, s) TH_LOG("no <size> of the 3072-byte class: not karena's malloc_info");
	s = strstr(s, "count=\"");
	ASSERT_NE(NULL, s);
	EXPECT_GE(strtol(s + 7, NULL, 10), 60);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], HELPER_ARG))
		return helper();
	filter_tests();
	return test_harness_run(argc, argv);
}
