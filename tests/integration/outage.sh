#!/bin/bash
# --outage: in a network namespace with the fake forge, the command runs
# with the forge's address unreachable for it, in its own cgroup only:
# refuse (ECONNREFUSED at once) and blackhole (the client gives up: curl
# --connect-timeout 2); curl, a Python client and a curl in a child of a
# child; the command's exit status is deptrace's; a process outside the
# cgroup reaches the forge during the rehearsal; bad targets are refused.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 /usr/sbin/dnsmasq

forge_ip=127.0.0.10
fakenet_test_up forge.example.com=$forge_ip
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
latest=http://forge.example.com/migrate/releases/latest
fakenet_wait_http $latest || fail "the fake forge does not start"

# The deploy: curl, a Python client, and curl in a child of a child; each
# says how it ended. Its status is curl's last.
cat > "$SCRATCH/deploy.sh" <<EOF
#!/bin/bash
curl -sS --connect-timeout 2 -o /dev/null $latest; echo "curl=\$?"
python3 -c '
import socket, sys
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("$forge_ip", 80)); print("python=ok")
except OSError as e:
    print("python=" + type(e).__name__)
'
bash -c 'sh -c "curl -sS --connect-timeout 2 -o /dev/null $latest; echo grandchild=\\\$?"'
curl -sS --connect-timeout 2 -o /dev/null $latest
EOF
chmod +x "$SCRATCH/deploy.sh"

# --- refuse: at once, ECONNREFUSED --------------------------------------------
start=$SECONDS
run_deptrace --outage "$forge_ip:80=refuse" -- "$SCRATCH/deploy.sh"
[[ $DEPTRACE_RC == 7 ]] || fail "refuse: deptrace exited $DEPTRACE_RC, not curl's 7 (couldn't connect)"
((SECONDS - start < 20)) || fail "refuse: the deploy took $((SECONDS - start)) s"
grep -qx 'curl=7' "$SCRATCH/client.out" && grep -qx 'python=ConnectionRefusedError' "$SCRATCH/client.out" &&
	grep -qx 'grandchild=7' "$SCRATCH/client.out" || fail "refuse: the clients were not refused: $(cat "$SCRATCH/client.out")"
[[ $(count_named_lines - curl TCP "$forge_ip:80" ECONNREFUSED forge.example.com) == 3 ]] ||
	fail "refuse: not three curl lines 'ECONNREFUSED $forge_ip:80 (forge.example.com)'"
[[ $(count_lines - python3 TCP "$forge_ip:80" ECONNREFUSED) == 1 ]] || fail "refuse: no python3 ECONNREFUSED line"
pass "refuse: curl, python and a grandchild's curl get ECONNREFUSED at once; deptrace exits with the deploy's 7"

# --- blackhole (the default): the clients give up; a process outside -------
# the cgroup reaches the forge meanwhile
fakenet_run bash -c "sleep 1; curl -sS -o /dev/null -w '%{http_code}' $latest" > "$SCRATCH/outside.txt" 2>&1 &
outside=$!
run_deptrace --outage "$forge_ip" -- "$SCRATCH/deploy.sh"
wait "$outside" || fail "outside the cgroup, curl failed during the rehearsal: $(cat "$SCRATCH/outside.txt")"
[[ $(cat "$SCRATCH/outside.txt") == 200 ]] || fail "outside the cgroup: $(cat "$SCRATCH/outside.txt")"
pass "blackhole: a curl outside the cgroup reaches the forge during the rehearsal"
[[ $DEPTRACE_RC == 28 ]] || fail "blackhole: deptrace exited $DEPTRACE_RC, not curl's 28 (timeout)"
grep -qx 'curl=28' "$SCRATCH/client.out" && grep -qx 'python=TimeoutError' "$SCRATCH/client.out" &&
	grep -qx 'grandchild=28' "$SCRATCH/client.out" ||
	fail "blackhole: the clients did not time out: $(cat "$SCRATCH/client.out")"
for comm in curl python3; do
	waits=$(waits_ms "$comm" ECONNABORTED "$forge_ip:80")
	[[ -n $waits ]] || fail "blackhole: no $comm ECONNABORTED line to the forge"
	for ms in $waits; do
		awk -v ms="$ms" 'BEGIN { exit !(ms >= 1800 && ms <= 4000) }' ||
			fail "blackhole: $comm waited $ms ms, expected about 2000"
	done
done
[[ $(waits_ms curl ECONNABORTED "$forge_ip:80" | wc -l) == 3 ]] || fail "blackhole: not three curl lines"
pass "blackhole: curl, python and a grandchild's curl hang 2 s and give up (ECONNABORTED, WAIT 2.0s); exit 28"

# --- bad targets --------------------------------------------------------------
for bad in "$forge_ip=dns" 'forge.example.com:80=nxdomain' "$forge_ip=sideways" '300.1.1.1'; do
	rc=0
	"$DEPTRACE" --outage "$bad" -- true > /dev/null 2> "$SCRATCH/bad.err" || rc=$?
	[[ $rc == 2 && $(wc -l < "$SCRATCH/bad.err") == 1 ]] ||
		fail "--outage $bad: exit $rc, $(cat "$SCRATCH/bad.err")"
done
pass "--outage with a dns mode on an address or a port, an unknown mode or a bad address: one line, exit 2"
