#!/bin/bash
# --outage by name: in a network namespace with the fake forge, the deploy
# runs with forge.example.com (or *.forge.example.com) unreachable for it,
# its addresses learnt in the kernel from the answers to its own lookups:
# refuse and blackhole, for curl, a Python client, a client that resolves
# through its own UDP socket (as Go's resolver does) and a curl in a child
# of a child; a process outside the cgroup reaches the forge meanwhile; the
# rehearsal report (text and JSON, sorted by time lost) and the graph's
# time lost; --outage-budget's exit status; a port target; nothing left
# after a normal exit, SIGTERM and SIGKILL of deptrace.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 /usr/sbin/dnsmasq

forge_ip=127.0.0.10 dl_ip=127.0.0.12
fakenet_test_up forge.example.com=$forge_ip dl.forge.example.com=$dl_ip
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_start forge-dl "$repo/examples/services/forge" $dl_ip 80
latest=http://forge.example.com/migrate/releases/latest
fakenet_wait_http $latest || fail "the fake forge does not start"
fakenet_wait_http http://dl.forge.example.com/migrate/releases/latest || fail "the forge's dl does not start"

# A client that asks the resolver of /etc/resolv.conf itself, over its own
# UDP socket (no libc resolver), then connects to the first A record.
cat > "$SCRATCH/ownresolver.py" <<'EOF'
import socket, struct, sys
name, port = sys.argv[1], int(sys.argv[2])
server = next(l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver"))
query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
query += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
query += struct.pack(">HH", 1, 1)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(3)
u.sendto(query, (server, 53))
answer = u.recv(512)
pos = len(query)  # the question is echoed; then the answers
count = struct.unpack(">H", answer[6:8])[0]
address = None
for _ in range(count):
    pos += 2  # owner: a compression pointer
    rtype, _class, _ttl, length = struct.unpack(">HHIH", answer[pos:pos + 10])
    pos += 10
    if rtype == 1:
        address = socket.inet_ntoa(answer[pos:pos + 4])
        break
    pos += length
s = socket.socket()
s.settimeout(2)
try:
    s.connect((address, port))
    print("ownresolver=ok")
except OSError as e:
    print("ownresolver=" + type(e).__name__)
EOF

# The deploy: each client says how it ended; its status is the last curl's.
cat > "$SCRATCH/deploy.sh" <<EOF
#!/bin/bash
host=\${1:-forge.example.com}
curl -sS --connect-timeout 2 -o /dev/null http://\$host/migrate/releases/latest; echo "curl=\$?"
python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 80), timeout=2); print("python=ok")
except OSError as e:
    print("python=" + type(e).__name__)
' \$host
python3 "$SCRATCH/ownresolver.py" \$host 80
bash -c 'sh -c "curl -sS --connect-timeout 2 -o /dev/null http://\$0/migrate/releases/latest; echo grandchild=\\\$?"' \$host
curl -sS --connect-timeout 2 -o /dev/null http://\$host/migrate/releases/latest
EOF
chmod +x "$SCRATCH/deploy.sh"

cgroup_root=$(cgroup2_root)
[[ -n $cgroup_root ]] || fail "no cgroup v2 mounted: --outage cannot be tested here"

# The report's line for DEST and CHAIN: what follows "DEST  CLASS (CHAIN)  ".
report_line() {
	sed -n '/^REHEARSAL (/,$p' "$SCRATCH/trace.out" | grep -F "$1  " | grep -F "($2)  " || true
}

# --- refuse, by name: at once, ECONNREFUSED -------------------------------------
start=$SECONDS
run_deptrace --outage forge.example.com=refuse -- "$SCRATCH/deploy.sh"
[[ $DEPTRACE_RC == 7 ]] || fail "refuse: deptrace exited $DEPTRACE_RC, not curl's 7"
((SECONDS - start < 20)) || fail "refuse: the deploy took $((SECONDS - start)) s"
for want in curl=7 python=ConnectionRefusedError ownresolver=ConnectionRefusedError grandchild=7; do
	grep -qx "$want" "$SCRATCH/client.out" || fail "refuse: no '$want': $(cat "$SCRATCH/client.out")"
done
[[ $(count_named_lines - curl TCP "$forge_ip:80" ECONNREFUSED forge.example.com) == 3 ]] ||
	fail "refuse: not three curl lines 'ECONNREFUSED $forge_ip:80 (forge.example.com)'"
[[ $(count_lines - python3 TCP "$forge_ip:80" ECONNREFUSED) == 2 ]] ||
	fail "refuse: not two python3 ECONNREFUSED lines (libc and its own resolver)"
grep -qx 'REHEARSAL (outage forge.example.com (refuse)): the command failed (exit status 7); it waited [0-9.]*\(us\|ms\) on the outage, 3 hits' \
	"$SCRATCH/trace.out" || fail "refuse: no REHEARSAL heading: $(sed -n '/^REHEARSAL/,$p' "$SCRATCH/trace.out")"
sed -n '/^REHEARSAL (/,$p' "$SCRATCH/trace.out" | grep -F ' > sh > curl)  ' |
	grep -qE '  refused: waited [0-9.]+(us|ms) \(ECONNREFUSED\) x1$' ||
	fail "refuse: no report line for the grandchild's curl"
pass "refuse by name: curl, python (libc and its own UDP resolver) and a grandchild's curl refused at once; report; exit 7"

# --- blackhole (the default), by name; a process outside the cgroup -------------
# reaches the forge by name meanwhile
fakenet_run bash -c "sleep 1; curl -sS -o /dev/null -w '%{http_code}' $latest" > "$SCRATCH/outside.txt" 2>&1 &
outside=$!
run_deptrace --graph "$SCRATCH/deps.dot" --outage forge.example.com -- "$SCRATCH/deploy.sh"
wait "$outside" || fail "outside the cgroup, curl failed during the rehearsal: $(cat "$SCRATCH/outside.txt")"
[[ $(cat "$SCRATCH/outside.txt") == 200 ]] || fail "outside the cgroup: $(cat "$SCRATCH/outside.txt")"
pass "blackhole: a curl outside the cgroup reaches forge.example.com during the rehearsal"
[[ $DEPTRACE_RC == 28 ]] || fail "blackhole: deptrace exited $DEPTRACE_RC, not curl's 28"
for want in curl=28 python=TimeoutError ownresolver=TimeoutError grandchild=28; do
	grep -qx "$want" "$SCRATCH/client.out" || fail "blackhole: no '$want': $(cat "$SCRATCH/client.out")"
done
for comm in curl python3; do
	for ms in $(waits_ms "$comm" ECONNABORTED "$forge_ip:80"); do
		awk -v ms="$ms" 'BEGIN { exit !(ms >= 1800 && ms <= 4000) }' ||
			fail "blackhole: $comm waited $ms ms, expected about 2000"
	done
done
[[ $(waits_ms - ECONNABORTED "$forge_ip:80" | wc -l) == 5 ]] || fail "blackhole: not five ECONNABORTED lines"
report=$(sed -n '/^REHEARSAL (/,$p' "$SCRATCH/trace.out")
grep -qE '^REHEARSAL \(outage forge.example.com \(blackhole\)\): the command failed \(exit status 28\); it waited (9|1[0-9])\.[0-9]s on the outage, 3 hits$' \
	<<< "$report" || fail "blackhole: the heading: $report"
report_line forge.example.com:80 'deploy.sh > curl' |
	grep -qE '^forge.example.com:80  direct \(deploy.sh > curl\)  blackholed: waited (3\.[6-9]|[4-7]\.[0-9])s \(curl gave up: ECONNABORTED\) x2$' ||
	fail "blackhole: the deploy's own curl (two attempts, about 4 s): $report"
report_line forge.example.com:80 'deploy.sh > python3' |
	grep -qE '  blackholed: waited (3\.[6-9]|[4-7]\.[0-9])s \(python3 gave up: ECONNABORTED\) x2$' ||
	fail "blackhole: the python clients: $report"
# sorted by time lost: the two-attempt lines first
sed -n '2,3p' <<< "$report" | grep -c ' x2$' | grep -x 2 > /dev/null || fail "blackhole: not sorted by time lost: $report"
grep -qE 'p[0-9]+ -> d[0-9]+ \[label="direct x2, lost [0-9.]+s"' "$SCRATCH/deps.dot" ||
	fail "blackhole: the graph's edge does not carry the time lost: $(cat "$SCRATCH/deps.dot")"
pass "blackhole by name: every client hangs 2 s and gives up; the report sorts by time lost (x2 first); the graph says it"

# --- JSON ------------------------------------------------------------------------
run_deptrace --json --outage forge.example.com=refuse -- "$SCRATCH/deploy.sh"
python3 - "$SCRATCH/trace.out" <<'PY' || fail "JSON rehearsal (above)"
import json, sys
summary = [json.loads(l) for l in open(sys.argv[1])][-1]
r = summary["rehearsal"]
assert r["targets"] == ["outage forge.example.com (refuse)"], r
assert r["exited"] and r["status"] == 7 and r["complete"], r
hits = r["hits"]
assert len(hits) == 3, hits
assert all(h["mode"] == "refuse" and h["outcome"] == "refused" and h["result"] == "ECONNREFUSED"
           and h["name"] == "forge.example.com" and h["port"] == 80 and h["reached"] == 0 for h in hits), hits
assert [h["lost_ms"] for h in hits] == sorted((h["lost_ms"] for h in hits), reverse=True), hits
chains = {h["chain"] for h in hits}
assert {"deploy.sh > curl", "deploy.sh > python3"} < chains, hits
assert any(c.endswith(" > sh > curl") for c in chains), hits
PY
pass "JSON: the summary's rehearsal has the status, the hits by time lost, each with mode, outcome and chain"

# --- a port, and *.suffix ----------------------------------------------------------
run_deptrace --outage '*.forge.example.com:80=refuse' -- bash -c \
	"curl -sS -o /dev/null http://dl.forge.example.com/migrate/releases/latest; echo dl=\$?
	 curl -sS -o /dev/null $latest; echo forge=\$?"
grep -qx dl=7 "$SCRATCH/client.out" && grep -qx forge=0 "$SCRATCH/client.out" ||
	fail "*.forge.example.com:80: $(cat "$SCRATCH/client.out")"
run_deptrace --outage 'dl.forge.example.com:81=refuse' -- bash -c \
	"curl -sS -o /dev/null http://dl.forge.example.com/migrate/releases/latest; echo dl=\$?"
grep -qx dl=0 "$SCRATCH/client.out" || fail "dl.forge.example.com:81 cut port 80: $(cat "$SCRATCH/client.out")"
pass "*.forge.example.com:80 cuts dl.forge.example.com, not forge.example.com; a target on port 81 leaves port 80"

# --- --outage-budget -------------------------------------------------------------
run_deptrace --outage forge.example.com=refuse --outage-budget 60 -- "$SCRATCH/deploy.sh"
[[ $DEPTRACE_RC == 11 ]] || fail "--outage-budget, the deploy failing: exit $DEPTRACE_RC, not 11"
grep -qx 'deptrace: exit status 11 (--outage-budget); the command.s own status was 7' "$SCRATCH/trace.err" ||
	fail "--outage-budget: the command's own status is not told: $(cat "$SCRATCH/trace.err")"
run_deptrace --outage forge.example.com --outage-budget 1 -- bash -c \
	"curl -sS --connect-timeout 2 -o /dev/null $latest; true"
[[ $DEPTRACE_RC == 11 ]] || fail "--outage-budget 1, 2 s waited: exit $DEPTRACE_RC, not 11"
run_deptrace --outage forge.example.com --outage-budget 5 -- bash -c \
	"curl -sS --connect-timeout 2 -o /dev/null $latest; true"
[[ $DEPTRACE_RC == 0 ]] || fail "--outage-budget 5, 2 s waited, the deploy succeeding: exit $DEPTRACE_RC, not 0"
pass "--outage-budget: exit 11 when the deploy fails or waits longer than the budget, its own 0 otherwise"

# --- nothing left behind ------------------------------------------------------------
expect_clean "after normal exits"
start_deptrace --outage forge.example.com -- sleep 30
kill -TERM "$DEPTRACE_BG"
wait_deptrace
[[ $DEPTRACE_RC == 143 ]] || fail "SIGTERM: exit $DEPTRACE_RC, expected the command's 143"
expect_clean "after SIGTERM"
start_deptrace --outage forge.example.com=refuse -- sh -c \
	"sleep 2; curl -sS -o /dev/null $latest; echo after=\$? > '$SCRATCH/after-kill.out'; sleep 1"
kill -KILL "$DEPTRACE_BG"
wait_deptrace
wait_for_line "$SCRATCH/after-kill.out" 20 '^after='
grep -qx after=7 "$SCRATCH/after-kill.out" ||
	fail "after SIGKILL of deptrace the outage did not hold: $(cat "$SCRATCH/after-kill.out")"
expect_clean "after SIGKILL of deptrace and the command's end" 20
for _ in $(seq 50); do pgrep -x deptrace-guard >/dev/null || break; sleep 0.1; done
pgrep -x deptrace-guard >/dev/null && fail "the guard is still running after its cgroup went"
pass "no program or cgroup left after a normal exit, SIGTERM, or SIGKILL (the outage holds until the command ends)"
