/* Unit tests for lib/names.h; hosts files are written to a scratch
 * directory, the real /etc/hosts is never read. */
#include "testutil.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "names.h"

static struct name_table *table;
static char *scratch;

static void setup(void)
{
	table = name_table_new();
	ck_assert_ptr_nonnull(table);
	scratch = make_scratch_dir(NULL, "names");
}

static void teardown(void)
{
	name_table_free(table);
	table = NULL;
	remove_scratch_dir(scratch);
	scratch = NULL;
}

/* "192.0.2.10" (stored v4-mapped) or "2001:db8::1" as 16 bytes. */
static const uint8_t *addr_of(const char *text)
{
	static uint8_t addr[16];

	memset(addr, 0, sizeof(addr));
	if (inet_pton(AF_INET6, text, addr) == 1)
		return addr;
	addr[10] = addr[11] = 0xff;
	ck_assert_msg(inet_pton(AF_INET, text, addr + 12) == 1, "bad test address %s", text);
	return addr;
}

/* Address number i of a numbered range: 2001:db8::/96 plus i. */
static const uint8_t *numbered(uint32_t i)
{
	static uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	addr[12] = (uint8_t)(i >> 24);
	addr[13] = (uint8_t)(i >> 16);
	addr[14] = (uint8_t)(i >> 8);
	addr[15] = (uint8_t)i;
	return addr;
}

/* Most tests are about one process, PID 1, with no parent. */
#define PID 1

static const char *lookup_bytes(const uint8_t *addr)
{
	const struct name_owner self = { .pid = PID, .since = 0, .until = UINT64_MAX };
	struct name_candidates c;

	name_table_lookup(table, &self, 1, addr, &c);
	return c.count ? c.names[0] : NULL;
}

static void add(const char *addr, const char *name)
{
	ck_assert_int_eq(name_table_add(table, PID, addr_of(addr), name), 0);
}

static const char *lookup(const char *addr)
{
	return lookup_bytes(addr_of(addr));
}

static void add_numbered(uint32_t i, const char *name)
{
	ck_assert_int_eq(name_table_add(table, PID, numbered(i), name), 0);
}

static const char *lookup_numbered(uint32_t i)
{
	return lookup_bytes(numbered(i));
}

/* Every candidate for `addr` seen from `lineage`, "source: a, b, c". */
static const char *candidates(const struct name_owner *lineage, size_t n, const char *addr)
{
	static char buf[1024];
	struct name_candidates c;
	size_t used;

	name_table_lookup(table, lineage, n, addr_of(addr), &c);
	used = (size_t)snprintf(buf, sizeof(buf), "%s:", name_source_word(c.source));
	for (size_t i = 0; i < c.count; i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : " ",
					 c.names[i]);
	return buf;
}

static void add_by(uint32_t pid, const char *addr, const char *name)
{
	ck_assert_int_eq(name_table_add(table, pid, addr_of(addr), name), 0);
}

static int load_hosts(const char *content)
{
	char path[PATH_MAX];

	write_file(scratch, "hosts", content);
	pathf(path, "%s/hosts", scratch);
	return name_table_load_hosts(table, path);
}

START_TEST(test_add_lookup)
{
	ck_assert_ptr_null(lookup("192.0.2.10"));
	add("192.0.2.10", "forge.example.com");
	add("2001:db8::10", "forge.example.com");
	ck_assert_str_eq(lookup("192.0.2.10"), "forge.example.com");
	ck_assert_str_eq(lookup("2001:db8::10"), "forge.example.com");
	ck_assert_ptr_null(lookup("192.0.2.11"));
	ck_assert_ptr_null(lookup("2001:db8::11"));
	ck_assert_ptr_null(lookup("::"));
}
END_TEST

START_TEST(test_replace)
{
	add("192.0.2.10", "forge.example.com");
	add("192.0.2.10", "cdn.example.net");
	ck_assert_str_eq(lookup("192.0.2.10"), "cdn.example.net");
	add("192.0.2.10", "forge.example.com");
	ck_assert_str_eq(lookup("192.0.2.10"), "forge.example.com");
}
END_TEST

/* The name is copied: the caller's buffer may change afterwards. */
START_TEST(test_name_copied)
{
	char name[32] = "forge.example.com";

	add("192.0.2.10", name);
	strcpy(name, "changed");
	ck_assert_str_eq(lookup("192.0.2.10"), "forge.example.com");
}
END_TEST

/* An IPv4 address is known only in its v4-mapped form. */
START_TEST(test_v4_mapped)
{
	uint8_t compat[16] = { [12] = 192, [13] = 0, [14] = 2, [15] = 10 };

	add("192.0.2.10", "forge.example.com");
	ck_assert_str_eq(lookup("::ffff:192.0.2.10"), "forge.example.com");
	ck_assert_ptr_null(lookup_bytes(compat));
}
END_TEST

START_TEST(test_many)
{
	char name[32];

	for (uint32_t i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "host%u.example", i);
		add_numbered(i * 7919, name);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "host%u.example", i);
		ck_assert_str_eq(lookup_numbered(i * 7919), name);
		ck_assert_ptr_null(lookup_numbered(i * 7919 + 1));
	}
}
END_TEST

/* The table remembers the last NAME_TABLE_CAPACITY adds. */
START_TEST(test_capacity)
{
	const uint32_t cap = NAME_TABLE_CAPACITY;

	for (uint32_t i = 0; i < cap; i++)
		add_numbered(i, "first");
	for (uint32_t i = 0; i < cap; i++)
		ck_assert_ptr_nonnull(lookup_numbered(i));

	/* one more: the oldest goes */
	add_numbered(cap, "new");
	ck_assert_ptr_null(lookup_numbered(0));
	ck_assert_str_eq(lookup_numbered(1), "first");
	ck_assert_str_eq(lookup_numbered(cap), "new");

	/* a replaced name is a new add: 5 outlives 2, 3 and 4 */
	add_numbered(5, "replaced");
	add_numbered(cap + 1, "new");
	add_numbered(cap + 2, "new");
	add_numbered(cap + 3, "new");
	for (uint32_t i = 1; i <= 4; i++)
		ck_assert_ptr_null(lookup_numbered(i));
	ck_assert_str_eq(lookup_numbered(5), "replaced");
	ck_assert_str_eq(lookup_numbered(6), "first");
	/* the ring reaches the old entry of 5: it takes nothing with it */
	add_numbered(cap + 4, "new");
	ck_assert_str_eq(lookup_numbered(5), "replaced");
	ck_assert_str_eq(lookup_numbered(6), "first");
	add_numbered(cap + 5, "new");
	ck_assert_ptr_null(lookup_numbered(6));
	ck_assert_str_eq(lookup_numbered(7), "first");
	for (uint32_t i = cap; i <= cap + 5; i++)
		ck_assert_str_eq(lookup_numbered(i), "new");
}
END_TEST

/* Many adds, replacements and evictions against a plain model: an address
 * is known iff its latest add is among the last NAME_TABLE_CAPACITY. */
START_TEST(test_capacity_model)
{
	enum { UNIVERSE = 3 * NAME_TABLE_CAPACITY / 2, ADDS = 4 * NAME_TABLE_CAPACITY };
	static int64_t last_add[UNIVERSE];
	uint32_t x = 12345;
	char name[32];

	for (uint32_t i = 0; i < UNIVERSE; i++)
		last_add[i] = -1;
	for (int64_t n = 0; n < ADDS; n++) {
		uint32_t a;

		x = x * 1103515245u + 12345u;
		a = (x >> 8) % UNIVERSE;
		snprintf(name, sizeof(name), "n%lld", (long long)n);
		add_numbered(a, name);
		last_add[a] = n;
	}
	for (uint32_t a = 0; a < UNIVERSE; a++) {
		const char *got = lookup_numbered(a);

		if (last_add[a] < ADDS - NAME_TABLE_CAPACITY) {
			ck_assert_msg(got == NULL, "%u: %s should be forgotten", a, got);
			continue;
		}
		snprintf(name, sizeof(name), "n%lld", (long long)last_add[a]);
		ck_assert_msg(got && !strcmp(got, name), "%u: %s, not %s", a,
			      got ? got : "NULL", name);
	}
}
END_TEST

/* Two processes resolve two names to one address: each is named by its
 * own answer, whoever asked last. */
START_TEST(test_per_process)
{
	const struct name_owner a = { 10, 0, UINT64_MAX }, b = { 20, 0, UINT64_MAX },
				c = { 30, 0, UINT64_MAX };

	add_by(10, "192.0.2.10", "a.example.com");
	add_by(20, "192.0.2.10", "b.example.com");
	ck_assert_str_eq(candidates(&a, 1, "192.0.2.10"), "dns: a.example.com");
	ck_assert_str_eq(candidates(&b, 1, "192.0.2.10"), "dns: b.example.com");
	/* a third without an answer of its own: every process's, marked */
	ck_assert_str_eq(candidates(&c, 1, "192.0.2.10"), "tree: b.example.com, a.example.com");
	ck_assert_str_eq(candidates(&c, 1, "192.0.2.11"), ":");
}
END_TEST

/* One process, several names for an address: all, newest first, each
 * once; a repeated answer moves to the front. */
START_TEST(test_several_names)
{
	const struct name_owner a = { 10, 0, UINT64_MAX };

	add_by(10, "192.0.2.10", "a.example.com");
	add_by(10, "192.0.2.10", "b.example.com");
	add_by(10, "192.0.2.10", "c.example.com");
	ck_assert_str_eq(candidates(&a, 1, "192.0.2.10"),
			 "dns: c.example.com, b.example.com, a.example.com");
	add_by(10, "192.0.2.10", "a.example.com");
	ck_assert_str_eq(candidates(&a, 1, "192.0.2.10"),
			 "dns: a.example.com, c.example.com, b.example.com");
	/* the chain of every process's answers holds each name once too */
	add_by(20, "192.0.2.10", "c.example.com");
	ck_assert_str_eq(candidates(&(struct name_owner){ 30, 0, UINT64_MAX }, 1, "192.0.2.10"),
			 "tree: c.example.com, a.example.com, b.example.com");
}
END_TEST

/* At most NAME_CANDIDATES names come back, the newest. */
START_TEST(test_candidates_bounded)
{
	const struct name_owner a = { 10, 0, UINT64_MAX };
	struct name_candidates c;
	char name[32];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		add_by(10, "192.0.2.10", name);
	}
	name_table_lookup(table, &a, 1, addr_of("192.0.2.10"), &c);
	ck_assert_uint_eq(c.count, NAME_CANDIDATES);
	ck_assert_str_eq(c.names[0], "n99.example");
	ck_assert_str_eq(c.names[NAME_CANDIDATES - 1], "n92.example");
}
END_TEST

/* A child has its parent's answers from before the fork, not after; its
 * own come first. */
START_TEST(test_fork_inherits)
{
	uint64_t fork_mark;
	struct name_owner child[2];

	add_by(10, "192.0.2.10", "before.example.com");
	fork_mark = name_table_mark(table);
	add_by(10, "192.0.2.10", "after.example.com");
	add_by(10, "192.0.2.11", "later.example.com");
	child[0] = (struct name_owner){ 11, fork_mark, UINT64_MAX };
	child[1] = (struct name_owner){ 10, 0, fork_mark };
	ck_assert_str_eq(candidates(child, 2, "192.0.2.10"), "dns: before.example.com");
	/* after the fork, only another process's answer: the fallback */
	ck_assert_str_eq(candidates(child, 2, "192.0.2.11"), "tree: later.example.com");
	add_by(11, "192.0.2.10", "own.example.com");
	ck_assert_str_eq(candidates(child, 2, "192.0.2.10"),
			 "dns: own.example.com, before.example.com");
	/* a PID reused: the earlier process's answers are not the child's */
	add_by(12, "192.0.2.12", "old.example.com");
	child[0].pid = 12;
	child[0].since = name_table_mark(table);
	ck_assert_str_eq(candidates(child, 1, "192.0.2.12"), "tree: old.example.com");
}
END_TEST

/* Own answers, then /etc/hosts, then the tree's. */
START_TEST(test_hosts_order)
{
	const struct name_owner a = { 10, 0, UINT64_MAX };

	ck_assert_int_eq(load_hosts("192.0.2.10 forge.example.com\n"), 1);
	add_by(20, "192.0.2.10", "other.example.com");
	ck_assert_str_eq(candidates(&a, 1, "192.0.2.10"), "hosts: forge.example.com");
	add_by(10, "192.0.2.10", "own.example.com");
	ck_assert_str_eq(candidates(&a, 1, "192.0.2.10"), "dns: own.example.com");
}
END_TEST

START_TEST(test_hosts)
{
	int added = load_hosts(
		"# The following lines are desirable for IPv4 capable hosts\n"
		"127.0.0.1\tlocalhost\n"
		"127.0.1.1 myhost.example.org myhost\n"
		"\n"
		"::1     localhost ip6-localhost ip6-loopback\n"
		"192.0.2.10 forge.example.com forge   # the forge\n"
		"   192.0.2.11\t\tapi.example.com\r\n"
		"192.0.2.10 second.example.com\n"
		"not-an-address broken.example.com\n"
		"192.0.2.12\n"
		"192.0.2.12   # a comment, no name\n"
		"192.0.2.300 bad.example.com\n"
		"fe80::1%eth0 linklocal\n"
		"#192.0.2.13 commented.example.com\n"
		"192.0.2.14 bad\001name\n"
		"2001:db8::5 v6.example.com\n"
		"192.0.2.15 last.example.com");

	ck_assert_int_eq(added, 7);
	ck_assert_str_eq(lookup("127.0.0.1"), "localhost");
	ck_assert_str_eq(lookup("127.0.1.1"), "myhost.example.org");
	ck_assert_str_eq(lookup("::1"), "localhost");
	/* the first line for an address wins, as in glibc */
	ck_assert_str_eq(lookup("192.0.2.10"), "forge.example.com");
	ck_assert_str_eq(lookup("192.0.2.11"), "api.example.com");
	ck_assert_str_eq(lookup("2001:db8::5"), "v6.example.com");
	ck_assert_str_eq(lookup("192.0.2.15"), "last.example.com");
	ck_assert_ptr_null(lookup("192.0.2.12"));
	ck_assert_ptr_null(lookup("192.0.2.13"));
	ck_assert_ptr_null(lookup("192.0.2.14"));
	ck_assert_ptr_null(lookup("fe80::1"));
}
END_TEST

START_TEST(test_hosts_then_dns)
{
	ck_assert_int_eq(load_hosts("192.0.2.10 forge.example.com\n"), 1);
	/* a later DNS answer wins */
	add("192.0.2.10", "cdn.example.net");
	ck_assert_str_eq(lookup("192.0.2.10"), "cdn.example.net");
	/* and hosts do not take it back */
	ck_assert_int_eq(load_hosts("192.0.2.10 forge.example.com\n"), 0);
	ck_assert_str_eq(lookup("192.0.2.10"), "cdn.example.net");
}
END_TEST

/* A name longer than DNS allows is not taken; a long line is no trouble. */
START_TEST(test_hosts_long)
{
	char content[1024], name[301];

	memset(name, 'a', 300);
	name[300] = '\0';
	snprintf(content, sizeof(content), "192.0.2.1 %s\n192.0.2.2 ok.example %s\n",
		 name, name);
	ck_assert_int_eq(load_hosts(content), 1);
	ck_assert_ptr_null(lookup("192.0.2.1"));
	ck_assert_str_eq(lookup("192.0.2.2"), "ok.example");
}
END_TEST

START_TEST(test_hosts_unreadable)
{
	char path[PATH_MAX];

	pathf(path, "%s/missing", scratch);
	ck_assert_int_eq(name_table_load_hosts(table, path), -ENOENT);
	ck_assert_int_eq(name_table_load_hosts(table, scratch), -EISDIR);
	ck_assert_int_eq(load_hosts(""), 0);
}
END_TEST

static Suite *names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *table_case = tcase_create("table");
	TCase *hosts = tcase_create("hosts");

	tcase_add_checked_fixture(table_case, setup, teardown);
	/* the capacity cases make hundreds of thousands of adds: Check's 4 s
	 * is too short on a machine busy with other builds */
	tcase_set_timeout(table_case, 30);
	tcase_add_test(table_case, test_add_lookup);
	tcase_add_test(table_case, test_replace);
	tcase_add_test(table_case, test_name_copied);
	tcase_add_test(table_case, test_v4_mapped);
	tcase_add_test(table_case, test_many);
	tcase_add_test(table_case, test_capacity);
	tcase_add_test(table_case, test_capacity_model);
	tcase_add_test(table_case, test_per_process);
	tcase_add_test(table_case, test_several_names);
	tcase_add_test(table_case, test_candidates_bounded);
	tcase_add_test(table_case, test_fork_inherits);
	suite_add_tcase(s, table_case);

	tcase_add_checked_fixture(hosts, setup, teardown);
	tcase_add_test(hosts, test_hosts);
	tcase_add_test(hosts, test_hosts_then_dns);
	tcase_add_test(hosts, test_hosts_order);
	tcase_add_test(hosts, test_hosts_long);
	tcase_add_test(hosts, test_hosts_unreadable);
	suite_add_tcase(s, hosts);
	return s;
}

int main(void)
{
	return run_suite(names_suite());
}
