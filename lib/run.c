/* run: see run.h. */
#define _GNU_SOURCE
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel_probe.h"
#include "output.h"
#include "policy.h"
#include "proctree.h"
#include "reorder.h"
#include "saved_run.h"
#include "session.h"

/* While nothing comes, how often the traced processes are checked against
 * /proc (tracer_forget_exited): the net under any exit the kernel side
 * could not see. */
#define SWEEP_INTERVAL_NS 1000000000ull

/* An output file (-o, --graph): one the run made is removed again if
 * tracing never started. */
struct run_file {
	FILE *stream;   /* NULL: not open */
	const char *path;
	bool created;
};

/* The command of run mode, through its states. */
enum command_state {
	COMMAND_NONE,    /* no command, or not forked yet */
	COMMAND_HELD,    /* forked, waiting before its exec */
	COMMAND_RUNNING, /* released */
	COMMAND_REAPED,
};

struct run_command {
	enum command_state state;
	int exit_fd;             /* readable once it has exited, while running
				    (run_command_exit_fd); -1 otherwise */
	char path[4096];
	struct run_as user;      /* -u */
	struct held_command held;
};

/* --enforce: the cgroup the policy holds in (open while dir_fd >= 0), the
 * links there, and the guard that keeps copies of them (running while
 * pid > 0). */
struct run_enforcement {
	struct enforced_cgroup cgroup;
	struct enforcement links;
	struct cgroup_guard guard;
};

struct run {
	const struct options *opts;
	struct message_sink messages;
	struct run_ops ops;
	const char *proc_root;
	const char *hosts_path;
	const char *version;
	struct run_facts facts;
	struct run_command command;
	struct run_file output, graph;
	struct output out;
	struct headers_choice headers;
	struct session *session;
	struct reorder *reorder; /* between the tracer and the session */
	char **baseline;         /* --baseline's keys (saved_run_keys) */
	size_t nbaseline;
	struct tracer *tracer;
	struct run_enforcement enforcement;
	struct outage_report outage; /* --outage: the rehearsal's report */
};

static const int failure_exit_codes[] = {
	[RUN_FAILED_NOTHING] = EXIT_OK,
	[RUN_FAILED_USAGE] = EXIT_USAGE,
	[RUN_FAILED_PERMISSION] = EXIT_PERMISSION,
	[RUN_FAILED_NO_PROCESS] = EXIT_NO_PROCESS,
	[RUN_FAILED_KERNEL] = EXIT_KERNEL,
	[RUN_FAILED_NO_HEADERS] = EXIT_NO_HEADERS,
	[RUN_FAILED_ENFORCE] = EXIT_ENFORCE,
	[RUN_FAILED_NOT_FOUND] = EXIT_NOT_FOUND,
	[RUN_FAILED_CANNOT_EXECUTE] = EXIT_CANNOT_EXECUTE,
	[RUN_FAILED_RUNTIME] = EXIT_RUNTIME,
};

int run_exit_code(const struct run_facts *f)
{
	if (f->failure)
		return failure_exit_codes[f->failure];
	if (f->early_signal)
		return 128 + f->early_signal;
	if (f->output_failed)
		return EXIT_RUNTIME;
	if (f->fail_on_violation && f->violated)
		return EXIT_VIOLATION;
	if (f->fail_on_violation && f->lost)
		return EXIT_RUNTIME;
	if (f->outage_failed)
		return EXIT_OUTAGE;
	if (f->command_exited)
		return run_command_exit_code(f->command_status);
	return f->lost ? EXIT_RUNTIME : EXIT_OK;
}

#define say(r, ...) message_say(&(r)->messages, __VA_ARGS__)

/* Records what stopped the run; returns the -errno for the step. */
static int fail(struct run *r, enum run_failure failure, int rc)
{
	r->facts.failure = failure;
	return rc < 0 ? rc : -EINVAL;
}

/* --- signals --------------------------------------------------------------- */

static volatile sig_atomic_t stop_requests;
static volatile sig_atomic_t stop_signo;
static volatile sig_atomic_t command_pid;

/* A signal sent to deptrace by a process is passed on to the command; one
 * from the terminal (Ctrl-C) has reached the command's process group
 * already and is not sent twice. */
static void on_stop_signal(int signo, siginfo_t *info, void *context)
{
	stop_requests++;
	stop_signo = signo;
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

/* Flushes the output: true if all of it is written so far; the first
 * failure is told (with what fflush said) and ends the run's output. */
static bool output_written(struct run *r)
{
	if (r->facts.output_failed)
		return false;
	if (!fflush(r->out.stream) && !ferror(r->out.stream))
		return true;
	say(r, "cannot write the output: %s", strerror(errno));
	r->facts.output_failed = true;
	return false;
}

/* --- the real kernel side ---------------------------------------------------- */

/* Where cgroup v2 is mounted, mounting it privately where it is not. */
static int find_cgroup2(char *mount, size_t len, char *err, size_t errlen,
			const struct message_sink *messages)
{
	int rc = cgroup2_mount_point("/proc/mounts", mount, len);

	if (rc == -ENOENT) {
		rc = cgroup2_mount_private(mount, len);
		if (!rc)
			message_say(messages,
				    "no cgroup v2 hierarchy was mounted here: mounted cgroup2 on %s, seen by deptrace and the command only",
				    mount);
	}
	if (rc)
		snprintf(err, errlen, "no cgroup v2 hierarchy is mounted (/proc/mounts) and none can be: %s",
			 strerror(-rc));
	return rc;
}

static enum run_failure prepare_kernel(enum backend wanted, struct tracer_config *config,
				       struct headers_choice *headers,
				       const struct message_sink *messages)
{
	struct kernel_features features;
	char notice[256], err[512];
	int rc;

	rc = ensure_tracefs(notice, sizeof(notice));
	if (rc) {
		message_say(messages, "cannot mount tracefs at %s: %s", TRACING_DIR, strerror(-rc));
		return RUN_FAILED_KERNEL;
	}
	if (*notice)
		message_say(messages, "%s: libbcc reads tracepoint formats there (left mounted)",
			    notice);
	/* before libbcc starts threads: a private mount must be made first */
	if (find_cgroup2(config->cgroup_root, sizeof(config->cgroup_root), err, sizeof(err),
			 messages)) {
		message_say(messages, "cannot capture DNS, and connect(2) is seen by syscall hooks (the cgroup programs hook the cgroup v2 root): %s",
			    err);
		config->cgroup_root[0] = '\0';
		config->syscall_hooks = true;
	}
	probe_kernel(&features);
	config->backend = choose_backend(&features, wanted, config->syscall_hooks, err,
					 sizeof(err));
	if (config->backend == BACKEND_AUTO) {
		message_say(messages, "cannot trace on this kernel: %s", err);
		return RUN_FAILED_KERNEL;
	}
	if (kheaders_choose(features.release, headers, err, sizeof(err))) {
		message_say(messages, "%s", err);
		return RUN_FAILED_NO_HEADERS;
	}
	if (headers->source == HEADERS_NEAREST)
		message_say(messages, "no headers for kernel %s; compiling against %s",
			    features.release,
			    headers->common_dir[0] ? headers->tree : headers->arch_dir);
	config->kernel_tree = headers->source == HEADERS_NEAREST ? headers->tree : NULL;
	config->follow_unix = !features.missing_unix_tracepoint;
	config->exec_argv = features.exec_argv;
	if (config->follow_services && !config->follow_unix)
		message_say(messages, "services reached over Unix sockets are not followed: this kernel "
			    "has no tracepoint sock:%s", features.missing_unix_tracepoint);
	return RUN_FAILED_NOTHING;
}

static int open_cgroup(const char *path, struct enforced_cgroup *cg, char *err,
		       size_t errlen, const struct message_sink *messages)
{
	char mount[CGROUP_PATH_LEN], busy[CGROUP_PATH_LEN] = "";
	int rc;

	if (path) {
		rc = cgroup_open_existing(path, cg);
		if (rc)
			snprintf(err, errlen, "--cgroup %s: %s", path,
				 rc == -EMEDIUMTYPE ? "not a cgroup v2 directory" : strerror(-rc));
		return rc;
	}
	rc = find_cgroup2(mount, sizeof(mount), err, errlen, messages);
	if (rc)
		return rc;
	rc = cgroup_remove_stale(mount, busy, sizeof(busy));
	if (rc > 0)
		message_say(messages, "removed %d empty cgroup%s left by runs that were killed", rc,
			    rc == 1 ? "" : "s");
	if (*busy)
		message_say(messages,
			    "%s, from a run that was killed, still holds processes (its guard may still hold their policy): left alone",
			    busy);
	rc = cgroup_create(mount, cg);
	if (rc)
		snprintf(err, errlen, "cannot make a cgroup under %s: %s", mount, strerror(-rc));
	return rc;
}

const struct run_ops run_real_ops = {
	.have_privileges = have_tracing_privileges,
	.prepare_kernel = prepare_kernel,
	.tracer_load = tracer_load,
	.tracer_add_process = tracer_add_process,
	.tracer_attach = tracer_attach,
	.tracer_forget_exited = tracer_forget_exited,
	.tracer_poll = tracer_poll,
	.tracer_finish = tracer_finish,
	.tracer_has_processes = tracer_has_processes,
	.tracer_stat = tracer_stat,
	.tracer_malformed = tracer_malformed,
	.tracer_close = tracer_close,
	.enforce_load = enforce_load,
	.enforce_attach = enforce_attach,
	.enforce_detach = enforce_detach,
	.cgroup_open = open_cgroup,
	.cgroup_add_process = cgroup_add_process,
	.cgroup_guard_start = cgroup_guard_start,
	.cgroup_guard_stop = cgroup_guard_stop,
	.cgroup_release = cgroup_release,
	.command_hold = run_command_hold,
	.command_release = run_command_release,
	.command_abandon = run_command_abandon,
	.command_wait = waitpid,
	.command_exit_fd = run_command_exit_fd,
};

/* --- prepare ----------------------------------------------------------------- */

struct run *run_new(const struct run_config *config)
{
	struct run *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->opts = config->opts;
	r->messages = config->messages;
	r->ops = config->ops ? *config->ops : run_real_ops;
	r->proc_root = config->proc_root ? config->proc_root : "/proc";
	r->hosts_path = config->hosts_path ? config->hosts_path : "/etc/hosts";
	r->version = config->version ? config->version : "";
	r->facts.fail_on_violation = r->opts->fail_on_violation;
	r->enforcement.cgroup.dir_fd = -1;
	r->command.exit_fd = -1;
	r->output.path = r->opts->output_path;
	r->graph.path = r->opts->graph_path;
	return r;
}

static int check_targets_exist(struct run *r)
{
	for (size_t i = 0; i < r->opts->npids; i++) {
		pid_t pid = r->opts->pids[i];

		if (kill(pid, 0) && errno == ESRCH) {
			say(r, "no process with PID %d: check the PID (ps -p %d)", (int)pid, (int)pid);
			return fail(r, RUN_FAILED_NO_PROCESS, -ESRCH);
		}
	}
	return 0;
}

/* A command that cannot be run (-errno): no such file, or not executable. */
static int command_failed(struct run *r, int rc)
{
	say(r, "cannot run %s: %s", r->opts->command[0], strerror(-rc));
	return fail(r, rc == -ENOENT ? RUN_FAILED_NOT_FOUND : RUN_FAILED_CANNOT_EXECUTE, rc);
}

static int open_file(struct run *r, struct run_file *file)
{
	if (!file->path)
		return 0;
	file->created = access(file->path, F_OK) != 0;
	file->stream = fopen(file->path, "w");
	if (!file->stream) {
		int rc = -errno;

		say(r, "cannot write %s: %s", file->path, strerror(-rc));
		return fail(r, RUN_FAILED_USAGE, rc);
	}
	return 0;
}

/* Files made by a run that never started are removed again. What could
 * not be written is told, and fails the run. */
static void close_file(struct run *r, struct run_file *file)
{
	if (!file->stream)
		return;
	if (fclose(file->stream) && r->facts.started && !r->facts.output_failed) {
		say(r, "cannot write %s: %s", file->path, strerror(errno));
		r->facts.output_failed = true;
	}
	file->stream = NULL;
	if (!r->facts.started && file->created)
		unlink(file->path);
}

/* A stop signal (SIGINT, SIGTERM, SIGHUP) that came while deptrace was
 * starting (compiling takes seconds) ends the run before its command is
 * let go: a `timeout` or a service manager's stop is not lost. Asked
 * between the steps of the start, none of which it interrupts. */
static int stopped_early(struct run *r)
{
	if (!stop_requests)
		return 0;
	r->facts.early_signal = stop_signo;
	say(r, "stopped by %s before tracing began%s", strsignal(stop_signo),
	    r->opts->command ? ": the command was not run" : "");
	return -EINTR;
}

int run_prepare(struct run *r)
{
	const struct options *o = r->opts;
	char err[512];
	int rc;

	install_signal_handlers();
	if (o->user) {
		rc = run_command_resolve_user(o->user, &r->command.user, err, sizeof(err));
		if (rc) {
			say(r, "%s", err);
			return fail(r, RUN_FAILED_USAGE, rc);
		}
	}
	if (!r->ops.have_privileges()) {
		say(r, "tracing needs root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN): run it with sudo");
		return fail(r, RUN_FAILED_PERMISSION, -EPERM);
	}
	rc = check_targets_exist(r);
	if (rc)
		return rc;
	if (o->command) {
		rc = run_command_resolve(o->command[0], r->command.path, sizeof(r->command.path));
		if (rc)
			return command_failed(r, rc);
	}
	if (o->baseline_path) {
		rc = saved_run_keys(o->baseline_path, &r->baseline, &r->nbaseline, err, sizeof(err));
		if (rc) {
			say(r, "--baseline: %s", err);
			return fail(r, rc == -ENOMEM ? RUN_FAILED_RUNTIME : RUN_FAILED_USAGE, rc);
		}
	}
	/* opened before anything slow, so that a typo fails at once */
	rc = open_file(r, &r->output);
	if (!rc)
		rc = open_file(r, &r->graph);
	if (rc)
		return rc;
	output_init(&r->out, r->output.stream ? r->output.stream : stdout,
		    o->json ? OUTPUT_JSON : OUTPUT_TEXT);
	return 0;
}

/* --- start ------------------------------------------------------------------- */

/* What the resolver could not do, failed closed (the command saw a
 * failed lookup for each). */
static void report_resolver(struct run *r, const struct resolver_stats *st)
{
	if (st->upstream_failed)
		say(r, "resolver: %lu questions answered SERVFAIL: the name server did not answer within %d ms, or refused",
		    st->upstream_failed, RESOLVER_TIMEOUT_MS);
	if (st->bad_answers)
		say(r, "resolver: %lu answers it could not read, passed on as SERVFAIL",
		    st->bad_answers);
	if (st->admit_failed)
		say(r, "resolver: %lu answers whose addresses could not be admitted in the kernel (%s), passed on as SERVFAIL",
		    st->admit_failed, strerror(-st->last_admit_error));
	if (st->busy)
		say(r, "resolver: %lu questions beyond what it holds at once, answered SERVFAIL",
		    st->busy);
	if (st->unreadable)
		say(r, "resolver: %lu questions it could not read, answered FORMERR", st->unreadable);
}

/* Detaches the policy and removes the cgroup deptrace made; the command
 * is gone, or runs on audited. Each part undoes itself only if set up. */
static void end_enforcement(struct run *r)
{
	struct run_enforcement *e = &r->enforcement;
	unsigned moved = 0;
	int rc;

	r->ops.enforce_detach(&e->links);
	if (e->links.resolved)
		report_resolver(r, &e->links.resolver_stats);
	e->links.resolved = false;
	if (e->guard.pid > 0)
		r->ops.cgroup_guard_stop(&e->guard);
	e->guard.pid = 0;
	if (e->cgroup.dir_fd >= 0) {
		rc = r->ops.cgroup_release(&e->cgroup, &moved);
		if (rc)
			say(r, "cannot remove cgroup %s: %s", e->cgroup.path, strerror(-rc));
		if (moved)
			say(r, "%u process%s the command left running moved out of %s: the policy no longer holds for them",
			    moved, moved == 1 ? "" : "es", e->cgroup.path);
	}
	e->cgroup.dir_fd = -1;
	if (r->session)
		session_set_enforcing(r->session, false);
}

/* Enforcement that cannot be set up: the command runs audited, as the
 * guide advises (fail-open), unless --fail-closed. */
static int enforcement_unavailable(struct run *r, const char *why)
{
	end_enforcement(r);
	if (r->opts->fail_closed) {
		say(r, "cannot enforce the policy: %s; --fail-closed: not running anything", why);
		return fail(r, RUN_FAILED_ENFORCE, -EPERM);
	}
	say(r, "cannot enforce the policy: %s; auditing only (--fail-closed refuses to run instead)",
	    why);
	return 0;
}

/* Before the command is forked: the policy programs and the cgroup. */
static int prepare_enforcement(struct run *r)
{
	char err[512];

	if (r->ops.enforce_load(r->tracer, &r->opts->policy, &r->opts->outage, err,
				sizeof(err)) ||
	    r->ops.cgroup_open(r->opts->cgroup_path, &r->enforcement.cgroup, err, sizeof(err),
			       &r->messages)) {
		r->enforcement.cgroup.dir_fd = -1;
		return enforcement_unavailable(r, err);
	}
	session_set_enforcing(r->session, true);
	return 0;
}

/* With the command held: moves it into the cgroup, links the programs
 * there, and starts the guard that keeps copies of the links, so that
 * the policy cannot end before the command does. */
static int start_enforcement(struct run *r)
{
	struct run_enforcement *e = &r->enforcement;
	char err[512];
	int rc;

	if (r->command.state == COMMAND_HELD) {
		rc = r->ops.cgroup_add_process(&e->cgroup, r->command.held.pid);
		if (rc) {
			snprintf(err, sizeof(err), "cannot move the command into %s: %s",
				 e->cgroup.path, strerror(-rc));
			return enforcement_unavailable(r, err);
		}
	}
	if (r->ops.enforce_attach(r->tracer, &r->opts->policy, &r->opts->outage, e->cgroup.dir_fd,
				  &e->links, err, sizeof(err)))
		return enforcement_unavailable(r, err);
	rc = r->ops.cgroup_guard_start(&e->cgroup, e->links.link_fds, e->links.nlinks, &e->guard);
	if (rc) {
		e->guard.pid = 0;
		snprintf(err, sizeof(err), "cannot start the guard process: %s", strerror(-rc));
		return enforcement_unavailable(r, err);
	}
	return 0;
}

/* The processes traced from the start: the command (held) and the -p
 * targets, in the traced map and the session. */
static int seed_process(struct run *r, pid_t pid, pid_t ppid, bool root)
{
	int rc = r->ops.tracer_add_process(r->tracer, pid, ppid);

	if (!rc)
		session_add_process(r->session, pid, ppid, root);
	return rc;
}

static int seed_targets(struct run *r)
{
	int rc;

	if (r->command.state == COMMAND_HELD) {
		rc = seed_process(r, r->command.held.pid, getpid(), true);
		if (rc) {
			say(r, "cannot trace the command: %s", strerror(-rc));
			return fail(r, RUN_FAILED_RUNTIME, rc);
		}
	}
	for (size_t i = 0; i < r->opts->npids; i++) {
		pid_t ppid = 0;

		proctree_read_ppid(r->proc_root, r->opts->pids[i], &ppid);
		rc = seed_process(r, r->opts->pids[i], ppid, true);
		if (rc) {
			say(r, "cannot add the target processes: %s", strerror(-rc));
			return fail(r, RUN_FAILED_RUNTIME, rc);
		}
	}
	return 0;
}

/* The processes already below the -p targets. Runs after attaching, so
 * that a fork between the /proc walk and the attach cannot be missed;
 * repeated until a walk finds nothing new. */
static int seed_descendants(struct run *r)
{
	size_t seen = (size_t)-1;

	for (int pass = 0; pass < 4; pass++) {
		struct proc_link *links;
		size_t count;
		int rc = proctree_list_descendants(r->proc_root, r->opts->pids, r->opts->npids,
						   &links, &count);

		if (rc) {
			say(r, "cannot read /proc to find the targets' children");
			return fail(r, RUN_FAILED_RUNTIME, rc);
		}
		for (size_t i = 0; i < count; i++) {
			r->ops.tracer_add_process(r->tracer, links[i].pid, links[i].ppid);
			session_add_process(r->session, links[i].pid, links[i].ppid, false);
		}
		free(links);
		if (count == seen)
			break;
		seen = count;
	}
	return 0;
}

static int hold(struct run *r)
{
	const struct options *o = r->opts;
	int rc = r->ops.command_hold(r->command.path, o->command,
				     o->user ? &r->command.user : NULL, &r->command.held);

	if (rc) {
		say(r, "cannot start %s: %s", o->command[0], strerror(-rc));
		return fail(r, RUN_FAILED_RUNTIME, rc);
	}
	r->command.state = COMMAND_HELD;
	command_pid = r->command.held.pid;
	return 0;
}

static void close_exit_fd(struct run *r)
{
	if (r->command.exit_fd >= 0)
		close(r->command.exit_fd);
	r->command.exit_fd = -1;
}

static int release(struct run *r)
{
	int rc;

	/* opened while the child is held: it cannot have been reaped */
	r->command.exit_fd = r->ops.command_exit_fd(r->command.held.pid);
	rc = r->ops.command_release(&r->command.held);
	if (rc) {
		/* the child is reaped already */
		close_exit_fd(r);
		r->command.state = COMMAND_NONE;
		command_pid = 0;
		return command_failed(r, rc);
	}
	r->command.state = COMMAND_RUNNING;
	return 0;
}

/* Loads the programs into a new session's tracer. */
static int load(struct run *r)
{
	const struct options *o = r->opts;
	struct tracer_config config = {
		.follow_children = o->follow_children,
		.follow_services = o->follow_services,
		.buffer_pages = o->buffer_pages,
		.enforce = o->enforce,
		.allow_list = r->opts->policy.nallow > 0,
		.syscall_hooks = o->syscall_hooks,
		.resolver = o->enforce && enforce_needs_resolver(&o->policy, &o->outage),
	};
	struct session_config session_config = {
		.out = &r->out,
		.summary = o->summary,
		.graph = r->graph.stream,
		.proc_root = r->proc_root,
		.hosts_path = r->hosts_path,
		.policy = &r->opts->policy,
		.messages = r->messages,
		.baseline = (const char *const *)r->baseline,
		.nbaseline = r->nbaseline,
		.outage = o->outage.count ? &r->outage : NULL,
	};
	enum run_failure failure;
	char err[512];
	int rc;

	outage_report_init(&r->outage, &o->outage);
	failure = r->ops.prepare_kernel(o->backend, &config, &r->headers, &r->messages);
	if (failure)
		return fail(r, failure, -EINVAL);
	r->session = session_new(&session_config);
	r->reorder = r->session ? reorder_new(session_sink(r->session)) : NULL;
	if (!r->reorder) {
		say(r, "out of memory");
		return fail(r, RUN_FAILED_RUNTIME, -ENOMEM);
	}
	config.sink = session_arrival_sink(r->session, reorder_sink(r->reorder));
	rc = r->ops.tracer_load(&config, &r->tracer, err, sizeof(err));
	if (rc) {
		say(r, "%s", err);
		return fail(r, rc == -EPERM ? RUN_FAILED_PERMISSION : RUN_FAILED_KERNEL, rc);
	}
	return 0;
}

/* What the run record says: this machine, the command line traced, now. */
static void fill_run_info(const struct run *r, struct run_info *info)
{
	const struct options *o = r->opts;
	struct utsname uts;
	time_t now = time(NULL);
	size_t used = 0, len = sizeof(info->command);

	*info = (struct run_info){ .schema = OUTPUT_SCHEMA, .map = o->summary,
				   .enforced = r->enforcement.cgroup.dir_fd >= 0 };
	snprintf(info->version, sizeof(info->version), "%s", r->version);
	if (!uname(&uts)) {
		snprintf(info->host, sizeof(info->host), "%s", uts.nodename);
		snprintf(info->kernel, sizeof(info->kernel), "%s", uts.release);
	}
	strftime(info->start, sizeof(info->start), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (size_t i = 0; i < o->npids && used < len; i++)
		used += (size_t)snprintf(info->command + used, len - used, "%s%d",
					 i ? "," : "-p ", (int)o->pids[i]);
	for (size_t i = 0; o->command && o->command[i] && used < len; i++)
		used += (size_t)snprintf(info->command + used, len - used, "%s%s",
					 i ? " " : used ? " -- " : "", o->command[i]);
}

int run_start(struct run *r)
{
	const struct options *o = r->opts;
	struct run_info info;
	char err[512];
	int rc;

	if (r->facts.failure)
		return -ECANCELED;
	rc = stopped_early(r);
	if (!rc)
		rc = load(r);
	if (!rc)
		rc = stopped_early(r);
	if (!rc && o->enforce)
		rc = prepare_enforcement(r);
	if (!rc && o->command)
		rc = hold(r);
	if (!rc)
		rc = seed_targets(r);
	if (rc)
		return rc;
	rc = r->ops.tracer_attach(r->tracer, err, sizeof(err));
	if (rc) {
		say(r, "%s", err);
		return fail(r, RUN_FAILED_KERNEL, rc);
	}
	if (r->enforcement.cgroup.dir_fd >= 0) {
		rc = start_enforcement(r);
		if (rc)
			return rc;
	}
	r->out.start_ns = tracer_clock_ns();
	if (o->npids && o->follow_children) {
		rc = seed_descendants(r);
		if (rc)
			return rc;
	}
	/* a process seeded as it exited stays gone: the exit probe, attached
	 * now, sees every later exit, so one look at /proc settles the rest */
	r->ops.tracer_forget_exited(r->tracer);
	rc = stopped_early(r);
	if (rc)
		return rc;
	if (r->command.state == COMMAND_HELD) {
		rc = release(r);
		if (rc)
			return rc;
	}
	/* events are printed only from the poll loop: none can precede this */
	fill_run_info(r, &info);
	output_header(&r->out, &info);
	output_written(r); /* told now, while errno is the write's */
	r->facts.started = true;
	return 0;
}

/* --- poll -------------------------------------------------------------------- */

/* Reaps the command if it has exited (or, with options 0, once it does). */
static bool reap_command(struct run *r, int options)
{
	pid_t pid;

	if (r->command.state != COMMAND_RUNNING)
		return r->command.state == COMMAND_REAPED;
	do
		pid = r->ops.command_wait(r->command.held.pid, &r->facts.command_status, options);
	while (pid < 0 && errno == EINTR);
	if (pid == r->command.held.pid) {
		r->command.state = COMMAND_REAPED;
		r->facts.command_exited = true;
		command_pid = 0;
		close_exit_fd(r); /* readable for good now: no longer a wake-up */
	}
	return r->facts.command_exited;
}

/* Until every traced process has exited (or, with -p beside a command, the
 * command has), the duration is over, or a stop signal came (in run mode:
 * and the command has exited, or a second one). */
void run_poll(struct run *r)
{
	const struct options *o = r->opts;
	uint64_t deadline = o->duration > 0 ? tracer_clock_ns() + (uint64_t)(o->duration * 1e9) : 0;
	uint64_t next_sweep = tracer_clock_ns() + SWEEP_INTERVAL_NS;
	int timeout_ms = TRACER_POLL_SOON_MS;

	if (!r->facts.started)
		return;
	for (;;) {
		/* the command's end wakes the loop at once (the run may be
		 * over): the kernel wakes it for records only every 32 */
		size_t delivered = r->ops.tracer_poll(r->tracer, timeout_ms, r->command.exit_fd);

		uint64_t now = tracer_clock_ns();

		timeout_ms = tracer_poll_timeout(timeout_ms, delivered);
		/* what happened up to the window ago, in order; a lookup has
		 * waited for its answer as long as the records came in */
		reorder_release(r->reorder, now);
		session_expire_lookups(r->session, now - REORDER_WINDOW_NS);
		if (!output_written(r))
			break;
		reap_command(r, WNOHANG);
		if (stop_requests > 1 || (stop_requests && (!o->command || r->facts.command_exited)))
			break;
		/* asking the kernel walks the traced map's buckets; while records
		 * come, a traced process was alive to send them */
		if (!delivered) {
			if (tracer_clock_ns() >= next_sweep) {
				r->ops.tracer_forget_exited(r->tracer);
				next_sweep = tracer_clock_ns() + SWEEP_INTERVAL_NS;
			}
			if (!r->ops.tracer_has_processes(r->tracer))
				break;
		}
		/* -p targets beside a command (a service it calls) may run on
		 * for ever: the command's end is the run's end */
		if (o->npids && r->facts.command_exited)
			break;
		if (deadline && tracer_clock_ns() >= deadline)
			break;
	}
	r->ops.tracer_finish(r->tracer);
	reorder_flush(r->reorder);
	/* the rehearsal's report says how the command ended: with no traced
	 * process left, it has */
	if (o->outage.count && reap_command(r, r->ops.tracer_has_processes(r->tracer) ? WNOHANG : 0))
		outage_report_set_status(&r->outage, r->facts.command_status);
	/* the events held to the end are written before the map, so that a
	 * failure is told with its own errno */
	if (output_written(r))
		session_finish(r->session);
	output_written(r);
}

/* --- finish ------------------------------------------------------------------ */

/* What the rehearsal's report cannot say on its own, and its verdict. */
static void report_outage(struct run *r)
{
	uint64_t dropped = r->ops.tracer_stat(r->tracer, DEPTRACE_STAT_OUTAGE_DROPPED);

	for (size_t i = 0; i < r->outage.count; i++)
		if (r->outage.hits[i].reached && r->outage.hits[i].class != CLASS_TRANSIENT)
			say(r, "--outage did not cut %s for %s: %u connection%s got through (an address learnt after it connected, or a name resolved another way: README, Rehearsing an outage)",
			    r->outage.hits[i].destination, r->outage.hits[i].chain,
			    r->outage.hits[i].reached, r->outage.hits[i].reached == 1 ? "" : "s");
	if (dropped)
		say(r, "%llu DNS answer%s for --outage names could not be read whole and %s dropped: %s lookup%s failed instead",
		    (unsigned long long)dropped, dropped == 1 ? "" : "s", dropped == 1 ? "was" : "were",
		    dropped == 1 ? "its" : "their", dropped == 1 ? "" : "s");
	if (r->opts->outage_budget >= 0 &&
	    outage_report_failed(&r->outage, r->opts->outage_budget))
		r->facts.outage_failed = true;
}

static void report_totals(struct run *r)
{
	const struct run_totals *totals = session_totals(r->session);
	uint64_t children = r->ops.tracer_stat(r->tracer, DEPTRACE_STAT_UNTRACKED_CHILDREN);
	uint64_t connects = r->ops.tracer_stat(r->tracer, DEPTRACE_STAT_UNTRACKED_CONNECTS);
	uint64_t malformed = r->ops.tracer_malformed(r->tracer);
	char classes[CLASS_COUNTS_LEN];

	format_class_counts(totals->classes, classes, sizeof(classes));
	say(r, "%llu connection%s and %llu lookup%s traced %s, %llu events lost",
	    (unsigned long long)totals->connections, totals->connections == 1 ? "" : "s",
	    (unsigned long long)totals->lookups, totals->lookups == 1 ? "" : "s", classes,
	    (unsigned long long)totals->lost);
	if (totals->policy) {
		char count[VIOLATIONS_LEN];

		format_violations(totals, count, sizeof(count));
		say(r, "%s", count);
	}
	if (totals->baseline) {
		char count[VIOLATIONS_LEN];

		format_new_deps(totals, count, sizeof(count));
		say(r, "%s (%s)", count, r->opts->baseline_path);
	}
	if (children || connects)
		say(r, "kernel tables were full: %llu processes and %llu connects not traced",
		    (unsigned long long)children, (unsigned long long)connects);
	if (malformed)
		say(r, "%llu kernel records could not be decoded and were dropped",
		    (unsigned long long)malformed);
	if (r->reorder && reorder_late(r->reorder))
		say(r, "%llu events reached deptrace more than %llu ms after they began and are "
		    "shown out of time order", (unsigned long long)reorder_late(r->reorder),
		    REORDER_WINDOW_NS / 1000000ull);
	if (r->opts->outage.count)
		report_outage(r);
	r->facts.lost = totals->lost > 0;
}

void run_finish(struct run *r)
{
	if (!r)
		return;
	if (r->facts.started)
		report_totals(r);
	if (r->command.state == COMMAND_HELD)
		r->ops.command_abandon(&r->command.held);
	if (r->facts.started)
		reap_command(r, 0);
	/* after the command: its policy ends with it */
	end_enforcement(r);
	if (r->tracer)
		r->ops.tracer_close(r->tracer);
	r->tracer = NULL;
	run_as_free(&r->command.user);
	if (r->facts.started && (session_totals(r->session)->violations ||
				 session_totals(r->session)->new_deps)) {
		r->facts.violated = true;
		/* the policy's word is the exit status; the command's own is
		 * still told */
		if (r->facts.fail_on_violation && r->facts.command_exited)
			say(r, "exit status %d (--fail-on-violation); the command's own status was %d",
			    run_exit_code(&r->facts), run_command_exit_code(r->facts.command_status));
	}
	if (r->facts.outage_failed && r->facts.command_exited)
		say(r, "exit status %d (--outage-budget); the command's own status was %d",
		    run_exit_code(&r->facts), run_command_exit_code(r->facts.command_status));
	close_file(r, &r->output);
	close_file(r, &r->graph);
	reorder_free(r->reorder);
	session_free(r->session);
	r->session = NULL;
	outage_report_free(&r->outage);
	saved_run_keys_free(r->baseline, r->nbaseline);
	r->baseline = NULL;
	r->nbaseline = 0;
}

const struct run_facts *run_facts(const struct run *r)
{
	return &r->facts;
}

void run_free(struct run *r)
{
	close_exit_fd(r);
	free(r);
}
