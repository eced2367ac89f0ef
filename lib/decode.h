/* decode: raw perf samples into typed records.
 *
 * The kernel hands over bytes; this checks that their size fits the type
 * their header names before anything reads them as that type, and copies
 * them out of the perf ring (whose samples are only 4-byte aligned).
 */
#ifndef DEPTRACE_DECODE_H
#define DEPTRACE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "deptrace_event.h"

union deptrace_record {
	struct deptrace_header h;
	struct deptrace_connect_event connect;
	struct deptrace_dns_event dns;
	struct deptrace_exec_event exec;
	struct deptrace_lookup_blocked lookup_blocked;
	struct deptrace_serve_event serve;
	struct deptrace_first_bytes_event first_bytes;
};

/* 0, or -EINVAL for a sample too short for its type or of no known type. */
int decode_record(const void *data, size_t size, union deptrace_record *rec);

/* Where decoded records go (session.h makes one), wherever they come from:
 * the tracer's perf buffer, or a test. `lost`: records the source knows it
 * dropped (a full buffer). */
struct record_sink {
	void (*record)(void *ctx, const union deptrace_record *rec);
	void (*lost)(void *ctx, uint64_t lost);
	void *ctx;
};

/* Fills ev->argv from `cmdline`: `len` bytes of NUL-separated arguments,
 * as /proc/PID/cmdline holds them; at most DEPTRACE_EXEC_ARGS of them,
 * each cut to DEPTRACE_EXEC_ARG_LEN - 1 bytes; and ev->cmdline with all
 * of them joined by spaces (cut at DEPTRACE_EXEC_CMDLINE - 1 bytes). With none (len 0: the
 * process is gone, or runs another program now), argv[0] is the path the
 * kernel resolved at exec, the one argument known for sure. */
void decode_exec_argv(struct deptrace_exec_event *ev, const char *cmdline, size_t len);

#endif
