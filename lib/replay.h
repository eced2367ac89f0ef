/* replay: a saved run (saved_run.h) fed to the session code again, with
 * any policy: the same lines, map and graph a live run with that policy
 * would have printed, without the kernel, root or BPF.
 *
 * The caller's steps (tools/deptrace.c, `deptrace replay`):
 *
 *   output_init(&out, stdout, format);
 *   rc = replay_run(&config, &totals, err, sizeof(err));   0 or -errno, err
 *   ... the exit code from totals (violations, new dependencies)
 *
 * The output starts with the saved run's own run record (JSON) or the
 * column heads (text), so that replaying a run with the policy it was
 * made with prints it again byte for byte.
 */
#ifndef DEPTRACE_REPLAY_H
#define DEPTRACE_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "message.h"
#include "output.h"
#include "policy.h"

struct replay_config {
	const char *path;            /* the saved run */
	struct output *out;
	bool summary;                /* print the map even where the run did not */
	FILE *graph;                 /* the DOT graph there, or NULL */
	const struct policy *policy; /* judged by; NULL or empty: nothing is */
	const char *const *baseline; /* session_config's */
	size_t nbaseline;
	struct message_sink messages;
};

/* 0, or -errno with "FILE:LINE: what" in `err` (nothing printed after
 * the line that failed; the map is not printed). `totals` are the run's
 * counts, as a live run's. */
int replay_run(const struct replay_config *config, struct run_totals *totals, char *err,
	       size_t errlen);

#endif
