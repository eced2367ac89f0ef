/* Unit tests for lib/policy.h: rule syntax, policy files, verdicts and the
 * name hash the kernel shares. */
#include "testutil.h"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "deptrace_event.h"
#include "policy.h"

static struct policy pol;
static char err[512];
static char *scratch;

static void setup(void)
{
	memset(&pol, 0, sizeof(pol));
	err[0] = '\0';
	scratch = make_scratch_dir("/tmp", "policy");
}

static void teardown(void)
{
	policy_free(&pol);
	remove_scratch_dir(scratch);
}

/* Adds a rule that must parse; returns it. */
static const struct policy_rule *add(enum rule_action action, const char *text)
{
	int rc = policy_add_rule(&pol, action, text, "--test", err, sizeof(err));

	ck_assert_msg(rc == 0, "%s: %s", text, err);
	return &pol.rules[pol.count - 1];
}

/* A rule that must not parse, with exactly this message. */
static void assert_bad_rule(const char *text, const char *message)
{
	struct policy_rule rule;

	err[0] = '\0';
	ck_assert_int_eq(policy_parse_rule(RULE_DENY, text, "--deny", &rule, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, message);
}

static void address(const char *text, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (inet_pton(AF_INET6, text, addr) == 1)
		return;
	memcpy(addr, mapped, sizeof(mapped));
	ck_assert_int_eq(inet_pton(AF_INET, text, addr + 12), 1);
}

static struct verdict connection(const char *addr_text, uint16_t port, const char *name)
{
	uint8_t addr[16];

	address(addr_text, addr);
	return policy_check_connection(&pol, addr, port, name);
}

/* Every rule form: what it parses to, and its canonical text. */
struct rule_case {
	enum rule_action action;
	const char *written;
	enum rule_kind kind;
	const char *name;     /* HOST, SUFFIX */
	const char *addr;     /* NET, as inet_pton reads it (IPv4: mapped) */
	unsigned prefix;
	uint16_t port;
	const char *text;
};

static const struct rule_case rule_cases[] = {
	{ RULE_DENY, "Forge.Example.COM.", RULE_HOST, "forge.example.com", NULL, 0, 0,
	  "deny forge.example.com" },
	{ RULE_ALLOW, "api_v2.internal-1.example:8080", RULE_HOST, "api_v2.internal-1.example",
	  NULL, 0, 8080, "allow api_v2.internal-1.example:8080" },
	{ RULE_DENY, "localhost", RULE_HOST, "localhost", NULL, 0, 0, "deny localhost" },
	{ RULE_DENY, "*.Forge.example.com:443", RULE_SUFFIX, "forge.example.com", NULL, 0, 443,
	  "deny *.forge.example.com:443" },
	{ RULE_DENY, "192.0.2.0/24", RULE_NET, NULL, "192.0.2.0", 120, 0, "deny 192.0.2.0/24" },
	{ RULE_ALLOW, "192.0.2.7", RULE_NET, NULL, "192.0.2.7", 128, 0, "allow 192.0.2.7" },
	{ RULE_DENY, "192.0.2.0/24:443", RULE_NET, NULL, "192.0.2.0", 120, 443,
	  "deny 192.0.2.0/24:443" },
	{ RULE_ALLOW, "0.0.0.0/0", RULE_NET, NULL, "0.0.0.0", 96, 0, "allow 0.0.0.0/0" },
	{ RULE_DENY, "10.1.2.3/32:53", RULE_NET, NULL, "10.1.2.3", 128, 53, "deny 10.1.2.3:53" },
	{ RULE_DENY, "2001:DB8::/32", RULE_NET, NULL, "2001:db8::", 32, 0, "deny 2001:db8::/32" },
	{ RULE_DENY, "[2001:db8::/32]:443", RULE_NET, NULL, "2001:db8::", 32, 443,
	  "deny [2001:db8::/32]:443" },
	{ RULE_ALLOW, "::1", RULE_NET, NULL, "::1", 128, 0, "allow ::1" },
	{ RULE_ALLOW, "[::1]:53", RULE_NET, NULL, "::1", 128, 53, "allow [::1]:53" },
	{ RULE_ALLOW, "[::1]", RULE_NET, NULL, "::1", 128, 0, "allow ::1" },
	/* a bare IPv6 address never has a port: this is an address */
	{ RULE_DENY, "2001:db8::1:443", RULE_NET, NULL, "2001:db8::1:443", 128, 0,
	  "deny 2001:db8::1:443" },
	/* v4-mapped, written as IPv6: the IPv4 rule it is */
	{ RULE_DENY, "::ffff:192.0.2.0/120", RULE_NET, NULL, "192.0.2.0", 120, 0,
	  "deny 192.0.2.0/24" },
};

START_TEST(test_rule_forms)
{
	const struct rule_case *rc = &rule_cases[_i];
	const struct policy_rule *r = add(rc->action, rc->written);
	uint8_t addr[16];

	ck_assert_int_eq(r->action, rc->action);
	ck_assert_int_eq(r->kind, rc->kind);
	if (rc->name)
		ck_assert_str_eq(r->name, rc->name);
	if (rc->addr) {
		address(rc->addr, addr);
		ck_assert_mem_eq(r->addr, addr, 16);
	}
	ck_assert_uint_eq(r->prefix, rc->prefix);
	ck_assert_uint_eq(r->port, rc->port);
	ck_assert_str_eq(r->text, rc->text);
	ck_assert_str_eq(r->origin, "--test");
	ck_assert_uint_eq(pol.nallow, rc->action == RULE_ALLOW);
}
END_TEST

START_TEST(test_bad_rules)
{
	assert_bad_rule("", "empty rule: give a hostname, *.DOMAIN, or an address or CIDR");
	assert_bad_rule("forge.example.com:70000",
			"bad port 70000 in forge.example.com:70000 (1-65535)");
	assert_bad_rule("forge.example.com:0", "bad port 0 in forge.example.com:0 (1-65535)");
	assert_bad_rule("forge.example.com:https",
			"bad port https in forge.example.com:https (1-65535)");
	assert_bad_rule("forge.example.com:", "bad port \"\" in forge.example.com: (1-65535)");
	assert_bad_rule("192.0.2.0/33", "bad CIDR prefix /33 in 192.0.2.0/33 (0-32)");
	assert_bad_rule("2001:db8::/129", "bad CIDR prefix /129 in 2001:db8::/129 (0-128)");
	assert_bad_rule("192.0.2.0/", "bad CIDR prefix / in 192.0.2.0/ (0-32)");
	assert_bad_rule("192.0.2.0/-1", "bad CIDR prefix /-1 in 192.0.2.0/-1 (0-32)");
	assert_bad_rule("192.0.2.7/24", "192.0.2.7/24 has host bits set: did you mean 192.0.2.0/24?");
	assert_bad_rule("[2001:db8::1/32]:443",
			"2001:db8::1/32 has host bits set: did you mean 2001:db8::/32?");
	assert_bad_rule("192.0.2.300", "bad IPv4 address 192.0.2.300 in 192.0.2.300");
	assert_bad_rule("forge.example.com/24",
			"bad IPv4 address forge.example.com in forge.example.com/24");
	assert_bad_rule("2001:db8::g", "bad IPv6 address 2001:db8::g in 2001:db8::g");
	assert_bad_rule("[2001:db8::1:443",
			"missing ']' in [2001:db8::1:443: an IPv6 rule with a port is [ADDRESS]:PORT");
	assert_bad_rule("[::1]53", "expected :PORT after ']' in [::1]53");
	assert_bad_rule("[192.0.2.1]:53",
			"brackets are for IPv6 in [192.0.2.1]:53: write ADDRESS:PORT for IPv4");
	assert_bad_rule("forge!.example.com",
			"bad hostname in forge!.example.com: letters, digits, '-', '_' and dots only");
	assert_bad_rule("forge..example.com",
			"bad hostname in forge..example.com: an empty label (\"..\", or nothing)");
	assert_bad_rule("*.", "bad hostname in *.: an empty label (\"..\", or nothing)");
	assert_bad_rule("*", "bad wildcard in *: write *.DOMAIN, for the names below DOMAIN");
	assert_bad_rule("forge.*.com",
			"bad wildcard in forge.*.com: write *.DOMAIN, for the names below DOMAIN");
	assert_bad_rule("*example.com",
			"bad wildcard in *example.com: write *.DOMAIN, for the names below DOMAIN");
	assert_bad_rule("-x.com", "bad hostname in -x.com: a label starts with '-'");
	assert_bad_rule("forge.x-.com", "bad hostname in forge.x-.com: a label ends with '-'");
	assert_bad_rule("*.-x.com", "bad hostname in *.-x.com: a label starts with '-'");
	/* bytes that are not text are named, never echoed */
	assert_bad_rule("a\x1b[2Jb.com",
			"a rule is printable ASCII without spaces: byte 0x1b at column 2");
	assert_bad_rule("forge\xc3\xa9.com",
			"a rule is printable ASCII without spaces: byte 0xc3 at column 6");
	assert_bad_rule("forge .com", "a rule is printable ASCII without spaces: byte 0x20 at column 6");
}
END_TEST

/* Labels up to 63, names up to 253 characters (a trailing dot aside). */
START_TEST(test_hostname_limits)
{
	char label[70], name[300], message[400];

	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(name, sizeof(name), "%s.example", label);
	add(RULE_DENY, name);
	snprintf(name, sizeof(name), "a%s.example", label);
	snprintf(message, sizeof(message), "bad hostname in %s: a label longer than 63 characters", name);
	assert_bad_rule(name, message);
	/* three labels of 63 and one of 61: 253 with the dots */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s.", label, label, label, label);
	ck_assert_uint_eq(strlen(name), 254);
	add(RULE_DENY, name);
	ck_assert_uint_eq(strlen(pol.rules[pol.count - 1].name), 253);
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label, label, label, label);
	snprintf(message, sizeof(message), "bad hostname in %s: longer than 253 characters", name);
	assert_bad_rule(name, message);
}
END_TEST

static const char *write_policy(const char *name, const char *content)
{
	static char path[PATH_MAX];

	write_file(scratch, name, content);
	pathf(path, "%s/%s", scratch, name);
	return path;
}

START_TEST(test_file)
{
	const char *path = write_policy("deploy.policy",
		"# the deploy must not need the forge\n"
		"deny forge.example.com\n"
		"\n"
		"   deny\t*.forge.example.com:443   # its mirrors\n"
		"allow 10.0.0.0/8\r\n"
		"allow [2001:db8::/32]:443\n"
		"#deny 192.0.2.0/24\n");
	char origin[PATH_MAX + 8];

	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), 0);
	ck_assert_uint_eq(pol.count, 4);
	ck_assert_uint_eq(pol.nallow, 2);
	ck_assert_str_eq(pol.rules[0].text, "deny forge.example.com");
	ck_assert_str_eq(pol.rules[1].text, "deny *.forge.example.com:443");
	ck_assert_str_eq(pol.rules[2].text, "allow 10.0.0.0/8");
	ck_assert_str_eq(pol.rules[3].text, "allow [2001:db8::/32]:443");
	snprintf(origin, sizeof(origin), "%s:4", path);
	ck_assert_str_eq(pol.rules[1].origin, origin);
}
END_TEST

START_TEST(test_empty_file)
{
	const char *path = write_policy("empty.policy", "# nothing yet\n\n   \n");

	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), 0);
	ck_assert(policy_empty(&pol));
}
END_TEST

struct bad_file {
	const char *content;
	const char *message; /* after "PATH:" */
};

static const struct bad_file bad_files[] = {
	{ "deny a.example\ndny forge.example.com\n",
	  "2: unknown word \"dny\": a line is \"deny RULE\" or \"allow RULE\"" },
	{ "# ports\n\n\n\ndeny forge.example.com:70000\n",
	  "5: bad port 70000 in forge.example.com:70000 (1-65535)" },
	{ "deny a.example\n\n\n\n\n\nallow 10.0.0.0/8 10.1.0.0/16\n",
	  "7: extra text after the rule: \"10.1.0.0/16\" (one rule a line)" },
	{ "allow   # the rule went missing\n",
	  "1: \"allow\" without a rule: a line is \"deny RULE\" or \"allow RULE\"" },
	{ "DENY forge.example.com\n",
	  "1: unknown word \"DENY\": a line is \"deny RULE\" or \"allow RULE\"" },
	{ "forge.example.com\n",
	  "1: unknown word \"forge.example.com\": a line is \"deny RULE\" or \"allow RULE\"" },
	{ "allow 192.0.2.7/24\n",
	  "1: 192.0.2.7/24 has host bits set: did you mean 192.0.2.0/24?" },
	{ "deny a.example\ndeny forge\x01.example.com\n",
	  "2: byte 0x01 at column 11 is not text: a policy file holds ASCII rules" },
	{ "\x7f" "ELF\x02\x01\x01\n",
	  "1: byte 0x7f at column 1 is not text: a policy file holds ASCII rules" },
	{ "deny -x.com\n", "1: bad hostname in -x.com: a label starts with '-'" },
};

START_TEST(test_bad_file)
{
	const struct bad_file *bf = &bad_files[_i];
	const char *path = write_policy("bad.policy", bf->content);
	char expected[PATH_MAX + 256];

	snprintf(expected, sizeof(expected), "%s:%s", path, bf->message);
	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, expected);
	/* a file that fails adds nothing, not even its good lines */
	ck_assert_uint_eq(pol.count, 0);
	ck_assert_uint_eq(pol.nallow, 0);
}
END_TEST

START_TEST(test_unreadable_file)
{
	char path[PATH_MAX], expected[PATH_MAX + 64];

	pathf(path, "%s/missing.policy", scratch);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", path);
	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, expected);
	snprintf(expected, sizeof(expected), "%s: Is a directory", scratch);
	ck_assert_int_eq(policy_load_file(&pol, scratch, err, sizeof(err)), -EISDIR);
	ck_assert_str_eq(err, expected);
}
END_TEST

/* Text after a NUL would be ignored by the string functions: the line is
 * refused instead. */
START_TEST(test_nul_in_file)
{
	static const char content[] = "deny a.example\0deny forge.example.com\n";
	char path[PATH_MAX], expected[PATH_MAX + 64];
	FILE *f;

	pathf(path, "%s/nul.policy", scratch);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(content, 1, sizeof(content) - 1, f), sizeof(content) - 1);
	fclose(f);
	snprintf(expected, sizeof(expected), "%s:1: a NUL byte at column 15: a policy file is text", path);
	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, expected);
	ck_assert_uint_eq(pol.count, 0);
}
END_TEST

/* A FIFO nobody writes to would block the open for ever. */
START_TEST(test_fifo_refused)
{
	char path[PATH_MAX], expected[PATH_MAX + 128];

	pathf(path, "%s/policy.fifo", scratch);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	snprintf(expected, sizeof(expected),
		 "%s: not a regular file (a FIFO, device or socket): give the policy as a file", path);
	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, expected);
	unlink(path);
}
END_TEST

/* A read that fails part-way (here: no memory for a huge line) fails the
 * whole file, rather than leaving the policy cut short. */
START_TEST(test_read_failure_is_not_the_end)
{
	static const size_t huge = 64 << 20;
	char path[PATH_MAX];
	long pages = 0;
	struct rlimit lim;
	FILE *f;

	pathf(path, "%s/huge.policy", scratch);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("deny a.example\n# ", f);
	ck_assert_int_eq(fseek(f, (long)huge, SEEK_CUR), 0); /* a sparse, huge comment */
	fputs("\ndeny forge.example.com\n", f);
	fclose(f);
	/* this test's own process (check forks one per test): room for what
	 * it has, and less than the line */
	f = fopen("/proc/self/statm", "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%ld", &pages), 1);
	fclose(f);
	lim.rlim_cur = lim.rlim_max = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (16 << 20);
	ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
	ck_assert_int_eq(policy_load_file(&pol, path, err, sizeof(err)), -ENOMEM);
	ck_assert_msg(strstr(err, "Cannot allocate memory after line 1"), "%s", err);
	ck_assert_uint_eq(pol.count, 0);
	unlink(path);
}
END_TEST

/* A second file that fails keeps what the first one added. */
START_TEST(test_failed_file_keeps_earlier_rules)
{
	add(RULE_ALLOW, "10.0.0.0/8");
	ck_assert_int_eq(policy_load_file(&pol, write_policy("a.policy", "allow ::1\n"), err,
					  sizeof(err)), 0);
	ck_assert_int_eq(policy_load_file(&pol, write_policy("b.policy", "allow ::2\nallow x y\n"),
					  err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(pol.count, 2);
	ck_assert_uint_eq(pol.nallow, 2);
}
END_TEST

START_TEST(test_deny_rules)
{
	struct verdict v;

	add(RULE_DENY, "192.0.2.0/24");
	add(RULE_DENY, "forge.example.com:443");
	add(RULE_DENY, "*.mirror.example.com");
	v = connection("192.0.2.7", 80, NULL);
	ck_assert(v.violation);
	ck_assert_ptr_eq(v.rule, &pol.rules[0]);
	ck_assert(!connection("192.0.3.7", 80, NULL).violation);
	/* IPv4 rules see v4-mapped IPv6 sockets too: the address is the same */
	ck_assert(connection("::ffff:192.0.2.200", 80, NULL).violation);
	/* a name with a port: both must match; any case, trailing dot or not */
	v = connection("198.51.100.1", 443, "FORGE.example.com.");
	ck_assert(v.violation);
	ck_assert_ptr_eq(v.rule, &pol.rules[1]);
	ck_assert(!connection("198.51.100.1", 80, "forge.example.com").violation);
	ck_assert(!connection("198.51.100.1", 443, NULL).violation);
	ck_assert(!connection("198.51.100.1", 443, "www.forge.example.com").violation);
	/* a wildcard: strictly below, never the name itself */
	v = connection("198.51.100.2", 443, "eu.mirror.example.com");
	ck_assert_ptr_eq(v.rule, &pol.rules[2]);
	ck_assert(connection("198.51.100.2", 1, "a.b.mirror.example.com").violation);
	ck_assert(!connection("198.51.100.2", 443, "mirror.example.com").violation);
	ck_assert(!connection("198.51.100.2", 443, "xmirror.example.com").violation);
	/* no allow rule: the rest is fine */
	ck_assert(!connection("203.0.113.1", 22, "other.example").violation);
}
END_TEST

/* The unspecified address is this host: judged as the loopback the
 * kernel sends it to. */
START_TEST(test_unspecified_is_loopback)
{
	add(RULE_DENY, "127.0.0.1:8080");
	add(RULE_DENY, "[::1]:8080");
	ck_assert_ptr_eq(connection("0.0.0.0", 8080, NULL).rule, &pol.rules[0]);
	ck_assert_ptr_eq(connection("::ffff:0.0.0.0", 8080, NULL).rule, &pol.rules[0]);
	ck_assert_ptr_eq(connection("::", 8080, NULL).rule, &pol.rules[1]);
	ck_assert(!connection("0.0.0.1", 8080, NULL).violation);
	ck_assert(!connection("::2", 8080, NULL).violation);
	ck_assert(!connection("0.0.0.0", 8081, NULL).violation);
}
END_TEST

START_TEST(test_ports)
{
	add(RULE_DENY, "[2001:db8::/32]:443");
	add(RULE_DENY, "192.0.2.0/24:53");
	ck_assert(connection("2001:db8:1::5", 443, NULL).violation);
	ck_assert(!connection("2001:db8:1::5", 80, NULL).violation);
	ck_assert(!connection("2001:db9::5", 443, NULL).violation);
	ck_assert(connection("192.0.2.53", 53, NULL).violation);
	ck_assert(!connection("192.0.2.53", 853, NULL).violation);
}
END_TEST

START_TEST(test_allow_list)
{
	struct verdict v;

	add(RULE_ALLOW, "10.0.0.0/8");
	add(RULE_ALLOW, "*.internal.example:8080");
	add(RULE_DENY, "10.6.6.0/24");
	ck_assert(!connection("10.1.2.3", 443, NULL).violation);
	ck_assert(!connection("203.0.113.1", 8080, "api.internal.example").violation);
	/* not on the list: a violation with no rule */
	v = connection("203.0.113.1", 443, "api.internal.example");
	ck_assert(v.violation);
	ck_assert_ptr_null(v.rule);
	v = connection("::1", 53, NULL);
	ck_assert(v.violation);
	ck_assert_ptr_null(v.rule);
	/* deny wins, whichever comes first */
	v = connection("10.6.6.6", 443, NULL);
	ck_assert(v.violation);
	ck_assert_ptr_eq(v.rule, &pol.rules[2]);
}
END_TEST

START_TEST(test_lookups)
{
	struct verdict v;

	add(RULE_ALLOW, "10.0.0.0/8");
	add(RULE_DENY, "forge.example.com:443"); /* a port: for connections only */
	add(RULE_DENY, "*.forge.example.com");
	add(RULE_DENY, "192.0.2.0/24");
	add(RULE_DENY, "nosuch.example");
	/* the allow list and address rules say nothing about lookups */
	ck_assert(!policy_check_lookup(&pol, "anything.example").violation);
	ck_assert(!policy_check_lookup(&pol, "forge.example.com").violation);
	v = policy_check_lookup(&pol, "EU.Forge.Example.Com.");
	ck_assert(v.violation);
	ck_assert_ptr_eq(v.rule, &pol.rules[2]);
	v = policy_check_lookup(&pol, "nosuch.example");
	ck_assert_ptr_eq(v.rule, &pol.rules[4]);
}
END_TEST

START_TEST(test_name_hash_by_hand)
{
	/* M = DEPTRACE_NAME_HASH_MULT = 0x100000001b3 = 2^40 + 0x1b3; each
	 * byte counts with 0x20 set (b | 0x20).
	 * "a": wire 01 'a' (0x61): from the end (0x61+1)*1 + (0x21+1)*M
	 *   = 0x62 + 0x2200000039c6 = 0x220000003a28.
	 * "ab": wire 02 'a' 'b': (0x62+1) + (0x61+1)*M + (0x22+1)*M^2, where
	 *   M^2 = 2^80 + 2*0x1b3*2^40 + 0x1b3^2 = 0x366000002e329 (mod 2^64),
	 *   0x62*M = 0x62000000a686, 0x23*M^2 = 0x76f20000650e9b;
	 *   sum: 0x63 + 0x62000000a686 + 0x76f20000650e9b = 0x7754000065b584. */
	ck_assert_uint_eq(policy_name_hash("a"), 0x220000003a28ull);
	ck_assert_uint_eq(policy_name_hash("ab"), 0x7754000065b584ull);
	/* case and a trailing dot make no difference */
	ck_assert_uint_eq(policy_name_hash("AB."), 0x7754000065b584ull);
	ck_assert_uint_eq(policy_name_hash(""), 0);
	ck_assert_uint_ne(policy_name_hash("a.b"), policy_name_hash("ab"));
}
END_TEST

/* What the kernel does: one backward pass over a query's wire form, which
 * holds the hash of the suffix starting at each label's length byte. */
static uint64_t suffix_hash(const uint8_t *wire, size_t len, size_t from)
{
	uint64_t h = 0, pw = 1;

	for (size_t i = len; i-- > from;) {
		h += (uint64_t)((wire[i] | 0x20) + 1) * pw;
		pw *= DEPTRACE_NAME_HASH_MULT;
	}
	return h;
}

START_TEST(test_name_hash_suffixes)
{
	/* as a program may send it: DNS names are case-blind */
	static const uint8_t wire[] = "\x05" "FORGE" "\x07" "Example" "\x03" "com";
	size_t len = sizeof(wire) - 1; /* the final zero label is left out */

	ck_assert_uint_eq(suffix_hash(wire, len, 0), policy_name_hash("forge.example.com"));
	ck_assert_uint_eq(suffix_hash(wire, len, 6), policy_name_hash("example.com"));
	ck_assert_uint_eq(suffix_hash(wire, len, 14), policy_name_hash("com"));
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("policy");
	TCase *rules = tcase_create("rules"), *files = tcase_create("files");
	TCase *verdicts = tcase_create("verdicts");

	tcase_add_loop_test(rules, test_rule_forms, 0, (int)(sizeof(rule_cases) / sizeof(rule_cases[0])));
	tcase_add_test(rules, test_bad_rules);
	tcase_add_test(rules, test_hostname_limits);
	tcase_add_test(rules, test_name_hash_by_hand);
	tcase_add_test(rules, test_name_hash_suffixes);
	tcase_add_test(files, test_file);
	tcase_add_test(files, test_empty_file);
	tcase_add_loop_test(files, test_bad_file, 0, (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(files, test_unreadable_file);
	tcase_add_test(files, test_failed_file_keeps_earlier_rules);
	tcase_add_test(files, test_nul_in_file);
	tcase_add_test(files, test_fifo_refused);
	tcase_add_test(files, test_read_failure_is_not_the_end);
	tcase_add_test(verdicts, test_deny_rules);
	tcase_add_test(verdicts, test_unspecified_is_loopback);
	tcase_add_test(verdicts, test_ports);
	tcase_add_test(verdicts, test_allow_list);
	tcase_add_test(verdicts, test_lookups);
	tcase_add_checked_fixture(rules, setup, teardown);
	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_checked_fixture(verdicts, setup, teardown);
	suite_add_tcase(suite, rules);
	suite_add_tcase(suite, files);
	suite_add_tcase(suite, verdicts);
	return run_suite(suite);
}
