/* connect_kprobe.bpf.c: the kprobe backend.
 *
 * The destination is read from the kernel's own copy of the address, in
 * tcp_v4_connect/tcp_v6_connect (TCP) and inet_dgram_connect (UDP), into
 * the record sys_enter_connect opened. A TCP connect that reaches SYN_SENT
 * is then reported by the socket layer with its outcome, as in the
 * tracepoint backend (tcp_outcome.bpf.h); one that fails before, and UDP,
 * with what connect(2) returned, taken at sys_exit_connect: a return probe
 * would hold one of the kernel's few kretprobe instances for as long as
 * every connect on the machine blocks, missing returns on a busy host.
 */
#include <uapi/linux/ptrace.h> /* struct pt_regs */
#include "deptrace_event.h"
#include "probe_read.bpf.h"
#include "process_tree.bpf.h"
#include "connect_common.bpf.h"
#include "tcp_outcome.bpf.h"
#include "dns_capture.bpf.h"
#if DEPTRACE_ENFORCE
#include "policy_cgroup.bpf.h"
#if DEPTRACE_RESOLVER
#include "resolver_steer.bpf.h"
#endif
#endif

TRACEPOINT_PROBE(syscalls, sys_enter_connect)
{
	struct deptrace_proc *proc = current_traced_proc();

	if (proc)
		begin_connect(proc, args->fd);
	return 0;
}

/* Only threads inside a traced connect(2) have a record to fill. */
static __always_inline void fill_destination(struct pt_regs *ctx, u8 proto)
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_connect_event *ev = inflight.lookup(&id);

	if (ev && !read_destination(ev, (const void *)PT_REGS_PARM2(ctx), 0))
		ev->proto = proto;
}

int on_tcp_connect(struct pt_regs *ctx)
{
	fill_destination(ctx, DEPTRACE_PROTO_TCP);
	return 0;
}

int on_dgram_connect(struct pt_regs *ctx)
{
	fill_destination(ctx, DEPTRACE_PROTO_UDP);
	return 0;
}
