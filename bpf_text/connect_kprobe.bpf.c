/* connect_kprobe.bpf.c: the kprobe backend.
 *
 * The destination is read from the kernel's own copy of the address, in
 * tcp_v4_connect/tcp_v6_connect (TCP) and inet_dgram_connect (UDP). The
 * result is taken where the socket layer returns it to connect(): the
 * return of inet_stream_connect/inet_dgram_connect, not of tcp_v4_connect,
 * which returns 0 once the SYN is queued, long before a refusal arrives.
 */
#include "deptrace_event.h"
#include "process_tree.bpf.h"
#include "connect_common.bpf.h"

int on_tcp_connect(struct pt_regs *ctx)
{
	struct deptrace_proc *proc = current_traced_proc();

	if (proc)
		begin_connect(proc, (const void *)PT_REGS_PARM2(ctx), 0,
			      DEPTRACE_PROTO_TCP);
	return 0;
}

int on_dgram_connect(struct pt_regs *ctx)
{
	struct deptrace_proc *proc = current_traced_proc();

	if (proc)
		begin_connect(proc, (const void *)PT_REGS_PARM2(ctx), 0,
			      DEPTRACE_PROTO_UDP);
	return 0;
}

int on_connect_return(struct pt_regs *ctx)
{
	finish_connect(ctx, PT_REGS_RC(ctx));
	return 0;
}
