/* dns_capture.bpf.h: the DNS messages of traced processes, and the first
 * bytes they send on the TCP connections they make, as packets, copied
 * (DNS whole up to DEPTRACE_DNS_CAPTURE bytes, first bytes up to
 * DEPTRACE_FIRST_BYTES: powers of two, the verifier needs a mask) for user
 * space to parse. No syscall is hooked here.
 *
 * cgroup programs linked to the cgroup v2 root (lib/tracer.c) run for
 * every socket on the machine, but only on the calls and packets they
 * hook: connect4/connect6 (connect_cgroup.bpf.h) and sendmsg4/sendmsg6
 * note, by its socket cookie, a traced process's UDP socket connected to port 53 or sending
 * there without connect(), its TCP socket connecting to port 53 (DNS over
 * TCP), and any other TCP socket it connects; the egress and ingress
 * programs copy the datagrams (segments) such a DNS socket sends to port
 * 53 and receives from it, and egress the first segment with payload a
 * noted TCP socket sends, once. Each datagram is its own packet, however
 * it was sent or received (write, sendto, sendmsg, glibc's sendmmsg of A
 * and AAAA, read, recvmmsg, io_uring, ...). A record names the process
 * that last connected or sent on the socket: a packet program cannot ask
 * whose it is on every kernel, and ingress runs in no process's context
 * at all.
 *
 * The packet programs run for every packet on the machine: while no
 * socket was ever noted for DNS (DEPTRACE_OPEN_DNS) and none waits for its
 * first bytes (DEPTRACE_OPEN_FIRST_BYTES), they return before reading it.
 *
 * The sock_addr programs only look: they always let the call go on (1),
 * beside the enforced policy's, which may refuse it.
 */
#include "dns_packet.bpf.h"

BPF_TABLE("lru_hash", u64, struct deptrace_header, dns_senders, 16384); /* cookie -> sender */
BPF_PERCPU_ARRAY(dns_scratch, struct deptrace_dns_event, 1);
/* TCP sockets whose first payload is still to come: cookie -> connecting
 * thread (a connection that never sends is forgotten as the LRU fills) */
BPF_TABLE("lru_hash", u64, struct deptrace_header, first_bytes_wanted, 16384);
BPF_PERCPU_ARRAY(first_bytes_scratch, struct deptrace_first_bytes_event, 1);

static __always_inline int note_dns_sender(struct bpf_sock_addr *ctx)
{
	struct deptrace_header sender = {};
	struct deptrace_proc *proc;
	int dns = (u16)ctx->user_port == htons(DEPTRACE_DNS_PORT);
	u64 cookie;

	if (ctx->protocol != DEPTRACE_IPPROTO_TCP && (ctx->protocol != DEPTRACE_IPPROTO_UDP || !dns))
		return 1;
	proc = current_traced_proc();
	if (!proc)
		return 1;
	fill_header(&sender, dns ? DEPTRACE_EVENT_DNS : DEPTRACE_EVENT_FIRST_BYTES, proc->ppid);
	cookie = bpf_get_socket_cookie(ctx);
	if (dns) {
		if (!dns_senders.update(&cookie, &sender) && open_count_zero(DEPTRACE_OPEN_DNS))
			open_count_add(DEPTRACE_OPEN_DNS, 1);
	} else if (!first_bytes_wanted.insert(&cookie, &sender)) {
		open_count_add(DEPTRACE_OPEN_FIRST_BYTES, 1);
	} else {
		first_bytes_wanted.update(&cookie, &sender); /* connected again */
	}
	return 1;
}

/* A noted socket's wait for its first bytes, ended (sent, or the socket
 * released before it sent any: connect_cgroup.bpf.h's trace_release). */
static __always_inline void first_bytes_forget(u64 cookie)
{
	if (!first_bytes_wanted.delete(&cookie))
		open_count_add(DEPTRACE_OPEN_FIRST_BYTES, -1);
}

/* One entry point per hook: a program is loaded for the one it attaches
 * to. connect4/connect6 note senders too (connect_cgroup.bpf.h). */
int dns_sendmsg4(struct bpf_sock_addr *ctx)
{
	return note_dns_sender(ctx);
}

int dns_sendmsg6(struct bpf_sock_addr *ctx)
{
	return note_dns_sender(ctx);
}

/* `n` bytes cut to 1..cap (a power of two) in a form every verifier
 * follows: the empty asm hides n's range from clang, which would otherwise
 * drop the mask the verifier needs to see the bound; masking n - 1 and
 * adding 1 back keeps all of cap. */
static __always_inline u32 capture_len(u32 n, u32 cap)
{
	if (n > cap)
		n = cap;
	asm volatile("" : "+r"(n));
	return ((n - 1) & (cap - 1)) + 1;
}

/* Offset of the payload of a TCP segment or UDP datagram whose transport
 * header is at `l4`, with its port at `port_at` (of the two offsets of
 * dns_packet.bpf.h: TCP's are where UDP's are) in *port; 0 if unread. */
static __always_inline u32 payload_offset(struct __sk_buff *skb, u32 l4, u8 proto,
					  u32 port_at, u16 *port)
{
	__be16 be;
	u8 doff;

	if (bpf_skb_load_bytes(skb, l4 + port_at, &be, 2))
		return 0;
	*port = ntohs(be);
	if (proto == DEPTRACE_IPPROTO_UDP)
		return l4 + 8;
	if (proto != DEPTRACE_IPPROTO_TCP || bpf_skb_load_bytes(skb, l4 + 12, &doff, 1))
		return 0;
	return l4 + (doff >> 4) * 4;
}

/* A datagram (a segment with payload) of a noted socket whose port at
 * `port_at` is 53. */
static __always_inline void capture_dns(struct __sk_buff *skb, u32 l4, u8 proto, u32 port_at,
					u8 direction)
{
	u32 zero = 0, off, n;
	struct deptrace_header *sender;
	struct deptrace_dns_event *ev;
	u16 port = 0;
	u64 cookie;

	if (open_count_zero(DEPTRACE_OPEN_DNS)) /* no DNS socket noted yet */
		return;
	off = payload_offset(skb, l4, proto, port_at, &port);
	if (!off || port != DEPTRACE_DNS_PORT || skb->len <= off)
		return;
	cookie = bpf_get_socket_cookie(skb);
	sender = dns_senders.lookup(&cookie);
	ev = dns_scratch.lookup(&zero);
	if (!sender || !ev)
		return;
	ev->full_len = skb->len - off;
	n = capture_len(skb->len - off, DEPTRACE_DNS_CAPTURE);
	if (bpf_skb_load_bytes(skb, off, ev->payload, n))
		return;
	ev->h = *sender;
	ev->h.ts_ns = bpf_ktime_get_ns();
	ev->len = n;
	ev->direction = direction;
	ev->tcp = proto == DEPTRACE_IPPROTO_TCP;
	ev->cookie = cookie;
	events.perf_submit(skb, ev, sizeof(*ev));
}

/* The first segment with payload a noted TCP socket sends, once. */
static __always_inline void capture_first_bytes(struct __sk_buff *skb, u32 l4)
{
	struct deptrace_first_bytes_event *ev;
	struct deptrace_header *sender;
	u32 zero = 0, off, n;
	__be16 ports[2];
	u16 port = 0;
	u64 cookie;

	if (open_count_zero(DEPTRACE_OPEN_FIRST_BYTES))
		return;
	cookie = bpf_get_socket_cookie(skb);
	sender = first_bytes_wanted.lookup(&cookie);
	if (!sender)
		return;
	off = payload_offset(skb, l4, DEPTRACE_IPPROTO_TCP, DEPTRACE_UDP_DEST_PORT, &port);
	if (!off || skb->len <= off)
		return;          /* the SYN, an ACK: the payload is still to come */
	ev = first_bytes_scratch.lookup(&zero);
	if (!ev || bpf_skb_load_bytes(skb, l4, ports, 4) || packet_destination(skb, ev->daddr))
		goto done;
	ev->full_len = skb->len - off;
	n = capture_len(skb->len - off, DEPTRACE_FIRST_BYTES);
	if (bpf_skb_load_bytes(skb, off, ev->payload, n))
		goto done;
	ev->h = *sender;
	ev->h.ts_ns = bpf_ktime_get_ns();
	ev->len = n;
	ev->sport = ntohs(ports[0]);
	ev->dport = port;
	events.perf_submit(skb, ev, sizeof(*ev));
done:
	first_bytes_forget(cookie);
}

/* cgroup_skb programs: 1 lets the packet through. */
int dns_egress(struct __sk_buff *skb)
{
	u8 proto = 0;
	u32 l4;

	if (open_count_zero(DEPTRACE_OPEN_DNS) && open_count_zero(DEPTRACE_OPEN_FIRST_BYTES))
		return 1;
	l4 = packet_transport_offset(skb, &proto);
	if (!l4)
		return 1;
	capture_dns(skb, l4, proto, DEPTRACE_UDP_DEST_PORT, DEPTRACE_DNS_SENT);
	if (proto == DEPTRACE_IPPROTO_TCP)
		capture_first_bytes(skb, l4);
	return 1;
}

int dns_ingress(struct __sk_buff *skb)
{
	u8 proto = 0;
	u32 l4;

	if (open_count_zero(DEPTRACE_OPEN_DNS))
		return 1;
	l4 = packet_transport_offset(skb, &proto);
	if (l4)
		capture_dns(skb, l4, proto, DEPTRACE_UDP_SOURCE_PORT, DEPTRACE_DNS_RECEIVED);
	return 1;
}
