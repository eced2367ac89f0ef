/* run: one deptrace run, from the parsed options to the facts its exit
 * code is decided by.
 *
 * The caller's steps (tools/deptrace.c):
 *
 *   struct run *r = run_new(&config);   the options, a message sink
 *   if (r && !run_prepare(r) && !run_start(r))
 *           run_poll(r);
 *   run_finish(r);                      the closing reports, every undo
 *   rc = run_exit_code(run_facts(r));
 *   run_free(r);
 *
 * prepare: what needs nothing from the kernel and fails fast: -u,
 *   privileges, the -p targets, the command's path, the output files (the
 *   policy is the option parser's);
 * start: the kernel side (tracefs, backend, headers), the session, the
 *   programs loaded, enforcement prepared, then in this order: the command
 *   held before its exec, the command and the targets seeded into the
 *   traced map, the probes attached, enforcement attached, the command
 *   released. Enforcement that cannot be set up leaves the run auditing
 *   (fail-open, with a warning) unless --fail-closed;
 * poll: until the traced processes are gone, the duration is over, the
 *   output is closed or a stop signal came;
 * finish: the closing reports, then each resource undone by its owner
 *   (command, enforcement, tracer, outputs, session), whichever step
 *   failed.
 *
 * A step after a failed one does nothing. Steps return 0 or -errno, with
 * what failed recorded in the facts (and told to the message sink); only
 * run_exit_code turns facts into an exit code. lib/ never prints: every
 * warning goes to the message sink.
 *
 * The run reaches the kernel and the command only through struct run_ops
 * (run_real_ops by default), so that unit tests can run it with fakes,
 * without root.
 */
#ifndef DEPTRACE_RUN_H
#define DEPTRACE_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "enforce.h"
#include "kheaders.h"
#include "message.h"
#include "options.h"
#include "run_command.h"
#include "tracer.h"

/* What stopped a run before it started. */
enum run_failure {
	RUN_FAILED_NOTHING = 0,
	RUN_FAILED_USAGE,          /* a -u user or output file that will not do */
	RUN_FAILED_PERMISSION,     /* not privileged */
	RUN_FAILED_NO_PROCESS,     /* a -p target does not exist */
	RUN_FAILED_KERNEL,         /* no tracefs, no backend, programs refused */
	RUN_FAILED_NO_HEADERS,     /* nothing to compile the programs against */
	RUN_FAILED_ENFORCE,        /* --fail-closed, and enforcement could not be set up */
	RUN_FAILED_NOT_FOUND,      /* no such command */
	RUN_FAILED_CANNOT_EXECUTE, /* the command is not executable (or not as -u) */
	RUN_FAILED_RUNTIME,        /* anything else: out of memory, the tracer refused */
};

/* Everything the exit code depends on. */
struct run_facts {
	enum run_failure failure;
	bool started;           /* tracing began, and the command was let go */
	bool lost;              /* records were lost */
	bool command_exited;    /* run mode: the command was reaped ... */
	int command_status;     /* ... with this wait status */
	bool fail_on_violation; /* --fail-on-violation ... */
	bool violated;          /* ... and the policy was broken */
	int early_signal;       /* a stop signal came before tracing began: the
				   run ended there, its command never ran */
	bool output_failed;     /* the lines, the map or the graph could not
				   all be written */
	bool outage_failed;     /* --outage-budget: the rehearsal failed it */
};

/* The exit code of a run (the table in options.h), the first that holds:
 * a failure's own code; 128+N for stop signal N before tracing began (as
 * if it had killed the command, which never ran); 1 if the output could
 * not be written; with --fail-on-violation, 7 if the policy was broken, 1
 * if records were lost (the run cannot vouch that it was not); the
 * command's status (the shell's convention); 1 if records were lost; 0. */
int run_exit_code(const struct run_facts *facts);

/* What the run does to the world, as a libbpf skeleton's open / load /
 * attach / destroy: each call that sets something up has the one that
 * undoes it. The real ones are lib/'s own functions. */
struct run_ops {
	bool (*have_privileges)(void);
	/* tracefs, the kernel's features, the backend, the headers: fills
	 * config->backend and config->kernel_tree (pointing into `headers`);
	 * what failed, with its reason told to `messages` */
	enum run_failure (*prepare_kernel)(enum backend wanted, struct tracer_config *config,
					   struct headers_choice *headers,
					   const struct message_sink *messages);
	int (*tracer_load)(const struct tracer_config *config, struct tracer **tracer,
			   char *err, size_t errlen);
	int (*tracer_add_process)(struct tracer *tracer, pid_t pid, pid_t ppid);
	int (*tracer_attach)(struct tracer *tracer, char *err, size_t errlen);
	void (*tracer_forget_exited)(struct tracer *tracer);
	size_t (*tracer_poll)(struct tracer *tracer, int timeout_ms, int wake_fd);
	void (*tracer_finish)(struct tracer *tracer);
	bool (*tracer_has_processes)(struct tracer *tracer);
	uint64_t (*tracer_stat)(struct tracer *tracer, enum deptrace_stat slot);
	uint64_t (*tracer_malformed)(const struct tracer *tracer);
	void (*tracer_close)(struct tracer *tracer);
	int (*enforce_load)(struct tracer *tracer, const struct policy *p,
			    const struct outage *o, char *err,
			    size_t errlen);
	int (*enforce_attach)(struct tracer *tracer, const struct policy *p,
			      const struct outage *o, int cgroup_fd, struct enforcement *e,
			      char *err, size_t errlen);
	void (*enforce_detach)(struct enforcement *e);
	/* --cgroup PATH, or (NULL) a new cgroup of deptrace's own; 0 or -errno
	 * with the reason in `err` */
	int (*cgroup_open)(const char *path, struct enforced_cgroup *cg, char *err,
			   size_t errlen, const struct message_sink *messages);
	int (*cgroup_add_process)(const struct enforced_cgroup *cg, pid_t pid);
	int (*cgroup_guard_start)(const struct enforced_cgroup *cg, const int *keep_fds,
				  size_t nkeep, struct cgroup_guard *guard);
	void (*cgroup_guard_stop)(struct cgroup_guard *guard);
	int (*cgroup_release)(struct enforced_cgroup *cg, unsigned *moved);
	int (*command_hold)(const char *path, char *const argv[], const struct run_as *as,
			    struct held_command *cmd);
	int (*command_release)(struct held_command *cmd);
	void (*command_abandon)(struct held_command *cmd);
	pid_t (*command_wait)(pid_t pid, int *status, int options); /* waitpid(2) */
	int (*command_exit_fd)(pid_t pid); /* run_command_exit_fd */
};

extern const struct run_ops run_real_ops;

struct run_config {
	const struct options *opts;   /* the policy too; kept by pointer: outlives the run */
	struct message_sink messages; /* warnings and notices, one line each */
	const struct run_ops *ops;    /* NULL: run_real_ops */
	const char *proc_root;        /* NULL: "/proc" */
	const char *hosts_path;       /* NULL: "/etc/hosts" */
	const char *version;          /* deptrace's, for the run record; NULL: "" */
};

struct run;

/* NULL when out of memory. */
struct run *run_new(const struct run_config *config);
int run_prepare(struct run *r);
int run_start(struct run *r);
void run_poll(struct run *r);
void run_finish(struct run *r);
const struct run_facts *run_facts(const struct run *r);
void run_free(struct run *r);

#endif
