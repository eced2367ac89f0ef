/* proctree: the process tree as /proc shows it.
 *
 * Used once, at start, to find the processes that already descend from the
 * targets; later forks are followed in the kernel. `proc_root` is "/proc"
 * except in tests, which build fake trees.
 */
#ifndef DEPTRACE_PROCTREE_H
#define DEPTRACE_PROCTREE_H

#include <stddef.h>
#include <sys/types.h>

struct proc_link {
	pid_t pid;
	pid_t ppid;
};

/* The parent of process `pid`, read from PROC_ROOT/PID/stat. 0 or -errno. */
int read_ppid(const char *proc_root, pid_t pid, pid_t *ppid);

/* Every process below `roots` (children, grandchildren, ...), each with its
 * parent, in no particular order; the roots themselves are not included.
 * The caller frees *links. 0 or -errno. */
int list_descendants(const char *proc_root, const pid_t *roots, size_t nroots,
		     struct proc_link **links, size_t *count);

#endif
