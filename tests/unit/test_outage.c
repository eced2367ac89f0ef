/* Unit tests for lib/outage.h: --outage targets and modes, the rehearsal's
 * report (who hit the outage, the time lost as a union of waits, sorted),
 * and its budget. */
#include "testutil.h"

#include <sys/wait.h>

#include "outage.h"

START_TEST(test_targets)
{
	struct outage o = { .count = 0 };
	char err[256];

	ck_assert_int_eq(outage_add(&o, "forge.example.com", err, sizeof(err)), 0);
	ck_assert_int_eq(o.targets[0].rule.kind, RULE_HOST);
	ck_assert_int_eq(o.targets[0].mode, OUTAGE_BLACKHOLE);
	ck_assert_str_eq(o.targets[0].rule.text, "outage forge.example.com (blackhole)");
	ck_assert_int_eq(outage_add(&o, "*.forge.example.com:443=refuse", err, sizeof(err)), 0);
	ck_assert_int_eq(o.targets[1].rule.kind, RULE_SUFFIX);
	ck_assert_uint_eq(o.targets[1].rule.port, 443);
	ck_assert_int_eq(o.targets[1].mode, OUTAGE_REFUSE);
	ck_assert_int_eq(outage_add(&o, "192.0.2.0/24:80=blackhole", err, sizeof(err)), 0);
	ck_assert_int_eq(o.targets[2].rule.kind, RULE_NET);
	ck_assert_uint_eq(o.count, 3);
	/* a name's lookups fail (the resolver answers them); not an address's */
	ck_assert_int_eq(outage_add(&o, "forge.example.com=dns", err, sizeof(err)), 0);
	ck_assert_int_eq(o.targets[3].mode, OUTAGE_DNS);
	ck_assert(outage_by_resolver(&o.targets[3]));
	ck_assert(!outage_by_resolver(&o.targets[0]));
	ck_assert_int_eq(outage_add(&o, "192.0.2.10=nxdomain", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "the dns modes are for names"), "%s", err);
	ck_assert_int_eq(outage_add(&o, "forge.example.com:443=dns", err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "a lookup has no port"), "%s", err);
	ck_assert_int_eq(outage_add(&o, "forge.example.com=sideways", err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "unknown --outage mode 'sideways': expected refuse, blackhole, dns or nxdomain");
	ck_assert_int_eq(outage_add(&o, "300.1.1.1", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(outage_add(&o, "-x.example.com", err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(o.count, 4);
	ck_assert_str_eq(outage_mode_name(OUTAGE_NXDOMAIN), "nxdomain");
}
END_TEST

static struct event connect_event(const char *name, uint8_t last, uint16_t port, const char *chain,
				  uint64_t start_ms, uint64_t wait_ms, const char *result,
				  const char *outcome)
{
	struct event ev = {
		.kind = EVENT_CONNECT,
		.ts_ns = start_ms * 1000000,
		.comm = "curl",
		.chain = chain,
		.class = CLASS_HIDDEN,
		.port = port,
		.name = name,
		.result = result,
		.outcome = outcome,
		.failed = strcmp(result, "ok") != 0,
		.waited = true,
		.wait_ns = wait_ms * 1000000,
	};

	ev.addr[10] = ev.addr[11] = 0xff;
	ev.addr[12] = 192;
	ev.addr[14] = 2;
	ev.addr[15] = last;
	return ev;
}

static void collect(void *arg, const char *text)
{
	char *buf = arg;

	strcat(buf, text);
	strcat(buf, "\n");
}

START_TEST(test_report)
{
	static char text[8192];
	struct outage o = { .count = 0 };
	struct outage_report r;
	struct event ev;
	char err[256];

	ck_assert_int_eq(outage_add(&o, "forge.example.com", err, sizeof(err)), 0);
	ck_assert_int_eq(outage_add(&o, "192.0.2.20=refuse", err, sizeof(err)), 0);
	outage_report_init(&r, &o);
	/* two parallel attempts (2.0 s from 0 and 1.0 s from 0.5 s: 2.0 s
	 * lost), then one more of 1.0 s: 3.0 s */
	ev = connect_event("forge.example.com", 10, 80, "deploy.sh > migrate > curl", 0, 2000,
			   "ECONNABORTED", "closed");
	outage_report_note(&r, &ev);
	ev = connect_event("forge.example.com", 10, 80, "deploy.sh > migrate > curl", 500, 1000,
			   "ECONNABORTED", "closed");
	outage_report_note(&r, &ev);
	ev = connect_event("forge.example.com", 10, 80, "deploy.sh > migrate > curl", 4000, 1000,
			   "ETIMEDOUT", "timeout");
	outage_report_note(&r, &ev);
	/* refused by address, at once */
	ev = connect_event(NULL, 20, 443, "deploy.sh > curl", 100, 0, "ECONNREFUSED", "refused");
	outage_report_note(&r, &ev);
	/* not a target: not in the report */
	ev = connect_event("mirror.example.com", 30, 80, "deploy.sh > curl", 200, 5000, "ok", "ok");
	outage_report_note(&r, &ev);
	/* to a target, and connected: NOT CUT */
	ev = connect_event("forge.example.com", 11, 80, "deploy.sh > curl", 300, 1, "ok", "ok");
	outage_report_note(&r, &ev);
	/* a service the command called, outside its cgroup: not cut, not warned of */
	ev = connect_event("forge.example.com", 11, 80, "internal-api", 9000, 500, "ok", "ok");
	ev.class = CLASS_TRANSIENT;
	ev.via = "deploy.sh > curl -> api.internal.example:8080 internal-api";
	outage_report_note(&r, &ev);
	outage_report_set_status(&r, 28 << 8);
	outage_report_finish(&r);

	ck_assert_uint_eq(r.count, 4);
	ck_assert_str_eq(r.hits[0].chain, "deploy.sh > migrate > curl");
	ck_assert_uint_eq(r.hits[0].lost_ns, 3000000000ull);
	ck_assert_uint_eq(r.hits[0].attempts, 3);
	ck_assert_uint_eq(r.lost_ns, 3000000000ull); /* the others overlap the first */
	text[0] = '\0';
	outage_report_lines(&r, collect, text);
	ck_assert_msg(strstr(text, "REHEARSAL (outage forge.example.com (blackhole), outage 192.0.2.20 (refuse)): "
				   "the command failed (exit status 28); it waited 3.0s on the outage, 4 hits\n"
				   "forge.example.com:80  hidden (deploy.sh > migrate > curl)  blackholed: "
				   "waited 3.0s (the kernel gave up: ETIMEDOUT) x3\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "forge.example.com:80  hidden (deploy.sh > curl)  NOT CUT: 1 of 1 attempts connected (ok) x1\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "forge.example.com:80  transient (deploy.sh > curl -> api.internal.example:8080 internal-api)  outside the rehearsal (a service the command called, not in its cgroup): 1 of 1 attempts connected (ok) x1\n"),
		      "%s", text);
	ck_assert_msg(strstr(text, "192.0.2.20:443  hidden (deploy.sh > curl)  refused: waited 0us (ECONNREFUSED) x1\n"),
		      "%s", text);
	ck_assert_ptr_nonnull(outage_report_find(&r, r.hits[0].addr, 80, "deploy.sh > migrate > curl"));
	ck_assert_ptr_null(outage_report_find(&r, r.hits[0].addr, 80, "deploy.sh > curl"));
	/* the budget: the command failed */
	ck_assert(outage_report_failed(&r, 3600));
	outage_report_set_status(&r, 0);
	ck_assert(outage_report_failed(&r, 2.5));
	ck_assert(!outage_report_failed(&r, 3.5));
	outage_report_free(&r);
}
END_TEST

/* Without a status (the command not seen to end), the rehearsal fails. */
START_TEST(test_no_status)
{
	struct outage o = { .count = 0 };
	struct outage_report r;
	static char text[1024];
	char err[256];

	ck_assert_int_eq(outage_add(&o, "forge.example.com", err, sizeof(err)), 0);
	outage_report_init(&r, &o);
	outage_report_finish(&r);
	ck_assert(outage_report_failed(&r, 60));
	outage_report_lines(&r, collect, text);
	ck_assert_str_eq(text, "REHEARSAL (outage forge.example.com (blackhole)): the command was not "
			       "seen to end; it waited 0us on the outage, 0 hits\n");
	outage_report_free(&r);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("outage");
	TCase *tc = tcase_create("outage");

	tcase_add_test(tc, test_targets);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_no_status);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
