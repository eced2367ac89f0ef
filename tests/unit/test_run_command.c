/* Unit tests for lib/run_command.h, with real children. */
#include "testutil.h"

#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/wait.h>

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

/* Holds argv[0] (as `as`, if not NULL), resolved through PATH when it can
 * be; otherwise exec'd as given, so that the exec failure itself is what
 * is tested. */
static void hold(char *const argv[], const struct run_as *as, struct held_command *cmd)
{
	char path[PATH_MAX];

	if (run_command_resolve(argv[0], path, sizeof(path)))
		snprintf(path, sizeof(path), "%s", argv[0]);
	memset(cmd, 0xff, sizeof(*cmd));
	ck_assert_int_eq(run_command_hold(path, argv, as, cmd), 0);
	ck_assert_int_gt(cmd->pid, 0);
	ck_assert_int_ge(cmd->release_fd, 0);
	ck_assert_int_ge(cmd->error_fd, 0);
}

START_TEST(test_true)
{
	char *argv[] = { "true", NULL };
	struct held_command cmd;
	int status;

	hold(argv, NULL, &cmd);
	ck_assert_int_eq(run_command_release(&cmd), 0);
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
	hold(argv, NULL, &cmd);
	sleep_ms(200);
	ck_assert_int_eq(waitpid(cmd.pid, NULL, WNOHANG), 0); /* still waiting */
	ck_assert_int_ne(access(marker, F_OK), 0);            /* has not run */
	ck_assert_int_eq(run_command_release(&cmd), 0);
	status = wait_for(cmd.pid);
	ck_assert_int_eq(access(marker, F_OK), 0);
	ck_assert_int_eq(run_command_exit_code(status), 3);
}
END_TEST

START_TEST(test_nonexistent_path)
{
	char *argv[] = { "/nonexistent/xyz", NULL };
	struct held_command cmd;

	hold(argv, NULL, &cmd);
	ck_assert_int_eq(run_command_release(&cmd), -ENOENT);
	assert_reaped(cmd.pid);
}
END_TEST

START_TEST(test_not_in_path)
{
	char path[PATH_MAX];

	ck_assert_int_eq(run_command_resolve("deptrace-no-such-command-7f3a", path, sizeof(path)),
			 -ENOENT);
	ck_assert_int_eq(run_command_resolve("", path, sizeof(path)), -ENOENT);
	ck_assert_int_eq(run_command_resolve("/nonexistent/xyz", path, sizeof(path)), -ENOENT);
}
END_TEST

START_TEST(test_resolve_in_path)
{
	char path[PATH_MAX];
	const char *slash;

	ck_assert_int_eq(run_command_resolve("true", path, sizeof(path)), 0);
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
	ck_assert_int_eq(run_command_resolve(path, found, sizeof(found)), -EACCES);
	ck_assert_int_eq(run_command_resolve(scratch, found, sizeof(found)), -EACCES); /* a directory */
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
	hold(argv, NULL, &cmd);
	ck_assert_int_eq(run_command_release(&cmd), -EACCES);
	assert_reaped(cmd.pid);
}
END_TEST

START_TEST(test_directory)
{
	char *argv[] = { scratch, NULL };
	struct held_command cmd;

	hold(argv, NULL, &cmd);
	ck_assert_int_eq(run_command_release(&cmd), -EACCES);
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
	hold(argv, NULL, &cmd);
	run_command_abandon(&cmd);
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
	ck_assert_int_eq(run_command_exit_code(status_of_child(3, 0)), 3);
	ck_assert_int_eq(run_command_exit_code(status_of_child(0, 0)), 0);
	ck_assert_int_eq(run_command_exit_code(status_of_child(255, 0)), 255);
	ck_assert_int_eq(run_command_exit_code(status_of_child(0, SIGKILL)), 137);
	ck_assert_int_eq(run_command_exit_code(status_of_child(0, SIGTERM)), 143);
}
END_TEST

static void resolve_ok(const char *user, struct run_as *as)
{
	char err[256] = "";

	ck_assert_msg(run_command_resolve_user(user, as, err, sizeof(err)) == 0, "%s: %s", user, err);
	ck_assert_int_gt(as->ngroups, 0);
	ck_assert_ptr_nonnull(as->groups);
}

static bool in_groups(const struct run_as *as, gid_t gid)
{
	for (int i = 0; i < as->ngroups; i++)
		if (as->groups[i] == gid)
			return true;
	return false;
}

START_TEST(test_resolve_root)
{
	struct run_as as;

	resolve_ok("root", &as);
	ck_assert_str_eq(as.name, "root");
	ck_assert_uint_eq(as.uid, 0);
	ck_assert_uint_eq(as.gid, 0);
	ck_assert(in_groups(&as, 0));
	run_as_free(&as);
	ck_assert_ptr_null(as.groups);
}
END_TEST

/* By name and by number, the same user as the user database says. */
START_TEST(test_resolve_nobody)
{
	struct passwd *pw = getpwnam("nobody");
	struct run_as by_name, by_uid;
	char uid[16];

	ck_assert_ptr_nonnull(pw);
	snprintf(uid, sizeof(uid), "%u", (unsigned)pw->pw_uid);
	resolve_ok("nobody", &by_name);
	resolve_ok(uid, &by_uid);
	ck_assert_str_eq(by_name.name, "nobody");
	ck_assert_str_eq(by_uid.name, "nobody");
	ck_assert_uint_eq(by_name.uid, by_uid.uid);
	ck_assert_uint_eq(by_name.gid, pw->pw_gid);
	ck_assert_uint_eq(by_uid.gid, pw->pw_gid);
	ck_assert(in_groups(&by_name, pw->pw_gid));
	run_as_free(&by_name);
	run_as_free(&by_uid);
}
END_TEST

START_TEST(test_resolve_unknown)
{
	struct run_as as;
	char err[256];

	ck_assert_int_eq(run_command_resolve_user("deptrace-no-user-7f3a", &as, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "no user \"deptrace-no-user-7f3a\": check the name "
			      "(getent passwd deptrace-no-user-7f3a)");
	ck_assert_int_eq(run_command_resolve_user("4000000000", &as, err, sizeof(err)), -ENOENT);
	ck_assert_int_eq(run_command_resolve_user("", &as, err, sizeof(err)), -ENOENT);
}
END_TEST

/* What `id` prints for the user: uid, gid, then every group, the
 * primary first (the kernel keeps the others sorted, as the database
 * lists them for nobody and root). */
static void expected_id(const struct run_as *as, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "%u\n%u\n%u", (unsigned)as->uid,
				    (unsigned)as->gid, (unsigned)as->gid);

	for (int i = 0; i < as->ngroups && n < len; i++)
		if (as->groups[i] != as->gid)
			n += (size_t)snprintf(buf + n, len - n, " %u", (unsigned)as->groups[i]);
	snprintf(buf + n, len - n, "\n");
}

/* Runs `id` as `user` (held, then released) and returns what it printed. */
static void id_as(const struct run_as *as, char *out, size_t len)
{
	char script[64];
	char *argv[] = { "sh", "-c", script, NULL };
	struct held_command cmd;
	size_t got = 0;
	ssize_t n;
	int out_pipe[2];

	ck_assert_int_eq(pipe(out_pipe), 0); /* inherited by the command */
	snprintf(script, sizeof(script), "exec >&%d; id -u; id -g; id -G", out_pipe[1]);
	hold(argv, as, &cmd);
	close(out_pipe[1]);
	ck_assert_int_eq(run_command_release(&cmd), 0);
	while ((n = read(out_pipe[0], out + got, len - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(out_pipe[0]);
	ck_assert_int_eq(run_command_exit_code(wait_for(cmd.pid)), 0);
}

START_TEST(test_run_as_nobody)
{
	char got[256], want[256];
	struct run_as as;

	resolve_ok("nobody", &as);
	id_as(&as, got, sizeof(got));
	expected_id(&as, want, sizeof(want));
	ck_assert_str_eq(got, want);
	run_as_free(&as);
}
END_TEST

/* Without CAP_SETUID (dropped in this test's own process, which Check
 * forked) root's setuid fails: reported as the command's failure, and
 * the command never runs. */
START_TEST(test_run_as_refused)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];
	char marker[PATH_MAX], script[PATH_MAX + 32];
	char *argv[] = { "sh", "-c", script, NULL };
	struct held_command cmd;
	struct run_as as;

	ck_assert_int_eq(syscall(SYS_capget, &head, caps), 0);
	caps[0].effective &= ~(1U << CAP_SETUID);
	caps[0].permitted &= ~(1U << CAP_SETUID);
	ck_assert_int_eq(syscall(SYS_capset, &head, caps), 0);
	pathf(marker, "%s/ran", scratch);
	snprintf(script, sizeof(script), "echo ran > '%s'", marker);
	resolve_ok("nobody", &as);
	hold(argv, &as, &cmd);
	ck_assert_int_eq(run_command_release(&cmd), -EPERM);
	assert_reaped(cmd.pid);
	ck_assert_int_ne(access(marker, F_OK), 0);
	run_as_free(&as);
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
	tcase_add_test(tc, test_resolve_root);
	tcase_add_test(tc, test_resolve_nobody);
	tcase_add_test(tc, test_resolve_unknown);
	suite_add_tcase(s, tc);
	/* changing user needs root */
	if (geteuid() == 0) {
		tc = tcase_create("run_as");
		tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_add_test(tc, test_run_as_nobody);
		tcase_add_test(tc, test_run_as_refused);
		suite_add_tcase(s, tc);
	}
	return s;
}

int main(void)
{
	return run_suite(run_command_suite());
}
