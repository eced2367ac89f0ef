#!/bin/bash
# enforce_smoke.sh: enforcement on the running kernel, in one run (the VM
# test's smoke test; tests/integration/enforce.sh is the full suite on the
# host). In a network namespace with its own DNS server, an unprivileged
# command (-u nobody) under --enforce cannot resolve a denied name nor
# connect to a denied address, and each refusal is a line; a process
# outside the command's cgroup reaches the same address during the run;
# nothing is left behind.
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
cgroup_root=$(cgroup2_root)
[[ -n $cgroup_root ]] || fail "no cgroup v2 mounted: enforcement cannot be tested here"

forge_ip=127.0.0.10
fakenet_test_up forge.example.com=$forge_ip
# The command runs as nobody: it reads its script and writes its results here.
chmod 755 "$SCRATCH"
install -m 666 /dev/null "$SCRATCH/deploy.out"
cat > "$SCRATCH/deploy.sh" <<EOF
while [ ! -e "$SCRATCH/go" ]; do sleep 0.05; done
curl -sS -o /dev/null http://forge.example.com/ 2>/dev/null; echo "curl=\$?"
"$DT_CONNECT" $forge_ip 80
EOF

start_deptrace --enforce --deny forge.example.com --deny "$forge_ip" -u nobody -- \
	sh "$SCRATCH/deploy.sh" > "$SCRATCH/deploy.out"
[[ $(find "$cgroup_root" -maxdepth 1 -name 'deptrace-*' | wc -l) == 1 ]] ||
	fail "no deptrace-PID cgroup under $cgroup_root during the run"
fakenet_run "$DT_CONNECT" "$forge_ip" 80 > "$SCRATCH/outside.out"
grep -q "dest=$forge_ip:80 result=ECONNREFUSED" "$SCRATCH/outside.out" ||
	fail "a process outside the cgroup did not reach $forge_ip: $(cat "$SCRATCH/outside.out")"
pass "outside the command's cgroup, $forge_ip is reached during the run"

touch "$SCRATCH/go"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace exited $DEPTRACE_RC: $(cat "$SCRATCH/trace.err")"
grep -qx 'curl=6' "$SCRATCH/deploy.out" || fail "curl resolved the denied name: $(cat "$SCRATCH/deploy.out")"
grep -q "comm=dt-connect proto=TCP dest=$forge_ip:80 result=EPERM\$" "$SCRATCH/deploy.out" ||
	fail "connect() to the denied $forge_ip was not refused: $(cat "$SCRATCH/deploy.out")"
event_lines | grep -E " curl +DNS +EPERM \(blocked\) +\S+ +forge\.example\.com A( |$)" > /dev/null ||
	fail "no blocked lookup line for curl's forge.example.com"
event_lines | grep -E " dt-connect +TCP +EPERM \(blocked\) +\S+ +$forge_ip:80 " > /dev/null ||
	fail "no blocked line for dt-connect's connect"
pass "as nobody, the denied name and address are refused (EPERM) and reported"

deadline=$((SECONDS + DEPTRACE_START_TIMEOUT))
until [[ $(find "$cgroup_root" -maxdepth 1 -name 'deptrace-*' | wc -l) == 0 ]]; do
	((SECONDS < deadline)) || fail "the deptrace cgroup is still there after the run"
	sleep 0.1
done
pass "the command's cgroup is gone after the run"
