/* testutil.h: small helpers shared by the unit tests: scratch directories
 * with files in them, and the Check runner boilerplate. Header-only, so that
 * each test stays one executable built from one file. Include it first. */
#ifndef DEPTRACE_TESTUTIL_H
#define DEPTRACE_TESTUTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A fresh directory in `parent` (/tmp if NULL); fails the test if it
 * cannot be made. The caller frees the name with remove_scratch_dir(). */
static inline char *make_scratch_dir(const char *parent, const char *tag)
{
	char templ[PATH_MAX];
	char *dir;

	snprintf(templ, sizeof(templ), "%s/deptrace-%s.XXXXXX", parent ? parent : "/tmp",
		 tag);
	dir = mkdtemp(templ);
	ck_assert_msg(dir != NULL, "mkdtemp %s: %s", templ, strerror(errno));
	dir = strdup(dir);
	ck_assert_ptr_nonnull(dir);
	return dir;
}

static inline int remove_one(const char *path, const struct stat *st, int flag,
			     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes a scratch directory and everything below it, never following
 * symlinks out of it. */
static inline void remove_scratch_dir(char *dir)
{
	if (!dir)
		return;
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

/* snprintf into a PATH_MAX buffer, failing the test on truncation. */
static inline void __attribute__((format(printf, 2, 3)))
pathf(char out[PATH_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && n < PATH_MAX, "path too long: %s", fmt);
}

/* mkdir -p */
static inline void make_dirs(const char *path)
{
	char partial[PATH_MAX];

	pathf(partial, "%s", path);
	for (char *slash = partial + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		ck_assert_msg(mkdir(partial, 0755) == 0 || errno == EEXIST,
			      "mkdir %s: %s", partial, strerror(errno));
		*slash = '/';
	}
	ck_assert_msg(mkdir(partial, 0755) == 0 || errno == EEXIST,
		      "mkdir %s: %s", partial, strerror(errno));
}

/* Writes `content` to base/rel, creating the directories on the way. */
static inline void write_file(const char *base, const char *rel, const char *content)
{
	char path[PATH_MAX], *slash;
	FILE *f;

	pathf(path, "%s/%s", base, rel);
	slash = strrchr(path, '/');
	*slash = '\0';
	make_dirs(path);
	*slash = '/';
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert_int_ge(fputs(content, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

/* A process of a fake proc root: PROC/PID/comm, and PROC/PID/cwd and
 * PROC/PID/exe as symbolic links to `cwd` and `exe`. */
static inline void fake_program(const char *proc, int pid, const char *comm, const char *cwd,
				const char *exe)
{
	char rel[64], content[64], link[PATH_MAX];

	snprintf(rel, sizeof(rel), "%d/comm", pid);
	snprintf(content, sizeof(content), "%s\n", comm);
	write_file(proc, rel, content);
	pathf(link, "%s/%d/cwd", proc, pid);
	ck_assert_msg(symlink(cwd, link) == 0, "symlink %s: %s", link, strerror(errno));
	pathf(link, "%s/%d/exe", proc, pid);
	ck_assert_msg(symlink(exe, link) == 0, "symlink %s: %s", link, strerror(errno));
}

/* Sleeps `ms` milliseconds, signals or not. */
static inline void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Runs every test of the suite; the exit status says whether all passed. */
static inline int run_suite(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int failed;

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
