/* saved_run: reading a run saved with --json (the schema is in the
 * README and output.h's struct run_info), and the key a dependency is
 * known by across runs.
 *
 * The caller's steps:
 *
 *   struct saved_run *run;
 *   struct saved_event ev;
 *   if (saved_run_open(path, &run, err, sizeof(err))) ...   the run record read
 *   while ((rc = saved_run_next(run, &ev, err, sizeof(err))) > 0)
 *           ... ev.ev is the event, as the session built it
 *   saved_run_close(run);                                    rc < 0: err says where
 *
 * A saved run is untrusted input: every line must be JSON (json_reader.h)
 * and every event must have the fields its type needs, of the right type
 * and length; anything else stops the read with "FILE:LINE: what".
 * Fields this deptrace does not know are ignored; the summary line is
 * skipped (a replay makes its own).
 */
#ifndef DEPTRACE_SAVED_RUN_H
#define DEPTRACE_SAVED_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "depmap.h"
#include "dns.h"
#include "event.h"
#include "output.h"
#include "policy.h"
#include "proctree.h"

/* One saved event: `ev` points into the rest. */
struct saved_event {
	struct event ev;
	struct proc_info proc;
	char comm[PROC_COMM_LEN];
	char chain[DEP_CHAIN_LEN];
	char name[DEP_NAME_LEN];
	char also[NAME_CANDIDATES - 1][DEP_NAME_LEN]; /* "also_names" */
	const char *also_ptrs[NAME_CANDIDATES - 1];
	char qname[DNS_NAME_LEN];
	char qtype[DNS_TYPE_NAME_LEN];
	char result[DEP_RESULT_LEN];
	char outcome[16];              /* "outcome", where the run had one, or "" */
	char class_name[16];           /* "class", where the run had one, or "" */
	char evidence[CLASS_EVIDENCE_LEN]; /* why that class ("evidence") */
	char via[FOLLOW_VIA_LEN];      /* transient: the path ("via") */
	uint8_t answers[DNS_MAX_ANSWERS][16];
	struct event_violation violation; /* what the run said, if it broke its policy */
	char rule[POLICY_TEXT_LEN];
	char origin[POLICY_ORIGIN_LEN];
};

struct saved_run;

/* Opens `path` and reads its run record. 0, or -errno with a one-line
 * reason in `err` (cannot be read; not a saved run; a newer schema). */
int saved_run_open(const char *path, struct saved_run **run, char *err, size_t errlen);

const struct run_info *saved_run_info(const struct saved_run *run);

/* The next event: 1, 0 at the end, or -errno with "FILE:LINE: what". */
int saved_run_next(struct saved_run *run, struct saved_event *ev, char *err, size_t errlen);

void saved_run_close(struct saved_run *run);

/* What a dependency is known by across runs (diff, --baseline): a
 * connection by its name (its address when it had none), port and
 * protocol, a lookup by the name and type asked, each with the program
 * that made it (its executable path, or its name when that is unknown).
 * PIDs, times and chains are left out: they change from run to run. */
#define SAVED_RUN_KEY_LEN (DEP_NAME_LEN + PROC_EXE_LEN + 48)
void saved_run_key(const struct event *ev, char *key, size_t len);

/* The keys of every connection and lookup of the saved run at `path`,
 * sorted (strcmp) and each once: a session's baseline. 0, or -errno with
 * the reason in `err`; the caller frees them with saved_run_keys_free. */
int saved_run_keys(const char *path, char ***keys, size_t *count, char *err, size_t errlen);
void saved_run_keys_free(char **keys, size_t count);

/* The order of saved_run_keys, for qsort and bsearch over char *. */
int saved_run_key_compare(const void *a, const void *b);

#endif
