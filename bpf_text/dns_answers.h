/* dns_answers.h: how the ingress program reads the addresses a DNS answer
 * gives (--outage by name: policy_cgroup.bpf.h), shared verbatim by the
 * kernel and user space (tests/fuzz/fuzz_answers.c holds it to lib/dns.c's
 * reading of the same bytes).
 *
 * The includer defines first:
 *   static __always_inline int deptrace_answer_load(void *pkt, __u32 off, void *to, __u32 len);
 *     0, or nonzero when the packet has no `len` bytes at `off` (in the
 *     kernel, bpf_skb_load_bytes);
 *   static __always_inline int deptrace_answer_keep(void *pkt, const __u8 addr[16], __u32 tag);
 *     0, or nonzero when the address (IPv6; IPv4 as v4-mapped) could not be
 *     kept (in the kernel, a map update).
 *
 * Fail closed: the walk says DEPTRACE_ANSWERS_READ only when it has read
 * every answer record the header counts (at most DEPTRACE_ANSWERS_MAX) and
 * kept every A and AAAA record's address whatever its owner (the answer to
 * a question for a name is all that name resolves to, CNAME targets
 * included). An owner name must be one compression pointer, as every
 * server we know writes it (a name spelled out would need a loop within
 * the loop, which the verifier would follow path by path). The caller
 * drops an answer it cannot read whole: its lookup fails, rather than
 * handing out an address the kernel does not know.
 */
#ifndef DEPTRACE_DNS_ANSWERS_H
#define DEPTRACE_DNS_ANSWERS_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define DEPTRACE_ANSWERS_MAX 16      /* answer records walked */
#define DEPTRACE_NAME_LABELS_MAX 128 /* labels in a wire name (255 bytes) */
#define DEPTRACE_DNS_TYPE_A 1
#define DEPTRACE_DNS_TYPE_AAAA 28
#define DEPTRACE_DNS_CLASS_IN 1
#define DEPTRACE_DNS_RR_FIXED 10     /* type, class, TTL, RDLENGTH */

enum deptrace_answers_verdict {
	DEPTRACE_ANSWERS_READ = 0,       /* every address kept */
	DEPTRACE_ANSWERS_UNREADABLE = 1, /* or an address could not be kept */
};

/* Offset just past the question's wire name at `pos` (a compression
 * pointer ends it), or 0 when it cannot be read. */
static __always_inline __u32 deptrace_answer_skip_name(void *pkt, __u32 pos)
{
	for (int i = 0; i < DEPTRACE_NAME_LABELS_MAX; i++) {
		__u8 len;

		if (deptrace_answer_load(pkt, pos, &len, 1))
			return 0;
		if (len == 0)
			return pos + 1;
		if ((len & 0xc0) == 0xc0)
			return pos + 2;
		if (len > 63)
			return 0; /* a reserved label type */
		pos += (__u32)len + 1;
	}
	return 0;
}

/* Walks the answer section of the DNS message at `off` (its first header
 * byte) in pkt, keeping each A and AAAA address with `tag`. The header
 * has been read: QDCOUNT is 1 (deptrace_dns_one_question), `ancount` its
 * ANCOUNT. */
static __always_inline int deptrace_answers_walk(void *pkt, __u32 off, __u32 ancount, __u32 tag)
{
	__u32 pos;

	if (ancount > DEPTRACE_ANSWERS_MAX)
		return DEPTRACE_ANSWERS_UNREADABLE;
	pos = deptrace_answer_skip_name(pkt, off + 12);
	if (!pos)
		return DEPTRACE_ANSWERS_UNREADABLE;
	pos += 4; /* QTYPE, QCLASS */
	for (__u32 i = 0; i < DEPTRACE_ANSWERS_MAX; i++) {
		__u8 owner, rr[DEPTRACE_DNS_RR_FIXED], addr[16] = { 0 };
		__u32 type, klass, rdlength;

		if (i >= ancount)
			return DEPTRACE_ANSWERS_READ;
		if (deptrace_answer_load(pkt, pos, &owner, 1) || (owner & 0xc0) != 0xc0 ||
		    deptrace_answer_load(pkt, pos + 2, rr, sizeof(rr)))
			return DEPTRACE_ANSWERS_UNREADABLE;
		pos += 2 + DEPTRACE_DNS_RR_FIXED;
		type = (__u32)rr[0] << 8 | rr[1];
		klass = (__u32)rr[2] << 8 | rr[3];
		rdlength = (__u32)rr[8] << 8 | rr[9];
		if (klass == DEPTRACE_DNS_CLASS_IN && type == DEPTRACE_DNS_TYPE_A) {
			if (rdlength != 4 || deptrace_answer_load(pkt, pos, addr + 12, 4))
				return DEPTRACE_ANSWERS_UNREADABLE;
			addr[10] = 0xff;
			addr[11] = 0xff;
			if (deptrace_answer_keep(pkt, addr, tag))
				return DEPTRACE_ANSWERS_UNREADABLE;
		} else if (klass == DEPTRACE_DNS_CLASS_IN && type == DEPTRACE_DNS_TYPE_AAAA) {
			if (rdlength != 16 || deptrace_answer_load(pkt, pos, addr, 16))
				return DEPTRACE_ANSWERS_UNREADABLE;
			if (deptrace_answer_keep(pkt, addr, tag))
				return DEPTRACE_ANSWERS_UNREADABLE;
		}
		pos += rdlength;
	}
	return DEPTRACE_ANSWERS_READ;
}

#endif
