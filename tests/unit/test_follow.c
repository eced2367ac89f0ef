/* Unit tests for lib/follow.h: the paths of serving threads. */
#include "testutil.h"

#include "follow.h"

START_TEST(test_paths)
{
	struct follow_table *t = follow_table_new();

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(follow_table_via(t, 200));
	/* a service thread serving curl, one serving that thread */
	ck_assert_int_eq(follow_table_serve(t, 200, "internal-api", 101, "deploy.sh > curl",
					    "api.internal.example:8080"), 0);
	ck_assert_str_eq(follow_table_via(t, 200),
			 "deploy.sh > curl -> api.internal.example:8080 internal-api");
	ck_assert_int_eq(follow_table_serve(t, 300, "backend", 200, "internal-api",
					    "127.0.0.30:9090"), 0);
	ck_assert_str_eq(follow_table_via(t, 300),
			 "deploy.sh > curl -> api.internal.example:8080 internal-api -> "
			 "127.0.0.30:9090 backend");
	/* a thread serves one connection at a time: the new one replaces it */
	ck_assert_int_eq(follow_table_serve(t, 200, "internal-api", 102, "deploy.sh > wget",
					    "api.internal.example:8080"), 0);
	ck_assert_str_eq(follow_table_via(t, 200),
			 "deploy.sh > wget -> api.internal.example:8080 internal-api");
	/* serving its own earlier client's path: built before it is replaced */
	ck_assert_int_eq(follow_table_serve(t, 300, "backend", 300, "backend", "127.0.0.30:9090"), 0);
	ck_assert_str_eq(follow_table_via(t, 300),
			 "deploy.sh > curl -> api.internal.example:8080 internal-api -> "
			 "127.0.0.30:9090 backend -> 127.0.0.30:9090 backend");
	follow_table_free(t);
	follow_table_free(NULL);
}
END_TEST

/* Many threads: the table grows; a path too long is cut, never overrun. */
START_TEST(test_many_and_long)
{
	struct follow_table *t = follow_table_new();
	char chain[FOLLOW_VIA_LEN * 2];

	for (pid_t tid = 1; tid <= 100; tid++)
		ck_assert_int_eq(follow_table_serve(t, tid, "svc", tid - 1, "sh", "127.0.0.1:80"), 0);
	ck_assert_str_eq(follow_table_via(t, 2), "sh -> 127.0.0.1:80 svc -> 127.0.0.1:80 svc");
	ck_assert_uint_eq(strlen(follow_table_via(t, 100)), FOLLOW_VIA_LEN - 1);
	memset(chain, 'a', sizeof(chain) - 1);
	chain[sizeof(chain) - 1] = '\0';
	ck_assert_int_eq(follow_table_serve(t, 500, "svc", 999, chain, "127.0.0.1:80"), 0);
	ck_assert_uint_eq(strlen(follow_table_via(t, 500)), FOLLOW_VIA_LEN - 1);
	follow_table_free(t);
}
END_TEST

/* A note on a path is told once, by the first event that takes it; a new
 * connection served clears it; a thread serving nobody keeps none. */
START_TEST(test_notes)
{
	struct follow_table *t = follow_table_new();

	follow_table_note(t, 200, "not serving");
	ck_assert_ptr_null(follow_table_take_note(t, 200));
	ck_assert_int_eq(follow_table_serve(t, 200, "lock", 101, "deploy.sh > curl", "Unix socket"), 0);
	ck_assert_ptr_null(follow_table_take_note(t, 200));
	follow_table_note(t, 200, "the path was not found");
	ck_assert_str_eq(follow_table_take_note(t, 200), "the path was not found");
	ck_assert_ptr_null(follow_table_take_note(t, 200));
	follow_table_note(t, 200, "again");
	ck_assert_int_eq(follow_table_serve(t, 200, "lock", 102, "deploy.sh > curl", "/run/l.sock"), 0);
	ck_assert_ptr_null(follow_table_take_note(t, 200));
	ck_assert_str_eq(follow_table_via(t, 200), "deploy.sh > curl -> /run/l.sock lock");
	follow_table_free(t);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("follow");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_paths);
	tcase_add_test(tc, test_many_and_long);
	tcase_add_test(tc, test_notes);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
