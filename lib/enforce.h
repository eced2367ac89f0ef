/* enforce: the policy in the kernel.
 *
 * Turns a policy's rules into the maps of bpf_text/policy_cgroup.bpf.h,
 * loads its programs (compiled into the tracer's text when the tracer is
 * configured to enforce) and links them to a cgroup. Links, not the
 * legacy BPF_PROG_ATTACH that libbcc uses: a link ends with its last file
 * descriptor, so programs cannot outlive deptrace and its guard (cgroup.h).
 *
 * --outage targets (outage.h) go to a map of their own: connect4/connect6
 * refuse a refuse-mode target with ECONNREFUSED, the egress program drops
 * the packets to a blackhole-mode one.
 *
 * How rules are enforced: address rules by connect4/connect6 (connect(),
 * TCP and UDP) and sendmsg4/sendmsg6 (datagrams sent without connect());
 * name rules by dropping the DNS queries for them on their way out. What
 * those hooks cannot judge is refused: sockets of other protocols (at
 * socket()), queries the kernel cannot read, and, with name rules, DNS
 * over TCP (bpf_text/policy_cgroup.bpf.h says why). A name
 * rule with a port, or an allow rule for a name, cannot be enforced that
 * way (a query has no port; a dropped query admits nothing):
 * enforce_check_policy() refuses them with the reason.
 */
#ifndef DEPTRACE_ENFORCE_H
#define DEPTRACE_ENFORCE_H

#include <stddef.h>

#include "outage.h"
#include "policy.h"
#include "tracer.h"

#define ENFORCE_PROGRAMS 6

struct enforcement {
	int link_fds[ENFORCE_PROGRAMS];
	size_t nlinks;
};

/* 0, or -EINVAL with the first rule enforcement cannot hold and why. */
int enforce_check_policy(const struct policy *p, char *err, size_t errlen);

/* Loads the policy programs and fills their maps with the policy's rules
 * and the --outage targets; the tracer must have been loaded with
 * config.enforce. 0 or -errno, with a reason in `err`. */
int enforce_load(struct tracer *tracer, const struct policy *p, const struct outage *o,
		 char *err, size_t errlen);

/* Links the loaded programs to the cgroup open at cgroup_fd. 0 or -errno. */
int enforce_attach(struct tracer *tracer, int cgroup_fd, struct enforcement *e,
		   char *err, size_t errlen);

/* Closes the links: the programs leave the cgroup (unless a guard holds
 * copies). Safe on a zeroed or closed enforcement. */
void enforce_detach(struct enforcement *e);

#endif
