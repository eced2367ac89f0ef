/* policy_cgroup.bpf.h: the enforced policy, as cgroup programs.
 *
 * Compiled in only with DEPTRACE_ENFORCE. A kprobe's return value is
 * ignored, so refusing is left to hooks that can: attached to the
 * command's cgroup (lib/enforce.c), connect4/connect6 refuse connect()
 * (TCP and UDP) and sendmsg4/sendmsg6 refuse datagrams sent without
 * connect(), both with EPERM, by the address rules; the egress program
 * drops DNS queries for denied names, so that the lookup fails however the
 * program resolves (connected or not, any library). A v4-mapped IPv6
 * destination is an IPv4 one: the rules hold IPv4 as v4-mapped.
 *
 * Refusals are reported through the tracing side's records: a refused
 * connect() marks the record its syscall opened (the kprobe backend's
 * tcp_v4_connect is never reached, so the destination is filled here); a
 * refused datagram or query has no such record and sends its own.
 *
 * Settings: DEPTRACE_ALLOW_LIST 1 when there are allow rules (anything
 * else is refused), DEPTRACE_POLICY_RULES capacity of the rule maps.
 */
#include <uapi/linux/bpf.h> /* struct bpf_sock_addr, struct __sk_buff */

BPF_LPM_TRIE(deny_nets, struct deptrace_net_key, u32, DEPTRACE_POLICY_RULES);
BPF_LPM_TRIE(allow_nets, struct deptrace_net_key, u32, DEPTRACE_POLICY_RULES);
BPF_HASH(deny_names, struct deptrace_name_key, u32, DEPTRACE_POLICY_RULES);

#define DEPTRACE_SOCK_STREAM_TYPE 1
#define DEPTRACE_ETH_P_IP 0x0800
#define DEPTRACE_ETH_P_IPV6 0x86DD
#define DEPTRACE_IPPROTO_UDP_NUMBER 17
#define DEPTRACE_DNS_HEADER_LEN 12
#define DEPTRACE_QNAME_MAX 256 /* a power of two above the longest wire name */

/* libbcc resolves a map only in a table.lookup() call, not through a
 * pointer: the trie is chosen here. */
static __always_inline u32 *net_rule(int allow, struct deptrace_net_key *key)
{
	return allow ? allow_nets.lookup(key) : deny_nets.lookup(key);
}

static __always_inline int net_rule_matches(int allow, struct deptrace_net_key *key,
					    u16 port_be)
{
	/* a rule for any port is stored with port 0: look up both */
	__builtin_memcpy(key->port, &port_be, 2);
	if (net_rule(allow, key))
		return 1;
	__builtin_memset(key->port, 0, 2);
	return net_rule(allow, key) != NULL;
}

static __always_inline int address_refused(const u8 addr[16], u16 port_be)
{
	struct deptrace_net_key key = { .prefixlen = 16 + 128 };

	__builtin_memcpy(key.addr, addr, 16);
	if (net_rule_matches(0, &key, port_be))
		return 1;
#if DEPTRACE_ALLOW_LIST
	return !net_rule_matches(1, &key, port_be);
#else
	return 0;
#endif
}

static __always_inline void ipv4_as_mapped(u8 addr[16], u32 ip4_be)
{
	__builtin_memset(addr, 0, 10);
	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(addr + 12, &ip4_be, 4);
}

/* The verifier lets a program read user_ip4 or user_ip6 by the hook it
 * is attached to, so each family has its own entry points. */
static __always_inline const u8 *destination4(struct bpf_sock_addr *ctx, u8 addr[16])
{
	ipv4_as_mapped(addr, ctx->user_ip4);
	return addr;
}

static __always_inline const u8 *destination6(struct bpf_sock_addr *ctx, u8 addr[16])
{
	u32 words[4] = { ctx->user_ip6[0], ctx->user_ip6[1],
			 ctx->user_ip6[2], ctx->user_ip6[3] };

	__builtin_memcpy(addr, words, 16);
	return addr;
}

static __always_inline void fill_refused(struct deptrace_connect_event *ev,
					 struct bpf_sock_addr *ctx, u16 family,
					 const u8 addr[16])
{
	ev->family = family;
	ev->dport = ntohs((u16)ctx->user_port);
	if (family == DEPTRACE_AF_INET)
		__builtin_memcpy(ev->daddr, addr + 12, 4);
	else
		__builtin_memcpy(ev->daddr, addr, 16);
	ev->proto = ctx->type == DEPTRACE_SOCK_STREAM_TYPE ? DEPTRACE_PROTO_TCP
							   : DEPTRACE_PROTO_UDP;
	ev->blocked = 1;
	ev->result = -1; /* -EPERM */
}

/* 1 lets the connect() go on; 0 makes it fail with EPERM. */
static __always_inline int judge_connect(struct bpf_sock_addr *ctx, u16 family,
					 const u8 addr[16])
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_connect_event *ev = inflight.lookup(&id);

	if (ev)
		ev->judged = 1;
	if (!address_refused(addr, (u16)ctx->user_port))
		return 1;
	if (ev)
		fill_refused(ev, ctx, family, addr);
	return 0;
}

static __always_inline int judge_datagram(struct bpf_sock_addr *ctx, u16 family,
					  const u8 addr[16])
{
	struct deptrace_proc *proc = current_traced_proc();
	struct deptrace_connect_event ev = {};

	if (!address_refused(addr, (u16)ctx->user_port))
		return 1;
	fill_header(&ev.h, DEPTRACE_EVENT_SEND_BLOCKED, proc ? proc->ppid : 0);
	ev.fd = -1;
	fill_refused(&ev, ctx, family, addr);
	events.perf_submit(ctx, &ev, sizeof(ev));
	return 0;
}

/* The entry points: the hook's family, and whether it is a connect(). */
int policy_connect4(struct bpf_sock_addr *ctx)
{
	u8 addr[16];

	return judge_connect(ctx, DEPTRACE_AF_INET, destination4(ctx, addr));
}

int policy_connect6(struct bpf_sock_addr *ctx)
{
	u8 addr[16];

	return judge_connect(ctx, DEPTRACE_AF_INET6, destination6(ctx, addr));
}

int policy_sendmsg4(struct bpf_sock_addr *ctx)
{
	u8 addr[16];

	return judge_datagram(ctx, DEPTRACE_AF_INET, destination4(ctx, addr));
}

int policy_sendmsg6(struct bpf_sock_addr *ctx)
{
	u8 addr[16];

	return judge_datagram(ctx, DEPTRACE_AF_INET6, destination6(ctx, addr));
}

/* Offset of the UDP payload of a datagram to port 53, or 0. The egress
 * hook sees the packet from its network header on. */
static __always_inline u32 dns_query_offset(struct __sk_buff *skb)
{
	u32 l4;
	u8 proto;
	__be16 dport;

	if (skb->protocol == htons(DEPTRACE_ETH_P_IP)) {
		u8 version_ihl;

		if (bpf_skb_load_bytes(skb, 0, &version_ihl, 1) ||
		    bpf_skb_load_bytes(skb, 9, &proto, 1))
			return 0;
		l4 = (version_ihl & 0xf) * 4;
	} else if (skb->protocol == htons(DEPTRACE_ETH_P_IPV6)) {
		/* extension headers are not walked: queries do not carry them */
		if (bpf_skb_load_bytes(skb, 6, &proto, 1))
			return 0;
		l4 = 40;
	} else {
		return 0;
	}
	if (proto != DEPTRACE_IPPROTO_UDP_NUMBER ||
	    bpf_skb_load_bytes(skb, l4 + 2, &dport, 2) ||
	    dport != htons(DEPTRACE_DNS_PORT))
		return 0;
	return l4 + 8;
}

/* An index into a name buffer the verifier can see is in bounds: clang
 * drops a mask it can prove redundant and indexes with an unmasked copy. */
static __always_inline u32 name_index(u32 i)
{
	asm volatile("" : "+r"(i));
	return i & (DEPTRACE_QNAME_MAX - 1);
}

/* Whether the query name in `buf` (wire form, n bytes loaded, zeros after)
 * or a name it is below is denied. One pass forwards marks where labels
 * start and finds the end; one backwards hashes every suffix
 * (DEPTRACE_NAME_HASH_MULT) and looks up each position, with a hash of 0
 * where no label starts. Both run a fixed count with no branch but their
 * exits, 0/1 factors standing in for conditions: a branch both ways of
 * which go on doubles the paths the verifier walks at every step. */
static __always_inline int qname_denied(const u8 *buf, u32 n)
{
	u64 starts[DEPTRACE_QNAME_MAX / 64] = {};
	u64 hash = 0, weight = 1, done = 0, end = 0;
	u32 pos = 0;

	for (int label = 0; label < DEPTRACE_QNAME_MAX / 2; label++) {
		u64 len, zero;
		u32 at;

		if (pos >= n)
			return 0; /* no final zero label in reach: not a query */
		at = name_index(pos);
		len = buf[at];
		if (len > 63)
			return 0; /* compression has no place in a question */
		zero = (len - 1) >> 63;
		end |= at * (zero & ~done & 1);
		done |= zero;
		starts[at >> 6] |= (1 - done) << (at & 63);
		pos = at + (u32)((len + 1) * (1 - done));
	}
	if (!done)
		return 0;
	for (u32 i = 0; i < DEPTRACE_QNAME_MAX; i++) {
		struct deptrace_name_key key = {};
		u32 at = DEPTRACE_QNAME_MAX - 1 - i;
		u64 inside = ((u64)at - end) >> 63; /* at < end */

		hash += (u64)((buf[at] | 0x20) + 1) * weight * inside;
		weight *= 1 + (DEPTRACE_NAME_HASH_MULT - 1) * inside;
		key.hash = hash * ((starts[at >> 6] >> (at & 63)) & 1);
		key.below = (at | -at) >> 31; /* at != 0 */
		if (deny_names.lookup(&key))
			return 1;
	}
	return 0;
}

/* cgroup_skb/egress: 1 lets the packet out; 0 drops it, and the sending
 * call fails with EPERM. The record names no process (not every kernel
 * lets a packet program ask): the query's own record, sent before from the
 * syscall, is found by its DNS ID. */
int policy_dns_egress(struct __sk_buff *skb)
{
	struct deptrace_lookup_blocked rec = { .h.type = DEPTRACE_EVENT_LOOKUP_BLOCKED };
	u8 name[DEPTRACE_QNAME_MAX] = {};
	u32 off = dns_query_offset(skb), n;
	__be16 dns_id;

	if (!off || skb->len <= off + DEPTRACE_DNS_HEADER_LEN)
		return 1;
	n = skb->len - off - DEPTRACE_DNS_HEADER_LEN; /* above 0 */
	if (n > DEPTRACE_QNAME_MAX)
		n = DEPTRACE_QNAME_MAX;
	/* 1 to DEPTRACE_QNAME_MAX in a form every verifier follows (6.1's
	 * loses a zero check on a copy of n); the empty asm keeps clang from
	 * dropping the mask, as in dns_capture.bpf.h */
	asm volatile("" : "+r"(n));
	n = ((n - 1) & (DEPTRACE_QNAME_MAX - 1)) + 1;
	if (bpf_skb_load_bytes(skb, off + DEPTRACE_DNS_HEADER_LEN, name, n) ||
	    bpf_skb_load_bytes(skb, off, &dns_id, 2))
		return 1;
	if (!qname_denied(name, n))
		return 1;
	rec.h.ts_ns = bpf_ktime_get_ns();
	rec.dns_id = ntohs(dns_id);
	events.perf_submit(skb, &rec, sizeof(rec));
	return 0;
}
