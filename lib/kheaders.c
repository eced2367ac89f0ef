/* kheaders: see kheaders.h. */
#define _GNU_SOURCE
#include "kheaders.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KCONFIG_H "/include/linux/kconfig.h"
#define AUTOCONF_H "/include/generated/autoconf.h"
#define HEADERS_PREFIX "linux-headers-"

const char *const kheaders_default_src_dirs[] = {
	"/usr/src",
	"/var/cache/deptrace/headers/usr/src", /* where scripts/setup-deps extracts */
	NULL,
};

void kheaders_default_search(struct headers_search *search)
{
	const char *env = getenv("BCC_KERNEL_SOURCE");

	search->env_source = env && *env ? env : NULL;
	search->modules_dir = "/lib/modules";
	search->src_dirs = kheaders_default_src_dirs;
	search->cache_dir = "/var/cache/deptrace/kernel-trees";
}

const char *kheaders_source_name(enum headers_source source)
{
	switch (source) {
	case HEADERS_ENV: return "BCC_KERNEL_SOURCE";
	case HEADERS_MODULES: return "/lib/modules";
	case HEADERS_NEAREST: return "nearest installed linux-headers";
	case HEADERS_NONE: break;
	}
	return "none";
}

static int has_file(const char *dir, const char *suffix)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s%s", dir, suffix) >= (int)sizeof(path))
		return 0;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void copy_path(char *dst, const char *src)
{
	snprintf(dst, PATH_MAX, "%s", src);
}

/* Parses "6.12.117..." into three numbers; the patch level may be absent. */
static int parse_version(const char *s, long v[3])
{
	char *end;

	v[0] = v[1] = v[2] = 0;
	for (int i = 0; i < 3; i++) {
		if (*s < '0' || *s > '9')
			return i >= 2 ? 0 : -1;
		v[i] = strtol(s, &end, 10);
		s = end;
		if (*s != '.')
			return i >= 1 ? 0 : -1;
		s++;
	}
	return 0;
}

long kheaders_version_distance(const char *release, const char *candidate)
{
	long want[3], have[3], patch;

	if (parse_version(release, want) || parse_version(candidate, have))
		return -1;
	patch = labs(want[2] - have[2]);
	return labs(want[0] - have[0]) * 1000000 + labs(want[1] - have[1]) * 1000 +
	       (patch > 999 ? 999 : patch);
}

/* Debian's arch tree names its -common half in its Makefile:
 * "include /usr/src/linux-headers-X-common/Makefile". The half is looked
 * for beside the arch tree, which may have been extracted elsewhere. */
static int find_common_half(const char *parent, const char *arch_dir,
			    char common[PATH_MAX])
{
	char makefile[PATH_MAX], line[PATH_MAX], name[PATH_MAX];
	FILE *f;
	int found = 0;

	snprintf(makefile, sizeof(makefile), "%s/Makefile", arch_dir);
	f = fopen(makefile, "r");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *start = strstr(line, HEADERS_PREFIX), *end;

		if (strncmp(line, "include ", 8) || !start)
			continue;
		end = strchr(start, '/');
		if (!end || end - start >= (long)sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(end - start), start);
		snprintf(common, PATH_MAX, "%s/%s", parent, name);
		found = has_file(common, KCONFIG_H);
	}
	fclose(f);
	return found;
}

/* Considers one /usr/src/linux-headers-* entry; keeps it if nearer. */
static void consider_tree(const char *release, const char *parent,
			  const char *name, long *best,
			  struct headers_choice *choice)
{
	char dir[PATH_MAX], common[PATH_MAX] = "";
	long distance;

	if (snprintf(dir, sizeof(dir), "%s/%s", parent, name) >= (int)sizeof(dir))
		return;
	if (!has_file(dir, AUTOCONF_H))
		return; /* a -common half, or not a usable tree */
	if (!has_file(dir, KCONFIG_H) && !find_common_half(parent, dir, common))
		return;
	distance = kheaders_version_distance(release, name + strlen(HEADERS_PREFIX));
	if (distance < 0)
		return;
	if (*best >= 0 && (distance > *best ||
			   (distance == *best && strcmp(dir, choice->arch_dir) >= 0)))
		return;
	*best = distance;
	choice->source = HEADERS_NEAREST;
	copy_path(choice->arch_dir, dir);
	copy_path(choice->common_dir, common);
	copy_path(choice->tree, dir);
}

int kheaders_find(const char *release, const struct headers_search *search,
		  struct headers_choice *choice)
{
	char kdir[PATH_MAX], build[PATH_MAX], source[PATH_MAX];
	long best = -1;

	memset(choice, 0, sizeof(*choice));
	if (search->env_source) {
		choice->source = HEADERS_ENV;
		copy_path(choice->tree, search->env_source);
		return has_file(choice->tree, KCONFIG_H) ? 0 : -ENOENT;
	}

	/* libbcc's own rule: build/ and source/ together mean a split tree */
	snprintf(kdir, sizeof(kdir), "%s/%s", search->modules_dir, release);
	snprintf(build, sizeof(build), "%s/build", kdir);
	snprintf(source, sizeof(source), "%s/source", kdir);
	if (is_dir(build) && is_dir(source) ? has_file(source, KCONFIG_H)
					    : has_file(build, KCONFIG_H)) {
		choice->source = HEADERS_MODULES;
		copy_path(choice->tree, build);
		return 0;
	}

	for (const char *const *parent = search->src_dirs; parent && *parent; parent++) {
		DIR *d = opendir(*parent);
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, HEADERS_PREFIX, strlen(HEADERS_PREFIX)))
				consider_tree(release, *parent, e->d_name, &best, choice);
		closedir(d);
	}
	return choice->source == HEADERS_NONE ? -ENOENT : 0;
}

static int link_entry(const char *src, const char *dst);

int kheaders_merge_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (e = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(s, sizeof(s), "%s/%s", src, e->d_name) >= (int)sizeof(s) ||
		    snprintf(t, sizeof(t), "%s/%s", dst, e->d_name) >= (int)sizeof(t))
			err = -ENAMETOOLONG;
		else
			err = link_entry(s, t);
	}
	closedir(d);
	return err;
}

/* Places src at dst: a symlink where dst is free; where both are
 * directories, a real directory holding the union of the two. */
static int link_entry(const char *src, const char *dst)
{
	char earlier[PATH_MAX];
	struct stat st;
	ssize_t len;
	int err;

	if (lstat(dst, &st) != 0)
		return symlink(src, dst) ? -errno : 0;
	if (!is_dir(src) || !is_dir(dst))
		return 0; /* a clash of files: the first merged wins */
	if (S_ISLNK(st.st_mode)) {
		/* a directory linked by an earlier merge: make it real */
		len = readlink(dst, earlier, sizeof(earlier) - 1);
		if (len < 0)
			return -errno;
		earlier[len] = '\0';
		if (unlink(dst) || mkdir(dst, 0755))
			return -errno;
		err = kheaders_merge_tree(earlier, dst);
		if (err)
			return err;
	}
	return kheaders_merge_tree(src, dst);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	return remove(path);
}

static int make_dirs(const char *path)
{
	char partial[PATH_MAX];

	copy_path(partial, path);
	for (char *slash = partial + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		if (mkdir(partial, 0755) && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	return mkdir(partial, 0755) && errno != EEXIST ? -errno : 0;
}

static int merged_tree_complete(const char *tree)
{
	return has_file(tree, KCONFIG_H) && has_file(tree, AUTOCONF_H);
}

int kheaders_prepare(struct headers_choice *choice, const struct headers_search *search)
{
	char merged[PATH_MAX], staging[PATH_MAX];
	const char *name;
	int err;

	if (choice->source != HEADERS_NEAREST || !choice->common_dir[0])
		return 0;
	name = strrchr(choice->arch_dir, '/');
	name = name ? name + 1 : choice->arch_dir;
	snprintf(merged, sizeof(merged), "%s/%s", search->cache_dir, name);
	if (!merged_tree_complete(merged)) {
		/* built aside and renamed, so a concurrent run sees all or nothing */
		snprintf(staging, sizeof(staging), "%s.%d", merged, (int)getpid());
		err = make_dirs(search->cache_dir);
		if (err)
			return err;
		if (mkdir(staging, 0755))
			return -errno;
		err = kheaders_merge_tree(choice->arch_dir, staging);
		if (!err)
			err = kheaders_merge_tree(choice->common_dir, staging);
		/* an incomplete tree left by an interrupted run is replaced */
		if (!merged_tree_complete(merged))
			nftw(merged, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (!err && rename(staging, merged)) {
			err = -errno;
			if (merged_tree_complete(merged))
				err = 0; /* a concurrent run finished first */
		}
		nftw(staging, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		if (err)
			return err;
	}
	copy_path(choice->tree, merged);
	return 0;
}

int kheaders_choose(const char *release, struct headers_choice *choice, char *err,
		    size_t errlen)
{
	struct headers_search search;
	int rc;

	kheaders_default_search(&search);
	rc = kheaders_find(release, &search, choice);
	if (rc) {
		if (choice->source == HEADERS_ENV)
			snprintf(err, errlen,
				 "BCC_KERNEL_SOURCE=%s holds no kernel headers (no include/linux/kconfig.h): fix or unset it",
				 choice->tree);
		else
			snprintf(err, errlen,
				 "no kernel headers for %s: run scripts/setup-deps, install a linux-headers package, or set BCC_KERNEL_SOURCE",
				 release);
		return rc;
	}
	rc = kheaders_prepare(choice, &search);
	if (rc)
		snprintf(err, errlen, "cannot merge kernel headers %s into %s: %s", choice->arch_dir,
			 search.cache_dir, strerror(-rc));
	return rc;
}
