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

# A TCP connect's RESULT is how it ended: ok once the handshake completed,
# ECONNABORTED when its program closed it before, EINPROGRESS when it was
# still connecting as tracing ended. A listener that never accepts, with
# its queue full, drops the SYNs that come after: those connects stay in
# SYN_SENT, on loopback.
cat > "$SCRATCH/outcomes.py" <<'PY'
import os, select, socket, sys, time
go, out = sys.argv[1], sys.argv[2]
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(0)
port = listener.getsockname()[1]
def start():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", port))
    except BlockingIOError:
        pass
    return s
def connected(s, wait):
    return bool(select.select([], [s], [], wait)[1]) and not s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
while not os.path.exists(go):
    time.sleep(0.05)
first = start()           # fills the queue
if not connected(first, 2):
    sys.exit("the first connect did not complete")
abandoned = start()
if connected(abandoned, 0.3):
    sys.exit("a connect beyond the full queue completed")
abandoned.close()
pending = start()
with open(out, "w") as f:
    f.write("port=%d\n" % port)
time.sleep(60)
PY
rm -f "$go"
python3 "$SCRATCH/outcomes.py" "$go" "$SCRATCH/outcomes.out" &
outcomes=$!
start_deptrace -p "$outcomes"
touch "$go"
wait_for_line "$SCRATCH/outcomes.out" 20 '^port='
port=$(sed -n 's/^port=//p' "$SCRATCH/outcomes.out")
wait_for_line "$SCRATCH/trace.out" 20 " ECONNABORTED +\S+ +127\.0\.0\.1:$port"
kill -INT "$DEPTRACE_BG"
wait_deptrace
kill "$outcomes"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -p exited $DEPTRACE_RC on SIGINT"
for result in ok ECONNABORTED EINPROGRESS; do
	[[ $(count_lines "$outcomes" - TCP "127.0.0.1:$port" $result) == 1 ]] ||
		fail "no single '$result' line for 127.0.0.1:$port"
done
[[ $(trace_line_count) == 3 ]] || fail "expected exactly 3 lines"
pass "TCP results are outcomes: ok, ECONNABORTED (closed while connecting), EINPROGRESS (still connecting at the end)"
