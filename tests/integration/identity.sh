#!/bin/bash
# Program identity: a line's COMM is the process's (its main thread's)
# name, whichever thread connected; exe is the executable the kernel ran,
# resolved (not the path as typed), with the script beside it when an
# interpreter runs one; -p shows the same as a run.
source "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 is not installed (scripts/setup-deps installs it)"

# The JSON objects of type $1 from $SCRATCH/trace.out with pid $2, as
# "comm exe script" lines.
json_identity() {
	python3 - "$SCRATCH/trace.out" "$1" "$2" <<'EOF'
import json, sys
path, kind, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
for line in open(path):
    o = json.loads(line)
    if o["type"] == kind and o["pid"] == pid:
        print(o["comm"], o.get("exe", "-"), o.get("script", "-"))
EOF
}

# --- a worker thread renamed, connecting: the process's name ---------------
run_deptrace -- "$DT_CONNECT" -l -t 2 -T worker 127.0.0.1 0
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- dt-connect -t 2 -T worker exited $DEPTRACE_RC"
cp "$SCRATCH/client.out" "$SCRATCH/threads.out"
expect_client_lines "$SCRATCH/threads.out"
! grep -q worker "$SCRATCH/trace.out" || fail "a thread's name shows: $(grep worker "$SCRATCH/trace.out")"
pass "threads named 'worker' connect: COMM and chains say dt-connect"

# --- a relative path: the executable resolved ---------------------------------
mkdir "$SCRATCH/bin"
cp "$DT_CONNECT" "$SCRATCH/bin/relclient"
bin=$(realpath "$SCRATCH/bin")
run_deptrace --json -- sh -c 'cd "$1" && exec ./relclient -l -s 300 127.0.0.1 0' sh "$bin"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- ./relclient exited $DEPTRACE_RC"
pid=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$SCRATCH/client.out")
[[ $(json_identity connect "$pid") == "relclient $bin/relclient -" ]] ||
	fail "./relclient's connection: '$(json_identity connect "$pid")', not 'relclient $bin/relclient -'"
pass "exec ./relclient: exe is $bin/relclient"

# --- a script: its interpreter is the exe, the script beside it --------------
cat > "$bin/tool.py" <<'EOF'
#!/usr/bin/python3
import os, socket, sys, time
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
while len(sys.argv) > 2 and not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
server = socket.create_server(("127.0.0.1", 0))
socket.create_connection(server.getsockname()).close()
EOF
chmod +x "$bin/tool.py"
python=$(realpath /usr/bin/python3)
# The map's program line for tool.py: "(COMM EXE SCRIPT)" (its class after).
tool_program() {
	map_section | grep -o '^    .* x1  (tool\.py [^)]*)' | sed 's/.* x1  //'
}
run_deptrace -- sh -c 'cd "$1" && exec ./tool.py "$2"' sh "$bin" "$SCRATCH/tool.pid"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- ./tool.py exited $DEPTRACE_RC"
[[ $(count_lines "$(cat "$SCRATCH/tool.pid")" tool.py TCP - ok) == 1 ]] || fail "no line for tool.py's connection"
run_identity=$(tool_program)
[[ $run_identity == "(tool.py $python $bin/tool.py)" ]] ||
	fail "tool.py in the map: '$run_identity', not '(tool.py $python $bin/tool.py)'"
run_deptrace --json -- sh -c 'cd "$1" && exec ./tool.py "$2"' sh "$bin" "$SCRATCH/tool.pid"
[[ $(json_identity connect "$(cat "$SCRATCH/tool.pid")") == "tool.py $python $bin/tool.py" ]] ||
	fail "tool.py in JSON: '$(json_identity connect "$(cat "$SCRATCH/tool.pid")")'"
pass "exec ./tool.py: exe $python, script $bin/tool.py, in text and JSON"

# --- the same under -p ---------------------------------------------------------
rm -f "$SCRATCH/tool.pid"
(cd "$bin" && exec ./tool.py "$SCRATCH/tool.pid" "$SCRATCH/go") &
tool_pid=$!
until [[ -s $SCRATCH/tool.pid ]]; do sleep 0.01; done
start_deptrace --summary -p "$tool_pid"
touch "$SCRATCH/go"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -p exited $DEPTRACE_RC"
[[ $(count_lines "$tool_pid" tool.py TCP - ok) == 1 ]] || fail "no line for tool.py's connection under -p"
[[ $(tool_program) == "$run_identity" ]] || fail "under -p: '$(tool_program)', in a run: '$run_identity'"
pass "-p shows tool.py as a run does: $run_identity"
