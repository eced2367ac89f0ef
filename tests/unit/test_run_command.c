/* Unit tests for lib/run_command.h, with real children. */
#include "testutil.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "run_command.h"

static char *case_dir; /* made by the runner process, removed even on failure */
static char *scratch;

static void case_setup(void)
{
	case_dir = make_scratch_dir(NULL, "run_command");
}

static void case_teardown(void)
{
	remove_scratch_dir(case_dir);
	case_dir = NULL;
}

static void setup(void)
{
	scratch = make_scratch_dir(case_dir, "unit");
}

static void teardown(void)
{
	remove_scratch_dir(scratch);
	scratch = NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int wait_for(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* The child is gone and reaped: nothing left to wait for. */
static void assert_reaped(pid_t pid)
{
	errno = 0;
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

/* Holds argv[0], resolved through PATH when it can be; otherwise exec'd
 * as given, so that the exec failure itself is what is tested. */
static void hold(char *const argv[], struct held_command *cmd)
{
	char path[PATH_MAX];

	if (resolve_command(argv[0], path, sizeof(path)))
		snprintf(path, sizeof(path), "%s", argv[0]);
	memset(cmd, 0xff, sizeof(*cmd));
	ck_assert_int_eq(hold_command(path, argv, cmd), 0);
	ck_assert_int_gt(cmd->pid, 0);
	ck_assert_int_ge(cmd->release_fd, 0);
	ck_assert_int_ge(cmd->error_fd, 0);
}

START_TEST(test_true)
{
	char *argv[] = { "true", NULL };
	struct held_command cmd;
	int status;

	hold(argv, &cmd);
	ck_assert_int_eq(release_command(&cmd), 0);
	ck_assert_int_eq(cmd.release_fd, -1);
	ck_assert_int_eq(cmd.error_fd, -1);
	status = wait_for(cmd.pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(test_held_until_released)
{
	char marker[PATH_MAX], script[PATH_MAX + 32];
	char *argv[] = { "sh", "-c", script, NULL };
	struct held_command cmd;
	int status;

	pathf(marker, "%s/ran", scratch);
	snprintf(script, sizeof(script), "echo ran > '%s'; exit 3", marker);
	hold(argv, &cmd);
	sleep_ms(200);
	ck_assert_int_eq(waitpid(cmd.pid, NULL, WNOHANG), 0); /* still waiting */
	ck_assert_int_ne(access(marker, F_OK), 0);            /* has not run */
	ck_assert_int_eq(release_command(&cmd), 0);
	status = wait_for(cmd.pid);
	ck_assert_int_eq(access(marker, F_OK), 0);
	ck_assert_int_eq(exit_code_of(status), 3);
}
END_TEST

START_TEST(test_nonexistent_path)
{
	char *argv[] = { "/nonexistent/xyz", NULL };
	struct held_command cmd;

	hold(argv, &cmd);
	ck_assert_int_eq(release_command(&cmd), ENOENT);
	assert_reaped(cmd.pid);
}
END_TEST

START_TEST(test_not_in_path)
{
	char path[PATH_MAX];

	ck_assert_int_eq(resolve_command("deptrace-no-such-command-7f3a", path, sizeof(path)),
			 ENOENT);
	ck_assert_int_eq(resolve_command("", path, sizeof(path)), ENOENT);
	ck_assert_int_eq(resolve_command("/nonexistent/xyz", path, sizeof(path)), ENOENT);
}
END_TEST

START_TEST(test_resolve_in_path)
{
	char path[PATH_MAX];
	const char *slash;

	ck_assert_int_eq(resolve_command("true", path, sizeof(path)), 0);
	slash = strrchr(path, '/');
	ck_assert_ptr_nonnull(slash);
	ck_assert_str_eq(slash, "/true");
	ck_assert_int_eq(access(path, X_OK), 0);
}
END_TEST

START_TEST(test_resolve_not_executable)
{
	char path[PATH_MAX], found[PATH_MAX];

	pathf(path, "%s/plain.txt", scratch);
	write_file(scratch, "plain.txt", "data\n");
	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(resolve_command(path, found, sizeof(found)), EACCES);
	ck_assert_int_eq(resolve_command(scratch, found, sizeof(found)), EACCES); /* a directory */
}
END_TEST

/* EACCES even for root: exec needs an execute bit. */
START_TEST(test_not_executable)
{
	char path[PATH_MAX];
	char *argv[] = { path, NULL };
	struct held_command cmd;

	pathf(path, "%s/script.sh", scratch);
	write_file(scratch, "script.sh", "#!/bin/sh\nexit 0\n");
	ck_assert_int_eq(chmod(path, 0644), 0);
	hold(argv, &cmd);
	ck_assert_int_eq(release_command(&cmd), EACCES);
	assert_reaped(cmd.pid);
}
END_TEST

START_TEST(test_directory)
{
	char *argv[] = { scratch, NULL };
	struct held_command cmd;

	hold(argv, &cmd);
	ck_assert_int_eq(release_command(&cmd), EACCES);
	assert_reaped(cmd.pid);
}
END_TEST

START_TEST(test_abandon)
{
	char marker[PATH_MAX], script[PATH_MAX + 32];
	char *argv[] = { "sh", "-c", script, NULL };
	struct held_command cmd;

	pathf(marker, "%s/ran", scratch);
	snprintf(script, sizeof(script), "echo ran > '%s'", marker);
	hold(argv, &cmd);
	abandon_command(&cmd);
	/* no zombie, nor any other child, is left */
	errno = 0;
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	/* and the command never ran */
	sleep_ms(100);
	ck_assert_int_ne(access(marker, F_OK), 0);
}
END_TEST

/* The wait status of a real child that exits with `exit_with`, or that is
 * killed by signal `kill_with` if that is not 0. */
static int status_of_child(int exit_with, int kill_with)
{
	int ready[2];
	char byte;
	pid_t pid;

	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!kill_with)
			_exit(exit_with);
		/* not the handlers of Check's runner, which signal the test */
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		alarm(10); /* gone soon even if the test fails before killing it */
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (kill_with) {
		ck_assert_int_eq(read(ready[0], &byte, 1), 1);
		ck_assert_int_eq(kill(pid, kill_with), 0);
	}
	close(ready[0]);
	return wait_for(pid);
}

START_TEST(test_exit_code_of)
{
	ck_assert_int_eq(exit_code_of(status_of_child(3, 0)), 3);
	ck_assert_int_eq(exit_code_of(status_of_child(0, 0)), 0);
	ck_assert_int_eq(exit_code_of(status_of_child(255, 0)), 255);
	ck_assert_int_eq(exit_code_of(status_of_child(0, SIGKILL)), 137);
	ck_assert_int_eq(exit_code_of(status_of_child(0, SIGTERM)), 143);
}
END_TEST

static Suite *run_command_suite(void)
{
	Suite *s = suite_create("run_command");
	TCase *tc = tcase_create("run_command");

	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_true);
	tcase_add_test(tc, test_held_until_released);
	tcase_add_test(tc, test_nonexistent_path);
	tcase_add_test(tc, test_not_in_path);
	tcase_add_test(tc, test_resolve_in_path);
	tcase_add_test(tc, test_resolve_not_executable);
	tcase_add_test(tc, test_not_executable);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_abandon);
	tcase_add_test(tc, test_exit_code_of);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(run_command_suite());
}
