/* process_tree.bpf.h: which processes are traced, kept in the kernel, and
 * what user space needs to know about them (forks and execs).
 *
 * User space seeds `traced` with the target processes (and, unless children
 * are excluded, their existing descendants); every process they fork after
 * that is added here, at fork time, before the child can run. Keys are tgids:
 * every thread of a traced process is traced. Both backends include this.
 *
 * Settings come from -D flags at compile time:
 *   DEPTRACE_FOLLOW_CHILDREN  1 to trace processes forked by traced ones
 *   DEPTRACE_FOLLOW_SERVICES  1 to trace the threads of local services
 *                             while they serve the tree (follow.bpf.h)
 *   DEPTRACE_FOLLOW_UNIX      1 to follow them over Unix sockets too
 *   DEPTRACE_SELF_TGID        deptrace's own tgid, which never serves
 *   DEPTRACE_MAX_PROCS        capacity of the traced map
 */
#include <uapi/linux/sched.h> /* CLONE_THREAD */

BPF_HASH(traced, u32, struct deptrace_proc, DEPTRACE_MAX_PROCS);
BPF_ARRAY(stats, u64, DEPTRACE_STAT_MAX);
BPF_PERF_OUTPUT(events);

static __always_inline void count_stat(u32 slot)
{
	u64 *counter = stats.lookup(&slot);

	if (counter)
		__sync_fetch_and_add(counter, 1);
}

#if DEPTRACE_FOLLOW_SERVICES
static __always_inline struct deptrace_proc *follow_serving_proc(u64 id);
static __always_inline void follow_forget_thread(u32 tid);
#endif

/* The filter every probe applies first: unrelated processes stop here. A
 * thread serving the tree (follow.bpf.h) passes too. */
static __always_inline struct deptrace_proc *current_traced_proc(void)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;
	struct deptrace_proc *proc = traced.lookup(&tgid);

#if DEPTRACE_FOLLOW_SERVICES
	if (!proc)
		proc = follow_serving_proc(id);
#endif
	return proc;
}

static __always_inline void fill_header(struct deptrace_header *h, u16 type,
					u32 ppid)
{
	u64 id = bpf_get_current_pid_tgid();

	h->ts_ns = bpf_ktime_get_ns();
	h->pid = id >> 32;
	h->tid = (u32)id;
	h->ppid = ppid;
	h->type = type;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

#if DEPTRACE_FOLLOW_CHILDREN
/* Runs in the parent, inside fork/clone, before the child is scheduled:
 * the child cannot connect before it is in the map. */
TRACEPOINT_PROBE(task, task_newtask)
{
	u32 parent = bpf_get_current_pid_tgid() >> 32;
	u32 child = args->pid;
	struct deptrace_proc proc = { .ppid = parent };
	struct deptrace_header fork = {};

	if (args->clone_flags & CLONE_THREAD)
		return 0; /* a thread shares its process's tgid, already traced */
	if (!traced.lookup(&parent))
		return 0;
	if (traced.update(&child, &proc)) {
		count_stat(DEPTRACE_STAT_UNTRACKED_CHILDREN);
		return 0;
	}
	fill_header(&fork, DEPTRACE_EVENT_FORK, parent);
	fork.pid = child;
	fork.tid = child;
	events.perf_submit(args, &fork, sizeof(fork));
	return 0;
}
#endif

/* A process is gone when its main thread exits; other threads' exits are
 * not the end of it. User space ends tracing when the map is empty. A raw
 * tracepoint: it needs nothing of the record a perf tracepoint would build
 * for every exit on the machine, and its detach does not wait for an RCU
 * grace period. */
RAW_TRACEPOINT_PROBE(sched_process_exit)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;

	if ((u32)id == tgid)
		traced.delete(&tgid);
#if DEPTRACE_FOLLOW_SERVICES
	follow_forget_thread((u32)id); /* its thread id may be reused */
#endif
	return 0;
}

/* A traced process replaced its program: the new name, the path the
 * kernel resolved and, where the kernel allows it, argv. argv is not read
 * at execve's entry: that hook would be a syscall tracepoint, which slows
 * every syscall of every process on the machine. It is read here, from the
 * new program's stack, before the program runs; where it cannot be, user
 * space reads /proc/PID/cmdline when the record arrives (lib/tracer.c),
 * which a program that ends within milliseconds has left by then. */
BPF_PERCPU_ARRAY(exec_scratch, struct deptrace_exec_event, 1);

#if DEPTRACE_EXEC_ARGV_KERNEL
#include <asm/ptrace.h> /* struct pt_regs: the user register frame */

/* At sched_process_exec the new program's user registers are set: the
 * stack pointer points at argc, then argv[0..argc-1]. The strings are laid
 * end to end from argv[0], but nothing on the stack says where the last
 * one ends (the environment may be empty, and what follows it is not
 * readable past the stack's top): the arguments before the last are one
 * copy of (last - first) bytes, the last a string copy. Only the layout of
 * struct pt_regs is used (the user register frame the entry code fixes),
 * no kernel struct offset. bpf_task_pt_regs and bpf_get_current_task_btf:
 * 5.15 and later, with kernel BTF (kernel_probe.c checks by loading). */
static __always_inline void exec_read_argv(struct deptrace_exec_event *ev)
{
	struct task_struct *task = bpf_get_current_task_btf();
	void *regs = (void *)bpf_task_pt_regs(task);
	u64 sp = 0, argc = 0, first = 0, last = 0, head;
	long n;

	if (bpf_probe_read_kernel(&sp, sizeof(sp), regs + __builtin_offsetof(struct pt_regs, sp)) ||
	    bpf_probe_read_user(&argc, sizeof(argc), (void *)sp) || !argc || argc > 0x100000 ||
	    bpf_probe_read_user(&first, sizeof(first), (void *)(sp + 8)) ||
	    bpf_probe_read_user(&last, sizeof(last), (void *)(sp + 8 * argc)) || last < first)
		return;
	head = last - first;
	if (head >= DEPTRACE_EXEC_ARGV_HALF) {
		/* the first arguments fill the half: they are kept, cut (the
		 * class reads the first DEPTRACE_EXEC_CMDLINE bytes) */
		if (!bpf_probe_read_user(ev->raw_argv, DEPTRACE_EXEC_ARGV_HALF, (void *)first))
			ev->raw_len = DEPTRACE_EXEC_ARGV_HALF;
		return;
	}
	/* masked again for the verifier: it cannot carry the bound above
	 * into the copy's size and the string copy's offset */
	head &= DEPTRACE_EXEC_ARGV_HALF - 1;
	if (head && bpf_probe_read_user(ev->raw_argv, head, (void *)first))
		return;
	n = bpf_probe_read_user_str(ev->raw_argv + head, DEPTRACE_EXEC_ARGV_HALF, (void *)last);
	if (n <= 0)
		return;
	ev->raw_len = head + n;
}
#endif

TRACEPOINT_PROBE(sched, sched_process_exec)
{
	u32 zero = 0;
	struct deptrace_exec_event *ev = exec_scratch.lookup(&zero);
	struct deptrace_proc *proc = current_traced_proc();

	if (!ev || !proc)
		return 0;
	fill_header(&ev->h, DEPTRACE_EVENT_EXEC, proc->ppid);
	TP_DATA_LOC_READ_STR(ev->path, filename, sizeof(ev->path));
	ev->raw_len = 0; /* none read: user space reads /proc */
#if DEPTRACE_EXEC_ARGV_KERNEL
	exec_read_argv(ev);
#endif
	events.perf_submit(args, ev, DEPTRACE_EXEC_SENT);
	return 0;
}

#include "follow.bpf.h"
