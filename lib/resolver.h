/* resolver: the DNS forwarder an enforced cgroup's lookups are steered to.
 *
 * Why: an allow list of names can only be enforced by admitting, in the
 * kernel, the addresses those names resolve to for the enforced command,
 * before the command has the answer. The cgroup's UDP datagrams to port 53
 * of an IPv4 DNS server are steered (bpf_text/resolver_steer.bpf.h) to a
 * listening address of this resolver that stands for that server (one
 * listening address per upstream: the resolver knows where the question
 * was going by where it arrived). For each question it decides a verdict:
 *
 *   RESOLVER_FORWARD   asked of the upstream; the A and AAAA addresses of
 *                      the answer (its CNAME chain included) are handed to
 *                      `admit` for every name rule that judges them (allow
 *                      rules, and deny rules with a port) BEFORE the answer
 *                      is sent on;
 *   RESOLVER_REFUSE    answered REFUSED at once (a name no allow rule
 *                      admits, or a denied one, or an answer whose CNAME
 *                      chain names a denied name);
 *   RESOLVER_SERVFAIL, RESOLVER_NXDOMAIN
 *                      answered so at once (an outage rehearsal's name:
 *                      struct resolver_override).
 *
 * What it cannot handle fails closed and is counted (struct
 * resolver_stats): a question it cannot parse gets FORMERR, an answer it
 * cannot parse, an upstream that does not answer within the timeout, or an
 * address `admit` could not add, SERVFAIL. Nothing is cached: every
 * question goes to the upstream; the answer's TTLs are passed on unchanged
 * and admitted addresses stay admitted for the rest of the run.
 *
 * The resolver runs in a thread of its own (resolver_start) so that a
 * lookup never waits on deptrace's event loop. It never prints; `admit`
 * is called from that thread.
 */
#ifndef DEPTRACE_RESOLVER_H
#define DEPTRACE_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define RESOLVER_MAX_UPSTREAMS 8
#define RESOLVER_MAX_OVERRIDES 64
#define RESOLVER_TIMEOUT_MS 5000
#define RESOLVER_LISTEN_BASE 0x7f350001 /* 127.53.0.1 */

enum resolver_verdict {
	RESOLVER_FORWARD,
	RESOLVER_REFUSE,
	RESOLVER_SERVFAIL,
	RESOLVER_NXDOMAIN,
};

/* A name answered by the resolver itself, whatever the policy says (the
 * outage rehearsal's NAME=dns and NAME=nxdomain). */
struct resolver_override {
	struct policy_rule target;        /* a RULE_HOST or RULE_SUFFIX rule */
	enum resolver_verdict verdict;    /* RESOLVER_SERVFAIL or RESOLVER_NXDOMAIN */
};

struct resolver_rules {
	const struct policy *policy;              /* NULL: forward every name */
	const struct resolver_override *overrides;
	size_t noverrides;
};

/* The verdict for a question about `qname` (any case, trailing dot or
 * not): an override first, then a deny rule for the name without a port,
 * then, when the policy has allow rules for names, one of them must match.
 * *why (unless why is NULL) receives the deny rule that refused it, or
 * NULL. */
enum resolver_verdict resolver_decide(const struct resolver_rules *r, const char *qname,
				      const struct policy_rule **why);

/* Whether enforcing this policy needs the resolver: an allow rule for a
 * name, or a deny rule for a name with a port. */
bool resolver_needed(const struct policy *p);

/* The reply to `query` (len bytes) with rcode and no records, into out:
 * its header (ID, opcode, RD kept; QR, RA set) and its question when it
 * has exactly one that ends within the message (a query that does not
 * gets a bare header). Returns the reply's length, or 0 when the query is
 * shorter than a header or out is too small. */
size_t resolver_reply(const uint8_t *query, size_t len, uint8_t rcode, uint8_t *out,
		      size_t outlen);

/* Called before an answer is sent on, once per address and rule:
 * `rule` is the allow rule (admit addr, on rule->port) or the deny rule
 * with a port (refuse addr on rule->port) whose name the question or its
 * CNAME chain matched; addr is 16 bytes, IPv4 as v4-mapped. 0, or -errno
 * (the answer then becomes SERVFAIL). */
typedef int (*resolver_admit_fn)(void *ctx, const struct policy_rule *rule,
				 const uint8_t addr[16]);

struct resolver_upstream {
	uint8_t addr[16];     /* the server the command asked (v4-mapped IPv4) */
	uint32_t listen_ip4;  /* where its steered questions arrive (network order) */
};

struct resolver_config {
	struct resolver_rules rules;
	struct resolver_upstream upstreams[RESOLVER_MAX_UPSTREAMS];
	size_t nupstreams;
	uint16_t listen_port;   /* 53 when steered; 0 picks one (tests) */
	uint16_t upstream_port; /* 53; a test's fake upstream's */
	int timeout_ms;         /* 0: RESOLVER_TIMEOUT_MS */
	resolver_admit_fn admit;
	void *admit_ctx;
};

/* What the resolver did, counted since it started (read at any time). */
struct resolver_stats {
	unsigned long forwarded, refused, overridden;
	unsigned long unreadable;     /* questions answered FORMERR */
	unsigned long bad_answers;    /* upstream answers it could not parse: SERVFAIL */
	unsigned long upstream_failed; /* no answer in time, or an error: SERVFAIL */
	unsigned long admit_failed;   /* answers whose addresses could not be admitted: SERVFAIL */
	unsigned long busy;           /* questions beyond what it holds at once: SERVFAIL */
	int last_admit_error;         /* -errno of the last failed admit */
};

/* The IPv4 name servers of a resolv.conf's text ("nameserver ADDR" lines;
 * '#' and ';' start comments) into config->upstreams, each with its
 * listening address: 127.53.0.1 for the first, 127.53.0.2 for the next
 * (RESOLVER_LISTEN_BASE). IPv6 servers are left out and counted in
 * *skipped_v6 (their questions are refused: the resolver listens on IPv4).
 * 0, or -ENOENT (no IPv4 server) or -E2BIG (more than
 * RESOLVER_MAX_UPSTREAMS), with the reason in err. */
int resolver_parse_upstreams(const char *text, struct resolver_config *config,
			     size_t *skipped_v6, char *err, size_t errlen);

/* resolver_parse_upstreams on the file at path. 0 or -errno with err. */
int resolver_read_upstreams(const char *path, struct resolver_config *config, char *err,
			    size_t errlen);

struct resolver;

/* Binds one UDP socket per upstream (listen_ip4:listen_port) and starts
 * the thread. `config` is copied; the policy and overrides it points to
 * must outlive the resolver. 0, or -errno with the reason in err. */
int resolver_start(const struct resolver_config *config, struct resolver **out, char *err,
		   size_t errlen);

/* Where upstream i's questions are to be sent (the port chosen when
 * listen_port was 0), in network order. */
void resolver_listen_address(const struct resolver *r, size_t i, uint32_t *ip4, uint16_t *port);

void resolver_get_stats(struct resolver *r, struct resolver_stats *out);

/* Stops the thread, closes every socket and frees r. NULL is fine. */
void resolver_stop(struct resolver *r);

#endif
