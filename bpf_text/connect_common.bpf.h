/* connect_common.bpf.h: turning one connect() into one event.
 *
 * A backend calls begin_connect() for a traced process where it can see
 * the destination; the result is added at syscall exit. In between, the
 * attempt waits in `inflight`, keyed by thread. Only the families deptrace
 * reports (IPv4, IPv6) get that far.
 */

/* Socket addresses and family numbers are ABI, but compiled in kernel
 * mode <linux/in.h> drags in the kernel's socket.h, which headers of a
 * nearby version do not always compile: the layouts are spelled out here. */
#define DEPTRACE_AF_INET 2
#define DEPTRACE_AF_INET6 10

struct ipv4_sockaddr {      /* struct sockaddr_in */
	u16 family;
	__be16 port;
	u8 addr[4];
};

struct ipv6_sockaddr {      /* struct sockaddr_in6 up to sin6_addr */
	u16 family;
	__be16 port;
	__be32 flowinfo;
	u8 addr[16];
};

BPF_HASH(inflight, u64, struct deptrace_event, 10240);

static __always_inline int read_from(void *dst, u32 size, const void *src,
				     int from_user)
{
	if (from_user)
		return bpf_probe_read_user(dst, size, src);
	return bpf_probe_read_kernel(dst, size, src);
}

/* Fills family, port and address from a sockaddr; non-zero to skip it. */
static __always_inline int read_destination(struct deptrace_event *ev,
					    const void *uaddr, int from_user)
{
	u16 family = 0;

	if (read_from(&family, sizeof(family), uaddr, from_user))
		return -1;
	if (family == DEPTRACE_AF_INET) {
		struct ipv4_sockaddr sin = {};

		if (read_from(&sin, sizeof(sin), uaddr, from_user))
			return -1;
		ev->dport = ntohs(sin.port);
		__builtin_memcpy(ev->daddr, sin.addr, 4);
	} else if (family == DEPTRACE_AF_INET6) {
		/* no sin6_scope_id: callers may omit it (RFC 2133 length) */
		struct ipv6_sockaddr sin6 = {};

		if (read_from(&sin6, sizeof(sin6), uaddr, from_user))
			return -1;
		ev->dport = ntohs(sin6.port);
		__builtin_memcpy(ev->daddr, sin6.addr, 16);
	} else {
		return -1;
	}
	ev->family = family;
	return 0;
}

/* The filter every probe applies first: unrelated processes stop here. */
static __always_inline struct deptrace_proc *current_traced_proc(void)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;

	return traced.lookup(&tgid);
}

static __always_inline void begin_connect(struct deptrace_proc *proc,
					  const void *uaddr, int from_user,
					  u8 proto)
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_event ev = {};

	if (read_destination(&ev, uaddr, from_user))
		return;
	ev.ts_ns = bpf_ktime_get_ns();
	ev.pid = id >> 32;
	ev.tid = (u32)id;
	ev.ppid = proc->ppid;
	ev.proto = proto;
	if (inflight.update(&id, &ev))
		count_stat(DEPTRACE_STAT_UNTRACKED_CONNECTS);
}

/* Both backends take the result where connect(2) returns it. */
TRACEPOINT_PROBE(syscalls, sys_exit_connect)
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_event *ev = inflight.lookup(&id);

	if (!ev)
		return 0;
	ev->result = args->ret;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	events.perf_submit(args, ev, sizeof(*ev));
	inflight.delete(&id);
	return 0;
}
