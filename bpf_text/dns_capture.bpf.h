/* dns_capture.bpf.h: the DNS datagrams of traced processes, copied whole
 * (up to DEPTRACE_DNS_CAPTURE bytes, a power of two: the verifier needs a
 * mask) for user space to parse.
 *
 * A datagram is DNS when it goes to or comes from port 53, as named in the
 * call (sendto, sendmsg, recvfrom with an address) or by the socket having
 * been connected to port 53 (dns_sockets, kept by connect_common.bpf.h).
 * Every way glibc and other resolvers send and receive is covered: write,
 * sendto, sendmsg, sendmmsg (glibc's parallel A and AAAA queries), read,
 * recvfrom, recvmsg and recvmmsg. Receives are read at syscall exit, when
 * the data has arrived; sends at entry.
 */

/* struct user_msghdr and struct mmsghdr on 64-bit: ABI, spelled out for
 * the same reason as the socket addresses. */
struct msghdr64 {
	u64 name;
	u32 namelen;
	u32 pad;
	u64 iov;
	u64 iovlen;
	u64 control;
	u64 controllen;
	u32 flags;
	u32 pad2;
};

struct mmsghdr64 {
	struct msghdr64 hdr;
	u32 len;
	u32 pad;
};

struct iovec64 {
	u64 base;
	u64 len;
};

/* glibc sends at most two queries at once (A and AAAA). */
#define DNS_MESSAGES_PER_CALL 2

enum receive_kind { RECEIVE_BUFFER, RECEIVE_MSG, RECEIVE_MMSG };

struct pending_receive {
	u64 ptr;   /* the buffer, msghdr or mmsghdr array */
	u64 addr;  /* recvfrom's source address, or 0 */
	s32 fd;
	u32 kind;
};

BPF_HASH(receives, u64, struct pending_receive, 1024);
BPF_PERCPU_ARRAY(dns_scratch, struct deptrace_dns_event, 1);

static __always_inline int is_dns_socket(int fd)
{
	u64 key = fd_key(fd);

	return dns_sockets.lookup(&key) != NULL;
}

static __always_inline int is_dns_address(u64 uaddr)
{
	struct {
		u16 family;
		__be16 port;
	} head = {};

	if (!uaddr || bpf_probe_read_user(&head, sizeof(head), (void *)uaddr))
		return 0;
	return (head.family == DEPTRACE_AF_INET || head.family == DEPTRACE_AF_INET6) &&
	       head.port == htons(DEPTRACE_DNS_PORT);
}

static __always_inline void submit_dns(void *ctx, struct deptrace_proc *proc,
				       u64 buf, u64 len, u8 direction)
{
	u32 zero = 0, n = len;
	struct deptrace_dns_event *ev = dns_scratch.lookup(&zero);

	if (n > DEPTRACE_DNS_CAPTURE)
		n = DEPTRACE_DNS_CAPTURE;
	if (!ev || !n)
		return;
	fill_header(&ev->h, DEPTRACE_EVENT_DNS, proc->ppid);
	ev->full_len = len;
	ev->direction = direction;
	/* clang drops a mask it can prove redundant, and then reloads the
	 * unbounded length: the empty asm hides n's range from it, so that the
	 * mask reaches the verifier, which needs it to see the bound; masking
	 * n - 1 and adding 1 back keeps 1..DEPTRACE_DNS_CAPTURE, all of it */
	asm volatile("" : "+r"(n));
	n = ((n - 1) & (DEPTRACE_DNS_CAPTURE - 1)) + 1;
	if (bpf_probe_read_user(ev->payload, n, (void *)buf))
		return;
	ev->len = n;
	events.perf_submit(ctx, ev, sizeof(*ev));
}

/* The datagram of one message header, if it is DNS; len caps its size
 * (the received byte count), 0 for none. */
static __always_inline void submit_msg(void *ctx, struct deptrace_proc *proc,
				       int fd, const struct msghdr64 *msg,
				       u64 len, u8 direction)
{
	struct iovec64 iov = {};

	if (msg->name ? !is_dns_address(msg->name) : !is_dns_socket(fd))
		return;
	if (!msg->iovlen || bpf_probe_read_user(&iov, sizeof(iov), (void *)msg->iov))
		return;
	submit_dns(ctx, proc, iov.base, len && len < iov.len ? len : iov.len, direction);
}

static __always_inline void submit_mmsg(void *ctx, struct deptrace_proc *proc,
					int fd, u64 vec, u32 count, u8 direction)
{
	struct mmsghdr64 m = {};

	for (int i = 0; i < DNS_MESSAGES_PER_CALL; i++) {
		if (i >= count ||
		    bpf_probe_read_user(&m, sizeof(m), (void *)(vec + i * sizeof(m))))
			return;
		submit_msg(ctx, proc, fd, &m.hdr,
			   direction == DEPTRACE_DNS_RECEIVED ? m.len : 0, direction);
	}
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendto)
{
	struct deptrace_proc *proc = current_traced_proc();

	if (proc && (args->addr ? is_dns_address((u64)args->addr) : is_dns_socket(args->fd)))
		submit_dns(args, proc, (u64)args->buff, args->len, DEPTRACE_DNS_SENT);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_write)
{
	struct deptrace_proc *proc = current_traced_proc();

	if (proc && is_dns_socket(args->fd))
		submit_dns(args, proc, (u64)args->buf, args->count, DEPTRACE_DNS_SENT);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendmsg)
{
	struct deptrace_proc *proc = current_traced_proc();
	struct msghdr64 msg = {};

	if (proc && !bpf_probe_read_user(&msg, sizeof(msg), (void *)args->msg))
		submit_msg(args, proc, args->fd, &msg, 0, DEPTRACE_DNS_SENT);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_sendmmsg)
{
	struct deptrace_proc *proc = current_traced_proc();

	if (proc)
		submit_mmsg(args, proc, args->fd, (u64)args->mmsg, args->vlen,
			    DEPTRACE_DNS_SENT);
	return 0;
}

/* Remembers where a receive will land. Plain reads matter only on DNS
 * sockets; the others may learn at exit that the peer was port 53. */
static __always_inline void begin_receive(int fd, u64 ptr, u64 addr, u32 kind)
{
	u64 id = bpf_get_current_pid_tgid();
	struct pending_receive r = { .ptr = ptr, .addr = addr, .fd = fd, .kind = kind };

	if (!current_traced_proc())
		return;
	if (kind == RECEIVE_BUFFER && !addr && !is_dns_socket(fd))
		return;
	receives.update(&id, &r);
}

static __always_inline void finish_receive(void *ctx, long ret)
{
	u64 id = bpf_get_current_pid_tgid();
	struct pending_receive *r = receives.lookup(&id);
	struct deptrace_proc *proc = current_traced_proc();
	struct msghdr64 msg = {};

	if (!r)
		return;
	if (proc && ret > 0) {
		if (r->kind == RECEIVE_BUFFER) {
			if (r->addr ? is_dns_address(r->addr) : is_dns_socket(r->fd))
				submit_dns(ctx, proc, r->ptr, ret, DEPTRACE_DNS_RECEIVED);
		} else if (r->kind == RECEIVE_MSG) {
			if (!bpf_probe_read_user(&msg, sizeof(msg), (void *)r->ptr))
				submit_msg(ctx, proc, r->fd, &msg, ret, DEPTRACE_DNS_RECEIVED);
		} else {
			submit_mmsg(ctx, proc, r->fd, r->ptr, ret, DEPTRACE_DNS_RECEIVED);
		}
	}
	receives.delete(&id);
}

TRACEPOINT_PROBE(syscalls, sys_enter_read)
{
	begin_receive(args->fd, (u64)args->buf, 0, RECEIVE_BUFFER);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_read)
{
	finish_receive(args, args->ret);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_recvfrom)
{
	begin_receive(args->fd, (u64)args->ubuf, (u64)args->addr, RECEIVE_BUFFER);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_recvfrom)
{
	finish_receive(args, args->ret);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_recvmsg)
{
	begin_receive(args->fd, (u64)args->msg, 0, RECEIVE_MSG);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_recvmsg)
{
	finish_receive(args, args->ret);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_recvmmsg)
{
	begin_receive(args->fd, (u64)args->mmsg, 0, RECEIVE_MMSG);
	return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_recvmmsg)
{
	finish_receive(args, args->ret);
	return 0;
}

/* A closed descriptor may come back as anything. */
TRACEPOINT_PROBE(syscalls, sys_enter_close)
{
	u64 key;

	if (!current_traced_proc())
		return 0;
	key = fd_key(args->fd);
	if (dns_sockets.lookup(&key)) /* a delete locks even when absent */
		dns_sockets.delete(&key);
	return 0;
}
