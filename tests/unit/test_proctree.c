/* Unit tests for lib/proctree.h: a fake proc root in a scratch directory,
 * and one look at the real /proc. */
#include "testutil.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "proctree.h"

static char *case_dir; /* made by the runner process, removed even on failure */
static char *root;     /* this test's fake /proc */

static void case_setup(void)
{
	case_dir = make_scratch_dir(NULL, "proctree");
}

static void case_teardown(void)
{
	remove_scratch_dir(case_dir);
	case_dir = NULL;
}

/* One process: ROOT/PID/stat as the kernel writes it. */
static void fake_process(int pid, const char *comm, int ppid)
{
	char rel[64], stat[512];

	snprintf(rel, sizeof(rel), "%d/stat", pid);
	snprintf(stat, sizeof(stat),
		 "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
		 "12345 1000000 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
		 "0 0 0 0 0 0\n",
		 pid, comm, ppid, pid, pid);
	write_file(root, rel, stat);
}

/* 1 -> 10 -> 11 -> 12, 1 -> 20, and 30 -> 31 apart from them, with comms
 * that trip naive parsers, and entries that are not processes. */
static void setup(void)
{
	root = make_scratch_dir(case_dir, "proc");
	fake_process(1, "init", 0);
	fake_process(10, "comm with ) paren", 1);
	fake_process(11, "sh", 10);
	fake_process(12, "x) S 3", 11); /* the first ')' would give PPID 3 */
	fake_process(20, "cron", 1);
	fake_process(30, "(sd-pam)", 0);
	fake_process(31, ") (", 30);
	fake_process(3, "kthreadd", 0);
	write_file(root, "self/stat", "10 (self) S 11 0 0\n");
	write_file(root, "sys/kernel/pid_max", "4194304\n");
	write_file(root, "version", "Linux version 6.18.44\n");
	write_file(root, "40/status", "Name:\tgone\n"); /* exited: no stat */
	write_file(root, "41/stat", "41 no parentheses S 10\n");
}

static void teardown(void)
{
	remove_scratch_dir(root);
	root = NULL;
}

START_TEST(test_read_ppid)
{
	pid_t ppid = -1;

	ck_assert_int_eq(proctree_read_ppid(root, 11, &ppid), 0);
	ck_assert_int_eq(ppid, 10);
	ck_assert_int_eq(proctree_read_ppid(root, 1, &ppid), 0);
	ck_assert_int_eq(ppid, 0);
}
END_TEST

/* Running or sleeping counts as alive; a zombie, a dead task, one that has
 * begun to exit (PF_EXITING, 0x4, in the flags field) or a missing entry
 * does not. */
START_TEST(test_process_alive)
{
	write_file(root, "40/stat", "40 (zombie) Z 1 40 40 0\n");
	write_file(root, "41/stat", "41 (dead) X 1 41 41 0\n");
	write_file(root, "42/stat", "42 (a) Z) R 1 42 42 0\n");
	write_file(root, "43/stat", "43 (exiting) R 1 43 43 0 -1 4194564 0\n");
	write_file(root, "44/stat", "44 (sleeping) S 1 44 44 0 -1 4194560 0\n");
	ck_assert(proctree_process_alive(root, 11));
	ck_assert(!proctree_process_alive(root, 43));
	ck_assert(proctree_process_alive(root, 44));
	ck_assert(!proctree_process_alive(root, 40));
	ck_assert(!proctree_process_alive(root, 41));
	ck_assert(proctree_process_alive(root, 42)); /* the state after the last ')' */
	ck_assert(!proctree_process_alive(root, 4242));
}
END_TEST

/* Exiting: begun to exit (PF_EXITING) and not yet a zombie or dead. */
START_TEST(test_process_exiting)
{
	write_file(root, "40/stat", "40 (zombie) Z 1 40 40 0 -1 4194564 0\n");
	write_file(root, "41/stat", "41 (dead) X 1 41 41 0 -1 4194564 0\n");
	write_file(root, "43/stat", "43 (exiting) R 1 43 43 0 -1 4194564 0\n");
	write_file(root, "44/stat", "44 (sleeping) S 1 44 44 0 -1 4194560 0\n");
	ck_assert(proctree_process_exiting(root, 43));
	ck_assert(!proctree_process_exiting(root, 44));
	ck_assert(!proctree_process_exiting(root, 40));
	ck_assert(!proctree_process_exiting(root, 41));
	ck_assert(!proctree_process_exiting(root, 4242));
}
END_TEST

START_TEST(test_read_ppid_tricky_comm)
{
	pid_t ppid = -1;

	ck_assert_int_eq(proctree_read_ppid(root, 10, &ppid), 0);
	ck_assert_int_eq(ppid, 1);
	ck_assert_int_eq(proctree_read_ppid(root, 12, &ppid), 0);
	ck_assert_int_eq(ppid, 11);
	ck_assert_int_eq(proctree_read_ppid(root, 31, &ppid), 0);
	ck_assert_int_eq(ppid, 30);
}
END_TEST

START_TEST(test_read_ppid_errors)
{
	pid_t ppid = 777;

	ck_assert_int_eq(proctree_read_ppid(root, 99, &ppid), -ENOENT);
	ck_assert_int_eq(proctree_read_ppid(root, 40, &ppid), -ENOENT);
	ck_assert_int_eq(proctree_read_ppid(root, 41, &ppid), -EINVAL);
	ck_assert_int_eq(ppid, 777); /* untouched on failure */
}
END_TEST

static int by_pid(const void *a, const void *b)
{
	const struct proc_link *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* proctree_list_descendants, sorted by PID for comparison. */
static size_t descendants(const pid_t *roots, size_t nroots, struct proc_link **links)
{
	size_t count = 12345;

	*links = NULL;
	ck_assert_int_eq(proctree_list_descendants(root, roots, nroots, links, &count), 0);
	ck_assert_uint_ne(count, 12345);
	if (count)
		qsort(*links, count, sizeof(**links), by_pid);
	return count;
}

START_TEST(test_descendants_of_one)
{
	const pid_t roots[] = { 10 };
	struct proc_link *links;

	ck_assert_uint_eq(descendants(roots, 1, &links), 2);
	ck_assert_int_eq(links[0].pid, 11);
	ck_assert_int_eq(links[0].ppid, 10);
	ck_assert_int_eq(links[1].pid, 12);
	ck_assert_int_eq(links[1].ppid, 11);
	free(links);
}
END_TEST

START_TEST(test_descendants_of_two)
{
	const pid_t roots[] = { 10, 30 };
	struct proc_link *links;

	ck_assert_uint_eq(descendants(roots, 2, &links), 3);
	ck_assert_int_eq(links[0].pid, 11);
	ck_assert_int_eq(links[0].ppid, 10);
	ck_assert_int_eq(links[1].pid, 12);
	ck_assert_int_eq(links[1].ppid, 11);
	ck_assert_int_eq(links[2].pid, 31);
	ck_assert_int_eq(links[2].ppid, 30);
	free(links);
}
END_TEST

/* A root below another root is part of the tree but not listed. */
START_TEST(test_descendants_of_nested_roots)
{
	const pid_t roots[] = { 1, 11 };
	struct proc_link *links;

	ck_assert_uint_eq(descendants(roots, 2, &links), 3);
	ck_assert_int_eq(links[0].pid, 10);
	ck_assert_int_eq(links[0].ppid, 1);
	ck_assert_int_eq(links[1].pid, 12);
	ck_assert_int_eq(links[1].ppid, 11);
	ck_assert_int_eq(links[2].pid, 20);
	ck_assert_int_eq(links[2].ppid, 1);
	free(links);
}
END_TEST

/* A chain whose entries are made out of order, so that in any listing
 * order some child comes before its parent. */
START_TEST(test_descendants_deep_chain)
{
	const int order[] = { 53, 51, 55, 52, 54 };
	const pid_t roots[] = { 50 };
	struct proc_link *links;

	fake_process(50, "chain", 1);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		fake_process(order[i], "chain", order[i] - 1);
	ck_assert_uint_eq(descendants(roots, 1, &links), 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(links[i].pid, 51 + i);
		ck_assert_int_eq(links[i].ppid, 50 + i);
	}
	free(links);
}
END_TEST

START_TEST(test_descendants_none)
{
	const pid_t leaf[] = { 12 }, absent[] = { 99 };
	struct proc_link *links;

	ck_assert_uint_eq(descendants(leaf, 1, &links), 0);
	free(links);
	ck_assert_uint_eq(descendants(absent, 1, &links), 0);
	free(links);
}
END_TEST

START_TEST(test_descendants_missing_root_dir)
{
	char missing[PATH_MAX];
	const pid_t roots[] = { 1 };
	struct proc_link *links = NULL;
	size_t count = 0;

	pathf(missing, "%s/nonexistent", root);
	ck_assert_int_eq(proctree_list_descendants(missing, roots, 1, &links, &count), -ENOENT);
}
END_TEST

/* PROC_ROOT/PID/cmdline as the kernel writes it: NUL after every argument. */
static void fake_cmdline(int pid, const char *comm, const char *args, size_t len)
{
	char rel[64], path[PATH_MAX], line[64];
	FILE *f;

	snprintf(rel, sizeof(rel), "%d/comm", pid);
	snprintf(line, sizeof(line), "%s\n", comm);
	write_file(root, rel, line);
	pathf(path, "%s/%d/cmdline", root, pid);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(args, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_read_cmdline)
{
	static const char args[] = "curl\0-s\0http://forge.example.com/\0";
	char buf[256];

	fake_cmdline(60, "curl", args, sizeof(args) - 1);
	ck_assert_int_eq(proctree_read_cmdline(root, 60, "curl", buf, sizeof(buf)),
			 sizeof(args) - 1);
	ck_assert_mem_eq(buf, args, sizeof(args) - 1);
	/* cut to the buffer, never past it */
	ck_assert_int_eq(proctree_read_cmdline(root, 60, "curl", buf, 8), 7);
	ck_assert_mem_eq(buf, "curl\0-s", 7);
	/* the process runs another program now: its arguments are not curl's */
	ck_assert_int_eq(proctree_read_cmdline(root, 60, "sh", buf, sizeof(buf)), -ESRCH);
	/* gone */
	ck_assert_int_eq(proctree_read_cmdline(root, 61, "curl", buf, sizeof(buf)), -ENOENT);
}
END_TEST

START_TEST(test_real_proc)
{
	const pid_t self = getpid();
	struct proc_link *links = NULL;
	size_t count = 0, seen = 0;
	pid_t child, ppid = 0;
	int status;

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		/* not the handlers Check's runner left: they signal the test */
		signal(SIGTERM, SIG_DFL);
		signal(SIGALRM, SIG_DFL);
		alarm(10); /* gone soon even if the test fails before killing it */
		for (;;)
			pause();
	}
	ck_assert_int_eq(proctree_read_ppid("/proc", child, &ppid), 0);
	ck_assert_int_eq(ppid, self);
	ck_assert_int_eq(proctree_list_descendants("/proc", &self, 1, &links, &count), 0);
	for (size_t i = 0; i < count; i++) {
		ck_assert_int_ne(links[i].pid, self);
		if (links[i].pid == child) {
			ck_assert_int_eq(links[i].ppid, self);
			seen++;
		}
	}
	free(links);
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_uint_eq(seen, 1);
}
END_TEST

/* The program a process runs: its executable from ROOT/PID/exe, the
 * script from the exec's path or argv[1..2] (relative ones in ROOT/PID/cwd),
 * a process renamed since refused. */
START_TEST(test_read_program)
{
	char work[PATH_MAX], script_path[PATH_MAX];
	char exe[PROC_EXE_LEN], script[PROC_EXE_LEN], resolved[PATH_MAX];
	const char *argv[] = { "python3", "-u", "./tool", "arg" };
	const char *plain[] = { "python3", "-c", "print(1)" };

	write_file(case_dir, "work/tool", "#!/usr/bin/python3\nprint(1)\n");
	write_file(case_dir, "work/data", "not a script\n");
	pathf(work, "%s/work", case_dir);
	fake_program(root, 50, "python3", work, "/usr/bin/python3.11");
	pathf(script_path, "%s/tool", work);
	ck_assert_ptr_nonnull(realpath(script_path, resolved));

	/* relative, after one interpreter option */
	ck_assert_int_eq(proctree_read_program(root, 50, "python3", NULL, argv, 4, exe, script), 0);
	ck_assert_str_eq(exe, "/usr/bin/python3.11");
	ck_assert_str_eq(script, resolved);
	/* the exec's own path first: "./data" is no script, argv's is */
	ck_assert_int_eq(proctree_read_program(root, 50, NULL, "./data", argv, 4, exe, script), 0);
	ck_assert_str_eq(script, resolved);
	ck_assert_int_eq(proctree_read_program(root, 50, NULL, script_path, plain, 3, exe, script), 0);
	ck_assert_str_eq(script, resolved);
	/* no script: an interpreter given code, not a file */
	ck_assert_int_eq(proctree_read_program(root, 50, NULL, NULL, plain, 3, exe, script), 0);
	ck_assert_str_eq(script, "");
	/* renamed since: another program now; the script is still the exec's */
	ck_assert_int_eq(proctree_read_program(root, 50, "curl", NULL, argv, 4, exe, script), -ESRCH);
	ck_assert_str_eq(script, resolved);
	ck_assert_int_eq(proctree_read_program(root, 51, NULL, NULL, plain, 3, exe, script), -ENOENT);
}
END_TEST

static Suite *proctree_suite(void)
{
	Suite *s = suite_create("proctree");
	TCase *fake = tcase_create("fake_proc");
	TCase *real = tcase_create("real_proc");

	tcase_add_unchecked_fixture(fake, case_setup, case_teardown);
	tcase_add_checked_fixture(fake, setup, teardown);
	tcase_add_test(fake, test_read_ppid);
	tcase_add_test(fake, test_read_ppid_tricky_comm);
	tcase_add_test(fake, test_process_alive);
	tcase_add_test(fake, test_process_exiting);
	tcase_add_test(fake, test_read_ppid_errors);
	tcase_add_test(fake, test_descendants_of_one);
	tcase_add_test(fake, test_descendants_of_two);
	tcase_add_test(fake, test_descendants_of_nested_roots);
	tcase_add_test(fake, test_descendants_deep_chain);
	tcase_add_test(fake, test_descendants_none);
	tcase_add_test(fake, test_descendants_missing_root_dir);
	tcase_add_test(fake, test_read_program);
	tcase_add_test(fake, test_read_cmdline);
	suite_add_tcase(s, fake);

	tcase_add_test(real, test_real_proc);
	suite_add_tcase(s, real);
	return s;
}

int main(void)
{
	return run_suite(proctree_suite());
}
