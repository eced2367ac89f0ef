/* Both backends' programs, and the policy programs with each, compiled by
 * libbcc and loaded through the kernel's verifier without being attached.
 * On a kernel without kprobes this is the only thing that keeps the kprobe
 * programs from rotting.
 * Root only; exits 77 (skipped) otherwise. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "enforce.h"
#include "kheaders.h"
#include "kernel_probe.h"
#include "policy.h"
#include "tracer.h"

static struct headers_choice headers;
static bool unix_services; /* the kernel has unix_probes' tracepoints */

/* Every BPF program loaded on the machine, by anyone. */
static int loaded_programs(void)
{
	union bpf_attr attr;
	__u32 id = 0;
	int n = 0;

	for (;;) {
		memset(&attr, 0, sizeof(attr));
		attr.start_id = id;
		if (syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &attr, sizeof(attr)))
			return n;
		id = attr.next_id;
		n++;
	}
}

static void ignore_record(void *cookie, const union deptrace_record *rec) {}
static void ignore_lost(void *cookie, uint64_t lost) {}

/* Every program the probe lists name, each function once (the kprobe
 * backend runs on_tcp_connect at two kernel functions), and the cgroup
 * programs both backends link to the cgroup v2 root; following, the Unix
 * socket ones where the kernel has their tracepoints. */
static size_t programs_needed(enum backend backend, bool follow, bool syscall_hooks)
{
	const struct probe_spec *lists[PROBE_LISTS];
	size_t nlists = probe_lists(backend, syscall_hooks, lists), n = 0;

	for (size_t i = 0; i < nlists; i++) {
		if (lists[i] == unix_probes && !(follow && unix_services))
			continue;
		for (const struct probe_spec *p = lists[i]; p->name; p++) {
			bool repeat = false;

			for (const struct probe_spec *q = lists[i]; q < p; q++)
				repeat |= !p->category && !q->category && !strcmp(p->function, q->function);
			if (!repeat && (follow || (!p->children_only && p->fact != FACT_SERVICES)))
				n++;
		}
	}
	for (const struct cgroup_probe_spec *c = cgroup_probes; c->hook; c++)
		n += follow || !(c->facts & (1u << FACT_SERVICES));
	return n;
}

/* `follow`: following children and local services (bpf_text/follow.bpf.h),
 * or neither. With `enforcing`, also the policy programs (policy_cgroup.bpf.h: the
 * ENFORCE_PROGRAMS of lib/enforce.c, sock_create, connect4/6, sendmsg4/6
 * and the DNS egress) and the resolver's steering (resolver_steer.bpf.h),
 * with rules of every kind in their maps (names too, which switch on the
 * refusal of DNS over TCP) and an allow list. */
static void load_and_unload(enum backend backend, bool follow, bool enforcing,
			    bool syscall_hooks)
{
	size_t expected_programs = programs_needed(backend, follow, syscall_hooks);
	struct tracer_config config = {
		.backend = backend,
		.syscall_hooks = syscall_hooks,
		.follow_children = follow,
		.follow_services = follow,
		.follow_unix = unix_services,
		.enforce = enforcing,
		.allow_list = enforcing,
		.resolver = enforcing,
		.buffer_pages = 8,
		.kernel_tree = headers.source == HEADERS_NEAREST ? headers.tree : NULL,
		.sink = { .record = ignore_record, .lost = ignore_lost },
	};
	struct tracer *tracer = NULL;
	char err[512] = "";
	int before = loaded_programs();
	int rc = tracer_load(&config, &tracer, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s backend: %s", backend_name(backend), err);
	if (enforcing) {
		static const char *const rules[][2] = {
			{ "deny", "192.0.2.0/24" }, { "deny", "[2001:db8::/32]:443" },
			{ "deny", "forge.example.com" }, { "deny", "*.forge.example.com" },
			{ "allow", "10.0.0.0/8" }, { "allow", "api.example.com:8080" },
			{ "deny", "mirror.example.com:22" },
		};
		struct policy policy = { 0 };
		struct outage outage = { .count = 0 };

		for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			ck_assert_int_eq(policy_add_rule(&policy,
							 strcmp(rules[i][0], "deny") ? RULE_ALLOW : RULE_DENY,
							 rules[i][1], "test", err, sizeof(err)), 0);
		ck_assert_int_eq(outage_add(&outage, "192.0.2.10:443=refuse", err, sizeof(err)), 0);
		ck_assert_int_eq(outage_add(&outage, "[2001:db8::/32]", err, sizeof(err)), 0);
		rc = enforce_load(tracer, &policy, &outage, err, sizeof(err));
		policy_free(&policy);
		ck_assert_msg(rc == 0, "%s backend, policy programs: %s", backend_name(backend), err);
		expected_programs += ENFORCE_PROGRAMS;
	}
	ck_assert_uint_eq(tracer_program_count(tracer), expected_programs);
	ck_assert_int_eq(loaded_programs(), before + (int)expected_programs);
	tracer_close(tracer);
	ck_assert_int_eq(loaded_programs(), before);
}

/* By default (no syscall hooks) and with --syscall-hooks, each with and
 * without following and enforcement. */
static void load_every_configuration(enum backend backend)
{
	for (int hooks = 0; hooks <= 1; hooks++) {
		load_and_unload(backend, true, false, hooks);
		load_and_unload(backend, false, false, hooks);
		load_and_unload(backend, true, true, hooks);
	}
}

START_TEST(test_kprobe_programs_load)
{
	ck_assert_uint_eq(programs_needed(BACKEND_KPROBE, true, false), unix_services ? 24 : 22);
	ck_assert_uint_eq(programs_needed(BACKEND_KPROBE, true, true), unix_services ? 26 : 24);
	ck_assert_uint_eq(programs_needed(BACKEND_KPROBE, false, false), 14);
	load_every_configuration(BACKEND_KPROBE);
}
END_TEST

START_TEST(test_tracepoint_programs_load)
{
	ck_assert_uint_eq(programs_needed(BACKEND_TRACEPOINT, true, false), unix_services ? 22 : 20);
	ck_assert_uint_eq(programs_needed(BACKEND_TRACEPOINT, true, true), unix_services ? 26 : 24);
	load_every_configuration(BACKEND_TRACEPOINT);
}
END_TEST

int main(void)
{
	struct kernel_features features;
	char notice[256], err[512];
	Suite *suite = suite_create("verifier_load");
	TCase *tc = tcase_create("backends");
	SRunner *runner;
	int failed;

	if (geteuid() != 0) {
		puts("SKIP: loading BPF programs needs root");
		return 77;
	}
	if (ensure_tracefs(notice, sizeof(notice))) { /* libbcc reads formats there */
		puts("cannot mount tracefs");
		return 1;
	}
	probe_kernel(&features);
	unix_services = !features.missing_unix_tracepoint;
	printf("Unix-socket services: %s%s\n", unix_services ? "followed" : "not followed, no sock:",
	       unix_services ? "" : features.missing_unix_tracepoint);
	if (kheaders_choose(features.release, &headers, err, sizeof(err))) {
		puts(err);
		return 1;
	}
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_kprobe_programs_load);
	tcase_add_test(tc, test_tracepoint_programs_load);
	suite_add_tcase(suite, tc);
	runner = srunner_create(suite);
	srunner_set_fork_status(runner, CK_NOFORK);
	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
