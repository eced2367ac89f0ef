/* policy: deny and allow rules, and what they say about a connection or a
 * DNS lookup.
 *
 * A rule is a hostname (forge.example.com), a wildcard (*.example.com:
 * names below example.com, not example.com itself), or an IPv4/IPv6
 * address or CIDR (192.0.2.0/24, 2001:db8::/32), each with an optional
 * port (forge.example.com:443, 192.0.2.0/24:443, [2001:db8::/32]:443).
 * Deny rules win over allow rules; once there is an allow rule, a
 * connection no allow rule matches is a violation too. Lookups are judged
 * by the deny rules for names without a port: a port belongs to a
 * connection, and an allowed connection is what the allow rules are about.
 *
 * Nothing here touches the kernel: enforcement (tracer.h) loads the same
 * rules into its maps, with the name hash below.
 */
#ifndef DEPTRACE_POLICY_H
#define DEPTRACE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POLICY_NAME_LEN 256
#define POLICY_ORIGIN_LEN 128
#define POLICY_TEXT_LEN 300

enum rule_action {
	RULE_DENY,
	RULE_ALLOW,
};

enum rule_kind {
	RULE_HOST,   /* exactly this name */
	RULE_SUFFIX, /* *.name: any name below it */
	RULE_NET,    /* an address or CIDR */
};

struct policy_rule {
	enum rule_action action;
	enum rule_kind kind;
	char name[POLICY_NAME_LEN]; /* HOST, SUFFIX: lower case, no trailing dot, no "*." */
	uint8_t addr[16];           /* NET: IPv6; IPv4 as v4-mapped (::ffff:a.b.c.d) */
	unsigned prefix;            /* NET: over the 128 bits (IPv4 /24 is 120) */
	uint16_t port;              /* 0: any port */
	char text[POLICY_TEXT_LEN]; /* "deny *.forge.example.com:443", for reports */
	char origin[POLICY_ORIGIN_LEN]; /* "deploy.policy:3", "--deny" */
};

struct policy {
	struct policy_rule *rules; /* in the order given */
	size_t count, cap;
	size_t nallow;             /* how many are allow rules */
};

/* Why a connection or lookup breaks the policy. */
struct verdict {
	bool violation;
	const struct policy_rule *rule; /* the deny rule that matched, or NULL:
					   no allow rule matched */
};

/* Parses one rule written as on the command line (no action word) into
 * `rule`, without adding it: how options check --deny and --allow before
 * anything is set up. 0, or -EINVAL with a one-line reason in `err` ("bad
 * CIDR prefix /33 in 192.0.2.0/33 (0-32)"). */
int policy_parse_rule(enum rule_action action, const char *text, const char *origin,
		      struct policy_rule *rule, char *err, size_t errlen);

/* policy_parse_rule, then appends the rule. 0, -EINVAL as above, or
 * -ENOMEM. */
int policy_add_rule(struct policy *p, enum rule_action action, const char *text,
		    const char *origin, char *err, size_t errlen);

/* Reads a policy file: one rule a line, "deny RULE" or "allow RULE";
 * '#' starts a comment; blank lines are ignored. 0, or -errno with
 * "FILE:LINE: reason" (or "FILE: reason") in `err`. */
int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen);

void policy_free(struct policy *p);

static inline bool policy_empty(const struct policy *p)
{
	return p->count == 0;
}

/* A connection to addr (16 bytes, IPv4 as v4-mapped) and port, reached by
 * `name` (what the process resolved, or NULL). An unspecified address
 * (0.0.0.0, ::) is judged as the loopback the kernel sends it to. */
struct verdict policy_check_connection(const struct policy *p, const uint8_t addr[16],
				       uint16_t port, const char *name);

/* `name` (any case, trailing dot or not) is the name rule's name
 * (RULE_HOST) or strictly below it (RULE_SUFFIX); false for RULE_NET. */
bool policy_name_matches(const struct policy_rule *r, const char *name);

/* A DNS lookup of `qname` (any case, trailing dot or not). */
struct verdict policy_check_lookup(const struct policy *p, const char *qname);

/* The hash the kernel computes over a queried name (DEPTRACE_NAME_HASH in
 * bpf_text/deptrace_event.h) for the rule's name: over its DNS wire form,
 * lower case, without the final zero label. */
uint64_t policy_name_hash(const char *name);

#endif
