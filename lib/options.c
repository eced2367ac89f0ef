/* options: see options.h. */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_NO_CHILDREN = 256, OPT_CHECK, OPT_SUMMARY, OPT_GRAPH, OPT_DENY, OPT_ALLOW,
	OPT_POLICY, OPT_FAIL_ON_VIOLATION, OPT_ENFORCE, OPT_CGROUP, OPT_FAIL_CLOSED,
};

static const struct option long_options[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "no-children", no_argument, NULL, OPT_NO_CHILDREN },
	{ "output", required_argument, NULL, 'o' },
	{ "duration", required_argument, NULL, 'd' },
	{ "buffer-pages", required_argument, NULL, 'b' },
	{ "backend", required_argument, NULL, 'B' },
	{ "json", no_argument, NULL, 'j' },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "graph", required_argument, NULL, OPT_GRAPH },
	{ "deny", required_argument, NULL, OPT_DENY },
	{ "allow", required_argument, NULL, OPT_ALLOW },
	{ "policy", required_argument, NULL, OPT_POLICY },
	{ "fail-on-violation", no_argument, NULL, OPT_FAIL_ON_VIOLATION },
	{ "enforce", no_argument, NULL, OPT_ENFORCE },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "fail-closed", no_argument, NULL, OPT_FAIL_CLOSED },
	{ "user", required_argument, NULL, 'u' },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ 0 },
};

void print_usage(FILE *stream)
{
	fputs(
"Usage: deptrace [OPTION]... -p PID[,PID]...\n"
"       deptrace [OPTION]... -- COMMAND [ARG]...\n"
"       deptrace --check\n"
"\n"
"Show every network connection a process tree attempts: one line per\n"
"connect(2), TCP or UDP, IPv4 or IPv6, with its result and the name the\n"
"process resolved to reach it, and one line per DNS lookup. Traces the\n"
"named processes, all their threads and every process they start, until\n"
"they have all exited, Ctrl-C or SIGTERM; a command's run ends with the\n"
"map of everything it depended on. Needs root (or CAP_BPF, CAP_PERFMON\n"
"and CAP_SYS_ADMIN).\n"
"\n"
"  -p, --pid PID[,PID]...  trace these running processes and their\n"
"                          descendants; may be repeated, and combined with a\n"
"                          command (e.g. to see what a local API it calls\n"
"                          depends on)\n"
"      --no-children       trace only the named processes, not the processes\n"
"                          they start\n"
"  -o, --output FILE       write the lines to FILE instead of standard output\n"
"  -j, --json              JSON Lines: an object per event, then a summary\n"
"      --summary           print the dependency map at the end (always done\n"
"                          when running a command)\n"
"      --graph FILE        write the dependency map as a Graphviz graph\n"
"  -d, --duration SECONDS  stop tracing after SECONDS (a command keeps running\n"
"                          untraced and deptrace still waits for it)\n"
"  -b, --buffer-pages N    perf buffer size per CPU, in pages; a power of two\n"
"                          (default 256); raise it if events are lost\n"
"  -B, --backend NAME      kprobe, tracepoint or auto (default: auto, or\n"
"                          $DEPTRACE_BACKEND): auto uses kprobes where the\n"
"                          kernel has them\n"
"      --check             report the kernel features found, the backend that\n"
"                          would be used and the kernel headers, then exit\n"
"  -h, --help              show this help and exit\n"
"  -V, --version           show the version and exit\n"
"\n"
"Policy (audit: marked, not stopped, unless --enforce):\n"
"      --deny RULE         a destination the traced programs must not reach;\n"
"                          may be repeated\n"
"      --allow RULE        a destination they may reach; once there is one,\n"
"                          every destination no --allow names breaks the\n"
"                          policy; may be repeated\n"
"      --policy FILE       rules from FILE, one a line; may be repeated\n"
"      --fail-on-violation exit with status 7 if anything broke the policy\n"
"      --enforce           refuse in the kernel what the policy forbids: the\n"
"                          call fails with EPERM; needs a command, or --cgroup\n"
"      --cgroup PATH       enforce on an existing cgroup v2 (for services\n"
"                          already in it, with -p); implies --enforce\n"
"      --fail-closed       with --enforce: if the policy cannot be put in\n"
"                          force, do not run the command (exit status 8)\n"
"  -u, --user USER         run COMMAND as USER instead of root\n"
"\n"
"A RULE is a hostname (forge.example.com), *.DOMAIN for every name below\n"
"DOMAIN (not DOMAIN itself), or an IPv4 or IPv6 address or CIDR\n"
"(192.0.2.0/24, 2001:db8::/32), with an optional :PORT (forge.example.com:443;\n"
"[2001:db8::/32]:443 for IPv6). A policy file holds \"deny RULE\" or \"allow\n"
"RULE\" lines; '#' starts a comment. Deny rules win over allow rules; an\n"
"allow list must name the DNS server too. Names are those the programs\n"
"resolved; a lookup breaks the policy when a deny rule without a port names\n"
"it. Each connection or lookup that breaks it is marked at the end of its\n"
"line: \"VIOLATION direct: RULE\" when the traced process itself made it,\n"
"\"VIOLATION hidden (CHAIN): RULE\" when a program it started did (RULE is\n"
"\"not on the allow list\" for an allow-list miss).\n"
"\n"
"With a COMMAND, deptrace starts it already traced, so its first connection\n"
"is seen, passes signals sent to deptrace on to it, and exits with its\n"
"status (128+N if a signal N killed it).\n"
"\n"
"Columns: TIME(s) since tracing began; PID of the process (not the thread);\n"
"PPID, the traced process that started it; COMM; PROTO (TCP, UDP, or DNS\n"
"for a lookup); RESULT, \"ok\" or an errno name: how a TCP connect ended\n"
"(EINPROGRESS: still connecting at the end), what connect(2) returned for\n"
"UDP or a connect failing at once, or the lookup's DNS status\n"
"(NOERROR, NXDOMAIN, ..., NOANSWER); DESTINATION, address:port and the\n"
"name, or the name looked up and its answers. Notices and errors go to\n"
"standard error.\n"
"\n"
"Exit status:\n"
"  0    tracing ended normally (with -p)\n"
"  1    tracing failed after it had started\n"
"  2    bad options\n"
"  3    not enough privilege\n"
"  4    a -p PID does not exist\n"
"  5    the kernel cannot run deptrace (no BPF, no usable backend)\n"
"  6    no kernel headers found (install linux-headers, run\n"
"       scripts/setup-deps, or set BCC_KERNEL_SOURCE)\n"
"  7    with --fail-on-violation: the policy was broken (the command's own\n"
"       status is then printed on standard error)\n"
"  8    with --fail-closed: enforcement could not be set up; the command was\n"
"       not run\n"
"  126  COMMAND cannot be executed;  127  COMMAND not found\n"
"  otherwise, in run mode, COMMAND's own exit status\n"
"\n"
"Examples:\n"
"  deptrace -p 4242                  trace PID 4242 and its descendants\n"
"  deptrace -p 4242,4300 -o out.txt  two trees, lines written to out.txt\n"
"  deptrace -- ./deploy.sh prod      run a deploy under tracing\n"
"  deptrace --graph deps.dot -- ./deploy.sh && dot -Tsvg deps.dot > deps.svg\n"
"  deptrace --json -p 4242 > events.jsonl\n"
"  deptrace -d 60 -p \"$(pgrep -o cron)\"  a minute of cron's connections\n"
"  deptrace --deny forge.example.com --deny '*.forge.example.com' \\\n"
"           --deny 192.0.2.0/24 -- ./deploy.sh\n"
"      mark every connection and lookup of the deploy that reaches the forge\n"
"  deptrace --allow 10.0.0.0/8 --fail-on-violation -p 4242\n"
"      exit with status 7 if 4242 or its children reach beyond 10.0.0.0/8\n"
"  deptrace --policy deploy.policy --enforce -u deployer -- ./deploy.sh\n"
"      run the deploy as deployer, what deploy.policy forbids refused\n",
		stream);
}

static int parse_pid_list(const char *arg, struct options *opts, char *err,
			  size_t errlen)
{
	char *copy = strdup(arg), *save = NULL;
	size_t before = opts->npids;
	int rc = EXIT_OK;

	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return EXIT_USAGE;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long pid;

		errno = 0;
		pid = strtol(tok, &end, 10);
		if (errno || *end || end == tok || pid <= 0 || pid > 0x3fffffff) {
			snprintf(err, errlen, "invalid PID '%s' in -p: expected a positive number", tok);
			rc = EXIT_USAGE;
			break;
		}
		if (opts->npids == MAX_TARGET_PIDS) {
			snprintf(err, errlen, "too many PIDs: at most %d", MAX_TARGET_PIDS);
			rc = EXIT_USAGE;
			break;
		}
		opts->pids[opts->npids++] = (pid_t)pid;
	}
	if (rc == EXIT_OK && opts->npids == before) {
		snprintf(err, errlen, "-p needs at least one PID");
		rc = EXIT_USAGE;
	}
	free(copy);
	return rc;
}

static int parse_duration(const char *arg, double *seconds)
{
	char *end;

	errno = 0;
	*seconds = strtod(arg, &end);
	return errno || *end || end == arg || !isfinite(*seconds) || *seconds <= 0 ? -1 : 0;
}

static int parse_pages(const char *arg, unsigned *pages)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || n == 0 || n > 65536 ||
	    (n & (n - 1)))
		return -1;
	*pages = (unsigned)n;
	return 0;
}

/* Keeps a --deny or --allow, once it parses: a bad rule is a usage error
 * before anything is set up. */
static int add_rule_arg(struct options *opts, enum rule_action action, const char *text,
			char *err, size_t errlen)
{
	const char *option = rule_option(action);
	struct policy_rule rule;
	char reason[POLICY_TEXT_LEN + 64];

	if (policy_parse_rule(action, text, option, &rule, reason, sizeof(reason))) {
		snprintf(err, errlen, "%s: %s", option, reason);
		return EXIT_USAGE;
	}
	if (opts->nrules == MAX_RULE_ARGS) {
		snprintf(err, errlen, "too many --deny and --allow rules: at most %d; put them in a --policy file",
			 MAX_RULE_ARGS);
		return EXIT_USAGE;
	}
	opts->rules[opts->nrules++] = (struct rule_arg){ .action = action, .text = text };
	return EXIT_OK;
}

static int add_policy_file(struct options *opts, const char *path, char *err, size_t errlen)
{
	if (opts->npolicy_files == MAX_POLICY_FILES) {
		snprintf(err, errlen, "too many --policy files: at most %d", MAX_POLICY_FILES);
		return EXIT_USAGE;
	}
	opts->policy_files[opts->npolicy_files++] = path;
	return EXIT_OK;
}

/* The policy options that only make sense together. */
static int check_policy_options(const struct options *opts, char *err, size_t errlen)
{
	bool rules = opts->nrules || opts->npolicy_files;

	if (!rules && (opts->enforce || opts->fail_on_violation)) {
		snprintf(err, errlen, "%s needs a policy: give --deny, --allow or --policy FILE",
			 opts->enforce ? (opts->cgroup_path ? "--cgroup" : "--enforce") : "--fail-on-violation");
		return EXIT_USAGE;
	}
	if (opts->enforce && !opts->command && !opts->cgroup_path) {
		snprintf(err, errlen, "--enforce needs a command to run (-- COMMAND), or --cgroup PATH for processes already in a cgroup");
		return EXIT_USAGE;
	}
	if (opts->user && !opts->command) {
		snprintf(err, errlen, "-u needs a command: it runs COMMAND as USER");
		return EXIT_USAGE;
	}
	if (opts->fail_closed && !opts->enforce) {
		snprintf(err, errlen, "--fail-closed needs --enforce");
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int parse_options(int argc, char **argv, struct options *opts, char *err,
		  size_t errlen)
{
	const char *env_backend;
	int c, rc;

	memset(opts, 0, sizeof(*opts));
	opts->follow_children = true;
	opts->buffer_pages = DEFAULT_BUFFER_PAGES;
	opts->backend = BACKEND_AUTO;
	env_backend = getenv("DEPTRACE_BACKEND");
	if (env_backend && *env_backend && parse_backend(env_backend, &opts->backend)) {
		snprintf(err, errlen, "unknown backend '%s' in DEPTRACE_BACKEND: expected kprobe, tracepoint or auto", env_backend);
		return EXIT_USAGE;
	}
	optind = 0; /* 0, not 1: also forgets a half-parsed group like -hV */
	opterr = 0;
	/* '+': options end at the command's name, as for strace and env */
	while ((c = getopt_long(argc, argv, "+:p:o:jd:b:B:u:hV", long_options, NULL)) != -1) {
		switch (c) {
		case 'p':
			rc = parse_pid_list(optarg, opts, err, errlen);
			if (rc)
				return rc;
			break;
		case OPT_NO_CHILDREN:
			opts->follow_children = false;
			break;
		case 'o':
			opts->output_path = optarg;
			break;
		case 'd':
			if (parse_duration(optarg, &opts->duration)) {
				snprintf(err, errlen, "invalid duration '%s': expected seconds > 0", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'b':
			if (parse_pages(optarg, &opts->buffer_pages)) {
				snprintf(err, errlen, "invalid buffer size '%s': expected a power of two from 1 to 65536", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'B':
			if (parse_backend(optarg, &opts->backend)) {
				snprintf(err, errlen, "unknown backend '%s': expected kprobe, tracepoint or auto", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			opts->json = true;
			break;
		case OPT_SUMMARY:
			opts->summary = true;
			break;
		case OPT_GRAPH:
			opts->graph_path = optarg;
			break;
		case OPT_DENY:
		case OPT_ALLOW:
			rc = add_rule_arg(opts, c == OPT_DENY ? RULE_DENY : RULE_ALLOW, optarg, err, errlen);
			if (rc)
				return rc;
			break;
		case OPT_POLICY:
			rc = add_policy_file(opts, optarg, err, errlen);
			if (rc)
				return rc;
			break;
		case OPT_FAIL_ON_VIOLATION:
			opts->fail_on_violation = true;
			break;
		case OPT_CGROUP:
			opts->cgroup_path = optarg;
			opts->enforce = true;
			break;
		case OPT_ENFORCE:
			opts->enforce = true;
			break;
		case OPT_FAIL_CLOSED:
			opts->fail_closed = true;
			break;
		case 'u':
			opts->user = optarg;
			break;
		case OPT_CHECK:
			opts->check = true;
			break;
		case 'h':
			opts->help = true;
			return EXIT_OK;
		case 'V':
			opts->version = true;
			return EXIT_OK;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (optopt)
				snprintf(err, errlen, "unknown option '-%c'; see deptrace --help", optopt);
			else
				snprintf(err, errlen, "unknown option '%s'; see deptrace --help",
					 argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		opts->command = argv + optind;

	if (opts->check && (opts->npids || opts->command)) {
		snprintf(err, errlen, "--check takes no PID or command");
		return EXIT_USAGE;
	}
	if (opts->check)
		return EXIT_OK;
	if (opts->command)
		opts->summary = true;
	if (!opts->npids && !opts->command) {
		snprintf(err, errlen, "nothing to trace: give -p PID or -- COMMAND (see deptrace --help)");
		return EXIT_USAGE;
	}
	return check_policy_options(opts, err, errlen);
}
