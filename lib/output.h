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
 * name can make it any length. Lines are buffered; the caller flushes after
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

struct connection_view {
	struct event_process who;
	const struct deptrace_connect_event *ev;
	const char *name; /* what the process resolved to reach it, or NULL */
};

struct lookup_view {
	struct event_process who;
	const char *qname;
	const char *qtype;       /* "A", "AAAA", ... */
	const char *status;      /* "NOERROR", "NXDOMAIN", ..., "NOANSWER" */
	const uint8_t (*addrs)[16]; /* IPv4 as v4-mapped */
	size_t naddrs;
};

struct run_totals {
	uint64_t connections;
	uint64_t lookups;
	uint64_t lost;
};

void output_header(struct output *out);
void output_connection(struct output *out, const struct connection_view *c);
void output_lookup(struct output *out, const struct lookup_view *l);
void output_exec(struct output *out, const struct event_process *who);
void output_summary(struct output *out, const struct depmap *map,
		    const struct run_totals *totals);

/* The map as a Graphviz digraph: the process tree (by program and chain)
 * and the destinations each part of it reached; failures in red. */
void output_graph(FILE *stream, const struct depmap *map);

#endif
