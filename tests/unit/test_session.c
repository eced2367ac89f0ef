/* Unit tests for lib/session.h: records in, lines and the map out. */
#include "testutil.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "session.h"

static char *scratch;
static char *text;
static size_t text_len;
static struct output out;
static struct session *s;

static void setup(void)
{
	scratch = make_scratch_dir("/tmp", "session");
	write_file(scratch, "proc/100/comm", "deploy.sh\n");
	write_file(scratch, "proc/100/cmdline", "/bin/bash");
	write_file(scratch, "hosts", "192.0.2.99 mirror.example.com\n");
}

static void teardown(void)
{
	session_free(s);
	s = NULL;
	free(text);
	text = NULL;
	remove_scratch_dir(scratch);
}

static void open_session(enum output_format format, bool summary)
{
	char proc[PATH_MAX], hosts[PATH_MAX];
	static char proc_root[PATH_MAX], hosts_path[PATH_MAX];
	struct session_config config = { .out = &out, .summary = summary };

	pathf(proc, "%s/proc", scratch);
	pathf(hosts, "%s/hosts", scratch);
	memcpy(proc_root, proc, sizeof(proc));
	memcpy(hosts_path, hosts, sizeof(hosts));
	config.proc_root = proc_root;
	config.hosts_path = hosts_path;
	out.stream = open_memstream(&text, &text_len);
	out.format = format;
	out.start_ns = 0;
	s = session_new(&config);
	ck_assert_ptr_nonnull(s);
	session_add_process(s, 100, 1, true);
}

static const char *close_output(void)
{
	fclose(out.stream);
	return text;
}

static struct deptrace_header header(uint16_t type, uint32_t pid, uint32_t ppid,
				     const char *comm, uint64_t ts)
{
	struct deptrace_header h = { .ts_ns = ts, .pid = pid, .tid = pid, .ppid = ppid,
				     .type = type };

	snprintf(h.comm, sizeof(h.comm), "%s", comm);
	return h;
}

static void exec_record(uint32_t pid, uint32_t ppid, const char *comm, const char *path)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.exec.h = header(DEPTRACE_EVENT_EXEC, pid, ppid, comm, 1000);
	snprintf(rec.exec.path, sizeof(rec.exec.path), "%s", path);
	snprintf(rec.exec.argv[0], sizeof(rec.exec.argv[0]), "%s", comm);
	snprintf(rec.exec.argv[1], sizeof(rec.exec.argv[1]), "-fsS");
	session_record(s, &rec);
}

/* A one-question DNS message for forge.example.com; with `answer`, a
 * NOERROR response carrying that IPv4 address. */
static size_t dns_message(uint8_t *buf, uint16_t id, uint16_t qtype, const char *answer)
{
	static const uint8_t qname[] = "\x05" "forge" "\x07" "example" "\x03" "com";
	size_t n = 0;

	buf[n++] = id >> 8;
	buf[n++] = id & 0xff;
	buf[n++] = answer ? 0x81 : 0x01; /* QR, RD */
	buf[n++] = answer ? 0x80 : 0x00; /* RA */
	buf[n++] = 0; buf[n++] = 1;      /* one question */
	buf[n++] = 0; buf[n++] = answer ? 1 : 0;
	memset(buf + n, 0, 4);
	n += 4;
	memcpy(buf + n, qname, sizeof(qname));
	n += sizeof(qname);
	buf[n++] = 0; buf[n++] = (uint8_t)qtype;
	buf[n++] = 0; buf[n++] = 1;      /* IN */
	if (answer) {
		const uint8_t record[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };

		memcpy(buf + n, record, sizeof(record));
		n += sizeof(record);
		ck_assert_int_eq(inet_pton(AF_INET, answer, buf + n), 1);
		n += 4;
	}
	return n;
}

static void dns_record(uint32_t pid, uint64_t ts, uint16_t id, uint16_t qtype,
		       const char *answer)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.dns.h = header(DEPTRACE_EVENT_DNS, pid, 100, "curl", ts);
	rec.dns.len = (uint32_t)dns_message(rec.dns.payload, id, qtype, answer);
	rec.dns.full_len = rec.dns.len;
	rec.dns.direction = answer ? DEPTRACE_DNS_RECEIVED : DEPTRACE_DNS_SENT;
	session_record(s, &rec);
}

static void connect_record(uint32_t pid, uint64_t ts, const char *addr, uint16_t port,
			   int result)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_CONNECT, pid, 100, "curl", ts);
	rec.connect.family = AF_INET;
	rec.connect.dport = port;
	rec.connect.proto = DEPTRACE_PROTO_TCP;
	rec.connect.result = result;
	ck_assert_int_eq(inet_pton(AF_INET, addr, rec.connect.daddr), 1);
	session_record(s, &rec);
}

START_TEST(test_lookup_names_the_connection)
{
	const char *t;

	open_session(OUTPUT_TEXT, true);
	exec_record(101, 100, "curl", "/usr/bin/curl");
	dns_record(101, 2000000, 0x1234, 1, NULL);
	dns_record(101, 3000000, 0x1234, 1, "192.0.2.10");
	connect_record(101, 4000000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(101, 5000000, "192.0.2.11", 443, -ECONNREFUSED); /* never resolved */
	connect_record(101, 6000000, "192.0.2.99", 80, 0);             /* /etc/hosts */
	session_finish(s);
	t = close_output();
	ck_assert_msg(strstr(t, "DNS    NOERROR       forge.example.com A -> 192.0.2.10\n"), "%s", t);
	ck_assert_msg(strstr(t, "0.002     101     100     curl"), "the query's time: %s", t);
	ck_assert_msg(strstr(t, "EINPROGRESS   192.0.2.10:443 (forge.example.com)\n"), "%s", t);
	ck_assert_msg(strstr(t, "ECONNREFUSED  192.0.2.11:443\n"), "no guessed name: %s", t);
	ck_assert_msg(strstr(t, "ok            192.0.2.99:80 (mirror.example.com)\n"), "%s", t);
	/* the map: each destination once, with the chain from the root */
	ck_assert_msg(strstr(t, "\nDEPENDENCIES (4)\n"), "%s", t);
	ck_assert_msg(strstr(t, "forge.example.com 192.0.2.10:443  TCP  1 time, 0.004-0.004s: EINPROGRESS x1\n"
				"    deploy.sh > curl x1  (curl /usr/bin/curl)\n"), "%s", t);
	ck_assert_msg(strstr(t, "forge.example.com A  DNS  1 time"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->connections, 3);
	ck_assert_uint_eq(session_totals(s)->lookups, 1);
}
END_TEST

START_TEST(test_unanswered_and_retransmitted)
{
	const char *t;

	open_session(OUTPUT_TEXT, true);
	dns_record(101, 1000000000, 0x2222, 28, NULL);
	dns_record(101, 2000000000, 0x2222, 28, NULL); /* glibc's retry: same id */
	session_expire_lookups(s, 1000000000 + LOOKUP_TIMEOUT_NS - 1);
	ck_assert_uint_eq(session_totals(s)->lookups, 0); /* not yet */
	session_expire_lookups(s, 1000000000 + LOOKUP_TIMEOUT_NS);
	ck_assert_uint_eq(session_totals(s)->lookups, 1);
	t = close_output();
	ck_assert_msg(strstr(t, "1.000     101     100     curl            DNS    NOANSWER      forge.example.com AAAA\n"),
		      "%s", t);
}
END_TEST

START_TEST(test_garbage_is_not_a_lookup)
{
	union deptrace_record rec;

	open_session(OUTPUT_TEXT, true);
	memset(&rec, 0, sizeof(rec));
	rec.dns.h = header(DEPTRACE_EVENT_DNS, 101, 100, "curl", 1);
	rec.dns.len = 40;
	memset(rec.dns.payload, 0xff, 40);
	session_record(s, &rec);
	session_finish(s);
	ck_assert_uint_eq(session_totals(s)->lookups, 0);
	ck_assert_ptr_null(strstr(close_output(), "DNS "));
}
END_TEST

START_TEST(test_json_ends_with_summary)
{
	const char *t, *last;

	open_session(OUTPUT_JSON, false); /* JSON gets its summary object regardless */
	connect_record(100, 1000, "192.0.2.10", 22, -ECONNREFUSED);
	session_finish(s);
	t = close_output();
	ck_assert_msg(!strncmp(t, "{\"type\":\"connect\",", 18), "%s", t);
	last = strstr(t, "\n{\"type\":\"summary\",\"connections\":1,\"lookups\":0,\"lost\":0,");
	ck_assert_msg(last, "%s", t);
	ck_assert_msg(strstr(last, "\"failed\":true,\"results\":{\"ECONNREFUSED\":1}"), "%s", t);
	/* the record renamed the root: comm is what it runs now */
	ck_assert_msg(strstr(last, "\"comm\":\"curl\",\"exe\":\"\",\"chain\":\"curl\""), "%s", t);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("session");
	TCase *tc = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lookup_names_the_connection);
	tcase_add_test(tc, test_unanswered_and_retransmitted);
	tcase_add_test(tc, test_garbage_is_not_a_lookup);
	tcase_add_test(tc, test_json_ends_with_summary);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
