/* outage: the rehearsal of an outage (--outage): its targets, how each is
 * made to fail, and the report of what the command did under it.
 *
 * A target is written as a policy rule (policy.h: a name, *.suffix, an
 * address or CIDR, each with an optional port), then optionally "=MODE"
 * (the table in outage.c): "refuse" (connects fail at once with
 * ECONNREFUSED, as when the host is up and the service down), "blackhole"
 * (the default: packets vanish, connects hang until the client or the
 * kernel gives up). The kernel side is bpf_text/policy_cgroup.bpf.h,
 * loaded by enforce.c into the command's cgroup: address targets at once,
 * a name's addresses as the answers to its lookups give them. A name (or
 * *.name, without a port) may instead take "dns" (its lookups fail with
 * SERVFAIL) or "nxdomain": the cgroup's DNS is then steered to deptrace's
 * resolver, which answers so for it (resolver.h).
 *
 * The report: the session hands every connection to outage_report_note;
 * those to a target are grouped by destination and program (chain), with
 * how they ended and the time the program spent waiting on them (the
 * union of their attempts' waits: parallel attempts count once). At the
 * end, the groups sorted by time lost, with the command's exit status.
 *
 * Caller's steps: outage_add for each --outage (options), then
 * outage_report_init over the targets; outage_report_note per event;
 * outage_report_set_status once the command's status is known;
 * outage_report_finish, then read the hits (or render them); free.
 */
#ifndef DEPTRACE_OUTAGE_H
#define DEPTRACE_OUTAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "classify.h"
#include "deptrace_event.h"
#include "event.h"
#include "json_writer.h"
#include "policy.h"

#define OUTAGE_MAX_TARGETS 32

enum outage_mode {
	OUTAGE_BLACKHOLE = DEPTRACE_OUTAGE_BLACKHOLE,
	OUTAGE_REFUSE = DEPTRACE_OUTAGE_REFUSE,
	/* names only, answered by deptrace's resolver (resolver.h), not by
	 * the kernel's outage maps: */
	OUTAGE_DNS,      /* lookups of the name fail at once with SERVFAIL */
	OUTAGE_NXDOMAIN, /* ... with NXDOMAIN */
};

struct outage_target {
	struct policy_rule rule; /* action RULE_DENY; text "outage forge.example.com (blackhole)" */
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

/* --- the report ------------------------------------------------------------ */

#define OUTAGE_DESTINATION_LEN 300
#define OUTAGE_CHAIN_LEN 512
#define OUTAGE_RESULT_LEN 32

/* The connections of one program (chain) to one destination of the
 * outage. */
struct outage_hit {
	char destination[OUTAGE_DESTINATION_LEN]; /* "forge.example.com:80", "127.0.0.10:80" */
	char name[POLICY_NAME_LEN];   /* the name it was reached by, or "" */
	uint8_t addr[16];
	uint16_t port;
	char comm[DEPTRACE_COMM_LEN];
	char chain[OUTAGE_CHAIN_LEN];
	enum event_class class;
	char via[OUTAGE_CHAIN_LEN];   /* transient: the path; else "" */
	const char *target;           /* the --outage rule it met */
	enum outage_mode mode;
	char result[OUTAGE_RESULT_LEN]; /* the latest attempt's: "ECONNABORTED" */
	char outcome[16];             /* and its kind: "closed", "refused", "ok" */
	unsigned attempts;
	unsigned reached;             /* attempts that connected all the same */
	uint64_t lost_ns;             /* union of the attempts' waits (finish) */
	uint64_t (*spans)[2];         /* each attempt's [start, end] */
	size_t nspans, cap;
};

struct outage_report {
	struct outage targets;
	struct policy_rule rules[OUTAGE_MAX_TARGETS]; /* the targets' rules, as a policy */
	struct outage_hit *hits;      /* sorted by lost_ns, most first, after finish */
	size_t count, cap;
	bool command_exited;          /* the command was reaped ... */
	int command_status;           /* ... with this wait status */
	uint64_t lost_ns;             /* union over every hit (finish) */
	int error;                    /* -ENOMEM when a hit could not be kept */
};

/* A report over a copy of the targets. */
void outage_report_init(struct outage_report *r, const struct outage *targets);

/* One connection the session built: kept when it went to a target
 * (policy_check_connection over the targets, by address and by name). */
void outage_report_note(struct outage_report *r, const struct event *ev);

/* The command's wait status. */
void outage_report_set_status(struct outage_report *r, int status);

/* Computes the time lost and sorts the hits. */
void outage_report_finish(struct outage_report *r);

/* Whether the rehearsal fails a budget of `budget_s` seconds: the command
 * failed (or was not seen to end), or waited longer than that in all. */
bool outage_report_failed(const struct outage_report *r, double budget_s);

/* The hit of the program `chain` at addr:port, or NULL (the graph's edges). */
const struct outage_hit *outage_report_find(const struct outage_report *r,
					    const uint8_t addr[16], uint16_t port,
					    const char *chain);

/* The report as text lines (each without its newline) handed to `line`:
 * a heading, then one line per hit. */
void outage_report_lines(const struct outage_report *r,
			 void (*line)(void *arg, const char *text), void *arg);

/* The report as the value of a JSON field (an object). */
void outage_report_json(const struct outage_report *r, struct json_writer *w);

void outage_report_free(struct outage_report *r);

#endif
