/* output: see output.h. */
#include "output.h"

#include "event_format.h"

#define LINE_FORMAT "%-9s %-7s %-7s %-15s %-6s %-47s %s\n"

void output_header(struct output *out)
{
	fprintf(out->stream, LINE_FORMAT, "TIME(s)", "PID", "PPID", "COMM", "PROTO",
		"DESTINATION", "RESULT");
	fflush(out->stream);
}

void output_event(struct output *out, const struct deptrace_event *ev)
{
	char time[24], pid[12], ppid[12], comm[DEPTRACE_COMM_LEN];
	char dest[DESTINATION_LEN], result[32];
	uint64_t since = ev->ts_ns > out->start_ns ? ev->ts_ns - out->start_ns : 0;

	snprintf(time, sizeof(time), "%.3f", since / 1e9);
	snprintf(pid, sizeof(pid), "%u", ev->pid);
	snprintf(ppid, sizeof(ppid), "%u", ev->ppid);
	snprintf(comm, sizeof(comm), "%.*s", DEPTRACE_COMM_LEN - 1, ev->comm);
	format_destination(ev, dest, sizeof(dest));
	format_result(ev->result, result, sizeof(result));
	fprintf(out->stream, LINE_FORMAT, time, pid, ppid, comm, proto_name(ev->proto),
		dest, result);
}
