/* kheaders: where libbcc's clang finds kernel headers.
 *
 * libbcc looks only at $BCC_KERNEL_SOURCE and /lib/modules/$(uname -r)/build.
 * When neither has headers (a custom kernel, a VM), deptrace picks the
 * installed linux-headers tree closest in version to the running kernel and,
 * for Debian's split packages (an arch tree with generated headers beside a
 * -common tree with the sources), presents the two as one tree of symlinks in
 * a cache directory. The eBPF text uses only UAPI types, helpers and
 * tracepoint fields, so headers of a nearby version are safe.
 */
#ifndef DEPTRACE_KHEADERS_H
#define DEPTRACE_KHEADERS_H

#include <limits.h>
#include <stddef.h>

enum headers_source {
	HEADERS_NONE = 0,
	HEADERS_ENV,      /* $BCC_KERNEL_SOURCE */
	HEADERS_MODULES,  /* /lib/modules/RELEASE/build */
	HEADERS_NEAREST,  /* an installed linux-headers tree of another version */
};

/* Where to look; the defaults are the real system, tests pass fake trees. */
struct headers_search {
	const char *env_source;        /* value of $BCC_KERNEL_SOURCE or NULL */
	const char *modules_dir;       /* /lib/modules */
	const char *const *src_dirs;   /* NULL-terminated: /usr/src, ... */
	const char *cache_dir;         /* where merged trees are made */
};

struct headers_choice {
	enum headers_source source;
	char tree[PATH_MAX];     /* what libbcc will read */
	char arch_dir[PATH_MAX]; /* HEADERS_NEAREST: the tree chosen */
	char common_dir[PATH_MAX]; /* HEADERS_NEAREST: its -common half, or "" */
};

extern const char *const kheaders_default_src_dirs[];
void kheaders_default_search(struct headers_search *search);

/* Chooses headers for kernel `release`; no side effects. 0 or -ENOENT. */
int kheaders_find(const char *release, const struct headers_search *search,
		  struct headers_choice *choice);

/* Makes choice->tree usable: for a split tree, builds the merged tree
 * under search->cache_dir. 0 or -errno. */
int kheaders_prepare(struct headers_choice *choice, const struct headers_search *search);

/* The whole choice for kernel `release` on this system: kheaders_find
 * then kheaders_prepare with the default search. 0, or -errno with
 * a one-line reason and what to do in `err`. */
int kheaders_choose(const char *release, struct headers_choice *choice, char *err,
		    size_t errlen);

/* Symlinks every entry of `src` into `dst`, descending where both have a
 * directory of the same name, so that `dst` shows the union of the trees
 * merged into it (the first one merged wins a clash). 0 or -errno. */
int kheaders_merge_tree(const char *src, const char *dst);

/* How far version string `candidate` is from `release` ("6.12.117+deb12-amd64"
 * against "6.18.44"); smaller is nearer, -1 if not a version. */
long kheaders_version_distance(const char *release, const char *candidate);

const char *kheaders_source_name(enum headers_source source);

#endif
