/* dns_capture.bpf.h: the DNS datagrams of traced processes, as packets,
 * copied whole (up to DEPTRACE_DNS_CAPTURE bytes, a power of two: the
 * verifier needs a mask) for user space to parse. No syscall is hooked here.
 *
 * cgroup programs linked to the cgroup v2 root (lib/tracer.c) run for
 * every socket on the machine, but only on the calls and packets they
 * hook: connect4/connect6 and sendmsg4/sendmsg6 note, by its socket
 * cookie, a traced process's UDP socket connected to port 53 or sending
 * there without connect(); the egress and ingress programs copy the
 * datagrams such a socket sends to port 53 and receives from it. Each
 * datagram is its own packet, however it was sent or received (write,
 * sendto, sendmsg, glibc's sendmmsg of A and AAAA, read, recvmmsg,
 * io_uring, ...). A record names the process that last connected or sent
 * to port 53 on the socket: a packet program cannot ask whose it is on
 * every kernel, and ingress runs in no process's context at all.
 *
 * The sock_addr programs only look: they always let the call go on (1),
 * beside the enforced policy's, which may refuse it.
 */
#include "dns_packet.bpf.h"

BPF_TABLE("lru_hash", u64, struct deptrace_header, dns_senders, 16384); /* cookie -> sender */
BPF_PERCPU_ARRAY(dns_scratch, struct deptrace_dns_event, 1);

static __always_inline int note_dns_sender(struct bpf_sock_addr *ctx)
{
	struct deptrace_header sender = {};
	struct deptrace_proc *proc;
	u64 cookie;

	if (ctx->protocol != DEPTRACE_IPPROTO_UDP ||
	    (u16)ctx->user_port != htons(DEPTRACE_DNS_PORT))
		return 1;
	proc = current_traced_proc();
	if (!proc)
		return 1;
	fill_header(&sender, DEPTRACE_EVENT_DNS, proc->ppid);
	cookie = bpf_get_socket_cookie(ctx);
	dns_senders.update(&cookie, &sender);
	return 1;
}

/* One entry point per hook: a program is loaded for the one it attaches to. */
int dns_connect4(struct bpf_sock_addr *ctx)
{
	return note_dns_sender(ctx);
}

int dns_connect6(struct bpf_sock_addr *ctx)
{
	return note_dns_sender(ctx);
}

int dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	return note_dns_sender(ctx);
}

int dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	return note_dns_sender(ctx);
}

/* A datagram of a noted socket whose port at `port_at` is 53. */
static __always_inline void capture_dns(struct __sk_buff *skb, u32 port_at, u8 direction)
{
	u32 zero = 0, off = dns_payload_offset(skb, port_at), n;
	struct deptrace_header *sender;
	struct deptrace_dns_event *ev;
	u64 cookie;

	if (!off || skb->len <= off)
		return;
	cookie = bpf_get_socket_cookie(skb);
	sender = dns_senders.lookup(&cookie);
	ev = dns_scratch.lookup(&zero);
	if (!sender || !ev)
		return;
	n = skb->len - off;
	ev->full_len = n;
	if (n > DEPTRACE_DNS_CAPTURE)
		n = DEPTRACE_DNS_CAPTURE;
	/* 1 to DEPTRACE_DNS_CAPTURE in a form every verifier follows: the
	 * empty asm hides n's range from clang, which would otherwise drop
	 * the mask the verifier needs to see the bound; masking n - 1 and
	 * adding 1 back keeps all of DEPTRACE_DNS_CAPTURE */
	asm volatile("" : "+r"(n));
	n = ((n - 1) & (DEPTRACE_DNS_CAPTURE - 1)) + 1;
	if (bpf_skb_load_bytes(skb, off, ev->payload, n))
		return;
	ev->h = *sender;
	ev->h.ts_ns = bpf_ktime_get_ns();
	ev->len = n;
	ev->direction = direction;
	events.perf_submit(skb, ev, sizeof(*ev));
}

/* cgroup_skb programs: 1 lets the packet through. */
int dns_egress(struct __sk_buff *skb)
{
	capture_dns(skb, DEPTRACE_UDP_DEST_PORT, DEPTRACE_DNS_SENT);
	return 1;
}

int dns_ingress(struct __sk_buff *skb)
{
	capture_dns(skb, DEPTRACE_UDP_SOURCE_PORT, DEPTRACE_DNS_RECEIVED);
	return 1;
}
