/* options: see options.h. */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforce.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
/* getopt_long's value for an option without a short name: its index in
 * the table, above every character. */
#define LONG_ONLY_BASE 256

static int parse_pid_list(struct options *opts, const char *arg, char *err, size_t errlen)
{
	char *copy = strdup(arg), *save = NULL;
	size_t before = opts->npids;
	int rc = 0;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(tok, &end, 10);
		if (errno || *end || end == tok || pid <= 0 || pid > 0x3fffffff) {
			snprintf(err, errlen, "invalid PID '%s' in -p: expected a positive number", tok);
			rc = -EINVAL;
			break;
		}
		if (opts->npids == MAX_TARGET_PIDS) {
			snprintf(err, errlen, "too many PIDs: at most %d", MAX_TARGET_PIDS);
			rc = -EINVAL;
			break;
		}
		opts->pids[opts->npids++] = (pid_t)pid;
	}
	if (!rc && opts->npids == before) {
		snprintf(err, errlen, "-p needs at least one PID");
		rc = -EINVAL;
	}
	free(copy);
	return rc;
}

static int parse_duration(struct options *opts, const char *arg, char *err, size_t errlen)
{
	char *end;
	double seconds;

	errno = 0;
	seconds = strtod(arg, &end);
	if (errno || *end || end == arg || !isfinite(seconds) || seconds <= 0) {
		snprintf(err, errlen, "invalid duration '%s': expected seconds > 0", arg);
		return -EINVAL;
	}
	if (seconds > MAX_DURATION_SECONDS) {
		snprintf(err, errlen, "invalid duration '%s': at most %.0f seconds (about 31 years)",
			 arg, MAX_DURATION_SECONDS);
		return -EINVAL;
	}
	opts->duration = seconds;
	return 0;
}

/* A whole decimal number from `min` to `max` in `arg` (no sign, nothing
 * after it): 0, or -EINVAL. */
static int parse_count(const char *arg, unsigned long min, unsigned long max, unsigned *n)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || v < min || v > max)
		return -EINVAL;
	*n = (unsigned)v;
	return 0;
}

static int parse_pages(struct options *opts, const char *arg, char *err, size_t errlen)
{
	unsigned n;

	if (parse_count(arg, 1, 65536, &n) || (n & (n - 1))) {
		snprintf(err, errlen, "invalid buffer size '%s': expected a power of two from 1 to 65536", arg);
		return -EINVAL;
	}
	opts->buffer_pages = n;
	return 0;
}

static int parse_backend_option(struct options *opts, const char *arg, char *err, size_t errlen)
{
	if (parse_backend(arg, &opts->backend)) {
		snprintf(err, errlen, "unknown backend '%s': expected kprobe, tracepoint or auto", arg);
		return -EINVAL;
	}
	return 0;
}

/* A --deny or --allow goes into the policy at once: a bad rule is a usage
 * error before anything is set up. */
static int add_rule(struct options *opts, enum rule_action action, const char *text,
		    char *err, size_t errlen)
{
	const char *option = action == RULE_DENY ? "--deny" : "--allow";
	char reason[POLICY_TEXT_LEN + 64];
	int rc;

	if (opts->policy.count == MAX_RULE_ARGS) {
		snprintf(err, errlen, "too many --deny and --allow rules: at most %d; put them in a --policy file",
			 MAX_RULE_ARGS);
		return -EINVAL;
	}
	rc = policy_add_rule(&opts->policy, action, text, option, reason, sizeof(reason));
	if (rc == -ENOMEM) {
		snprintf(err, errlen, "%s", reason);
		return -ENOMEM;
	}
	if (rc) {
		snprintf(err, errlen, "%s: %s", option, reason);
		return -EINVAL;
	}
	return 0;
}

static int add_deny(struct options *opts, const char *arg, char *err, size_t errlen)
{
	return add_rule(opts, RULE_DENY, arg, err, errlen);
}

static int add_allow(struct options *opts, const char *arg, char *err, size_t errlen)
{
	return add_rule(opts, RULE_ALLOW, arg, err, errlen);
}

/* Kept until the command line is read: the files' rules come after those
 * of --deny and --allow, wherever --policy stands. */
static int add_policy_file(struct options *opts, const char *path, char *err, size_t errlen)
{
	if (opts->npolicy_files == MAX_POLICY_FILES) {
		snprintf(err, errlen, "too many --policy files: at most %d", MAX_POLICY_FILES);
		return -EINVAL;
	}
	opts->policy_files[opts->npolicy_files++] = path;
	return 0;
}

static int parse_outage_budget(struct options *opts, const char *arg, char *err, size_t errlen)
{
	char *end;
	double seconds;

	errno = 0;
	seconds = strtod(arg, &end);
	if (errno || *end || end == arg || !isfinite(seconds) || seconds < 0 ||
	    seconds > MAX_DURATION_SECONDS) {
		snprintf(err, errlen, "invalid --outage-budget '%s': expected seconds, 0 or more", arg);
		return -EINVAL;
	}
	opts->outage_budget = seconds;
	return 0;
}

/* An --outage is enforced like a policy, in the command's cgroup. */
static int add_outage(struct options *opts, const char *arg, char *err, size_t errlen)
{
	opts->enforce = true;
	return outage_add(&opts->outage, arg, err, errlen);
}

static int set_cgroup(struct options *opts, const char *path, char *err, size_t errlen)
{
	opts->cgroup_path = path;
	opts->enforce = true;
	return 0;
}

static int parse_fold(struct options *opts, const char *arg, char *err, size_t errlen)
{
	if (parse_count(arg, 2, 1000, &opts->fold)) {
		snprintf(err, errlen, "invalid --fold '%s': expected how many sibling names (2 to 1000) make a *.DOMAIN rule", arg);
		return -EINVAL;
	}
	return 0;
}

/* Each entry may end with ".verbs = ...": the verbs besides tracing (or
 * instead of it) it is an option of. */
#define OPT_GROUP(heading) { .kind = OPTION_GROUP, .help = (heading) }
#define OPT_FLAG(s, l, f, v, h, ...) \
	{ .kind = OPTION_FLAG, .short_name = (s), .long_name = (l), \
	  .field = offsetof(struct options, f), .value = (v), .help = (h), __VA_ARGS__ }
/* a flag after which nothing else on the command line matters */
#define OPT_FINAL(s, l, f, h) \
	{ .kind = OPTION_FLAG, .short_name = (s), .long_name = (l), \
	  .field = offsetof(struct options, f), .value = true, .ends_parsing = true, \
	  .help = (h), .verbs = ALL_VERBS }
#define OPT_STRING(s, l, a, f, h, ...) \
	{ .kind = OPTION_STRING, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .field = offsetof(struct options, f), .help = (h), __VA_ARGS__ }
#define OPT_CALLBACK(s, l, a, fn, h, ...) \
	{ .kind = OPTION_CALLBACK, .short_name = (s), .long_name = (l), .arg_name = (a), \
	  .parse = (fn), .help = (h), __VA_ARGS__ }
#define TRACE VERB_BIT(VERB_TRACE)
#define REPLAY VERB_BIT(VERB_REPLAY)
#define ALL_VERBS (TRACE | REPLAY | VERB_BIT(VERB_POLICY) | VERB_BIT(VERB_DIFF))

const struct option_desc options_table[] = {
	OPT_CALLBACK('p', "pid", "PID[,PID]...", parse_pid_list,
		     "trace these running processes and their descendants; may be repeated, "
		     "and combined with a command (e.g. to see what a local API it calls "
		     "depends on)"),
	OPT_FLAG(0, "no-children", follow_children, false,
		 "trace only the named processes, not the processes they start"),
	OPT_FLAG(0, "no-follow", follow_services, false,
		 "do not follow the local services the traced processes call over TCP "
		 "(their connections and lookups while they serve them: transient)"),
	OPT_STRING('o', "output", "FILE", output_path,
		   "write the lines (or the policy, the differences) to FILE instead of standard output",
		   .verbs = ALL_VERBS),
	OPT_FLAG('j', "json", json, true,
		 "JSON Lines: the run record, an object per event, then a summary; with -o, a "
		 "saved run that deptrace replay, policy and diff read", .verbs = TRACE | REPLAY),
	OPT_FLAG(0, "summary", summary, true,
		 "print the dependency map at the end (always done when running a command)",
		 .verbs = TRACE | REPLAY),
	OPT_STRING(0, "graph", "FILE", graph_path, "write the dependency map as a Graphviz graph",
		   .verbs = TRACE | REPLAY),
	OPT_CALLBACK('d', "duration", "SECONDS", parse_duration,
		     "stop tracing after SECONDS (a command keeps running untraced and "
		     "deptrace still waits for it)"),
	OPT_CALLBACK('b', "buffer-pages", "N", parse_pages,
		     "perf buffer size per CPU, in pages; a power of two (default 256); "
		     "raise it if events are lost"),
	OPT_CALLBACK('B', "backend", "NAME", parse_backend_option,
		     "kprobe, tracepoint or auto (default: auto, or $DEPTRACE_BACKEND): "
		     "auto uses kprobes where the kernel has them"),
	OPT_FLAG(0, "check", check, true,
		 "report the kernel features found, the backend that would be used and the "
		 "kernel headers, then exit"),
	OPT_FINAL('h', "help", help, "show this help and exit"),
	OPT_FINAL('V', "version", version, "show the version and exit"),

	OPT_GROUP("Policy (audit: marked, not stopped, unless --enforce)"),
	OPT_CALLBACK(0, "deny", "RULE", add_deny,
		     "a destination the traced programs must not reach; may be repeated",
		     .verbs = TRACE | REPLAY),
	OPT_CALLBACK(0, "allow", "RULE", add_allow,
		     "a destination they may reach; once there is one, every destination no "
		     "--allow names breaks the policy; may be repeated", .verbs = TRACE | REPLAY),
	OPT_CALLBACK(0, "policy", "FILE", add_policy_file,
		     "rules from FILE, one a line; may be repeated", .verbs = TRACE | REPLAY),
	OPT_FLAG(0, "fail-on-violation", fail_on_violation, true,
		 "exit with status 7 if anything broke the policy (or, with --baseline, was new)",
		 .verbs = TRACE | REPLAY),
	OPT_FLAG(0, "enforce", enforce, true,
		 "refuse in the kernel what the policy forbids: the call fails with EPERM; "
		 "allowed names (and names denied on a port) are admitted by their answers, "
		 "through a DNS forwarder of deptrace's own; needs a command, or --cgroup"),
	OPT_CALLBACK(0, "cgroup", "PATH", set_cgroup,
		     "enforce on an existing cgroup v2 (for services already in it, with -p); "
		     "implies --enforce"),
	OPT_FLAG(0, "fail-closed", fail_closed, true,
		 "with --enforce: if the policy cannot be put in force, do not run the "
		 "command (exit status 8)"),
	OPT_STRING('u', "user", "USER", user, "run COMMAND as USER instead of root"),

	OPT_GROUP("Saved runs (deptrace replay, policy, diff)"),
	OPT_STRING(0, "baseline", "RUN.jsonl", baseline_path,
		   "mark NEW each connection or lookup whose dependency (name or address, "
		   "port, protocol, program) the saved run RUN.jsonl did not have; with "
		   "--fail-on-violation, exit 7 on any", .verbs = TRACE | REPLAY),
	OPT_CALLBACK(0, "fold", "N", parse_fold,
		     "deptrace policy: N or more names under one domain, on one port, become one "
		     "*.DOMAIN rule, never above a registrable domain (default: no folding)",
		     .verbs = VERB_BIT(VERB_POLICY)),

	OPT_GROUP("Rehearsing an outage"),
	OPT_CALLBACK(0, "outage", "TARGET", add_outage,
		     "run COMMAND with TARGET (a name, *.suffix, address or CIDR, each with an "
		     "optional port, as in --deny; then =MODE) unreachable for it, in its cgroup "
		     "only: blackhole (the default: packets vanish, connects hang until the client "
		     "gives up) or refuse (connects fail at once with ECONNREFUSED), a name's "
		     "addresses being those its lookups are answered; or, for a name without a "
		     "port, dns (its lookups fail at once with SERVFAIL) or nxdomain; may be repeated"),
	OPT_CALLBACK(0, "outage-budget", "N", parse_outage_budget,
		     "with --outage: exit with status 11 if the command failed, or waited more "
		     "than N seconds in all on the outage's targets"),
};

const size_t options_table_len = ARRAY_SIZE(options_table);

static const char *const verb_names[] = {
	[VERB_TRACE] = "",
	[VERB_REPLAY] = "replay",
	[VERB_POLICY] = "policy",
	[VERB_DIFF] = "diff",
};

enum verb options_verb(int argc, char **argv)
{
	for (size_t v = VERB_TRACE + 1; argc > 1 && v < ARRAY_SIZE(verb_names); v++)
		if (!strcmp(argv[1], verb_names[v]))
			return (enum verb)v;
	return VERB_TRACE;
}

const char *options_verb_name(enum verb verb)
{
	return verb_names[verb];
}

/* getopt_long's tables, from options_table: in tracing, '+' ends the
 * options at the command's name, as for strace and env (a verb's files
 * and options mix); ':' reports a missing value. */
static void build_getopt_tables(enum verb verb, struct option *longopts, char *shortopts)
{
	size_t n = 0;

	if (verb == VERB_TRACE)
		*shortopts++ = '+';
	*shortopts++ = ':';
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_desc *o = &options_table[i];

		if (o->kind == OPTION_GROUP)
			continue;
		longopts[n++] = (struct option){
			.name = o->long_name,
			.has_arg = o->arg_name ? required_argument : no_argument,
			.val = o->short_name ? o->short_name : LONG_ONLY_BASE + (int)i,
		};
		if (o->short_name) {
			*shortopts++ = o->short_name;
			if (o->arg_name)
				*shortopts++ = ':';
		}
	}
	longopts[n] = (struct option){ 0 };
	*shortopts = '\0';
}

/* The entry getopt_long returned `c` for. */
static const struct option_desc *find_option(int c)
{
	if (c >= LONG_ONLY_BASE)
		return &options_table[c - LONG_ONLY_BASE];
	for (size_t i = 0; i < options_table_len; i++)
		if (options_table[i].kind != OPTION_GROUP && options_table[i].short_name == c)
			return &options_table[i];
	return NULL;
}

static int apply_option(const struct option_desc *o, const char *arg, struct options *opts,
			char *err, size_t errlen)
{
	switch (o->kind) {
	case OPTION_FLAG:
		*(bool *)((char *)opts + o->field) = o->value;
		break;
	case OPTION_STRING:
		*(const char **)((char *)opts + o->field) = arg;
		break;
	case OPTION_CALLBACK:
		return o->parse(opts, arg, err, errlen);
	case OPTION_GROUP:
		break;
	}
	return 0;
}

static void set_defaults(struct options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->follow_children = true;
	opts->follow_services = true;
	opts->buffer_pages = DEFAULT_BUFFER_PAGES;
	opts->backend = BACKEND_AUTO;
	opts->outage_budget = -1;
}

/* argv's options, up to the command. */
static int read_options(int argc, char **argv, struct options *opts, char *err, size_t errlen)
{
	struct option longopts[ARRAY_SIZE(options_table) + 1];
	char shortopts[2 * ARRAY_SIZE(options_table) + 3];
	int c, rc;

	build_getopt_tables(opts->verb, longopts, shortopts);
	optind = 0; /* 0, not 1: also forgets a half-parsed group like -hV */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct option_desc *o;

		if (c == ':') {
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		}
		o = find_option(c);
		if (!o) {
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c'; see deptrace --help", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'; see deptrace --help",
					 argv[optind - 1]);
			return -EINVAL;
		}
		if (!((o->verbs ? o->verbs : VERB_BIT(VERB_TRACE)) & VERB_BIT(opts->verb))) {
			snprintf(err, errlen, "%s%s is not an option of %s; see deptrace --help",
				 o->long_name ? "--" : "-",
				 o->long_name ? o->long_name : (char[]){ o->short_name, 0 },
				 opts->verb ? options_verb_name(opts->verb) : "tracing");
			return -EINVAL;
		}
		rc = apply_option(o, optarg, opts, err, errlen);
		if (rc || o->ends_parsing)
			return rc;
	}
	if (optind < argc && opts->verb == VERB_TRACE)
		opts->command = argv + optind;
	else if (optind < argc)
		opts->files = argv + optind;
	opts->nfiles = opts->files ? (size_t)(argc - optind) : 0;
	return 0;
}

/* The policy options that only make sense together. */
static int check_policy_options(const struct options *opts, char *err, size_t errlen)
{
	bool rules = opts->policy.count || opts->npolicy_files || opts->outage.count;

	if (!rules && (opts->enforce || (opts->fail_on_violation && !opts->baseline_path))) {
		snprintf(err, errlen, "%s needs a policy: give --deny, --allow or --policy FILE%s",
			 opts->enforce ? (opts->cgroup_path ? "--cgroup" : "--enforce") : "--fail-on-violation",
			 opts->enforce ? "" : " (or --baseline RUN.jsonl)");
		return -EINVAL;
	}
	if (opts->enforce && !opts->command && !opts->cgroup_path) {
		snprintf(err, errlen, "%s needs a command to run (-- COMMAND), or --cgroup PATH for processes already in a cgroup",
			 opts->outage.count ? "--outage" : "--enforce");
		return -EINVAL;
	}
	if (opts->user && !opts->command) {
		snprintf(err, errlen, "-u needs a command: it runs COMMAND as USER");
		return -EINVAL;
	}
	if (opts->outage_budget >= 0 && !opts->outage.count) {
		snprintf(err, errlen, "--outage-budget needs --outage");
		return -EINVAL;
	}
	if (opts->fail_closed && !opts->enforce) {
		snprintf(err, errlen, "--fail-closed needs --enforce");
		return -EINVAL;
	}
	return 0;
}

/* The --policy files' rules, after those of --deny and --allow; then
 * whether enforcement can hold them all. */
static int load_policy_files(struct options *opts, options_notice_fn *notice, char *err,
			     size_t errlen)
{
	char reason[512];

	for (size_t i = 0; i < opts->npolicy_files; i++) {
		size_t before = opts->policy.count;
		int rc = policy_load_file(&opts->policy, opts->policy_files[i], err, errlen);

		if (rc)
			return rc == -ENOMEM ? -ENOMEM : -EINVAL;
		if (opts->policy.count == before && notice) {
			snprintf(reason, sizeof(reason),
				 "%s holds no rules (only comments or blank lines): nothing in it can be broken",
				 opts->policy_files[i]);
			notice(reason);
		}
	}
	if (opts->enforce && enforce_check_policy(&opts->policy, reason, sizeof(reason))) {
		snprintf(err, errlen, "cannot enforce %s", reason);
		return -EINVAL;
	}
	return 0;
}

/* -p 1 with its descendants is every process there is. */
static void notice_whole_system(const struct options *opts, options_notice_fn *notice)
{
	if (!notice || !opts->follow_children)
		return;
	for (size_t i = 0; i < opts->npids; i++) {
		if (opts->pids[i] == 1) {
			notice("-p 1 is init, and its descendants are every process: the whole system is traced (--no-children: init alone)");
			return;
		}
	}
}

/* How many saved runs each verb reads: at least, at most. */
static const struct {
	size_t min, max;
	const char *what;
} verb_files[] = {
	[VERB_REPLAY] = { 1, 1, "one saved run: deptrace replay RUN.jsonl [OPTION]..." },
	[VERB_POLICY] = { 1, 64, "saved runs: deptrace policy RUN.jsonl... (at most 64)" },
	[VERB_DIFF] = { 2, 2, "two saved runs: deptrace diff OLD.jsonl NEW.jsonl" },
};

static int check_verb(const struct options *opts, char *err, size_t errlen)
{
	if (opts->nfiles < verb_files[opts->verb].min ||
	    opts->nfiles > verb_files[opts->verb].max) {
		snprintf(err, errlen, "%s takes %s", options_verb_name(opts->verb),
			 verb_files[opts->verb].what);
		return -EINVAL;
	}
	return 0;
}

static int parse_all(int argc, char **argv, options_notice_fn *notice, struct options *opts,
		     char *err, size_t errlen)
{
	const char *env_backend = getenv("DEPTRACE_BACKEND");
	int rc;

	set_defaults(opts);
	opts->verb = options_verb(argc, argv);
	if (opts->verb) {
		argc--;
		argv++;
	}
	if (env_backend && *env_backend && parse_backend(env_backend, &opts->backend)) {
		snprintf(err, errlen, "unknown backend '%s' in DEPTRACE_BACKEND: expected kprobe, tracepoint or auto", env_backend);
		return -EINVAL;
	}
	rc = read_options(argc, argv, opts, err, errlen);
	if (rc || opts->help || opts->version)
		return rc;
	if (opts->check && (opts->npids || opts->command)) {
		snprintf(err, errlen, "--check takes no PID or command");
		return -EINVAL;
	}
	if (opts->check)
		return 0;
	if (opts->verb) {
		rc = check_verb(opts, err, errlen);
		if (!rc && opts->fail_on_violation)
			rc = check_policy_options(opts, err, errlen);
		return rc ? rc : load_policy_files(opts, notice, err, errlen);
	}
	if (opts->command)
		opts->summary = true;
	if (!opts->npids && !opts->command) {
		snprintf(err, errlen, "nothing to trace: give -p PID or -- COMMAND (see deptrace --help)");
		return -EINVAL;
	}
	rc = check_policy_options(opts, err, errlen);
	if (!rc)
		rc = load_policy_files(opts, notice, err, errlen);
	if (!rc)
		notice_whole_system(opts, notice);
	return rc;
}

int parse_options(int argc, char **argv, options_notice_fn *notice, struct options *opts,
		  char *err, size_t errlen)
{
	int rc = parse_all(argc, argv, notice, opts, err, errlen);

	if (rc)
		options_free(opts);
	return rc;
}

void options_free(struct options *opts)
{
	policy_free(&opts->policy);
}
