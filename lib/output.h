/* output: the lines deptrace prints, one per connection attempt.
 *
 * Fixed-width columns under a header, the same for every backend:
 *   TIME(s)   PID     PPID    COMM            PROTO  DESTINATION   RESULT
 * TIME is seconds since tracing started. Lines are buffered; the caller
 * flushes after each batch of events, not after each line.
 */
#ifndef DEPTRACE_OUTPUT_H
#define DEPTRACE_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include "deptrace_event.h"

struct output {
	FILE *stream;
	uint64_t start_ns; /* CLOCK_MONOTONIC at the start of tracing */
};

void output_header(struct output *out);
void output_event(struct output *out, const struct deptrace_event *ev);

#endif
