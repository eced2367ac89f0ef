/* run_command: starting the traced command, and reporting how it ended.
 *
 * The command is forked first and held before exec until tracing is
 * attached and its PID is in the traced map, so that nothing it does is
 * missed; an exec failure comes back through a close-on-exec pipe.
 */
#ifndef DEPTRACE_RUN_COMMAND_H
#define DEPTRACE_RUN_COMMAND_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

struct held_command {
	pid_t pid;
	int release_fd; /* write end: a byte lets the child exec; EOF kills it */
	int error_fd;   /* read end: the exec errno, or EOF once exec succeeded */
};

/* Finds the program `name` names, as execvp(3) would: a name with a '/' is
 * a path, others are looked up in $PATH. 0 with the path in `path`, or
 * -ENOENT / -EACCES (found, but not executable). Done before any set-up, so
 * that a typo fails at once. */
int run_command_resolve(const char *name, char *path, size_t len);

/* The user a command runs as (-u USER): deptrace keeps root for itself. */
struct run_as {
	uid_t uid;
	gid_t gid;      /* the user's primary group */
	gid_t *groups;  /* supplementary groups, as at login (getgrouplist) */
	int ngroups;
	char name[LOGIN_NAME_MAX];
};

/* Looks USER up by name, or else as a numeric uid, in the user database
 * (which may be NSS, so done before any fork). 0, or -ENOENT for no such
 * user, other -errno; a message in `err` either way. run_as_free() frees
 * what it holds. */
int run_command_resolve_user(const char *user, struct run_as *as, char *err, size_t errlen);
void run_as_free(struct run_as *as);

/* Forks a child that waits, then executes `path` with argv, as `as` if not
 * NULL: once released it takes the groups, the gid and the uid, in that
 * order (as `strace -u` does; the environment stays deptrace's, HOME and
 * USER included), so that the command starts without deptrace's
 * privileges. A failure to change user is reported by run_command_release
 * like a failed exec. 0 or -errno. */
int run_command_hold(const char *path, char *const argv[], const struct run_as *as,
		     struct held_command *cmd);

/* Lets the child exec. Returns 0 once it has, or -errno of the failed exec
 * or change of user (-EPERM: not allowed to become the user; -EACCES: the
 * user cannot execute `path`); the child is then reaped. */
int run_command_release(struct held_command *cmd);

/* Kills and reaps a held child that will not be released. */
void run_command_abandon(struct held_command *cmd);

/* A descriptor of the child `pid` that poll(2) finds readable once it has
 * exited (a pidfd), for the caller to close; -1 where the kernel has none
 * (before 5.3). */
int run_command_exit_fd(pid_t pid);

/* The shell's convention: the exit status, or 128 + the killing signal. */
int run_command_exit_code(int wait_status);

#endif
