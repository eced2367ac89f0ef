#!/bin/bash
# Policies, audited: real connections and lookups that break --deny,
# --allow or a --policy file are marked on their lines, in the map and in
# --json with their class: direct (the traced root itself, or a program
# it ran whose argv names the destination) or hidden (a program below one
# that did not name it), with the chain, in run mode and with -p;
# --fail-on-violation exits 7;
# a bad policy stops deptrace before anything is traced.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 /usr/sbin/dnsmasq

# What follows DESTINATION on the lines of PID with PROTO to DEST
# ("VIOLATION ..."), "-" for a line with no marker; one line each.
marker_of() {
	event_lines | awk -v pid="$1" -v proto="$2" -v dest="$3" '
		$2 == pid && $5 == proto && $8 == dest {
			i = index($0, "  VIOLATION "); print i ? substr($0, i + 2) : "-" }'
}

# The PID and destination of the client's only connection in file $1.
client_pid() { sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$1"; }
client_dest() { sed -n 's/.* dest=\([^ ]*\) .*/\1/p' "$1"; }

expect_marker() {
	local pid=$1 proto=$2 dest=$3 want=$4 got
	got=$(marker_of "$pid" "$proto" "$dest")
	[[ $got == "$want" ]] || fail "$pid $proto $dest: marker '$got', expected '$want'"
}

# The marker of a direct child of the command naming 127.0.0.1, by its
# argv, or gone before its argv was read (dt-connect can be that quick):
# ERE, then RULE.
direct_child_marker() {
	printf 'VIOLATION direct \\(bash > dt-connect; (argv names 127\\.0\\.0\\.1|argv unread \\(the program had ended\\))\\): %s' "$1"
}

expect_marker_ere() {
	local pid=$1 proto=$2 dest=$3 want=$4 got
	got=$(marker_of "$pid" "$proto" "$dest")
	[[ $got =~ ^$want$ ]] || fail "$pid $proto $dest: marker '$got', expected /$want/"
}

# --- direct: the command itself, a rule from a policy file --------------------
cat > "$SCRATCH/loopback.policy" <<'EOF'
# nothing on loopback's first /24
deny 127.0.0.0/24
EOF
run_deptrace --policy "$SCRATCH/loopback.policy" -- "$DT_CONNECT" -l 127.0.0.1 0
[[ $DEPTRACE_RC == 0 ]] || fail "an audited violation changed the exit status to $DEPTRACE_RC"
expect_client_lines "$SCRATCH/client.out"
pid=$(client_pid "$SCRATCH/client.out") dest=$(client_dest "$SCRATCH/client.out")
expect_marker "$pid" TCP "$dest" "VIOLATION direct: deny 127.0.0.0/24"
grep -qx 'deptrace: 1 violation (1 direct, 0 hidden, 0 transient)' "$SCRATCH/trace.err" ||
	fail "no '1 violation (1 direct, 0 hidden, 0 transient)' on stderr"
map_section | grep -qE "$dest  TCP  1 time, .*: ok x1; slowest [0-9.]+(us|ms)  VIOLATION deny 127.0.0.0/24 x1\$" ||
	fail "the map does not mark $dest"
map_section | grep -qx '1 violation (1 direct, 0 hidden, 0 transient)' || fail "no count line after the map"
pass "the command's own connection: 'VIOLATION direct: deny 127.0.0.0/24', in the map too"

# --- a program the command ran, naming the address: direct, with its chain -----
# (a last command bash would exec in place: "true" keeps dt-connect a child)
# expect_child_case MARKER CHAIN CLASS -- BASH_ARGS...: under --deny
# 127.0.0.0/24, the one connection of `bash -c BASH_ARGS` has MARKER, and
# its program line in the map is CHAIN with CLASS.
expect_child_case() {
	local marker=$1 chain=$2 class=$3 pid dest
	shift 4
	run_deptrace --deny 127.0.0.0/24 -- bash -c "$@"
	expect_client_lines "$SCRATCH/client.out"
	pid=$(client_pid "$SCRATCH/client.out") dest=$(client_dest "$SCRATCH/client.out")
	expect_marker_ere "$pid" TCP "$dest" "$marker"
	map_section | grep -q "^    $chain x1  (dt-connect .*)  $class  VIOLATION\$" ||
		fail "the map's program line is not '$chain ... $class'"
}

# shellcheck disable=SC2016 # $1 is bash's
expect_child_case "$(direct_child_marker 'deny 127\.0\.0\.0/24')" \
	'bash > dt-connect' direct -- '"$1" -l 127.0.0.1 0; true' bash "$DT_CONNECT"
pass "a child naming the address: 'VIOLATION direct (bash > dt-connect; argv names 127.0.0.1): ...'"

# --- hidden: below a program whose argv does not name it ------------------------
# (tool chose the address: it is in its text, not its argv; it stays long
# enough for its argv to be read from /proc)
printf '#!/bin/sh\n%q "$@" 127.0.0.1 0; sleep 0.5\n' "$DT_CONNECT" > "$SCRATCH/tool"
chmod +x "$SCRATCH/tool"
# shellcheck disable=SC2016
expect_child_case "VIOLATION hidden \\(bash > tool > dt-connect; not in tool's argv\\): deny 127\\.0\\.0\\.0/24" \
	'bash > tool > dt-connect' hidden -- '"$1" -l; true' bash "$SCRATCH/tool"
pass "a tool's own choice: 'VIOLATION hidden (bash > tool > dt-connect; not in tool's argv): ...'"

# --- an allow list: what it does not name breaks the policy --------------------
# shellcheck disable=SC2016
run_deptrace --allow ::1 -- bash -c '"$1" -l ::1 0 > "$2"; "$1" -l 127.0.0.1 0 > "$3"; true' \
	bash "$DT_CONNECT" "$SCRATCH/allowed.out" "$SCRATCH/other.out"
expect_client_lines "$SCRATCH/allowed.out"
expect_client_lines "$SCRATCH/other.out"
expect_marker "$(client_pid "$SCRATCH/allowed.out")" TCP "$(client_dest "$SCRATCH/allowed.out")" -
expect_marker_ere "$(client_pid "$SCRATCH/other.out")" TCP "$(client_dest "$SCRATCH/other.out")" \
	"$(direct_child_marker 'not on the allow list')"
pass "--allow ::1: [::1] is fine, 127.0.0.1 is 'not on the allow list'"

# --- --fail-on-violation -------------------------------------------------------
# shellcheck disable=SC2016
run_deptrace --fail-on-violation --deny 127.0.0.0/24 -- bash -c '"$1" -u 127.0.0.1 53; exit 3' \
	bash "$DT_CONNECT"
[[ $DEPTRACE_RC == 7 ]] || fail "--fail-on-violation with a violation exited $DEPTRACE_RC, expected 7"
grep -qx "deptrace: exit status 7 (--fail-on-violation); the command's own status was 3" \
	"$SCRATCH/trace.err" || fail "the command's own status is not on stderr: $(cat "$SCRATCH/trace.err")"
# shellcheck disable=SC2016
run_deptrace --fail-on-violation --deny 192.0.2.0/24 -- bash -c '"$1" -u 127.0.0.1 53; exit 3' \
	bash "$DT_CONNECT"
[[ $DEPTRACE_RC == 3 ]] || fail "--fail-on-violation without a violation exited $DEPTRACE_RC, expected 3"
grep -qx 'deptrace: 0 violations (0 direct, 0 hidden, 0 transient)' "$SCRATCH/trace.err" || fail "no '0 violations'"
pass "--fail-on-violation: 7 when the policy was broken (the command's 3 on stderr), 3 when not"

# --- a bad policy: exit 2 before anything is traced or run ---------------------
printf '# deploy policy\ndeny forge.example.com\ndny 192.0.2.0/24\n' > "$SCRATCH/bad.policy"
rm -f "$SCRATCH/trace.out"
run_deptrace --policy "$SCRATCH/bad.policy" -- touch "$SCRATCH/ran"
[[ $DEPTRACE_RC == 2 ]] || fail "a bad policy file exited $DEPTRACE_RC, expected 2"
grep -qx "deptrace: $SCRATCH/bad.policy:3: unknown word \"dny\": a line is \"deny RULE\" or \"allow RULE\"" \
	"$SCRATCH/trace.err" || fail "no file:line message: $(cat "$SCRATCH/trace.err")"
[[ $(grep -c . "$SCRATCH/trace.err") == 1 ]] || fail "more than one line: $(cat "$SCRATCH/trace.err")"
[[ ! -e $SCRATCH/trace.out && ! -e $SCRATCH/ran ]] || fail "a bad policy still traced or ran the command"
run_deptrace --deny 192.0.2.7/24 -- touch "$SCRATCH/ran"
[[ $DEPTRACE_RC == 2 ]] || fail "a bad --deny exited $DEPTRACE_RC, expected 2"
grep -qx 'deptrace: --deny: 192.0.2.7/24 has host bits set: did you mean 192.0.2.0/24?' \
	"$SCRATCH/trace.err" || fail "bad --deny said: $(cat "$SCRATCH/trace.err")"
[[ ! -e $SCRATCH/trace.out && ! -e $SCRATCH/ran ]] || fail "a bad --deny still traced or ran the command"
pass "a bad policy file or rule: exit 2, 'FILE:LINE: ...' or '--deny: ...', nothing traced or run"

# --- -p: a target is direct, its tool's child hidden -----------------------------
go=$SCRATCH/go
"$DT_CONNECT" -w "$go" -l 127.0.0.1 0 > "$SCRATCH/target.out" &
target=$!
printf '#!/bin/sh\n%q -w %q -u 127.0.0.1 53 > %q; true\n' "$DT_CONNECT" "$go" "$SCRATCH/child.out" \
	> "$SCRATCH/udp-tool"
chmod +x "$SCRATCH/udp-tool"
# shellcheck disable=SC2016
sh -c '"$1"; true' sh "$SCRATCH/udp-tool" &
parent=$!
sleep 0.3 # let sh start its child
start_deptrace --fail-on-violation --deny 127.0.0.0/24 -p "$target,$parent"
touch "$go"
wait_deptrace
[[ $DEPTRACE_RC == 7 ]] || fail "-p with --fail-on-violation exited $DEPTRACE_RC, expected 7"
expect_client_lines "$SCRATCH/target.out"
expect_client_lines "$SCRATCH/child.out"
expect_marker "$target" TCP "$(client_dest "$SCRATCH/target.out")" "VIOLATION direct: deny 127.0.0.0/24"
expect_marker "$(client_pid "$SCRATCH/child.out")" UDP 127.0.0.1:53 \
	"VIOLATION hidden (sh > udp-tool > dt-connect; not in udp-tool's argv): deny 127.0.0.0/24"
grep -qx 'deptrace: 2 violations (1 direct, 1 hidden, 0 transient)' "$SCRATCH/trace.err" || fail "no '2 violations' line"
pass "-p: the target's connection is direct, its tool's child's hidden; exit 7"

# --- a denied name: its lookups and the connection, text and JSON ---------------
forge_ip=127.0.0.10
fakenet_test_up forge.example.com=$forge_ip
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
latest=http://forge.example.com/migrate/releases/latest
fakenet_wait_http $latest || fail "the fake forge does not start"

run_deptrace --deny forge.example.com -- curl -fsS -o /dev/null $latest
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- curl exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
mv "$SCRATCH/trace.out" "$SCRATCH/text.trace"
marked() { grep -c "$1  VIOLATION direct: deny forge.example.com\$" "$SCRATCH/text.trace" || true; }
[[ $(marked ' DNS    NOERROR       [^ ]* *forge.example.com A -> 127.0.0.10') == 1 ]] || fail "the A lookup is not marked"
[[ $(marked ' DNS    NOERROR       [^ ]* *forge.example.com AAAA') == 1 ]] || fail "the AAAA lookup is not marked"
[[ $(marked " TCP    ok            [^ ]* *$forge_ip:80 (forge.example.com)") == 1 ]] || fail "the connection is not marked"
grep -q " UDP    ok            -       $FAKENET_DNS:53  direct\$" "$SCRATCH/text.trace" || fail "the DNS server's line is marked"
pass "--deny forge.example.com: both lookups and the connection are direct violations, the resolver is not"

run_deptrace --json --deny forge.example.com -- curl -fsS -o /dev/null $latest
mv "$SCRATCH/trace.out" "$SCRATCH/json.trace"
expect_json_matches_text "$SCRATCH/text.trace" "$SCRATCH/json.trace"
python3 - "$SCRATCH/json.trace" <<'EOF' || fail "the JSON violation objects are wrong"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
marked = [e for e in events if "violation" in e and e["type"] in ("connect", "dns")]
assert len(marked) == 3, marked
for e in marked:
    assert e["violation"] == {"class": "direct", "rule": "deny forge.example.com",
                              "origin": "--deny", "chain": "curl"}, e
assert events[-1]["violations"] == {"count": 3, "direct": 3, "hidden": 0, "transient": 0}, events[-1]
EOF
pass "--json: the same events, each violation with class, rule, origin and chain"
