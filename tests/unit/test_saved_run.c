/* Unit tests for reading saved runs (lib/saved_run.h, json_reader.h) and
 * what is made of them: the allow list (policy_gen.h), the differences
 * (run_diff.h), a replay judged by the list. */
#include "testutil.h"

#include "json_reader.h"
#include "policy_gen.h"
#include "replay.h"
#include "run_diff.h"
#include "saved_run.h"

static char *scratch;

static void setup(void)
{
	scratch = make_scratch_dir("/tmp", "saved-run");
}

static void teardown(void)
{
	remove_scratch_dir(scratch);
}

#define RUN_RECORD "{\"type\":\"run\",\"schema\":1,\"deptrace\":\"0.1.0\",\"host\":\"h\"," \
	"\"kernel\":\"6.1\",\"command\":\"-- deploy.sh\",\"start\":\"2026-11-30T13:00:00Z\"," \
	"\"map\":true,\"enforced\":false}\n"

/* A connect event line of curl (PID `pid`) under deploy.sh. */
static void connect_line(FILE *f, unsigned pid, const char *address, unsigned port,
			 const char *name, const char *result)
{
	fprintf(f, "{\"type\":\"connect\",\"time\":0.%09u,\"pid\":%u,\"ppid\":100,"
		"\"comm\":\"curl\",\"exe\":\"/usr/bin/curl\",\"chain\":\"deploy.sh > curl\","
		"\"proto\":\"TCP\",\"address\":\"%s\",\"port\":%u%s%s%s,\"result\":\"%s\","
		"\"failed\":false}\n", pid, pid, address, port, name ? ",\"name\":\"" : "",
		name ? name : "", name ? "\"" : "", result);
}

/* A saved run in the scratch directory: its path (static). */
static const char *saved(const char *file, const char *lines)
{
	static char paths[4][PATH_MAX];
	static int next;
	char *path = paths[next++ % 4];
	FILE *f;

	pathf(path, "%s/%s", scratch, file);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(lines, f);
	fclose(f);
	return path;
}

/* The text a FILE-writing function wrote: the caller frees it. */
static char *captured(FILE *f, char **buf)
{
	fclose(f);
	return *buf;
}

START_TEST(test_json_reader)
{
	struct jsonr_node *root;
	uint64_t v;
	char err[128];

	const char *doc = "{\"a\":[1,\"x\\u00e9\\ud83d\\ude00\"],\"t\":0.5,\"b\":true}";

	ck_assert_int_eq(jsonr_parse(doc, strlen(doc), &root, err, sizeof(err)), 0);
	ck_assert_str_eq(jsonr_string(jsonr_get(root, "a")->child->next), "x\xc3\xa9\xf0\x9f\x98\x80");
	ck_assert_int_eq(jsonr_uint(jsonr_get(root, "a")->child, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(jsonr_fixed9(jsonr_get(root, "t"), &v), 0);
	ck_assert_uint_eq(v, 500000000);
	ck_assert(jsonr_bool(jsonr_get(root, "b"), false));
	jsonr_free(root);
	ck_assert_int_eq(jsonr_parse("{\"a\":1,}", 8, &root, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "column 8: expected a member name");
	ck_assert_int_eq(jsonr_parse("\"\\u0000\"", 8, &root, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(jsonr_parse("\"\\ud800\"", 8, &root, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(jsonr_parse("01", 2, &root, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(jsonr_parse("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
				     68, &root, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "column 34: nested too deep");
}
END_TEST

/* Bad saved runs: one line naming the file, the line and the field. */
START_TEST(test_bad_runs)
{
	struct saved_run *run;
	struct saved_event ev;
	char err[512];

	ck_assert_int_eq(saved_run_open(saved("old.jsonl", "{\"type\":\"connect\"}\n"), &run, err,
					sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "old.jsonl: not a saved deptrace run"), "%s", err);
	ck_assert_int_eq(saved_run_open(saved("new.jsonl", "{\"type\":\"run\",\"schema\":2}\n"),
					&run, err, sizeof(err)), -EPROTO);
	ck_assert_msg(strstr(err, "saved with schema 2; this deptrace reads schema 1"), "%s", err);
	ck_assert_int_eq(saved_run_open(saved("r.jsonl", RUN_RECORD
					      "{\"type\":\"connect\",\"time\":1,\"pid\":1,"
					      "\"ppid\":0,\"comm\":\"x\",\"proto\":\"TCP\","
					      "\"address\":\"300.1.1.1\",\"port\":1,\"result\":\"ok\"}\n"),
					&run, err, sizeof(err)), 0);
	ck_assert_int_eq(saved_run_next(run, &ev, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "r.jsonl:2: the connect event's \"address\" is missing or wrong"),
		      "%s", err);
	saved_run_close(run);
	/* found by fuzz_saved_run: a violation that is not an object */
	ck_assert_int_eq(saved_run_open(saved("v.jsonl", RUN_RECORD
					      "{\"type\":\"exec\",\"time\":1,\"pid\":1,"
					      "\"ppid\":0,\"comm\":\"x\",\"violation\":1}\n"),
					&run, err, sizeof(err)), 0);
	ck_assert_int_eq(saved_run_next(run, &ev, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "v.jsonl:2: the exec event's \"violation\" is missing or wrong"),
		      "%s", err);
	saved_run_close(run);
}
END_TEST

/* The allow list: names with ports, addresses where there was no name,
 * comments with the chains and counts; folding only when asked, never
 * above a registrable domain; and a replay judged by it has no
 * violation. */
START_TEST(test_policy_from_runs)
{
	char *text = NULL, err[512], *paths[2];
	size_t len;
	FILE *f = open_memstream(&text, &len);
	char *lines = NULL;
	size_t lines_len;
	FILE *run = open_memstream(&lines, &lines_len);
	struct run_totals totals;
	struct policy policy = { 0 };
	struct output out;
	char *replayed = NULL;
	size_t replayed_len;

	fputs(RUN_RECORD, run);
	connect_line(run, 101, "192.0.2.10", 443, "a.example.com", "EINPROGRESS");
	connect_line(run, 102, "192.0.2.11", 443, "b.example.com", "EINPROGRESS");
	connect_line(run, 103, "192.0.2.12", 443, "c.example.com", "EINPROGRESS");
	connect_line(run, 104, "192.0.2.13", 80, "d.example.com", "ok");
	connect_line(run, 105, "192.0.2.14", 443, "a.example.co.uk", "ok");
	connect_line(run, 106, "192.0.2.15", 443, "b.example.co.uk", "ok");
	connect_line(run, 107, "192.0.2.16", 443, "www.co.uk", "ok");
	connect_line(run, 108, "192.0.2.17", 443, "shop.co.uk", "ok");
	connect_line(run, 109, "127.0.0.53", 53, NULL, "ok");
	connect_line(run, 110, "2001:db8::1", 443, NULL, "ok");
	connect_line(run, 111, "192.0.2.66", 443, NULL, "EPERM (blocked)");
	fclose(run);
	paths[0] = (char *)saved("one.jsonl", lines);
	paths[1] = (char *)saved("two.jsonl", lines);
	free(lines);

	ck_assert_int_eq(policy_generate((const char *const *)paths, 1, 0, f, err, sizeof(err)), 0);
	captured(f, &text);
	ck_assert_msg(strstr(text, "\n# deploy.sh > curl x1 (1 connection in 1 run)\nallow a.example.com:443\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nallow d.example.com:80\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nallow 127.0.0.53:53\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nallow [2001:db8::1]:443\n"), "%s", text);
	ck_assert_msg(!strstr(text, "192.0.2.66"), "a refused attempt is not allowed: %s", text);
	ck_assert_msg(strstr(text, "# 1 attempt refused by the policy in force: left out.\n"), "%s", text);
	ck_assert_msg(!strstr(text, "192.0.2.10"), "a named destination by address: %s", text);
	ck_assert_msg(!strstr(text, "*."), "folded unasked: %s", text);
	free(text);

	f = open_memstream(&text, &len);
	ck_assert_int_eq(policy_generate((const char *const *)paths, 2, 2, f, err, sizeof(err)), 0);
	captured(f, &text);
	ck_assert_msg(strstr(text, "\n# deploy.sh > curl x6 (6 connections in 2 runs)\nallow *.example.com:443\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nallow d.example.com:80\n"), "another port: %s", text);
	ck_assert_msg(strstr(text, "\nallow *.example.co.uk:443\n"), "%s", text);
	ck_assert_msg(strstr(text, "\nallow www.co.uk:443\n") && strstr(text, "\nallow shop.co.uk:443\n"),
		      "never *.co.uk: %s", text);
	ck_assert_msg(!strstr(text, "allow a.example.com"), "%s", text);

	/* fed back: no violation */
	ck_assert_int_eq(policy_load_file(&policy, saved("deploy.policy", text), err, sizeof(err)), 0);
	free(text);
	for (int i = 0; i < 2; i++) {
		struct replay_config config = { .path = paths[i], .out = &out, .policy = &policy };

		output_init(&out, open_memstream(&replayed, &replayed_len), OUTPUT_TEXT);
		ck_assert_msg(!replay_run(&config, &totals, err, sizeof(err)), "%s", err);
		captured(out.stream, &replayed);
		ck_assert_uint_eq(totals.connections, 11);
		/* only the attempt refused then is one now */
		ck_assert_msg(totals.violations == 1 && strstr(replayed, "192.0.2.66:443  VIOLATION"),
			      "%s", replayed);
		free(replayed);
	}
	policy_free(&policy);
	ck_assert_uint_eq(policy_gen_suffix_labels("a.example.co.uk"), 2);
	ck_assert_uint_eq(policy_gen_suffix_labels("example.com"), 1);
	ck_assert_uint_eq(policy_gen_suffix_labels("co.uk"), 2);
}
END_TEST

/* Keys: name (address without one), port, protocol, program; PIDs and
 * times do not count; added, removed and changed results are told. */
START_TEST(test_diff)
{
	char *lines = NULL, *text = NULL, err[512];
	size_t len;
	FILE *f = open_memstream(&lines, &len);
	const char *old_path, *new_path;
	struct run_diff_totals totals;

	fputs(RUN_RECORD, f);
	connect_line(f, 101, "192.0.2.10", 443, "forge.example.com", "EINPROGRESS");
	connect_line(f, 102, "192.0.2.11", 80, "api.internal.example", "ok");
	connect_line(f, 103, "192.0.2.12", 22, NULL, "ok");
	fclose(f);
	old_path = saved("old.jsonl", lines);
	free(lines);
	f = open_memstream(&lines, &len);
	fputs(RUN_RECORD, f);
	/* another PID and time, another address for the same name: the same */
	connect_line(f, 201, "192.0.2.20", 443, "forge.example.com", "EINPROGRESS");
	connect_line(f, 202, "192.0.2.11", 80, "api.internal.example", "ECONNREFUSED");
	connect_line(f, 203, "192.0.2.13", 443, "new.example.com", "ok");
	fclose(f);
	new_path = saved("new.jsonl", lines);
	free(lines);

	f = open_memstream(&text, &len);
	ck_assert_int_eq(run_diff(old_path, new_path, f, &totals, err, sizeof(err)), 0);
	captured(f, &text);
	ck_assert_str_eq(text,
			 "- 192.0.2.12:22 TCP (/usr/bin/curl)  ok x1  deploy.sh > curl\n"
			 "~ api.internal.example:80 TCP (/usr/bin/curl)  result ok -> ECONNREFUSED\n"
			 "+ new.example.com:443 TCP (/usr/bin/curl)  ok x1  deploy.sh > curl\n");
	ck_assert_uint_eq(totals.added, 1);
	ck_assert_uint_eq(totals.removed, 1);
	ck_assert_uint_eq(totals.changed, 1);
	free(text);
	f = open_memstream(&text, &len);
	ck_assert_int_eq(run_diff(old_path, old_path, f, &totals, err, sizeof(err)), 0);
	captured(f, &text);
	ck_assert_str_eq(text, "");
	ck_assert_uint_eq(totals.added + totals.removed + totals.changed, 0);
	free(text);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("saved_run");
	TCase *tc = tcase_create("saved_run");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_json_reader);
	tcase_add_test(tc, test_bad_runs);
	tcase_add_test(tc, test_policy_from_runs);
	tcase_add_test(tc, test_diff);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
