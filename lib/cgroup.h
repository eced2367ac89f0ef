/* cgroup: the cgroup v2 an enforced command runs in, and its guard.
 *
 * Enforcement attaches cgroup programs (tracer.h) to one cgroup: in run
 * mode, one deptrace makes for the command, `deptrace-PID` at the top of the
 * cgroup v2 hierarchy, wherever /proc/mounts says that is
 * (/sys/fs/cgroup, or /sys/fs/cgroup/unified in a hybrid layout).
 *
 * The programs are attached through bpf_links, which end with their last
 * file descriptor. The guard is a small process forked once they are
 * attached, holding copies of the links and nothing else: when deptrace
 * ends normally it tells the guard, which just exits; if deptrace dies
 * without a word (SIGKILL), the guard keeps the policy in force until the
 * cgroup is empty, then removes the cgroup deptrace made and exits. So the
 * command and its policy end together, and a later run finds nothing left.
 */
#ifndef DEPTRACE_CGROUP_H
#define DEPTRACE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CGROUP_PATH_LEN 4096

/* Where cgroup2 is mounted, from a mounts table ("/proc/mounts").
 * 0, or -ENOENT when cgroup v2 is not mounted. */
int cgroup2_mount_point(const char *mounts_path, char *dir, size_t len);

#define CGROUP2_PRIVATE_DIR "/sys/fs/cgroup"

/* For a mount namespace without cgroup v2 (`ip netns exec` mounts a fresh
 * /sys): moves this process into a mount namespace of its own, whose
 * mounts do not propagate back, and mounts cgroup2 at CGROUP2_PRIVATE_DIR
 * there, into `dir`. What it forks afterwards (the command, the guard)
 * shares that namespace; the mount ends with the last of them. 0 or
 * -errno (-EINVAL when this process has threads already). */
int cgroup2_mount_private(char *dir, size_t len);

struct enforced_cgroup {
	char path[CGROUP_PATH_LEN];
	int dir_fd;    /* O_DIRECTORY: what programs are attached to */
	bool created;  /* made by this run: removed at the end */
};

/* Makes `mount`/deptrace-PID (PID: this process). 0 or -errno. */
int cgroup_create(const char *mount, struct enforced_cgroup *cg);

/* Uses an existing cgroup (--cgroup PATH): checks it is a directory of a
 * cgroup v2 mount. 0, or -errno (-ENOTDIR / -EMEDIUMTYPE when it is not a
 * cgroup v2 directory). */
int cgroup_open_existing(const char *path, struct enforced_cgroup *cg);

/* Moves process `pid` into the cgroup. 0 or -errno. */
int cgroup_add_process(const struct enforced_cgroup *cg, pid_t pid);

/* Ends the cgroup this run made: processes still in it (a daemon the
 * command left behind) are moved back to deptrace's own cgroup, their
 * count returned in `*moved`, and the directory removed. An existing
 * cgroup is only closed. 0 or -errno. */
int cgroup_release(struct enforced_cgroup *cg, unsigned *moved);

/* Removes deptrace-PID cgroups under `mount` left by runs whose deptrace
 * and guard are both gone (both SIGKILLed). Empty ones are removed; one
 * that still holds processes is reported in `busy` (its path, if any) and
 * left alone. Returns how many were removed. */
int cgroup_remove_stale(const char *mount, char *busy, size_t busylen);

struct cgroup_guard {
	pid_t pid;
	int control_fd; /* write end: a byte means "deptrace is done" */
};

/* Forks the guard. It keeps only the file descriptors in keep_fds (the
 * links), ignores job-control and termination signals, and waits: a byte
 * on the control pipe ends it at once; EOF (deptrace died) makes it wait
 * until `cg` is empty, remove it if cg->created, and exit. 0 or -errno.
 * It runs in a session of its own, so that what kills deptrace's process
 * group (`kill -9 -PGID`, `timeout`) leaves it: only a SIGKILL sent to the
 * guard itself ends it early, and with it the policy, should deptrace be
 * gone too. It is forked from deptrace, so it is not in `cg`. */
int cgroup_guard_start(const struct enforced_cgroup *cg, const int *keep_fds,
		       size_t nkeep, struct cgroup_guard *guard);

/* Tells the guard deptrace is done, and reaps it. */
void cgroup_guard_stop(struct cgroup_guard *guard);

#endif
