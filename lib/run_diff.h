/* run_diff: two saved runs compared, dependency by dependency
 * (deptrace diff OLD.jsonl NEW.jsonl).
 *
 * A dependency is known by saved_run_key (name or address, port,
 * protocol, program's executable path; a lookup by name and type), so
 * that PIDs, times and the order of events do not count. Written to
 * `out`, one line each, sorted by key:
 *
 *   + forge.example.com:443 TCP (/usr/bin/curl)  EINPROGRESS x1  deploy.sh > curl
 *   - mirror.example.com:80 TCP (/usr/bin/curl)  ok x2  deploy.sh > curl
 *   ~ api.internal.example:8080 TCP (/usr/bin/curl)  result EINPROGRESS -> ECONNREFUSED
 *
 * "changed": the set of results differs (ok -> ECONNREFUSED, NOERROR ->
 * EPERM (blocked)), or the set of classes the events carried (a run with
 * a "class" field per event: direct -> hidden).
 */
#ifndef DEPTRACE_RUN_DIFF_H
#define DEPTRACE_RUN_DIFF_H

#include <stddef.h>
#include <stdio.h>

struct run_diff_totals {
	size_t added, removed, changed;
};

/* 0, or -errno with the reason in `err` (nothing is written then). */
int run_diff(const char *old_path, const char *new_path, FILE *out,
	     struct run_diff_totals *totals, char *err, size_t errlen);

#endif
