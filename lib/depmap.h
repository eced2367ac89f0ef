/* depmap: the dependency map, everything a traced run depended on.
 *
 * One entry per destination (the name it was reached by, protocol,
 * address, port: two names served from one address are two dependencies,
 * and an attempt with no name known is one more) and per DNS name looked
 * up, with which programs reached it
 * (grouped by program and chain of parents), how often, when, with
 * which results, the longest wait for one, and how often it broke the
 * policy; its programs grouped by class (classify.h), direct first.
 * Rendered at the end as text, JSON or a Graphviz graph
 * (output.h).
 */
#ifndef DEPTRACE_DEPMAP_H
#define DEPTRACE_DEPMAP_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "follow.h"
#include "policy.h"
#include "proctree.h"

#define DEP_NAME_LEN 256
#define DEP_CHAIN_LEN 256
#define DEP_RESULT_LEN 24
#define DEP_MAX_RESULTS 8
#define DEP_MAX_PROGRAMS 16

enum dep_kind {
	DEP_CONNECTION,
	DEP_LOOKUP,
};

struct dep_program {
	char comm[PROC_COMM_LEN];
	char exe[PROC_EXE_LEN];
	char script[PROC_EXE_LEN]; /* "" if none */
	char chain[DEP_CHAIN_LEN]; /* "deploy.sh > migrate > curl" */
	enum event_class class;    /* the same chain may reach it both ways */
	char via[FOLLOW_VIA_LEN];  /* transient: the path to the service, "" else */
	unsigned count;
	unsigned violations;
};

struct dep_result {
	char text[DEP_RESULT_LEN]; /* "ok", "ECONNREFUSED", "NXDOMAIN", ... */
	unsigned count;
};

struct dependency {
	enum dep_kind kind;
	char name[DEP_NAME_LEN];   /* the name reached by, "" if none is known;
				      for a lookup, the name and type looked up */
	uint8_t addr[16];          /* connections: IPv6, IPv4 as v4-mapped */
	uint16_t port;
	uint8_t proto;             /* enum deptrace_proto */
	unsigned count;
	uint64_t first_ns, last_ns;
	struct dep_result results[DEP_MAX_RESULTS];
	size_t nresults;
	unsigned other_results;    /* beyond DEP_MAX_RESULTS kinds */
	bool timed;                /* an outcome's wait is known: */
	uint64_t slowest_ns;       /* the longest one */
	struct dep_program programs[DEP_MAX_PROGRAMS];
	size_t nprograms;
	unsigned other_programs;   /* counts beyond DEP_MAX_PROGRAMS programs */
	bool failed;               /* some result was a failure */
	unsigned violations;       /* attempts that broke the policy */
	char rule[POLICY_TEXT_LEN]; /* the first one's rule, "" if none */
};

struct depmap {
	struct dependency *deps;
	size_t count, cap;
};

/* Counts a connection or lookup (ev->proc set) under its destination.
 * 0 or -ENOMEM. */
int depmap_add(struct depmap *map, const struct event *ev);

/* Named destinations first, by name, then by address and port; lookups
 * after connections. Each one's programs by class, direct first (in the
 * order they came within a class). */
void depmap_sort(struct depmap *map);

void depmap_free(struct depmap *map);

#endif
