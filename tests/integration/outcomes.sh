#!/bin/bash
# Outcomes: in a network namespace, every TCP connect is reported with how
# it ended and how long that took (RESULT and WAIT; JSON's outcome and
# latency_ms; the map's slowest): established, refused, timed out by the
# kernel (a blackholed address, the namespace's SYN retries cut to one),
# closed by its program before an answer (a non-blocking client giving up
# after 2 s), unreachable (no route: connect(2) fails at once, no WAIT);
# blocking and non-blocking; IPv4, IPv6 and IPv4-mapped. A lookup's line
# carries its answer time. dt-connect prints what it really did.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"

fakenet_test_up forge.example.com=127.0.0.10
# Inside the namespace only, on a veth pair with nothing behind it: what is
# sent to .99 (a neighbour entry for a link address nobody has) vanishes
# (the blackhole); one SYN retry makes the kernel's own timeout 3 s instead
# of 127. (An address whose ARP fails is not tested: on Linux 6.10 and
# later the connecting program can read the errno, EHOSTUNREACH, before
# sock:inet_sk_error_report reports it, which then says 0: README,
# limitations.)
ip -n "$FAKENET_NS" link add dt-out0 type veth peer name dt-out1
ip -n "$FAKENET_NS" link set dt-out0 up
ip -n "$FAKENET_NS" link set dt-out1 up
ip -n "$FAKENET_NS" addr add 10.98.0.1/24 dev dt-out0
ip -n "$FAKENET_NS" addr add 2001:db8:98::1/64 dev dt-out0 nodad
ip -n "$FAKENET_NS" neigh add 10.98.0.99 lladdr 02:00:00:00:00:99 dev dt-out0 nud permanent
ip -n "$FAKENET_NS" neigh add 2001:db8:98::99 lladdr 02:00:00:00:00:99 dev dt-out0 nud permanent
ip netns exec "$FAKENET_NS" sysctl -qw net.ipv4.tcp_syn_retries=1
# No route to 10.97.0.0/24 and 2001:db8:97::/48: connect(2) fails at once
ip -n "$FAKENET_NS" route add unreachable 10.97.0.0/24
ip -n "$FAKENET_NS" -6 route add unreachable 2001:db8:97::/48

cat > "$SCRATCH/workload.sh" <<'EOF'
c=$1 out=$2
{
	"$c" -l 127.0.0.1 20201              # established
	"$c" -n -l ::1 20202                 # established, non-blocking, IPv6
	"$c" -l ::ffff:127.0.0.1 20203       # established, IPv4-mapped
	"$c" 127.0.0.1 20204                 # refused
	"$c" -n ::1 20205                    # refused, non-blocking, IPv6
	"$c" ::ffff:127.0.0.1 20206          # refused, IPv4-mapped
	"$c" 10.97.0.9 20209                 # unreachable: no route
	"$c" -n 2001:db8:97::9 20210         # unreachable: no route, non-blocking, IPv6
	getent hosts forge.example.com > /dev/null
	# the slow ones at once
	"$c" 10.98.0.99 20207 &               # blackholed: the kernel times out
	"$c" -n 2001:db8:98::99 20208 &       # blackholed: the client gives up
	wait
} > "$out"
EOF

run_deptrace -- bash "$SCRATCH/workload.sh" "$DT_CONNECT" "$SCRATCH/client.lines"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace exited $DEPTRACE_RC: $(cat "$SCRATCH/trace.err")"

# One line for DEST with RESULT, its WAIT between MIN and MAX ms.
expect_outcome() {
	local what=$1 dest=$2 result=$3 min=$4 max=$5 ms
	[[ $(count_lines - dt-connect TCP "$dest" "$result") == 1 ]] ||
		fail "$what: no single line 'dt-connect TCP $result $dest'"
	ms=$(waits_ms dt-connect - "$dest")
	awk -v ms="$ms" -v min="$min" -v max="$max" 'BEGIN { exit !(ms ~ /^[0-9.]+$/ && ms >= min && ms <= max) }' ||
		fail "$what: WAIT of $dest is $ms ms, expected $min-$max"
	pass "$what: $result after $ms ms ($dest)"
}

grep -q 'dest=10.98.0.99:20207 result=ETIMEDOUT$' "$SCRATCH/client.lines" ||
	fail "the blackholed connect did not time out in the client: $(cat "$SCRATCH/client.lines")"
expect_outcome established 127.0.0.1:20201 ok 0 500
expect_outcome "established, non-blocking, IPv6" '[::1]:20202' ok 0 500
expect_outcome "established, IPv4-mapped" 127.0.0.1:20203 ok 0 500
expect_outcome refused 127.0.0.1:20204 ECONNREFUSED 0 500
expect_outcome "refused, non-blocking, IPv6" '[::1]:20205' ECONNREFUSED 0 500
expect_outcome "refused, IPv4-mapped" 127.0.0.1:20206 ECONNREFUSED 0 500
expect_outcome "timed out by the kernel" 10.98.0.99:20207 ETIMEDOUT 2500 5000
expect_outcome "closed by the client before an answer" '[2001:db8:98::99]:20208' ECONNABORTED 1800 3500

# unreachable: what connect(2) returned, the same on the line, no WAIT
for dest in 10.97.0.9:20209 '[2001:db8:97::9]:20210'; do
	result=$(grep -F " dest=$dest result=" "$SCRATCH/client.lines" | sed 's/.* result=//')
	[[ $result == EHOSTUNREACH || $result == ENETUNREACH ]] ||
		fail "$dest: the client's connect did not fail unreachable: $(cat "$SCRATCH/client.lines")"
	[[ $(count_lines - dt-connect TCP "$dest" "$result") == 1 && $(waits_ms dt-connect "$result" "$dest") == - ]] ||
		fail "$dest: no single line 'dt-connect TCP $result -' "
	pass "unreachable: $result at once, no WAIT ($dest)"
done

event_lines | grep -qE ' getent +DNS +NOERROR +[0-9.]+(us|ms) +forge\.example\.com A -> 127\.0\.0\.10  direct ' ||
	fail "the lookup's line has no answer time"
pass "a lookup's line carries its answer time"

map_section | grep -qE '^10\.98\.0\.99:20207  TCP  1 time, [0-9.-]+s: ETIMEDOUT x1; slowest [0-9.]+s$' ||
	fail "the map does not give the timeout's slowest wait: $(map_section)"
pass "the map counts outcomes with the slowest wait"

# --- the same in JSON -------------------------------------------------------
run_deptrace --json -- bash "$SCRATCH/workload.sh" "$DT_CONNECT" "$SCRATCH/client.lines"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json exited $DEPTRACE_RC: $(cat "$SCRATCH/trace.err")"
python3 - "$SCRATCH/trace.out" <<'PY' || fail "JSON outcomes differ (above)"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
conn = {(o["address"], o["port"]): o for o in objs if o["type"] == "connect" and o["comm"] == "dt-connect"}
want = {20201: ("127.0.0.1", "ok", 0, 500), 20205: ("::1", "refused", 0, 500),
        20207: ("10.98.0.99", "timeout", 2500, 5000),
        20208: ("2001:db8:98::99", "closed", 1800, 3500)}
for port, addr in ((20209, "10.97.0.9"), (20210, "2001:db8:97::9")):
    o = conn.get((addr, port))
    if not o or o["outcome"] != "unreachable" or "latency_ms" in o:
        print(f"port {port}: expected unreachable with no latency_ms, got {o}")
        bad = 1
bad = 0
for port, (addr, outcome, lo, hi) in want.items():
    o = conn.get((addr, port))
    if not o or o["outcome"] != outcome or not lo <= o.get("latency_ms", -1) <= hi:
        print(f"port {port}: expected {outcome} in {lo}-{hi} ms, got {o}")
        bad = 1
summary = objs[-1]
dep = [d for d in summary["dependencies"] if d.get("address") == "10.98.0.99"]
if not dep or not 2500 <= dep[0].get("slowest_ms", 0) <= 5000:
    print(f"no slowest_ms for 10.98.0.99: {dep}")
    bad = 1
dns = [o for o in objs if o["type"] == "dns" and o["query"] == "forge.example.com" and o["qtype"] == "A"]
if len(dns) != 1 or dns[0]["outcome"] != "ok" or "latency_ms" not in dns[0]:
    print(f"lookup without its time: {dns}")
    bad = 1
sys.exit(bad)
PY
pass "JSON: outcome and latency_ms on connects and lookups, slowest_ms in the map"
