/* libFuzzer harness for the egress program's reading of a DNS query
 * (bpf_text/dns_question.h, compiled here as it is in the kernel), held to
 * user space's reading of the same bytes (lib/dns.c) and its verdict
 * (lib/policy.c), with rules for forge.example.com and *.corp.example:
 *   - whatever user space reads as a question the policy denies, the
 *     kernel refuses (DENIED or UNREADABLE): fail closed;
 *   - a question both read gets the same verdict from both (names are
 *     letters, digits, '-', '_' and '*', where the kernel's case fold is
 *     exact).
 * Besides memory errors (ASan, UBSan): the walk never reads past its
 * DEPTRACE_QNAME_MAX buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deptrace_event.h"
#include "dns.h"
#include "policy.h"

static struct deptrace_name_key rules[2];
static struct policy pol;

static __u32 deptrace_name_rule(struct deptrace_name_key *key, int table)
{
	(void)table; /* one table here: the deny rules */
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (key->hash == rules[i].hash && key->below == rules[i].below)
			return 1;
	return 0;
}

#include "dns_question.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (policy_add_rule(&pol, RULE_DENY, "forge.example.com", "fuzz", err, sizeof(err)) ||
	    policy_add_rule(&pol, RULE_DENY, "*.corp.example", "fuzz", err, sizeof(err)))
		abort();
	/* the keys lib/enforce.c loads for those rules */
	for (size_t i = 0; i < pol.count; i++)
		rules[i] = (struct deptrace_name_key){ .hash = policy_name_hash(pol.rules[i].name),
						       .below = pol.rules[i].kind == RULE_SUFFIX };
	return 0;
}

/* What policy_dns_egress decides for the UDP payload data[0..size). */
static int kernel_verdict(const uint8_t *data, size_t size)
{
	uint8_t name[DEPTRACE_QNAME_MAX] = { 0 };
	size_t n;
	__u32 tag;

	if (size <= DEPTRACE_DNS_HEADER_LEN || !deptrace_dns_one_question(data))
		return DEPTRACE_QUERY_UNREADABLE;
	n = size - DEPTRACE_DNS_HEADER_LEN;
	if (n > DEPTRACE_QNAME_MAX)
		n = DEPTRACE_QNAME_MAX;
	memcpy(name, data + DEPTRACE_DNS_HEADER_LEN, n);
	return deptrace_qname_judge(name, (__u32)n, 0, &tag);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_message msg;
	int kernel = kernel_verdict(data, size);
	bool denied;

	if (kernel != DEPTRACE_QUERY_PASS && kernel != DEPTRACE_QUERY_DENIED &&
	    kernel != DEPTRACE_QUERY_UNREADABLE)
		abort();
	if (dns_parse(data, size, &msg) || msg.response)
		return 0;
	denied = policy_check_lookup(&pol, msg.qname).violation;
	if (denied && kernel == DEPTRACE_QUERY_PASS)
		abort(); /* let out what the policy denies */
	if (kernel != DEPTRACE_QUERY_UNREADABLE && denied != (kernel == DEPTRACE_QUERY_DENIED))
		abort();
	return 0;
}
