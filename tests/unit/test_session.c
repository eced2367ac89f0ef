/* Unit tests for lib/session.h: records in, lines and the map out. */
#include "testutil.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include "dns.h"
#include "replay.h"
#include "session.h"

/* what curl (argv "curl -fsS", PID 101) reaches, started by deploy.sh */
#define CURL_HIDDEN "  hidden (deploy.sh > curl; not in curl's argv)"

static char *scratch;
static char *text;
static size_t text_len;
static struct output out;
static struct session *s;
static struct policy policy;  /* judged by, when it has rules */
static bool enforcing;
/* Whether the policy's hook saw the connects that follow (it does, but
 * for a socket made outside the cgroup). */
static bool judged_by_policy = true;
static uint64_t outcome_wait_ns; /* the next connect's wait_ns */
static FILE *graph;           /* the run's graph goes there, when set */

/* What the session told the user, one line after another. */
static char said[4096];

static void say_line(void *ctx, const char *line)
{
	(void)ctx;
	snprintf(said + strlen(said), sizeof(said) - strlen(said), "%s\n", line);
}

static void setup(void)
{
	said[0] = '\0';
	scratch = make_scratch_dir("/tmp", "session");
	write_file(scratch, "proc/100/comm", "deploy.sh\n");
	write_file(scratch, "proc/100/cmdline", "/bin/bash");
	write_file(scratch, "hosts", "192.0.2.99 mirror.example.com\n");
}

static void teardown(void)
{
	session_free(s);
	s = NULL;
	policy_free(&policy);
	enforcing = false;
	judged_by_policy = true;
	outcome_wait_ns = 0;
	free(text);
	text = NULL;
	remove_scratch_dir(scratch);
}

static void open_session(enum output_format format, bool summary)
{
	char proc[PATH_MAX], hosts[PATH_MAX];
	static char proc_root[PATH_MAX], hosts_path[PATH_MAX];
	struct session_config config = { .out = &out, .summary = summary, .policy = &policy,
					 .enforcing = enforcing, .graph = graph,
					 .messages = { .line = say_line } };

	pathf(proc, "%s/proc", scratch);
	pathf(hosts, "%s/hosts", scratch);
	memcpy(proc_root, proc, sizeof(proc));
	memcpy(hosts_path, hosts, sizeof(hosts));
	config.proc_root = proc_root;
	config.hosts_path = hosts_path;
	output_init(&out, open_memstream(&text, &text_len), format);
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

/* A session with the map, in which the root (deploy.sh, PID 100) has
 * started curl (PID 101). */
static void open_with_curl(enum output_format format)
{
	open_session(format, true);
	exec_record(101, 100, "curl", "/usr/bin/curl");
}

/* Ends the run: its whole output. */
static const char *finish(void)
{
	session_finish(s);
	return close_output();
}

/* A one-question DNS message for `name`; with `answer`, a NOERROR
 * response carrying that IPv4 address. */
static size_t dns_message_for(uint8_t *buf, const char *name, uint16_t id, uint16_t qtype,
			      const char *answer)
{
	uint8_t qname[DNS_NAME_LEN + 1];
	size_t n = 0, q = 0;

	/* wire form: each label after its length, the final zero added below */
	for (const char *label = name; *label;) {
		size_t len = strcspn(label, ".");

		qname[q++] = (uint8_t)len;
		memcpy(qname + q, label, len);
		q += len;
		label += len + (label[len] == '.');
	}
	qname[q++] = 0;

	buf[n++] = id >> 8;
	buf[n++] = id & 0xff;
	buf[n++] = answer ? 0x81 : 0x01; /* QR, RD */
	buf[n++] = answer ? 0x80 : 0x00; /* RA */
	buf[n++] = 0; buf[n++] = 1;      /* one question */
	buf[n++] = 0; buf[n++] = answer ? 1 : 0;
	memset(buf + n, 0, 4);
	n += 4;
	memcpy(buf + n, qname, q);
	n += q;
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

/* A query for `name` from process `pid` (sent), or its answer (received,
 * with `answer`). */
static void dns_record_for(uint32_t pid, const char *name, uint64_t ts, uint16_t id,
			   uint16_t qtype, const char *answer)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.dns.h = header(DEPTRACE_EVENT_DNS, pid, 100, "curl", ts);
	rec.dns.len = (uint32_t)dns_message_for(rec.dns.payload, name, id, qtype, answer);
	rec.dns.full_len = rec.dns.len;
	rec.dns.direction = answer ? DEPTRACE_DNS_RECEIVED : DEPTRACE_DNS_SENT;
	session_record(s, &rec);
}

static void dns_record(uint32_t pid, uint64_t ts, uint16_t id, uint16_t qtype,
		       const char *answer)
{
	dns_record_for(pid, "forge.example.com", ts, id, qtype, answer);
}

/* Process `pid` asks for `name` (A) at `ts` and is answered `addr` 0.1 ms
 * later. */
static void resolve(uint32_t pid, const char *name, uint64_t ts, uint16_t id, const char *addr)
{
	dns_record_for(pid, name, ts, id, 1, NULL);
	dns_record_for(pid, name, ts + 100000, id, 1, addr);
}

/* A connect event from curl (or, with type DEPTRACE_EVENT_SEND_BLOCKED, a
 * refused datagram). */
static void attempt_record_by(uint16_t type, uint32_t pid, uint32_t ppid, uint64_t ts,
			      const char *addr, uint16_t port, int result, bool blocked)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(type, pid, ppid, "curl", ts);
	rec.connect.family = AF_INET;
	rec.connect.dport = port;
	rec.connect.proto = type == DEPTRACE_EVENT_SEND_BLOCKED ? DEPTRACE_PROTO_UDP : DEPTRACE_PROTO_TCP;
	rec.connect.result = result;
	rec.connect.blocked = blocked;
	rec.connect.judged = judged_by_policy;
	rec.connect.wait_ns = outcome_wait_ns;
	ck_assert_int_eq(inet_pton(AF_INET, addr, rec.connect.daddr), 1);
	session_record(s, &rec);
}

/* ... from a child of the root */
static void attempt_record(uint16_t type, uint32_t pid, uint64_t ts, const char *addr,
			   uint16_t port, int result, bool blocked)
{
	attempt_record_by(type, pid, 100, ts, addr, port, result, blocked);
}

static void connect_record(uint32_t pid, uint64_t ts, const char *addr, uint16_t port,
			   int result)
{
	attempt_record(DEPTRACE_EVENT_CONNECT, pid, ts, addr, port, result, false);
}

static void rule(enum rule_action action, const char *written)
{
	char err[256];

	ck_assert_msg(!policy_add_rule(&policy, action, written, "--test", err, sizeof(err)), "%s", err);
}

START_TEST(test_lookup_names_the_connection)
{
	const char *t;

	open_with_curl(OUTPUT_TEXT);
	dns_record(101, 2000000, 0x1234, 1, NULL);
	dns_record(101, 3000000, 0x1234, 1, "192.0.2.10");
	connect_record(101, 4000000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(101, 5000000, "192.0.2.11", 443, -ECONNREFUSED); /* never resolved */
	connect_record(101, 6000000, "192.0.2.99", 80, 0);             /* /etc/hosts */
	t = finish();
	ck_assert_msg(strstr(t, "DNS    NOERROR       1.0ms   forge.example.com A -> 192.0.2.10" CURL_HIDDEN "\n"), "%s", t);
	/* a lookup's time is its answer's: lines stay in time order */
	ck_assert_msg(strstr(t, "0.003     101     100     curl            DNS"), "the answer's time: %s", t);
	ck_assert_msg(strstr(t, "EINPROGRESS   -       192.0.2.10:443 (forge.example.com)" CURL_HIDDEN "\n"), "%s", t);
	ck_assert_msg(strstr(t, "ECONNREFUSED  -       192.0.2.11:443" CURL_HIDDEN "\n"), "no guessed name: %s", t);
	ck_assert_msg(strstr(t, "ok            -       192.0.2.99:80 (mirror.example.com)" CURL_HIDDEN "\n"), "%s", t);
	/* the map: each destination once, with the chain from the root */
	ck_assert_msg(strstr(t, "\nDEPENDENCIES (4) of 4 connections and lookups (0 direct, 4 hidden, 0 transient)\n"), "%s", t);
	ck_assert_msg(strstr(t, "forge.example.com 192.0.2.10:443  TCP  1 time, 0.004-0.004s: EINPROGRESS x1\n"
				"    deploy.sh > curl x1  (curl /usr/bin/curl)  hidden\n"), "%s", t);
	ck_assert_msg(strstr(t, "forge.example.com A  DNS  1 time"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->connections, 3);
	ck_assert_uint_eq(session_totals(s)->lookups, 1);
	/* no policy: nothing judged */
	ck_assert_ptr_null(strstr(t, "VIOLATION"));
	ck_assert_ptr_null(strstr(t, "violations ("));
	ck_assert(!session_totals(s)->policy);
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
	/* at the end of its wait */
	ck_assert_msg(strstr(t, "6.000     101     100     curl            DNS    TIMEOUT       5.0s    forge.example.com AAAA"
				"  direct (deploy.sh > curl; a fork of the command)\n"),
		      "%s", t);
}
END_TEST

/* TCP outcomes carry their wait: the WAIT column, JSON's outcome and
 * latency_ms, the map's slowest per destination. */
static void outcome_record(uint64_t ts, uint16_t port, int result, uint64_t wait_ns)
{
	outcome_wait_ns = wait_ns;
	connect_record(101, ts, "192.0.2.10", port, result);
}

static void expect_in(const char *t, const char *const *expected, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strstr(t, expected[i]), "no %s in %s", expected[i], t);
}

static void record_outcomes(void)
{
	outcome_record(1000000, 443, 0, 400000);                       /* 0.4ms */
	outcome_record(2000000, 443, 0, 25000000);                     /* 25ms */
	outcome_record(3000000, 444, -ECONNREFUSED, 200000);           /* 0.2ms */
	outcome_record(4000000, 445, -ETIMEDOUT, 127000000000ull);     /* 127s */
	outcome_record(5000000, 446, -ECONNABORTED, 2000000000ull);    /* 2.0s */
	outcome_record(6000000, 447, -EHOSTUNREACH, 3100000000ull);    /* 3.1s */
	outcome_record(7000000, 448, -EINPROGRESS, 30000000000ull);    /* 30.0s */
	outcome_record(8000000, 449, -ENETUNREACH, 0);                 /* at connect() */
}

START_TEST(test_outcome_waits)
{
	static const char *const expected[] = {
		"TCP    ok            0.4ms   192.0.2.10:443" CURL_HIDDEN "\n",
		"TCP    ok            25ms    192.0.2.10:443" CURL_HIDDEN "\n",
		"TCP    ECONNREFUSED  0.2ms   192.0.2.10:444" CURL_HIDDEN "\n",
		"TCP    ETIMEDOUT     127s    192.0.2.10:445" CURL_HIDDEN "\n",
		"TCP    ECONNABORTED  2.0s    192.0.2.10:446" CURL_HIDDEN "\n",
		"TCP    EHOSTUNREACH  3.1s    192.0.2.10:447" CURL_HIDDEN "\n",
		"TCP    EINPROGRESS   30.0s   192.0.2.10:448" CURL_HIDDEN "\n",
		"TCP    ENETUNREACH   -       192.0.2.10:449" CURL_HIDDEN "\n", /* failed in connect(2) */
		"\n192.0.2.10:443  TCP  2 times, 0.001-0.002s: ok x2; slowest 25ms\n",
		"\n192.0.2.10:449  TCP  1 time, 0.008-0.008s: ENETUNREACH x1\n",
	};

	open_session(OUTPUT_TEXT, true);
	exec_record(101, 100, "curl", "/usr/bin/curl");
	record_outcomes();
	expect_in(finish(), expected, sizeof(expected) / sizeof(expected[0]));
}
END_TEST

START_TEST(test_outcome_waits_in_json)
{
	static const char *const expected[] = {
		"\"port\":443,\"result\":\"ok\",\"outcome\":\"ok\",\"failed\":false,\"latency_ms\":0.400,",
		"\"result\":\"ECONNREFUSED\",\"outcome\":\"refused\",\"failed\":true,\"latency_ms\":0.200,",
		"\"result\":\"ETIMEDOUT\",\"outcome\":\"timeout\",\"failed\":true,\"latency_ms\":127000.000,",
		"\"result\":\"ECONNABORTED\",\"outcome\":\"closed\",\"failed\":true,\"latency_ms\":2000.000,",
		"\"outcome\":\"unreachable\",\"failed\":true,\"latency_ms\":3100.000,",
		/* not timed: no latency */
		"\"result\":\"ENETUNREACH\",\"outcome\":\"unreachable\",\"failed\":true,\"class\"",
		"\"outcome\":\"pending\",\"failed\":false,\"latency_ms\":30000.000,",
		"\"results\":{\"ok\":2},\"slowest_ms\":25.000,",
	};

	open_session(OUTPUT_JSON, false);
	exec_record(101, 100, "curl", "/usr/bin/curl");
	record_outcomes();
	expect_in(finish(), expected, sizeof(expected) / sizeof(expected[0]));
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

/* A name that fills the record's whole field (no NUL): its first
 * DEPTRACE_COMM_LEN - 1 characters show, nothing past the field. */
START_TEST(test_full_comm_field)
{
	union deptrace_record rec;

	open_session(OUTPUT_TEXT, false);
	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_CONNECT, 100, 1, "", 5);
	memcpy(rec.connect.h.comm, "abcdefghijklmnop", DEPTRACE_COMM_LEN);
	rec.connect.family = AF_INET;
	rec.connect.dport = 80;
	rec.connect.proto = DEPTRACE_PROTO_TCP;
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.1", rec.connect.daddr), 1);
	session_record(s, &rec);
	ck_assert_ptr_nonnull(strstr(close_output(), " abcdefghijklmno "));
	ck_assert_ptr_null(strstr(text, "abcdefghijklmnop"));
}
END_TEST

START_TEST(test_json_ends_with_summary)
{
	const char *t, *last;

	open_session(OUTPUT_JSON, false); /* JSON gets its summary object regardless */
	connect_record(100, 1000, "192.0.2.10", 22, -ECONNREFUSED);
	t = finish();
	ck_assert_msg(!strncmp(t, "{\"type\":\"connect\",", 18), "%s", t);
	last = strstr(t, "\n{\"type\":\"summary\",\"connections\":1,\"lookups\":0,\"lost\":0,");
	ck_assert_msg(last, "%s", t);
	ck_assert_msg(strstr(last, "\"failed\":true,\"results\":{\"ECONNREFUSED\":1}"), "%s", t);
	/* the record renamed the root: comm is what it runs now */
	ck_assert_msg(strstr(last, "\"comm\":\"curl\",\"exe\":\"\",\"chain\":\"curl\""), "%s", t);
	ck_assert_msg(!strstr(t, "violation"), "no policy, no violations: %s", t);
}
END_TEST

/* The root's own connection is direct; its child's is hidden, with the
 * chain; both in the lines, the map and the count. */
START_TEST(test_violations_direct_and_hidden)
{
	const char *t;

	rule(RULE_DENY, "192.0.2.0/24");
	open_with_curl(OUTPUT_TEXT);
	connect_record(101, 2000000, "192.0.2.7", 443, -EINPROGRESS);
	connect_record(101, 3000000, "198.51.100.1", 443, -EINPROGRESS);
	connect_record(100, 4000000, "192.0.2.7", 443, -ECONNREFUSED);
	t = finish();
	ck_assert_msg(strstr(t, "0.002     101     100     curl            TCP    EINPROGRESS   -       192.0.2.7:443"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny 192.0.2.0/24\n"), "%s", t);
	ck_assert_msg(strstr(t, "EINPROGRESS   -       198.51.100.1:443" CURL_HIDDEN "\n"), "%s", t);
	ck_assert_msg(strstr(t, "0.004     100     100     curl            TCP    ECONNREFUSED  -       192.0.2.7:443"
				"  VIOLATION direct: deny 192.0.2.0/24\n"), "%s", t);
	ck_assert_msg(strstr(t, "\n192.0.2.7:443  TCP  2 times, 0.002-0.004s: EINPROGRESS x1, ECONNREFUSED x1"
				"  VIOLATION deny 192.0.2.0/24 x2\n"
				"    curl x1  (curl)  direct  VIOLATION\n"
				"    deploy.sh > curl x1  (curl /usr/bin/curl)  hidden  VIOLATION\n"), "%s", t);
	ck_assert_msg(strstr(t, "\n198.51.100.1:443  TCP  1 time, 0.003-0.003s: EINPROGRESS x1\n"
				"    deploy.sh > curl x1  (curl /usr/bin/curl)  hidden\n"), "%s", t);
	ck_assert_msg(strstr(t, "\n2 violations (1 direct, 1 hidden, 0 transient)\n"), "%s", t);
	ck_assert(session_totals(s)->policy);
	ck_assert_uint_eq(session_totals(s)->violations, 2);
	ck_assert_uint_eq(session_totals(s)->class_violations[CLASS_DIRECT], 1);
	ck_assert_uint_eq(session_totals(s)->class_violations[CLASS_HIDDEN], 1);
	ck_assert_uint_eq(session_totals(s)->classes[CLASS_DIRECT], 1);
	ck_assert_uint_eq(session_totals(s)->classes[CLASS_HIDDEN], 2);
}
END_TEST

/* With an allow list, what it does not name is a violation with no rule;
 * a deny rule still wins, and JSON says where it came from. */
START_TEST(test_allow_list_miss_in_json)
{
	const char *t;

	rule(RULE_ALLOW, "10.0.0.0/8");
	rule(RULE_DENY, "10.6.0.0/16");
	open_with_curl(OUTPUT_JSON);
	connect_record(101, 2000000, "10.1.2.3", 443, 0);
	connect_record(101, 3000000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(101, 4000000, "10.6.1.1", 443, 0);
	t = finish();
	ck_assert_msg(strstr(t, "\"address\":\"10.1.2.3\",\"port\":443,\"result\":\"ok\",\"outcome\":\"ok\",\"failed\":false,"
				"\"class\":\"hidden\",\"evidence\":\"not in curl's argv\"}\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "\"result\":\"EINPROGRESS\",\"outcome\":\"pending\",\"failed\":false,\"class\":\"hidden\","
				"\"evidence\":\"not in curl's argv\",\"violation\":{\"class\":\"hidden\","
				"\"rule\":\"not on the allow list\",\"chain\":\"deploy.sh > curl\"}}\n"), "%s", t);
	ck_assert_msg(strstr(t, "\"violation\":{\"class\":\"hidden\",\"rule\":\"deny 10.6.0.0/16\","
				"\"origin\":\"--test\",\"chain\":\"deploy.sh > curl\"}}\n"), "%s", t);
	ck_assert_msg(strstr(t, "{\"type\":\"summary\",\"connections\":3,\"lookups\":0,\"lost\":0,"
				"\"classes\":{\"direct\":0,\"hidden\":3,\"transient\":0},\"violations\":{\"count\":2,\"direct\":0,\"hidden\":2,\"transient\":0},"), "%s", t);
	ck_assert_msg(strstr(t, "\"chain\":\"deploy.sh > curl\",\"class\":\"hidden\",\"violation\":\"hidden\"}],"
				"\"violation\":{\"rule\":\"not on the allow list\",\"count\":1}}"), "%s", t);
}
END_TEST

/* The lookup of qname answered 192.0.2.10, and the connection to it,
 * both judged by the rule for forge.example.com. */
/* `wait`: the lookup's WAIT column ("-": its query was not seen) */
static void expect_denied_by_forge(const char *t, const char *qname, const char *wait)
{
	char lookup[256];

	snprintf(lookup, sizeof(lookup), "DNS    NOERROR       %-7s %s A -> 192.0.2.10"
		 "  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny forge.example.com\n", wait, qname);
	ck_assert_msg(strstr(t, lookup), "%s", t);
	ck_assert_msg(strstr(t, "EINPROGRESS   -       192.0.2.10:443 (forge.example.com)"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny forge.example.com\n"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->violations, 2);
}

/* A denied name: its lookup breaks the policy, and so does the connection
 * to the address it answered. */
START_TEST(test_denied_name)
{
	const char *t;

	rule(RULE_DENY, "forge.example.com");
	open_with_curl(OUTPUT_TEXT);
	dns_record(101, 2000000, 0x1234, 1, NULL);
	dns_record(101, 3000000, 0x1234, 1, "192.0.2.10");
	connect_record(101, 4000000, "192.0.2.10", 443, -EINPROGRESS);
	t = finish();
	expect_denied_by_forge(t, "forge.example.com", "1.0ms");
	ck_assert_msg(strstr(t, "\nforge.example.com A  DNS  1 time, 0.003-0.003s: NOERROR x1; slowest 1.0ms"
				"  VIOLATION deny forge.example.com x1\n"), "%s", t);
}
END_TEST

static void lookup_blocked_record(uint32_t pid, uint64_t ts, uint16_t id)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.lookup_blocked.h = header(DEPTRACE_EVENT_LOOKUP_BLOCKED, pid, 100, "curl", ts);
	rec.lookup_blocked.dns_id = id;
	session_record(s, &rec);
}

/* In force: refused connects, datagrams and lookups are violations that
 * say "EPERM (blocked)"; one the kernel let through says so. */
START_TEST(test_blocked_attempts)
{
	const char *t;

	enforcing = true;
	rule(RULE_DENY, "192.0.2.0/24");
	rule(RULE_DENY, "forge.example.com");
	open_with_curl(OUTPUT_TEXT);
	attempt_record(DEPTRACE_EVENT_CONNECT, 101, 2000000, "192.0.2.7", 443, -EPERM, true);
	attempt_record(DEPTRACE_EVENT_SEND_BLOCKED, 101, 3000000, "192.0.2.53", 53, -EPERM, true);
	/* A and AAAA in one sendmmsg: the A refused, the AAAA never sent */
	dns_record(101, 4000000, 0x4242, 1, NULL);
	dns_record(101, 4000001, 0x4243, 28, NULL);
	lookup_blocked_record(0, 4000002, 0x4242); /* the kernel names no process */
	/* both reported at once, not as TIMEOUT 5 s later */
	ck_assert_uint_eq(session_totals(s)->lookups, 2);
	dns_record(101, 4000003, 0x4244, 28, NULL); /* a later one waits */
	connect_record(101, 5000000, "192.0.2.8", 443, -EINPROGRESS);
	attempt_record(DEPTRACE_EVENT_CONNECT, 101, 6000000, "198.51.100.1", 443, -EPERM, true);
	lookup_blocked_record(0, 7000000, 0x9999); /* no such query: nothing */
	judged_by_policy = false;
	connect_record(101, 8000000, "192.0.2.9", 443, 0);
	t = finish();
	ck_assert_msg(strstr(t, "TCP    EPERM (blocked) -       192.0.2.7:443"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny 192.0.2.0/24\n"), "%s", t);
	ck_assert_msg(strstr(t, "UDP    EPERM (blocked) -       192.0.2.53:53"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny 192.0.2.0/24\n"), "%s", t);
	ck_assert_msg(strstr(t, "0.004     101     100     curl            DNS    EPERM (blocked) -       forge.example.com A"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny forge.example.com\n"), "%s", t);
	ck_assert_msg(strstr(t, "0.004     101     100     curl            DNS    EPERM (blocked) -       forge.example.com AAAA"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny forge.example.com\n"), "%s", t);
	ck_assert_msg(strstr(t, "DNS    TIMEOUT       -       forge.example.com AAAA"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv), NOT BLOCKED: deny forge.example.com\n"), "%s", t);
	ck_assert_msg(strstr(t, "EINPROGRESS   -       192.0.2.8:443"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv), NOT BLOCKED: deny 192.0.2.0/24\n"), "%s", t);
	ck_assert_msg(strstr(t, "EPERM (blocked) -       198.51.100.1:443"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): refused by the policy in force\n"), "%s", t);
	ck_assert_msg(strstr(t, "192.0.2.7:443  TCP  1 time, 0.002-0.002s: EPERM (blocked) x1"), "%s", t);
	ck_assert_msg(strstr(t, "ok            -       192.0.2.9:443  VIOLATION hidden (deploy.sh > curl; not in curl's argv),"
				" NOT BLOCKED (socket made outside the cgroup): deny 192.0.2.0/24\n"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->connections, 5);
	ck_assert_uint_eq(session_totals(s)->lookups, 3);
	ck_assert_uint_eq(session_totals(s)->violations, 8);
}
END_TEST

/* Under an allow list of names in force, deptrace's resolver answers
 * REFUSED for a name no allow rule admits: a blocked violation with the
 * name. A REFUSED answer for an allowed name is the server's own. */
START_TEST(test_resolver_refusal)
{
	union deptrace_record rec;
	const char *t;

	enforcing = true;
	rule(RULE_ALLOW, "api.example.com:443");
	rule(RULE_ALLOW, "127.0.0.53:53");
	open_with_curl(OUTPUT_TEXT);
	for (int allowed = 0; allowed < 2; allowed++) {
		if (allowed)
			rule(RULE_ALLOW, "forge.example.com:443");
		dns_record(101, 1000000 + allowed, 0x1111, 1, NULL);
		memset(&rec, 0, sizeof(rec));
		rec.dns.h = header(DEPTRACE_EVENT_DNS, 101, 100, "curl", 1000100 + allowed);
		rec.dns.len = (uint32_t)dns_message_for(rec.dns.payload, "forge.example.com", 0x1111,
							1, NULL);
		rec.dns.payload[2] = 0x81; /* QR, RD */
		rec.dns.payload[3] = 0x85; /* RA, REFUSED */
		rec.dns.full_len = rec.dns.len;
		rec.dns.direction = DEPTRACE_DNS_RECEIVED;
		session_record(s, &rec);
	}
	t = finish();
	ck_assert_msg(strstr(t, "0.001     101     100     curl            DNS    REFUSED       0us     forge.example.com A"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): not on the allow list\n"), "%s", t);
	ck_assert_msg(strstr(t, "DNS    REFUSED       0us     forge.example.com A  hidden (deploy.sh > curl; not in curl's argv)\n"),
		      "%s", t);
	ck_assert_uint_eq(session_totals(s)->violations, 1);
}
END_TEST

/* The policy's packet program runs before the capture's when the policy
 * is on a cgroup below the capture's: the refusal comes first and waits
 * for its query, which follows within microseconds; one the query does
 * not follow closely stays unmatched. */
START_TEST(test_refusal_before_its_query)
{
	const char *t;

	enforcing = true;
	rule(RULE_DENY, "forge.example.com");
	open_with_curl(OUTPUT_TEXT);
	lookup_blocked_record(0, 2000000, 0x4242);
	ck_assert_uint_eq(session_totals(s)->lookups, 0);
	dns_record(101, 2000010, 0x4242, 1, NULL);
	ck_assert_uint_eq(session_totals(s)->lookups, 1); /* at once, not TIMEOUT later */
	lookup_blocked_record(0, 3000000, 0x4343);
	dns_record(101, 3000000 + 200000000, 0x4343, 1, NULL); /* 0.2 s later: another */
	ck_assert_uint_eq(session_totals(s)->lookups, 1);
	t = finish();
	ck_assert_msg(strstr(t, "0.002     101     100     curl            DNS    EPERM (blocked) -       forge.example.com A"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): deny forge.example.com\n"), "%s", t);
	ck_assert_msg(strstr(t, "DNS    TIMEOUT       -       forge.example.com A"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv), NOT BLOCKED: deny forge.example.com\n"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->lookups, 2);
}
END_TEST

/* A payload of `len` bytes from curl, sent or received. */
static void payload_record(uint64_t ts, const uint8_t *payload, size_t len, bool received)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.dns.h = header(DEPTRACE_EVENT_DNS, 101, 100, "curl", ts);
	memcpy(rec.dns.payload, payload, len);
	rec.dns.len = rec.dns.full_len = (uint32_t)len;
	rec.dns.direction = received ? DEPTRACE_DNS_RECEIVED : DEPTRACE_DNS_SENT;
	session_record(s, &rec);
}

/* alias.example.com, a CNAME for forge.example.com (denied): the lookup
 * and the connection to its address are judged by forge's rule. */
START_TEST(test_cname_to_denied_name)
{
	static const uint8_t answer[] =
		"\x77\x77\x81\x80\0\x01\0\x02\0\0\0\0"
		"\x05" "alias" "\x07" "example" "\x03" "com" "\0" "\0\x01\0\x01"
		/* alias CNAME forge.(example.com at 18) */
		"\xc0\x0c" "\0\x05\0\x01" "\0\0\0\x3c" "\0\x08" "\x05" "forge" "\xc0\x12"
		/* forge (at 47) A 192.0.2.10 */
		"\xc0\x2f" "\0\x01\0\x01" "\0\0\0\x3c" "\0\x04" "\xc0\x00\x02\x0a";

	rule(RULE_DENY, "forge.example.com");
	open_with_curl(OUTPUT_TEXT);
	payload_record(3000000, answer, sizeof(answer) - 1, true);
	connect_record(101, 4000000, "192.0.2.10", 443, -EINPROGRESS);
	expect_denied_by_forge(finish(), "alias.example.com", "-");
}
END_TEST

/* A socket refused at socket(): its protocol and why, no destination
 * judged (an address rule for 0.0.0.0's loopback does not apply). */
START_TEST(test_socket_refused)
{
	union deptrace_record rec;
	const char *t;

	enforcing = true;
	rule(RULE_DENY, "127.0.0.1");
	open_with_curl(OUTPUT_TEXT);
	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_SOCKET_BLOCKED, 101, 100, "curl", 2000000);
	rec.connect.family = AF_INET;
	rec.connect.proto = DEPTRACE_PROTO_UDPLITE;
	rec.connect.blocked = 1;
	rec.connect.result = -EPERM;
	session_record(s, &rec);
	t = finish();
	ck_assert_msg(strstr(t, "UDPLITE EPERM (blocked) -       0.0.0.0:0"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): a protocol the policy cannot judge\n"),
		      "%s", t);
}
END_TEST

/* A query neither side can read breaks any policy: reported when the
 * kernel refuses it, and in audit as unanswered. */
START_TEST(test_unreadable_query)
{
	static const uint8_t query[] = "\x51\x51\x01\x00\0\x01\0\0\0\0\0\0"
				       "\x05" "forge" "\xc0\x18" "\0\x01\0\x01"
				       "\x07" "example" "\x03" "com" "\0";
	union deptrace_record rec;
	const char *t;

	enforcing = true;
	rule(RULE_DENY, "forge.example.com");
	open_with_curl(OUTPUT_TEXT);
	payload_record(2000000, query, sizeof(query) - 1, false);
	memset(&rec, 0, sizeof(rec));
	rec.lookup_blocked.h = header(DEPTRACE_EVENT_LOOKUP_BLOCKED, 0, 0, "", 2000001);
	rec.lookup_blocked.dns_id = 0x5151;
	rec.lookup_blocked.reason = DEPTRACE_REFUSED_UNREADABLE;
	session_record(s, &rec);
	session_set_enforcing(s, false);
	payload_record(3000000, query, sizeof(query) - 1, false);
	t = finish();
	ck_assert_msg(strstr(t, "DNS    EPERM (blocked) -       (unreadable) TYPE0"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): a question the policy cannot read\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "DNS    TIMEOUT       -       (unreadable) TYPE0"
				"  VIOLATION hidden (deploy.sh > curl; not in curl's argv): a question the policy cannot read\n"),
		      "%s", t);
}
END_TEST

/* decode_record: the refusal records, sizes checked; a refused datagram
 * is blocked and EPERM whatever the program filled in. */
START_TEST(test_blocked_records_decode)
{
	struct deptrace_connect_event ev = { .h.type = DEPTRACE_EVENT_SEND_BLOCKED };
	struct deptrace_lookup_blocked lb = { .h.type = DEPTRACE_EVENT_LOOKUP_BLOCKED,
					      .dns_id = 0x4242 };
	union deptrace_record rec;

	ck_assert_int_eq(decode_record(&ev, sizeof(ev), &rec), 0);
	ck_assert_uint_eq(rec.h.type, DEPTRACE_EVENT_SEND_BLOCKED);
	ck_assert_uint_eq(rec.connect.blocked, 1);
	ck_assert_int_eq(rec.connect.result, -EPERM);
	ck_assert_int_eq(decode_record(&ev, sizeof(ev) - 1, &rec), -EINVAL);
	ev.h.type = DEPTRACE_EVENT_CONNECT;
	ev.result = -ECONNREFUSED;
	ck_assert_int_eq(decode_record(&ev, sizeof(ev), &rec), 0);
	ck_assert_uint_eq(rec.connect.blocked, 0);
	ck_assert_int_eq(rec.connect.result, -ECONNREFUSED);
	ev.blocked = 1;
	ck_assert_int_eq(decode_record(&ev, sizeof(ev), &rec), 0);
	ck_assert_int_eq(rec.connect.result, -EPERM);
	ck_assert_int_eq(decode_record(&lb, sizeof(lb), &rec), 0);
	ck_assert_uint_eq(rec.lookup_blocked.dns_id, 0x4242);
	ck_assert_int_eq(decode_record(&lb, sizeof(lb) - 1, &rec), -EINVAL);
}
END_TEST

/* Two names on one address, resolved by two processes: each connection
 * is named by its own process's answer and judged by it; a process with
 * both names shows both and is judged by both; one with none is named by
 * the tree's answers, marked; a child forked after an answer has it. */
START_TEST(test_names_per_process)
{
	union deptrace_record fork_rec;
	const char *t;

	rule(RULE_DENY, "a.example.com");
	open_with_curl(OUTPUT_TEXT);
	exec_record(102, 100, "curl", "/usr/bin/curl");
	exec_record(103, 100, "curl", "/usr/bin/curl");
	resolve(101, "a.example.com", 2000000, 0x1111, "192.0.2.10");
	resolve(102, "b.example.com", 2200000, 0x2222, "192.0.2.10");
	connect_record(101, 3000000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(102, 3100000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(103, 3200000, "192.0.2.10", 443, -EINPROGRESS);
	memset(&fork_rec, 0, sizeof(fork_rec));
	fork_rec.h = header(DEPTRACE_EVENT_FORK, 104, 102, "curl", 3300000);
	session_record(s, &fork_rec);
	resolve(102, "a.example.com", 3400000, 0x3333, "192.0.2.10");
	attempt_record_by(DEPTRACE_EVENT_CONNECT, 104, 102, 3600000, "192.0.2.10", 443,
			  -EINPROGRESS, false);
	connect_record(102, 3700000, "192.0.2.10", 443, -EINPROGRESS);
	t = finish();
	ck_assert_msg(strstr(t, "101     100     curl            TCP    EINPROGRESS   -       192.0.2.10:443 "
				"(a.example.com)  VIOLATION hidden (deploy.sh > curl; not in curl's argv): "
				"deny a.example.com\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "102     100     curl            TCP    EINPROGRESS   -       192.0.2.10:443 "
				"(b.example.com)" CURL_HIDDEN "\n"), "%s", t);
	ck_assert_msg(strstr(t, "103     100     curl            TCP    EINPROGRESS   -       192.0.2.10:443 "
				"(b.example.com, also a.example.com tree)  VIOLATION"), "%s", t);
	/* the child has its parent's answer from before the fork only */
	ck_assert_msg(strstr(t, "104     102     curl            TCP    EINPROGRESS   -       192.0.2.10:443 "
				"(b.example.com)  hidden (deploy.sh > curl > curl; not in curl's argv)\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "102     100     curl            TCP    EINPROGRESS   -       192.0.2.10:443 "
				"(a.example.com, also b.example.com)  VIOLATION hidden (deploy.sh > curl; "
				"not in curl's argv): deny a.example.com\n"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->violations, 5); /* 2 lookups, 3 connections */
	/* the map: one dependency per name the address was reached by */
	ck_assert_msg(strstr(t, "\na.example.com 192.0.2.10:443  TCP  2 times, 0.003-0.004s: "
				"EINPROGRESS x2  VIOLATION deny a.example.com x2\n"), "%s", t);
	ck_assert_msg(strstr(t, "\nb.example.com 192.0.2.10:443  TCP  3 times, 0.003-0.004s: "
				"EINPROGRESS x3  VIOLATION deny a.example.com x1\n"), "%s", t);
}
END_TEST

/* A connection's first bytes, as the reorder hands them on just before
 * it, then the connection (established, from local port `sport`). */
static void connect_with_bytes(uint32_t pid, uint64_t ts, const char *addr, uint16_t port,
			       uint16_t sport, const void *bytes, size_t len)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.first_bytes.h = header(DEPTRACE_EVENT_FIRST_BYTES, pid, 100, "curl", ts + 2000000);
	ck_assert_int_eq(inet_pton(AF_INET6, addr, rec.first_bytes.daddr), 1);
	rec.first_bytes.dport = port;
	rec.first_bytes.sport = sport;
	memcpy(rec.first_bytes.payload, bytes, len);
	rec.first_bytes.len = rec.first_bytes.full_len = (uint32_t)len;
	session_record(s, &rec);
	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_CONNECT, pid, 100, "curl", ts);
	rec.connect.family = AF_INET;
	rec.connect.dport = port;
	rec.connect.sport = sport;
	rec.connect.proto = DEPTRACE_PROTO_TCP;
	rec.connect.judged = judged_by_policy;
	ck_assert_int_eq(inet_pton(AF_INET, addr + strlen("::ffff:"), rec.connect.daddr), 1);
	session_record(s, &rec);
}

/* A TLS record holding a ClientHello that names `host` and nothing else. */
static size_t client_hello(uint8_t *hello, const char *host)
{
	size_t n = strlen(host), body = 2 + 32 + 1 + 4 + 2 + 2 + 9 + n;

	memset(hello, 0, 5 + 4 + body);
	memcpy(hello, "\x16\x03\x01", 3);
	hello[3] = (uint8_t)((body + 4) >> 8), hello[4] = (uint8_t)(body + 4);
	hello[5] = 1, hello[7] = (uint8_t)(body >> 8), hello[8] = (uint8_t)body;
	hello[9] = 3, hello[10] = 3;                   /* then 32 bytes random, no session id */
	hello[44] = 0, hello[45] = 2, hello[46] = 0x13, hello[47] = 0x01; /* one suite */
	hello[48] = 1, hello[49] = 0;                  /* null compression */
	hello[50] = 0, hello[51] = (uint8_t)(9 + n);   /* extensions */
	hello[52] = 0, hello[53] = 0, hello[54] = 0, hello[55] = (uint8_t)(5 + n);
	hello[56] = 0, hello[57] = (uint8_t)(3 + n), hello[58] = 0, hello[59] = 0, hello[60] = (uint8_t)n;
	memcpy(hello + 61, host, n);
	return 61 + n;
}

/* A connection with no answer of its own is named by the name its first
 * bytes give (TLS server name, HTTP Host), marked, and a deny on it marks
 * the connection; an answer of its own comes first; bytes that are not
 * the connection's (another port) name nothing. */
START_TEST(test_names_from_first_bytes)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: mirror.example.org:8080\r\n\r\n";
	uint8_t hello[128];
	size_t n = client_hello(hello, "forge.example.com");
	const char *t;

	rule(RULE_DENY, "forge.example.com");
	open_with_curl(OUTPUT_TEXT);
	connect_with_bytes(101, 2000000, "::ffff:192.0.2.10", 443, 40000, hello, n);
	connect_with_bytes(101, 3000000, "::ffff:192.0.2.20", 8080, 40001, get, strlen(get));
	resolve(101, "api.example.com", 4000000, 0x1111, "192.0.2.30");
	connect_with_bytes(101, 5000000, "::ffff:192.0.2.30", 443, 40002, hello, n);
	/* a second connection to that address, whose first bytes were not
	 * seen, is not named by the first one's */
	connect_with_bytes(101, 6000000, "::ffff:192.0.2.40", 443, 40003, hello, n);
	connect_record(101, 6100000, "192.0.2.40", 443, 0);
	t = finish();
	ck_assert_msg(strstr(t, "ok            -       192.0.2.10:443 (forge.example.com sni)  VIOLATION hidden "
				"(deploy.sh > curl; not in curl's argv): deny forge.example.com\n"), "%s", t);
	ck_assert_msg(strstr(t, "ok            -       192.0.2.20:8080 (mirror.example.org host)" CURL_HIDDEN "\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "ok            -       192.0.2.30:443 (api.example.com)" CURL_HIDDEN "\n"), "%s", t);
	ck_assert_msg(strstr(t, "0.006     101     100     curl            TCP    ok            -       "
				"192.0.2.40:443 (forge.example.com sni)  VIOLATION"), "%s", t);
	ck_assert_msg(strstr(t, "0.006     101     100     curl            TCP    ok            -       "
				"192.0.2.40:443" CURL_HIDDEN "\n"), "%s", t);
	/* the map: by the claimed name */
	ck_assert_msg(strstr(t, "\nforge.example.com 192.0.2.10:443  TCP  1 time"), "%s", t);
}
END_TEST

/* A claimed name meets no allow list (any program can send any name); the
 * address can. JSON says where the name comes from. */
START_TEST(test_claimed_name_and_allow_list)
{
	uint8_t hello[128];
	size_t n = client_hello(hello, "forge.example.com");
	const char *t;

	rule(RULE_ALLOW, "forge.example.com");
	rule(RULE_ALLOW, "192.0.2.20");
	open_with_curl(OUTPUT_JSON);
	connect_with_bytes(101, 2000000, "::ffff:192.0.2.10", 443, 40000, hello, n);
	connect_with_bytes(101, 3000000, "::ffff:192.0.2.20", 443, 40001, hello, n);
	t = finish();
	ck_assert_msg(strstr(t, "\"address\":\"192.0.2.10\",\"port\":443,\"name\":\"forge.example.com\","
				"\"name_source\":\"sni\",\"result\":\"ok\""), "%s", t);
	ck_assert_uint_eq(session_totals(s)->violations, 1);
	ck_assert_msg(strstr(t, "\"rule\":\"not on the allow list\""), "%s", t);
}
END_TEST

/* First bytes that do not come just before their connection were sent
 * after its line: said once. Bytes that are TLS without a readable name
 * are said once too. */
START_TEST(test_first_bytes_late_or_unread)
{
	union deptrace_record rec;
	uint8_t hello[128];
	size_t n = client_hello(hello, "forge.example.com");

	open_with_curl(OUTPUT_TEXT);
	connect_with_bytes(101, 2000000, "::ffff:192.0.2.10", 443, 40000, hello, 40);
	ck_assert_msg(strstr(said, "curl (PID 101) sent a TLS ClientHello to 192.0.2.10:443 whose name "
				   "deptrace cannot read (it goes on past the first segment or the "
				   "capture, 40 of 40 bytes seen)"), "%s", said);
	memset(&rec, 0, sizeof(rec));
	rec.first_bytes.h = header(DEPTRACE_EVENT_FIRST_BYTES, 101, 100, "curl", 3000000);
	ck_assert_int_eq(inet_pton(AF_INET6, "::ffff:192.0.2.11", rec.first_bytes.daddr), 1);
	rec.first_bytes.dport = 443;
	memcpy(rec.first_bytes.payload, hello, n);
	rec.first_bytes.len = rec.first_bytes.full_len = (uint32_t)n;
	session_record(s, &rec);
	connect_record(101, 4000000, "192.0.2.12", 443, 0);
	ck_assert_msg(strstr(said, "curl (PID 101) named 192.0.2.11:443 forge.example.com by its TLS "
				   "server name after the connection's line was printed"), "%s", said);
	finish();
}
END_TEST

/* JSON: the name, where it comes from, and the others. */
START_TEST(test_names_in_json)
{
	const char *t;

	open_with_curl(OUTPUT_JSON);
	resolve(101, "a.example.com", 2000000, 0x1111, "192.0.2.10");
	resolve(101, "b.example.com", 2200000, 0x2222, "192.0.2.10");
	connect_record(101, 3000000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(101, 3100000, "192.0.2.99", 80, 0);
	t = finish();
	ck_assert_msg(strstr(t, "\"name\":\"b.example.com\",\"name_source\":\"dns\","
				"\"also_names\":[\"a.example.com\"],"), "%s", t);
	ck_assert_msg(strstr(t, "\"name\":\"mirror.example.com\",\"name_source\":\"hosts\","
				"\"result\""), "%s", t);
}
END_TEST

/* A process's name is its main thread's: a worker thread's record (its
 * own name) changes neither the line's COMM nor the chain; the main
 * thread's does. */
START_TEST(test_comm_is_the_main_thread_name)
{
	union deptrace_record rec;
	const char *t;

	open_with_curl(OUTPUT_TEXT);
	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_CONNECT, 101, 100, "isc-net-0000", 2000000);
	rec.connect.h.tid = 105;
	rec.connect.family = AF_INET;
	rec.connect.dport = 80;
	rec.connect.proto = DEPTRACE_PROTO_TCP;
	ck_assert_int_eq(inet_pton(AF_INET, "192.0.2.10", rec.connect.daddr), 1);
	session_record(s, &rec);
	t = finish();
	ck_assert_msg(strstr(t, "0.002     101     100     curl            TCP    ok            -       192.0.2.10:80"
				CURL_HIDDEN "\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "    deploy.sh > curl x1  (curl /usr/bin/curl)  hidden\n"), "%s", t);
	ck_assert_ptr_null(strstr(t, "isc-net"));
}
END_TEST

/* An exec's program from /proc while the process runs it: the executable
 * resolved, not the path as given, and the script an interpreter runs. */
START_TEST(test_exec_resolved_program)
{
	union deptrace_record rec;
	char link[PATH_MAX], work[PATH_MAX], tool[PATH_MAX], resolved[PATH_MAX];
	const char *t;

	write_file(scratch, "work/tool", "#!/usr/bin/python3\n");
	pathf(work, "%s/work", scratch);
	pathf(link, "%s/proc", scratch);
	fake_program(link, 102, "tool", work, "/usr/bin/python3.11");
	pathf(tool, "%s/tool", work);
	ck_assert_ptr_nonnull(realpath(tool, resolved));
	open_session(OUTPUT_JSON, true);
	memset(&rec, 0, sizeof(rec));
	rec.exec.h = header(DEPTRACE_EVENT_EXEC, 102, 100, "tool", 1000);
	snprintf(rec.exec.path, sizeof(rec.exec.path), "./tool");
	snprintf(rec.exec.argv[0], sizeof(rec.exec.argv[0]), "./tool");
	session_record(s, &rec);
	connect_record(102, 2000000, "192.0.2.10", 80, 0);
	t = finish();
	snprintf(work, sizeof(work), "\"comm\":\"tool\",\"exe\":\"/usr/bin/python3.11\","
		 "\"script\":\"%s\",", resolved);
	ck_assert_msg(strstr(t, work), "%s", t);
	ck_assert_ptr_null(strstr(t, "\"exe\":\"./tool\""));
}
END_TEST

/* A lookup left waiting is reported before a record that came after its
 * wait ended, and at the end of a run at the last thing seen. */
START_TEST(test_lookups_in_time_order)
{
	const char *t, *noanswer, *later;

	open_with_curl(OUTPUT_TEXT);
	dns_record(101, 1000000000, 0x2222, 28, NULL);
	connect_record(101, 7000000000, "192.0.2.11", 443, -ECONNREFUSED);
	dns_record(101, 8000000000, 0x3333, 1, NULL);
	connect_record(101, 9000000000, "192.0.2.12", 443, -ECONNREFUSED);
	t = finish();
	noanswer = strstr(t, "6.000     101     100     curl            DNS    TIMEOUT       5.0s    "
			  "forge.example.com AAAA" CURL_HIDDEN "\n");
	later = strstr(t, "7.000     101     100     curl            TCP");
	ck_assert_msg(noanswer && later && noanswer < later, "%s", t);
	ck_assert_msg(strstr(t, "9.000     101     100     curl            TCP    ECONNREFUSED  -       "
				"192.0.2.12:443" CURL_HIDDEN "\n9.000     101     100     curl            DNS    "
				"TIMEOUT       -       forge.example.com A" CURL_HIDDEN "\n"),
		      "%s", t);
}
END_TEST

/* Said once each: lookups go to a DNS server on this host; a connection
 * had no answer of its process's own. */
START_TEST(test_notices_once)
{
	union deptrace_record rec;

	open_with_curl(OUTPUT_TEXT);
	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_CONNECT, 101, 100, "curl", 1000000);
	rec.connect.family = AF_INET;
	rec.connect.dport = 53;
	rec.connect.proto = DEPTRACE_PROTO_UDP;
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.53", rec.connect.daddr), 1);
	session_record(s, &rec);
	session_record(s, &rec);
	resolve(101, "forge.example.com", 2000000, 0x1111, "192.0.2.10");
	connect_record(101, 3000000, "192.0.2.10", 443, 0);   /* its own answer */
	connect_record(101, 3100000, "127.0.0.1", 8080, 0);   /* this host */
	ck_assert_str_eq(said, "curl (PID 101) asks the DNS server at 127.0.0.53:53, another "
			       "process on this host: names come from the answers it gives; what "
			       "it asks upstream is not traced\n");
	connect_record(101, 3200000, "192.0.2.77", 443, 0);
	connect_record(101, 3300000, "192.0.2.78", 443, 0);
	ck_assert_msg(strstr(said, "\ncurl (PID 101) connected to 192.0.2.77:443 with no DNS answer "
				   "of its own: it may resolve through another process"), "%s", said);
	ck_assert_ptr_null(strstr(said, "192.0.2.78"));
	finish();
}
END_TEST

/* Every kind of event a run saves: execs (one of a script), lookups
 * answered, refused and unanswered, connections named (by two names, by
 * the tree's, by its TLS server name), unnamed, refused, a datagram refused by
 * the policy in force, one on a socket from outside the cgroup, the
 * root's own. */
static void play_every_kind(void)
{
	union deptrace_record rec;
	uint8_t hello[128];

	exec_record(101, 100, "curl", "/usr/bin/curl");
	memset(&rec, 0, sizeof(rec));
	rec.exec.h = header(DEPTRACE_EVENT_EXEC, 102, 100, "tool", 1500);
	snprintf(rec.exec.path, sizeof(rec.exec.path), "./tool");
	snprintf(rec.exec.argv[0], sizeof(rec.exec.argv[0]), "./tool");
	snprintf(rec.exec.exe, sizeof(rec.exec.exe), "/usr/bin/python3.11");
	snprintf(rec.exec.script, sizeof(rec.exec.script), "/srv/tool");
	session_record(s, &rec);
	resolve(101, "cdn.example.com", 1000000, 0x1233, "192.0.2.10");
	dns_record(101, 2000000, 0x1234, 1, NULL);
	dns_record(101, 3000000, 0x1234, 1, "192.0.2.10");
	connect_record(101, 4000000, "192.0.2.10", 443, -EINPROGRESS);
	connect_record(102, 4500000, "192.0.2.10", 443, -EINPROGRESS); /* tree, a script */
	connect_with_bytes(101, 4600000, "::ffff:192.0.2.20", 443, 40000, hello,
			   client_hello(hello, "forge.example.com"));
	connect_record(101, 5000000, "192.0.2.11", 443, -ECONNREFUSED);
	connect_record(101, 6000000, "192.0.2.99", 80, 0);
	attempt_record(DEPTRACE_EVENT_SEND_BLOCKED, 101, 7000000, "192.0.2.53", 53, -EPERM, true);
	judged_by_policy = false;
	connect_record(101, 7500000, "192.0.2.12", 80, 0);
	judged_by_policy = true;
	connect_record(100, 8123456789, "192.0.2.12", 22, 0);
	dns_record(101, 9000000, 0x4444, 28, NULL);
	memset(&rec, 0, sizeof(rec));
	rec.lookup_blocked.h = header(DEPTRACE_EVENT_LOOKUP_BLOCKED, 101, 100, "curl", 9100000);
	rec.lookup_blocked.dns_id = 0x4444;
	session_record(s, &rec);
	dns_record(101, 9200000, 0x5555, 28, NULL); /* never answered */
}

/* The whole output of a session fed play_every_kind, after the run
 * record; the caller frees it. */
static char *live_run(enum output_format format)
{
	struct run_info info = { .schema = OUTPUT_SCHEMA, .version = "0.1.0", .host = "h",
				 .kernel = "6.1", .command = "-- deploy.sh",
				 .start = "2026-11-30T13:00:00Z", .map = true,
				 .enforced = enforcing };
	char *whole;

	open_session(format, true);
	output_header(&out, &info);
	play_every_kind();
	whole = strdup(finish());
	session_free(s);
	s = NULL;
	free(text);
	text = NULL;
	return whole;
}

/* The saved run, replayed with the same policy: the live run's text and
 * JSON, byte for byte (audited, then in force). */
START_TEST(test_replay_round_trip)
{
	char path[PATH_MAX], err[512];
	struct run_totals totals;

	rule(RULE_DENY, "forge.example.com");
	rule(RULE_DENY, "192.0.2.12:80");
	rule(RULE_ALLOW, "192.0.2.0/24");
	enforcing = _i == 1;
	for (int format = OUTPUT_TEXT; format <= OUTPUT_JSON; format++) {
		char *live_text = live_run(OUTPUT_TEXT), *live_json = live_run(OUTPUT_JSON);
		struct replay_config config = { .path = path, .out = &out, .policy = &policy };
		FILE *f;

		pathf(path, "%s/run.jsonl", scratch);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(live_json, f);
		fclose(f);
		output_init(&out, open_memstream(&text, &text_len), format);
		ck_assert_msg(!replay_run(&config, &totals, err, sizeof(err)), "%s", err);
		close_output();
		if (strcmp(text, format == OUTPUT_TEXT ? live_text : live_json)) {
			fprintf(stderr, "live:\n%s\nreplayed:\n%s\n",
				format == OUTPUT_TEXT ? live_text : live_json, text);
			ck_abort_msg("the replay differs from the live run (above)");
		}
		ck_assert_uint_eq(totals.connections, 8);
		ck_assert_uint_eq(totals.lookups, 4);
		/* what the names and the program add is read back too */
		ck_assert_msg(strstr(live_json, "\"also_names\":[\"cdn.example.com\"]"), "%s", live_json);
		ck_assert_msg(strstr(live_json, "\"name_source\":\"tree\""), "%s", live_json);
		ck_assert_msg(strstr(live_json, "\"script\":\"/srv/tool\""), "%s", live_json);
		ck_assert_msg(strstr(live_json, "\"name_source\":\"sni\""), "%s", live_json);
		ck_assert_uint_gt(totals.violations, 2);
		free(text);
		text = NULL;
		free(live_text);
		free(live_json);
	}
}
END_TEST

/* The class on every line: curl naming the address in its argv is direct;
 * an argv the exec record cut (8 arguments) is read whole from /proc, so
 * that a URL after a long option list still counts; a fork of the root
 * that did not exec is the root. */
START_TEST(test_classes_from_argv)
{
	static const char cmdline[] = "curl\0-fsS\0-o\0/dev/null\0-H\0Accept: x\0-d\0{}\0"
				      "http://192.0.2.10:8080/v1";
	char path[PATH_MAX];
	union deptrace_record rec;
	const char *t;
	FILE *f;

	write_file(scratch, "proc/102/comm", "curl\n");
	write_file(scratch, "proc/102/cmdline", "");
	pathf(path, "%s/proc/102/cmdline", scratch);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(cmdline, 1, sizeof(cmdline), f);
	fclose(f);
	open_session(OUTPUT_TEXT, true);
	memset(&rec, 0, sizeof(rec));
	rec.exec.h = header(DEPTRACE_EVENT_EXEC, 102, 100, "curl", 1000);
	snprintf(rec.exec.path, sizeof(rec.exec.path), "/usr/bin/curl");
	for (int i = 0; i < DEPTRACE_EXEC_ARGS; i++)
		snprintf(rec.exec.argv[i], sizeof(rec.exec.argv[i]), "%s", i ? "-v" : "curl");
	session_record(s, &rec);
	connect_record(102, 2000000, "192.0.2.10", 8080, -EINPROGRESS);
	connect_record(102, 3000000, "192.0.2.11", 8080, -EINPROGRESS);
	rec.h = header(DEPTRACE_EVENT_FORK, 103, 100, "deploy.sh", 4000000);
	session_record(s, &rec);
	connect_record(103, 5000000, "192.0.2.11", 80, 0);
	t = finish();
	ck_assert_msg(strstr(t, "EINPROGRESS   -       192.0.2.10:8080  direct (deploy.sh > curl; argv names 192.0.2.10)\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "EINPROGRESS   -       192.0.2.11:8080  hidden (deploy.sh > curl; not in curl's argv)\n"),
		      "%s", t);
	/* (connect_record names every process curl) */
	ck_assert_msg(strstr(t, "ok            -       192.0.2.11:80  direct (deploy.sh > curl; a fork of the command)\n"),
		      "%s", t);
	ck_assert_msg(strstr(t, "\nDEPENDENCIES (3) of 3 connections and lookups (2 direct, 1 hidden, 0 transient)\n"), "%s", t);
	ck_assert_uint_eq(session_totals(s)->classes[CLASS_DIRECT], 2);
}
END_TEST

/* A thread the kernel says serves the tree: what it does is transient,
 * with the path, in the lines, the map and the graph; a second
 * service it calls has the path of both hops. */
static void serve_record(uint32_t pid, uint32_t tid, const char *comm, uint32_t client_pid,
			 uint32_t client_tid, const char *addr, uint16_t port)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.serve.h = header(DEPTRACE_EVENT_SERVE, pid, client_pid, comm, 1500000);
	rec.serve.h.tid = tid;
	rec.serve.client_pid = client_pid;
	rec.serve.client_tid = client_tid;
	ck_assert_int_eq(inet_pton(AF_INET6, addr, rec.serve.addr), 1);
	rec.serve.port = port;
	session_record(s, &rec);
}

static void thread_connect(uint32_t pid, uint32_t tid, const char *comm, uint64_t ts,
			   const char *addr, uint16_t port)
{
	union deptrace_record rec;

	memset(&rec, 0, sizeof(rec));
	rec.connect.h = header(DEPTRACE_EVENT_CONNECT, pid, 101, comm, ts);
	rec.connect.h.tid = tid;
	rec.connect.family = AF_INET;
	rec.connect.dport = port;
	rec.connect.proto = DEPTRACE_PROTO_TCP;
	rec.connect.result = -EINPROGRESS;
	ck_assert_int_eq(inet_pton(AF_INET, addr, rec.connect.daddr), 1);
	session_record(s, &rec);
}

START_TEST(test_transient_through_services)
{
	char *dot = NULL;
	size_t dot_len = 0;
	const char *t;

	write_file(scratch, "proc/300/comm", "internal-api\n");
	write_file(scratch, "proc/300/cmdline", "/usr/bin/python3");
	graph = open_memstream(&dot, &dot_len);
	open_with_curl(OUTPUT_TEXT);
	connect_record(101, 1000000, "127.0.0.20", 8080, -EINPROGRESS);
	serve_record(300, 301, "internal-api", 101, 101, "::ffff:127.0.0.20", 8080);
	thread_connect(300, 301, "internal-api", 2000000, "192.0.2.10", 80);
	thread_connect(300, 301, "internal-api", 2500000, "127.0.0.30", 9090);
	serve_record(400, 400, "backend", 300, 301, "::ffff:127.0.0.30", 9090);
	thread_connect(400, 400, "backend", 3000000, "192.0.2.10", 80);
	t = finish();
	fclose(graph);
	graph = NULL;
	ck_assert_msg(strstr(t, "0.002     300     101     internal-api    TCP    EINPROGRESS   -       192.0.2.10:80"
				"  transient (deploy.sh > curl -> 127.0.0.20:8080 internal-api)\n"), "%s", t);
	ck_assert_msg(strstr(t, "0.003     400     101     backend         TCP    EINPROGRESS   -       192.0.2.10:80"
				"  transient (deploy.sh > curl -> 127.0.0.20:8080 internal-api -> "
				"127.0.0.30:9090 backend)\n"), "%s", t);
	ck_assert_msg(strstr(t, "\nDEPENDENCIES (3) of 4 connections and lookups (0 direct, 1 hidden, 3 transient)\n"), "%s", t);
	ck_assert_msg(strstr(t, "\n192.0.2.10:80  TCP  2 times, 0.002-0.003s: EINPROGRESS x2\n"
				"    internal-api x1  (internal-api)  transient (deploy.sh > curl -> "
				"127.0.0.20:8080 internal-api)\n"
				"    backend x1  (backend)  transient (deploy.sh > curl -> 127.0.0.20:8080 "
				"internal-api -> 127.0.0.30:9090 backend)\n"), "%s", t);
	/* the graph: deploy.sh > curl, then a dotted edge to each service */
	ck_assert_msg(strstr(dot, "[shape=box, label=\"internal-api\"];\n"), "%s", dot);
	ck_assert_msg(strstr(dot, "[style=dotted, label=\"127.0.0.20:8080\"];\n"), "%s", dot);
	ck_assert_msg(strstr(dot, "[style=dotted, label=\"127.0.0.30:9090\"];\n"), "%s", dot);
	ck_assert_msg(strstr(dot, "[label=\"transient x1\", style=dotted];\n"), "%s", dot);
	ck_assert_msg(strstr(dot, "[label=\"hidden x1\", style=dashed];\n"), "%s", dot);
	free(dot);
}
END_TEST

/* The same in JSON: "class": "transient" and its "via", on the event and
 * its program in the map; the summary counts it. */
START_TEST(test_transient_in_json)
{
	const char *t;

	open_with_curl(OUTPUT_JSON);
	connect_record(101, 1000000, "127.0.0.20", 8080, -EINPROGRESS);
	serve_record(300, 301, "internal-api", 101, 101, "::ffff:127.0.0.20", 8080);
	thread_connect(300, 301, "internal-api", 2000000, "192.0.2.10", 80);
	t = finish();
	ck_assert_msg(strstr(t, "\"port\":80,\"result\":\"EINPROGRESS\",\"outcome\":\"pending\",\"failed\":false,\"class\":\"transient\","
				"\"via\":\"deploy.sh > curl -> 127.0.0.20:8080 internal-api\"}\n"), "%s", t);
	ck_assert_msg(strstr(t, "\"chain\":\"internal-api\",\"class\":\"transient\","
				"\"via\":\"deploy.sh > curl -> 127.0.0.20:8080 internal-api\"}]"), "%s", t);
	ck_assert_msg(strstr(t, "\"classes\":{\"direct\":0,\"hidden\":1,\"transient\":1}"), "%s", t);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("session");
	TCase *tc = tcase_create("records");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_lookup_names_the_connection);
	tcase_add_test(tc, test_classes_from_argv);
	tcase_add_test(tc, test_transient_through_services);
	tcase_add_test(tc, test_transient_in_json);
	tcase_add_test(tc, test_unanswered_and_retransmitted);
	tcase_add_test(tc, test_outcome_waits);
	tcase_add_test(tc, test_outcome_waits_in_json);
	tcase_add_test(tc, test_garbage_is_not_a_lookup);
	tcase_add_test(tc, test_full_comm_field);
	tcase_add_test(tc, test_json_ends_with_summary);
	tcase_add_test(tc, test_violations_direct_and_hidden);
	tcase_add_test(tc, test_allow_list_miss_in_json);
	tcase_add_test(tc, test_denied_name);
	tcase_add_test(tc, test_blocked_attempts);
	tcase_add_test(tc, test_resolver_refusal);
	tcase_add_test(tc, test_refusal_before_its_query);
	tcase_add_test(tc, test_cname_to_denied_name);
	tcase_add_test(tc, test_socket_refused);
	tcase_add_test(tc, test_unreadable_query);
	tcase_add_test(tc, test_blocked_records_decode);
	tcase_add_test(tc, test_names_per_process);
	tcase_add_test(tc, test_names_in_json);
	tcase_add_test(tc, test_names_from_first_bytes);
	tcase_add_test(tc, test_claimed_name_and_allow_list);
	tcase_add_test(tc, test_first_bytes_late_or_unread);
	tcase_add_test(tc, test_lookups_in_time_order);
	tcase_add_test(tc, test_notices_once);
	tcase_add_test(tc, test_comm_is_the_main_thread_name);
	tcase_add_test(tc, test_exec_resolved_program);
	tcase_add_loop_test(tc, test_replay_round_trip, 0, 2);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
