/* output: everything deptrace prints about what it saw.
 *
 * Two formats from the same calls: text (a header, then fixed-width
 * columns, one line per connection or DNS lookup, and the dependency map at
 * the end) and JSON Lines (one object per event, then a summary object;
 * the schema is in the README). Also the Graphviz graph of the map.
 *
 *   TIME(s)   PID     PPID    COMM            PROTO  RESULT        DESTINATION
 *
 * TIME is seconds since tracing started. DESTINATION comes last because a
 * name can make it any length; an event that breaks the policy has a
 * marker after it: "  VIOLATION direct: deny 192.0.2.0/24", or for a
 * program the traced root started, "  VIOLATION hidden (deploy.sh >
 * curl): deny forge.example.com". Lines are buffered; the caller flushes after
 * each batch of events, not after each line.
 */
#ifndef DEPTRACE_OUTPUT_H
#define DEPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "depmap.h"
#include "deptrace_event.h"
#include "proctree.h"

enum output_format {
	OUTPUT_TEXT,
	OUTPUT_JSON,
};

struct output {
	FILE *stream;
	enum output_format format;
	uint64_t start_ns; /* CLOCK_MONOTONIC at the start of tracing */
};

/* A process as an event names it: the record's own fields, plus what the
 * process table knows (NULL if nothing). */
struct event_process {
	const struct deptrace_header *h;
	const struct proc_info *info;
	const char *chain;
};

/* Why an event breaks the policy. */
struct violation_view {
	const char *rule;   /* "deny forge.example.com", "not on the allow list" */
	const char *origin; /* where the rule was given ("deploy.policy:3"), or NULL */
	bool direct;        /* a traced root's own, not a program it started */
	bool enforcing;     /* the policy was in force: say whether it was refused */
	bool blocked;
	bool unguarded;     /* in force, but on a socket made outside the cgroup,
			       which its hooks never see */
};

struct connection_view {
	struct event_process who;
	const struct deptrace_connect_event *ev;
	const char *name;   /* what the process resolved to reach it, or NULL */
	const struct violation_view *violation; /* NULL: keeps the policy */
};

struct lookup_view {
	struct event_process who;
	const struct violation_view *violation; /* NULL: keeps the policy */
	const char *qname;
	const char *qtype;       /* "A", "AAAA", ... */
	const char *status;      /* "NOERROR", "NXDOMAIN", ..., "NOANSWER",
				    "EPERM (blocked)" */
	const uint8_t (*addrs)[16]; /* IPv4 as v4-mapped */
	size_t naddrs;
};

struct run_totals {
	uint64_t connections;
	uint64_t lookups;
	uint64_t lost;
	bool policy;             /* events were judged: violations are reported */
	uint64_t violations;     /* direct + hidden */
	uint64_t direct_violations;
	uint64_t hidden_violations;
};

/* "3 violations (1 direct, 2 hidden)" */
#define VIOLATIONS_LEN 96
void format_violations(const struct run_totals *totals, char *buf, size_t len);

void output_header(struct output *out);
void output_connection(struct output *out, const struct connection_view *c);
void output_lookup(struct output *out, const struct lookup_view *l);
void output_exec(struct output *out, const struct event_process *who);
void output_summary(struct output *out, const struct depmap *map,
		    const struct run_totals *totals);

/* The map as a Graphviz digraph: the process tree (by program and chain)
 * and the destinations each part of it reached; failures in red,
 * violations filled orange. */
void output_graph(FILE *stream, const struct depmap *map);

#endif
