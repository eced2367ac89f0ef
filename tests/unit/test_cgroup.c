/* Unit tests for lib/cgroup.h: the mounts parser anywhere; the rest with
 * real cgroups (root and cgroup v2, else skipped: exit 77), all made below
 * one test cgroup that the runner process removes, with anything still
 * running in it, even when a test fails. */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup.h"
#include "proctree.h"

#define SKIPPED 77

static char mount_dir[CGROUP_PATH_LEN]; /* where cgroup2 is mounted */
static char test_root[CGROUP_PATH_LEN]; /* the tests' cgroup, below it */
static char *case_dir;

/* The "populated" line of PATH/cgroup.events; false once PATH is gone. */
static bool populated(const char *path)
{
	char events[PATH_MAX], buf[128] = "";
	FILE *f;

	snprintf(events, sizeof(events), "%s/cgroup.events", path);
	f = fopen(events, "r");
	if (!f)
		return false;
	if (!fread(buf, 1, sizeof(buf) - 1, f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "populated 1") != NULL;
}

static int remove_cgroup(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	return 0;
}

/* Kills everything that runs in the cgroup PATH and below, then removes
 * it and the cgroups below it. */
static void destroy_cgroup(const char *path)
{
	char kill_file[PATH_MAX];
	FILE *f;

	snprintf(kill_file, sizeof(kill_file), "%s/cgroup.kill", path);
	f = fopen(kill_file, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	for (int i = 0; i < 200 && populated(path); i++)
		sleep_ms(10);
	nftw(path, remove_cgroup, 16, FTW_DEPTH | FTW_PHYS);
}

static void case_setup(void)
{
	case_dir = make_scratch_dir(NULL, "cgroup");
}

static void case_teardown(void)
{
	remove_scratch_dir(case_dir);
	case_dir = NULL;
}

static void cgroup_case_setup(void)
{
	snprintf(test_root, sizeof(test_root), "%s/deptrace-test-%d", mount_dir, (int)getpid());
	ck_assert_msg(mkdir(test_root, 0755) == 0, "mkdir %s: %s", test_root, strerror(errno));
}

static void cgroup_case_teardown(void)
{
	destroy_cgroup(test_root);
}

/* --- the mounts table --- */

static int mount_point_of(const char *table, char *dir, size_t len)
{
	char path[PATH_MAX];
	static int n;
	char name[32];

	snprintf(name, sizeof(name), "mounts.%d", n++);
	write_file(case_dir, name, table);
	pathf(path, "%s/%s", case_dir, name);
	return cgroup2_mount_point(path, dir, len);
}

START_TEST(test_mounts_hybrid)
{
	char dir[CGROUP_PATH_LEN];

	ck_assert_int_eq(mount_point_of(
		"sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
		"tmpfs /sys/fs/cgroup tmpfs ro,nosuid,nodev,noexec,mode=755 0 0\n"
		"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
		"cgroup /sys/fs/cgroup/systemd cgroup rw,nosuid,nodev,noexec,relatime,xattr,name=systemd 0 0\n"
		"cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,nodev,noexec,relatime,memory 0 0\n",
		dir, sizeof(dir)), 0);
	ck_assert_str_eq(dir, "/sys/fs/cgroup/unified");
}
END_TEST

START_TEST(test_mounts_pure_v2)
{
	char dir[CGROUP_PATH_LEN];

	ck_assert_int_eq(mount_point_of(
		"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
		"cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate,memory_recursiveprot 0 0\n"
		"cgroup2 /mnt/other cgroup2 rw 0 0\n",
		dir, sizeof(dir)), 0);
	ck_assert_str_eq(dir, "/sys/fs/cgroup"); /* the first one */
}
END_TEST

START_TEST(test_mounts_escaped)
{
	char dir[CGROUP_PATH_LEN];

	ck_assert_int_eq(mount_point_of(
		"none /mnt/cgroup2\\040fake tmpfs rw 0 0\n"
		"none /mnt/my\\040cgroups\\011v2\\134x cgroup2 rw 0 0\n", dir, sizeof(dir)), 0);
	ck_assert_str_eq(dir, "/mnt/my cgroups\tv2\\x");
}
END_TEST

START_TEST(test_mounts_none)
{
	char dir[CGROUP_PATH_LEN], path[PATH_MAX];

	ck_assert_int_eq(mount_point_of(
		"cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
		"cgroup2fs /cgroup2 ext4 rw 0 0\n"
		"garbage\n\n", dir, sizeof(dir)), -ENOENT);
	ck_assert_int_eq(mount_point_of("", dir, sizeof(dir)), -ENOENT);
	ck_assert_int_eq(mount_point_of("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n", dir, 8),
			 -ENAMETOOLONG);
	pathf(path, "%s/no-such-file", case_dir);
	ck_assert_int_eq(cgroup2_mount_point(path, dir, sizeof(dir)), -ENOENT);
}
END_TEST

/* --- real cgroups --- */

/* A child that sleeps until killed, or for 10 s should the test end
 * first without killing it. */
static pid_t start_sleeper(const char *name)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* not the handlers of Check's runner, which signal the test */
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		prctl(PR_SET_NAME, name);
		alarm(10);
		for (;;)
			pause();
	}
	return pid;
}

static void stop_sleeper(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
}

/* The exit status of child `pid`, which must exit within `ms`. */
static int wait_exit(pid_t pid, long ms)
{
	int status;

	for (long waited = 0; waited < ms; waited += 10) {
		pid_t rc = waitpid(pid, &status, WNOHANG);

		ck_assert_int_ge(rc, 0);
		if (rc == pid)
			return status;
		sleep_ms(10);
	}
	ck_abort_msg("process %d still runs after %ld ms", (int)pid, ms);
	return -1;
}

/* The cgroup v2 path of process `pid`, from /proc/PID/cgroup. */
static void cgroup_of(pid_t pid, char *out, size_t len)
{
	char path[64], line[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(out, len, "%s", line + 3);
		}
	fclose(f);
	ck_assert_msg(out[0], "no cgroup v2 line for %d", (int)pid);
}

/* Whether `path` (a cgroup) still exists. */
static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void create(struct enforced_cgroup *cg)
{
	char want[CGROUP_PATH_LEN];

	ck_assert_int_eq(cgroup_create(test_root, cg), 0);
	snprintf(want, sizeof(want), "%s/deptrace-%d", test_root, (int)getpid());
	ck_assert_str_eq(cg->path, want);
	ck_assert(cg->created);
	ck_assert_int_ge(cg->dir_fd, 0);
	ck_assert(exists(cg->path));
}

/* A child in the cgroup is there; release moves it back where it came
 * from and removes the cgroup. */
START_TEST(test_create_add_release)
{
	char before[PATH_MAX], inside[PATH_MAX], after[PATH_MAX];
	struct enforced_cgroup cg;
	unsigned moved = 99;
	pid_t child;

	create(&cg);
	child = start_sleeper("dt-sleeper");
	cgroup_of(child, before, sizeof(before));
	ck_assert_int_eq(cgroup_add_process(&cg, child), 0);
	cgroup_of(child, inside, sizeof(inside));
	ck_assert_str_eq(inside, cg.path + strlen(mount_dir));
	ck_assert_int_eq(cgroup_release(&cg, &moved), 0);
	ck_assert_uint_eq(moved, 1);
	ck_assert_int_eq(cg.dir_fd, -1);
	ck_assert(!exists(cg.path));
	cgroup_of(child, after, sizeof(after));
	ck_assert_str_eq(after, before);
	stop_sleeper(child);
}
END_TEST

START_TEST(test_release_empty)
{
	struct enforced_cgroup cg;
	unsigned moved = 99;

	create(&cg);
	ck_assert_int_eq(cgroup_release(&cg, &moved), 0);
	ck_assert_uint_eq(moved, 0);
	ck_assert(!exists(cg.path));
}
END_TEST

/* deptrace-PID left by an earlier run with this PID: an empty one is
 * replaced, one with processes in it is not taken. */
START_TEST(test_create_over_stale)
{
	struct enforced_cgroup cg, again;
	unsigned moved;
	pid_t child;

	create(&cg);
	close(cg.dir_fd);
	create(&cg);
	child = start_sleeper("dt-sleeper");
	ck_assert_int_eq(cgroup_add_process(&cg, child), 0);
	ck_assert_int_eq(cgroup_create(test_root, &again), -EEXIST);
	ck_assert(exists(cg.path));
	ck_assert_int_eq(cgroup_release(&cg, &moved), 0);
	ck_assert_uint_eq(moved, 1);
	stop_sleeper(child);
}
END_TEST

START_TEST(test_open_existing)
{
	struct enforced_cgroup cg;
	char file[PATH_MAX];
	unsigned moved = 99;

	ck_assert_int_eq(cgroup_open_existing("/tmp", &cg), -EMEDIUMTYPE);
	ck_assert_int_eq(cg.dir_fd, -1);
	pathf(file, "%s/cgroup.procs", test_root);
	ck_assert_int_eq(cgroup_open_existing(file, &cg), -ENOTDIR);
	ck_assert_int_eq(cgroup_open_existing("/nonexistent/cgroup", &cg), -ENOENT);
	ck_assert_int_eq(cgroup_open_existing(test_root, &cg), 0);
	ck_assert(!cg.created);
	ck_assert_str_eq(cg.path, test_root);
	/* not ours: only closed */
	ck_assert_int_eq(cgroup_release(&cg, &moved), 0);
	ck_assert_uint_eq(moved, 0);
	ck_assert_int_eq(cg.dir_fd, -1);
	ck_assert(exists(test_root));
}
END_TEST

/* A PID that no process has now: a child's, reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void owned_cgroup(pid_t owner, char *path)
{
	pathf(path, "%s/deptrace-%d", test_root, (int)owner);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

START_TEST(test_remove_stale)
{
	char empty[PATH_MAX], busy[PATH_MAX], live[PATH_MAX], other[PATH_MAX];
	char reported[PATH_MAX];
	struct enforced_cgroup busy_cg;
	pid_t owner = start_sleeper("deptrace"), child = start_sleeper("dt-sleeper");

	owned_cgroup(dead_pid(), empty);
	owned_cgroup(dead_pid(), busy);
	owned_cgroup(owner, live); /* its deptrace runs: not stale, even empty */
	pathf(other, "%s/deptrace-test", test_root);
	ck_assert_int_eq(mkdir(other, 0755), 0);
	ck_assert_int_eq(cgroup_open_existing(busy, &busy_cg), 0);
	ck_assert_int_eq(cgroup_add_process(&busy_cg, child), 0);

	ck_assert_int_eq(cgroup_remove_stale(test_root, reported, sizeof(reported)), 1);
	ck_assert(!exists(empty));
	ck_assert_str_eq(reported, busy);
	ck_assert(exists(busy));
	ck_assert(exists(live));
	ck_assert(exists(other));

	/* once its processes are gone, it goes too */
	stop_sleeper(child);
	for (int i = 0; i < 100 && populated(busy); i++)
		sleep_ms(10);
	ck_assert_int_eq(cgroup_remove_stale(test_root, reported, sizeof(reported)), 1);
	ck_assert_str_eq(reported, "");
	ck_assert(!exists(busy));
	close(busy_cg.dir_fd);
	stop_sleeper(owner);
}
END_TEST

static bool has_fd(pid_t pid, int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	return access(path, F_OK) == 0;
}

/* Whether `pid` is listed in the cgroup's cgroup.procs. */
static bool in_cgroup(const struct enforced_cgroup *cg, pid_t pid)
{
	char path[PATH_MAX];
	FILE *f;
	int p;
	bool found = false;

	pathf(path, "%s/cgroup.procs", cg->path);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (fscanf(f, "%d", &p) == 1)
		found |= p == pid;
	fclose(f);
	return found;
}

/* deptrace dies (its end of the control socket closes without a byte):
 * the guard keeps the links while the command runs, signals aside, then
 * removes the cgroup and exits. */
START_TEST(test_guard_outlives_deptrace)
{
	struct enforced_cgroup cg;
	struct cgroup_guard guard;
	int link[2], other[2], status;
	unsigned moved;
	pid_t child;

	create(&cg);
	child = start_sleeper("dt-sleeper");
	ck_assert_int_eq(cgroup_add_process(&cg, child), 0);
	ck_assert_int_eq(pipe(link), 0);  /* stands for a bpf_link */
	ck_assert_int_eq(pipe(other), 0); /* stands for a perf event */
	ck_assert_int_eq(cgroup_guard_start(&cg, &link[0], 1, &guard), 0);
	ck_assert_int_gt(guard.pid, 0);
	for (int i = 0; i < 200 && has_fd(guard.pid, other[0]); i++)
		sleep_ms(10);
	ck_assert(!has_fd(guard.pid, other[0]));
	ck_assert(has_fd(guard.pid, link[0]));
	ck_assert(!in_cgroup(&cg, guard.pid));
	ck_assert_int_eq(getsid(guard.pid), guard.pid);

	close(guard.control_fd);
	kill(guard.pid, SIGTERM);
	kill(guard.pid, SIGINT);
	kill(guard.pid, SIGHUP);
	kill(guard.pid, SIGTSTP);
	sleep_ms(1000); /* longer than the guard retries an rmdir */
	ck_assert_int_eq(waitpid(guard.pid, NULL, WNOHANG), 0);
	ck_assert(proctree_process_alive("/proc", guard.pid));
	ck_assert(has_fd(guard.pid, link[0]));
	ck_assert(exists(cg.path));

	stop_sleeper(child);
	status = wait_exit(guard.pid, 5000); /* so SIGTSTP did not stop it */
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert(!exists(cg.path));
	ck_assert_int_eq(cgroup_release(&cg, &moved), 0);
	close(link[0]);
	close(link[1]);
	close(other[0]);
	close(other[1]);
}
END_TEST

/* deptrace ends normally: one byte, and the guard is gone at once, the
 * cgroup left to cgroup_release. */
START_TEST(test_guard_stop)
{
	struct enforced_cgroup cg;
	struct cgroup_guard guard;
	struct timespec t0, t1;
	unsigned moved;
	pid_t pid;

	create(&cg);
	ck_assert_int_eq(cgroup_guard_start(&cg, NULL, 0, &guard), 0);
	pid = guard.pid;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cgroup_guard_stop(&guard);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 2);
	errno = 0;
	ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
	ck_assert(exists(cg.path));
	ck_assert_int_eq(cgroup_release(&cg, &moved), 0);
	ck_assert(!exists(cg.path));
}
END_TEST

/* Whether this machine can run the cgroup tests, and if not why not. */
static const char *cgroups_unusable(void)
{
	if (geteuid() != 0)
		return "not root";
	if (cgroup2_mount_point("/proc/mounts", mount_dir, sizeof(mount_dir)))
		return "cgroup v2 is not mounted";
	if (access(mount_dir, W_OK))
		return "the cgroup v2 mount is read-only";
	return NULL;
}

int main(void)
{
	Suite *s = suite_create("cgroup");
	TCase *tc = tcase_create("mounts");
	const char *unusable = cgroups_unusable();
	int rc;

	tcase_add_unchecked_fixture(tc, case_setup, case_teardown);
	tcase_add_test(tc, test_mounts_hybrid);
	tcase_add_test(tc, test_mounts_pure_v2);
	tcase_add_test(tc, test_mounts_escaped);
	tcase_add_test(tc, test_mounts_none);
	suite_add_tcase(s, tc);
	if (!unusable) {
		tc = tcase_create("cgroups");
		tcase_add_unchecked_fixture(tc, cgroup_case_setup, cgroup_case_teardown);
		tcase_set_timeout(tc, 20);
		tcase_add_test(tc, test_create_add_release);
		tcase_add_test(tc, test_release_empty);
		tcase_add_test(tc, test_create_over_stale);
		tcase_add_test(tc, test_open_existing);
		tcase_add_test(tc, test_remove_stale);
		tcase_add_test(tc, test_guard_outlives_deptrace);
		tcase_add_test(tc, test_guard_stop);
		suite_add_tcase(s, tc);
	}
	rc = run_suite(s);
	if (rc == EXIT_SUCCESS && unusable) {
		fprintf(stderr, "cgroup tests skipped: %s\n", unusable);
		return SKIPPED;
	}
	return rc;
}
