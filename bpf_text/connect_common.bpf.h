/* connect_common.bpf.h: turning one connect() into one event.
 *
 * At syscall entry a backend opens an in-flight record for a traced thread
 * (begin_connect) and fills in the destination, from the caller's memory or
 * from the kernel's copy; at syscall exit the result completes it. Records
 * left without an IPv4/IPv6 destination (AF_UNIX and the like) are dropped.
 */

/* Socket addresses and family numbers are ABI, but compiled in kernel
 * mode <linux/in.h> drags in the kernel's socket.h, which headers of a
 * nearby version do not always compile: the layouts are spelled out here. */
#define DEPTRACE_AF_INET 2
#define DEPTRACE_AF_INET6 10
#define DEPTRACE_IPPROTO_TCP 6
#define DEPTRACE_IPPROTO_UDP 17

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

BPF_HASH(inflight, u64, struct deptrace_connect_event, 10240);

static __always_inline int read_from(void *dst, u32 size, const void *src,
				     int from_user)
{
	if (from_user)
		return bpf_probe_read_user(dst, size, src);
	return bpf_probe_read_kernel(dst, size, src);
}

/* Fills family, port and address from a sockaddr; non-zero to skip it. */
static __always_inline int read_destination(struct deptrace_connect_event *ev,
					    const void *uaddr, int from_user)
{
	/* one read for IPv4, the common case: every sockaddr it could be
	 * (AF_INET or AF_INET6) is at least this long */
	struct ipv4_sockaddr sin = {};
	u16 family;

	if (read_from(&sin, sizeof(sin), uaddr, from_user))
		return -1;
	family = sin.family;
	if (family == DEPTRACE_AF_INET) {
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

static __always_inline struct deptrace_connect_event *
begin_connect(struct deptrace_proc *proc, int fd)
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_connect_event ev = {};

	fill_header(&ev.h, DEPTRACE_EVENT_CONNECT, proc->ppid);
	ev.fd = fd;
	if (inflight.update(&id, &ev)) {
		count_stat(DEPTRACE_STAT_UNTRACKED_CONNECTS);
		return NULL;
	}
	return inflight.lookup(&id);
}

/* Both backends take the result where connect(2) returns it. */
TRACEPOINT_PROBE(syscalls, sys_exit_connect)
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_connect_event *ev = inflight.lookup(&id);

	if (!ev)
		return 0;
	if (ev->family) {
		ev->result = args->ret;
		events.perf_submit(args, ev, sizeof(*ev));
	}
	inflight.delete(&id);
	return 0;
}
