#!/bin/bash
# How tracing ends and what deptrace exits with: the command's status and
# signals pass through, -p ends when the targets exit, SIGTERM and
# --duration end it cleanly.
source "$(dirname "$0")/lib.sh"

run_deptrace -- sh -c 'exit 7'
[[ $DEPTRACE_RC == 7 ]] || fail "command exit 7 came back as $DEPTRACE_RC"
pass "run mode passes the exit status through"

run_deptrace -- sh -c 'kill -TERM $$'
[[ $DEPTRACE_RC == 143 ]] || fail "command killed by SIGTERM came back as $DEPTRACE_RC"
pass "run mode reports death by signal N as 128+N"

start_deptrace -- sleep 30
kill -TERM "$DEPTRACE_BG"
wait_deptrace
[[ $DEPTRACE_RC == 143 ]] || fail "SIGTERM to deptrace: exit $DEPTRACE_RC, expected the command's 143"
pass "SIGTERM sent to deptrace reaches the command"

# Targets live until the test ends them: however slow deptrace's start-up
# (an emulated VM), none is gone before deptrace looks for it.
sleep infinity &
target=$!
start_deptrace -p "$target"
kill "$target"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "-p: exit $DEPTRACE_RC after the target exited"
grep -qE 'connections? and [0-9]+ lookups? traced \([0-9]+ direct, [0-9]+ hidden, [0-9]+ transient\), 0 events lost' "$SCRATCH/trace.err" || fail "no final summary line"
pass "-p ends by itself when the target exits"

sleep infinity &
target=$!
start_deptrace -d 1 -p "$target"
SECONDS=0 # from the attach: start-up under emulation can take 30 s itself
wait_deptrace
[[ $DEPTRACE_RC == 0 && $SECONDS -lt 30 ]] || fail "--duration 1: exit $DEPTRACE_RC after ${SECONDS}s"
kill -0 "$target" || fail "--duration hurt the traced process"
pass "--duration ends tracing and leaves the target running"

# A traced process whose exit the kernel side never saw (seeded from /proc
# just as it exited) is found gone in /proc once tracing goes quiet: it must
# not keep -p tracing going after the real target exits. Planted here by
# hand in deptrace's traced map, under a PID nothing uses.
start_deptrace -p "$target"
map=$(bpftool map show | awk '$3 == "name" && $4 == "traced" { sub(":", "", $1); print $1 }')
[[ $map =~ ^[0-9]+$ ]] || fail "cannot find deptrace's traced map in bpftool map show: '$map'"
ghost=4194000
while [[ -e /proc/$ghost ]]; do ghost=$((ghost + 1)); done
bpftool map update id "$map" key hex $(printf '%08x' "$ghost" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4 \3 \2 \1/') \
	value 0 0 0 0 any || fail "cannot plant PID $ghost in map $map"
kill "$target"
for ((i = 0; i < 300; i++)); do
	kill -0 "$DEPTRACE_BG" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$DEPTRACE_BG" 2>/dev/null; then
	kill -INT "$DEPTRACE_BG"
	wait_deptrace
	fail "-p still tracing 30 s after its target exited, held by a PID gone from /proc"
fi
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "-p with a planted PID: exit $DEPTRACE_RC"
pass "a traced PID gone from /proc without an exit event does not keep tracing going"

sleep infinity &
target=$!
start_deptrace -p "$target"
kill -INT "$DEPTRACE_BG"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "SIGINT with -p: exit $DEPTRACE_RC"
kill -0 "$target" || fail "SIGINT to deptrace -p reached the target"
kill "$target"
pass "SIGINT ends -p tracing and leaves the target alone"

# A target that exits while deptrace is still compiling (before the exit
# probe is attached) must not keep tracing going for ever.
sleep 0.5 &
target=$!
rc=0
timeout 60 "$DEPTRACE" -p "$target" > "$SCRATCH/early.out" 2> "$SCRATCH/early.err" || rc=$?
# 4: on a slow machine (an emulated VM) the target was gone even before
# deptrace looked for it, which is also an end, not a hang
[[ $rc == 0 || $rc == 4 ]] || fail "a target gone before attaching: deptrace exited $rc (124: it hung)"
pass "a target that exits during start-up ends tracing"
