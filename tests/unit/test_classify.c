/* Unit tests for lib/classify.h: the rule on process tables built by hand. */
#include "testutil.h"

#include "classify.h"

static struct proc_table *table;
static char evidence[CLASS_EVIDENCE_LEN];

static void setup(void)
{
	table = proc_table_new();
	ck_assert_ptr_nonnull(table);
}

static void teardown(void)
{
	proc_table_free(table);
	table = NULL;
}

/* A process: `program` false for a fork that did not exec. */
static void proc(pid_t pid, pid_t ppid, bool root, bool program, const char *comm,
		 const char *args)
{
	struct proc_info *p = proc_table_get(table, pid);

	ck_assert_ptr_nonnull(p);
	p->ppid = ppid;
	p->root = root;
	p->program = program;
	snprintf(p->comm, sizeof(p->comm), "%s", comm);
	snprintf(p->args, sizeof(p->args), "%s", args);
}

static enum event_class classify(pid_t pid, const char *name, const char *address)
{
	const char *names[] = { name, address, NULL };

	return classify_destination(table, pid, name ? names : names + 1, evidence,
				    sizeof(evidence));
}

#define DEPLOY "/bin/bash ./deploy.sh 2.4.1"
#define FORGE "forge.example.com"

START_TEST(test_the_command_is_direct)
{
	proc(100, 1, true, true, "deploy.sh", DEPLOY);
	ck_assert_int_eq(classify(100, FORGE, "192.0.2.10"), CLASS_DIRECT);
	ck_assert_str_eq(evidence, "the command");
	/* a subshell: a fork that did not exec, two deep */
	proc(101, 100, false, false, "deploy.sh", DEPLOY);
	proc(102, 101, false, false, "deploy.sh", DEPLOY);
	ck_assert_int_eq(classify(102, FORGE, "192.0.2.10"), CLASS_DIRECT);
	ck_assert_str_eq(evidence, "a fork of the command");
}
END_TEST

/* A program the script ran, its argv naming the destination: a URL, the
 * name, the address, user@host:path, host:port, --option=URL, without
 * case; through a subshell of the script ($(curl URL)). */
START_TEST(test_argv_naming_it_is_direct)
{
	static const char *const args[] = {
		"curl -fsS -o /tmp/x https://forge.example.com/app/2.4.1.tgz",
		"curl -fsS http://user:pw@FORGE.example.com.:8080/x?y",
		"getent hosts forge.example.com",
		"nc 192.0.2.10 80",
		"git clone git@forge.example.com:app/app.git",
		"tool --server=https://forge.example.com",
		"dig forge.example.com:53",
	};

	proc(100, 1, true, true, "deploy.sh", DEPLOY);
	proc(101, 100, false, false, "deploy.sh", DEPLOY);
	for (size_t i = 0; i < sizeof(args) / sizeof(*args); i++) {
		proc(102, 101, false, true, "curl", args[i]);
		ck_assert_msg(classify(102, FORGE, "192.0.2.10") == CLASS_DIRECT, "%s", args[i]);
	}
	proc(102, 101, false, true, "curl", args[0]);
	classify(102, FORGE, "192.0.2.10");
	ck_assert_str_eq(evidence, "argv names forge.example.com");
	proc(102, 101, false, true, "nc", "nc 192.0.2.10 80");
	classify(102, FORGE, "192.0.2.10");
	ck_assert_str_eq(evidence, "argv names 192.0.2.10");
	/* IPv6, bracketed in a URL */
	proc(102, 101, false, true, "curl", "curl http://[2001:db8::10]:8080/");
	ck_assert_int_eq(classify(102, NULL, "2001:db8::10"), CLASS_DIRECT);
	/* a wrapper that passes it on: timeout 10 curl URL */
	proc(102, 100, false, true, "timeout", "timeout 10 curl https://forge.example.com/x");
	proc(103, 102, false, true, "curl", "curl https://forge.example.com/x");
	ck_assert_int_eq(classify(103, FORGE, NULL), CLASS_DIRECT);
}
END_TEST

/* Words that only contain the name are not it: a longer name, a path,
 * a name inside a query string. */
START_TEST(test_near_misses_are_hidden)
{
	static const char *const args[] = {
		"curl https://forge.example.com.evil.example/",
		"curl https://mirror.example.com/forge.example.com",
		"curl https://notforge.example.com/",
		"curl https://mirror.example.com/?host=forge.example.com",
		"ping 192.0.2.100",
		"migrate /tmp/app/schema",
	};

	proc(100, 1, true, true, "deploy.sh", DEPLOY);
	for (size_t i = 0; i < sizeof(args) / sizeof(*args); i++) {
		proc(101, 100, false, true, "tool", args[i]);
		ck_assert_msg(classify(101, FORGE, "192.0.2.10") == CLASS_HIDDEN, "%s", args[i]);
	}
	ck_assert_str_eq(evidence, "not in tool's argv");
}
END_TEST

/* A tool that chose the destination: in-process, through a fork of its
 * own, and through a child whose argv it wrote (migrate > curl URL):
 * hidden, named by the highest program that did not have it. */
START_TEST(test_a_tool_choosing_it_is_hidden)
{
	proc(100, 1, true, true, "deploy.sh", DEPLOY);
	proc(101, 100, false, true, "migrate", "/bin/bash ./bin/migrate /tmp/app/schema");
	ck_assert_int_eq(classify(101, FORGE, "192.0.2.10"), CLASS_HIDDEN);
	ck_assert_str_eq(evidence, "not in migrate's argv");
	proc(102, 101, false, false, "migrate", "/bin/bash ./bin/migrate /tmp/app/schema");
	proc(103, 102, false, true, "curl", "curl -fs http://forge.example.com/migrate/latest");
	ck_assert_int_eq(classify(103, FORGE, "192.0.2.10"), CLASS_HIDDEN);
	ck_assert_str_eq(evidence, "not in migrate's argv");
	/* below a program that did not have it, one that did not either */
	proc(104, 103, false, true, "helper", "helper --quiet");
	ck_assert_int_eq(classify(104, FORGE, "192.0.2.10"), CLASS_HIDDEN);
	ck_assert_str_eq(evidence, "not in migrate's argv");
}
END_TEST

/* A program that ended before its argv was read is passed over: the
 * script's is direct, migrate's hidden. */
START_TEST(test_argv_unread)
{
	proc(100, 1, true, true, "deploy.sh", DEPLOY);
	proc(101, 100, false, true, "curl", "/usr/bin/curl");
	proc_table_get(table, 101)->args_unread = true;
	ck_assert_int_eq(classify(101, FORGE, "192.0.2.10"), CLASS_DIRECT);
	ck_assert_str_eq(evidence, "argv unread (the program had ended)");
	proc(102, 100, false, true, "migrate", "/bin/bash ./bin/migrate /tmp/app/schema");
	proc(103, 102, false, true, "curl", "/usr/bin/curl");
	proc_table_get(table, 103)->args_unread = true;
	ck_assert_int_eq(classify(103, FORGE, "192.0.2.10"), CLASS_HIDDEN);
	ck_assert_str_eq(evidence, "not in migrate's argv");
}
END_TEST

/* A process the table does not know; one whose parents it does not. */
START_TEST(test_unknown_processes)
{
	ck_assert_int_eq(classify(555, FORGE, NULL), CLASS_HIDDEN);
	ck_assert_str_eq(evidence, "an unknown process");
	proc(556, 1, false, true, "curl", "curl http://forge.example.com/");
	ck_assert_int_eq(classify(556, FORGE, NULL), CLASS_DIRECT);
}
END_TEST

START_TEST(test_argv_match)
{
	const char *const names[] = { "a.example", "192.0.2.1", NULL };

	ck_assert_str_eq(classify_argv_match("x 192.0.2.1:443", names), "192.0.2.1");
	ck_assert_str_eq(classify_argv_match("x https://A.EXAMPLE/", names), "a.example");
	ck_assert_ptr_null(classify_argv_match("", names));
	ck_assert_ptr_null(classify_argv_match("   ", names));
	ck_assert_ptr_null(classify_argv_match("x =", names));
	ck_assert_ptr_null(classify_argv_match("x @ :// [", names));
	ck_assert_str_eq(class_name(CLASS_DIRECT), "direct");
	ck_assert_str_eq(class_name(CLASS_HIDDEN), "hidden");
}
END_TEST

static Suite *classify_suite(void)
{
	Suite *suite = suite_create("classify");
	TCase *tc = tcase_create("rule");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_the_command_is_direct);
	tcase_add_test(tc, test_argv_naming_it_is_direct);
	tcase_add_test(tc, test_near_misses_are_hidden);
	tcase_add_test(tc, test_a_tool_choosing_it_is_hidden);
	tcase_add_test(tc, test_argv_unread);
	tcase_add_test(tc, test_unknown_processes);
	tcase_add_test(tc, test_argv_match);
	suite_add_tcase(suite, tc);
	return suite;
}

int main(void)
{
	return run_suite(classify_suite());
}
