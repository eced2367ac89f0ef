/* Unit tests for lib/event_format.h and lib/output.h. */
#include "testutil.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "event_format.h"
#include "output.h"

#define FULL_V6 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

static struct deptrace_connect_event make_event(int family, const char *addr, unsigned port)
{
	struct deptrace_connect_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.family = (__u16)family;
	ev.dport = (__u16)port;
	ck_assert_msg(inet_pton(family, addr, ev.daddr) == 1, "bad test address %s", addr);
	return ev;
}

/* A record's destination, as the session takes it (event_address) and
 * the output shows it (format_endpoint). */
static void format_destination(const struct deptrace_connect_event *ev, char *buf, size_t len)
{
	uint8_t addr[16];

	event_address(ev, addr);
	format_endpoint(addr, ev->dport, buf, len);
}

/* format_destination into a buffer of DESTINATION_LEN pre-filled with junk. */
static void assert_destination(const struct deptrace_connect_event *ev, const char *want)
{
	char buf[DESTINATION_LEN];

	memset(buf, 'X', sizeof(buf));
	format_destination(ev, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
}

START_TEST(test_ipv4)
{
	struct deptrace_connect_event ev = make_event(AF_INET, "192.0.2.10", 443);

	assert_destination(&ev, "192.0.2.10:443");
	/* only the first 4 bytes of daddr belong to an IPv4 address */
	memset(ev.daddr + 4, 0xee, sizeof(ev.daddr) - 4);
	assert_destination(&ev, "192.0.2.10:443");
}
END_TEST

START_TEST(test_ipv6)
{
	struct deptrace_connect_event ev = make_event(AF_INET6, "2001:db8::53", 53);

	assert_destination(&ev, "[2001:db8::53]:53");
	ev = make_event(AF_INET6, "::1", 8080);
	assert_destination(&ev, "[::1]:8080");
}
END_TEST

START_TEST(test_ipv4_mapped_ipv6)
{
	struct deptrace_connect_event ev = make_event(AF_INET6, "::ffff:192.0.2.11", 22);

	assert_destination(&ev, "192.0.2.11:22");
	/* the same last 4 bytes without the ::ffff: prefix are IPv6 */
	ev = make_event(AF_INET6, "::fffe:c000:20b", 22);
	assert_destination(&ev, "[::fffe:c000:20b]:22");
}
END_TEST

START_TEST(test_port_bounds)
{
	struct deptrace_connect_event ev = make_event(AF_INET, "198.51.100.1", 0);

	assert_destination(&ev, "198.51.100.1:0");
	ev.dport = 65535;
	assert_destination(&ev, "198.51.100.1:65535");
	ev = make_event(AF_INET6, "2001:db8::1", 0);
	assert_destination(&ev, "[2001:db8::1]:0");
}
END_TEST

START_TEST(test_longest_destination_fits)
{
	struct deptrace_connect_event ev = make_event(AF_INET6, FULL_V6, 65535);
	const char *want = "[" FULL_V6 "]:65535";

	ck_assert_uint_eq(strlen(want), DESTINATION_LEN - 1);
	assert_destination(&ev, want);
	/* the longest IPv4 form is well inside too */
	ev = make_event(AF_INET, "255.255.255.255", 65535);
	assert_destination(&ev, "255.255.255.255:65535");
}
END_TEST

START_TEST(test_small_buffer_truncates_safely)
{
	struct {
		char buf[8];
		char guard[8];
	} mem;
	struct deptrace_connect_event ev = make_event(AF_INET6, "2001:db8::53", 53);

	memset(&mem, 'G', sizeof(mem));
	format_destination(&ev, mem.buf, sizeof(mem.buf));
	ck_assert_str_eq(mem.buf, "[2001:d");
	for (size_t i = 0; i < sizeof(mem.guard); i++)
		ck_assert_int_eq(mem.guard[i], 'G');
}
END_TEST

static void assert_result(int result, const char *want)
{
	char buf[32];

	memset(buf, 'X', sizeof(buf));
	format_result(result, buf, sizeof(buf));
	ck_assert_str_eq(buf, want);
}

START_TEST(test_results)
{
	assert_result(0, "ok");
	assert_result(-ECONNREFUSED, "ECONNREFUSED");
	assert_result(-EINPROGRESS, "EINPROGRESS");
	assert_result(-ENETUNREACH, "ENETUNREACH");
	assert_result(-ETIMEDOUT, "ETIMEDOUT");
	assert_result(-EACCES, "EACCES");
	assert_result(-4000, "ERRNO4000");
}
END_TEST

START_TEST(test_proto_names)
{
	ck_assert_str_eq(proto_name(DEPTRACE_PROTO_TCP), "TCP");
	ck_assert_str_eq(proto_name(DEPTRACE_PROTO_UDP), "UDP");
	ck_assert_str_eq(proto_name(DEPTRACE_PROTO_UNKNOWN), "?");
	ck_assert_str_eq(proto_name(99), "?");
}
END_TEST

/* output: a memory stream and what was written to it. */
struct captured {
	FILE *stream;
	char *text;
	size_t len;
};

static void capture_open(struct captured *cap, struct output *out, uint64_t start_ns,
			 enum output_format format)
{
	cap->text = NULL;
	cap->len = 0;
	cap->stream = open_memstream(&cap->text, &cap->len);
	ck_assert_ptr_nonnull(cap->stream);
	output_init(out, cap->stream, format);
	out->start_ns = start_ns;
}

static void capture_close(struct captured *cap)
{
	ck_assert_int_eq(fclose(cap->stream), 0);
}

/* Splits the captured text into lines (in place); returns how many. */
static size_t split_lines(char *text, char **lines, size_t max)
{
	size_t n = 0;
	char *nl;

	while (*text && n < max) {
		nl = strchr(text, '\n');
		ck_assert_msg(nl != NULL, "unterminated line '%s'", text);
		*nl = '\0';
		lines[n++] = text;
		text = nl + 1;
	}
	ck_assert_msg(*text == '\0', "more lines than expected");
	return n;
}

/* Offset of `word` in `line`, where it must stand exactly once as a whole
 * space-delimited column. */
static long column_of(const char *line, const char *word)
{
	size_t len = strlen(word);
	long found = -1;

	for (const char *at = strstr(line, word); at; at = strstr(at + 1, word)) {
		if ((at != line && at[-1] != ' ') || (at[len] != ' ' && at[len] != '\0'))
			continue;
		ck_assert_msg(found < 0, "'%s' twice in '%s'", word, line);
		found = at - line;
	}
	ck_assert_msg(found >= 0, "no column '%s' in '%s'", word, line);
	return found;
}

/* The event of a connect record with nothing known beyond the record
 * (the session fills in the rest); `result` holds its result. */
static struct event connect_event(const struct deptrace_connect_event *rec,
				  char result[DEP_RESULT_LEN])
{
	struct event ev = { .kind = EVENT_CONNECT, .ts_ns = rec->h.ts_ns, .pid = rec->h.pid,
			    .ppid = rec->h.ppid, .comm = rec->h.comm, .proto = rec->proto,
			    .port = rec->dport, .result = result,
			    .failed = connect_failed(rec->result) };

	event_address(rec, ev.addr);
	format_connect_result(rec, result, DEP_RESULT_LEN);
	return ev;
}

static void emit(struct output *out, const struct deptrace_connect_event *rec)
{
	char result[DEP_RESULT_LEN];
	struct event ev = connect_event(rec, result);

	output_event(out, &ev);
}

static const char *const header_columns[] = {
	"TIME(s)", "PID", "PPID", "COMM", "PROTO", "RESULT", "DESTINATION",
};

START_TEST(test_header)
{
	struct captured cap;
	struct output out;
	char *lines[4];
	long prev = -1;

	capture_open(&cap, &out, 0, OUTPUT_TEXT);
	output_header(&out, NULL);
	capture_close(&cap);
	ck_assert_uint_eq(split_lines(cap.text, lines, 4), 1);
	ck_assert_msg(strncmp(lines[0], "TIME(s) ", 8) == 0, "header '%s'", lines[0]);
	for (size_t i = 0; i < sizeof(header_columns) / sizeof(header_columns[0]); i++) {
		long col = column_of(lines[0], header_columns[i]);

		ck_assert_msg(col > prev, "%s out of order in '%s'", header_columns[i],
			      lines[0]);
		prev = col;
	}
	/* the last column ends the line */
	ck_assert_str_eq(lines[0] + prev, "DESTINATION");
	free(cap.text);
}
END_TEST

START_TEST(test_event_line)
{
	const uint64_t start = 5000000000000ULL;
	struct deptrace_connect_event ev = make_event(AF_INET, "192.0.2.10", 443);
	struct captured cap;
	struct output out;
	char *lines[4];
	const char *values[] = { "1.500", "4242", "4200", "curl", "TCP",
				 "ECONNREFUSED", "192.0.2.10:443" };

	ev.h.ts_ns = start + 1500000000ULL;
	ev.h.pid = 4242;
	ev.h.tid = 4243;
	ev.h.ppid = 4200;
	ev.result = -ECONNREFUSED;
	ev.proto = DEPTRACE_PROTO_TCP;
	snprintf(ev.h.comm, sizeof(ev.h.comm), "curl");

	capture_open(&cap, &out, start, OUTPUT_TEXT);
	output_header(&out, NULL);
	emit(&out, &ev);
	capture_close(&cap);
	ck_assert_uint_eq(split_lines(cap.text, lines, 4), 2);
	ck_assert_msg(strncmp(lines[1], "1.500 ", 6) == 0, "line '%s'", lines[1]);
	ck_assert_ptr_null(strstr(lines[1], "4243")); /* the thread is not shown */
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		ck_assert_msg(column_of(lines[0], header_columns[i]) ==
				      column_of(lines[1], values[i]),
			      "%s not under %s:\n%s\n%s", values[i], header_columns[i],
			      lines[0], lines[1]);
	/* the class last: the command's own, no chain */
	ck_assert_str_eq(lines[1] + column_of(lines[1], "192.0.2.10:443"), "192.0.2.10:443  direct");
	free(cap.text);
}
END_TEST

/* The widest values keep every column in place. */
START_TEST(test_wide_values_stay_aligned)
{
	const uint64_t start = 1000;
	struct deptrace_connect_event ev = make_event(AF_INET6, FULL_V6, 65535);
	struct captured cap;
	struct output out;
	char *lines[4];
	const char *values[] = { "86399.999", "4194304", "4194303", "abcdefghijklmno",
				 "UDP", "EINPROGRESS", "[" FULL_V6 "]:65535" };

	ev.h.ts_ns = start + 86399999000000ULL;
	ev.h.pid = 4194304;
	ev.h.ppid = 4194303;
	ev.result = -EINPROGRESS;
	ev.proto = DEPTRACE_PROTO_UDP;
	/* the longest name a process has (test_session: a full comm field) */
	snprintf(ev.h.comm, sizeof(ev.h.comm), "abcdefghijklmno");

	capture_open(&cap, &out, start, OUTPUT_TEXT);
	output_header(&out, NULL);
	emit(&out, &ev);
	capture_close(&cap);
	ck_assert_uint_eq(split_lines(cap.text, lines, 4), 2);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		ck_assert_msg(column_of(lines[0], header_columns[i]) ==
				      column_of(lines[1], values[i]),
			      "%s not under %s:\n%s\n%s", values[i], header_columns[i],
			      lines[0], lines[1]);
	free(cap.text);
}
END_TEST

START_TEST(test_time_is_relative_to_start)
{
	const uint64_t start = 7000000000ULL;
	struct deptrace_connect_event ev = make_event(AF_INET, "127.0.0.1", 80);
	struct captured cap;
	struct output out;
	char *lines[4];

	ev.h.pid = ev.h.ppid = 1;
	snprintf(ev.h.comm, sizeof(ev.h.comm), "x");

	capture_open(&cap, &out, start, OUTPUT_TEXT);
	ev.h.ts_ns = start;
	emit(&out, &ev);
	ev.h.ts_ns = start + 123456789ULL;
	emit(&out, &ev);
	ev.h.ts_ns = start + 61000000000ULL;
	ev.result = -4000;
	emit(&out, &ev);
	ev.h.ts_ns = start - 5; /* an event stamped just before the start */
	ev.result = 0;
	emit(&out, &ev);
	capture_close(&cap);
	ck_assert_uint_eq(split_lines(cap.text, lines, 4), 4);
	ck_assert_msg(strncmp(lines[0], "0.000 ", 6) == 0, "'%s'", lines[0]);
	ck_assert_msg(strncmp(lines[1], "0.123 ", 6) == 0, "'%s'", lines[1]);
	ck_assert_msg(strncmp(lines[2], "61.000 ", 7) == 0, "'%s'", lines[2]);
	ck_assert_ptr_nonnull(strstr(lines[2], " ERRNO4000"));
	ck_assert_msg(strncmp(lines[3], "0.000 ", 6) == 0, "'%s'", lines[3]);
	ck_assert_ptr_nonnull(strstr(lines[3], " ok"));
	free(cap.text);
}
END_TEST

/* The same event as JSON: one object, names and strings escaped. */
START_TEST(test_json_connection)
{
	struct deptrace_connect_event ev = make_event(AF_INET6, "::ffff:192.0.2.11", 22);
	char result[DEP_RESULT_LEN];
	struct event view;
	struct captured cap;
	struct output out;

	ev.h.ts_ns = 2500000;
	ev.h.pid = 7;
	ev.h.ppid = 6;
	ev.result = -ECONNREFUSED;
	ev.proto = DEPTRACE_PROTO_TCP;
	snprintf(ev.h.comm, sizeof(ev.h.comm), "a\"b\\c\n");
	view = connect_event(&ev, result);
	view.chain = "deploy.sh > git";
	view.name = "forge.example.com";
	capture_open(&cap, &out, 0, OUTPUT_JSON);
	output_header(&out, NULL); /* nothing in JSON */
	output_event(&out, &view);
	capture_close(&cap);
	ck_assert_str_eq(cap.text,
			 "{\"type\":\"connect\",\"time\":0.002500000,\"pid\":7,\"ppid\":6,"
			 "\"comm\":\"a\\\"b\\\\c\\u000a\",\"chain\":\"deploy.sh > git\","
			 "\"proto\":\"TCP\",\"address\":\"192.0.2.11\",\"port\":22,"
			 "\"name\":\"forge.example.com\",\"result\":\"ECONNREFUSED\",\"failed\":true,"
			 "\"class\":\"direct\"}\n");
	free(cap.text);
}
END_TEST

START_TEST(test_lookup_line)
{
	struct deptrace_header h = { .ts_ns = 1000000000, .pid = 9, .ppid = 8, .comm = "curl" };
	uint8_t addrs[2][16] = { { 0 } };
	struct event view = { .kind = EVENT_LOOKUP, .ts_ns = h.ts_ns, .pid = h.pid,
			      .ppid = h.ppid, .comm = h.comm, .qname = "forge.example.com",
			      .qtype = "A", .result = "NOERROR", .answers = addrs, .nanswers = 2 };
	struct captured cap;
	struct output out;
	char *lines[4];

	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.10", addrs[0]), 1);
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::10", addrs[1]), 1);
	capture_open(&cap, &out, 0, OUTPUT_TEXT);
	output_header(&out, NULL);
	output_event(&out, &view);
	capture_close(&cap);
	ck_assert_uint_eq(split_lines(cap.text, lines, 4), 2);
	ck_assert_int_eq(column_of(lines[0], "PROTO"), column_of(lines[1], "DNS"));
	ck_assert_int_eq(column_of(lines[0], "RESULT"), column_of(lines[1], "NOERROR"));
	ck_assert_str_eq(lines[1] + column_of(lines[0], "DESTINATION"),
			 "forge.example.com A -> 192.0.2.10, 2001:db8::10  direct");
	free(cap.text);
}
END_TEST

/* What a traced program chose (its name, arguments, a name it resolved)
 * may hold ESC, CR, LF or bytes that are not UTF-8: text shows the control
 * bytes in a visible form and stays one line; JSON stays valid UTF-8. */
static const char hostile_comm[] = "a\x1b[2Jb\rc";
static const char hostile_args[] = "curl\n0.000 1 1 fake TCP ok \x7f\xff";
static const char hostile_name[] = "evil\x1b]0;t\x07.example";

static struct event hostile_event(const struct deptrace_connect_event *rec,
				  char result[DEP_RESULT_LEN], struct proc_info *proc)
{
	struct event ev = connect_event(rec, result);

	memset(proc, 0, sizeof(*proc));
	snprintf(proc->exe, sizeof(proc->exe), "/usr/bin/curl");
	snprintf(proc->args, sizeof(proc->args), "%s", hostile_args);
	ev.comm = hostile_comm;
	ev.proc = proc;
	ev.chain = "deploy.sh > a\x1b[2Jb\rc";
	ev.name = hostile_name;
	return ev;
}

START_TEST(test_text_shows_control_bytes)
{
	struct deptrace_connect_event rec = make_event(AF_INET, "192.0.2.10", 443);
	char result[DEP_RESULT_LEN];
	static struct event_violation violation = { .rule = "deny 192.0.2.0/24" };
	struct proc_info proc;
	struct event ev = hostile_event(&rec, result, &proc);
	struct captured cap;
	struct output out;
	char *lines[2];

	ev.violation = &violation; /* hidden: the chain is shown too */
	ev.class = CLASS_HIDDEN;
	ev.evidence = "not in a\x1b[2Jb\rc's argv";
	capture_open(&cap, &out, 0, OUTPUT_TEXT);
	output_event(&out, &ev);
	capture_close(&cap);
	ck_assert_uint_eq(split_lines(cap.text, lines, 2), 1);
	for (const char *c = lines[0]; *c; c++)
		ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f,
			      "raw control byte 0x%02x in '%s'", (unsigned char)*c, lines[0]);
	ck_assert_ptr_nonnull(strstr(lines[0], " a\\x1b[2Jb\\x0dc "));
	ck_assert_ptr_nonnull(strstr(lines[0], "(evil\\x1b]0;t\\x07.example)"));
	ck_assert_ptr_nonnull(strstr(lines[0], "VIOLATION hidden (deploy.sh > a\\x1b[2Jb\\x0dc; "
					       "not in a\\x1b[2Jb\\x0dc's argv): deny"));
	free(cap.text);
}
END_TEST

/* Whether `s` is valid UTF-8 holding no raw control byte. */
static bool valid_utf8_text(const unsigned char *s)
{
	while (*s) {
		size_t n = *s < 0x80 ? 1 : (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3
			 : (*s & 0xf8) == 0xf0 ? 4 : 0;

		if (!n || (*s < 0x20 && *s != '\n'))
			return false;
		for (size_t i = 1; i < n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return false;
		s += n;
	}
	return true;
}

START_TEST(test_json_stays_valid_utf8)
{
	struct deptrace_connect_event rec = make_event(AF_INET, "192.0.2.10", 443);
	char result[DEP_RESULT_LEN];
	struct proc_info proc;
	struct event ev = hostile_event(&rec, result, &proc);
	struct captured cap;
	struct output out;

	capture_open(&cap, &out, 0, OUTPUT_JSON);
	output_event(&out, &ev);
	capture_close(&cap);
	ck_assert_msg(valid_utf8_text((const unsigned char *)cap.text), "not valid: %s", cap.text);
	ck_assert_ptr_nonnull(strstr(cap.text, "\"comm\":\"a\\u001b[2Jb\\u000dc\""));
	ck_assert_ptr_nonnull(strstr(cap.text,
				     "\"args\":\"curl\\u000a0.000 1 1 fake TCP ok \\u007f\\ufffd\""));
	ck_assert_ptr_nonnull(strstr(cap.text, "\"name\":\"evil\\u001b]0;t\\u0007.example\""));
	free(cap.text);
}
END_TEST

/* WAIT is drawn from whole microseconds, as JSON's latency_ms carries
 * them: the same microseconds print the same, live or replayed. */
START_TEST(test_wait_column)
{
	static const struct {
		uint64_t ns;
		const char *text;
	} cases[] = {
		{ 0, "0us" },           { 499, "0us" },          { 500, "1us" },
		{ 37400, "37us" },      { 99499, "99us" },       { 99500, "0.1ms" },
		{ 400000, "0.4ms" },    { 1249000, "1.2ms" },    { 1250000, "1.3ms" },
		{ 9949000, "9.9ms" },   { 10000000, "10ms" },    { 120400000, "120ms" },
		{ 999499000, "999ms" }, { 2000000000, "2.0s" },  { 30040000000ull, "30.0s" },
		{ 127000000000ull, "127s" },
	};
	char buf[WAIT_LEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		format_wait(cases[i].ns, buf, sizeof(buf));
		ck_assert_msg(!strcmp(buf, cases[i].text), "%llu ns: %s, not %s",
			      (unsigned long long)cases[i].ns, buf, cases[i].text);
		/* what a replay reads back from latency_ms prints the same */
		format_wait(wait_us(cases[i].ns) * 1000, buf, sizeof(buf));
		ck_assert_str_eq(buf, cases[i].text);
	}
}
END_TEST

static Suite *event_format_suite(void)
{
	Suite *s = suite_create("event_format");
	TCase *format = tcase_create("format");
	TCase *output = tcase_create("output");

	tcase_add_test(format, test_ipv4);
	tcase_add_test(format, test_json_connection);
	tcase_add_test(format, test_lookup_line);
	tcase_add_test(format, test_ipv6);
	tcase_add_test(format, test_ipv4_mapped_ipv6);
	tcase_add_test(format, test_port_bounds);
	tcase_add_test(format, test_longest_destination_fits);
	tcase_add_test(format, test_small_buffer_truncates_safely);
	tcase_add_test(format, test_results);
	tcase_add_test(format, test_proto_names);
	tcase_add_test(format, test_wait_column);
	suite_add_tcase(s, format);

	tcase_add_test(output, test_header);
	tcase_add_test(output, test_event_line);
	tcase_add_test(output, test_wide_values_stay_aligned);
	tcase_add_test(output, test_time_is_relative_to_start);
	tcase_add_test(output, test_text_shows_control_bytes);
	tcase_add_test(output, test_json_stays_valid_utf8);
	suite_add_tcase(s, output);
	return s;
}

int main(void)
{
	return run_suite(event_format_suite());
}
