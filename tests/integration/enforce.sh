#!/bin/bash
# Enforcement (--enforce): in a network namespace with its own DNS server
# and a fake forge (examples/lib/fakenet.sh), denied destinations are
# refused with EPERM inside the command's cgroup and only there, however
# they are reached (TCP, UDP connected or not, IPv4-mapped IPv6, a name
# through any resolver, 200 children at once); every refusal is a line;
# -u drops privileges; and nothing is left behind however the run ends,
# SIGKILL of deptrace included.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
for tool in curl getent python3 /usr/sbin/dnsmasq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-deps installs it)"
done
cgroup_root=$(cgroup2_root)
[[ -n $cgroup_root ]] || fail "no cgroup v2 mounted: enforcement cannot be tested here"

forge_ip=127.0.0.10 other_ip=127.0.0.20
fakenet_test_up forge.example.com=$forge_ip other.example.com=$other_ip
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http http://forge.example.com/migrate/releases/latest || fail "the fake forge does not start"

BLOCKED='EPERM (blocked)'
deny=(--deny "$forge_ip/32" --deny forge.example.com --enforce)

# --- refused where denied, allowed elsewhere --------------------------------
cat > "$SCRATCH/mixed.sh" <<EOF
#!/bin/sh
"$DT_CONNECT" $forge_ip 80
"$DT_CONNECT" $other_ip 80
curl -fsS -o /dev/null http://$forge_ip/migrate/releases/latest 2>"$SCRATCH/curl.err"
echo "curl=\$?"
EOF
chmod +x "$SCRATCH/mixed.sh"
run_deptrace "${deny[@]}" -- "$SCRATCH/mixed.sh"
grep -q "comm=dt-connect proto=TCP dest=$forge_ip:80 result=EPERM" "$SCRATCH/client.out" ||
	fail "connect() to the denied $forge_ip:80 did not fail with EPERM"
grep -q "dest=$other_ip:80 result=ECONNREFUSED" "$SCRATCH/client.out" ||
	fail "connect() to $other_ip:80, not denied, did not reach the network (ECONNREFUSED)"
grep -qx 'curl=7' "$SCRATCH/client.out" || fail "curl to the denied forge did not fail to connect (exit 7)"
[[ $(count_blocked - dt-connect TCP $forge_ip:80) == 1 ]] || fail "no '$BLOCKED' line for dt-connect"
[[ $(count_blocked - curl TCP $forge_ip:80) == 1 ]] || fail "no '$BLOCKED' line for curl"
[[ $(count_lines - dt-connect TCP $other_ip:80 ECONNREFUSED) == 1 ]] || fail "no ECONNREFUSED line for $other_ip"
expect_clean "after a normal exit"
pass "denied connects fail with EPERM and are '$BLOCKED' lines; others go through; cleaned up"

# --- only inside the cgroup ----------------------------------------------------
start_deptrace "${deny[@]}" -- sh -c "sleep 1; exec \"$DT_CONNECT\" $forge_ip 80"
[[ $(deptrace_cgroups) == 1 ]] || fail "no deptrace-PID cgroup under $cgroup_root during the run"
fakenet_run "$DT_CONNECT" $forge_ip 80 > "$SCRATCH/outside.out"
grep -q "dest=$forge_ip:80 result=ok" "$SCRATCH/outside.out" ||
	fail "a process outside the cgroup was refused: $(cat "$SCRATCH/outside.out")"
wait_deptrace
[[ $(count_blocked - dt-connect TCP $forge_ip:80) == 1 ]] || fail "the command's connect was not blocked"
expect_clean "after the outside check"
pass "a process outside the cgroup reaches the denied forge during the run"

# --- IPv4-mapped IPv6, and UDP without connect() --------------------------------
cat > "$SCRATCH/other_paths.py" <<EOF
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
try:
    s.connect(("::ffff:$forge_ip", 80)); print("mapped=ok")
except OSError as e:
    print("mapped=%d" % e.errno)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    u.sendto(b"x", ("$forge_ip", 9)); print("sendto=ok")
except OSError as e:
    print("sendto=%d" % e.errno)
u.sendto(b"x", ("$other_ip", 9)); print("sendto_other=ok")
EOF
run_deptrace "${deny[@]}" -- python3 "$SCRATCH/other_paths.py"
grep -qx 'mapped=1' "$SCRATCH/client.out" || fail "connect to ::ffff:$forge_ip was not refused with EPERM: $(cat "$SCRATCH/client.out")"
grep -qx 'sendto=1' "$SCRATCH/client.out" || fail "sendto $forge_ip without connect was not refused: $(cat "$SCRATCH/client.out")"
grep -qx 'sendto_other=ok' "$SCRATCH/client.out" || fail "sendto $other_ip was refused"
[[ $(count_blocked - python3 TCP $forge_ip:80) == 1 ]] || fail "no '$BLOCKED' line for the v4-mapped connect"
[[ $(count_blocked - python3 UDP $forge_ip:9) == 1 ]] || fail "no '$BLOCKED' line for the unconnected sendto"
pass "IPv4-mapped IPv6 connects and unconnected UDP sends are refused and reported"

# --- names, however they are resolved -------------------------------------------
cat > "$SCRATCH/lookups.sh" <<EOF
#!/bin/sh
curl -fsS -o /dev/null http://forge.example.com/migrate/releases/latest 2>/dev/null; echo "curl=\$?"
getent hosts forge.example.com >/dev/null; echo "getent=\$?"
getent hosts ci.forge.example.com >/dev/null; echo "getent_below=\$?"
getent hosts other.example.com >/dev/null; echo "getent_other=\$?"
python3 "$SCRATCH/raw_query.py"
EOF
cat > "$SCRATCH/raw_query.py" <<EOF
# A resolver of its own: a query sent with sendto(), no connect().
import socket, struct
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in "FORGE.example.com".split(".")) + b"\0\0\1\0\1"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(q, ("$FAKENET_DNS", 53)); print("raw=ok")
except OSError as e:
    print("raw=%d" % e.errno)
EOF
chmod +x "$SCRATCH/lookups.sh"
run_deptrace --deny forge.example.com --deny '*.forge.example.com' --enforce -- "$SCRATCH/lookups.sh"
for want in curl=6 getent=2 getent_below=2 getent_other=0 raw=1; do
	grep -qx "$want" "$SCRATCH/client.out" || fail "expected $want: $(tr '\n' ' ' < "$SCRATCH/client.out")"
done
event_lines | grep -E " DNS +EPERM \(blocked\) +\S+ +forge\.example\.com A( |$)" | grep ' curl ' > /dev/null ||
	fail "no blocked lookup line for curl's forge.example.com A"
event_lines | grep -iE " python3 +DNS +EPERM \(blocked\) +\S+ +forge\.example\.com A( |$)" > /dev/null ||
	fail "no blocked lookup line for the raw query"
event_lines | grep -E " DNS +EPERM \(blocked\) +\S+ +ci\.forge\.example\.com A( |$)" > /dev/null ||
	fail "no blocked lookup line for ci.forge.example.com (*.forge.example.com)"
event_lines | grep -E " DNS +NOERROR +\S+ +other\.example\.com A " > /dev/null || fail "other.example.com was not answered"
pass "denied names fail to resolve through glibc (curl, getent) and a raw sendto, and are blocked lookup lines"

# --- 200 children at once --------------------------------------------------------
run_deptrace "${deny[@]}" -- sh -c "for i in \$(seq 200); do \"$DT_CONNECT\" $forge_ip 80 & done; wait"
[[ $(grep -c "dest=$forge_ip:80 result=EPERM" "$SCRATCH/client.out") == 200 ]] ||
	fail "not all 200 children were refused: $(grep -c result=EPERM "$SCRATCH/client.out")"
[[ $(count_blocked - dt-connect TCP $forge_ip:80) == 200 ]] ||
	fail "$(count_blocked - dt-connect TCP $forge_ip:80) '$BLOCKED' lines for 200 refused children"
for pid in $(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$SCRATCH/client.out"); do
	[[ $(count_blocked "$pid" dt-connect TCP $forge_ip:80) == 1 ]] || fail "child $pid has no line of its own"
done
expect_clean "after the fork storm"
pass "a storm of 200 children: each refused and reported under its own PID"

# --- -u drops privileges -------------------------------------------------------------
run_deptrace "${deny[@]}" -u nobody -- sh -c 'id -u; id -g'
[[ $(sed -n 1p "$SCRATCH/client.out") == "$(id -u nobody)" && $(sed -n 2p "$SCRATCH/client.out") == "$(id -g nobody)" ]] ||
	fail "-u nobody ran the command as $(tr '\n' ' ' < "$SCRATCH/client.out")"
pass "-u nobody runs the command as nobody's uid and gid"

# --- nothing left behind, however the run ends ------------------------------------------
start_deptrace "${deny[@]}" -- sleep 30
kill -TERM "$DEPTRACE_BG"
wait_deptrace
[[ $DEPTRACE_RC == 143 ]] || fail "SIGTERM: exit $DEPTRACE_RC, expected the command's 143"
expect_clean "after SIGTERM"
pass "SIGTERM: the command ends, programs and cgroup are gone"

run_deptrace "${deny[@]}" -- sh -c 'kill -SEGV $$'
[[ $DEPTRACE_RC == 139 ]] || fail "a crashing command came back as $DEPTRACE_RC, not 139"
expect_clean "after the command crashed"
pass "a crashing command: status 139, programs and cgroup are gone"

# SIGKILL: the guard keeps the policy until the command ends, then cleans up.
start_deptrace "${deny[@]}" -- sh -c "sleep 2; \"$DT_CONNECT\" $forge_ip 80 > \"$SCRATCH/after-kill.out\"; sleep 1"
kill -KILL "$DEPTRACE_BG"
wait_deptrace
[[ $(deptrace_cgroups) == 1 ]] || fail "SIGKILL of deptrace: the cgroup went with it, the command runs unguarded"
wait_for_line "$SCRATCH/after-kill.out" 20 "dest=$forge_ip:80 result="
grep -q "result=EPERM" "$SCRATCH/after-kill.out" ||
	fail "after SIGKILL of deptrace the command reached the forge: $(cat "$SCRATCH/after-kill.out")"
expect_clean "after SIGKILL of deptrace and the command's end" 20
for _ in $(seq 50); do pgrep -x deptrace-guard >/dev/null || break; sleep 0.1; done
pgrep -x deptrace-guard >/dev/null && fail "the guard is still running after its cgroup went"
pass "SIGKILL of deptrace: the policy holds until the command ends, then nothing is left"

# --- fail-open, and --fail-closed ------------------------------------------------------
run_deptrace "${deny[@]}" --cgroup /tmp -- "$DT_CONNECT" $forge_ip 80
grep -q "cannot enforce" "$SCRATCH/trace.err" || fail "no warning that enforcement failed: $(cat "$SCRATCH/trace.err")"
grep -q "result=ok" "$SCRATCH/client.out" || fail "fail-open: the command did not run unrefused"
[[ $(count_lines - dt-connect TCP $forge_ip:80 ok) == 1 ]] || fail "fail-open: the audit line is missing"
run_deptrace "${deny[@]}" --fail-closed --cgroup /tmp -- "$DT_CONNECT" $forge_ip 80
[[ $DEPTRACE_RC == 8 ]] || fail "--fail-closed: exit $DEPTRACE_RC, expected 8"
[[ ! -s $SCRATCH/client.out ]] || fail "--fail-closed ran the command"
expect_clean "after fail-open and fail-closed runs"
pass "enforcement that cannot be set up: audit mode with a warning, or exit 8 with --fail-closed"
