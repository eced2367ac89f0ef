/* Unit tests for parse_options() (lib/options.h) and the help made from
 * its table (lib/usage.h). */
#include "testutil.h"

#include "options.h"
#include "usage.h"

#define MAX_ARGS 16
#define MAX_NOTICES 4

static char *argv_store[MAX_ARGS + 1];
static struct options opts;
static bool opts_held; /* the last parse succeeded: opts owns a policy */
static char err[256];
static char notices[MAX_NOTICES][512];
static int nnotices;

static void record_notice(const char *message)
{
	ck_assert_int_lt(nnotices, MAX_NOTICES);
	snprintf(notices[nnotices++], sizeof(notices[0]), "%s", message);
}

/* parse_options on argv, after freeing what the last call left. */
static int parse_argv(int argc, char **argv, char *errbuf, size_t errlen)
{
	int rc;

	if (opts_held)
		options_free(&opts);
	/* poison, so that fields parse_options leaves alone are noticed */
	memset(&opts, 0xa5, sizeof(opts));
	errbuf[0] = '\0';
	nnotices = 0;
	rc = parse_options(argc, argv, record_notice, &opts, errbuf, errlen);
	opts_held = rc == 0;
	return rc;
}

/* Parses "deptrace" followed by `args` (NULL-terminated) into opts/err. */
static int parse_args(const char *const *args)
{
	int argc = 0;

	argv_store[argc++] = "deptrace";
	for (; *args; args++) {
		ck_assert_int_lt(argc, MAX_ARGS);
		argv_store[argc++] = (char *)*args;
	}
	argv_store[argc] = NULL;
	return parse_argv(argc, argv_store, err, sizeof(err));
}

#define PARSE(...) parse_args((const char *const[]){ __VA_ARGS__, NULL })

/* The defaults, for fields a test does not set. */
static void assert_defaults_except_pids_command(void)
{
	ck_assert(opts.follow_children);
	ck_assert(opts.follow_services);
	ck_assert_ptr_null(opts.output_path);
	ck_assert(opts.duration == 0.0);
	ck_assert_uint_eq(opts.buffer_pages, DEFAULT_BUFFER_PAGES);
	ck_assert_int_eq(opts.backend, BACKEND_AUTO);
	ck_assert(!opts.check);
	ck_assert(!opts.help);
	ck_assert(!opts.version);
}

START_TEST(test_pid_lists_accumulate)
{
	ck_assert_int_eq(PARSE("-p", "1,2", "-p", "3"), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(opts.npids, 3);
	ck_assert_int_eq(opts.pids[0], 1);
	ck_assert_int_eq(opts.pids[1], 2);
	ck_assert_int_eq(opts.pids[2], 3);
	ck_assert_ptr_null(opts.command);
	assert_defaults_except_pids_command();
}
END_TEST

START_TEST(test_long_pid_forms)
{
	ck_assert_int_eq(PARSE("--pid=42", "--pid", "4194304"), 0);
	ck_assert_uint_eq(opts.npids, 2);
	ck_assert_int_eq(opts.pids[0], 42);
	ck_assert_int_eq(opts.pids[1], 4194304);
}
END_TEST

START_TEST(test_too_many_pids)
{
	char list[MAX_TARGET_PIDS * 4 + 8] = "";

	/* exactly the maximum is fine */
	for (int i = 1; i <= MAX_TARGET_PIDS; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d",
			 i > 1 ? "," : "", i);
	ck_assert_int_eq(PARSE("-p", list), 0);
	ck_assert_uint_eq(opts.npids, MAX_TARGET_PIDS);
	ck_assert_int_eq(opts.pids[MAX_TARGET_PIDS - 1], MAX_TARGET_PIDS);
	/* one more is not */
	ck_assert_int_eq(PARSE("-p", list, "-p", "99"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too many PIDs"));
}
END_TEST

START_TEST(test_no_children)
{
	ck_assert_int_eq(PARSE("--no-children", "-p", "7"), 0);
	ck_assert(!opts.follow_children);
	ck_assert(opts.follow_services);
	ck_assert_uint_eq(opts.npids, 1);
	ck_assert_int_eq(opts.pids[0], 7);
	ck_assert_int_eq(PARSE("--no-follow", "-p", "7"), EXIT_OK);
	ck_assert(opts.follow_children);
	ck_assert(!opts.follow_services);
}
END_TEST

START_TEST(test_output_file)
{
	ck_assert_int_eq(PARSE("-o", "/tmp/out.txt", "-p", "7"), 0);
	ck_assert_str_eq(opts.output_path, "/tmp/out.txt");
	ck_assert_int_eq(PARSE("--output=other.txt", "-p", "7"), 0);
	ck_assert_str_eq(opts.output_path, "other.txt");
}
END_TEST

START_TEST(test_duration)
{
	ck_assert_int_eq(PARSE("-d", "2.5", "-p", "7"), 0);
	ck_assert(opts.duration == 2.5);
	ck_assert_int_eq(PARSE("--duration", "60", "-p", "7"), 0);
	ck_assert(opts.duration == 60.0);
}
END_TEST

/* The longest duration is taken as given. */
START_TEST(test_duration_bound)
{
	ck_assert_int_eq(PARSE("-d", "1e9", "-p", "7"), 0);
	ck_assert(opts.duration == MAX_DURATION_SECONDS);
	ck_assert_int_eq(PARSE("-d", "1000000000.5", "-p", "7"), -EINVAL);
}
END_TEST

/* -p 1 with its children is the whole system: said, not refused. */
START_TEST(test_pid_1_notice)
{
	ck_assert_int_eq(PARSE("-p", "7,1"), 0);
	ck_assert_int_eq(nnotices, 1);
	ck_assert_ptr_nonnull(strstr(notices[0], "-p 1 is init"));
	ck_assert_ptr_nonnull(strstr(notices[0], "the whole system is traced"));
	ck_assert_ptr_null(strchr(notices[0], '\n'));
	ck_assert_int_eq(PARSE("-p", "1", "--no-children"), 0);
	ck_assert_int_eq(nnotices, 0);
	ck_assert_int_eq(PARSE("-p", "7", "--", "true"), 0);
	ck_assert_int_eq(nnotices, 0);
	/* nothing is said of a command line that is refused */
	ck_assert_int_eq(PARSE("-p", "1", "-b", "3"), -EINVAL);
	ck_assert_int_eq(nnotices, 0);
}
END_TEST

START_TEST(test_buffer_pages)
{
	ck_assert_int_eq(PARSE("-b", "64", "-p", "7"), 0);
	ck_assert_uint_eq(opts.buffer_pages, 64);
	/* the bounds of the allowed range */
	ck_assert_int_eq(PARSE("-b", "1", "-p", "7"), 0);
	ck_assert_uint_eq(opts.buffer_pages, 1);
	ck_assert_int_eq(PARSE("--buffer-pages=65536", "-p", "7"), 0);
	ck_assert_uint_eq(opts.buffer_pages, 65536);
}
END_TEST

START_TEST(test_backends)
{
	ck_assert_int_eq(PARSE("-B", "tracepoint", "-p", "7"), 0);
	ck_assert_int_eq(opts.backend, BACKEND_TRACEPOINT);
	ck_assert_int_eq(PARSE("-B", "kprobe", "-p", "7"), 0);
	ck_assert_int_eq(opts.backend, BACKEND_KPROBE);
	ck_assert_int_eq(PARSE("--backend=auto", "-p", "7"), 0);
	ck_assert_int_eq(opts.backend, BACKEND_AUTO);
	/* the last one given counts */
	ck_assert_int_eq(PARSE("-B", "kprobe", "-B", "tracepoint", "-p", "7"), 0);
	ck_assert_int_eq(opts.backend, BACKEND_TRACEPOINT);
}
END_TEST

START_TEST(test_backend_from_environment)
{
	setenv("DEPTRACE_BACKEND", "tracepoint", 1);
	ck_assert_int_eq(PARSE("-p", "1"), 0);
	ck_assert_int_eq(opts.backend, BACKEND_TRACEPOINT);
	ck_assert_int_eq(PARSE("-B", "kprobe", "-p", "1"), 0); /* the option wins */
	ck_assert_int_eq(opts.backend, BACKEND_KPROBE);
	setenv("DEPTRACE_BACKEND", "ebpf", 1);
	ck_assert_int_eq(PARSE("-p", "1"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'ebpf' in DEPTRACE_BACKEND"));
	unsetenv("DEPTRACE_BACKEND");
}
END_TEST

/* -p beside a command: both are traced; a command always gets the map. */
START_TEST(test_pids_with_command)
{
	ck_assert_int_eq(PARSE("-p", "5", "--", "sleep", "1"), 0);
	ck_assert_uint_eq(opts.npids, 1);
	ck_assert_int_eq(opts.pids[0], 5);
	ck_assert_ptr_nonnull(opts.command);
	ck_assert_str_eq(opts.command[0], "sleep");
	ck_assert(opts.summary);
	ck_assert_int_eq(PARSE("-p", "5"), 0);
	ck_assert(!opts.summary);
	ck_assert_int_eq(PARSE("--summary", "--json", "--graph", "g.dot", "-p", "5"), 0);
	ck_assert(opts.summary);
	ck_assert(opts.json);
	ck_assert_str_eq(opts.graph_path, "g.dot");
}
END_TEST

/* The parser builds the policy: the rules of --deny and --allow in the
 * order given, then those of the --policy files, whatever the order on
 * the command line. */
START_TEST(test_policy_options)
{
	char *dir = make_scratch_dir(NULL, "options");
	char a[PATH_MAX], b[PATH_MAX];

	pathf(a, "%s/a.policy", dir);
	pathf(b, "%s/b.policy", dir);
	write_file(dir, "a.policy", "# a\ndeny *.forge.example.com\n\nallow 192.0.2.0/24:443\n");
	write_file(dir, "b.policy", "deny 2001:db8::1\n");
	ck_assert_int_eq(PARSE("--deny", "forge.example.com", "--policy", a, "--allow", "10.0.0.0/8",
			       "--deny=[2001:db8::/32]:443", "--policy", b, "--fail-on-violation",
			       "-p", "7"), 0);
	ck_assert_str_eq(err, "");
	ck_assert_int_eq(nnotices, 0);
	ck_assert_uint_eq(opts.policy.count, 6);
	ck_assert_uint_eq(opts.policy.nallow, 2);
	ck_assert_str_eq(opts.policy.rules[0].text, "deny forge.example.com");
	ck_assert_str_eq(opts.policy.rules[0].origin, "--deny");
	ck_assert_str_eq(opts.policy.rules[1].text, "allow 10.0.0.0/8");
	ck_assert_str_eq(opts.policy.rules[1].origin, "--allow");
	ck_assert_str_eq(opts.policy.rules[2].text, "deny [2001:db8::/32]:443");
	ck_assert_str_eq(opts.policy.rules[3].text, "deny *.forge.example.com");
	ck_assert_str_eq(opts.policy.rules[3].origin, strcat(a, ":2"));
	ck_assert_str_eq(opts.policy.rules[4].text, "allow 192.0.2.0/24:443");
	ck_assert_str_eq(opts.policy.rules[5].text, "deny 2001:db8::1");
	ck_assert_str_eq(opts.policy.rules[5].origin, strcat(b, ":1"));
	ck_assert(opts.fail_on_violation);
	ck_assert(!opts.enforce);
	ck_assert_ptr_null(opts.cgroup_path);
	ck_assert_ptr_null(opts.user);
	/* no policy at all is the default */
	ck_assert_int_eq(PARSE("-p", "7"), 0);
	ck_assert_uint_eq(opts.policy.count, 0);
	ck_assert_uint_eq(opts.npolicy_files, 0);
	ck_assert(!opts.fail_on_violation);
	remove_scratch_dir(dir);
}
END_TEST

/* A file that does not load is a usage error naming FILE:LINE (or FILE),
 * like a bad --deny; one with no rules is loaded, with a notice. */
START_TEST(test_policy_files_checked)
{
	char *dir = make_scratch_dir(NULL, "options");
	char bad[PATH_MAX], empty[PATH_MAX], missing[PATH_MAX], want[PATH_MAX + 128];

	pathf(bad, "%s/bad.policy", dir);
	pathf(empty, "%s/empty.policy", dir);
	pathf(missing, "%s/missing.policy", dir);
	write_file(dir, "bad.policy", "# deploy\ndeny forge.example.com\ndny 192.0.2.0/24\n");
	write_file(dir, "empty.policy", "# nothing yet\n\n");

	ck_assert_int_eq(PARSE("--policy", bad, "--", "true"), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: unknown word \"dny\": a line is \"deny RULE\" or \"allow RULE\"", bad);
	ck_assert_str_eq(err, want);

	ck_assert_int_eq(PARSE("--policy", missing, "-p", "7"), -EINVAL);
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	ck_assert_str_eq(err, want);

	ck_assert_int_eq(PARSE("--policy", empty, "--deny", "a.example", "-p", "7"), 0);
	ck_assert_uint_eq(opts.policy.count, 1);
	ck_assert_int_eq(nnotices, 1);
	snprintf(want, sizeof(want), "%s holds no rules (only comments or blank lines): nothing in it can be broken", empty);
	ck_assert_str_eq(notices[0], want);
	/* an empty file is still a policy to enforce, and the parser says
	 * whether enforcement can hold what the files hold */
	ck_assert_int_eq(PARSE("--policy", empty, "--enforce", "--", "true"), 0);
	write_file(dir, "port.policy", "deny forge.example.com:443\nallow api.example.com:8080\n");
	pathf(bad, "%s/port.policy", dir);
	ck_assert_int_eq(PARSE("--policy", bad, "--enforce", "--", "true"), 0);
	{
		char many[1025 * 24 + 1];
		size_t used = 0;

		for (int i = 0; i < 1025; i++)
			used += (size_t)snprintf(many + used, sizeof(many) - used,
						 "deny 10.0.%d.%d\n", i / 256, i % 256);
		write_file(dir, "many.policy", many);
	}
	pathf(bad, "%s/many.policy", dir);
	ck_assert_int_eq(PARSE("--policy", bad, "--enforce", "--", "true"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "1025 rules: enforcement holds at most 1024"));
	/* --check does not look at policies */
	ck_assert_int_eq(PARSE("--check", "--policy", missing), 0);
	remove_scratch_dir(dir);
}
END_TEST

START_TEST(test_enforcement_options)
{
	ck_assert_int_eq(PARSE("--deny", "192.0.2.0/24", "--enforce", "--fail-closed", "-u", "deployer",
			       "--", "./deploy.sh"), 0);
	ck_assert(opts.enforce);
	ck_assert(opts.fail_closed);
	ck_assert_str_eq(opts.user, "deployer");
	ck_assert_int_eq(PARSE("--deny", "192.0.2.0/24", "--user=deployer", "--", "true"), 0);
	ck_assert(!opts.enforce);
	ck_assert_str_eq(opts.user, "deployer");
	/* --cgroup implies --enforce, and needs no command */
	ck_assert_int_eq(PARSE("--deny", "192.0.2.0/24", "--cgroup", "/sys/fs/cgroup/api",
			       "-p", "7"), 0);
	ck_assert(opts.enforce);
	ck_assert_str_eq(opts.cgroup_path, "/sys/fs/cgroup/api");
}
END_TEST

/* --outage: enforced like a policy (it needs no other rule), blackhole by
 * default, by address or by name (or a name's lookups, by the dns modes);
 * unknown modes, dns modes on addresses or with a port, bad addresses are
 * refused; --outage-budget needs it. */
START_TEST(test_outage_options)
{
	ck_assert_int_eq(PARSE("--outage", "192.0.2.10", "--outage", "[2001:db8::/32]:443=refuse",
			       "--outage", "*.forge.example.com", "--outage-budget", "30", "--",
			       "./deploy.sh"), 0);
	ck_assert(opts.enforce);
	ck_assert_uint_eq(opts.outage.count, 3);
	ck_assert_int_eq(opts.outage.targets[0].mode, OUTAGE_BLACKHOLE);
	ck_assert_str_eq(opts.outage.targets[0].rule.text, "outage 192.0.2.10 (blackhole)");
	ck_assert_int_eq(opts.outage.targets[1].mode, OUTAGE_REFUSE);
	ck_assert_uint_eq(opts.outage.targets[1].rule.port, 443);
	ck_assert_uint_eq(opts.outage.targets[1].rule.prefix, 32);
	ck_assert_int_eq(opts.outage.targets[2].rule.kind, RULE_SUFFIX);
	ck_assert(opts.outage_budget == 30);
	ck_assert_int_eq(PARSE("--outage", "192.0.2.10", "-p", "7"), -EINVAL);
	ck_assert_str_eq(err, "--outage needs a command to run (-- COMMAND), or --cgroup PATH for processes already in a cgroup");
	ck_assert_int_eq(PARSE("--outage", "192.0.2.10=sideways", "--", "true"), -EINVAL);
	ck_assert_str_eq(err, "unknown --outage mode 'sideways': expected refuse, blackhole, dns or nxdomain");
	ck_assert_int_eq(PARSE("--outage", "192.0.2.10=dns", "--", "true"), -EINVAL);
	ck_assert_msg(strstr(err, "the dns modes are for names"), "%s", err);
	ck_assert_int_eq(PARSE("--outage", "forge.example.com:443=dns", "--", "true"), -EINVAL);
	ck_assert_msg(strstr(err, "a lookup has no port"), "%s", err);
	/* names, by the resolver: SERVFAIL (dns) or NXDOMAIN */
	ck_assert_int_eq(PARSE("--outage", "forge.example.com=dns", "--outage", "*.corp.example=nxdomain",
			       "--", "./deploy.sh"), 0);
	ck_assert_int_eq(opts.outage.targets[0].mode, OUTAGE_DNS);
	ck_assert_str_eq(opts.outage.targets[0].rule.text, "outage forge.example.com (dns)");
	ck_assert_int_eq(opts.outage.targets[1].mode, OUTAGE_NXDOMAIN);
	ck_assert_int_eq(opts.outage.targets[1].rule.kind, RULE_SUFFIX);
	ck_assert_int_eq(PARSE("--outage", "192.0.2.0/33", "--", "true"), -EINVAL);
	ck_assert_msg(!strncmp(err, "--outage: ", 10), "%s", err);
	ck_assert_int_eq(PARSE("--outage-budget", "30", "--", "true"), -EINVAL);
	ck_assert_str_eq(err, "--outage-budget needs --outage");
	ck_assert_int_eq(PARSE("--outage", "192.0.2.10", "--outage-budget", "-1", "--", "true"),
			 -EINVAL);
	ck_assert_str_eq(err, "invalid --outage-budget '-1': expected seconds, 0 or more");
	ck_assert_int_eq(PARSE("--deny", "192.0.2.10", "--", "true"), 0);
	ck_assert(opts.outage_budget < 0);
}
END_TEST

/* MAX_RULE_ARGS rules are fine, one more is not. */
START_TEST(test_too_many_rules)
{
	static char *args[2 * MAX_RULE_ARGS + 6];
	int argc = 0;

	args[argc++] = "deptrace";
	for (int i = 0; i < MAX_RULE_ARGS; i++) {
		args[argc++] = "--deny";
		args[argc++] = "192.0.2.0/24";
	}
	args[argc++] = "-p";
	args[argc++] = "7";
	args[argc] = NULL;
	ck_assert_int_eq(parse_argv(argc, args, err, sizeof(err)), 0);
	ck_assert_uint_eq(opts.policy.count, MAX_RULE_ARGS);
	args[argc - 2] = "--allow";
	args[argc - 1] = "::1";
	args[argc++] = "-p";
	args[argc++] = "7";
	args[argc] = NULL;
	ck_assert_int_eq(parse_argv(argc, args, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "too many --deny and --allow rules: at most 256; put them in a --policy file");
}
END_TEST

START_TEST(test_check_alone)
{
	ck_assert_int_eq(PARSE("--check"), 0);
	ck_assert(opts.check);
	ck_assert_uint_eq(opts.npids, 0);
	ck_assert_ptr_null(opts.command);
	/* other settings may come with it */
	ck_assert_int_eq(PARSE("--check", "-B", "tracepoint"), 0);
	ck_assert(opts.check);
	ck_assert_int_eq(opts.backend, BACKEND_TRACEPOINT);
}
END_TEST

/* Verbs: argv[1] names one; its files and options mix; an option of
 * another verb is refused by name; "--" before it runs a command. */
START_TEST(test_verbs)
{
	ck_assert_int_eq(PARSE("replay", "run.jsonl", "--deny", "forge.example.com", "-j",
			       "--fail-on-violation"), 0);
	ck_assert_int_eq(opts.verb, VERB_REPLAY);
	ck_assert_uint_eq(opts.nfiles, 1);
	ck_assert_str_eq(opts.files[0], "run.jsonl");
	ck_assert(opts.json && opts.fail_on_violation);
	ck_assert_uint_eq(opts.policy.count, 1);
	ck_assert_ptr_null(opts.command);

	ck_assert_int_eq(PARSE("replay", "a.jsonl", "b.jsonl"), -EINVAL);
	ck_assert_str_eq(err, "replay takes one saved run: deptrace replay RUN.jsonl [OPTION]...");
	ck_assert_int_eq(PARSE("replay", "run.jsonl", "--enforce"), -EINVAL);
	ck_assert_str_eq(err, "--enforce is not an option of replay; see deptrace --help");
	ck_assert_int_eq(PARSE("replay", "run.jsonl", "--fail-on-violation"), -EINVAL);
	ck_assert_int_eq(PARSE("replay", "run.jsonl", "--baseline", "old.jsonl",
			       "--fail-on-violation"), 0);
	ck_assert_str_eq(opts.baseline_path, "old.jsonl");

	ck_assert_int_eq(PARSE("policy", "--fold", "3", "a.jsonl", "b.jsonl"), 0);
	ck_assert_int_eq(opts.verb, VERB_POLICY);
	ck_assert_uint_eq(opts.fold, 3);
	ck_assert_uint_eq(opts.nfiles, 2);
	ck_assert_int_eq(PARSE("policy", "--fold", "1", "a.jsonl"), -EINVAL);
	ck_assert_int_eq(PARSE("policy"), -EINVAL);
	ck_assert_int_eq(PARSE("-p", "1", "--fold", "2"), -EINVAL);
	ck_assert_str_eq(err, "--fold is not an option of tracing; see deptrace --help");

	ck_assert_int_eq(PARSE("diff", "old.jsonl", "new.jsonl"), 0);
	ck_assert_int_eq(opts.verb, VERB_DIFF);
	ck_assert_int_eq(PARSE("diff", "old.jsonl"), -EINVAL);
	ck_assert_int_eq(PARSE("diff", "-j", "a", "b"), -EINVAL);

	ck_assert_int_eq(PARSE("--", "replay", "x"), 0);
	ck_assert_int_eq(opts.verb, VERB_TRACE);
	ck_assert_str_eq(opts.command[0], "replay");
	ck_assert_int_eq(PARSE("--baseline", "old.jsonl", "--fail-on-violation", "--", "cmd"),
			 0);
}
END_TEST

START_TEST(test_command_after_dashdash)
{
	ck_assert_int_eq(PARSE("--no-children", "--", "cmd", "-p", "arg"), 0);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_eq(opts.command, &argv_store[3]);
	ck_assert_str_eq(opts.command[0], "cmd");
	ck_assert_str_eq(opts.command[1], "-p");
	ck_assert_str_eq(opts.command[2], "arg");
	ck_assert_ptr_null(opts.command[3]);
	ck_assert_uint_eq(opts.npids, 0);
	ck_assert(!opts.follow_children);
}
END_TEST

START_TEST(test_command_without_dashdash)
{
	ck_assert_int_eq(PARSE("sleep", "1"), 0);
	ck_assert_ptr_eq(opts.command, &argv_store[1]);
	ck_assert_str_eq(opts.command[0], "sleep");
	ck_assert_str_eq(opts.command[1], "1");
	ck_assert_ptr_null(opts.command[2]);
	assert_defaults_except_pids_command();
}
END_TEST

START_TEST(test_options_after_command_belong_to_it)
{
	ck_assert_int_eq(PARSE("-o", "f", "sleep", "-p", "1", "--frob"), 0);
	ck_assert_str_eq(opts.output_path, "f");
	ck_assert_uint_eq(opts.npids, 0);
	ck_assert_str_eq(opts.command[0], "sleep");
	ck_assert_str_eq(opts.command[1], "-p");
	ck_assert_str_eq(opts.command[2], "1");
	ck_assert_str_eq(opts.command[3], "--frob");
	ck_assert_ptr_null(opts.command[4]);
}
END_TEST

START_TEST(test_help_and_version)
{
	/* neither needs anything to trace */
	ck_assert_int_eq(PARSE("-h"), 0);
	ck_assert(opts.help);
	ck_assert(!opts.version);
	ck_assert_int_eq(PARSE("--help"), 0);
	ck_assert(opts.help);
	ck_assert_int_eq(PARSE("-V"), 0);
	ck_assert(opts.version);
	ck_assert(!opts.help);
	ck_assert_int_eq(PARSE("--version"), 0);
	ck_assert(opts.version);
}
END_TEST

/* parse_options resets getopt itself: successive calls in one process
 * must not see anything of the previous one. */
START_TEST(test_repeated_calls_are_independent)
{
	ck_assert_int_eq(PARSE("-b", "64", "-p", "5", "--no-children"), 0);
	ck_assert_uint_eq(opts.npids, 1);
	ck_assert_int_eq(PARSE("-b", "3"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "'3'"));
	ck_assert_int_eq(PARSE("-p", "7,8"), 0);
	ck_assert_uint_eq(opts.npids, 2);
	ck_assert_int_eq(opts.pids[0], 7);
	ck_assert_int_eq(opts.pids[1], 8);
	assert_defaults_except_pids_command();
	ck_assert_int_eq(PARSE("--frob"), -EINVAL);
	ck_assert_int_eq(PARSE("sleep", "1"), 0);
	ck_assert_str_eq(opts.command[0], "sleep");
	ck_assert_uint_eq(opts.npids, 0);
	ck_assert_int_eq(PARSE("-p", "9"), 0);
	ck_assert_uint_eq(opts.npids, 1);
	ck_assert_int_eq(opts.pids[0], 9);
	ck_assert_ptr_null(opts.command);
}
END_TEST

/* `text` with every run of white space made one space. */
static char *squeeze(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	ck_assert_ptr_nonnull(out);
	for (; *text; text++) {
		bool space = *text == ' ' || *text == '\n';

		if (!space || (o > out && o[-1] != ' '))
			*o++ = space ? ' ' : *text;
	}
	*o = '\0';
	return out;
}

static char *help_text(void)
{
	char *text = NULL, *squeezed;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(usage_print_help(f), 0);
	ck_assert_int_eq(fclose(f), 0);
	squeezed = squeeze(text);
	free(text);
	return squeezed;
}

/* --help is made from the table: each option, its argument and its text,
 * each heading, and nothing that is not in the table. */
START_TEST(test_help_from_table)
{
	char *help = help_text(), label[128], *entry, *text;
	size_t options = 0, lines = 0;
	FILE *f;

	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_desc *o = &options_table[i];

		if (o->kind == OPTION_GROUP) {
			snprintf(label, sizeof(label), " %s: ", o->help);
			ck_assert_msg(strstr(help, label), "heading '%s' not in --help", o->help);
			continue;
		}
		options++;
		if (o->short_name)
			snprintf(label, sizeof(label), " -%c, --%s%s%s ", o->short_name, o->long_name,
				 o->arg_name ? " " : "", o->arg_name ? o->arg_name : "");
		else
			snprintf(label, sizeof(label), " --%s%s%s ", o->long_name,
				 o->arg_name ? " " : "", o->arg_name ? o->arg_name : "");
		text = squeeze(o->help);
		ck_assert_int_ge(asprintf(&entry, "%s%s ", label, text), 0);
		ck_assert_msg(strstr(help, entry), "--%s: '%s' not in --help", o->long_name, entry);
		free(entry);
		free(text);
	}
	/* as many option lines as options */
	text = NULL;
	f = open_memstream(&text, &(size_t){ 0 });
	ck_assert_int_eq(usage_print_help(f), 0);
	ck_assert_int_eq(fclose(f), 0);
	for (char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, "  -", 3) || !strncmp(line, "      --", 8))
			lines++;
	ck_assert_uint_eq(lines, options);
	ck_assert_uint_ge(options, 20);
	free(text);
	free(help);
}
END_TEST

/* --help's exit statuses are the enum's, each with its meaning. */
START_TEST(test_help_exit_codes)
{
	char *help = help_text(), *entry, *text;
	int codes = 0;

#define CHECK_EXIT(name, value, meaning) \
	do { \
		text = squeeze(meaning); \
		ck_assert_int_ge(asprintf(&entry, " %d %s ", value, text), 0); \
		ck_assert_msg(strstr(help, entry), "%s: '%s' not in --help", #name, entry); \
		free(entry); \
		free(text); \
		codes++; \
	} while (0);
	DEPTRACE_EXIT_CODES(CHECK_EXIT)
#undef CHECK_EXIT
	ck_assert_int_eq(codes, 14);
	ck_assert_int_eq(EXIT_USAGE, 2);
	ck_assert_int_eq(EXIT_VIOLATION, 7);
	ck_assert_int_eq(EXIT_NOT_FOUND, 127);
	free(help);
}
END_TEST

/* The parser's getopt tables are the same table: every option in it is
 * known by its long name, and by its short one. */
START_TEST(test_table_options_parse)
{
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_desc *o = &options_table[i];
		char arg[128];

		if (o->kind == OPTION_GROUP)
			continue;
		snprintf(arg, sizeof(arg), "--%s%s", o->long_name, o->arg_name ? "=x" : "");
		PARSE(arg, "-p", "7");
		ck_assert_msg(!strstr(err, "unknown option") && !strstr(err, "needs a value"),
			      "%s: %s", arg, err);
		if (!o->short_name)
			continue;
		snprintf(arg, sizeof(arg), "-%c%s", o->short_name, o->arg_name ? "x" : "");
		PARSE(arg, "-p", "7");
		ck_assert_msg(!strstr(err, "unknown option") && !strstr(err, "needs a value"),
			      "%s: %s", arg, err);
	}
}
END_TEST

/* Invalid command lines: each gives -EINVAL and a message naming what
 * was wrong. */
struct bad_case {
	const char *args[8];
	const char *needle; /* must appear in err */
};

static const struct bad_case bad_cases[] = {
	{ { "-p", "0" }, "'0'" },
	{ { "-p", "abc" }, "'abc'" },
	{ { "-p", "" }, "-p needs at least one PID" },
	{ { "-p", "-5" }, "'-5'" },
	{ { "-p", "1,x2" }, "'x2'" },
	{ { "-p", "12abc" }, "'12abc'" },
	{ { "-p", "99999999999999999999" }, "'99999999999999999999'" },
	{ { "-b", "3", "-p", "1" }, "'3'" },
	{ { "-b", "0", "-p", "1" }, "'0'" },
	{ { "-b", "131072", "-p", "1" }, "'131072'" },
	{ { "-b", "-64", "-p", "1" }, "'-64'" },
	{ { "-b", "64k", "-p", "1" }, "'64k'" },
	{ { "-d", "0", "-p", "1" }, "'0'" },
	{ { "-d", "-1", "-p", "1" }, "'-1'" },
	{ { "-d", "abc", "-p", "1" }, "'abc'" },
	{ { "-d", "inf", "-p", "1" }, "'inf'" },
	{ { "-d", "nan", "-p", "1" }, "'nan'" },
	{ { "-d", "5s", "-p", "1" }, "'5s'" },
	/* past 2^64 ns the deadline would wrap and end tracing at once */
	{ { "-d", "2e10", "-p", "1" }, "invalid duration '2e10': at most 1000000000 seconds" },
	{ { "-d", "1e300", "-p", "1" }, "'1e300': at most" },
	{ { "-B", "bogus", "-p", "1" }, "'bogus'" },
	{ { "--frob", "-p", "1" }, "'--frob'" },
	{ { "-x", "-p", "1" }, "'-x'" },
	{ { "-p" }, "'-p'" },
	{ { "--pid" }, "'--pid'" },
	{ { "-p", "1", "-o" }, "'-o'" },
	{ { "--no-children" }, "nothing to trace" },
	{ { "--check", "-p", "1" }, "--check" },
	{ { "--check", "--", "true" }, "--check" },
	{ { "--deny", "forge.example.com:70000", "-p", "1" },
	  "--deny: bad port 70000 in forge.example.com:70000 (1-65535)" },
	{ { "--allow", "192.0.2.7/24", "-p", "1" },
	  "--allow: 192.0.2.7/24 has host bits set: did you mean 192.0.2.0/24?" },
	{ { "--deny" }, "'--deny'" },
	{ { "--enforce", "--", "true" },
	  "--enforce needs a policy: give --deny, --allow or --policy FILE" },
	{ { "--cgroup", "/sys/fs/cgroup/x", "-p", "1" }, "--cgroup needs a policy" },
	{ { "--fail-on-violation", "-p", "1" },
	  "--fail-on-violation needs a policy: give --deny, --allow or --policy FILE" },
	{ { "--deny", "a.example", "--enforce", "-p", "1" },
	  "--enforce needs a command to run (-- COMMAND), or --cgroup PATH" },
	{ { "--deny", "a.example", "-u", "deployer", "-p", "1" },
	  "-u needs a command: it runs COMMAND as USER" },
	{ { "--deny", "a.example", "--fail-closed", "--", "true" }, "--fail-closed needs --enforce" },
};

START_TEST(test_invalid)
{
	const struct bad_case *bc = &bad_cases[_i];
	int rc;

	rc = parse_args(bc->args);
	ck_assert_msg(rc == -EINVAL, "case %d (%s ...): rc %d, err '%s'", _i,
		      bc->args[0], rc, err);
	ck_assert_msg(strstr(err, bc->needle) != NULL,
		      "case %d (%s ...): err '%s' lacks \"%s\"", _i, bc->args[0], err,
		      bc->needle);
}
END_TEST

START_TEST(test_nothing_at_all)
{
	ck_assert_int_eq(parse_args((const char *const[]){ NULL }), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "nothing to trace"));
}
END_TEST

START_TEST(test_err_is_bounded)
{
	char small[8];

	argv_store[0] = "deptrace";
	argv_store[1] = "-B";
	argv_store[2] = "bogus";
	argv_store[3] = NULL;
	ck_assert_int_eq(parse_argv(3, argv_store, small, sizeof(small)), -EINVAL);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
}
END_TEST

static Suite *options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *valid = tcase_create("valid");
	TCase *invalid = tcase_create("invalid");
	TCase *help = tcase_create("help");

	tcase_add_test(valid, test_pid_lists_accumulate);
	tcase_add_test(valid, test_long_pid_forms);
	tcase_add_test(valid, test_too_many_pids);
	tcase_add_test(valid, test_no_children);
	tcase_add_test(valid, test_output_file);
	tcase_add_test(valid, test_duration);
	tcase_add_test(valid, test_duration_bound);
	tcase_add_test(valid, test_pid_1_notice);
	tcase_add_test(valid, test_buffer_pages);
	tcase_add_test(valid, test_backends);
	tcase_add_test(valid, test_backend_from_environment);
	tcase_add_test(valid, test_pids_with_command);
	tcase_add_test(valid, test_policy_options);
	tcase_add_test(valid, test_policy_files_checked);
	tcase_add_test(valid, test_enforcement_options);
	tcase_add_test(valid, test_outage_options);
	tcase_add_test(valid, test_check_alone);
	tcase_add_test(valid, test_command_after_dashdash);
	tcase_add_test(valid, test_verbs);
	tcase_add_test(valid, test_command_without_dashdash);
	tcase_add_test(valid, test_options_after_command_belong_to_it);
	tcase_add_test(valid, test_help_and_version);
	tcase_add_test(valid, test_repeated_calls_are_independent);
	suite_add_tcase(s, valid);

	tcase_add_test(help, test_help_from_table);
	tcase_add_test(help, test_help_exit_codes);
	tcase_add_test(help, test_table_options_parse);
	suite_add_tcase(s, help);

	tcase_add_loop_test(invalid, test_invalid, 0,
			    (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(invalid, test_too_many_rules);
	tcase_add_test(invalid, test_nothing_at_all);
	tcase_add_test(invalid, test_err_is_bounded);
	suite_add_tcase(s, invalid);
	return s;
}

int main(void)
{
	return run_suite(options_suite());
}
