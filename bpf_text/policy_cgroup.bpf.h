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
 * What the policy cannot judge is refused (fail closed): sock_create
 * refuses every socket but TCP and UDP (UDP-Lite, ICMP "ping" sockets,
 * SCTP, MPTCP and raw sockets pass neither the connect nor the sendmsg
 * hooks, or not on every kernel); the egress program refuses a query to
 * port 53 whose question it cannot read, or that shares its send with
 * others (UDP GSO); with name rules, connect4/connect6 refuse DNS over TCP
 * (its queries are a byte stream, not one per packet). An unspecified
 * destination (0.0.0.0, ::, ::ffff:0.0.0.0) is this host, which the
 * kernel reaches through loopback: it is rewritten to loopback in the
 * caller's request, so that what is judged is what is used.
 *
 * Refusals are reported through the tracing side's records: a refused
 * connect() marks the record its syscall opened (the kprobe backend's
 * tcp_v4_connect is never reached, so the destination is filled here); a
 * refused datagram, socket or query has no such record and sends its own.
 *
 * Settings: DEPTRACE_ALLOW_LIST 1 when there are allow rules (anything
 * else is refused), DEPTRACE_POLICY_RULES capacity of the rule maps; the
 * policy_settings map says at run time whether there are name rules.
 */
#include "dns_packet.bpf.h"

/* the --outage addresses: given, and learnt from answers */
#define DEPTRACE_OUTAGE_ADDRESSES (4 * DEPTRACE_POLICY_RULES)

BPF_LPM_TRIE(deny_nets, struct deptrace_net_key, u32, DEPTRACE_POLICY_RULES);
BPF_LPM_TRIE(allow_nets, struct deptrace_net_key, u32, DEPTRACE_POLICY_RULES);
/* --outage targets: enum deptrace_outage_mode; the address targets, and
 * the addresses the answers for name targets gave (policy_dns_ingress) */
BPF_LPM_TRIE(outage_nets, struct deptrace_net_key, u32, DEPTRACE_OUTAGE_ADDRESSES);
BPF_HASH(deny_names, struct deptrace_name_key, u32, DEPTRACE_POLICY_RULES);
/* --outage name targets: DEPTRACE_OUTAGE_TAG(mode, port) */
BPF_HASH(outage_names, struct deptrace_name_key, u32, DEPTRACE_POLICY_RULES);
/* [DEPTRACE_SETTING_NAME_RULES]: how many name rules, [..._OUTAGE_NAMES]:
 * how many --outage names (lib/enforce.c) */
BPF_ARRAY(policy_settings, u32, DEPTRACE_SETTINGS);

#define DEPTRACE_SOCK_STREAM_TYPE 1
#define DEPTRACE_SOCK_DGRAM_TYPE 2
#define DEPTRACE_SOCK_RAW_TYPE 3
#define DEPTRACE_IPPROTO_ICMP_NUMBER 1
#define DEPTRACE_IPPROTO_TCP_NUMBER 6
#define DEPTRACE_IPPROTO_UDP_NUMBER 17
#define DEPTRACE_IPPROTO_ICMPV6_NUMBER 58
#define DEPTRACE_IPPROTO_UDPLITE_NUMBER 136
#define DEPTRACE_INADDR_LOOPBACK 0x7f000001
#define DEPTRACE_ECONNREFUSED 111

#define DEPTRACE_DENY_NAMES 0
#define DEPTRACE_OUTAGE_NAMES 1

/* dns_question.h's lookup: 1 for a deny rule; an --outage name's tag with
 * bit 31 set. Why the bit: a match must be nonzero to the verifier too,
 * or each step of the walk forks on the value read (zero or not), and the
 * paths double with every one. */
static __always_inline __u32 deptrace_name_rule(struct deptrace_name_key *key, int table)
{
	u32 *tag;

	if (table == DEPTRACE_DENY_NAMES)
		return deny_names.lookup(key) != NULL;
	tag = outage_names.lookup(key);
	return tag ? *tag | 0x80000000u : 0;
}

#include "dns_question.h"

#define DEPTRACE_DENY_NETS 0
#define DEPTRACE_ALLOW_NETS 1
#define DEPTRACE_OUTAGE_NETS 2

/* libbcc resolves a map only in a table.lookup() call, not through a
 * pointer: the trie is chosen here. */
static __always_inline u32 *net_rule(int trie, struct deptrace_net_key *key)
{
	if (trie == DEPTRACE_OUTAGE_NETS)
		return outage_nets.lookup(key);
	return trie == DEPTRACE_ALLOW_NETS ? allow_nets.lookup(key) : deny_nets.lookup(key);
}

/* The value of the rule for key's address and this port, or NULL. */
static __always_inline u32 *net_rule_find(int trie, struct deptrace_net_key *key, u16 port_be)
{
	u32 *value;

	/* a rule for any port is stored with port 0: look up both */
	__builtin_memcpy(key->port, &port_be, 2);
	value = net_rule(trie, key);
	if (value)
		return value;
	__builtin_memset(key->port, 0, 2);
	return net_rule(trie, key);
}

static __always_inline int net_rule_matches(int trie, struct deptrace_net_key *key,
					    u16 port_be)
{
	return net_rule_find(trie, key, port_be) != NULL;
}

/* The --outage mode of addr:port, or 0. */
static __always_inline u32 outage_mode(const u8 addr[16], u16 port_be)
{
	struct deptrace_net_key key = { .prefixlen = 16 + 128 };
	u32 *mode;

	__builtin_memcpy(key.addr, addr, 16);
	mode = net_rule_find(DEPTRACE_OUTAGE_NETS, &key, port_be);
	return mode ? *mode : 0;
}

static __always_inline int address_refused(const u8 addr[16], u16 port_be)
{
	struct deptrace_net_key key = { .prefixlen = 16 + 128 };

	__builtin_memcpy(key.addr, addr, 16);
	if (net_rule_matches(DEPTRACE_DENY_NETS, &key, port_be))
		return 1;
#if DEPTRACE_ALLOW_LIST
	return !net_rule_matches(DEPTRACE_ALLOW_NETS, &key, port_be);
#else
	return 0;
#endif
}

/* The verifier lets a program read user_ip4 or user_ip6 by the hook it
 * is attached to, so each family has its own entry points. An unspecified
 * destination is rewritten to the loopback the kernel would send it to
 * (a socket bound to another local address would have gone there: it
 * goes to loopback too, which the policy has judged). */
static __always_inline const u8 *destination4(struct bpf_sock_addr *ctx, u8 addr[16])
{
	if (!ctx->user_ip4)
		ctx->user_ip4 = htonl(DEPTRACE_INADDR_LOOPBACK);
	ipv4_as_mapped(addr, ctx->user_ip4);
	return addr;
}

static __always_inline const u8 *destination6(struct bpf_sock_addr *ctx, u8 addr[16])
{
	u32 words[4] = { ctx->user_ip6[0], ctx->user_ip6[1],
			 ctx->user_ip6[2], ctx->user_ip6[3] };

	/* :: is ::1; ::ffff:0.0.0.0, IPv4's 0.0.0.0, is ::ffff:127.0.0.1 */
	if (!(words[0] | words[1] | words[3]) &&
	    (!words[2] || words[2] == htonl(0xffff))) {
		words[3] = htonl(words[2] ? DEPTRACE_INADDR_LOOPBACK : 1);
		ctx->user_ip6[3] = words[3];
	}
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

static __always_inline u32 policy_setting(u32 slot)
{
	u32 *value = policy_settings.lookup(&slot);

	return value ? *value : 0;
}

/* DNS over TCP, with name rules or --outage names: its queries and answers
 * are a stream that one packet at a time cannot judge (one split across
 * segments, or begun in the middle of one). */
static __always_inline int tcp_dns_refused(struct bpf_sock_addr *ctx)
{
	return ctx->type == DEPTRACE_SOCK_STREAM_TYPE &&
	       (u16)ctx->user_port == htons(DEPTRACE_DNS_PORT) &&
	       (policy_setting(DEPTRACE_SETTING_NAME_RULES) ||
		policy_setting(DEPTRACE_SETTING_OUTAGE_NAMES));
}

/* 1 lets the connect() go on; 0 makes it fail with EPERM, or with
 * ECONNREFUSED for an --outage target in refuse mode (bpf_set_retval:
 * the error the call returns when the program says no; Linux 5.18). */
static __always_inline int judge_connect(struct bpf_sock_addr *ctx, u16 family,
					 const u8 addr[16])
{
	u64 id = bpf_get_current_pid_tgid();
	struct deptrace_connect_event *ev = inflight.lookup(&id);

	if (ev)
		ev->judged = 1;
	if (address_refused(addr, (u16)ctx->user_port) || tcp_dns_refused(ctx)) {
		if (ev)
			fill_refused(ev, ctx, family, addr);
		return 0;
	}
	if (outage_mode(addr, (u16)ctx->user_port) == DEPTRACE_OUTAGE_REFUSE) {
		bpf_set_retval(-DEPTRACE_ECONNREFUSED);
		return 0;
	}
	return 1;
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

/* The protocol column of a socket the policy cannot judge, or
 * DEPTRACE_PROTO_UNKNOWN for TCP and UDP, which it judges. */
static __always_inline u8 unjudged_protocol(u32 type, u32 protocol)
{
	if (type == DEPTRACE_SOCK_STREAM_TYPE && protocol == DEPTRACE_IPPROTO_TCP_NUMBER)
		return DEPTRACE_PROTO_UNKNOWN;
	if (type == DEPTRACE_SOCK_DGRAM_TYPE && protocol == DEPTRACE_IPPROTO_UDP_NUMBER)
		return DEPTRACE_PROTO_UNKNOWN;
	if (type == DEPTRACE_SOCK_RAW_TYPE)
		return DEPTRACE_PROTO_RAW;
	if (protocol == DEPTRACE_IPPROTO_UDPLITE_NUMBER)
		return DEPTRACE_PROTO_UDPLITE;
	if (protocol == DEPTRACE_IPPROTO_ICMP_NUMBER || protocol == DEPTRACE_IPPROTO_ICMPV6_NUMBER)
		return DEPTRACE_PROTO_PING;
	return DEPTRACE_PROTO_OTHER;
}

/* cgroup/sock_create, for AF_INET and AF_INET6 sockets (the hook sees no
 * other family): 1 lets socket() go on; 0 makes it fail with EPERM. The
 * kernel has resolved protocol 0 to the type's own by then. */
int policy_sock_create(struct bpf_sock *sk)
{
	struct deptrace_proc *proc = current_traced_proc();
	struct deptrace_connect_event ev = {};
	u8 proto = unjudged_protocol(sk->type, sk->protocol);

	if (proto == DEPTRACE_PROTO_UNKNOWN)
		return 1;
	fill_header(&ev.h, DEPTRACE_EVENT_SOCKET_BLOCKED, proc ? proc->ppid : 0);
	ev.fd = -1;
	ev.family = sk->family;
	ev.proto = proto;
	ev.blocked = 1;
	ev.result = -1; /* -EPERM */
	events.perf_submit(sk, &ev, sizeof(ev));
	return 0;
}

/* The question's name bytes of the DNS message at off, whose header
 * (DEPTRACE_DNS_HEADER_LEN bytes) the packet holds and more: as many as
 * follow, up to DEPTRACE_QNAME_MAX, into name, their count in *n. 0, or
 * -1 when they cannot be loaded. */
static __always_inline int load_question_name(struct __sk_buff *skb, u32 off,
					      u8 name[DEPTRACE_QNAME_MAX], u32 *n_out)
{
	u32 n = skb->len - off - DEPTRACE_DNS_HEADER_LEN; /* above 0 */

	if (n > DEPTRACE_QNAME_MAX)
		n = DEPTRACE_QNAME_MAX;
	/* 1 to DEPTRACE_QNAME_MAX in a form every verifier follows (6.1's
	 * loses a zero check on a copy of n); the empty asm keeps clang from
	 * dropping the mask */
	asm volatile("" : "+r"(n));
	n = ((n - 1) & (DEPTRACE_QNAME_MAX - 1)) + 1;
	*n_out = n;
	return bpf_skb_load_bytes(skb, off + DEPTRACE_DNS_HEADER_LEN, name, n) ? -1 : 0;
}

/* A TCP or UDP packet to an --outage target in blackhole mode: dropped, so
 * that a connect hangs until its program or the kernel gives up (TCP
 * ignores a failed send of its SYN and retransmits). */
static __always_inline int packet_blackholed(struct __sk_buff *skb)
{
	u8 proto, addr[16];
	u32 l4 = packet_transport_offset(skb, &proto);
	__be16 dport;

	if (!l4 || (proto != DEPTRACE_IPPROTO_TCP_NUMBER && proto != DEPTRACE_IPPROTO_UDP_NUMBER) ||
	    packet_destination(skb, addr) || bpf_skb_load_bytes(skb, l4 + 2, &dport, 2))
		return 0;
	return outage_mode(addr, dport) == DEPTRACE_OUTAGE_BLACKHOLE;
}

/* cgroup_skb/egress: 1 lets the packet out; 0 drops it, and the sending
 * call fails with EPERM (a packet to a blackholed --outage target is
 * dropped first, and not reported: its connect's outcome is). The record
 * names no process (not every kernel lets a packet program ask): the
 * query's own record, sent by the DNS capture's egress program
 * (dns_capture.bpf.h, linked to the cgroup v2 root, so run after this
 * one), is found by its DNS ID. */
int policy_dns_egress(struct __sk_buff *skb)
{
	struct deptrace_lookup_blocked rec = { .h.type = DEPTRACE_EVENT_LOOKUP_BLOCKED,
					       .reason = DEPTRACE_REFUSED_UNREADABLE };
	u8 name[DEPTRACE_QNAME_MAX] = {}, header[DEPTRACE_DNS_HEADER_LEN];
	u32 off, n, tag;
	int verdict = DEPTRACE_QUERY_UNREADABLE;

	if (packet_blackholed(skb))
		return 0;
	off = dns_payload_offset(skb, DEPTRACE_UDP_DEST_PORT);
	if (!off)
		return 1;
	if (skb->len > off + DEPTRACE_DNS_HEADER_LEN &&
	    !bpf_skb_load_bytes(skb, off, header, sizeof(header))) {
		rec.dns_id = (u16)header[0] << 8 | header[1];
		if (deptrace_dns_one_question(header) && !load_question_name(skb, off, name, &n))
			verdict = deptrace_qname_judge(name, n, DEPTRACE_DENY_NAMES, &tag);
	}
	if (verdict == DEPTRACE_QUERY_DENIED)
		rec.reason = DEPTRACE_REFUSED_NAME;
	/* a GSO send is cut into datagrams after this hook: the walk has
	 * read the first only */
	if (verdict == DEPTRACE_QUERY_PASS) {
		if (skb->gso_segs <= 1)
			return 1;
		rec.reason = DEPTRACE_REFUSED_SEGMENTED;
	}
	rec.h.ts_ns = bpf_ktime_get_ns();
	events.perf_submit(skb, &rec, sizeof(rec));
	return 0;
}

/* dns_answers.h's packet access: the ingress program's skb */
static __always_inline int deptrace_answer_load(void *pkt, __u32 off, void *to, __u32 len)
{
	return bpf_skb_load_bytes((struct __sk_buff *)pkt, off, to, len);
}

/* An address an --outage name resolves to, into outage_nets with the
 * name's mode and port (DEPTRACE_OUTAGE_TAG). */
static __always_inline int deptrace_answer_keep(void *pkt, const __u8 addr[16], __u32 tag)
{
	struct deptrace_net_key key = { .prefixlen = 16 + 128 };
	u16 port_be = htons((u16)DEPTRACE_OUTAGE_TAG_PORT(tag));
	u32 mode = DEPTRACE_OUTAGE_TAG_MODE(tag);

	__builtin_memcpy(key.port, &port_be, 2);
	__builtin_memcpy(key.addr, addr, 16);
	return outage_nets.update(&key, &mode);
}

#include "dns_answers.h"

/* cgroup_skb/ingress: --outage by name. An answer to the question for an
 * --outage name (or a name below a *.suffix one) puts the addresses it
 * gives into outage_nets, with the name's mode and port, before the
 * program that asked can read it: its connects to them, and its packets,
 * are then refused or dropped as an address target's are, however it
 * resolved (any library, its own UDP socket). An answer for such a name
 * that the walk cannot read whole (dns_answers.h), or whose addresses do
 * not fit, is dropped and counted: its lookup fails rather than lead to an
 * address the kernel does not know. 1 lets a packet in. */
int policy_dns_ingress(struct __sk_buff *skb)
{
	u8 name[DEPTRACE_QNAME_MAX] = {}, header[DEPTRACE_DNS_HEADER_LEN];
	u32 off, n, tag = 0;

	if (!policy_setting(DEPTRACE_SETTING_OUTAGE_NAMES))
		return 1;
	off = dns_payload_offset(skb, DEPTRACE_UDP_SOURCE_PORT);
	/* not a response whose one question can be judged: no resolver takes
	 * it for an answer to its question */
	if (!off || skb->len <= off + DEPTRACE_DNS_HEADER_LEN ||
	    bpf_skb_load_bytes(skb, off, header, sizeof(header)) || !(header[2] & 0x80) ||
	    !deptrace_dns_one_question(header))
		return 1;
	if (!load_question_name(skb, off, name, &n)) {
		int verdict = deptrace_qname_judge(name, n, DEPTRACE_OUTAGE_NAMES, &tag);

		if (verdict == DEPTRACE_QUERY_PASS)
			return 1;
		if (verdict == DEPTRACE_QUERY_DENIED &&
		    deptrace_answers_walk(skb, off, (u32)header[6] << 8 | header[7], tag) ==
			    DEPTRACE_ANSWERS_READ)
			return 1;
	}
	count_stat(DEPTRACE_STAT_OUTAGE_DROPPED);
	return 0;
}
