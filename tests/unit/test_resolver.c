/* Unit tests for lib/resolver.h: the verdict per name, the replies it makes
 * itself, and the forwarder against a fake upstream on loopback (a UDP
 * socket of the test's own): what is forwarded, what is admitted and that
 * it is admitted before the answer reaches the client. No privileges. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "dns.h"
#include "policy.h"
#include "resolver.h"

static struct policy pol;
static char err[512];

static void setup(void)
{
	memset(&pol, 0, sizeof(pol));
	err[0] = '\0';
}

static void teardown(void)
{
	policy_free(&pol);
}

static void add(enum rule_action action, const char *text)
{
	ck_assert_msg(!policy_add_rule(&pol, action, text, "--test", err, sizeof(err)), "%s: %s",
		      text, err);
}

/* A query for `name` (dotted, as written: case and a trailing dot kept in
 * the wire form's labels) of `type`, with ID `id`, into buf. */
static size_t make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t type)
{
	size_t n = 12;
	const char *label = name;

	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[5] = 1;
	while (*label) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		buf[n++] = (uint8_t)len;
		memcpy(buf + n, label, len);
		n += len;
		label += len + (dot ? 1 : 0);
	}
	buf[n++] = 0;
	buf[n++] = (uint8_t)(type >> 8);
	buf[n++] = (uint8_t)type;
	buf[n++] = 0;
	buf[n++] = 1; /* IN */
	return n;
}

/* The answer to `query`: a CNAME to `cname` when not NULL (a pointer to
 * the question name owns it; the A records are then the target's, written
 * out), then one A record per address in `ips`. */
static size_t make_answer(uint8_t *buf, const uint8_t *query, size_t qlen, const char *cname,
			  const char *const *ips, size_t nips)
{
	size_t n = qlen, target = 0;
	uint16_t ancount = (uint16_t)(nips + (cname != NULL));

	memcpy(buf, query, qlen);
	buf[2] = 0x81;
	buf[3] = 0x80;
	buf[6] = (uint8_t)(ancount >> 8);
	buf[7] = (uint8_t)ancount;
	if (cname) {
		uint8_t wire[256];
		size_t wlen = make_query(wire, 0, cname, 1) - 12 - 4;

		memcpy(buf + n, "\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c", 10);
		n += 10;
		buf[n++] = 0;
		buf[n++] = (uint8_t)wlen;
		target = n;
		memcpy(buf + n, wire + 12, wlen);
		n += wlen;
	}
	for (size_t i = 0; i < nips; i++) {
		buf[n++] = 0xc0;
		buf[n++] = (uint8_t)(target ? target : 12);
		memcpy(buf + n, "\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04", 10);
		n += 10;
		ck_assert_int_eq(inet_pton(AF_INET, ips[i], buf + n), 1);
		n += 4;
	}
	return n;
}

START_TEST(decide_allow_list)
{
	const struct policy_rule *why = (const struct policy_rule *)1;
	struct resolver_rules rules = { .policy = &pol };

	add(RULE_ALLOW, "forge.example.com:443");
	add(RULE_ALLOW, "*.cdn.example");
	add(RULE_ALLOW, "127.0.0.53:53");
	add(RULE_DENY, "bad.cdn.example");
	ck_assert_int_eq(resolver_decide(&rules, "forge.example.com", &why), RESOLVER_FORWARD);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(resolver_decide(&rules, "FORGE.Example.COM.", NULL), RESOLVER_FORWARD);
	ck_assert_int_eq(resolver_decide(&rules, "eu.cdn.example", NULL), RESOLVER_FORWARD);
	/* *.name is below it, not the name */
	ck_assert_int_eq(resolver_decide(&rules, "cdn.example", NULL), RESOLVER_REFUSE);
	ck_assert_int_eq(resolver_decide(&rules, "telemetry.example.net", &why), RESOLVER_REFUSE);
	ck_assert_ptr_null(why);
	ck_assert_int_eq(resolver_decide(&rules, "xforge.example.com", NULL), RESOLVER_REFUSE);
	/* deny wins over allow, and says which rule */
	ck_assert_int_eq(resolver_decide(&rules, "bad.cdn.example", &why), RESOLVER_REFUSE);
	ck_assert_ptr_nonnull(why);
	ck_assert_str_eq(why->text, "deny bad.cdn.example");
	ck_assert(resolver_needed(&pol));
}
END_TEST

START_TEST(decide_without_allow_names)
{
	struct resolver_rules rules = { .policy = &pol };

	add(RULE_DENY, "forge.example.com:22");
	add(RULE_ALLOW, "10.0.0.0/8");
	/* a deny with a port judges connections, not the lookup */
	ck_assert_int_eq(resolver_decide(&rules, "forge.example.com", NULL), RESOLVER_FORWARD);
	ck_assert_int_eq(resolver_decide(&rules, "other.example", NULL), RESOLVER_FORWARD);
	ck_assert(resolver_needed(&pol));
	policy_free(&pol);
	add(RULE_DENY, "forge.example.com");
	add(RULE_ALLOW, "10.0.0.0/8:443");
	ck_assert(!resolver_needed(&pol));
	rules.policy = NULL;
	ck_assert_int_eq(resolver_decide(&rules, "forge.example.com", NULL), RESOLVER_FORWARD);
}
END_TEST

START_TEST(decide_overrides_first)
{
	struct resolver_override o[2] = { { .verdict = RESOLVER_SERVFAIL },
					  { .verdict = RESOLVER_NXDOMAIN } };
	struct resolver_rules rules = { .policy = &pol, .overrides = o, .noverrides = 2 };

	ck_assert(!policy_parse_rule(RULE_DENY, "forge.example.com", "--outage", &o[0].target,
				     err, sizeof(err)));
	ck_assert(!policy_parse_rule(RULE_DENY, "*.corp.example", "--outage", &o[1].target, err,
				     sizeof(err)));
	add(RULE_ALLOW, "forge.example.com");
	ck_assert_int_eq(resolver_decide(&rules, "Forge.example.com.", NULL), RESOLVER_SERVFAIL);
	ck_assert_int_eq(resolver_decide(&rules, "a.corp.example", NULL), RESOLVER_NXDOMAIN);
	ck_assert_int_eq(resolver_decide(&rules, "other.example", NULL), RESOLVER_REFUSE);
}
END_TEST

START_TEST(reply_keeps_the_question)
{
	uint8_t q[512], out[512];
	size_t qlen = make_query(q, 0xbeef, "Forge.example.com", DNS_TYPE_AAAA);
	size_t n = resolver_reply(q, qlen, DNS_RCODE_REFUSED, out, sizeof(out));
	struct dns_message msg;

	ck_assert_uint_eq(n, qlen);
	ck_assert(!dns_parse(out, n, &msg));
	ck_assert(msg.response);
	ck_assert_uint_eq(msg.id, 0xbeef);
	ck_assert_uint_eq(msg.rcode, DNS_RCODE_REFUSED);
	ck_assert_str_eq(msg.qname, "forge.example.com");
	ck_assert_uint_eq(msg.qtype, DNS_TYPE_AAAA);
	ck_assert_uint_eq(out[2], 0x81); /* QR, RD kept */
	ck_assert_uint_eq(out[3], 0x80 | DNS_RCODE_REFUSED);
	/* a question cut short, or two: a bare header */
	ck_assert_uint_eq(resolver_reply(q, qlen - 1, DNS_RCODE_FORMERR, out, sizeof(out)), 12);
	ck_assert_uint_eq(out[5], 0);
	q[5] = 2;
	ck_assert_uint_eq(resolver_reply(q, qlen, DNS_RCODE_FORMERR, out, sizeof(out)), 12);
	ck_assert_uint_eq(resolver_reply(q, 11, DNS_RCODE_FORMERR, out, sizeof(out)), 0);
	ck_assert_uint_eq(resolver_reply(q, qlen, DNS_RCODE_FORMERR, out, 11), 0);
}
END_TEST

/* The forwarder against a fake upstream. */
static int upstream_fd = -1, client_fd = -1;
static struct resolver *resolver;
static struct sockaddr_in resolver_at;

struct admitted {
	char rule[POLICY_TEXT_LEN];
	char addr[INET6_ADDRSTRLEN];
	bool reply_was_there; /* the client's reply already waiting: admitted late */
};
static struct admitted admitted[16];
static size_t nadmitted;
static int admit_result;

static int record_admit(void *ctx, const struct policy_rule *rule, const uint8_t addr[16])
{
	struct admitted *a = &admitted[nadmitted++];
	char peek;

	(void)ctx;
	ck_assert_uint_le(nadmitted, 16);
	snprintf(a->rule, sizeof(a->rule), "%s", rule->text);
	inet_ntop(AF_INET6, addr, a->addr, sizeof(a->addr));
	a->reply_was_there = recv(client_fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
	return admit_result;
}

static int udp_socket(uint16_t *port)
{
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(at);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert(!bind(fd, (struct sockaddr *)&at, sizeof(at)));
	ck_assert(!getsockname(fd, (struct sockaddr *)&at, &len));
	if (port)
		*port = ntohs(at.sin_port);
	return fd;
}

static void start(int timeout_ms)
{
	struct resolver_config c = { .rules.policy = &pol, .nupstreams = 1, .listen_port = 0,
				     .timeout_ms = timeout_ms, .admit = record_admit };
	uint16_t upstream_port;
	uint32_t ip4;
	uint16_t port;

	upstream_fd = udp_socket(&upstream_port);
	client_fd = udp_socket(NULL);
	c.upstream_port = upstream_port;
	c.upstreams[0].listen_ip4 = htonl(INADDR_LOOPBACK);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", c.upstreams[0].addr);
	ck_assert_msg(!resolver_start(&c, &resolver, err, sizeof(err)), "%s", err);
	resolver_listen_address(resolver, 0, &ip4, &port);
	ck_assert_uint_ne(port, 0);
	resolver_at = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = port,
					    .sin_addr.s_addr = ip4 };
	nadmitted = 0;
	admit_result = 0;
}

static void forwarder_teardown(void)
{
	resolver_stop(resolver);
	resolver = NULL;
	close(upstream_fd);
	close(client_fd);
	policy_free(&pol);
}

/* Receives one datagram on fd within ms, or returns -1. */
static ssize_t receive(int fd, uint8_t *buf, size_t len, int ms, struct sockaddr_in *from)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t flen = sizeof(*from);

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recvfrom(fd, buf, len, 0, (struct sockaddr *)from, &flen);
}

static void ask(const uint8_t *q, size_t qlen)
{
	ck_assert_int_eq(sendto(client_fd, q, qlen, 0, (struct sockaddr *)&resolver_at,
				sizeof(resolver_at)), (ssize_t)qlen);
}

/* The client's reply, which must come within 2 s from the resolver's
 * address. */
static size_t reply(uint8_t *buf, size_t len)
{
	struct sockaddr_in from;
	ssize_t n = receive(client_fd, buf, len, 2000, &from);

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(from.sin_port, resolver_at.sin_port);
	return (size_t)n;
}

static uint8_t rcode_of(const uint8_t *buf)
{
	return buf[3] & 0x0f;
}

START_TEST(forwards_allowed_and_admits_before_replying)
{
	uint8_t q[512], fwd[512], ans[512], got[512];
	struct sockaddr_in from;
	const char *ips[] = { "192.0.2.7", "192.0.2.8" };
	size_t qlen, alen, n;
	ssize_t m;
	struct resolver_stats st;

	add(RULE_ALLOW, "forge.example.com:443");
	add(RULE_ALLOW, "*.example.com:80");
	add(RULE_ALLOW, "127.0.0.1:53");
	start(0);
	qlen = make_query(q, 0x1234, "FoRgE.example.com", DNS_TYPE_A);
	ask(q, qlen);
	m = receive(upstream_fd, fwd, sizeof(fwd), 2000, &from);
	ck_assert_int_eq(m, (ssize_t)qlen);
	ck_assert(!memcmp(fwd, q, qlen)); /* as asked: ID and case kept */
	alen = make_answer(ans, fwd, (size_t)m, NULL, ips, 2);
	ck_assert_int_eq(sendto(upstream_fd, ans, alen, 0, (struct sockaddr *)&from, sizeof(from)),
			 (ssize_t)alen);
	n = reply(got, sizeof(got));
	ck_assert_uint_eq(n, alen);
	ck_assert(!memcmp(got, ans, alen));
	/* each address for each rule that names it, before the reply */
	ck_assert_uint_eq(nadmitted, 4);
	ck_assert_str_eq(admitted[0].rule, "allow forge.example.com:443");
	ck_assert_str_eq(admitted[0].addr, "::ffff:192.0.2.7");
	ck_assert_str_eq(admitted[1].addr, "::ffff:192.0.2.8");
	ck_assert_str_eq(admitted[2].rule, "allow *.example.com:80");
	for (size_t i = 0; i < nadmitted; i++)
		ck_assert_msg(!admitted[i].reply_was_there, "admitted after the reply");
	resolver_get_stats(resolver, &st);
	ck_assert_uint_eq(st.forwarded, 1);
	ck_assert_uint_eq(st.refused, 0);
}
END_TEST

START_TEST(refuses_other_names_without_asking)
{
	uint8_t q[512], got[512], fwd[512];
	struct sockaddr_in from;
	struct resolver_stats st;
	struct dns_message msg;
	size_t n;

	add(RULE_ALLOW, "forge.example.com:443");
	start(0);
	ask(q, make_query(q, 7, "telemetry.example.net", DNS_TYPE_A));
	n = reply(got, sizeof(got));
	ck_assert(!dns_parse(got, n, &msg));
	ck_assert_uint_eq(msg.id, 7);
	ck_assert_uint_eq(rcode_of(got), DNS_RCODE_REFUSED);
	ck_assert_str_eq(msg.qname, "telemetry.example.net");
	ck_assert_int_lt(receive(upstream_fd, fwd, sizeof(fwd), 200, &from), 0);
	ck_assert_uint_eq(nadmitted, 0);
	resolver_get_stats(resolver, &st);
	ck_assert_uint_eq(st.refused, 1);
}
END_TEST

START_TEST(overrides_answer_at_once)
{
	struct resolver_override o = { .verdict = RESOLVER_SERVFAIL };
	struct resolver_config c = { .rules = { .overrides = &o, .noverrides = 1 }, .nupstreams = 1,
				     .admit = record_admit };
	uint8_t q[512], got[512], fwd[512];
	struct sockaddr_in from;
	uint32_t ip4;
	uint16_t port;

	ck_assert(!policy_parse_rule(RULE_DENY, "forge.example.com", "--outage", &o.target, err,
				     sizeof(err)));
	upstream_fd = udp_socket(&c.upstream_port);
	client_fd = udp_socket(NULL);
	c.upstreams[0].listen_ip4 = htonl(INADDR_LOOPBACK);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", c.upstreams[0].addr);
	ck_assert_msg(!resolver_start(&c, &resolver, err, sizeof(err)), "%s", err);
	resolver_listen_address(resolver, 0, &ip4, &port);
	resolver_at = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = port,
					    .sin_addr.s_addr = ip4 };
	ask(q, make_query(q, 9, "forge.example.com.", DNS_TYPE_AAAA));
	reply(got, sizeof(got));
	ck_assert_uint_eq(rcode_of(got), DNS_RCODE_SERVFAIL);
	ck_assert_int_lt(receive(upstream_fd, fwd, sizeof(fwd), 200, &from), 0);
}
END_TEST

/* Asks for `name` and answers as the upstream with `cname` and ips; returns
 * the client's reply's rcode. */
static uint8_t ask_and_answer(const char *name, const char *cname, const char *const *ips,
			      size_t nips)
{
	uint8_t q[512], fwd[512], ans[512], got[512];
	struct sockaddr_in from;
	ssize_t m;
	size_t alen;

	ask(q, make_query(q, 0x4242, name, DNS_TYPE_A));
	m = receive(upstream_fd, fwd, sizeof(fwd), 2000, &from);
	ck_assert_int_gt(m, 0);
	alen = make_answer(ans, fwd, (size_t)m, cname, ips, nips);
	sendto(upstream_fd, ans, alen, 0, (struct sockaddr *)&from, sizeof(from));
	reply(got, sizeof(got));
	return rcode_of(got);
}

START_TEST(cname_to_a_denied_name_is_refused)
{
	const char *ips[] = { "192.0.2.66" };

	add(RULE_ALLOW, "alias.example.com:443");
	add(RULE_DENY, "forge.example.com");
	start(0);
	ck_assert_uint_eq(ask_and_answer("alias.example.com", "forge.example.com", ips, 1),
			  DNS_RCODE_REFUSED);
	ck_assert_uint_eq(nadmitted, 0);
	/* to a name nothing denies: admitted by the question's rule */
	ck_assert_uint_eq(ask_and_answer("alias.example.com", "cdn.example.net", ips, 1),
			  DNS_RCODE_NOERROR);
	ck_assert_uint_eq(nadmitted, 1);
	ck_assert_str_eq(admitted[0].rule, "allow alias.example.com:443");
	ck_assert_str_eq(admitted[0].addr, "::ffff:192.0.2.66");
}
END_TEST

START_TEST(deny_with_port_is_admitted_as_a_deny)
{
	const char *ips[] = { "192.0.2.9" };

	add(RULE_DENY, "forge.example.com:22");
	start(0);
	ck_assert_uint_eq(ask_and_answer("forge.example.com", NULL, ips, 1), DNS_RCODE_NOERROR);
	ck_assert_uint_eq(nadmitted, 1);
	ck_assert_str_eq(admitted[0].rule, "deny forge.example.com:22");
	ck_assert_str_eq(admitted[0].addr, "::ffff:192.0.2.9");
}
END_TEST

START_TEST(admit_failure_is_servfail)
{
	const char *ips[] = { "192.0.2.7" };
	struct resolver_stats st;

	add(RULE_ALLOW, "forge.example.com");
	start(0);
	admit_result = -ENOSPC;
	ck_assert_uint_eq(ask_and_answer("forge.example.com", NULL, ips, 1), DNS_RCODE_SERVFAIL);
	resolver_get_stats(resolver, &st);
	ck_assert_uint_eq(st.admit_failed, 1);
	ck_assert_int_eq(st.last_admit_error, -ENOSPC);
	ck_assert_uint_eq(st.forwarded, 0);
}
END_TEST

START_TEST(silent_upstream_is_servfail)
{
	uint8_t q[512], got[512], fwd[512];
	struct sockaddr_in from;
	struct resolver_stats st;

	add(RULE_ALLOW, "forge.example.com");
	start(300);
	ask(q, make_query(q, 5, "forge.example.com", DNS_TYPE_A));
	ck_assert_int_gt(receive(upstream_fd, fwd, sizeof(fwd), 2000, &from), 0);
	reply(got, sizeof(got));
	ck_assert_uint_eq(rcode_of(got), DNS_RCODE_SERVFAIL);
	resolver_get_stats(resolver, &st);
	ck_assert_uint_eq(st.upstream_failed, 1);
}
END_TEST

START_TEST(a_wrong_answer_is_not_taken)
{
	uint8_t q[512], fwd[512], ans[512], got[512];
	const char *ips[] = { "192.0.2.7" };
	struct sockaddr_in from;
	size_t alen;
	ssize_t m;

	add(RULE_ALLOW, "forge.example.com");
	start(0);
	ask(q, make_query(q, 0x1111, "forge.example.com", DNS_TYPE_A));
	m = receive(upstream_fd, fwd, sizeof(fwd), 2000, &from);
	ck_assert_int_gt(m, 0);
	/* another ID first: ignored, the real answer still taken */
	fwd[1] ^= 1;
	alen = make_answer(ans, fwd, (size_t)m, NULL, ips, 1);
	sendto(upstream_fd, ans, alen, 0, (struct sockaddr *)&from, sizeof(from));
	fwd[1] ^= 1;
	alen = make_answer(ans, fwd, (size_t)m, NULL, ips, 1);
	sendto(upstream_fd, ans, alen, 0, (struct sockaddr *)&from, sizeof(from));
	reply(got, sizeof(got));
	ck_assert_uint_eq(got[1], 0x11);
	ck_assert_uint_eq(rcode_of(got), DNS_RCODE_NOERROR);
	ck_assert_uint_eq(nadmitted, 1);
}
END_TEST

START_TEST(unreadable_question_is_formerr)
{
	uint8_t q[512], got[512], fwd[512];
	struct sockaddr_in from;
	struct resolver_stats st;
	size_t qlen;

	add(RULE_ALLOW, "forge.example.com");
	start(0);
	/* a label holding a dot ("forge.example" as one label) */
	qlen = make_query(q, 3, "x.com", DNS_TYPE_A);
	q[13] = '.';
	ask(q, qlen);
	reply(got, sizeof(got));
	ck_assert_uint_eq(rcode_of(got), DNS_RCODE_FORMERR);
	ck_assert_int_lt(receive(upstream_fd, fwd, sizeof(fwd), 200, &from), 0);
	resolver_get_stats(resolver, &st);
	ck_assert_uint_eq(st.unreadable, 1);
}
END_TEST

START_TEST(start_fails_with_a_reason)
{
	struct resolver_config c = { .nupstreams = 1, .listen_port = 0 };

	/* an address this host does not have */
	inet_pton(AF_INET, "192.0.2.1", &c.upstreams[0].listen_ip4);
	ck_assert_int_lt(resolver_start(&c, &resolver, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "cannot listen on 192.0.2.1:0"), "%s", err);
	c.nupstreams = RESOLVER_MAX_UPSTREAMS + 1;
	ck_assert_int_eq(resolver_start(&c, &resolver, err, sizeof(err)), -EINVAL);
	resolver = NULL;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("resolver");
	TCase *tc = tcase_create("decide");
	TCase *fw = tcase_create("forward");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, decide_allow_list);
	tcase_add_test(tc, decide_without_allow_names);
	tcase_add_test(tc, decide_overrides_first);
	tcase_add_test(tc, reply_keeps_the_question);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(fw, setup, forwarder_teardown);
	tcase_set_timeout(fw, 20);
	tcase_add_test(fw, forwards_allowed_and_admits_before_replying);
	tcase_add_test(fw, refuses_other_names_without_asking);
	tcase_add_test(fw, overrides_answer_at_once);
	tcase_add_test(fw, cname_to_a_denied_name_is_refused);
	tcase_add_test(fw, deny_with_port_is_admitted_as_a_deny);
	tcase_add_test(fw, admit_failure_is_servfail);
	tcase_add_test(fw, silent_upstream_is_servfail);
	tcase_add_test(fw, a_wrong_answer_is_not_taken);
	tcase_add_test(fw, unreadable_question_is_formerr);
	tcase_add_test(fw, start_fails_with_a_reason);
	suite_add_tcase(s, fw);
	return run_suite(s);
}
