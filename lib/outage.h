/* outage: the targets of --outage, and how each is made to fail.
 *
 * A target is written as a policy rule (policy.h: an address, a CIDR, a
 * port on either), then optionally "=MODE": "refuse" (connects fail at
 * once with ECONNREFUSED, as when the host is up and the service down) or
 * "blackhole" (the default: packets vanish, connects hang until the client
 * or the kernel gives up). The kernel side is bpf_text/policy_cgroup.bpf.h,
 * loaded by enforce.c into the command's cgroup. A name (or *.name) takes
 * "dns" (its lookups fail with SERVFAIL) or "nxdomain": the cgroup's DNS
 * is then steered to deptrace's resolver, which answers so for it
 * (resolver.h). A name with the address modes is refused with the
 * reason: the kernel programs would need the addresses it resolves to
 * before the program connects to them.
 */
#ifndef DEPTRACE_OUTAGE_H
#define DEPTRACE_OUTAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "deptrace_event.h"
#include "policy.h"

#define OUTAGE_MAX_TARGETS 32

enum outage_mode {
	OUTAGE_BLACKHOLE = DEPTRACE_OUTAGE_BLACKHOLE,
	OUTAGE_REFUSE = DEPTRACE_OUTAGE_REFUSE,
	/* names only, answered by deptrace's resolver (resolver.h), not by
	 * the kernel's outage map: */
	OUTAGE_DNS,      /* lookups of the name fail at once with SERVFAIL */
	OUTAGE_NXDOMAIN, /* ... with NXDOMAIN */
};

struct outage_target {
	struct policy_rule rule; /* action RULE_DENY; text "outage 192.0.2.10 (blackhole)" */
	enum outage_mode mode;
};

struct outage {
	struct outage_target targets[OUTAGE_MAX_TARGETS];
	size_t count;
};

/* Parses "TARGET[=MODE]" and adds it. 0, or -EINVAL with a one-line
 * reason in `err`. */
int outage_add(struct outage *o, const char *arg, char *err, size_t errlen);

/* "blackhole", "refuse", "dns", "nxdomain". */
const char *outage_mode_name(enum outage_mode mode);

/* Whether the target is answered by the resolver (a name's dns modes). */
static inline bool outage_by_resolver(const struct outage_target *t)
{
	return t->mode == OUTAGE_DNS || t->mode == OUTAGE_NXDOMAIN;
}

#endif
