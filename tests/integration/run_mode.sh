#!/bin/bash
# deptrace -- COMMAND: every kind of connect the issue lists, each seen
# exactly once with the client's own PID, COMM, destination and result.
source "$(dirname "$0")/lib.sh"

trace_client() {
	local what=$1
	shift
	run_deptrace -- "$DT_CONNECT" "$@"
	[[ $DEPTRACE_RC == 0 ]] || fail "$what: deptrace exited $DEPTRACE_RC"
	expect_client_lines "$SCRATCH/client.out"
	[[ $(trace_line_count) == $(grep -c '^pid=' "$SCRATCH/client.out") ]] ||
		fail "$what: deptrace printed lines the client did not make"
	pass "$what"
}

trace_client "IPv4 loopback connect" -l 127.0.0.1 0
trace_client "IPv6 loopback connect" -l ::1 0
trace_client "IPv4-mapped IPv6 connect" -l ::ffff:127.0.0.1 0
trace_client "refused port" -r 127.0.0.1 0
trace_client "refused port, IPv6" -r ::1 0
trace_client "UDP connect" -u 127.0.0.1 53
trace_client "UDP connect, IPv6" -u ::1 53
trace_client "non-blocking connect" -n -l 127.0.0.1 0
trace_client "four threads" -t 4 -l 127.0.0.1 0
[[ $(event_lines | awk '{ print $2 }' | sort -u | wc -l) == 1 ]] ||
	fail "the threads' lines carry more than one PID"
pass "threads are reported under their process's PID"

trace_client "fork and exec" -f -l 127.0.0.1 0
child=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$SCRATCH/client.out")
parent=$(event_lines | awk 'NR == 1 { print $3 }')
[[ -n $child && $parent != "$child" ]] || fail "fork: PPID $parent for child $child"
pass "the forked child's PPID is its parent ($parent)"
