/* libFuzzer harness for what the resolver (lib/resolver.c) does with a
 * question it did not forward: its own reply (resolver_reply), and the
 * verdict on the name user space reads (resolver_decide), with an allow
 * list, a deny rule and an outage override. Checked besides memory errors
 * (ASan, UBSan):
 *   - the reply is a response with the rcode asked, the query's ID, no
 *     records, and at most the query's length;
 *   - a query lib/dns.c reads gets its question back (the reply parses to
 *     the same name and type) unless its name uses a compression pointer
 *     (no client writes one; the kernel refuses such a query first), which
 *     gets a bare header;
 *   - a name the allow list does not hold is never forwarded;
 *   - read as a resolv.conf, the bytes give at most RESOLVER_MAX_UPSTREAMS
 *     IPv4 servers, each with its own listening address. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "policy.h"
#include "resolver.h"

static struct policy pol;
static struct resolver_override outage = { .verdict = RESOLVER_SERVFAIL };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (policy_add_rule(&pol, RULE_ALLOW, "forge.example.com:443", "fuzz", err, sizeof(err)) ||
	    policy_add_rule(&pol, RULE_ALLOW, "*.corp.example", "fuzz", err, sizeof(err)) ||
	    policy_add_rule(&pol, RULE_DENY, "bad.corp.example", "fuzz", err, sizeof(err)) ||
	    policy_parse_rule(RULE_DENY, "down.corp.example", "fuzz", &outage.target, err,
			      sizeof(err)))
		abort();
	return 0;
}

/* The same bytes as a resolv.conf: never more servers than it holds,
 * each IPv4 (v4-mapped) with its own listening address. */
static void check_upstreams(const uint8_t *data, size_t size)
{
	static struct resolver_config c;
	char text[4096], err[256];
	size_t skipped, n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	if (resolver_parse_upstreams(text, &c, &skipped, err, sizeof(err)))
		return;
	if (!c.nupstreams || c.nupstreams > RESOLVER_MAX_UPSTREAMS)
		abort();
	for (size_t i = 0; i < c.nupstreams; i++)
		if (c.upstreams[i].addr[10] != 0xff || c.upstreams[i].addr[11] != 0xff ||
		    c.upstreams[i].listen_ip4 != htonl(RESOLVER_LISTEN_BASE + (uint32_t)i))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resolver_rules rules = { .policy = &pol, .overrides = &outage, .noverrides = 1 };
	uint8_t out[1024];
	size_t n = resolver_reply(data, size, DNS_RCODE_REFUSED, out, sizeof(out));
	struct dns_message query, reply;

	check_upstreams(data, size);
	if (size < 12 || (size > sizeof(out) && n == 0))
		return 0;
	if (n < 12 || n > size || out[0] != data[0] || out[1] != data[1] || !(out[2] & 0x80) ||
	    (out[3] & 0x0f) != DNS_RCODE_REFUSED || out[6] | out[7] | out[8] | out[9] | out[10] | out[11])
		abort();
	if (dns_parse(data, size, &query) || query.response)
		return 0;
	if (n == 12 && memchr(data + 12, 0xc0, size - 12))
		return 0;
	if (dns_parse(out, n, &reply) || strcmp(reply.qname, query.qname) ||
	    reply.qtype != query.qtype || reply.nrecords)
		abort();
	if (resolver_decide(&rules, query.qname, NULL) == RESOLVER_FORWARD &&
	    !policy_name_matches(&pol.rules[0], query.qname) &&
	    !policy_name_matches(&pol.rules[1], query.qname))
		abort();
	return 0;
}
