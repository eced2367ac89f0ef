#!/bin/bash
# deptrace -p: processes that already existed when tracing began, forks
# after it, --no-children, and an unrelated process that must not appear.
source "$(dirname "$0")/lib.sh"

go=$SCRATCH/go
# A tree that exists before deptrace attaches: sh -> dt-connect, waiting.
sh -c '"$1" -w "$2" -l 127.0.0.1 0 > "$3"; "$1" -l ::1 0 > "$4"' sh \
	"$DT_CONNECT" "$go" "$SCRATCH/old-child.out" "$SCRATCH/new-child.out" &
root=$!
sleep 0.3 # let the first child start
start_deptrace -p "$root"
"$DT_CONNECT" -l 127.0.0.1 0 > "$SCRATCH/unrelated.out" # not below $root
touch "$go"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -p exited $DEPTRACE_RC"
expect_client_lines "$SCRATCH/old-child.out"
pass "a child that existed before deptrace started is traced"
expect_client_lines "$SCRATCH/new-child.out"
pass "a child forked after deptrace started is traced"
unrelated=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$SCRATCH/unrelated.out")
[[ $(count_lines "$unrelated" - - - -) == 0 ]] || fail "unrelated PID $unrelated appears"
[[ $(trace_line_count) == 2 ]] || fail "expected exactly 2 lines"
pass "an unrelated process does not appear"

# --no-children: the named process's own connects only.
rm -f "$go"
bash -c 'while [[ ! -e $1 ]]; do sleep 0.05; done
	exec 3<>/dev/tcp/127.0.0.1/"$2"; "$3" -l 127.0.0.1 0 > "$4"' bash \
	"$go" "$(sed -n 's/.*dest=127.0.0.1:\([0-9]*\) .*/\1/p' "$SCRATCH/old-child.out" | head -1)" \
	"$DT_CONNECT" "$SCRATCH/excluded.out" 2>/dev/null &
root=$!
start_deptrace --no-children -p "$root"
touch "$go"
wait_deptrace
[[ $(count_lines "$root" bash TCP - -) == 1 ]] || fail "--no-children lost the root's own connect"
excluded=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$SCRATCH/excluded.out")
[[ -n $excluded && $(count_lines "$excluded" - - - -) == 0 ]] || fail "--no-children traced child $excluded"
pass "--no-children traces the named process only"

# Several -p targets in one run.
rm -f "$go"
"$DT_CONNECT" -w "$go" -l 127.0.0.1 0 > "$SCRATCH/first.out" &
first=$!
"$DT_CONNECT" -w "$go" -u ::1 53 > "$SCRATCH/second.out" &
second=$!
start_deptrace -p "$first" -p "$second"
touch "$go"
wait_deptrace
expect_client_lines "$SCRATCH/first.out"
expect_client_lines "$SCRATCH/second.out"
pass "two -p targets are both traced"
