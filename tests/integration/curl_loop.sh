#!/bin/bash
# The issue's acceptance case: deptrace -p on a shell loop that starts curl
# shows each curl's connection under curl's own PID.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || fail "curl is not installed (scripts/setup-deps installs it)"

"$DT_CONNECT" -s 60000 -l 127.0.0.1 0 > "$SCRATCH/listener.out" &
wait_for_line "$SCRATCH/listener.out" 10 'result=ok'
port=$(sed -n 's/.*dest=127.0.0.1:\([0-9]*\) .*/\1/p' "$SCRATCH/listener.out")

stop=$SCRATCH/stop
# Each curl records its PID before exec, so the test knows the truth.
sh -c 'while [ ! -e "$1" ]; do
	sh -c '\''echo $$ >> "$1"; exec curl -s -m 0.3 -o /dev/null "http://127.0.0.1:$2/"'\'' sh "$2" "$3"
	sleep 0.1
done' sh "$stop" "$SCRATCH/curl.pids" "$port" &
loop=$!
sleep 0.5
start_deptrace -p "$loop"
# three curls traced, however slow the machine (an emulated VM runs about
# one a second)
deadline=$((SECONDS + 60))
until [[ $(count_lines - curl - - -) -ge 3 ]] || ((SECONDS >= deadline)); do
	sleep 0.2
done
touch "$stop"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace exited $DEPTRACE_RC"

traced=0
while read -r pid; do
	n=$(count_lines "$pid" curl TCP "127.0.0.1:$port" -)
	if [[ $n == 1 ]]; then
		traced=$((traced + 1))
	elif [[ $n != 0 ]]; then
		fail "curl $pid has $n lines"
	fi
done < "$SCRATCH/curl.pids"
[[ $traced -ge 3 ]] || fail "only $traced curls traced"
[[ $(count_lines - curl - - -) == "$traced" ]] || fail "curl lines with unknown PIDs"
pass "$traced curl runs traced, each under its own PID"
