/* tracer: the eBPF programs' life, through libbcc's C API.
 *
 * tracer_load() builds the text from bpf_text/ (embedded at build time)
 * with the settings as -D flags, compiles it with libbcc's clang and loads
 * every program through the verifier; tracer_attach() attaches them (the
 * cgroup programs linked to the cgroup v2 root) and opens the perf buffer
 * on every CPU; tracer_close() undoes all of it.
 * Loading without attaching is what the verifier test of a backend does.
 */
#ifndef DEPTRACE_TRACER_H
#define DEPTRACE_TRACER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "decode.h"
#include "kernel_probe.h"

#define DEFAULT_MAX_PROCS 16384
#define TRACER_POLICY_RULES 1024 /* enforcement rules at most */
/* addresses the resolver may add to the address maps besides the rules
 * (lib/resolver.h): the maps hold both */
#define TRACER_RESOLVED_ADDRESSES 8192
#define TRACER_RESOLVER_UPSTREAMS 8 /* DNS servers it steers to at most */

struct tracer_config {
	enum backend backend;      /* BACKEND_KPROBE or BACKEND_TRACEPOINT */
	bool follow_children;
	bool follow_services;      /* trace local services while they serve
				      the tree (bpf_text/follow.bpf.h) */
	bool follow_unix;          /* ... over Unix sockets too (unix_probes;
				      only with follow_services) */
	bool exec_argv;            /* argv read by the kernel at exec (else from
				      /proc as the record arrives) */
	unsigned buffer_pages;     /* per CPU, a power of two */
	unsigned max_procs;        /* traced processes at once */
	const char *kernel_tree;   /* headers for libbcc, or NULL for its default */
	bool enforce;              /* compile in the policy programs (enforce.h) */
	bool allow_list;           /* ... refusing what no allow rule admits */
	bool syscall_hooks;        /* connect(2) from syscall tracepoints too
				      (--syscall-hooks; needed without a
				      cgroup v2 root): its errno, at a cost to
				      every syscall on the machine */
	bool resolver;             /* ... steering DNS to the resolver
				      (bpf_text/resolver_steer.bpf.h) */
	struct record_sink sink;   /* where tracer_poll delivers records */
	/* the cgroup v2 root tracer_attach links the cgroup programs
	 * (cgroup_probes) to; "" links none */
	char cgroup_root[4096];
};

struct tracer;

/* Whether `config` follows services over Unix sockets (follow_unix counts
 * only with follow_services). */
bool tracer_follows_unix(const struct tracer_config *config);

/* Whether `config` loads and links cgroup program `probe` (those following
 * services only with follow_services; those standing in for the syscall
 * hooks only without syscall_hooks). */
bool tracer_needs_cgroup_probe(const struct tracer_config *config,
			       const struct cgroup_probe_spec *probe);

/* 0, or -errno with a one-line reason in `err`. -EPERM: not privileged. */
int tracer_load(const struct tracer_config *config, struct tracer **tracer,
		char *err, size_t errlen);
int tracer_add_process(struct tracer *tracer, pid_t pid, pid_t ppid);

/* Removes the traced processes /proc shows as gone or exiting. The kernel
 * removes a process when it exits; one added just after (seeding races
 * every exit between reading /proc and the map update) would stay for
 * ever, and tracing would never end. */
void tracer_forget_exited(struct tracer *tracer);
int tracer_attach(struct tracer *tracer, char *err, size_t errlen);

/* How long tracer_poll waits. The kernel wakes deptrace only every
 * TRACER_WAKEUP_EVENTS records; fewer wait for the poll timeout. At start
 * and after records came, more may be waiting below that count: look again
 * after TRACER_POLL_SOON_MS, doubling back to TRACER_POLL_INTERVAL_MS while
 * nothing comes. The first record and the last of a burst are delivered
 * within milliseconds, not 200. */
#define TRACER_WAKEUP_EVENTS 32
#define TRACER_POLL_SOON_MS 4
#define TRACER_POLL_INTERVAL_MS 200

/* The timeout of the next tracer_poll, after one that waited `timeout_ms`
 * and delivered `delivered` records (TRACER_POLL_SOON_MS to start). */
int tracer_poll_timeout(int timeout_ms, size_t delivered);

/* Delivers pending records to the sink, in the order they happened
 * (each CPU has its own buffer: a DNS answer read on one CPU and the
 * connect it leads to on another arrive in either order); waits up to
 * timeout_ms for a buffer to fill, then drains them all. Returns how many
 * it delivered. */
size_t tracer_poll(struct tracer *tracer, int timeout_ms, int wake_fd);

/* The records' clock (the kernel's bpf_ktime_get_ns: CLOCK_MONOTONIC), now. */
uint64_t tracer_clock_ns(void);

/* At the end: delivers what tracer_poll would, then the TCP connects still
 * waiting for their outcome, as EINPROGRESS, with how long they have
 * waited (bpf_text/tcp_outcome.bpf.h), and, without syscall hooks, the
 * connects whose socket is still open, as DEPTRACE_RESULT_UNSEEN
 * (bpf_text/connect_cgroup.bpf.h). */
void tracer_finish(struct tracer *tracer);

/* Loads one more function of the compiled text through the verifier (the
 * policy programs, which enforce.c attaches itself); closed with the
 * tracer. The fd, or -errno with a reason in `err`. */
int tracer_load_function(struct tracer *tracer, const char *function, int prog_type,
			 int expected_attach_type, char *err, size_t errlen);

/* Loads `function` as tracer_load_function does and links it to the
 * cgroup `cgroup_fd` for `attach_type`, beside any other program there
 * (a bpf_link: it ends with its last file descriptor). The link's fd, or
 * -errno with a reason in `err`. */
int tracer_link_cgroup(struct tracer *tracer, const char *function, int prog_type,
		       int attach_type, int cgroup_fd, char *err, size_t errlen);

/* The fd of one of the text's maps, or -1. */
int tracer_table_fd(const struct tracer *tracer, const char *table);

/* Whether any traced process is still alive. */
bool tracer_has_processes(struct tracer *tracer);

/* The count of the kernel-side stat `slot` (enum deptrace_stat). */
uint64_t tracer_stat(struct tracer *tracer, enum deptrace_stat slot);

size_t tracer_program_count(const struct tracer *tracer);

/* Samples dropped because they did not decode (never expected). */
uint64_t tracer_malformed(const struct tracer *tracer);

/* Detaches and unloads everything; NULL is fine. */
void tracer_close(struct tracer *tracer);

#endif
