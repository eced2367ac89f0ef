/* process_tree.bpf.h: which processes are traced, kept in the kernel.
 *
 * User space seeds `traced` with the target processes (and, unless children
 * are excluded, their existing descendants); every process they fork after
 * that is added here, at fork time, before the child can run. Keys are tgids:
 * every thread of a traced process is traced. Both backends include this.
 *
 * Settings come from -D flags at compile time:
 *   DEPTRACE_FOLLOW_CHILDREN  1 to trace processes forked by traced ones
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

#if DEPTRACE_FOLLOW_CHILDREN
/* Runs in the parent, inside fork/clone, before the child is scheduled:
 * the child cannot connect before it is in the map. */
TRACEPOINT_PROBE(task, task_newtask)
{
	u32 parent = bpf_get_current_pid_tgid() >> 32;
	u32 child = args->pid;
	struct deptrace_proc proc = { .ppid = parent };

	if (args->clone_flags & CLONE_THREAD)
		return 0; /* a thread shares its process's tgid, already traced */
	if (!traced.lookup(&parent))
		return 0;
	if (traced.update(&child, &proc))
		count_stat(DEPTRACE_STAT_UNTRACKED_CHILDREN);
	return 0;
}
#endif

/* A process is gone when its main thread exits; other threads' exits are
 * not the end of it. User space ends tracing when the map is empty. */
TRACEPOINT_PROBE(sched, sched_process_exit)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32;

	if ((u32)id == tgid)
		traced.delete(&tgid);
	return 0;
}
