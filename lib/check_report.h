/* check_report: deptrace --check, what this kernel and system offer deptrace.
 *
 * Prints, one fact a line, to the stream it is given: the kernel, the
 * privileges, BPF, tracefs (mounting it if needed, as a run would), kprobes
 * and their targets, the tracepoints, the backend a run would take and the
 * kernel headers it would compile against. Warnings (why no headers) go to
 * the message sink.
 *
 * (Not check.h: that name is the Check unit-test framework's.)
 */
#ifndef DEPTRACE_CHECK_REPORT_H
#define DEPTRACE_CHECK_REPORT_H

#include <stdio.h>

#include "kernel_probe.h"
#include "message.h"
#include "run.h"

/* What would stop a run here (the first of: privileges, backend, headers),
 * or RUN_FAILED_NOTHING. */
enum run_failure check_report(FILE *out, enum backend wanted, bool syscall_hooks,
			      const struct message_sink *messages);

#endif
