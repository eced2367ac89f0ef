#!/bin/bash
# --outage NAME=dns and NAME=nxdomain (lib/outage.c through lib/resolver.c):
# in a network namespace with its own DNS server (examples/lib/fakenet.sh),
# lookups of the name by the command fail at once with SERVFAIL (or
# NXDOMAIN), through glibc, curl and a resolver of its own, as nobody; other
# names resolve; a process outside the cgroup resolves the name during the
# rehearsal; nothing is left after.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl getent python3 ss /usr/sbin/dnsmasq
cgroup_root=$(cgroup2_root)
[[ -n $cgroup_root ]] || fail "no cgroup v2 mounted: the rehearsal cannot be tested here"

fakenet_test_up forge.example.com=127.0.0.10 other.example.com=127.0.0.20
fakenet_start forge "$repo/examples/services/forge" 127.0.0.10 80
fakenet_wait_http http://forge.example.com/migrate/releases/latest || fail "the fake forge does not start"
chmod 755 "$SCRATCH"

cat > "$SCRATCH/lookups.sh" <<SCRIPT
#!/bin/sh
ms() { echo \$((\$(date +%s%N) / 1000000)); }
t0=\$(ms); getent hosts forge.example.com >/dev/null; echo "getent=\$? ms=\$((\$(ms) - t0))"
t0=\$(ms); curl -fsS -o /dev/null http://forge.example.com/migrate/releases/latest 2>/dev/null; echo "curl=\$? ms=\$((\$(ms) - t0))"
getent hosts other.example.com >/dev/null; echo "other=\$?"
/usr/bin/python3 "$SCRATCH/raw.py"
SCRIPT
cat > "$SCRATCH/raw.py" <<SCRIPT
# A resolver of its own: the rcode of its answer.
import socket, struct
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l for l in [b"Forge", b"example", b"com"]) + b"\0\0\1\0\1"
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, ("$FAKENET_DNS", 53))
print("raw=rcode%d" % (s.recv(512)[3] & 15))
SCRIPT
chmod 755 "$SCRATCH/lookups.sh"

# Field $1 (1: the status, 2: the time in ms) of the client's line for $2.
client_value() {
	sed -n "s/^$2=\([0-9]*\) ms=\([0-9]*\)$/\\$1/p" "$SCRATCH/client.out"
}

for mode in dns nxdomain; do
	rcode=2 status=SERVFAIL
	[[ $mode == nxdomain ]] && rcode=3 status=NXDOMAIN
	run_deptrace --outage forge.example.com=$mode -u nobody -- "$SCRATCH/lookups.sh"
	[[ $(client_value 1 getent) == 2 ]] ||
		fail "=$mode: getent of the forge: $(cat "$SCRATCH/client.out" "$SCRATCH/trace.err")"
	[[ $(client_value 1 curl) == 6 ]] || fail "=$mode: curl did not fail to resolve the forge: $(cat "$SCRATCH/client.out")"
	for tool in getent curl; do
		(($(client_value 2 $tool) < 1000)) || fail "=$mode: $tool waited $(client_value 2 $tool) ms for its failed lookup"
	done
	grep -qx "other=0" "$SCRATCH/client.out" || fail "=$mode: other.example.com did not resolve"
	grep -qx "raw=rcode$rcode" "$SCRATCH/client.out" ||
		fail "=$mode: a raw query got $(grep raw= "$SCRATCH/client.out"), not rcode $rcode"
	[[ $(count_lookup_lines - getent $status forge.example.com A) -ge 1 ]] ||
		fail "=$mode: no $status line for getent's lookup: $(event_lines | grep ' DNS ')"
	[[ $(count_lookup_lines - getent NOERROR other.example.com A 127.0.0.20) -ge 1 ]] ||
		fail "=$mode: no line for other.example.com"
	pass "--outage forge.example.com=$mode: lookups fail at once with $status (getent, curl, a raw query), other names resolve"
done

# outside the cgroup, during the rehearsal
start_deptrace --outage forge.example.com=dns -- sleep 3
fakenet_run getent hosts forge.example.com > "$SCRATCH/outside.out" ||
	fail "a process outside the cgroup could not resolve forge.example.com during the rehearsal"
grep -q '127.0.0.10' "$SCRATCH/outside.out" || fail "outside: $(cat "$SCRATCH/outside.out")"
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "the rehearsal of sleep exited $DEPTRACE_RC"
pass "a process outside the cgroup resolves the forge during the rehearsal"

deadline=$((SECONDS + 10))
until [[ $(find "$cgroup_root" -maxdepth 1 -name 'deptrace-*' | wc -l) == 0 &&
	$(bpftool prog show 2>/dev/null | grep -c '^[0-9]*:' || true) == "$BPF_PROGS_BEFORE" ]]; do
	((SECONDS < deadline)) || fail "a deptrace cgroup or BPF programs remain after the rehearsals"
	sleep 0.1
done
if fakenet_run ss -uan | grep '127\.53\.0\.' > /dev/null; then
	fail "the resolver still listens: $(fakenet_run ss -uan)"
fi
pass "no cgroup, program or resolver socket after the rehearsals"
