/* connect_tracepoint.bpf.c: the syscall-tracepoint backend, for kernels
 * without kprobes.
 *
 * connect(2) is seen at syscall entry (destination, read from the caller's
 * memory) and exit (result); a TCP connect that reaches SYN_SENT is taken
 * over by the socket layer (tcp_outcome.bpf.h). The syscall does not say
 * whether the socket is TCP or UDP, so socket(2) results are remembered per
 * (process, fd).
 */
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

#define DEPTRACE_SOCK_STREAM 1
#define DEPTRACE_SOCK_DGRAM 2
#define DEPTRACE_SOCK_TYPE_MASK 0xf

BPF_HASH(socket_calls, u64, u8, 1024);        /* thread -> proto asked for */
BPF_TABLE("lru_hash", u64, u8, socket_protos, 65536); /* fd_key -> proto */

/* A descriptor of the calling process: tgid << 32 | fd. */
static __always_inline u64 fd_key(int fd)
{
	return (bpf_get_current_pid_tgid() & 0xffffffff00000000ULL) | (u32)fd;
}

static __always_inline u8 proto_of_socket(int type, int protocol)
{
	type &= DEPTRACE_SOCK_TYPE_MASK;
	if (type == DEPTRACE_SOCK_STREAM &&
	    (protocol == 0 || protocol == DEPTRACE_IPPROTO_TCP))
		return DEPTRACE_PROTO_TCP;
	if (type == DEPTRACE_SOCK_DGRAM &&
	    (protocol == 0 || protocol == DEPTRACE_IPPROTO_UDP))
		return DEPTRACE_PROTO_UDP;
	return DEPTRACE_PROTO_UNKNOWN;
}

TRACEPOINT_PROBE(syscalls, sys_enter_socket)
{
	u64 id = bpf_get_current_pid_tgid();
	u8 proto;

	if (args->family != DEPTRACE_AF_INET && args->family != DEPTRACE_AF_INET6)
		return 0;
	if (!current_traced_proc())
		return 0;
	proto = proto_of_socket(args->type, args->protocol);
	if (proto != DEPTRACE_PROTO_UNKNOWN)
		socket_calls.update(&id, &proto);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_socket)
{
	u64 id = bpf_get_current_pid_tgid();
	u8 *proto = socket_calls.lookup(&id);
	u64 key;

	if (!proto)
		return 0;
	if (args->ret >= 0) {
		key = fd_key(args->ret);
		socket_protos.update(&key, proto);
	}
	socket_calls.delete(&id);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_connect)
{
	struct deptrace_proc *proc = current_traced_proc();
	struct deptrace_connect_event *ev;
	u64 key;
	u8 *known;

	if (!proc)
		return 0;
	ev = begin_connect(proc, args->fd);
	if (!ev)
		return 0;
	if (read_destination(ev, args->uservaddr, 1))
		return 0; /* not IPv4/IPv6: dropped at exit */
	key = fd_key(args->fd);
	known = socket_protos.lookup(&key);
	if (known)
		ev->proto = *known;
	return 0;
}
