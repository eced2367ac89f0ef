/* run_command: see run_command.h. */
#define _GNU_SOURCE
#include "run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	if (S_ISDIR(st.st_mode) || access(path, X_OK))
		return -EACCES;
	return 0;
}

int run_command_resolve(const char *name, char *path, size_t len)
{
	const char *search = getenv("PATH");
	int found = -ENOENT;

	if (!*name)
		return -ENOENT;
	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return executable_file(path);
	}
	if (!search)
		search = "/usr/local/bin:/usr/bin:/bin";
	/* the first executable match wins; a non-executable one is remembered
	 * so that the error says "permission denied", as the shell does */
	while (*search) {
		size_t dirlen = strcspn(search, ":");
		int rc;

		snprintf(path, len, "%.*s%s%s", (int)dirlen, search, dirlen ? "/" : "", name);
		rc = executable_file(path);
		if (rc == 0)
			return 0;
		if (rc == -EACCES)
			found = -EACCES;
		search += dirlen + (search[dirlen] == ':');
	}
	return found;
}

/* A user named by digits that is no user name is a uid (as chown does). */
static struct passwd *find_user(const char *user)
{
	struct passwd *pw = getpwnam(user);
	unsigned long uid;

	if (pw || !*user || strspn(user, "0123456789") != strlen(user))
		return pw;
	errno = 0;
	uid = strtoul(user, NULL, 10);
	return errno || uid != (uid_t)uid ? NULL : getpwuid((uid_t)uid);
}

/* The user's groups as login would set them. getgrouplist says how many
 * there are when the array is too small: grown until they fit. */
static int load_groups(struct run_as *as)
{
	int n = 16;

	for (;;) {
		gid_t *groups = realloc(as->groups, (size_t)n * sizeof(*groups));

		if (!groups)
			return -ENOMEM;
		as->groups = groups;
		as->ngroups = n;
		if (getgrouplist(as->name, as->gid, as->groups, &as->ngroups) >= 0)
			return 0;
		n = as->ngroups > n ? as->ngroups : 2 * n;
	}
}

int run_command_resolve_user(const char *user, struct run_as *as, char *err, size_t errlen)
{
	struct passwd *pw = find_user(user);
	int rc;

	memset(as, 0, sizeof(*as));
	if (!pw) {
		snprintf(err, errlen, "no user \"%s\": check the name (getent passwd %s)", user,
			 user);
		return -ENOENT;
	}
	if (snprintf(as->name, sizeof(as->name), "%s", pw->pw_name) >= (int)sizeof(as->name)) {
		snprintf(err, errlen, "user name too long: %s", pw->pw_name);
		return -ENAMETOOLONG;
	}
	as->uid = pw->pw_uid;
	as->gid = pw->pw_gid;
	rc = load_groups(as);
	if (rc) {
		snprintf(err, errlen, "cannot read the groups of %s: %s", as->name, strerror(-rc));
		run_as_free(as);
	}
	return rc;
}

void run_as_free(struct run_as *as)
{
	free(as->groups);
	as->groups = NULL;
	as->ngroups = 0;
}

/* Groups first, uid last: once the uid is not root's, the rest is no
 * longer allowed. Each is checked, as a setuid that silently did not
 * happen would run the command as root. 0 or errno. */
static int become(const struct run_as *as)
{
	if (setgroups((size_t)as->ngroups, as->groups) || setgid(as->gid) || setuid(as->uid))
		return errno;
	if (getuid() != as->uid || geteuid() != as->uid || getgid() != as->gid ||
	    getegid() != as->gid)
		return EPERM;
	return 0;
}

/* The child: waits for the release byte, takes the user, executes. Any
 * failure goes to `error_fd` as an errno. */
static void __attribute__((noreturn))
run_held(const char *path, char *const argv[], const struct run_as *as, int release_fd,
	 int error_fd)
{
	int err;
	char go;

	/* The command gets deptrace's default signal dispositions back. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (read(release_fd, &go, 1) != 1)
		_exit(127); /* deptrace went away: never run untraced */
	/* The user is taken only now: until released, the child does nothing,
	 * and a failure is then reported like a failed exec. */
	err = as ? become(as) : 0;
	if (!err) {
		execv(path, argv);
		err = errno;
	}
	if (write(error_fd, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int run_command_hold(const char *path, char *const argv[], const struct run_as *as,
		     struct held_command *cmd)
{
	int release[2], error[2];

	if (pipe2(release, O_CLOEXEC))
		return -errno;
	if (pipe2(error, O_CLOEXEC)) {
		int err = -errno;

		close(release[0]);
		close(release[1]);
		return err;
	}
	cmd->pid = fork();
	if (cmd->pid < 0) {
		int err = -errno;

		close(release[0]);
		close(release[1]);
		close(error[0]);
		close(error[1]);
		return err;
	}
	if (cmd->pid == 0) {
		close(release[1]);
		close(error[0]);
		run_held(path, argv, as, release[0], error[1]);
	}
	close(release[0]);
	close(error[1]);
	cmd->release_fd = release[1];
	cmd->error_fd = error[0];
	return 0;
}

int run_command_release(struct held_command *cmd)
{
	int exec_errno = 0;
	ssize_t n;

	/* A child that died already shows up as EOF here and in waitpid later. */
	n = write(cmd->release_fd, "", 1);
	close(cmd->release_fd);
	cmd->release_fd = -1;
	do
		n = read(cmd->error_fd, &exec_errno, sizeof(exec_errno));
	while (n < 0 && errno == EINTR);
	close(cmd->error_fd);
	cmd->error_fd = -1;
	if (n != (ssize_t)sizeof(exec_errno))
		return 0;
	waitpid(cmd->pid, NULL, 0);
	return -exec_errno;
}

int run_command_exit_fd(pid_t pid)
{
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -1 : fd;
#else
	(void)pid;
	return -1;
#endif
}

void run_command_abandon(struct held_command *cmd)
{
	kill(cmd->pid, SIGKILL);
	if (cmd->release_fd >= 0)
		close(cmd->release_fd);
	if (cmd->error_fd >= 0)
		close(cmd->error_fd);
	waitpid(cmd->pid, NULL, 0);
}

int run_command_exit_code(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}
