/* dns_question.h: how the egress program reads a DNS query (and the
 * ingress program an answer's question, for --outage by name), shared
 * verbatim by the kernel (policy_cgroup.bpf.h, inlined by the build) and
 * user space (tests/fuzz/fuzz_question.c holds it to lib/dns.c's reading
 * and lib/policy.c's verdict).
 *
 * The includer defines first, for the walk's lookups:
 *   static __always_inline __u32 deptrace_name_rule(struct deptrace_name_key *key, int table);
 * nonzero when a rule of `table` (the includer's: deny rules, --outage
 * names) has that key: its tag (a map lookup in the kernel).
 *
 * Fail closed: a query is let out only when its one question reads to its
 * final zero label within DEPTRACE_QNAME_MAX bytes with no compression
 * pointer (or reserved label type) on the way, and no name on its path is
 * denied. Whatever the walk cannot read, a resolver might still answer.
 */
#ifndef DEPTRACE_DNS_QUESTION_H
#define DEPTRACE_DNS_QUESTION_H

#include <linux/types.h>

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define DEPTRACE_DNS_HEADER_LEN 12
#define DEPTRACE_QNAME_MAX 256 /* a power of two above the longest wire name */
#define DEPTRACE_LABEL_MAX 63  /* above: a compression pointer (0xc0) or reserved */

enum deptrace_query_verdict {
	DEPTRACE_QUERY_PASS = 0,
	DEPTRACE_QUERY_DENIED = 1,     /* the name, or one it is below, is denied */
	DEPTRACE_QUERY_UNREADABLE = 2, /* not one question the walk can read */
};

/* The 12 header bytes hold exactly one question (QDCOUNT 1): a second one
 * would go unjudged. */
static __always_inline int deptrace_dns_one_question(const __u8 *header)
{
	return header[4] == 0 && header[5] == 1;
}

/* An index into a name buffer the verifier can see is in bounds: clang
 * drops a mask it can prove redundant and indexes with an unmasked copy. */
static __always_inline __u32 deptrace_qname_index(__u32 i)
{
	asm volatile("" : "+r"(i));
	return i & (DEPTRACE_QNAME_MAX - 1);
}

/* Judges the question name in `buf` (wire form from the question's first
 * byte, n bytes loaded, zeros after them up to DEPTRACE_QNAME_MAX) against
 * the rules of `table`; a match's tag goes to *tag. One
 * pass forwards marks where labels start and finds the end; one backwards
 * hashes every suffix (DEPTRACE_NAME_HASH_MULT) and looks up each
 * position, with a hash of 0 where no label starts. Both run a fixed count
 * with no branch but their exits, 0/1 factors standing in for conditions:
 * a branch both ways of which go on doubles the paths the verifier walks
 * at every step. */
static __always_inline int deptrace_qname_judge(const __u8 *buf, __u32 n, int table, __u32 *tag)
{
	__u64 starts[DEPTRACE_QNAME_MAX / 64] = {};
	__u64 hash = 0, weight = 1, done = 0, end = 0;
	__u32 pos = 0;

	for (int label = 0; label < DEPTRACE_QNAME_MAX / 2; label++) {
		__u64 len, zero;
		__u32 at;

		if (pos >= n)
			return DEPTRACE_QUERY_UNREADABLE; /* no final zero label in reach */
		at = deptrace_qname_index(pos);
		len = buf[at];
		if (len > DEPTRACE_LABEL_MAX)
			return DEPTRACE_QUERY_UNREADABLE; /* a pointer the server would follow */
		zero = (len - 1) >> 63;
		end |= at * (zero & ~done & 1);
		done |= zero;
		starts[at >> 6] |= (1 - done) << (at & 63);
		pos = at + (__u32)((len + 1) * (1 - done));
	}
	if (!done)
		return DEPTRACE_QUERY_UNREADABLE;
	for (__u32 i = 0; i < DEPTRACE_QNAME_MAX; i++) {
		struct deptrace_name_key key = {};
		__u32 at = DEPTRACE_QNAME_MAX - 1 - i;
		__u64 inside = ((__u64)at - end) >> 63; /* at < end */

		hash += (__u64)((buf[at] | 0x20) + 1) * weight * inside;
		weight *= 1 + (DEPTRACE_NAME_HASH_MULT - 1) * inside;
		key.hash = hash * ((starts[at >> 6] >> (at & 63)) & 1);
		key.below = (at | -at) >> 31; /* at != 0 */
		*tag = deptrace_name_rule(&key, table);
		if (*tag)
			return DEPTRACE_QUERY_DENIED;
	}
	return DEPTRACE_QUERY_PASS;
}

#endif
