/* resolver_steer.bpf.h: the enforced cgroup's DNS, steered to deptrace's
 * resolver (lib/resolver.c).
 *
 * Compiled in with DEPTRACE_RESOLVER (name rules the kernel alone cannot
 * hold: an allow list of names, a name denied on a port), after
 * policy_cgroup.bpf.h, and linked to the same cgroup after its programs
 * (lib/enforce.c), so that the policy has judged the destination the
 * program asked for before it is rewritten here:
 *
 *   connect4, sendmsg4: a UDP destination on port 53 that is a DNS server
 *     deptrace forwards to (resolver_upstreams, from resolv.conf) becomes
 *     the resolver's listening address that stands for it (port 53 kept,
 *     so that the DNS capture still sees DNS); any other UDP destination
 *     on port 53 is refused with EPERM: the resolver would not know where
 *     to forward it, and it would escape the names' judgement;
 *   recvmsg4: a datagram from such a listening address reads as coming
 *     from the server asked (glibc drops an answer from another address);
 *   connect6, sendmsg6, recvmsg6: the same for an IPv6 socket asking an
 *     IPv4 server (v4-mapped); UDP to port 53 of any other IPv6 address is
 *     refused: the resolver listens on IPv4 only.
 *
 * DNS over TCP is refused by policy_cgroup.bpf.h's connect programs under
 * name rules. Refusals are reported as the policy's are, once: what the
 * policy's program refused (and reported) is only refused here.
 */
/* an upstream's IPv4 address -> its listening address (network order) */
BPF_HASH(resolver_upstreams, u32, u32, DEPTRACE_RESOLVER_UPSTREAMS);
/* a listening address -> the upstream it stands for */
BPF_HASH(resolver_sources, u32, u32, DEPTRACE_RESOLVER_UPSTREAMS);

static __always_inline int steered_dns(struct bpf_sock_addr *ctx)
{
	return ctx->type == DEPTRACE_SOCK_DGRAM_TYPE &&
	       (u16)ctx->user_port == htons(DEPTRACE_DNS_PORT);
}

/* The refusal of a connect(): the record its syscall opened says so. */
static __always_inline int steer_refuse_connect(struct bpf_sock_addr *ctx, u16 family,
						const u8 addr[16])
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_connect_event *ev = inflight.lookup(&id);

	if (ev)
		fill_refused(ev, ctx, family, addr);
	return 0;
}

/* The refusal of a datagram sent without connect(): a record of its own. */
static __always_inline int steer_refuse_datagram(struct bpf_sock_addr *ctx, u16 family,
						 const u8 addr[16])
{
	struct deptrace_proc *proc = current_traced_proc();
	struct deptrace_connect_event ev = {};

	fill_header(&ev.h, DEPTRACE_EVENT_SEND_BLOCKED, proc ? proc->ppid : 0);
	ev.fd = -1;
	fill_refused(&ev, ctx, family, addr);
	events.perf_submit(ctx, &ev, sizeof(ev));
	return 0;
}

/* 1 with the destination rewritten, or 0 (refused) for a server the
 * resolver does not stand for. */
static __always_inline int steer4(struct bpf_sock_addr *ctx, int connecting)
{
	u32 server = ctx->user_ip4, *listen;
	u8 addr[16];

	if (!steered_dns(ctx))
		return 1;
	listen = resolver_upstreams.lookup(&server);
	if (listen) {
		ctx->user_ip4 = *listen;
		return 1;
	}
	ipv4_as_mapped(addr, server);
	/* the policy's program, before this one, refused and reported it */
	if (address_refused(addr, (u16)ctx->user_port))
		return 0;
	return connecting ? steer_refuse_connect(ctx, DEPTRACE_AF_INET, addr)
			  : steer_refuse_datagram(ctx, DEPTRACE_AF_INET, addr);
}

/* IPv6: a v4-mapped server (an IPv6 socket asking an IPv4 server) is
 * steered as over IPv4, to the v4-mapped listening address; any other
 * IPv6 destination on port 53 is refused. */
static __always_inline int steer6(struct bpf_sock_addr *ctx, int connecting)
{
	u32 words[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2],
			 ctx->user_ip6[3] };
	u32 server = words[3], *listen;
	u8 addr[16];

	if (!steered_dns(ctx))
		return 1;
	if (!words[0] && !words[1] && words[2] == htonl(0xffff)) {
		listen = resolver_upstreams.lookup(&server);
		if (listen) {
			ctx->user_ip6[3] = *listen;
			return 1;
		}
	}
	__builtin_memcpy(addr, words, 16);
	if (address_refused(addr, (u16)ctx->user_port))
		return 0;
	return connecting ? steer_refuse_connect(ctx, DEPTRACE_AF_INET6, addr)
			  : steer_refuse_datagram(ctx, DEPTRACE_AF_INET6, addr);
}

int steer_connect4(struct bpf_sock_addr *ctx)
{
	return steer4(ctx, 1);
}

int steer_sendmsg4(struct bpf_sock_addr *ctx)
{
	return steer4(ctx, 0);
}

int steer_connect6(struct bpf_sock_addr *ctx)
{
	return steer6(ctx, 1);
}

int steer_sendmsg6(struct bpf_sock_addr *ctx)
{
	return steer6(ctx, 0);
}

/* recvmsg programs must return 1: they may only rewrite the source. */
int steer_recvmsg4(struct bpf_sock_addr *ctx)
{
	u32 listen = ctx->user_ip4, *server;

	if ((u16)ctx->user_port != htons(DEPTRACE_DNS_PORT))
		return 1;
	server = resolver_sources.lookup(&listen);
	if (server)
		ctx->user_ip4 = *server;
	return 1;
}

/* An IPv6 socket's answer from a v4-mapped listening address. */
int steer_recvmsg6(struct bpf_sock_addr *ctx)
{
	u32 listen = ctx->user_ip6[3], *server;

	if ((u16)ctx->user_port != htons(DEPTRACE_DNS_PORT) || ctx->user_ip6[0] ||
	    ctx->user_ip6[1] || ctx->user_ip6[2] != htonl(0xffff))
		return 1;
	server = resolver_sources.lookup(&listen);
	if (server)
		ctx->user_ip6[3] = *server;
	return 1;
}
