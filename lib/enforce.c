/* enforce: see enforce.h. */
#define _GNU_SOURCE
#include "enforce.h"

#include <bcc/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "deptrace_event.h"

struct policy_program {
	const char *function;
	enum bpf_prog_type type;
	enum bpf_attach_type attach;
};

#define POLICY_PROGRAMS 7
/* the value of an address the resolver added (a rule's is its index) */
#define ENFORCE_RESOLVED 0xffffffffu

/* in this order: the policy's judge the destination asked for, then the
 * steering programs rewrite it */
static const struct policy_program programs[ENFORCE_PROGRAMS] = {
	{ "policy_connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT },
	{ "policy_connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT },
	{ "policy_sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG },
	{ "policy_sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG },
	{ "policy_dns_egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS },
	{ "policy_dns_ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS },
	{ "policy_sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE },
	{ "steer_connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT },
	{ "steer_connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT },
	{ "steer_sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG },
	{ "steer_sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG },
	{ "steer_recvmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG },
	{ "steer_recvmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG },
};

_Static_assert(RESOLVER_MAX_UPSTREAMS <= TRACER_RESOLVER_UPSTREAMS,
	       "the steering maps hold every upstream");

/* How many of the outage's targets the resolver answers. */
static size_t outage_names(const struct outage *o)
{
	size_t n = 0;

	for (size_t i = 0; i < o->count; i++)
		n += outage_by_resolver(&o->targets[i]);
	return n;
}

bool enforce_needs_resolver(const struct policy *p, const struct outage *o)
{
	return resolver_needed(p) || outage_names(o);
}

/* How many programs the policy needs: the steering ones too when the
 * resolver is. */
static size_t program_count(const struct policy *p, const struct outage *o)
{
	return enforce_needs_resolver(p, o) ? ENFORCE_PROGRAMS : POLICY_PROGRAMS;
}

int enforce_check_policy(const struct policy *p, char *err, size_t errlen)
{
	if (p->count > TRACER_POLICY_RULES) {
		snprintf(err, errlen, "%zu rules: enforcement holds at most %d", p->count,
			 TRACER_POLICY_RULES);
		return -EINVAL;
	}
	return 0;
}

/* An address rule into `table`, with `value` (the rule's index, or an
 * outage's mode). */
static int add_net_key(struct tracer *t, const char *table, const struct policy_rule *r,
		       __u32 value)
{
	struct deptrace_net_key key = { .prefixlen = 16 + r->prefix };

	key.port[0] = (__u8)(r->port >> 8);
	key.port[1] = (__u8)r->port;
	memcpy(key.addr, r->addr, sizeof(key.addr));
	return bpf_update_elem(tracer_table_fd(t, table), &key, &value, BPF_ANY) ? -errno : 0;
}

static int add_net_rule(struct tracer *t, const struct policy_rule *r, __u32 index)
{
	return add_net_key(t, r->action == RULE_DENY ? "deny_nets" : "allow_nets", r, index);
}

/* A name rule into `table`, with `value` (the rule's index, or an
 * outage's DEPTRACE_OUTAGE_TAG). */
static int add_name_key(struct tracer *t, const char *table, const struct policy_rule *r,
			__u32 value)
{
	struct deptrace_name_key key = {
		.hash = policy_name_hash(r->name),
		.below = r->kind == RULE_SUFFIX,
	};

	return bpf_update_elem(tracer_table_fd(t, table), &key, &value, BPF_ANY) ? -errno : 0;
}

static int add_name_rule(struct tracer *t, const struct policy_rule *r, __u32 index)
{
	return add_name_key(t, "deny_names", r, index);
}

/* An --outage target: an address into outage_nets, a name into
 * outage_names (its addresses join outage_nets as answers give them). */
static int add_outage_target(struct tracer *t, const struct policy_rule *r, enum outage_mode mode)
{
	if (r->kind == RULE_NET)
		return add_net_key(t, "outage_nets", r, mode);
	return add_name_key(t, "outage_names", r, DEPTRACE_OUTAGE_TAG(mode, r->port));
}

/* What the programs need to know of the policy as a whole. */
static int set_setting(struct tracer *t, __u32 slot, __u32 value)
{
	return bpf_update_elem(tracer_table_fd(t, "policy_settings"), &slot, &value, BPF_ANY)
		       ? -errno : 0;
}

/* An outage's names answered by the resolver count as name rules (DNS over
 * TCP would escape them too); those the kernel learns from answers are
 * counted apart (the answer program runs only when there are some). */
static int set_settings(struct tracer *t, const struct policy *p, const struct outage *o)
{
	__u32 name_rules = (__u32)outage_names(o), kernel_names = 0;

	for (size_t i = 0; i < p->count; i++)
		name_rules += p->rules[i].kind != RULE_NET;
	for (size_t i = 0; i < o->count; i++)
		kernel_names += o->targets[i].rule.kind != RULE_NET &&
				!outage_by_resolver(&o->targets[i]);
	return set_setting(t, DEPTRACE_SETTING_NAME_RULES, name_rules) ?:
	       set_setting(t, DEPTRACE_SETTING_OUTAGE_NAMES, kernel_names);
}

static int load_rule_error(const char *text, int rc, char *err, size_t errlen)
{
	snprintf(err, errlen, "cannot load rule %s into the kernel: %s", text, strerror(-rc));
	return rc;
}

int enforce_load(struct tracer *t, const struct policy *p, const struct outage *o,
		 char *err, size_t errlen)
{
	int rc;

	for (size_t i = 0; i < program_count(p, o); i++) {
		int fd = tracer_load_function(t, programs[i].function, programs[i].type,
					      programs[i].attach, err, errlen);

		if (fd < 0)
			return fd;
	}
	for (size_t i = 0; i < p->count; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->kind != RULE_NET && (r->action == RULE_ALLOW || r->port))
			continue; /* held through the resolver's answers */
		rc = r->kind == RULE_NET ? add_net_rule(t, r, (__u32)i) : add_name_rule(t, r, (__u32)i);
		if (rc)
			return load_rule_error(r->text, rc, err, errlen);
	}
	for (size_t i = 0; i < o->count; i++) {
		if (outage_by_resolver(&o->targets[i]))
			continue; /* a name's dns modes: answered by the resolver */
		rc = add_outage_target(t, &o->targets[i].rule, o->targets[i].mode);
		if (rc)
			return load_rule_error(o->targets[i].rule.text, rc, err, errlen);
	}
	rc = set_settings(t, p, o);
	if (rc)
		snprintf(err, errlen, "cannot load the policy's settings into the kernel: %s",
			 strerror(-rc));
	return rc;
}

/* The resolver's admit(): an answered address, for the rule that named it,
 * into the map of the rule's action, on its port. */
static int admit_address(void *ctx, const struct policy_rule *rule, const uint8_t addr[16])
{
	struct policy_rule net = *rule;

	net.kind = RULE_NET;
	net.prefix = 128;
	memcpy(net.addr, addr, sizeof(net.addr));
	return add_net_rule(ctx, &net, ENFORCE_RESOLVED);
}

/* Reads the name servers, starts the resolver, and tells the steering
 * programs where each server's questions go. */
static int start_resolver(struct tracer *t, const struct policy *p, const struct outage *o,
			  struct enforcement *e, char *err, size_t errlen)
{
	struct resolver_config c = { .rules = { .policy = p, .overrides = e->overrides },
				     .listen_port = 53, .upstream_port = 53,
				     .admit = admit_address, .admit_ctx = t };
	int to = tracer_table_fd(t, "resolver_upstreams");
	int from = tracer_table_fd(t, "resolver_sources");
	int rc = resolver_read_upstreams(ENFORCE_RESOLV_CONF, &c, err, errlen);

	for (size_t i = 0; i < o->count; i++) {
		if (!outage_by_resolver(&o->targets[i]))
			continue;
		e->overrides[c.rules.noverrides++] = (struct resolver_override){
			.target = o->targets[i].rule,
			.verdict = o->targets[i].mode == OUTAGE_DNS ? RESOLVER_SERVFAIL
								      : RESOLVER_NXDOMAIN,
		};
	}

	if (!rc)
		rc = resolver_start(&c, &e->resolver, err, errlen);
	if (rc)
		return rc;
	e->resolved = true;
	for (size_t i = 0; i < c.nupstreams; i++) {
		__u32 server, listen = c.upstreams[i].listen_ip4;

		memcpy(&server, c.upstreams[i].addr + 12, 4);
		if (bpf_update_elem(to, &server, &listen, BPF_ANY) ||
		    bpf_update_elem(from, &listen, &server, BPF_ANY)) {
			rc = -errno;
			snprintf(err, errlen, "cannot load the resolver's addresses into the kernel: %s",
				 strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int enforce_attach(struct tracer *t, const struct policy *p, const struct outage *o,
		   int cgroup_fd, struct enforcement *e, char *err, size_t errlen)
{
	int rc = enforce_needs_resolver(p, o) ? start_resolver(t, p, o, e, err, errlen) : 0;

	for (size_t i = 0; !rc && i < program_count(p, o); i++) {
		int fd = tracer_link_cgroup(t, programs[i].function, programs[i].type,
					    programs[i].attach, cgroup_fd, err, errlen);

		if (fd < 0)
			rc = fd;
		else
			e->link_fds[e->nlinks++] = fd;
	}
	if (rc)
		enforce_detach(e);
	return rc;
}

void enforce_detach(struct enforcement *e)
{
	for (size_t i = 0; i < e->nlinks; i++)
		close(e->link_fds[i]);
	e->nlinks = 0;
	if (e->resolver) {
		resolver_get_stats(e->resolver, &e->resolver_stats);
		resolver_stop(e->resolver);
		e->resolver = NULL;
	}
}
