/* proctree: the traced process tree, as /proc shows it at start and as
 * fork and exec records grow it afterwards.
 *
 * /proc is walked once, at start, to find the processes that already
 * descend from the targets; later forks are followed in the kernel. The
 * process table remembers, for every traced process, its parent, name,
 * executable and a bounded argv, so that a connection can be attributed to
 * a program and its chain of parents even after the process is gone.
 * `proc_root` is "/proc" except in tests, which build fake trees.
 */
#ifndef DEPTRACE_PROCTREE_H
#define DEPTRACE_PROCTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROC_COMM_LEN 16
#define PROC_EXE_LEN 128
#define PROC_ARGS_LEN 256

struct proc_link {
	pid_t pid;
	pid_t ppid;
};

/* The parent of process `pid`, read from PROC_ROOT/PID/stat. 0 or -errno. */
int proctree_read_ppid(const char *proc_root, pid_t pid, pid_t *ppid);

/* Whether process `pid` still runs: it exists, is not a zombie and has not
 * begun to exit (whose exit the kernel may already have reported). */
bool proctree_process_alive(const char *proc_root, pid_t pid);

/* Whether process `pid` is in its exit: it has begun (PF_EXITING) and is
 * not yet a zombie, so that the files it held may not be closed yet. */
bool proctree_process_exiting(const char *proc_root, pid_t pid);

/* Every process below `roots` (children, grandchildren, ...), each with its
 * parent, in no particular order; the roots themselves are not included.
 * The caller frees *links. 0 or -errno. */
int proctree_list_descendants(const char *proc_root, const pid_t *roots, size_t nroots,
			      struct proc_link **links, size_t *count);

struct proc_info {
	pid_t pid;
	pid_t ppid;
	bool root;                 /* a target, where parent chains stop */
	bool program;              /* runs a program of its own (it exec'd, or
				      was found running), not a fork still
				      running its parent's */
	bool args_unread;          /* it ended before its argv was read */
	char comm[PROC_COMM_LEN];
	char exe[PROC_EXE_LEN];    /* the executable, resolved (PROC_ROOT/PID/exe);
				      "" if unknown */
	char script[PROC_EXE_LEN]; /* the script an interpreter runs, resolved;
				      "" if none */
	char args[PROC_ARGS_LEN];  /* argv joined by spaces, "" if unknown */
	uint64_t names_since;      /* the name table's mark when it was forked
				      (names.h): its own answers are those
				      from then on, its parent's before */
};

struct proc_table;

struct proc_table *proc_table_new(void);
void proc_table_free(struct proc_table *table);

/* The entry for `pid`, created empty (pid set) if new; NULL if out of
 * memory. A PID reused after its process exited gets the same entry: fork
 * and exec records overwrite what matters. */
struct proc_info *proc_table_get(struct proc_table *table, pid_t pid);
const struct proc_info *proc_table_find(const struct proc_table *table, pid_t pid);

/* Fills comm, exe, script and args of `info` from PROC_ROOT/PID. 0 or
 * -errno. */
int proc_info_load(const char *proc_root, struct proc_info *info);

/* The program process `pid` runs: `exe`, the executable the kernel
 * resolved (PROC_ROOT/PID/exe), and `script`, the script an interpreter
 * runs, or "": `path` (the file exec was asked to run, or NULL) or else
 * argv[1] or argv[2] (after one interpreter option, as a "#!" line may
 * give), the first that names a file starting with "#!"; relative paths
 * are resolved in the process's working directory. With `comm`, the
 * process must still be named so (one that has run another program since
 * is -ESRCH). 0, or -errno (exe unknown; script still filled where the
 * file could be found). */
int proctree_read_program(const char *proc_root, pid_t pid, const char *comm, const char *path,
			  const char *const *argv, size_t argc, char exe[PROC_EXE_LEN],
			  char script[PROC_EXE_LEN]);

/* The arguments of process `pid` as PROC_ROOT/PID/cmdline holds them
 * (NUL-separated, at most len - 1 bytes kept), provided its name is still
 * `comm`: one that has run another program since has that program's
 * arguments. The byte count, or -errno (-ESRCH: another program now). */
ssize_t proctree_read_cmdline(const char *proc_root, pid_t pid, const char *comm,
			      char *buf, size_t len);

/* Fills args alone, from PROC_ROOT/PID/cmdline (argv joined by spaces, cut
 * at PROC_ARGS_LEN) while the process still runs the program named
 * info->comm (proctree_read_cmdline); leaves them as they were otherwise.
 * 0 or -errno (-ENOENT: no argv). */
int proc_info_load_args(const char *proc_root, struct proc_info *info);

/* "deploy.sh > migrate > curl": names from the traced root down to `pid`
 * (at most 16 deep); just the process's own name when its parents are
 * unknown. */
void proc_chain(const struct proc_table *table, pid_t pid, char *buf, size_t len);

#endif
