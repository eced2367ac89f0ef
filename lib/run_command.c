/* run_command: see run_command.h. */
#define _GNU_SOURCE
#include "run_command.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int executable_file(const char *path)
{
	struct stat st;

	if (stat(path, &st))
		return errno == ENOENT || errno == ENOTDIR ? ENOENT : errno;
	if (S_ISDIR(st.st_mode) || access(path, X_OK))
		return EACCES;
	return 0;
}

int resolve_command(const char *name, char *path, size_t len)
{
	const char *search = getenv("PATH");
	int found = ENOENT;

	if (!*name)
		return ENOENT;
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
		if (rc == EACCES)
			found = EACCES;
		search += dirlen + (search[dirlen] == ':');
	}
	return found;
}

int hold_command(const char *path, char *const argv[], struct held_command *cmd)
{
	int release[2], error[2];
	char go;

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
		int exec_errno;

		close(release[1]);
		close(error[0]);
		/* The command gets deptrace's default signal dispositions back. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		if (read(release[0], &go, 1) != 1)
			_exit(127); /* deptrace went away: never run untraced */
		execv(path, argv);
		exec_errno = errno;
		if (write(error[1], &exec_errno, sizeof(exec_errno)) < 0)
			_exit(127);
		_exit(127);
	}
	close(release[0]);
	close(error[1]);
	cmd->release_fd = release[1];
	cmd->error_fd = error[0];
	return 0;
}

int release_command(struct held_command *cmd)
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
	return exec_errno;
}

void abandon_command(struct held_command *cmd)
{
	kill(cmd->pid, SIGKILL);
	if (cmd->release_fd >= 0)
		close(cmd->release_fd);
	if (cmd->error_fd >= 0)
		close(cmd->error_fd);
	waitpid(cmd->pid, NULL, 0);
}

int exit_code_of(int wait_status)
{
	if (WIFSIGNALED(wait_status))
		return 128 + WTERMSIG(wait_status);
	return WEXITSTATUS(wait_status);
}
