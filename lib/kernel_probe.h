/* kernel_probe: what the running kernel offers, found by looking, and the
 * backend that follows from it.
 *
 * Also owns the one piece of kernel environment deptrace sets up itself:
 * libbcc 0.26 reads tracepoint formats and ids under /sys/kernel/debug/tracing,
 * which a fresh machine may not have mounted.
 */
#ifndef DEPTRACE_KERNEL_PROBE_H
#define DEPTRACE_KERNEL_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#define TRACING_DIR "/sys/kernel/debug/tracing"

enum backend {
	BACKEND_AUTO = 0,
	BACKEND_KPROBE,
	BACKEND_TRACEPOINT,
};

struct kernel_features {
	char release[65];
	int bpf_errno;               /* 0 when bpf(2) can create a map */
	bool tracefs;                /* TRACING_DIR/events readable */
	bool kprobes;                /* kprobe PMU or kprobe_events present */
	const char *missing_symbol;  /* first kprobe target not in kallsyms (NULL without kprobes) */
	const char *missing_tracepoint; /* first of shared_probes absent */
	const char *missing_syscall_tracepoint; /* first of syscall_probes, then
						   tracepoint_probes, absent */
	const char *missing_unix_tracepoint; /* first of unix_probes absent: Unix-socket
						services cannot be followed */
	bool exec_argv;              /* a tracepoint program may read the user
				        registers (bpf_task_pt_regs, 5.15+ with
				        kernel BTF): argv read at exec */
};

/* Mounts debugfs (and tracefs under it if the kernel does not automount
 * it) when TRACING_DIR is missing. Fills `notice` with what it did, or ""
 * if nothing was needed. 0 or -errno. */
int ensure_tracefs(char *notice, size_t len);

void probe_kernel(struct kernel_features *features);

/* Whether this process may load and attach tracing programs: root, or
 * CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON. */
bool have_tracing_privileges(void);

/* The backend to use for `requested` (AUTO picks kprobes when they work),
 * with the syscall hooks or without (--syscall-hooks). BACKEND_AUTO back
 * means none fits; `why` then says why. */
enum backend choose_backend(const struct kernel_features *features, enum backend requested,
			    bool syscall_hooks, char *why, size_t len);

const char *backend_name(enum backend backend);
int parse_backend(const char *name, enum backend *backend);

/* What deptrace learns from the kernel; each attachment point serves one. */
enum probe_fact {
	FACT_PROCESSES,   /* forks, execs, exits */
	FACT_TCP,         /* TCP connects and their outcome, from the socket layer */
	FACT_CONNECT,     /* connect(2): its destination; UDP, and TCP failing
			     before SYN_SENT */
	FACT_DNS,         /* the DNS datagrams of traced processes */
	FACT_SERVICES,    /* local services reading what the tree sent them
			     (bpf_text/follow.bpf.h; not with --no-follow) */
	FACT_UNIX_SERVICES, /* the same over Unix sockets, where the kernel
			       has the tracepoints (not with --no-follow) */
	FACT_COUNT,
};

/* One attachment point of the eBPF programs. Tracepoint programs are
 * named by libbcc's TRACEPOINT_PROBE convention: tracepoint__CATEGORY__NAME. */
struct probe_spec {
	const char *category; /* tracepoint category, or NULL for a kprobe */
	const char *name;     /* tracepoint or kernel function name */
	const char *function; /* kprobes: the eBPF function to run; beside a
			       * category: a raw tracepoint (no record is built
			       * for its program), RAW_TRACEPOINT_PROBE's */
	bool children_only;   /* needed only to follow forked processes */
	enum probe_fact fact;
};

/* NULL-terminated (name == NULL) lists: what both backends share, what the
 * kprobe backend adds, and the syscall tracepoints that --syscall-hooks
 * adds to both (syscall_probes) and to the tracepoint backend
 * (tracepoint_probes). The kernel must offer all of a configuration's
 * lists to use it (unix_probes aside: see below). */
extern const struct probe_spec shared_probes[];
extern const struct probe_spec kprobe_probes[];
extern const struct probe_spec syscall_probes[];
extern const struct probe_spec tracepoint_probes[];
/* Both backends, where the kernel has them all (Debian's 6.1 has none):
 * following services over Unix sockets. */
extern const struct probe_spec unix_probes[];

#define PROBE_LISTS 4

/* Fills `lists` with the lists a configuration may attach, in attach
 * order (unix_probes last, for the caller to leave out where the kernel
 * lacks them or services are not followed); returns how many. */
size_t probe_lists(enum backend backend, bool syscall_hooks,
		   const struct probe_spec *lists[PROBE_LISTS]);

/* One of the cgroup programs both backends link to the cgroup v2 root
 * (lib/tracer.c). They run only on the calls and packets they hook, and
 * let every one through. */
struct cgroup_probe_spec {
	const char *hook;     /* for --check: "connect4", "egress" */
	const char *function; /* the eBPF function */
	int prog_type;        /* enum bpf_prog_type */
	int attach_type;      /* enum bpf_attach_type */
	unsigned facts;       /* 1 << enum probe_fact, for each it serves */
};

/* NULL-terminated (hook == NULL). */
extern const struct cgroup_probe_spec cgroup_probes[];

const char *probe_fact_name(enum probe_fact fact);

/* Where `backend` takes `fact` from, for --check: "sock:inet_sock_set_state,
 * tcp:tcp_destroy_sock (raw), ..."; the number of syscall tracepoints
 * among them (each slows every syscall of every process while attached)
 * in *syscall_hooks. */
void probe_fact_sources(enum backend backend, bool with_syscall_hooks, enum probe_fact fact,
			char *buf, size_t len, unsigned *syscall_hooks);

#endif
