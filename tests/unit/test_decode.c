/* Unit tests for lib/decode.h: samples as the kernel sends them, checked
 * before they are read, and exec records completed from /proc's argv. */
#include "testutil.h"

#include "decode.h"

static struct deptrace_exec_event exec_sample(const char *path)
{
	struct deptrace_exec_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.h.type = DEPTRACE_EVENT_EXEC;
	snprintf(ev.h.comm, sizeof(ev.h.comm), "curl");
	snprintf(ev.path, sizeof(ev.path), "%s", path);
	return ev;
}

START_TEST(test_exec_record_is_header_and_path)
{
	struct deptrace_exec_event ev = exec_sample("/usr/bin/curl");
	union deptrace_record rec;

	memset(ev.argv, 'x', sizeof(ev.argv)); /* past what the kernel sends */
	memset(&rec, 'y', sizeof(rec));
	ck_assert_int_eq(decode_record(&ev, DEPTRACE_EXEC_SENT, &rec), 0);
	ck_assert_str_eq(rec.exec.path, "/usr/bin/curl");
	ck_assert_str_eq(rec.h.comm, "curl");
	for (int i = 0; i < DEPTRACE_EXEC_ARGS; i++)
		ck_assert_str_eq(rec.exec.argv[i], "");
	ck_assert_int_eq(decode_record(&ev, DEPTRACE_EXEC_SENT - 1, &rec), -EINVAL);
}
END_TEST

/* The kernel's argv copy: its length is checked against its buffer. */
START_TEST(test_exec_record_raw_argv_bounded)
{
	struct deptrace_exec_event ev = exec_sample("/usr/bin/curl");
	union deptrace_record rec;

	memcpy(ev.raw_argv, "curl\0-fsS\0", 11);
	ev.raw_len = 11;
	ck_assert_int_eq(decode_record(&ev, DEPTRACE_EXEC_SENT, &rec), 0);
	ck_assert_uint_eq(rec.exec.raw_len, 11);
	ck_assert_mem_eq(rec.exec.raw_argv, "curl\0-fsS\0", 11);
	ev.raw_len = sizeof(ev.raw_argv);
	ck_assert_int_eq(decode_record(&ev, DEPTRACE_EXEC_SENT, &rec), 0);
	ev.raw_len = sizeof(ev.raw_argv) + 1;
	ck_assert_int_eq(decode_record(&ev, DEPTRACE_EXEC_SENT, &rec), -EINVAL);
}
END_TEST

START_TEST(test_short_and_unknown_records)
{
	struct deptrace_connect_event ev;
	union deptrace_record rec;

	memset(&ev, 0, sizeof(ev));
	ev.h.type = DEPTRACE_EVENT_CONNECT;
	ck_assert_int_eq(decode_record(&ev, sizeof(ev), &rec), 0);
	ck_assert_int_eq(decode_record(&ev, sizeof(ev) - 1, &rec), -EINVAL);
	ck_assert_int_eq(decode_record(&ev, sizeof(ev.h) - 1, &rec), -EINVAL);
	ev.h.type = 99;
	ck_assert_int_eq(decode_record(&ev, sizeof(ev), &rec), -EINVAL);
}
END_TEST

START_TEST(test_argv_from_cmdline)
{
	static const char cmdline[] = "curl\0-s\0\0http://forge.example.com/\0";
	struct deptrace_exec_event ev = exec_sample("/usr/bin/curl");

	decode_exec_argv(&ev, cmdline, sizeof(cmdline) - 1);
	ck_assert_str_eq(ev.argv[0], "curl");
	ck_assert_str_eq(ev.argv[1], "-s");
	ck_assert(!ev.argv_unread);
	ck_assert_str_eq(ev.argv[2], ""); /* an empty argument stays one */
	ck_assert_str_eq(ev.argv[3], "http://forge.example.com/");
	ck_assert_str_eq(ev.argv[4], "");
	/* and whole, for what argv[] cuts */
	ck_assert_str_eq(ev.cmdline, "curl -s  http://forge.example.com/");
}
END_TEST

START_TEST(test_argv_bounds)
{
	char cmdline[4096];
	size_t len = 0;
	struct deptrace_exec_event ev = exec_sample("/bin/sh");

	/* ten arguments of 99 bytes, the last without its NUL (a cut read) */
	for (int i = 0; i < 10; i++) {
		memset(cmdline + len, 'a' + i, 99);
		len += 99;
		cmdline[len++] = '\0';
	}
	len--;
	decode_exec_argv(&ev, cmdline, len);
	for (int i = 0; i < DEPTRACE_EXEC_ARGS; i++) {
		ck_assert_uint_eq(strlen(ev.argv[i]), DEPTRACE_EXEC_ARG_LEN - 1);
		ck_assert_int_eq(ev.argv[i][0], 'a' + i);
	}
	ck_assert_uint_eq(strlen(ev.cmdline), DEPTRACE_EXEC_CMDLINE - 1);
	ck_assert_int_eq(ev.cmdline[100], 'b');
	/* an argument cut by the read ends where the bytes do */
	decode_exec_argv(&ev, "sh\0-c\0ech", 9);
	ck_assert_str_eq(ev.argv[2], "ech");
	ck_assert_str_eq(ev.argv[3], "");
}
END_TEST

START_TEST(test_argv_fallback_is_the_path)
{
	struct deptrace_exec_event ev = exec_sample("/usr/lib/apt/methods/http");

	memset(ev.argv, 'z', sizeof(ev.argv)); /* whatever was there goes */
	decode_exec_argv(&ev, NULL, 0);
	ck_assert_str_eq(ev.argv[0], "/usr/lib/apt/methods/http");
	ck_assert_str_eq(ev.cmdline, "");
	ck_assert(ev.argv_unread);
	ck_assert_str_eq(ev.argv[1], "");
}
END_TEST

static Suite *decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, test_exec_record_is_header_and_path);
	tcase_add_test(tc, test_exec_record_raw_argv_bounded);
	tcase_add_test(tc, test_short_and_unknown_records);
	tcase_add_test(tc, test_argv_from_cmdline);
	tcase_add_test(tc, test_argv_bounds);
	tcase_add_test(tc, test_argv_fallback_is_the_path);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(decode_suite());
}
