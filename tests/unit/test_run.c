/* Unit tests for lib/run.h: the exit code as a function of the run's
 * facts, and whole runs against fake kernels and commands (struct
 * run_ops): the start order, fail-open and fail-closed enforcement, the
 * policy's word on the exit status. No root, no BPF. */
#include "testutil.h"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "run.h"

#define FAKE_COMMAND_PID 4242
#define FAKE_GUARD_PID 4343
#define FAKE_CGROUP_FD 99

/* What the fakes did, in order ("hold add:4242 attach ..."), and what the
 * run said. */
static char calls[2048];
static char said[4096];

/* What the fakes are told to do. */
static struct {
	int enforce_load, cgroup_open, cgroup_add, enforce_attach, guard_start; /* -errno */
	int release;          /* -errno: the exec failed */
	int command_status;   /* wait status */
	bool send_record;     /* the first poll delivers a connect to 127.0.0.1:9 */
	bool exit_fd;         /* the command has an exit descriptor (a pipe's
				 read end; exit_peer its write end) */
	int exit_peer;
	int first_wake_fd;    /* what the first poll was told to wake on */
	int polls;
	int lingering;        /* polls a process outlives the command for */
	bool reaped;
	int woken_after_reap; /* polls told to wake on a descriptor after it */
	int signal_while_loading; /* sent to this process while "compiling" */
} fake;

static struct record_sink sink;
static int fake_tracer_state;
static struct tracer *const fake_tracer = (struct tracer *)&fake_tracer_state;
static char *scratch;
static char output_path[PATH_MAX];

static void __attribute__((format(printf, 1, 2))) call(const char *fmt, ...)
{
	size_t used = strlen(calls);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(calls + used, sizeof(calls) - used, fmt, ap);
	va_end(ap);
	strncat(calls, " ", sizeof(calls) - strlen(calls) - 1);
}

static void on_message(void *ctx, const char *line)
{
	strncat(said, line, sizeof(said) - strlen(said) - 2);
	strcat(said, "\n");
}

static bool fake_have_privileges(void)
{
	return true;
}

static enum run_failure fake_prepare_kernel(enum backend wanted, struct tracer_config *config,
					    struct headers_choice *headers,
					    const struct message_sink *messages)
{
	call("kernel");
	config->backend = BACKEND_TRACEPOINT;
	return RUN_FAILED_NOTHING;
}

static int fake_tracer_load(const struct tracer_config *config, struct tracer **tracer,
			    char *err, size_t errlen)
{
	call("load");
	if (fake.signal_while_loading)
		raise(fake.signal_while_loading);
	sink = config->sink;
	*tracer = fake_tracer;
	return 0;
}

static int fake_tracer_add_process(struct tracer *tracer, pid_t pid, pid_t ppid)
{
	call("add:%d", (int)pid);
	return 0;
}

static int fake_tracer_attach(struct tracer *tracer, char *err, size_t errlen)
{
	call("attach");
	return 0;
}

static void fake_tracer_forget_exited(struct tracer *tracer)
{
	call("forget");
}

/* Delivers the records a kernel would, through the session's sink. */
static size_t fake_tracer_poll(struct tracer *tracer, int timeout_ms, int wake_fd)
{
	union deptrace_record rec;

	if (!fake.polls++)
		fake.first_wake_fd = wake_fd;
	if (fake.reaped && wake_fd >= 0)
		fake.woken_after_reap++;
	if (!fake.send_record)
		return 0;
	fake.send_record = false;
	memset(&rec, 0, sizeof(rec));
	rec.connect.h = (struct deptrace_header){ .ts_ns = 1, .pid = FAKE_COMMAND_PID,
						  .tid = FAKE_COMMAND_PID, .ppid = 1,
						  .type = DEPTRACE_EVENT_CONNECT, .comm = "curl" };
	rec.connect.family = AF_INET;
	rec.connect.dport = 9;
	rec.connect.proto = DEPTRACE_PROTO_TCP;
	rec.connect.result = -ECONNREFUSED;
	ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.1", rec.connect.daddr), 1);
	sink.record(sink.ctx, &rec);
	return 1;
}

/* What is left at the end: nothing, for the fake kernel. */
static void fake_tracer_finish(struct tracer *tracer)
{
	fake_tracer_poll(tracer, 0, -1);
}

static bool fake_tracer_has_processes(struct tracer *tracer)
{
	return fake.lingering-- > 0;
}

static uint64_t fake_tracer_stat(struct tracer *tracer, enum deptrace_stat slot)
{
	return 0;
}

static uint64_t fake_tracer_malformed(const struct tracer *tracer)
{
	return 0;
}

static void fake_tracer_close(struct tracer *tracer)
{
	ck_assert_ptr_eq(tracer, fake_tracer);
	call("close");
}

static int fake_enforce_load(struct tracer *tracer, const struct policy *p,
			     const struct outage *o, char *err,
			     size_t errlen)
{
	call("enforce_load");
	snprintf(err, errlen, "fake: no policy programs");
	return fake.enforce_load;
}

static int fake_enforce_attach(struct tracer *tracer, const struct policy *p,
			       const struct outage *o, int cgroup_fd, struct enforcement *e,
			       char *err, size_t errlen)
{
	ck_assert_int_eq(cgroup_fd, FAKE_CGROUP_FD);
	call("enforce_attach");
	snprintf(err, errlen, "fake: cannot link");
	return fake.enforce_attach;
}

static void fake_enforce_detach(struct enforcement *e)
{
	call("detach");
}

static int fake_cgroup_open(const char *path, struct enforced_cgroup *cg, char *err,
			    size_t errlen, const struct message_sink *messages)
{
	call("cgroup_open");
	snprintf(err, errlen, "fake: no cgroup");
	if (fake.cgroup_open)
		return fake.cgroup_open;
	snprintf(cg->path, sizeof(cg->path), "/fake/deptrace-1");
	cg->dir_fd = FAKE_CGROUP_FD;
	return 0;
}

static int fake_cgroup_add_process(const struct enforced_cgroup *cg, pid_t pid)
{
	call("cgroup_add:%d", (int)pid);
	return fake.cgroup_add;
}

static int fake_cgroup_guard_start(const struct enforced_cgroup *cg, const int *keep_fds,
				   size_t nkeep, struct cgroup_guard *guard)
{
	call("guard");
	if (!fake.guard_start)
		guard->pid = FAKE_GUARD_PID;
	return fake.guard_start;
}

static void fake_cgroup_guard_stop(struct cgroup_guard *guard)
{
	ck_assert_int_eq(guard->pid, FAKE_GUARD_PID);
	call("guard_stop");
}

static int fake_cgroup_release(struct enforced_cgroup *cg, unsigned *moved)
{
	ck_assert_int_eq(cg->dir_fd, FAKE_CGROUP_FD);
	call("cgroup_release");
	*moved = 0;
	cg->dir_fd = -1;
	return 0;
}

static int fake_hold_command(const char *path, char *const argv[], const struct run_as *as,
			     struct held_command *cmd)
{
	call("hold");
	cmd->pid = FAKE_COMMAND_PID;
	return 0;
}

static int fake_release_command(struct held_command *cmd)
{
	call("release");
	return fake.release;
}

static void fake_abandon_command(struct held_command *cmd)
{
	call("abandon");
}

/* The fake command is no process: none, or a pipe's read end standing
 * for its pidfd. */
static int fake_command_exit_fd(pid_t pid)
{
	int fds[2];

	ck_assert_int_eq(pid, FAKE_COMMAND_PID);
	if (!fake.exit_fd)
		return -1;
	ck_assert_int_eq(pipe(fds), 0);
	fake.exit_peer = fds[1];
	return fds[0];
}

static pid_t fake_wait_command(pid_t pid, int *status, int options)
{
	ck_assert_int_eq(pid, FAKE_COMMAND_PID);
	*status = fake.command_status;
	fake.reaped = true;
	return pid;
}

static const struct run_ops fake_ops = {
	.have_privileges = fake_have_privileges,
	.prepare_kernel = fake_prepare_kernel,
	.tracer_load = fake_tracer_load,
	.tracer_add_process = fake_tracer_add_process,
	.tracer_attach = fake_tracer_attach,
	.tracer_forget_exited = fake_tracer_forget_exited,
	.tracer_poll = fake_tracer_poll,
	.tracer_finish = fake_tracer_finish,
	.tracer_has_processes = fake_tracer_has_processes,
	.tracer_stat = fake_tracer_stat,
	.tracer_malformed = fake_tracer_malformed,
	.tracer_close = fake_tracer_close,
	.enforce_load = fake_enforce_load,
	.enforce_attach = fake_enforce_attach,
	.enforce_detach = fake_enforce_detach,
	.cgroup_open = fake_cgroup_open,
	.cgroup_add_process = fake_cgroup_add_process,
	.cgroup_guard_start = fake_cgroup_guard_start,
	.cgroup_guard_stop = fake_cgroup_guard_stop,
	.cgroup_release = fake_cgroup_release,
	.command_hold = fake_hold_command,
	.command_release = fake_release_command,
	.command_abandon = fake_abandon_command,
	.command_wait = fake_wait_command,
	.command_exit_fd = fake_command_exit_fd,
};

static char *command_argv[] = { "true", NULL };
static struct options opts;

static void setup(void)
{
	calls[0] = said[0] = '\0';
	memset(&fake, 0, sizeof(fake));
	scratch = make_scratch_dir("/tmp", "run");
	write_file(scratch, "hosts", "");
	pathf(output_path, "%s/trace.out", scratch);
}

static void teardown(void)
{
	options_free(&opts);
	remove_scratch_dir(scratch);
}

/* The options of `deptrace -o FILE --deny 127.0.0.1 -- true`, as the
 * option parser leaves them; freed by the teardown. */
static struct options *run_mode(void)
{
	char err[256];

	opts = (struct options){
		.command = command_argv,
		.follow_children = true,
		.buffer_pages = 8,
		.output_path = output_path,
	};
	ck_assert_msg(!policy_add_rule(&opts.policy, RULE_DENY, "127.0.0.1", "--deny", err,
				       sizeof(err)), "%s", err);
	return &opts;
}

/* The whole run, as tools/deptrace.c does it; its exit code. */
static int run(const struct options *o)
{
	char hosts[PATH_MAX];
	struct run_config config = { .opts = o, .messages = { .line = on_message },
				     .ops = &fake_ops, .hosts_path = hosts };
	struct run *r;
	int rc;

	pathf(hosts, "%s/hosts", scratch);
	r = run_new(&config);
	ck_assert_ptr_nonnull(r);
	if (!run_prepare(r) && !run_start(r))
		run_poll(r);
	run_finish(r);
	rc = run_exit_code(run_facts(r));
	run_free(r);
	return rc;
}

/* The fakes' calls were exactly these (a format: PIDs go in). */
static void __attribute__((format(printf, 1, 2))) assert_calls(const char *fmt, ...)
{
	char want[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	ck_assert_msg(!strcmp(calls, want), "calls\n  '%s', wanted\n  '%s'", calls, want);
}

static void assert_said(const char *text)
{
	ck_assert_msg(strstr(said, text), "'%s' not said in:\n%s", text, said);
}

START_TEST(test_exit_code_table)
{
	static const struct {
		struct run_facts facts;
		int code;
	} table[] = {
		{ { .started = true }, EXIT_OK },
		{ { .failure = RUN_FAILED_USAGE }, EXIT_USAGE },
		{ { .failure = RUN_FAILED_PERMISSION }, EXIT_PERMISSION },
		{ { .failure = RUN_FAILED_NO_PROCESS }, EXIT_NO_PROCESS },
		{ { .failure = RUN_FAILED_KERNEL }, EXIT_KERNEL },
		{ { .failure = RUN_FAILED_NO_HEADERS }, EXIT_NO_HEADERS },
		{ { .failure = RUN_FAILED_ENFORCE, .fail_on_violation = true, .violated = true },
		  EXIT_ENFORCE },
		{ { .failure = RUN_FAILED_NOT_FOUND }, EXIT_NOT_FOUND },
		{ { .failure = RUN_FAILED_CANNOT_EXECUTE }, EXIT_CANNOT_EXECUTE },
		{ { .failure = RUN_FAILED_RUNTIME }, EXIT_RUNTIME },
		/* lost records: 1, unless a command's status is passed through */
		{ { .started = true, .lost = true }, EXIT_RUNTIME },
		{ { .started = true, .lost = true, .command_exited = true }, 0 },
		/* the command's status, as the shell gives it */
		{ { .started = true, .command_exited = true, .command_status = 3 << 8 }, 3 },
		{ { .started = true, .command_exited = true, .command_status = SIGKILL }, 137 },
		/* the policy's word wins, when asked for */
		{ { .started = true, .command_exited = true, .command_status = 3 << 8,
		    .violated = true }, 3 },
		{ { .started = true, .command_exited = true, .command_status = 3 << 8,
		    .violated = true, .fail_on_violation = true }, EXIT_VIOLATION },
		{ { .started = true, .lost = true, .violated = true, .fail_on_violation = true },
		  EXIT_VIOLATION },
		/* lost records with --fail-on-violation: the run cannot vouch */
		{ { .started = true, .lost = true, .fail_on_violation = true, .command_exited = true },
		  EXIT_RUNTIME },
		/* a stop signal before tracing began, as if it had killed the command */
		{ { .early_signal = SIGTERM }, 128 + SIGTERM },
		{ { .early_signal = SIGINT, .fail_on_violation = true, .violated = true }, 128 + SIGINT },
		/* output that could not be written wins over the command and the policy */
		{ { .started = true, .output_failed = true, .command_exited = true }, EXIT_RUNTIME },
		{ { .started = true, .output_failed = true, .violated = true,
		    .fail_on_violation = true }, EXIT_RUNTIME },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(run_exit_code(&table[i].facts) == table[i].code,
			      "row %zu: %d, wanted %d", i, run_exit_code(&table[i].facts),
			      table[i].code);
}
END_TEST

/* The command is held before its exec, seeded, the probes attached, and
 * only then released; -p targets are seeded with it. */
START_TEST(test_start_order)
{
	struct options *o = run_mode();

	o->pids[0] = getpid();
	o->npids = 1;
	fake.command_status = 5 << 8;
	ck_assert_int_eq(run(o), 5);
	assert_calls("kernel load hold add:%d add:%d attach forget release detach close ",
		     FAKE_COMMAND_PID, (int)getpid());
	assert_said("0 connections and 0 lookups traced (0 direct, 0 hidden, 0 transient), 0 events lost");
}
END_TEST

/* The loop polls the command's exit descriptor while the command runs,
 * so that its end wakes it, and closes it once the command is reaped
 * (readable for good then, it would wake every poll). */
START_TEST(test_command_end_wakes_the_loop)
{
	struct options *o = run_mode();

	fake.exit_fd = true;
	fake.lingering = 2; /* a process it started polls on after it */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(run(o), 0);
	ck_assert_int_ge(fake.first_wake_fd, 0);
	ck_assert_int_ge(fake.polls, 3);
	ck_assert_int_eq(fake.woken_after_reap, 0);
	/* the run closed the read end: the write end has no reader */
	ck_assert_int_eq(write(fake.exit_peer, "", 1), -1);
	ck_assert_int_eq(errno, EPIPE);
	close(fake.exit_peer);
	signal(SIGPIPE, SIG_DFL);
}
END_TEST

START_TEST(test_enforced_start_order)
{
	struct options *o = run_mode();

	o->enforce = true;
	ck_assert_int_eq(run(o), 0);
	assert_calls("kernel load enforce_load cgroup_open hold add:%d attach cgroup_add:%d "
		     "enforce_attach guard forget release detach guard_stop cgroup_release close ",
		     FAKE_COMMAND_PID, FAKE_COMMAND_PID);
}
END_TEST

/* Enforcement that cannot be set up: audited, with a warning. */
START_TEST(test_fail_open)
{
	struct options *o = run_mode();

	o->enforce = true;
	fake.enforce_attach = -EOPNOTSUPP;
	fake.command_status = 0;
	ck_assert_int_eq(run(o), 0);
	assert_calls("kernel load enforce_load cgroup_open hold add:%d attach cgroup_add:%d "
		     "enforce_attach detach cgroup_release forget release detach close ",
		     FAKE_COMMAND_PID, FAKE_COMMAND_PID);
	assert_said("cannot enforce the policy: fake: cannot link; auditing only");
	ck_assert_int_eq(access(output_path, F_OK), 0);
}
END_TEST

START_TEST(test_fail_open_before_the_command)
{
	struct options *o = run_mode();

	o->enforce = true;
	fake.enforce_load = -EINVAL;
	ck_assert_int_eq(run(o), 0);
	assert_calls("kernel load enforce_load detach hold add:%d attach forget release detach close ",
		     FAKE_COMMAND_PID);
	assert_said("cannot enforce the policy: fake: no policy programs; auditing only");
}
END_TEST

/* --fail-closed: nothing runs; the held command is killed, every part
 * set up is undone and the output file the run made is removed. */
START_TEST(test_fail_closed)
{
	struct options *o = run_mode();

	o->enforce = true;
	o->fail_closed = true;
	fake.guard_start = -EAGAIN;
	ck_assert_int_eq(run(o), EXIT_ENFORCE);
	assert_calls("kernel load enforce_load cgroup_open hold add:%d attach cgroup_add:%d "
		     "enforce_attach guard detach cgroup_release abandon detach close ",
		     FAKE_COMMAND_PID, FAKE_COMMAND_PID);
	assert_said("cannot start the guard process: Resource temporarily unavailable; "
		    "--fail-closed: not running anything");
	ck_assert_ptr_null(strstr(said, "traced"));
	ck_assert_int_eq(access(output_path, F_OK), -1);
}
END_TEST

START_TEST(test_fail_closed_without_a_cgroup)
{
	struct options *o = run_mode();

	o->enforce = true;
	o->fail_closed = true;
	fake.cgroup_open = -ENOENT;
	ck_assert_int_eq(run(o), EXIT_ENFORCE);
	assert_calls("kernel load enforce_load cgroup_open detach detach close ");
}
END_TEST

/* An exec that fails after the release: the shell's 127. */
START_TEST(test_exec_fails)
{
	struct options *o = run_mode();

	fake.release = -ENOENT;
	ck_assert_int_eq(run(o), EXIT_NOT_FOUND);
	assert_said("cannot run true: No such file or directory");
}
END_TEST

/* Records reach the session from wherever the tracer gets them; the
 * policy's word is the exit status, and the command's is still told. */
START_TEST(test_fail_on_violation)
{
	struct options *o = run_mode();
	FILE *f;
	char line[512];
	bool seen = false;

	o->fail_on_violation = true;
	fake.send_record = true;
	fake.command_status = 3 << 8;
	ck_assert_int_eq(run(o), EXIT_VIOLATION);
	assert_said("1 connection and 0 lookups traced (1 direct, 0 hidden, 0 transient), 0 events lost");
	assert_said("1 violation (1 direct, 0 hidden, 0 transient)");
	assert_said("exit status 7 (--fail-on-violation); the command's own status was 3");
	f = fopen(output_path, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		seen |= strstr(line, "127.0.0.1:9") && strstr(line, "VIOLATION direct: deny 127.0.0.1");
	fclose(f);
	ck_assert_msg(seen, "no violation line in the output");
}
END_TEST

/* SIGTERM while the programs compile (a `timeout`, a service manager's
 * stop): the held command is never let go, nothing is left, and the exit
 * status says the signal. */
START_TEST(test_signal_during_start)
{
	struct options *o = run_mode();

	o->enforce = true;
	fake.signal_while_loading = SIGTERM;
	ck_assert_int_eq(run(o), 128 + SIGTERM);
	assert_calls("kernel load detach close ");
	assert_said("stopped by Terminated before tracing began: the command was not run");
	ck_assert_ptr_null(strstr(said, "traced"));
	ck_assert_int_eq(access(output_path, F_OK), -1);
}
END_TEST

/* Lines that cannot be written (-o /dev/full) fail the run: exit 1. */
START_TEST(test_output_cannot_be_written)
{
	struct options *o = run_mode();

	o->output_path = "/dev/full";
	fake.send_record = true;
	ck_assert_int_eq(run(o), EXIT_RUNTIME);
	assert_said("cannot write the output: No space left on device");
}
END_TEST

static bool fake_no_privileges(void)
{
	return false;
}

/* Without privileges nothing is set up, and no output file is made. */
START_TEST(test_no_privileges)
{
	struct options *o = run_mode();
	struct run_ops ops = fake_ops;
	struct run_config config = { .opts = o, .messages = { .line = on_message },
				     .ops = &ops };
	struct run *r;

	ops.have_privileges = fake_no_privileges;
	r = run_new(&config);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(run_prepare(r), -EPERM);
	ck_assert_int_eq(run_start(r), -ECANCELED);
	run_finish(r);
	ck_assert_int_eq(run_exit_code(run_facts(r)), EXIT_PERMISSION);
	run_free(r);
	assert_calls("detach ");
	assert_said("tracing needs root");
	ck_assert_int_eq(access(output_path, F_OK), -1);
}
END_TEST

static Suite *run_tests_suite(void)
{
	Suite *s = suite_create("run");
	TCase *facts = tcase_create("facts");
	TCase *runs = tcase_create("runs");

	tcase_add_test(facts, test_exit_code_table);
	suite_add_tcase(s, facts);
	tcase_add_checked_fixture(runs, setup, teardown);
	tcase_add_test(runs, test_start_order);
	tcase_add_test(runs, test_enforced_start_order);
	tcase_add_test(runs, test_command_end_wakes_the_loop);
	tcase_add_test(runs, test_fail_open);
	tcase_add_test(runs, test_fail_open_before_the_command);
	tcase_add_test(runs, test_fail_closed);
	tcase_add_test(runs, test_fail_closed_without_a_cgroup);
	tcase_add_test(runs, test_exec_fails);
	tcase_add_test(runs, test_fail_on_violation);
	tcase_add_test(runs, test_no_privileges);
	tcase_add_test(runs, test_signal_during_start);
	tcase_add_test(runs, test_output_cannot_be_written);
	suite_add_tcase(s, runs);
	return s;
}

int main(void)
{
	return run_suite(run_tests_suite());
}
