/* session: what deptrace makes of the records of one run.
 *
 * Keeps the process table, the names processes resolved (their own DNS
 * traffic, and /etc/hosts), the DNS queries still waiting for an answer and
 * the dependency map; builds one event (event.h) from each record, judged
 * by the policy, and hands it to the output and the map. Nothing here
 * touches the kernel: tests feed it records directly.
 */
#ifndef DEPTRACE_SESSION_H
#define DEPTRACE_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "decode.h"
#include "message.h"
#include "outage.h"
#include "output.h"
#include "policy.h"

/* A query unanswered this long is reported as TIMEOUT (about when a
 * resolver gives up: glibc's default is 5 s per try). */
#define LOOKUP_TIMEOUT_NS (5ull * 1000000000ull)

struct session_config {
	struct output *out;
	bool summary;            /* print the dependency map at the end */
	FILE *graph;             /* write the DOT graph there at the end, or NULL */
	const char *proc_root;   /* "/proc" */
	const char *hosts_path;  /* "/etc/hosts", or NULL */
	const struct policy *policy; /* what events are judged by; NULL or
					empty: nothing is */
	bool enforcing;          /* the kernel refuses what the policy forbids:
				    a violation it let through is flagged */
	struct message_sink messages; /* warnings (lost records) */
	/* --baseline: the saved_run_key of every dependency of the baseline
	 * run, sorted (strcmp); an event whose key is not there is new */
	const char *const *baseline;
	size_t nbaseline;
	/* --outage: the rehearsal's report, fed every connection and finished
	 * (with the map), or NULL */
	struct outage_report *outage;
};

struct session;

struct session *session_new(const struct session_config *config);
void session_free(struct session *s);

/* A process traced from the start; `root` marks a target, where parent
 * chains stop. Reads what /proc knows about it. */
void session_add_process(struct session *s, pid_t pid, pid_t ppid, bool root);

/* Whether the policy is in force from now on (enforcement is set up
 * after the session starts, and may fail open). */
void session_set_enforcing(struct session *s, bool enforcing);

/* The sink the records of the run go to (a tracer's, or a test's): each
 * record is turned into its event; lost records are counted, and told to
 * the config's messages. */
struct record_sink session_sink(struct session *s);

void session_record(struct session *s, const union deptrace_record *rec);

/* The sink in front of `next` (the reorder sink, reorder.h) that reads,
 * as each record arrives, what /proc may no longer know once the record is
 * released: the path of a Unix socket a service serves the tree on (a
 * forking server's child ends within the window). Records and lost counts
 * pass on to `next` unchanged. */
struct record_sink session_arrival_sink(struct session *s, struct record_sink next);

/* An event of a saved run (saved_run.h), judged again by this session's
 * policy: what the kernel did then (refused it, for what reason, on a
 * socket outside the cgroup) is kept from the saved verdict; the rule is
 * this policy's. A lookup is judged by its question (the CNAME chain is
 * not saved); a connection by the name it was reached by. */
void session_replay(struct session *s, const struct event *saved);
void session_lost(struct session *s, uint64_t lost);

/* Reports the lookups that have waited LOOKUP_TIMEOUT_NS by `now_ns`, at
 * the end of their wait (a lookup's event time is when its outcome became
 * known: its answer, its refusal, or the end of the wait). */
void session_expire_lookups(struct session *s, uint64_t now_ns);

/* Reports every lookup still waiting, then the map and the graph. */
void session_finish(struct session *s);

const struct run_totals *session_totals(const struct session *s);

#endif
