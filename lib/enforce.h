/* enforce: the policy in the kernel.
 *
 * Turns a policy's rules into the maps of bpf_text/policy_cgroup.bpf.h,
 * loads its programs (compiled into the tracer's text when the tracer is
 * configured to enforce) and links them to a cgroup. Links, not the
 * legacy BPF_PROG_ATTACH that libbcc uses: a link ends with its last file
 * descriptor, so programs cannot outlive deptrace and its guard (cgroup.h).
 *
 * --outage targets (outage.h) go to maps of their own: connect4/connect6
 * refuse a refuse-mode target with ECONNREFUSED, the egress program drops
 * the packets to a blackhole-mode one; a name target's addresses join its
 * map as the ingress program reads them in the answers to its lookups.
 *
 * How rules are enforced: address rules by connect4/connect6 (connect(),
 * TCP and UDP) and sendmsg4/sendmsg6 (datagrams sent without connect());
 * deny rules for names without a port by dropping the DNS queries for
 * them on their way out. What those hooks cannot judge is refused: sockets
 * of other protocols (at socket()), queries the kernel cannot read, and,
 * with name rules, DNS over TCP (bpf_text/policy_cgroup.bpf.h says why).
 * An allow rule for a name, or a deny rule for a name with a port, needs
 * the addresses the name resolves to: the cgroup's DNS is then steered to
 * deptrace's resolver (resolver.h, bpf_text/resolver_steer.bpf.h), which
 * adds them to the address maps before the command has the answer
 * (enforce_attach starts it, enforce_detach stops it).
 */
#ifndef DEPTRACE_ENFORCE_H
#define DEPTRACE_ENFORCE_H

#include <stddef.h>

#include "outage.h"
#include "policy.h"
#include "resolver.h"
#include "tracer.h"

#define ENFORCE_PROGRAMS 13 /* the policy's 7, and the resolver's steering 6 */
#define ENFORCE_RESOLV_CONF "/etc/resolv.conf"

struct enforcement {
	int link_fds[ENFORCE_PROGRAMS];
	size_t nlinks;
	struct resolver *resolver;            /* running, or NULL */
	struct resolver_override overrides[OUTAGE_MAX_TARGETS]; /* the resolver's */
	bool resolved;                        /* a resolver ran: its stats are below */
	struct resolver_stats resolver_stats; /* as it stopped */
};

/* Whether the tracer must be loaded with config.resolver: for this
 * policy (resolver_needed), or a name's --outage in a dns mode. */
bool enforce_needs_resolver(const struct policy *p, const struct outage *o);

/* 0, or -EINVAL with the first rule enforcement cannot hold and why. */
int enforce_check_policy(const struct policy *p, char *err, size_t errlen);

/* Loads the policy programs and fills their maps with the policy's rules
 * and the --outage targets; the tracer must have been loaded with
 * config.enforce. 0 or -errno, with a reason in `err`. */
int enforce_load(struct tracer *tracer, const struct policy *p, const struct outage *o,
		 char *err, size_t errlen);

/* Links the loaded programs to the cgroup open at cgroup_fd; when the
 * policy or the outage needs it, first starts the resolver for the IPv4
 * name servers of ENFORCE_RESOLV_CONF (answering the outage's names
 * itself) and links the programs that steer DNS to it. The policy must
 * outlive the enforcement. 0 or -errno. */
int enforce_attach(struct tracer *tracer, const struct policy *p, const struct outage *o,
		   int cgroup_fd, struct enforcement *e, char *err, size_t errlen);

/* Closes the links: the programs leave the cgroup (unless a guard holds
 * copies); stops the resolver, keeping its stats. Safe on a zeroed or
 * closed enforcement. */
void enforce_detach(struct enforcement *e);

#endif
