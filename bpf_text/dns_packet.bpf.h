/* dns_packet.bpf.h: where the transport header of a packet, and the DNS
 * payload of a UDP datagram to or from port 53, start in a packet as
 * cgroup_skb programs see it (from the network header on), and where it
 * goes. Read by the DNS capture and the first bytes of TCP connections
 * (dns_capture.bpf.h) and the enforced policy's packet programs
 * (policy_cgroup.bpf.h).
 */
#ifndef DEPTRACE_DNS_PACKET_BPF_H
#define DEPTRACE_DNS_PACKET_BPF_H

#include <uapi/linux/bpf.h> /* struct bpf_sock_addr, struct __sk_buff */

#define DEPTRACE_ETH_P_IP 0x0800
#define DEPTRACE_ETH_P_IPV6 0x86DD
#define DEPTRACE_IPV6_EXTENSIONS 4 /* headers walked before UDP */
#define DEPTRACE_UDP_SOURCE_PORT 0 /* offsets of the ports in a UDP header */
#define DEPTRACE_UDP_DEST_PORT 2

/* Offset of the transport header of an IPv4 or IPv6 packet, with its
 * protocol in *proto_out, or 0. */
static __always_inline u32 packet_transport_offset(struct __sk_buff *skb, u8 *proto_out)
{
	u32 l4;
	u8 proto;

	if (skb->protocol == htons(DEPTRACE_ETH_P_IP)) {
		u8 version_ihl;

		if (bpf_skb_load_bytes(skb, 0, &version_ihl, 1) ||
		    bpf_skb_load_bytes(skb, 9, &proto, 1))
			return 0;
		l4 = (version_ihl & 0xf) * 4;
	} else if (skb->protocol == htons(DEPTRACE_ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, &proto, 1))
			return 0;
		l4 = 40;
		/* an unprivileged sender can add a routing header (the other
		 * extension headers need CAP_NET_RAW): walked, with the
		 * others, as deep as a socket's options can stack them */
#pragma unroll
		for (int i = 0; i < DEPTRACE_IPV6_EXTENSIONS; i++) {
			u8 ext[2];

			if (proto != 0 && proto != 43 && proto != 60 && proto != 44)
				break;
			if (bpf_skb_load_bytes(skb, l4, ext, 2))
				return 0;
			l4 += proto == 44 ? 8 : ((u32)ext[1] + 1) * 8; /* 44: fragment */
			proto = ext[0];
		}
	} else {
		return 0;
	}
	*proto_out = proto;
	return l4;
}

static __always_inline void ipv4_as_mapped(u8 addr[16], u32 ip4_be)
{
	__builtin_memset(addr, 0, 10);
	addr[10] = 0xff;
	addr[11] = 0xff;
	__builtin_memcpy(addr + 12, &ip4_be, 4);
}

/* The destination address of an IPv4 or IPv6 packet into addr, IPv4 as
 * v4-mapped. 0, or -1 when it cannot be read. */
static __always_inline int packet_destination(struct __sk_buff *skb, u8 addr[16])
{
	if (skb->protocol == htons(DEPTRACE_ETH_P_IP)) {
		u32 ip4;

		if (bpf_skb_load_bytes(skb, 16, &ip4, 4))
			return -1;
		ipv4_as_mapped(addr, ip4);
		return 0;
	}
	if (skb->protocol == htons(DEPTRACE_ETH_P_IPV6))
		return bpf_skb_load_bytes(skb, 24, addr, 16) ? -1 : 0;
	return -1;
}

/* Offset of the UDP payload of a datagram whose port at `port_at` (one of
 * the two above) is 53, or 0. */
static __always_inline u32 dns_payload_offset(struct __sk_buff *skb, u32 port_at)
{
	u8 proto;
	u32 l4 = packet_transport_offset(skb, &proto);
	__be16 port;

	if (!l4 || proto != DEPTRACE_IPPROTO_UDP ||
	    bpf_skb_load_bytes(skb, l4 + port_at, &port, 2) ||
	    port != htons(DEPTRACE_DNS_PORT))
		return 0;
	return l4 + 8;
}

#endif
