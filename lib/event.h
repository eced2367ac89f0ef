/* event: one thing a traced process did, as every consumer sees it.
 *
 * The session (session.h) builds one event per connection, DNS lookup or
 * exec, once, with everything known about it: the process and its chain
 * of parents, the destination address and the name it was reached by,
 * the result, and the policy's verdict. The consumers (the text and JSON
 * emitters of output.h, the dependency map of depmap.h and, through the
 * map, the graph) only format or count it; none goes back to the kernel's
 * record. Strings and pointers are valid for the call the event is
 * handed to. What a later consumer needs (an outcome seen after the call
 * returned, where a name came from) is added here, once, filled by the
 * session.
 */
#ifndef DEPTRACE_LIB_EVENT_H
#define DEPTRACE_LIB_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "names.h"
#include "classify.h"
#include "proctree.h"

enum event_kind {
	EVENT_CONNECT, /* connect(), or a datagram the policy refused */
	EVENT_LOOKUP,  /* a DNS question, with its answer or none */
	EVENT_EXEC,    /* a traced process started a program */
};

/* Why an event breaks the policy. */
struct event_violation {
	const char *rule;   /* "deny forge.example.com", "not on the allow list" */
	const char *origin; /* where the rule was given ("deploy.policy:3"), or NULL */
	bool enforcing;     /* the policy was in force: say whether it was refused */
	bool blocked;
	bool unguarded;     /* in force, but on a socket made outside the cgroup,
			       which its hooks never see */
	bool refusal;       /* `rule` is why the kernel refused it, not a policy
			       rule (a protocol or question it cannot judge) */
};

struct event {
	enum event_kind kind;
	uint64_t ts_ns;               /* CLOCK_MONOTONIC */
	/* who */
	uint32_t pid, ppid;
	const char *comm;             /* the record's own name for the process */
	const struct proc_info *proc; /* what the process table knows (exe,
					 args, root), or NULL */
	const char *chain;            /* "deploy.sh > migrate > curl" */
	/* connections and lookups: whose dependency (classify.h), and why */
	enum event_class class;
	const char *evidence;         /* "argv names forge.example.com"; NULL
					 for transient */
	const char *via;              /* transient: "deploy.sh > curl ->
					 api.internal.example:8080
					 internal-api"; else NULL */
	/* EVENT_CONNECT: where */
	uint8_t proto;                /* enum deptrace_proto */
	uint8_t addr[16];             /* IPv4 as v4-mapped */
	uint16_t port;
	const char *name;             /* what the process resolved to reach it
					 (its most recent answer), or NULL */
	const char *const *also;      /* the other names it resolved the
					 address to, newest first */
	size_t nalso;
	enum name_source name_source; /* where `name` comes from */
	/* EVENT_LOOKUP: what */
	const char *qname;
	const char *qtype;            /* "A", "AAAA", ... */
	const uint8_t (*answers)[16]; /* IPv4 as v4-mapped */
	size_t nanswers;
	/* connections and lookups: how it went */
	const char *result;           /* "ok", "ECONNREFUSED", "EPERM (blocked)";
					 "NOERROR", "NXDOMAIN", "TIMEOUT" */
	const char *outcome;          /* the result's kind: "ok", "refused",
					 "timeout", ... (event_format.h) */
	bool failed;                  /* the destination was not reached, or
					 the name not resolved */
	bool waited;                  /* wait_ns is known: a TCP connect's
					 outcome, a lookup's answer or timeout */
	uint64_t wait_ns;             /* from the attempt to its outcome */
	const struct event_violation *violation; /* NULL: keeps the policy */
	bool new_dep;                 /* --baseline: the baseline run never had
					 this dependency (saved_run_key) */
};

#endif
