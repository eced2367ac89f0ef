/* Unit tests for lib/kheaders.h, on fake header trees in a scratch
 * directory; the real /lib/modules and /usr/src are never looked at. */
#include "testutil.h"

#include <dirent.h>

#include "kheaders.h"

#define RELEASE "6.18.44-custom"
#define DEB12 "linux-headers-6.12.117+deb12"
#define DEB6_1 "linux-headers-6.1.0-56"

/* Each test case's scratch directories live in one made by the runner
 * process (an unchecked fixture), so that they go even when a test fails
 * and its forked process exits without its own teardown. */
static char *case_dir;
static char *scratch;
static char src_dir[PATH_MAX], modules_dir[PATH_MAX], cache_dir[PATH_MAX];
static const char *src_dirs[4];
static struct headers_search search;
static struct headers_choice choice;

static void case_setup(void)
{
	case_dir = make_scratch_dir(NULL, "kheaders");
}

static void case_teardown(void)
{
	remove_scratch_dir(case_dir);
	case_dir = NULL;
}

static void setup(void)
{
	scratch = make_scratch_dir(case_dir, "unit");
	pathf(src_dir, "%s/usr/src", scratch);
	pathf(modules_dir, "%s/lib/modules", scratch);
	pathf(cache_dir, "%s/var/cache/deptrace/kernel-trees", scratch);
	make_dirs(src_dir);
	make_dirs(modules_dir);
	src_dirs[0] = src_dir;
	src_dirs[1] = NULL;
	search = (struct headers_search){
		.env_source = NULL,
		.modules_dir = modules_dir,
		.src_dirs = src_dirs,
		.cache_dir = cache_dir,
	};
	memset(&choice, 0x5a, sizeof(choice));
}

static void teardown(void)
{
	remove_scratch_dir(scratch);
	scratch = NULL;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static void assert_file_under(const char *tree, const char *rel)
{
	char path[PATH_MAX];

	pathf(path, "%s/%s", tree, rel);
	ck_assert_msg(is_regular(path), "%s is not reachable", path);
	ck_assert_msg(access(path, R_OK) == 0, "%s is not readable", path);
}

static void read_small_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* Debian's split packages: an arch tree with the generated headers whose
 * Makefile includes the -common tree holding the sources. */
static void make_split_pair(const char *parent, const char *version)
{
	char arch[PATH_MAX], common[PATH_MAX], makefile[PATH_MAX * 2];

	pathf(arch, "%s/linux-headers-%s-amd64", parent, version);
	pathf(common, "%s/linux-headers-%s-common", parent, version);
	snprintf(makefile, sizeof(makefile),
		 "MAKEFLAGS += --no-print-directory\n"
		 "include /usr/src/linux-headers-%s-common/Makefile\n",
		 version);
	write_file(arch, "include/generated/autoconf.h", "#define CONFIG_X86 1\n");
	write_file(arch, "arch/x86/include/generated/asm/gen.h", "/* generated */\n");
	write_file(arch, "Makefile", makefile);
	write_file(common, "include/linux/kconfig.h", "/* kconfig */\n");
	write_file(common, "include/linux/other.h", "/* other */\n");
	write_file(common, "arch/x86/include/asm/x.h", "/* asm */\n");
	write_file(common, "Makefile", "# the common Makefile\n");
}

/* An arch tree whose -common half is not installed. */
static void make_orphan_arch(const char *parent, const char *version)
{
	char arch[PATH_MAX], makefile[PATH_MAX * 2];

	pathf(arch, "%s/linux-headers-%s-amd64", parent, version);
	snprintf(makefile, sizeof(makefile),
		 "include /usr/src/linux-headers-%s-common/Makefile\n", version);
	write_file(arch, "include/generated/autoconf.h", "#define CONFIG_X86 1\n");
	write_file(arch, "Makefile", makefile);
}

START_TEST(test_version_distance)
{
	long d12 = kheaders_version_distance("6.18.44", "6.12.117+deb12-amd64");
	long d1 = kheaders_version_distance("6.18.44", "6.1.0-56-amd64");

	ck_assert_int_ge(d12, 0);
	ck_assert_int_ge(d1, 0);
	ck_assert_int_lt(d12, d1);
	ck_assert_int_eq(kheaders_version_distance("6.12.117", "6.12.117+deb12-amd64"), 0);
	ck_assert_int_eq(kheaders_version_distance("6.1.0-56-amd64", "6.1.0-56-cloud-amd64"), 0);
	/* the release's own suffix does not matter either */
	ck_assert_int_eq(kheaders_version_distance("6.18.44-custom", "6.18.44"), 0);
	/* a nearer minor version beats any patch level */
	ck_assert_int_lt(kheaders_version_distance("6.12.1", "6.12.999"),
			 kheaders_version_distance("6.12.1", "6.11.1"));
	/* and a nearer major beats any minor */
	ck_assert_int_lt(kheaders_version_distance("6.1.0", "6.99.0"),
			 kheaders_version_distance("6.1.0", "5.1.0"));
	/* newer and older count alike */
	ck_assert_int_eq(kheaders_version_distance("6.10.0", "6.12.0"),
			 kheaders_version_distance("6.10.0", "6.8.0"));
	/* two numbers are a version; the patch level is then 0 */
	ck_assert_int_eq(kheaders_version_distance("6.18", "6.18.0"), 0);
}
END_TEST

START_TEST(test_version_distance_garbage)
{
	ck_assert_int_eq(kheaders_version_distance("6.18.44", "common"), -1);
	ck_assert_int_eq(kheaders_version_distance("garbage", "6.18.44"), -1);
	ck_assert_int_eq(kheaders_version_distance("6.18.44", ""), -1);
	ck_assert_int_eq(kheaders_version_distance("6.18.44", "6"), -1);
	ck_assert_int_eq(kheaders_version_distance("6.18.44", "v6.18.44"), -1);
}
END_TEST

START_TEST(test_env_source)
{
	char env[PATH_MAX];

	pathf(env, "%s/kernel-src", scratch);
	write_file(env, "include/linux/kconfig.h", "");
	/* it wins over everything else */
	write_file(modules_dir, RELEASE "/build/include/linux/kconfig.h", "");
	make_split_pair(src_dir, "6.12.117+deb12");
	search.env_source = env;
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(choice.source, HEADERS_ENV);
	ck_assert_str_eq(choice.tree, env);
	ck_assert_str_eq(choice.common_dir, "");
}
END_TEST

START_TEST(test_env_source_without_headers)
{
	char env[PATH_MAX];

	pathf(env, "%s/empty", scratch);
	make_dirs(env);
	/* no fallback when the user named a tree */
	write_file(modules_dir, RELEASE "/build/include/linux/kconfig.h", "");
	search.env_source = env;
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), -ENOENT);
	ck_assert_int_eq(choice.source, HEADERS_ENV);
	ck_assert_str_eq(choice.tree, env);
}
END_TEST

START_TEST(test_modules_build)
{
	char build[PATH_MAX];

	pathf(build, "%s/" RELEASE "/build", modules_dir);
	write_file(build, "include/linux/kconfig.h", "");
	write_file(build, "include/generated/autoconf.h", "");
	make_split_pair(src_dir, "6.12.117+deb12");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(choice.source, HEADERS_MODULES);
	ck_assert_str_eq(choice.tree, build);
	ck_assert_str_eq(choice.common_dir, "");
}
END_TEST

START_TEST(test_modules_other_release_ignored)
{
	write_file(modules_dir, "6.1.0-56-amd64/build/include/linux/kconfig.h", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), -ENOENT);
	ck_assert_int_eq(choice.source, HEADERS_NONE);
}
END_TEST

/* libbcc's rule: with both build/ and source/, the sources are in source/. */
START_TEST(test_modules_build_and_source)
{
	char build[PATH_MAX], source[PATH_MAX];

	pathf(build, "%s/" RELEASE "/build", modules_dir);
	pathf(source, "%s/" RELEASE "/source", modules_dir);
	write_file(build, "include/generated/autoconf.h", "");
	make_dirs(source);
	/* source/ without the sources: not usable, even if build/ had them */
	write_file(build, "include/linux/kconfig.h", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), -ENOENT);
	ck_assert_int_eq(choice.source, HEADERS_NONE);
	write_file(source, "include/linux/kconfig.h", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(choice.source, HEADERS_MODULES);
	ck_assert_str_eq(choice.tree, build);
}
END_TEST

START_TEST(test_debian_split_nearest)
{
	char arch[PATH_MAX], common[PATH_MAX];

	make_split_pair(src_dir, "6.1.0-56");
	make_split_pair(src_dir, "6.12.117+deb12");
	pathf(arch, "%s/" DEB12 "-amd64", src_dir);
	pathf(common, "%s/" DEB12 "-common", src_dir);
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(choice.source, HEADERS_NEAREST);
	ck_assert_str_eq(choice.arch_dir, arch);
	ck_assert_str_eq(choice.common_dir, common);
	ck_assert_str_eq(choice.tree, arch);

	/* an older running kernel picks the older pair */
	ck_assert_int_eq(kheaders_find("6.1.10-local", &search, &choice), 0);
	pathf(arch, "%s/" DEB6_1 "-amd64", src_dir);
	pathf(common, "%s/" DEB6_1 "-common", src_dir);
	ck_assert_str_eq(choice.arch_dir, arch);
	ck_assert_str_eq(choice.common_dir, common);
}
END_TEST

START_TEST(test_missing_common_half_skipped)
{
	char arch[PATH_MAX];

	/* 6.17 is nearer to 6.18 than 6.12 is, but cannot be used */
	make_orphan_arch(src_dir, "6.17.0-1");
	make_split_pair(src_dir, "6.12.117+deb12");
	pathf(arch, "%s/" DEB12 "-amd64", src_dir);
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(choice.source, HEADERS_NEAREST);
	ck_assert_str_eq(choice.arch_dir, arch);
}
END_TEST

START_TEST(test_only_orphan_arch)
{
	make_orphan_arch(src_dir, "6.17.0-1");
	/* a -common half alone is no tree either */
	write_file(src_dir, "linux-headers-6.18.44-common/include/linux/kconfig.h", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), -ENOENT);
	ck_assert_int_eq(choice.source, HEADERS_NONE);
}
END_TEST

/* A self-contained tree (not split) needs no -common half. */
START_TEST(test_whole_tree_nearest)
{
	char whole[PATH_MAX];

	make_split_pair(src_dir, "6.12.117+deb12");
	pathf(whole, "%s/linux-headers-6.18.2-custom", src_dir);
	write_file(whole, "include/generated/autoconf.h", "");
	write_file(whole, "include/linux/kconfig.h", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(choice.source, HEADERS_NEAREST);
	ck_assert_str_eq(choice.arch_dir, whole);
	ck_assert_str_eq(choice.tree, whole);
	ck_assert_str_eq(choice.common_dir, "");
}
END_TEST

/* Every directory of src_dirs is searched; a missing one is no error. */
START_TEST(test_several_src_dirs)
{
	char second[PATH_MAX], missing[PATH_MAX], arch[PATH_MAX];

	pathf(second, "%s/var/cache/deptrace/headers/usr/src", scratch);
	pathf(missing, "%s/nonexistent", scratch);
	make_split_pair(src_dir, "6.1.0-56");
	make_split_pair(second, "6.12.117+deb12");
	src_dirs[0] = missing;
	src_dirs[1] = src_dir;
	src_dirs[2] = second;
	src_dirs[3] = NULL;
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	pathf(arch, "%s/" DEB12 "-amd64", second);
	ck_assert_str_eq(choice.arch_dir, arch);
	pathf(arch, "%s/" DEB12 "-common", second);
	ck_assert_str_eq(choice.common_dir, arch);
}
END_TEST

START_TEST(test_nothing_found)
{
	write_file(src_dir, "linux-headers-garbage/include/generated/autoconf.h", "");
	write_file(src_dir, "linux-headers-garbage/include/linux/kconfig.h", "");
	write_file(src_dir, "linux-kbuild-6.12/Makefile", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), -ENOENT);
	ck_assert_int_eq(choice.source, HEADERS_NONE);
	ck_assert_str_eq(choice.tree, "");
}
END_TEST

static void count_entries(const char *dir, int *n, char *name, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	ck_assert_msg(d != NULL, "opendir %s: %s", dir, strerror(errno));
	*n = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		(*n)++;
		snprintf(name, len, "%s", e->d_name);
	}
	closedir(d);
}

START_TEST(test_prepare_merges_split_tree)
{
	char merged[PATH_MAX], path[PATH_MAX], buf[256], only[NAME_MAX + 1];
	struct stat first, again;
	int n;

	make_split_pair(src_dir, "6.1.0-56");
	make_split_pair(src_dir, "6.12.117+deb12");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(kheaders_prepare(&choice, &search), 0);
	pathf(merged, "%s/" DEB12 "-amd64", cache_dir);
	ck_assert_str_eq(choice.tree, merged);
	ck_assert_int_eq(choice.source, HEADERS_NEAREST);

	assert_file_under(choice.tree, "include/linux/kconfig.h");
	assert_file_under(choice.tree, "include/linux/other.h");
	assert_file_under(choice.tree, "include/generated/autoconf.h");
	assert_file_under(choice.tree, "arch/x86/include/asm/x.h");
	assert_file_under(choice.tree, "arch/x86/include/generated/asm/gen.h");
	/* the arch tree is merged first, so its Makefile is the one seen */
	pathf(path, "%s/Makefile", choice.tree);
	read_small_file(path, buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "include /usr/src/" DEB12 "-common/Makefile"));
	/* nothing but the merged tree is left in the cache */
	count_entries(cache_dir, &n, only, sizeof(only));
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(only, DEB12 "-amd64");
	ck_assert_int_eq(stat(merged, &first), 0);

	/* a second run reuses the tree */
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(kheaders_prepare(&choice, &search), 0);
	ck_assert_str_eq(choice.tree, merged);
	ck_assert_int_eq(stat(merged, &again), 0);
	ck_assert_uint_eq(first.st_ino, again.st_ino);
	count_entries(cache_dir, &n, only, sizeof(only));
	ck_assert_int_eq(n, 1);
}
END_TEST

/* Reuse means no rebuild: a choice whose sources are gone but whose merged
 * tree exists still succeeds, which a rebuild could not. */
START_TEST(test_prepare_reuses_complete_tree)
{
	char merged[PATH_MAX];
	struct headers_choice gone;

	make_split_pair(src_dir, "6.12.117+deb12");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(kheaders_prepare(&choice, &search), 0);
	pathf(merged, "%s/" DEB12 "-amd64", cache_dir);

	memset(&gone, 0, sizeof(gone));
	gone.source = HEADERS_NEAREST;
	pathf(gone.arch_dir, "%s/gone/" DEB12 "-amd64", scratch);
	pathf(gone.common_dir, "%s/gone/" DEB12 "-common", scratch);
	pathf(gone.tree, "%s", gone.arch_dir);
	ck_assert_int_eq(kheaders_prepare(&gone, &search), 0);
	ck_assert_str_eq(gone.tree, merged);

	/* whereas without a merged tree, missing sources are an error */
	pathf(gone.arch_dir, "%s/gone/linux-headers-9.9.9-amd64", scratch);
	pathf(gone.common_dir, "%s/gone/linux-headers-9.9.9-common", scratch);
	ck_assert_int_lt(kheaders_prepare(&gone, &search), 0);
}
END_TEST

START_TEST(test_prepare_leaves_other_choices_alone)
{
	char build[PATH_MAX];

	pathf(build, "%s/" RELEASE "/build", modules_dir);
	write_file(build, "include/linux/kconfig.h", "");
	ck_assert_int_eq(kheaders_find(RELEASE, &search, &choice), 0);
	ck_assert_int_eq(kheaders_prepare(&choice, &search), 0);
	ck_assert_str_eq(choice.tree, build);
	/* no cache directory was made for it */
	ck_assert_int_ne(access(cache_dir, F_OK), 0);
}
END_TEST

START_TEST(test_merge_tree)
{
	char one[PATH_MAX], two[PATH_MAX], dst[PATH_MAX], path[PATH_MAX], buf[64];
	struct stat st;

	pathf(one, "%s/one", scratch);
	pathf(two, "%s/two", scratch);
	pathf(dst, "%s/merged", scratch);
	write_file(one, "a/x", "x from one\n");
	write_file(one, "a/sub/p", "p\n");
	write_file(one, "f", "f from one\n");
	write_file(one, "only-one", "1\n");
	write_file(two, "a/y", "y from two\n");
	write_file(two, "a/sub/q", "q\n");
	write_file(two, "f", "f from two\n");
	write_file(two, "b/z", "z\n");
	make_dirs(dst);

	ck_assert_int_eq(kheaders_merge_tree(one, dst), 0);
	ck_assert_int_eq(kheaders_merge_tree(two, dst), 0);

	assert_file_under(dst, "a/x");
	assert_file_under(dst, "a/y");
	assert_file_under(dst, "a/sub/p");
	assert_file_under(dst, "a/sub/q");
	assert_file_under(dst, "only-one");
	assert_file_under(dst, "b/z");
	pathf(path, "%s/f", dst);
	read_small_file(path, buf, sizeof(buf));
	ck_assert_str_eq(buf, "f from one\n");
	/* the shared directory became a real one; the sources are untouched */
	pathf(path, "%s/a", dst);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	pathf(path, "%s/a/y", one);
	ck_assert_int_ne(access(path, F_OK), 0);
	pathf(path, "%s/a/x", two);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* an unshared directory stays a link */
	pathf(path, "%s/b", dst);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
}
END_TEST

START_TEST(test_merge_tree_missing_source)
{
	char missing[PATH_MAX], dst[PATH_MAX];

	pathf(missing, "%s/missing", scratch);
	pathf(dst, "%s/merged", scratch);
	make_dirs(dst);
	ck_assert_int_eq(kheaders_merge_tree(missing, dst), -ENOENT);
}
END_TEST

static Suite *kheaders_suite(void)
{
	Suite *s = suite_create("kheaders");
	TCase *version = tcase_create("version");
	TCase *find = tcase_create("find");
	TCase *prepare = tcase_create("prepare");

	tcase_add_test(version, test_version_distance);
	tcase_add_test(version, test_version_distance_garbage);
	suite_add_tcase(s, version);

	tcase_add_unchecked_fixture(find, case_setup, case_teardown);
	tcase_add_checked_fixture(find, setup, teardown);
	tcase_add_test(find, test_env_source);
	tcase_add_test(find, test_env_source_without_headers);
	tcase_add_test(find, test_modules_build);
	tcase_add_test(find, test_modules_other_release_ignored);
	tcase_add_test(find, test_modules_build_and_source);
	tcase_add_test(find, test_debian_split_nearest);
	tcase_add_test(find, test_missing_common_half_skipped);
	tcase_add_test(find, test_only_orphan_arch);
	tcase_add_test(find, test_whole_tree_nearest);
	tcase_add_test(find, test_several_src_dirs);
	tcase_add_test(find, test_nothing_found);
	suite_add_tcase(s, find);

	tcase_add_unchecked_fixture(prepare, case_setup, case_teardown);
	tcase_add_checked_fixture(prepare, setup, teardown);
	tcase_add_test(prepare, test_prepare_merges_split_tree);
	tcase_add_test(prepare, test_prepare_reuses_complete_tree);
	tcase_add_test(prepare, test_prepare_leaves_other_choices_alone);
	tcase_add_test(prepare, test_merge_tree);
	tcase_add_test(prepare, test_merge_tree_missing_source);
	suite_add_tcase(s, prepare);
	return s;
}

int main(void)
{
	return run_suite(kheaders_suite());
}
