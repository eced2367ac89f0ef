# lib.sh: shared by the integration tests, which run the built deptrace as
# root against real programs on loopback and check the lines it prints.
# Sourced; ctest passes DEPTRACE and DT_CONNECT (the test client) in the
# environment. Each test runs in its own scratch directory.
set -euo pipefail

: "${DEPTRACE:?set DEPTRACE to the deptrace binary}"
: "${DT_CONNECT:?set DT_CONNECT to the dt-connect test client}"

if [[ $EUID != 0 ]]; then
	echo "SKIP: integration tests load BPF programs and need root"
	exit 77
fi

# The program count below is the machine's: tests from other build trees
# (a second checkout, scripts/bench) wait for each other, by locking a file
# every such machine has (a lock file of our own would be left behind).
exec 9<"$(command -v bpftool)"
flock 9

SCRATCH=$(mktemp -d /tmp/deptrace-test.XXXXXX)
BPF_PROGS_BEFORE=$(bpftool prog show 2>/dev/null | grep -c '^[0-9]*:' || true)
DEPTRACE_BG=
CHECKS=0
trap on_exit EXIT
# killed by timeout(1) or ctest: not a pass
trap 'exit 143' TERM

fail() {
	echo "FAIL: $*" >&2
	for f in "$SCRATCH"/*.out "$SCRATCH"/*.err; do
		[[ -s $f ]] && { echo "--- $f" >&2; cat "$f" >&2; }
	done
	exit 1
}

pass() {
	CHECKS=$((CHECKS + 1))
	echo "ok: $*"
}

on_exit() {
	local rc=$?
	set +e
	jobs -p | xargs -r kill -KILL 2>/dev/null
	wait 2>/dev/null
	rm -rf "$SCRATCH"
	if [[ $rc == 0 ]]; then
		local after
		after=$(bpftool prog show 2>/dev/null | grep -c '^[0-9]*:' || true)
		if [[ $after != "$BPF_PROGS_BEFORE" ]]; then
			echo "FAIL: $BPF_PROGS_BEFORE BPF programs loaded before the test, $after after" >&2
			exit 1
		fi
		[[ $CHECKS -gt 0 ]] || { echo "FAIL: the test checked nothing" >&2; exit 1; }
		echo "PASS: $CHECKS checks"
	fi
	exit "$rc"
}

# Fails unless every TOOL given is installed.
require_tools() {
	local tool
	for tool; do
		command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-deps installs it)"
	done
}

# Waits up to $2 seconds (default 30) for file $1 to hold a line matching $3.
wait_for_line() {
	local file=$1 pattern=$3 deadline=$((SECONDS + ${2:-30}))
	until grep -qE -- "$pattern" "$file" 2>/dev/null; do
		((SECONDS < deadline)) || fail "timed out waiting for /$pattern/ in $file"
		sleep 0.05
	done
}

# How long deptrace may take to attach: 60 s on a host; the VM test
# (tests/vm/guest-init) sets a multiple of the start-up it measured in the
# guest, where clang runs under emulation.
DEPTRACE_START_TIMEOUT=${DEPTRACE_START_TIMEOUT:-60}

# Starts deptrace in the background with the given arguments, output to
# $SCRATCH/trace.out, and returns once tracing is attached (the column
# header is printed only then). A deptrace that exits first fails at once.
start_deptrace() {
	local deadline=$((SECONDS + DEPTRACE_START_TIMEOUT))
	rm -f "$SCRATCH/trace.out" # an earlier run's header must not count
	"$DEPTRACE" -o "$SCRATCH/trace.out" "$@" 2>"$SCRATCH/trace.err" &
	DEPTRACE_BG=$!
	until grep -q '^TIME(s) ' "$SCRATCH/trace.out" 2>/dev/null; do
		# gone: it may have written the header just before (looked again)
		if ! kill -0 "$DEPTRACE_BG" 2>/dev/null; then
			grep -q '^TIME(s) ' "$SCRATCH/trace.out" 2>/dev/null && break
			wait_deptrace
			fail "deptrace exited $DEPTRACE_RC before attaching"
		fi
		((SECONDS < deadline)) || fail "deptrace did not attach within $DEPTRACE_START_TIMEOUT s (DEPTRACE_START_TIMEOUT)"
		sleep 0.05
	done
}

# Waits for the background deptrace to exit; its status goes in DEPTRACE_RC.
wait_deptrace() {
	DEPTRACE_RC=0
	wait "$DEPTRACE_BG" || DEPTRACE_RC=$?
	DEPTRACE_BG=
}

# Runs deptrace in the foreground: "run_deptrace ARGS..." with the trace in
# $SCRATCH/trace.out, what a traced command prints in $SCRATCH/client.out
# and deptrace's status in DEPTRACE_RC.
run_deptrace() {
	DEPTRACE_RC=0
	"$DEPTRACE" -o "$SCRATCH/trace.out" "$@" >"$SCRATCH/client.out" 2>"$SCRATCH/trace.err" ||
		DEPTRACE_RC=$?
}

# The cgroups deptrace made (deptrace-PID) under the cgroup v2 root
# ($cgroup_root, the test's), and the BPF programs on the machine.
deptrace_cgroups() {
	find "$cgroup_root" -maxdepth 1 -name 'deptrace-*' | wc -l
}

bpf_programs() {
	bpftool prog show 2>/dev/null | grep -c '^[0-9]*:' || true
}

# After a run with enforcement (--enforce, --outage): within $2 seconds
# (default 10), no cgroup of ours and no program beyond those before; $1
# says after what.
expect_clean() {
	local deadline=$((SECONDS + ${2:-10}))
	until [[ $(deptrace_cgroups) == 0 && $(bpf_programs) == "$BPF_PROGS_BEFORE" ]]; do
		((SECONDS < deadline)) ||
			fail "$1: $(deptrace_cgroups) deptrace cgroup(s) and $(bpf_programs) programs (before: $BPF_PROGS_BEFORE) remain"
		sleep 0.1
	done
}

# Event lines only: the header and the dependency map are not events.
event_lines() {
	awk 'NR > 1 && $1 ~ /^[0-9]+\.[0-9]+$/' "$SCRATCH/trace.out"
}

# The number of event lines with these columns: PID COMM PROTO DEST RESULT
# (a "-" skips a column). DESTINATION is address:port, maybe followed by
# "(name)"; WAIT ($7) is not compared (see count_waits).
count_lines() {
	event_lines | awk -v pid="$1" -v comm="$2" -v proto="$3" -v dest="$4" -v result="$5" '
		(pid == "-" || $2 == pid) && (comm == "-" || $4 == comm) &&
		(proto == "-" || $5 == proto) && (result == "-" || $6 == result) &&
		(dest == "-" || $8 == dest) { n++ }
		END { print n + 0 }'
}

# Fails unless each of the given lines ("curl=6") is a line the traced
# command printed ($SCRATCH/client.out).
expect_client_says() {
	local want
	for want; do
		grep -qx -- "$want" "$SCRATCH/client.out" ||
			fail "expected '$want' from the command: $(tr '\n' ' ' < "$SCRATCH/client.out")"
	done
}

# Lines with PID COMM PROTO and the blocked result (EPERM (blocked)) to
# DEST ("-" skips).
count_blocked() {
	event_lines | awk -v pid="$1" -v comm="$2" -v proto="$3" -v dest="$4" '
		$6 == "EPERM" && $7 == "(blocked)" &&
		(pid == "-" || $2 == pid) && (comm == "-" || $4 == comm) &&
		(proto == "-" || $5 == proto) && (dest == "-" || $9 == dest) { n++ }
		END { print n + 0 }'
}

# For every connection the test client printed in file $1 (what it really
# did), deptrace must have printed one line with the same PID, COMM,
# protocol, destination and result: as many such lines as the client made
# such connections (threads of one process make identical lines).
expect_client_lines() {
	local file=$1 pid comm proto dest result made n seen=0
	while read -r made pid comm proto dest result; do
		n=$(count_lines "$pid" "$comm" "$proto" "$dest" "$result")
		[[ $n == "$made" ]] ||
			fail "expected $made line(s) '$pid $comm $proto $dest $result', found $n"
		seen=$((seen + made))
	done < <(sed -n 's/^pid=\([0-9]*\) tid=[0-9]* comm=\([^ ]*\) proto=\([^ ]*\) dest=\([^ ]*\) result=\([^ ]*\)$/\1 \2 \3 \4 \5/p' "$file" |
		sort | uniq -c)
	[[ $seen -gt 0 ]] || fail "the client printed no connection in $file"
	pass "$seen connection(s) from $file each traced exactly once"
}

# The WAIT of each event line with COMM RESULT DEST ("-" skips a column), in
# milliseconds ("-" when not timed), one a line.
waits_ms() {
	event_lines | awk -v comm="$1" -v result="$2" -v dest="$3" '
		(comm == "-" || $4 == comm) && (result == "-" || $6 == result) &&
		(dest == "-" || $8 == dest) {
			w = $7
			if (w ~ /us$/) { sub(/us$/, "", w); print w / 1000 }
			else if (w ~ /ms$/) { sub(/ms$/, "", w); print w + 0 }
			else if (w ~ /s$/) { sub(/s$/, "", w); print w * 1000 }
			else print w }'
}

# Connection lines (TCP, UDP), header, lookups and map excluded.
trace_line_count() {
	event_lines | awk '$5 != "DNS"' | grep -c . || true
}

# count_lines for connections to a name the process resolved: PID COMM
# PROTO DEST RESULT NAME, the destination "DEST (NAME)", then its class (no
# VIOLATION marker).
count_named_lines() {
	event_lines | awk -v pid="$1" -v comm="$2" -v proto="$3" -v dest="$4" -v result="$5" -v name="($6)" '
		(pid == "-" || $2 == pid) && (comm == "-" || $4 == comm) &&
		(proto == "-" || $5 == proto) && (result == "-" || $6 == result) &&
		(dest == "-" || $8 == dest) && $9 == name && $10 ~ /^(direct|hidden|transient)$/ { n++ }
		END { print n + 0 }'
}

# What follows the destination on the event lines of PID with PROTO to
# DEST (DEST: address:port, or a lookup's name), one line each: the class
# ("direct", "hidden (deploy.sh > migrate > curl; not in migrate's argv)")
# or "VIOLATION CLASS...: RULE".
tail_of() {
	event_lines | awk -v pid="$1" -v proto="$2" -v dest="$3" '
		$2 == pid && $5 == proto && $8 == dest {
			rest = substr($0, index($0, " " dest " ") + 1)
			print substr(rest, index(rest, "  ") + 2) }'
}

# The number of lookup lines: PID COMM STATUS NAME QTYPE [ANSWERS] ("-"
# skips a column). ANSWERS is what follows "->" up to the class (e.g.
# "127.0.0.10"); left out, the line must have no answers.
count_lookup_lines() {
	event_lines | awk -v pid="$1" -v comm="$2" -v status="$3" -v name="$4" -v qtype="$5" \
		-v answers="${6-}" -v any_answers="${6+set}" '
		$5 != "DNS" { next }
		{ got = ""; i = index($0, " -> "); if (i) got = substr($0, i + 4)
		  j = index(got, "  "); if (j) got = substr(got, 1, j - 1) }
		(pid == "-" || $2 == pid) && (comm == "-" || $4 == comm) &&
		(status == "-" || $6 == status) && (name == "-" || $8 == name) &&
		(qtype == "-" || $9 == qtype) &&
		(any_answers ? (answers == "-" || got == answers) : got == "") { n++ }
		END { print n + 0 }'
}

# Where cgroup v2 is mounted (the first mount of it), or nothing.
cgroup2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

# run_beside_unrelated SCRIPT: traces SCRIPT while $SCRATCH/unrelated (a
# client of the same services, started inside the fake network) runs at
# the same time: SCRIPT waits for $SCRATCH/go, touched once the unrelated
# client's requests are in the services' hands; then waits for deptrace and
# for the unrelated client to write $SCRATCH/unrelated.done.
run_beside_unrelated() {
	start_deptrace -- "$1"
	fakenet_run "$SCRATCH/unrelated" > "$SCRATCH/unrelated.out" 2>&1 &
	sleep 0.2 # its requests are in the services' hands, pausing
	touch "$SCRATCH/go"
	wait_deptrace
	[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- ${1##*/} exited $DEPTRACE_RC"
	for _ in $(seq 100); do [[ -e $SCRATCH/unrelated.done ]] && break; sleep 0.1; done
	[[ -e $SCRATCH/unrelated.done ]] || fail "the unrelated client did not finish: $(cat "$SCRATCH/unrelated.out")"
}

# The tails (what follows the destination) of the lines of COMM with
# PROTO to DEST, sorted, one per line.
tails() {
	event_lines | awk -v comm="$1" -v proto="$2" -v dest="$3" '
		$4 == comm && $5 == proto && $8 == dest {
			rest = substr($0, index($0, " " dest " ") + 1)
			print substr(rest, index(rest, "  ") + 2) }' | sort
}

# expect_tails [-F] COMM PROTO DEST TAIL...: the lines of COMM with PROTO to
# DEST end with exactly these tails (one line each, in sorted order): EREs,
# or with -F fixed strings (a path with dots and parentheses in it).
expect_tails() {
	local match=-qxE comm proto dest got want
	[[ $1 == -F ]] && { match=-qxF; shift; }
	comm=$1 proto=$2 dest=$3
	shift 3
	got=$(tails "$comm" "$proto" "$dest")
	[[ $(grep -c . <<< "$got") == "$#" ]] ||
		fail "$comm $proto $dest: expected $# line(s), found: ${got:-none}"
	for want; do
		grep "$match" -- "$want" <<< "$got" || fail "$comm $proto $dest: no line ending /$want/ in: $got"
	done
}

# Fails unless the JSON Lines in $2 say what the text in $1 says (the same
# events, map and summary: json_matches_text.py); $3 names the pair.
expect_json_matches_text() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/json_matches_text.py" "$1" "$2" > "$SCRATCH/compare.out" ||
		fail "${3:---json and text} differ: $(cat "$SCRATCH/compare.out")"
}

# The dependency map at the end of the trace: "DEPENDENCIES (N)" and after.
map_section() {
	sed -n '/^DEPENDENCIES (/,$p' "$SCRATCH/trace.out"
}

# For the tests on a fake network (examples/lib/fakenet.sh, which the test
# sources): creates the namespace and its DNS server with the NAME=ADDRESS
# records given, removes them on exit before on_exit's checks (keeping the
# status), and makes $DEPTRACE run deptrace inside the namespace, so that
# lib.sh's helpers trace there.
fakenet_test_up() {
	local real_deptrace=$DEPTRACE
	trap fakenet_test_exit EXIT
	fakenet_up deptrace-test "$SCRATCH" "$@" ||
		fail "cannot set up the namespace and dnsmasq: $(cat "$SCRATCH/dnsmasq.log" 2>/dev/null)"
	DEPTRACE=$SCRATCH/deptrace-in-netns
	printf '#!/bin/bash\nexec ip netns exec %q %s%q "$@"\n' "$FAKENET_NS" \
		"$(printf '%q ' "${FAKENET_WITH_CGROUP[@]}")" "$real_deptrace" > "$DEPTRACE"
	chmod +x "$DEPTRACE"
}

fakenet_test_exit() {
	local rc=$?
	set +e
	fakenet_down
	(exit "$rc")
	on_exit
}
