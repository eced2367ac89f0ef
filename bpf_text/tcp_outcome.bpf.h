/* tcp_outcome.bpf.h: a TCP connect, reported once its outcome is known,
 * from the socket layer: no syscall is hooked here.
 *
 * sock:inet_sock_set_state fires on TCP state changes only. A socket
 * enters SYN_SENT inside the connect (connect(2), io_uring's, a Fast Open
 * sendto), in the caller's thread: the record is opened there, keyed by
 * the socket's address, with the destination from the tracepoint's
 * fields. The socket then leaves SYN_SENT for ESTABLISHED (result 0) or
 * CLOSE. A CLOSE that is a failure comes with sock:inet_sk_error_report
 * and the errno the program gets (ECONNREFUSED for a reset, ETIMEDOUT,
 * EHOSTUNREACH, ...): after the CLOSE for a reset or a timeout, before it
 * for an ICMP error. That tracepoint names the connection by its addresses
 * and ports, not the socket: both orders are met through maps keyed by
 * them, filled at whichever comes first. A socket destroyed with its
 * record still open (tcp:tcp_destroy_sock: its program closed it, or
 * exited, before the handshake ended) ends as ECONNABORTED. Records still
 * open when tracing ends are reported by user space as EINPROGRESS
 * (tracer_finish). Each outcome carries the time it took (wait_ns), from
 * the connect's start to the state change or error that decided it.
 *
 * A connect that fails before SYN_SENT (no route, a refusal by the
 * enforced policy) never reaches this file: the record connect4/connect6
 * opened reports it (connect_cgroup.bpf.h), or, with --syscall-hooks,
 * sys_exit_connect with connect(2)'s own result. The record of a connect
 * that does reach SYN_SENT is dropped here, so that each connect is
 * reported once.
 */

#define DEPTRACE_TCP_ESTABLISHED 1
#define DEPTRACE_TCP_SYN_SENT 2
#define DEPTRACE_TCP_CLOSE 7
#define DEPTRACE_ECONNABORTED 103

/* A connection as inet_sk_error_report names it; IPv4 addresses are
 * v4-mapped in the _v6 fields of both tracepoints. */
struct tcp_tuple {
	u16 family;
	u16 sport;
	u16 dport;
	u16 pad;
	u8 saddr[16];
	u8 daddr[16];
};

BPF_HASH(tcp_connecting, u64, struct deptrace_connect_event, 10240); /* socket -> record */
BPF_TABLE("lru_hash", struct tcp_tuple, u64, tcp_closed, 1024);      /* closed, no errno yet */
BPF_TABLE("lru_hash", struct tcp_tuple, s32, tcp_errors, 1024);      /* errno before the close */

static __always_inline void submit_outcome(void *ctx, u64 sk,
					   struct deptrace_connect_event *ev, int result)
{
	ev->result = result;
	ev->wait_ns = bpf_ktime_get_ns() - ev->h.ts_ns;
	events.perf_submit(ctx, ev, sizeof(*ev));
	if (!tcp_connecting.delete(&sk))
		open_count_add(DEPTRACE_OPEN_CONNECTING, -1);
}

/* In the connecting thread: a traced process's connect begins. daddr
 * points into the tracepoint's record: 4 bytes for AF_INET, 16 for
 * AF_INET6. (libbcc declares a tracepoint's argument type inside its
 * probe: the fields come one by one.) */
static __always_inline void open_connect(u64 sk, u16 family, u16 dport, const u8 *daddr)
{
	struct deptrace_proc *proc = current_traced_proc();
	struct deptrace_connect_event ev = {}, *syscall;

	if (!proc)
		return;
	fill_header(&ev.h, DEPTRACE_EVENT_CONNECT, proc->ppid);
	ev.fd = -1;
	ev.family = family;
	ev.dport = dport;
	ev.proto = DEPTRACE_PROTO_TCP;
	/* copied by helper: the verifier refuses a load through a pointer
	 * into the record that clang has moved (ctx + offset) */
	bpf_probe_read_kernel(ev.daddr, family == DEPTRACE_AF_INET ? 4 : 16, daddr);
	syscall = current_connect();
	/* without syscall hooks, the thread's last connect may be a UDP one
	 * whose socket is still open */
	if (syscall && (DEPTRACE_SYSCALL_HOOKS || syscall->proto == DEPTRACE_PROTO_TCP)) {
		ev.h.ts_ns = syscall->h.ts_ns; /* the connect's start */
		ev.fd = syscall->fd;
		ev.judged = syscall->judged;
		forget_current_connect();
	}
	if (tcp_connecting.update(&sk, &ev))
		count_stat(DEPTRACE_STAT_UNTRACKED_CONNECTS);
	else
		open_count_add(DEPTRACE_OPEN_CONNECTING, 1);
}

/* saddr and daddr point into the tracepoint's record, as in open_connect. */
static __always_inline void tcp_tuple_of(struct tcp_tuple *t, u16 family, u16 sport,
					 u16 dport, const u8 *saddr, const u8 *daddr)
{
	t->family = family;
	t->sport = sport;
	t->dport = dport;
	bpf_probe_read_kernel(t->saddr, 16, saddr);
	bpf_probe_read_kernel(t->daddr, 16, daddr);
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
	u64 sk = (u64)args->skaddr;
	struct deptrace_connect_event *ev;
	struct tcp_tuple tuple = {};
	s32 *err;

	if (args->protocol != DEPTRACE_IPPROTO_TCP)
		return 0;
#if DEPTRACE_FOLLOW_SERVICES
	follow_set_state(sk, args->newstate, args->sport, args->dport, args->saddr_v6,
			 args->daddr_v6);
#endif
	if (args->newstate == DEPTRACE_TCP_SYN_SENT) {
		open_connect(sk, args->family, args->dport,
			     args->family == DEPTRACE_AF_INET ? args->daddr : args->daddr_v6);
		return 0;
	}
	if (args->oldstate != DEPTRACE_TCP_SYN_SENT || open_count_zero(DEPTRACE_OPEN_CONNECTING))
		return 0;
	ev = tcp_connecting.lookup(&sk);
	if (!ev)
		return 0;
	if (args->newstate == DEPTRACE_TCP_ESTABLISHED) {
		ev->sport = args->sport; /* its first bytes name it by this */
		submit_outcome(args, sk, ev, 0);
	} else if (args->newstate == DEPTRACE_TCP_CLOSE) {
		tcp_tuple_of(&tuple, args->family, args->sport, args->dport,
			     args->saddr_v6, args->daddr_v6);
		err = tcp_errors.lookup(&tuple);
		if (err) {
			submit_outcome(args, sk, ev, -*err);
			tcp_errors.delete(&tuple);
		} else {
			tcp_closed.update(&tuple, &sk);
		}
	}
	return 0;
}

TRACEPOINT_PROBE(sock, inet_sk_error_report)
{
	struct deptrace_connect_event *ev;
	struct tcp_tuple tuple = {};
	s32 err = args->error;
	u64 *sk;

	/* every TCP error on the machine comes here (a reset closing a
	 * connection is one): only those of a connect still open matter */
	if (args->protocol != DEPTRACE_IPPROTO_TCP || open_count_zero(DEPTRACE_OPEN_CONNECTING))
		return 0;
	tcp_tuple_of(&tuple, args->family, args->sport, args->dport,
		     args->saddr_v6, args->daddr_v6);
	sk = tcp_closed.lookup(&tuple);
	if (!sk) {
		/* an ICMP error reported before its CLOSE, or another TCP
		 * error while one is open (the map forgets the oldest) */
		tcp_errors.update(&tuple, &err);
		return 0;
	}
	ev = tcp_connecting.lookup(sk);
	if (ev)
		submit_outcome(args, *sk, ev, -err);
	tcp_closed.delete(&tuple);
	return 0;
}

/* A raw tracepoint: only the socket's address is needed, and this fires
 * for every TCP socket on the machine. */
RAW_TRACEPOINT_PROBE(tcp_destroy_sock)
{
	u64 sk = ctx->args[0];
	struct deptrace_connect_event *ev;

	if (open_count_zero(DEPTRACE_OPEN_CONNECTING))
		return 0;
	ev = tcp_connecting.lookup(&sk);
	if (ev)
		submit_outcome(ctx, sk, ev, -DEPTRACE_ECONNABORTED);
	return 0;
}
