/* deptrace: show the network connections a process tree attempts.
 *
 * This file parses the command line and wires lib/ together: kernel
 * probing, headers, the policy, the tracer, the process tree and the
 * output. It holds no tracing logic of its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "enforce.h"
#include "kheaders.h"
#include "kernel_probe.h"
#include "options.h"
#include "output.h"
#include "policy.h"
#include "proctree.h"
#include "run_command.h"
#include "session.h"
#include "tracer.h"
#include "usage.h"

#define POLL_INTERVAL_MS 200
/* The kernel wakes deptrace only every 32 events (tracer.c); fewer wait
 * for the poll timeout. At start and after records came, more may be
 * waiting below that count: look again after POLL_SOON_MS, doubling back
 * to POLL_INTERVAL_MS while nothing comes. The first event and the last
 * of a burst are printed within milliseconds, not 200. */
#define POLL_SOON_MS 4
/* While nothing comes, how often the traced processes are checked against
 * /proc (tracer_forget_exited): the net under any exit the kernel side
 * could not see. */
#define SWEEP_INTERVAL_NS 1000000000ull

static volatile sig_atomic_t stop_requests;
static volatile sig_atomic_t command_pid;

struct run {
	struct options opts;     /* the policy too */
	struct output out;
	struct session *session;
	FILE *graph;
	struct tracer *tracer;
	char command_path[4096];
	struct run_as user;      /* -u */
	struct held_command command;
	bool command_held;
	int command_status;
	bool command_reaped;
	bool output_created; /* -o made a new file: removed if tracing never starts */
	bool graph_created;
	bool started;        /* tracing began (and a command was started) */
	struct enforced_cgroup cgroup; /* --enforce: where the policy holds */
	bool cgroup_open;
	struct enforcement enforcement;
	struct cgroup_guard guard;
	bool guarded;
};

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One write a line: stderr is unbuffered, and the output may share its
 * file (2>&1), where a line written in pieces would be cut by another's. */
static void warn(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "deptrace: %s\n", line);
}

/* A signal sent to deptrace by a process is passed on to the command; one
 * from the terminal (Ctrl-C) has reached the command's process group
 * already and is not sent twice. */
static void on_stop_signal(int signo, siginfo_t *info, void *context)
{
	stop_requests++;
	if (command_pid > 0 && info->si_code <= 0 && info->si_pid != command_pid)
		kill(command_pid, signo);
}

static void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_sigaction = on_stop_signal, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* a closed output is noticed and ends tracing */
}

static void on_record(void *cookie, const union deptrace_record *rec)
{
	session_record(cookie, rec);
}

static void on_lost(void *cookie, uint64_t lost)
{
	session_lost(cookie, lost);
	warn("lost %llu events (%llu so far): raise --buffer-pages", (unsigned long long)lost,
	     (unsigned long long)session_totals(cookie)->lost);
}

/* What parse_options tells that is no error. */
static void notice(const char *message)
{
	warn("%s", message);
}

/* --fail-on-violation: the policy's word is the exit status; the
 * command's own is still told. */
static int violation_exit(const struct run *r, int command_rc)
{
	if (r->opts.command)
		warn("exit status %d (--fail-on-violation); the command's own status was %d",
		     EXIT_VIOLATION, command_rc);
	return EXIT_VIOLATION;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int check_targets_exist(const struct options *opts)
{
	for (size_t i = 0; i < opts->npids; i++) {
		if (kill(opts->pids[i], 0) && errno == ESRCH) {
			warn("no process with PID %d: check the PID (ps -p %d)", (int)opts->pids[i],
			     (int)opts->pids[i]);
			return EXIT_NO_PROCESS;
		}
	}
	return EXIT_OK;
}

/* Finds kernel headers for libbcc, merging a split tree if needed. */
static int choose_headers(const struct kernel_features *features,
			  struct headers_choice *headers)
{
	struct headers_search search;
	int rc;

	default_headers_search(&search);
	if (find_kernel_headers(features->release, &search, headers)) {
		if (headers->source == HEADERS_ENV)
			warn("BCC_KERNEL_SOURCE=%s holds no kernel headers (no include/linux/kconfig.h): fix or unset it",
			     headers->tree);
		else
			warn("no kernel headers for %s: run scripts/setup-deps, install a linux-headers package, or set BCC_KERNEL_SOURCE",
			     features->release);
		return EXIT_NO_HEADERS;
	}
	rc = prepare_kernel_headers(headers, &search);
	if (rc) {
		warn("cannot merge kernel headers %s into %s: %s", headers->arch_dir,
		     search.cache_dir, strerror(-rc));
		return EXIT_NO_HEADERS;
	}
	return EXIT_OK;
}

/* Seeds the traced map with the -p targets and, unless excluded, the
 * processes already below them. Runs after attaching, so that a fork
 * between the /proc walk and the attach cannot be missed; repeated until a
 * walk finds nothing new. */
static int seed_targets(struct run *r)
{
	for (size_t i = 0; i < r->opts.npids; i++) {
		pid_t ppid = 0;

		read_ppid("/proc", r->opts.pids[i], &ppid);
		if (tracer_add_process(r->tracer, r->opts.pids[i], ppid))
			return -errno;
		session_add_process(r->session, r->opts.pids[i], ppid, true);
	}
	return 0;
}

static int seed_descendants(struct run *r)
{
	size_t seen = (size_t)-1;

	for (int pass = 0; pass < 4; pass++) {
		struct proc_link *links;
		size_t count;
		int rc = list_descendants("/proc", r->opts.pids, r->opts.npids, &links, &count);

		if (rc)
			return rc;
		for (size_t i = 0; i < count; i++) {
			tracer_add_process(r->tracer, links[i].pid, links[i].ppid);
			session_add_process(r->session, links[i].pid, links[i].ppid, false);
		}
		free(links);
		if (count == seen)
			break;
		seen = count;
	}
	return 0;
}

/* Where each fact comes from, and how many syscall tracepoints that
 * takes: each slows every syscall of every process while attached. */
static void report_fact_sources(enum backend backend)
{
	char sources[1024];
	unsigned hooks, total = 0;

	for (enum probe_fact fact = 0; fact < FACT_COUNT; fact++) {
		probe_fact_sources(backend, fact, sources, sizeof(sources), &hooks);
		printf("%-16s %s\n", probe_fact_name(fact), sources);
		total += hooks;
	}
	printf("%-16s %u (each slows every syscall on the machine while attached)\n",
	       "syscall hooks", total);
}

static int report_check(const struct options *opts)
{
	struct kernel_features features;
	struct headers_choice headers;
	char notice[256] = "", why[256] = "";
	enum backend backend;
	int tracefs_rc = ensure_tracefs(notice, sizeof(notice));
	int headers_rc;

	probe_kernel(&features);
	backend = choose_backend(&features, opts->backend, why, sizeof(why));
	printf("%-16s %s\n", "kernel", features.release);
	printf("%-16s %s\n", "privileges", have_tracing_privileges() ? "sufficient" : "insufficient (run as root)");
	printf("%-16s %s%s%s\n", "bpf", features.bpf_errno ? "refused: " : "yes",
	       features.bpf_errno ? strerror(features.bpf_errno) : "", "");
	printf("%-16s %s%s%s\n", "tracefs", tracefs_rc ? "unavailable: " : TRACING_DIR,
	       tracefs_rc ? strerror(-tracefs_rc) : "", *notice ? " (deptrace " : "");
	if (*notice)
		printf("%-16s %s)\n", "", notice);
	printf("%-16s %s\n", "kprobes", features.kprobes ? "yes" : "no (CONFIG_KPROBES off)");
	if (!features.kprobes)
		printf("%-16s %s\n", "kprobe targets", "not looked for (no kprobes)");
	else
		printf("%-16s %s%s\n", "kprobe targets", features.missing_symbol ? "missing " : "all found",
		       features.missing_symbol ? features.missing_symbol : "");
	printf("%-16s %s%s\n", "tracepoints", features.missing_tracepoint ? "missing " : "all shared ones found",
	       features.missing_tracepoint ? features.missing_tracepoint : "");
	printf("%-16s %s%s\n", "syscall tps", features.missing_syscall_tracepoint ? "missing " : "all found",
	       features.missing_syscall_tracepoint ? features.missing_syscall_tracepoint : "");
	if (backend == BACKEND_AUTO)
		printf("%-16s none: %s\n", "backend", why);
	else
		printf("%-16s %s%s\n", "backend", backend_name(backend),
		       opts->backend == BACKEND_AUTO ? " (auto)" : " (forced)");
	if (backend != BACKEND_AUTO)
		report_fact_sources(backend);

	headers_rc = choose_headers(&features, &headers);
	if (headers_rc == EXIT_OK && headers.source == HEADERS_NEAREST) {
		printf("%-16s %s: %s\n", "kernel headers", headers_source_name(headers.source), headers.arch_dir);
		if (headers.common_dir[0])
			printf("%-16s merged with %s at %s\n", "", headers.common_dir, headers.tree);
	} else if (headers_rc == EXIT_OK) {
		printf("%-16s %s: %s\n", "kernel headers", headers_source_name(headers.source), headers.tree);
	} else {
		printf("%-16s none\n", "kernel headers");
	}
	if (!have_tracing_privileges())
		return EXIT_PERMISSION;
	if (backend == BACKEND_AUTO)
		return EXIT_KERNEL;
	return headers_rc;
}


static FILE *open_output_file(const char *path, bool *created)
{
	FILE *f;

	*created = access(path, F_OK) != 0;
	f = fopen(path, "w");
	if (!f)
		warn("cannot write %s: %s", path, strerror(errno));
	return f;
}

/* Opened before anything slow, so that a typo fails at once. */
static int open_outputs(struct run *r)
{
	r->out.format = r->opts.json ? OUTPUT_JSON : OUTPUT_TEXT;
	if (r->opts.output_path) {
		r->out.stream = open_output_file(r->opts.output_path, &r->output_created);
		if (!r->out.stream)
			return EXIT_USAGE;
	}
	if (r->opts.graph_path) {
		r->graph = open_output_file(r->opts.graph_path, &r->graph_created);
		if (!r->graph)
			return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* Files made by a run that never started are removed again. */
static void close_output(FILE *f, const char *path, bool created, bool started)
{
	if (!f || f == stdout)
		return;
	fclose(f);
	if (!started && created)
		unlink(path);
}

static void close_outputs(struct run *r)
{
	close_output(r->out.stream, r->opts.output_path, r->output_created, r->started);
	close_output(r->graph, r->opts.graph_path, r->graph_created, r->started);
}

/* Detaches the policy and removes the cgroup deptrace made; the command
 * is gone, or runs on audited. */
static void end_enforcement(struct run *r)
{
	unsigned moved = 0;
	int rc;

	enforce_detach(&r->enforcement);
	if (r->guarded)
		cgroup_guard_stop(&r->guard);
	r->guarded = false;
	if (r->cgroup_open) {
		rc = cgroup_release(&r->cgroup, &moved);
		if (rc)
			warn("cannot remove cgroup %s: %s", r->cgroup.path, strerror(-rc));
		if (moved)
			warn("%u process%s the command left running moved out of %s: the policy no longer holds for them",
			     moved, moved == 1 ? "" : "es", r->cgroup.path);
	}
	r->cgroup_open = false;
	if (r->session)
		session_set_enforcing(r->session, false);
}

/* Enforcement that cannot be set up: the command runs audited, as the
 * guide advises (fail-open), unless --fail-closed. */
static int enforcement_unavailable(struct run *r, const char *why)
{
	end_enforcement(r);
	if (r->opts.fail_closed) {
		warn("cannot enforce the policy: %s; --fail-closed: not running anything", why);
		return EXIT_ENFORCE;
	}
	warn("cannot enforce the policy: %s; auditing only (--fail-closed refuses to run instead)",
	     why);
	return EXIT_OK;
}

static int open_cgroup(struct run *r, char *err, size_t errlen)
{
	char mount[CGROUP_PATH_LEN], busy[CGROUP_PATH_LEN] = "";
	int rc;

	if (r->opts.cgroup_path) {
		rc = cgroup_open_existing(r->opts.cgroup_path, &r->cgroup);
		if (rc)
			snprintf(err, errlen, "--cgroup %s: %s", r->opts.cgroup_path,
				 rc == -EMEDIUMTYPE ? "not a cgroup v2 directory" : strerror(-rc));
		return rc;
	}
	rc = cgroup2_mount_point("/proc/mounts", mount, sizeof(mount));
	if (rc == -ENOENT) {
		rc = cgroup2_mount_private(mount, sizeof(mount));
		if (!rc)
			warn("no cgroup v2 hierarchy was mounted here: mounted cgroup2 on %s, seen by deptrace and the command only",
			     mount);
	}
	if (rc) {
		snprintf(err, errlen, "no cgroup v2 hierarchy is mounted (/proc/mounts) and none can be: %s",
			 strerror(-rc));
		return rc;
	}
	rc = cgroup_remove_stale(mount, busy, sizeof(busy));
	if (rc > 0)
		warn("removed %d empty cgroup%s left by runs that were killed", rc, rc == 1 ? "" : "s");
	if (*busy)
		warn("%s, from a run that was killed, still holds processes (its guard may still hold their policy): left alone",
		     busy);
	rc = cgroup_create(mount, &r->cgroup);
	if (rc)
		snprintf(err, errlen, "cannot make a cgroup under %s: %s", mount, strerror(-rc));
	return rc;
}

/* Before the command is forked: the policy programs and the cgroup. */
static int prepare_enforcement(struct run *r)
{
	char err[512];

	if (enforce_load(r->tracer, &r->opts.policy, err, sizeof(err)) ||
	    open_cgroup(r, err, sizeof(err)))
		return enforcement_unavailable(r, err);
	r->cgroup_open = true;
	session_set_enforcing(r->session, true);
	return EXIT_OK;
}

/* With the command held: moves it into the cgroup, links the programs
 * there, and starts the guard that keeps copies of the links, so that
 * the policy cannot end before the command does. */
static int start_enforcement(struct run *r)
{
	char err[512];
	int rc;

	if (r->opts.command) {
		rc = cgroup_add_process(&r->cgroup, r->command.pid);
		if (rc) {
			snprintf(err, sizeof(err), "cannot move the command into %s: %s",
				 r->cgroup.path, strerror(-rc));
			return enforcement_unavailable(r, err);
		}
	}
	if (enforce_attach(r->tracer, r->cgroup.dir_fd, &r->enforcement, err, sizeof(err)))
		return enforcement_unavailable(r, err);
	rc = cgroup_guard_start(&r->cgroup, r->enforcement.link_fds, r->enforcement.nlinks,
				&r->guard);
	if (rc) {
		snprintf(err, sizeof(err), "cannot start the guard process: %s", strerror(-rc));
		return enforcement_unavailable(r, err);
	}
	r->guarded = true;
	return EXIT_OK;
}

/* Everything up to the first traced instruction: returns an exit code. */
static int start_tracing(struct run *r)
{
	struct tracer_config config = {
		.follow_children = r->opts.follow_children,
		.buffer_pages = r->opts.buffer_pages,
		.enforce = r->opts.enforce,
		.allow_list = r->opts.policy.nallow > 0,
		.on_record = on_record,
		.on_lost = on_lost,
	};
	struct kernel_features features;
	struct headers_choice headers;
	char notice[256], err[512];
	int rc;

	if (!have_tracing_privileges()) {
		warn("tracing needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN): run it with sudo");
		return EXIT_PERMISSION;
	}
	rc = check_targets_exist(&r->opts);
	if (rc)
		return rc;
	if (r->opts.command) {
		rc = resolve_command(r->opts.command[0], r->command_path, sizeof(r->command_path));
		if (rc) {
			warn("cannot run %s: %s", r->opts.command[0], strerror(rc));
			return rc == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
		}
	}
	rc = open_outputs(r);
	if (rc)
		return rc;
	rc = ensure_tracefs(notice, sizeof(notice));
	if (rc) {
		warn("cannot mount tracefs at %s: %s", TRACING_DIR, strerror(-rc));
		return EXIT_KERNEL;
	}
	if (*notice)
		warn("%s: libbcc reads tracepoint formats there (left mounted)", notice);
	probe_kernel(&features);
	config.backend = choose_backend(&features, r->opts.backend, err, sizeof(err));
	if (config.backend == BACKEND_AUTO) {
		warn("cannot trace on this kernel: %s", err);
		return EXIT_KERNEL;
	}
	rc = choose_headers(&features, &headers);
	if (rc)
		return rc;
	if (headers.source == HEADERS_NEAREST)
		warn("no headers for kernel %s; compiling against %s", features.release,
		     headers.common_dir[0] ? headers.tree : headers.arch_dir);
	config.kernel_tree = headers.source == HEADERS_NEAREST ? headers.tree : NULL;

	struct session_config session_config = {
		.out = &r->out,
		.summary = r->opts.summary,
		.graph = r->graph,
		.proc_root = "/proc",
		.hosts_path = "/etc/hosts",
		.policy = &r->opts.policy,
	};

	r->session = session_new(&session_config);
	if (!r->session) {
		warn("out of memory");
		return EXIT_RUNTIME;
	}
	config.cookie = r->session;
	rc = tracer_load(&config, &r->tracer, err, sizeof(err));
	if (rc) {
		warn("%s", err);
		return rc == -EPERM ? EXIT_PERMISSION : EXIT_KERNEL;
	}
	if (r->opts.enforce) {
		rc = prepare_enforcement(r);
		if (rc)
			return rc;
	}
	if (r->opts.command) {
		rc = hold_command(r->command_path, r->opts.command,
				  r->opts.user ? &r->user : NULL, &r->command);
		if (rc) {
			warn("cannot start %s: %s", r->opts.command[0], strerror(-rc));
			return EXIT_RUNTIME;
		}
		r->command_held = true;
		command_pid = r->command.pid;
		if (tracer_add_process(r->tracer, r->command.pid, getpid())) {
			warn("cannot trace the command: %s", strerror(errno));
			return EXIT_RUNTIME;
		}
		session_add_process(r->session, r->command.pid, getpid(), true);
	}
	if (seed_targets(r)) {
		warn("cannot add the target processes: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	rc = tracer_attach(r->tracer, err, sizeof(err));
	if (rc) {
		warn("%s", err);
		return EXIT_KERNEL;
	}
	if (r->cgroup_open) {
		rc = start_enforcement(r);
		if (rc)
			return rc;
	}
	r->out.start_ns = monotonic_ns();
	if (r->opts.npids && r->opts.follow_children && seed_descendants(r)) {
		warn("cannot read /proc to find the targets' children");
		return EXIT_RUNTIME;
	}
	/* a process seeded as it exited stays gone: the exit probe, attached
	 * now, sees every later exit, so one look at /proc settles the rest */
	tracer_forget_exited(r->tracer);
	if (r->opts.command) {
		rc = release_command(&r->command);
		r->command_held = false;
		if (rc) {
			command_pid = 0;
			warn("cannot run %s: %s", r->opts.command[0], strerror(rc));
			return rc == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
		}
	}
	/* events are printed only from the poll loop: none can precede this */
	output_header(&r->out);
	r->started = true;
	return EXIT_OK;
}

static bool reap_command(struct run *r, int options)
{
	pid_t pid;

	if (!r->opts.command || r->command_reaped)
		return r->command_reaped;
	do
		pid = waitpid(r->command.pid, &r->command_status, options);
	while (pid < 0 && errno == EINTR);
	if (pid == r->command.pid) {
		r->command_reaped = true;
		command_pid = 0;
	}
	return r->command_reaped;
}

/* Until every traced process has exited (or, with -p beside a command, the
 * command has), the duration is over, or a stop signal came (in run mode:
 * and the command has exited, or a second one). */
static void trace_until_done(struct run *r)
{
	uint64_t deadline = r->opts.duration > 0
		? monotonic_ns() + (uint64_t)(r->opts.duration * 1e9) : 0;
	int timeout_ms = POLL_SOON_MS;
	uint64_t next_sweep = monotonic_ns() + SWEEP_INTERVAL_NS;

	for (;;) {
		size_t delivered = tracer_poll(r->tracer, timeout_ms);

		if (delivered)
			timeout_ms = POLL_SOON_MS;
		else if ((timeout_ms *= 2) > POLL_INTERVAL_MS)
			timeout_ms = POLL_INTERVAL_MS;
		session_expire_lookups(r->session, monotonic_ns());
		if (fflush(r->out.stream) || ferror(r->out.stream)) {
			warn("cannot write the output: %s", strerror(errno));
			break;
		}
		reap_command(r, WNOHANG);
		if (stop_requests > 1 || (stop_requests && (!r->opts.command || r->command_reaped)))
			break;
		/* asking the kernel walks the traced map's buckets; while records
		 * come, a traced process was alive to send them */
		if (!delivered) {
			if (monotonic_ns() >= next_sweep) {
				tracer_forget_exited(r->tracer);
				next_sweep = monotonic_ns() + SWEEP_INTERVAL_NS;
			}
			if (!tracer_has_processes(r->tracer))
				break;
		}
		/* -p targets beside a command (a service it calls) may run on
		 * for ever: the command's end is the run's end */
		if (r->opts.npids && r->command_reaped)
			break;
		if (deadline && monotonic_ns() >= deadline)
			break;
	}
	tracer_finish(r->tracer);
	session_finish(r->session);
	fflush(r->out.stream);
}

int main(int argc, char **argv)
{
	struct run r = { .out.stream = stdout };
	const struct run_totals *totals;
	char err[256];
	int rc;

	rc = parse_options(argc, argv, notice, &r.opts, err, sizeof(err));
	if (rc) {
		warn("%s", err);
		return rc;
	}
	if (r.opts.help || r.opts.version) {
		if (r.opts.help)
			usage_print_help(stdout);
		else
			printf("deptrace %s\n", DEPTRACE_VERSION);
		options_free(&r.opts);
		return EXIT_OK;
	}
	if (r.opts.check) {
		rc = report_check(&r.opts);
		options_free(&r.opts);
		return rc;
	}
	if (r.opts.user && resolve_run_as(r.opts.user, &r.user, err, sizeof(err))) {
		warn("%s", err);
		rc = EXIT_USAGE;
		goto cleanup;
	}

	install_signal_handlers();
	rc = start_tracing(&r);
	if (rc)
		goto cleanup;
	trace_until_done(&r);
	totals = session_totals(r.session);
	warn("%llu connection%s and %llu lookup%s traced, %llu events lost",
	     (unsigned long long)totals->connections, totals->connections == 1 ? "" : "s",
	     (unsigned long long)totals->lookups, totals->lookups == 1 ? "" : "s",
	     (unsigned long long)totals->lost);
	if (totals->policy) {
		char count[VIOLATIONS_LEN];

		format_violations(totals, count, sizeof(count));
		warn("%s", count);
	}
	if (tracer_stat(r.tracer, DEPTRACE_STAT_UNTRACKED_CHILDREN) ||
	    tracer_stat(r.tracer, DEPTRACE_STAT_UNTRACKED_CONNECTS))
		warn("kernel tables were full: %llu processes and %llu connects not traced",
		     (unsigned long long)tracer_stat(r.tracer, DEPTRACE_STAT_UNTRACKED_CHILDREN),
		     (unsigned long long)tracer_stat(r.tracer, DEPTRACE_STAT_UNTRACKED_CONNECTS));
	if (tracer_malformed(r.tracer))
		warn("%llu kernel records could not be decoded and were dropped",
		     (unsigned long long)tracer_malformed(r.tracer));
	if (totals->lost)
		rc = EXIT_RUNTIME;

cleanup:
	if (r.command_held)
		abandon_command(&r.command);
	if (r.started && r.opts.command && reap_command(&r, 0))
		rc = exit_code_of(r.command_status);
	/* after the command: its policy ends with it */
	end_enforcement(&r);
	tracer_close(r.tracer);
	run_as_free(&r.user);
	if (r.started && r.opts.fail_on_violation && session_totals(r.session)->violations)
		rc = violation_exit(&r, rc);
	close_outputs(&r);
	session_free(r.session);
	options_free(&r.opts);
	return rc;
}
