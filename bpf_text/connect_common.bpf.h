/* connect_common.bpf.h: turning one connect() into one event.
 *
 * By default no syscall is hooked: the cgroup connect4/connect6 programs
 * (connect_cgroup.bpf.h) open the record of a traced thread's connect,
 * keyed by its socket's cookie, and a TCP connect reaching SYN_SENT hands
 * it to the socket layer (tcp_outcome.bpf.h). With --syscall-hooks
 * (DEPTRACE_SYSCALL_HOOKS), the backend opens an in-flight record at
 * syscall entry instead (begin_connect) and fills in the destination, from
 * the caller's memory or from the kernel's copy; at syscall exit the result
 * completes it. Records left without an IPv4/IPv6 destination (AF_UNIX and
 * the like) are dropped.
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

/* How many records are open in the maps that the programs running for
 * every socket, connection or packet on the machine look up (release,
 * error reports, packets): while none is, they return without the lookup.
 * Counted up when a record is added, down when one is deleted; the DNS
 * senders are an LRU map, so that count only says whether one ever was.
 * first_bytes_wanted is an LRU map too: an entry it drops to make room is
 * not counted down, which leaves its gate open (a lookup per packet), never
 * shut on a wanted socket. */
enum deptrace_open_count {
	DEPTRACE_OPEN_CONNECTING = 0, /* tcp_connecting (tcp_outcome.bpf.h) */
	DEPTRACE_OPEN_PENDING = 1,    /* pending (connect_cgroup.bpf.h) */
	DEPTRACE_OPEN_DNS = 2,        /* dns_senders, ever (dns_capture.bpf.h) */
	DEPTRACE_OPEN_FIRST_BYTES = 3, /* first_bytes_wanted (dns_capture.bpf.h) */
	DEPTRACE_OPEN_COUNTS,
};

BPF_ARRAY(open_counts, u64, DEPTRACE_OPEN_COUNTS);

static __always_inline void open_count_add(u32 slot, s64 delta)
{
	u64 *count = open_counts.lookup(&slot);

	if (count)
		__sync_fetch_and_add(count, delta);
}

static __always_inline bool open_count_zero(u32 slot)
{
	u64 *count = open_counts.lookup(&slot);

	return count && !*count;
}

#if DEPTRACE_SYSCALL_HOOKS
BPF_HASH(inflight, u64, struct deptrace_connect_event, 10240); /* thread -> record */
#else
/* socket cookie -> record, from connect4/connect6 until SYN_SENT takes a
 * TCP one over, or the socket is released (connect_cgroup.bpf.h) */
BPF_HASH(pending, u64, struct deptrace_connect_event, 10240);
/* thread -> the cookie of the socket it last connected: SYN_SENT comes
 * in the connecting thread, and names the socket by its address only */
BPF_TABLE("lru_hash", u64, u64, thread_connect, 10240);
#endif

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

/* The record of the connect the current thread is in, or NULL: the one
 * its syscall opened, or the one connect4/connect6 opened for it. */
static __always_inline struct deptrace_connect_event *current_connect(void)
{
	u64 id = bpf_get_current_pid_tgid();
#if DEPTRACE_SYSCALL_HOOKS
	return inflight.lookup(&id);
#else
	u64 *cookie = thread_connect.lookup(&id);

	return cookie ? pending.lookup(cookie) : NULL;
#endif
}

/* Once the socket layer has taken a TCP connect over, its first record
 * is not reported again. */
static __always_inline void forget_current_connect(void)
{
	u64 id = bpf_get_current_pid_tgid();
#if DEPTRACE_SYSCALL_HOOKS
	inflight.delete(&id);
#else
	u64 *cookie = thread_connect.lookup(&id);

	if (cookie && !pending.delete(cookie))
		open_count_add(DEPTRACE_OPEN_PENDING, -1);
	thread_connect.delete(&id);
#endif
}

#if DEPTRACE_SYSCALL_HOOKS
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
#endif
