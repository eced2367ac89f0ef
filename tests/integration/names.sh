#!/bin/bash
# Names: in a network namespace with its own DNS server (dnsmasq serving
# fake names on loopback, examples/lib/fakenet.sh), deptrace shows the name
# a program resolved on its connection line, the lookups themselves
# (glibc's parallel A and AAAA, NXDOMAIN, no answer), the same events in
# --json, a map with each destination once under the right parent chain, a
# DOT graph that renders, and the example deploy's three dependencies.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
for tool in curl getent dot python3 /usr/sbin/dnsmasq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-deps installs it)"
done

forge_ip=127.0.0.10
shared_ip=127.0.0.30 # two names on one address, as behind a CDN
# 64 addresses for one name: an answer of 1064 bytes (with EDNS), past the
# 1023 an older capture kept
big_records=()
for i in $(seq 1 64); do big_records+=("big.example=127.0.1.$i"); done
fakenet_test_up forge.example.com=$forge_ip api.internal.example=127.0.0.20 \
	a.shared.example=$shared_ip b.shared.example=$shared_ip "${big_records[@]}"
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http http://forge.example.com/migrate/releases/latest || fail "the fake forge does not start"
fakenet_start shared "$repo/examples/services/forge" $shared_ip 80
fakenet_wait_http http://a.shared.example/migrate/releases/latest || fail "the shared server does not start"
latest=http://forge.example.com/migrate/releases/latest

# Each program records its PID before exec: the test knows the truth.
cat > "$SCRATCH/names.sh" <<EOF
#!/bin/sh
sh -c 'echo \$\$ > "\$1"; exec curl -fsS -o /dev/null "\$2"' sh "$SCRATCH/curl.pid" "$latest"
sh -c 'echo \$\$ > "\$1"; exec getent ahosts forge.example.com' sh "$SCRATCH/ahosts.pid" > /dev/null
sh -c 'echo \$\$ > "\$1"; exec getent hosts nosuch.example.com' sh "$SCRATCH/nx.pid" && exit 1
true
EOF
chmod +x "$SCRATCH/names.sh"

# --- a resolved name on its connection line, and the lookups --------------
run_deptrace -- "$SCRATCH/names.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- names.sh exited $DEPTRACE_RC"
curl_pid=$(cat "$SCRATCH/curl.pid") ahosts_pid=$(cat "$SCRATCH/ahosts.pid") nx_pid=$(cat "$SCRATCH/nx.pid")

[[ $(count_named_lines "$curl_pid" curl TCP $forge_ip:80 ok forge.example.com) == 1 ]] ||
	fail "no line '$curl_pid curl TCP ok $forge_ip:80 (forge.example.com)'"
[[ $(count_lines - - TCP - -) == 1 ]] || fail "expected exactly one TCP line"
pass "curl's connection line names forge.example.com, under curl's PID"
[[ $(grep -c "asks the DNS server at $FAKENET_DNS:53, another process on this host" "$SCRATCH/trace.err") == 1 ]] ||
	fail "no single notice that the DNS server is a process on this host: $(cat "$SCRATCH/trace.err")"
pass "the DNS server on $FAKENET_DNS, a process on this host, is said once"

# glibc asks for A and AAAA at once, on one socket (getaddrinfo, AF_UNSPEC).
for pid_comm in "$curl_pid curl" "$ahosts_pid getent"; do
	read -r pid comm <<< "$pid_comm"
	[[ $(count_lookup_lines "$pid" "$comm" NOERROR forge.example.com A $forge_ip) == 1 ]] ||
		fail "no line '$pid $comm DNS NOERROR forge.example.com A -> $forge_ip'"
	[[ $(count_lookup_lines "$pid" "$comm" NOERROR forge.example.com AAAA) == 1 ]] ||
		fail "no line '$pid $comm DNS NOERROR forge.example.com AAAA' (no answers)"
	[[ $(count_lookup_lines "$pid" - - - - -) == 2 ]] || fail "$comm $pid: not exactly two lookup lines"
	[[ $(count_lines "$pid" "$comm" UDP "$FAKENET_DNS:53" ok) == 1 ]] ||
		fail "$comm $pid: not exactly one UDP line to $FAKENET_DNS:53"
done
pass "glibc's parallel A and AAAA lookups: both seen, for curl and getent ahosts"

[[ $(count_lookup_lines "$nx_pid" getent NXDOMAIN nosuch.example.com A) == 1 ]] ||
	fail "no line '$nx_pid getent DNS NXDOMAIN nosuch.example.com A'"
[[ $(count_lines "$nx_pid" - TCP - -) == 0 ]] || fail "a failed lookup made a connection"
pass "an NXDOMAIN lookup is a lookup line: NXDOMAIN nosuch.example.com A"

# --- no answer: a resolver pointed at an address where no server listens ---
# (a private mount namespace gives the one command its own resolv.conf)
printf 'nameserver 127.0.0.54\noptions timeout:1 attempts:1\n' > "$SCRATCH/dead-resolv.conf"
# shellcheck disable=SC2016 # $1 is sh's
run_deptrace -- unshare --mount sh -c \
	'mount --bind "$1" /etc/resolv.conf && exec getent hosts forge.example.com' sh "$SCRATCH/dead-resolv.conf"
[[ $(count_lookup_lines - getent TIMEOUT forge.example.com A) -ge 1 ]] ||
	fail "no line 'getent DNS TIMEOUT forge.example.com A'"
[[ $(count_lines - getent UDP 127.0.0.54:53 ok) -ge 1 ]] || fail "no UDP line to 127.0.0.54:53"
pass "a lookup nobody answers is a lookup line: TIMEOUT"

# --- an answer larger than 1023 bytes: every record of it ------------------
printf 'nameserver %s\noptions edns0\n' "$FAKENET_DNS" > "$SCRATCH/edns-resolv.conf"
# shellcheck disable=SC2016 # $1 is sh's
run_deptrace -- unshare --mount sh -c \
	'mount --bind "$1" /etc/resolv.conf && exec getent ahosts big.example' sh "$SCRATCH/edns-resolv.conf"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- getent ahosts big.example exited $DEPTRACE_RC"
big_line=$(event_lines | awk '$5 == "DNS" && $8 == "big.example" && $9 == "A"')
[[ $(grep -o '127\.0\.1\.[0-9]*' <<< "$big_line" | sort -u | wc -l) == 64 ]] ||
	fail "big.example's answer does not show its 64 addresses: '$big_line'"
pass "an answer of 1064 bytes (64 A records, EDNS): all 64 addresses on the lookup line"

# --- two names on one address, looked up by two processes ------------------
# A resolves a.shared.example, then waits while B resolves b.shared.example
# (the same address) and connects; then A connects. Each connection is
# named by its own process's answer, and --deny a.shared.example marks A's
# only.
cat > "$SCRATCH/resolve_then_connect.py" <<'EOF'
import os, socket, sys, time
name, pidfile, ready, go = sys.argv[1:5]
with open(pidfile, "w") as f:
    f.write(str(os.getpid()))
addr = socket.getaddrinfo(name, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
socket.create_connection(addr).close()
EOF
cat > "$SCRATCH/shared.sh" <<EOF
#!/bin/sh
rm -f "$SCRATCH/a.ready" "$SCRATCH/go"
python3 "$SCRATCH/resolve_then_connect.py" a.shared.example "$SCRATCH/a.pid" "$SCRATCH/a.ready" "$SCRATCH/go" &
while [ ! -e "$SCRATCH/a.ready" ]; do sleep 0.01; done
sh -c 'echo \$\$ > "\$1"; exec curl -fsS -o /dev/null "\$2"' sh "$SCRATCH/b.pid" http://b.shared.example/migrate/releases/latest
touch "$SCRATCH/go"
wait
EOF
chmod +x "$SCRATCH/shared.sh"
run_deptrace --deny a.shared.example --graph "$SCRATCH/shared.dot" -- "$SCRATCH/shared.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- shared.sh exited $DEPTRACE_RC"
a_pid=$(cat "$SCRATCH/a.pid") b_pid=$(cat "$SCRATCH/b.pid")
a_line=$(event_lines | awk -v pid="$a_pid" '$2 == pid && $5 == "TCP"')
b_line=$(event_lines | awk -v pid="$b_pid" '$2 == pid && $5 == "TCP"')
[[ $(wc -l <<< "$a_line") == 1 && $a_line == *" $shared_ip:80 (a.shared.example)  VIOLATION direct (shared.sh > python3; argv names a.shared.example): deny a.shared.example" ]] ||
	fail "A's connection is not named a.shared.example and marked: '$a_line'"
[[ $(wc -l <<< "$b_line") == 1 && $b_line == *" $shared_ip:80 (b.shared.example)  direct (shared.sh > curl; argv names b.shared.example)" ]] ||
	fail "B's connection is not named b.shared.example, unmarked: '$b_line'"
pass "two names on one address: each connection named by its own process's answer, the deny marks A's only"
map_section > "$SCRATCH/map"
grep -qx "a.shared.example $shared_ip:80  TCP  1 time, .*  VIOLATION deny a.shared.example x1" "$SCRATCH/map" ||
	fail "no map entry for a.shared.example $shared_ip:80: $(cat "$SCRATCH/map")"
grep -q "^b.shared.example $shared_ip:80  TCP  1 time, [^V]*$" "$SCRATCH/map" ||
	fail "no map entry for b.shared.example $shared_ip:80: $(cat "$SCRATCH/map")"
for name in a.shared.example b.shared.example; do
	# a label's lines are the name, then the endpoint
	grep -A1 -F "label=\"$name" "$SCRATCH/shared.dot" | grep -qx "$shared_ip:80 TCP.*" ||
		fail "the graph has no $name $shared_ip:80 destination: $(cat "$SCRATCH/shared.dot")"
done
pass "the map and the graph keep both names of the shared address, as two dependencies"

# --- --json says what the text says ------------------------------------------
run_deptrace -- "$SCRATCH/names.sh"
mv "$SCRATCH/trace.out" "$SCRATCH/text.trace"
run_deptrace --json -- "$SCRATCH/names.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json exited $DEPTRACE_RC"
mv "$SCRATCH/trace.out" "$SCRATCH/json.trace"
expect_json_matches_text "$SCRATCH/text.trace" "$SCRATCH/json.trace"
pass "--json parses, has the text run's connections, lookups and map, ends with its summary"

# --- time order: lines and JSON objects never step back in time --------------
# Processes at once, on both CPUs: lookups, curl, threads connecting.
cat > "$SCRATCH/parallel.sh" <<EOF
#!/bin/bash
for i in 1 2 3; do
	getent ahosts forge.example.com > /dev/null &
	curl -fsS -o /dev/null "$latest" &
	"$DT_CONNECT" -l -t 4 127.0.0.1 0 > /dev/null &
done
wait
EOF
chmod +x "$SCRATCH/parallel.sh"
# "TIME" values out of order in $1: "a > b" for each step back.
steps_back() {
	awk 'NR > 1 && $1 + 0 < last { print last " > " $1 } { last = $1 + 0 }' "$1"
}
run_deptrace -- "$SCRATCH/parallel.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- parallel.sh exited $DEPTRACE_RC"
event_lines | awk '{ print $1 }' > "$SCRATCH/times"
[[ $(wc -l < "$SCRATCH/times") -ge 30 ]] || fail "parallel.sh: only $(wc -l < "$SCRATCH/times") lines"
[[ -z $(steps_back "$SCRATCH/times") ]] || fail "lines step back in time: $(steps_back "$SCRATCH/times" | head -3)"
run_deptrace --json -- "$SCRATCH/parallel.sh"
python3 -c 'import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if "time" in o:
        print(o["time"])' "$SCRATCH/trace.out" > "$SCRATCH/times"
[[ $(wc -l < "$SCRATCH/times") -ge 30 ]] || fail "parallel.sh --json: only $(wc -l < "$SCRATCH/times") objects"
[[ -z $(steps_back "$SCRATCH/times") ]] || fail "JSON steps back in time: $(steps_back "$SCRATCH/times" | head -3)"
! grep -q "out of time order" "$SCRATCH/trace.err" || fail "$(cat "$SCRATCH/trace.err")"
pass "three lookups, three curls and twelve threads at once: lines and JSON in time order"

# --- the map: each destination once, under its parent chain -----------------
cat > "$SCRATCH/inner.sh" <<EOF
#!/bin/bash
curl -fsS -o /dev/null "$latest"
curl -fsS -o /dev/null "$latest"
EOF
cat > "$SCRATCH/outer.sh" <<EOF
#!/bin/bash
curl -fsS -o /dev/null "$latest"
"$SCRATCH/inner.sh"
getent hosts nosuch.example.com || true
EOF
chmod +x "$SCRATCH/inner.sh" "$SCRATCH/outer.sh"
run_deptrace --graph "$SCRATCH/deps.dot" -- "$SCRATCH/outer.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- outer.sh exited $DEPTRACE_RC"
map_section > "$SCRATCH/map"
[[ -s $SCRATCH/map ]] || fail "no dependency map at the end of the run"
dups=$(grep -v '^ ' "$SCRATCH/map" | sed 1d | awk -F '  ' '{ print $1 "  " $2 }' | sort | uniq -d)
[[ -z $dups ]] || fail "destinations listed more than once: $dups"
# The forge's entry: 3 connections, from outer.sh's curl and inner.sh's two.
entry=$(awk -v head="forge.example.com $forge_ip:80  TCP  " '
	index($0, head) == 1 { on = 1; print; next } /^[^ ]/ { on = 0 } on' "$SCRATCH/map")
grep -qE '^forge.example.com 127.0.0.10:80  TCP  3 times, .*: ok x3; slowest [0-9.]+(us|ms)$' <<< "$entry" ||
	fail "the forge's map entry is not '3 times ... ok x3; slowest TIME': $entry"
grep -qx '    outer.sh > curl x1  (curl /usr/bin/curl)  direct' <<< "$entry" ||
	fail "no 'outer.sh > curl x1' under the forge: $entry"
grep -qx '    outer.sh > inner.sh > curl x2  (curl /usr/bin/curl)  hidden' <<< "$entry" ||
	fail "no 'outer.sh > inner.sh > curl x2' under the forge: $entry"
[[ $(wc -l <<< "$entry") == 3 ]] || fail "the forge's entry has other programs: $entry"
grep -q '^forge.example.com A  DNS  3 times' "$SCRATCH/map" || fail "no 'forge.example.com A' lookup entry"
grep -A1 -E '^nosuch.example.com A  DNS  1 time, .*: NXDOMAIN x1; slowest [0-9.]+(us|ms)$' "$SCRATCH/map" |
	grep -qx '    outer.sh > getent x1  (getent /usr/bin/getent)  direct' ||
	fail "no NXDOMAIN entry for nosuch.example.com A from outer.sh > getent"
pass "the map lists each destination once, with 'outer.sh > curl' (direct) and 'outer.sh > inner.sh > curl' (hidden)"

# --- the graph renders --------------------------------------------------------
[[ -s $SCRATCH/deps.dot ]] || fail "--graph wrote nothing"
dot -Tsvg "$SCRATCH/deps.dot" -o "$SCRATCH/deps.svg" 2> "$SCRATCH/dot.err" || fail "dot cannot render deps.dot"
[[ -s $SCRATCH/deps.svg ]] || fail "dot rendered an empty SVG"
for text in forge.example.com nosuch.example.com outer.sh inner.sh curl getent; do
	grep -qF ">$text<" "$SCRATCH/deps.svg" || grep -qF ">DNS $text " "$SCRATCH/deps.svg" ||
		fail "the rendered graph has no '$text'"
done
pass "the DOT graph renders with dot -Tsvg and shows the names and programs"

# --- the example: direct, hidden and transient dependencies ---------------
fakenet_start internal-api "$repo/examples/services/internal-api" 127.0.0.20 8080 http://forge.example.com
api_pid=$FAKENET_PID
fakenet_wait_http http://api.internal.example:8080/v1/deployments || fail "the internal API does not start"
run_deptrace -p "$api_pid" -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -p API -- deploy.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
[[ $(count_named_lines "$api_pid" internal-api TCP $forge_ip:80 ok forge.example.com) == 1 ]] ||
	fail "no line for internal-api's own connection to the forge"
map_section > "$SCRATCH/map"
entry=$(awk -v head="forge.example.com $forge_ip:80  TCP  " '
	index($0, head) == 1 { on = 1; print; next } /^[^ ]/ { on = 0 } on' "$SCRATCH/map")
for chain in 'deploy.sh > curl' 'deploy.sh > migrate > curl' 'internal-api'; do
	grep -q "^    $chain x[0-9]*  (" <<< "$entry" || fail "no '$chain' under the forge: $entry"
done
pass "the example deploy's direct, hidden and transient dependencies on the forge are in the map"
