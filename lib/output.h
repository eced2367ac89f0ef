/* output: everything deptrace prints about what it saw.
 *
 * Two formats from the same calls: text (a header, then fixed-width
 * columns, one line per connection or DNS lookup, and the dependency map at
 * the end) and JSON Lines (one object per event, then a summary object;
 * the schema is in the README). Also the Graphviz graph of the map.
 *
 *   TIME(s)   PID     PPID    COMM            PROTO  RESULT        WAIT    DESTINATION
 *
 * TIME is seconds since tracing started; WAIT how long the outcome took
 * ("0.4ms", "127s"; "-" when not timed). DESTINATION comes last because a
 * name can make it any length; an event that breaks the policy has a
 * class after it (classify.h): "  direct" for the traced command's own,
 * "  direct (deploy.sh > curl; argv names forge.example.com)" or
 * "  hidden (deploy.sh > migrate > curl; not in migrate's argv)" for a
 * program it started. An event that breaks the policy has its class in a
 * marker instead: "  VIOLATION direct: deny 192.0.2.0/24",
 * "  VIOLATION hidden (deploy.sh > migrate > curl; not in migrate's
 * argv): deny forge.example.com". Lines are buffered; the caller flushes
 * after each batch of events, not after each line.
 */
#ifndef DEPTRACE_OUTPUT_H
#define DEPTRACE_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "depmap.h"
#include "event.h"

struct outage_report; /* outage.h */

enum output_format {
	OUTPUT_TEXT,
	OUTPUT_JSON,
};

struct output_emitter; /* the format's functions, chosen once by output_init */

struct output {
	FILE *stream;
	const struct output_emitter *emitter;
	uint64_t start_ns; /* CLOCK_MONOTONIC at the start of tracing */
};

/* What a saved run says about itself: the first JSON line, {"type":
 * "run", "schema": OUTPUT_SCHEMA, ...} (README, JSON Lines). Strings
 * may be empty when unknown. */
#define OUTPUT_SCHEMA 1
#define RUN_INFO_LEN 256
struct run_info {
	unsigned schema;
	char version[32];             /* deptrace's */
	char host[RUN_INFO_LEN];      /* uname -n */
	char kernel[RUN_INFO_LEN];    /* uname -r */
	char command[RUN_INFO_LEN];   /* "-p 4242 -- ./deploy.sh prod", cut to fit */
	char start[32];               /* UTC, "2026-11-30T13:12:12Z" */
	bool map;                     /* the text output ends with the map */
	bool enforced;                /* the policy was in force at the start */
};

struct run_totals {
	uint64_t connections;
	uint64_t lookups;
	uint64_t lost;
	uint64_t classes[CLASS_COUNT]; /* connections and lookups by class */
	bool policy;             /* events were judged: violations are reported */
	uint64_t violations;     /* of every class */
	uint64_t class_violations[CLASS_COUNT];
	bool baseline;           /* events were compared with a baseline run */
	uint64_t new_deps;       /* events whose dependency the baseline lacks */
};

/* "(1 direct, 2 hidden)": a count of each class, as the summary lines
 * give them. */
#define CLASS_COUNTS_LEN 64
void format_class_counts(const uint64_t counts[CLASS_COUNT], char *buf, size_t len);

/* "3 violations (1 direct, 2 hidden)" */
#define VIOLATIONS_LEN 96
void format_violations(const struct run_totals *totals, char *buf, size_t len);
/* "2 attempts at dependencies the baseline run did not have" */
void format_new_deps(const struct run_totals *totals, char *buf, size_t len);

/* Writes `format` to `stream` from now on (start_ns 0 until set). */
void output_init(struct output *out, FILE *stream, enum output_format format);

/* The column heads (text), or the run record (JSON, when `info` is not
 * NULL): what starts the output. */
void output_header(struct output *out, const struct run_info *info);

/* One line (text) or object (JSON) for a connection or lookup; an exec
 * has a JSON object only. Text shows every control byte in a program's
 * name, arguments or a DNS name as a visible escape (ESC as \x1b), so
 * that no traced program can move the cursor or forge a line. */
void output_event(struct output *out, const struct event *ev);

/* The dependency map at the end: in text when `asked` (-s, or run mode),
 * in JSON always (the summary object ends the stream). */
void output_summary(struct output *out, const struct depmap *map,
		    const struct run_totals *totals, const struct outage_report *outage,
		    bool asked);

/* The map as a Graphviz digraph: the process tree (by program and chain)
 * and the destinations each part of it reached; failures in red,
 * violations filled orange; with an --outage report, the time each
 * program lost on a target on its edge ("lost 2.0s"). */
void output_graph(FILE *stream, const struct depmap *map, const struct outage_report *outage);

#endif
