/* connect_cgroup.bpf.h: connect() seen by cgroup programs, not syscall
 * hooks.
 *
 * Linked to the cgroup v2 root (lib/tracer.c), connect4/connect6 run on
 * every connect() of an IPv4/IPv6 TCP or UDP socket on the machine, in the
 * caller's thread, before the kernel acts on it, and on nothing else; the
 * traced-process lookup turns the others away. They note DNS senders (UDP
 * and TCP to port 53) and the TCP sockets whose first bytes are wanted for
 * the capture (dns_capture.bpf.h) and, unless the syscall hooks are
 * asked for (DEPTRACE_SYSCALL_HOOKS: sys_enter_connect opens the record
 * and sys_exit_connect reports it with connect(2)'s result), open the
 * connect's record, keyed by the socket's cookie, with the destination the
 * kernel was given (after any rewrite by a program of a cgroup below the
 * root: those run first).
 *
 * What follows the record:
 *  - a TCP connect that reaches SYN_SENT, in the same call, is taken over
 *    by the socket layer (tcp_outcome.bpf.h), which reports its outcome;
 *  - one a program of the enforced cgroup failed (policy_cgroup.bpf.h, in
 *    the command's cgroup, runs before this and leaves its verdict by
 *    thread) is reported at once: EPERM (blocked) for the policy,
 *    ECONNREFUSED for an --outage target in refuse mode;
 *  - any other stays until the socket is released (cgroup/sock_release,
 *    on close or exit) or connected again: a UDP socket then connected
 *    (the kernel keeps it TCP_ESTABLISHED) is reported ok, anything else
 *    as DEPTRACE_RESULT_FAILED_EARLY: the connect failed before any packet
 *    was sent (no route, no local port, ...), and which error it returned
 *    is seen only by a syscall hook. Records still open when tracing ends
 *    are reported by user space as DEPTRACE_RESULT_UNSEEN (tracer_finish).
 *
 * cgroup/sock_release also ends the wait for the first bytes of a socket
 * closed before it sent any (a refused or unanswered connect), with or
 * without the syscall hooks.
 *
 * Every program here lets the call go on (1).
 */
#if !DEPTRACE_SYSCALL_HOOKS
#define DEPTRACE_SOCK_STREAM_KIND 1
#define DEPTRACE_SOCK_DGRAM_KIND 2

static __always_inline u8 connect_proto(u32 type, u32 protocol)
{
	if (type == DEPTRACE_SOCK_STREAM_KIND && protocol == DEPTRACE_IPPROTO_TCP)
		return DEPTRACE_PROTO_TCP;
	if (type == DEPTRACE_SOCK_DGRAM_KIND && protocol == DEPTRACE_IPPROTO_UDP)
		return DEPTRACE_PROTO_UDP;
	return DEPTRACE_PROTO_UNKNOWN;
}

/* A record whose connect has ended (its socket released, or connected
 * again), judged by the socket's state: a datagram socket whose connect
 * took is TCP_ESTABLISHED; a TCP one still here never reached SYN_SENT. */
static __always_inline void submit_ended(void *ctx, u64 cookie,
					 struct deptrace_connect_event *ev, u32 state)
{
	ev->result = ev->proto != DEPTRACE_PROTO_TCP && state == DEPTRACE_TCP_ESTABLISHED
		     ? 0 : DEPTRACE_RESULT_FAILED_EARLY;
	events.perf_submit(ctx, ev, sizeof(*ev));
	if (!pending.delete(&cookie))
		open_count_add(DEPTRACE_OPEN_PENDING, -1);
}

/* The enforced policy's verdict on this thread's connect, taken. */
static __always_inline void take_verdict(struct deptrace_connect_event *ev)
{
#if DEPTRACE_ENFORCE
	u64 id = bpf_get_current_pid_tgid();
	struct connect_verdict *verdict = policy_verdicts.lookup(&id);

	if (!verdict)
		return;
	ev->judged = 1;
	ev->blocked = verdict->blocked;
	ev->result = verdict->result; /* -1 (-EPERM) when blocked */
	/* the destination the program asked for, as the policy judged it
	 * (the resolver's steering may have rewritten it since) */
	ev->dport = verdict->dport;
	if (ev->family == DEPTRACE_AF_INET)
		__builtin_memcpy(ev->daddr, verdict->daddr + 12, 4);
	else
		__builtin_memcpy(ev->daddr, verdict->daddr, 16);
	policy_verdicts.delete(&id);
#endif
}

static __always_inline void open_cgroup_connect(struct bpf_sock_addr *ctx, u16 family)
{
	struct deptrace_connect_event ev = {}, *prev;
	struct deptrace_proc *proc = current_traced_proc();
	u64 id = bpf_get_current_pid_tgid(), cookie;
	struct bpf_sock *sk = ctx->sk;

	ev.family = family; /* before the lookup: the verdict is taken either way */
	take_verdict(&ev);
	if (!proc)
		return;
	cookie = bpf_get_socket_cookie(ctx);
	prev = pending.lookup(&cookie);
	if (prev && sk)
		submit_ended(ctx, cookie, prev, sk->state);
	fill_header(&ev.h, DEPTRACE_EVENT_CONNECT, proc->ppid);
	ev.fd = -1;
	if (!ev.judged) {
		ev.dport = ntohs((u16)ctx->user_port);
		if (family == DEPTRACE_AF_INET) {
			u32 ip4 = ctx->user_ip4;

			__builtin_memcpy(ev.daddr, &ip4, 4);
		} else {
			u32 ip6[4] = { ctx->user_ip6[0], ctx->user_ip6[1],
				       ctx->user_ip6[2], ctx->user_ip6[3] };

			__builtin_memcpy(ev.daddr, ip6, 16);
		}
	}
	ev.proto = connect_proto(ctx->type, ctx->protocol);
	if (ev.result) { /* failed by a program of the enforced cgroup */
		events.perf_submit(ctx, &ev, sizeof(ev));
		return;
	}
	thread_connect.update(&id, &cookie);
	if (pending.update(&cookie, &ev))
		count_stat(DEPTRACE_STAT_UNTRACKED_CONNECTS);
	else
		open_count_add(DEPTRACE_OPEN_PENDING, 1);
}

#endif

/* cgroup/sock_release, for every IPv4/IPv6 socket closed on the machine. */
int trace_release(struct bpf_sock *sk)
{
	u64 cookie;

	if (!open_count_zero(DEPTRACE_OPEN_FIRST_BYTES)) {
		cookie = bpf_get_socket_cookie(sk);
		first_bytes_forget(cookie);
	}
#if !DEPTRACE_SYSCALL_HOOKS
	struct deptrace_connect_event *ev;

	if (open_count_zero(DEPTRACE_OPEN_PENDING))
		return 1;
	cookie = bpf_get_socket_cookie(sk);
	ev = pending.lookup(&cookie);
	if (ev)
		submit_ended(sk, cookie, ev, sk->state);
#endif
	return 1;
}

/* One entry point per hook: the verifier lets a program read user_ip4 or
 * user_ip6 by the hook it is attached to. */
int trace_connect4(struct bpf_sock_addr *ctx)
{
	note_dns_sender(ctx);
#if !DEPTRACE_SYSCALL_HOOKS
	open_cgroup_connect(ctx, DEPTRACE_AF_INET);
#endif
	return 1;
}

int trace_connect6(struct bpf_sock_addr *ctx)
{
	note_dns_sender(ctx);
#if !DEPTRACE_SYSCALL_HOOKS
	open_cgroup_connect(ctx, DEPTRACE_AF_INET6);
#endif
	return 1;
}
