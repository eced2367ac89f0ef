#!/bin/bash
# Hardening: the ways an unprivileged deploy step (-u nobody) tried around
# an enforced policy, in a network namespace with its own DNS server
# (examples/lib/fakenet.sh). Each attack is first shown to work without
# deptrace (so that a refusal means something), then under --enforce the
# attacker (tests/clients/dt-attack.c) must see EPERM and deptrace must
# print the refusal; where the README documents a limit instead, the test
# holds deptrace to what is documented.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
: "${DT_ATTACK:?set DT_ATTACK to the dt-attack test client}"
for tool in getent python3 /usr/sbin/dnsmasq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-deps installs it)"
done

forge_ip=127.0.0.10 other_ip=127.0.0.20
many=()
for i in $(seq 30); do many+=("many.example.com=127.0.1.$i"); done
fakenet_test_up forge.example.com=$forge_ip other.example.com=$other_ip \
	'alias.example.com>forge.example.com' "${many[@]}"
dns=$FAKENET_DNS
# ping sockets for every group, so that only the policy can refuse one
ip netns exec "$FAKENET_NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
# a loopback service on 8080, IPv4 and IPv6
fakenet_start loopback python3 -m http.server --bind :: 8080
fakenet_wait_http http://127.0.0.1:8080/ || fail "the loopback service does not start"
chmod 755 "$SCRATCH" # nobody runs the scripts written there

BLOCKED='EPERM (blocked)'
deny=(--deny "$forge_ip" --deny 127.0.0.1:8080 --deny '[::1]:8080' --deny forge.example.com
	--enforce -u nobody)

# The attack's own word: "case=CASE result=..." in $SCRATCH/client.out.
expect_client() {
	grep -qx "case=$1 result=$2" "$SCRATCH/client.out" ||
		fail "$1: expected result=$2 from the client: $(tr '\n' ' ' < "$SCRATCH/client.out")"
}

# Event lines of COMM PROTO with the blocked result, whose rest matches ERE $3.
count_refusals() {
	event_lines | awk -v comm="$1" -v proto="$2" '$4 == comm && $5 == proto &&
		$6 == "EPERM" && $7 == "(blocked)"' | grep -cE -- "$3" || true
}

# expect_refusals N COMM PROTO ERE WHAT: N such lines, or fail naming WHAT.
expect_refusals() {
	local n
	n=$(count_refusals "$2" "$3" "$4")
	[[ $n == "$1" ]] || fail "$5: $n $3 '$BLOCKED' line(s) matching /$4/, expected $1"
}

# baseline ERE WHAT COMMAND...: without deptrace, the attack works (its
# output matches ERE), so that a refusal under it means something.
baseline() {
	local pattern=$1 what=$2
	shift 2
	fakenet_run "$@" > "$SCRATCH/baseline.out"
	grep -qE -- "$pattern" "$SCRATCH/baseline.out" ||
		fail "$what does not work here without deptrace: $(tr '\n' ' ' < "$SCRATCH/baseline.out")"
}

attack_script() {
	local file=$SCRATCH/$1.sh
	shift
	printf '#!/bin/sh\n%s\n' "$*" > "$file"
	chmod 755 "$file"
	echo "$file"
}

# --- sockets the hooks cannot judge: refused at socket() -------------------------
baseline '^case=udplite result=ok$' "UDP-Lite" "$DT_ATTACK" udplite $forge_ip 9
baseline '^case=ping result=ok$' "an unprivileged ping socket" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$DT_ATTACK" ping $forge_ip
run_deptrace "${deny[@]}" -- "$(attack_script sockets "\"$DT_ATTACK\" udplite $forge_ip 9; \"$DT_ATTACK\" ping $forge_ip; \"$DT_ATTACK\" udplite $other_ip 9")"
expect_client udplite EPERM
expect_client ping EPERM
[[ $(grep -c 'case=udplite result=EPERM' "$SCRATCH/client.out") == 2 ]] ||
	fail "UDP-Lite to $other_ip, not denied, was let through: every UDP-Lite socket is refused"
expect_refusals 2 dt-attack UDPLITE 'VIOLATION [^:]*: a protocol the policy cannot judge' "UDP-Lite"
expect_refusals 1 dt-attack PING 'VIOLATION [^:]*: a protocol the policy cannot judge' "ping"
pass "UDP-Lite and ping sockets are refused at socket() with EPERM and reported (as nobody)"

# --- queries the egress program cannot read, or only partly -------------------------
baseline '^answers=1$' "a question through a compression pointer" \
	"$DT_ATTACK" pointer $dns forge.example.com
baseline '^answer_id=6262 answers=1$' "the second query of a GSO send" \
	"$DT_ATTACK" gso $dns other.example.com forge.example.com
baseline '^case=tcp-dns result=ok$' "DNS over TCP" "$DT_ATTACK" tcp-dns $dns other.example.com
run_deptrace "${deny[@]}" -- "$(attack_script queries "\"$DT_ATTACK\" pointer $dns forge.example.com; \"$DT_ATTACK\" gso $dns other.example.com forge.example.com; \"$DT_ATTACK\" tcp-dns $dns other.example.com")"
expect_client pointer EPERM
expect_client gso EPERM
expect_client tcp-dns EPERM
grep -q '^answer' "$SCRATCH/client.out" && fail "a refused query was answered: $(cat "$SCRATCH/client.out")"
expect_refusals 1 dt-attack DNS 'VIOLATION [^:]*: a question the policy cannot read' "the pointer"
expect_refusals 1 dt-attack DNS ' other\.example\.com A .*several queries in one send \(UDP GSO\)' "GSO"
expect_refusals 1 dt-attack TCP "$dns:53 .*refused by the policy in force" "DNS over TCP"
pass "a question through a compression pointer, two queries in one GSO send and DNS over TCP are refused and reported"

run_deptrace --deny forge.example.com -u nobody -- "$DT_ATTACK" pointer $dns forge.example.com
grep -qx 'answers=1' "$SCRATCH/client.out" || fail "audit: the question through a pointer was not answered"
event_lines | grep -E ' dt-attack +DNS +TIMEOUT +\S+ +\(unreadable\) ' |
	grep -q 'VIOLATION direct: a question the policy cannot read' ||
	fail "audit: the question through a pointer is not reported as one the policy cannot read"
pass "audit: a question the policy cannot read is reported as a violation"

# --- the unspecified address is loopback ---------------------------------------------
for addr in 0.0.0.0 ::ffff:0.0.0.0 ::; do
	baseline '^case=tcp result=ok$' "a connect() to $addr:8080" "$DT_ATTACK" tcp $addr 8080
done
run_deptrace "${deny[@]}" -- "$(attack_script unspecified "\"$DT_ATTACK\" tcp 0.0.0.0 8080; \"$DT_ATTACK\" tcp ::ffff:0.0.0.0 8080; \"$DT_ATTACK\" tcp :: 8080; \"$DT_ATTACK\" tcp 0.0.0.0 8081")"
[[ $(grep -c 'case=tcp result=EPERM' "$SCRATCH/client.out") == 3 ]] ||
	fail "not all three unspecified destinations were refused: $(tr '\n' ' ' < "$SCRATCH/client.out")"
grep -qx 'case=tcp result=ECONNREFUSED' "$SCRATCH/client.out" || fail "0.0.0.0:8081, not denied, did not reach loopback"
expect_refusals 2 dt-attack TCP 'VIOLATION [^:]*: deny 127\.0\.0\.1:8080' "0.0.0.0 and ::ffff:0.0.0.0"
expect_refusals 1 dt-attack TCP 'VIOLATION [^:]*: deny \[::1\]:8080' "::"
pass "0.0.0.0, ::ffff:0.0.0.0 and :: are judged as the loopback they reach: refused and reported"

# --- a CNAME to a denied name ----------------------------------------------------------
chain=$(attack_script chain "getent hosts alias.example.com; \"$DT_ATTACK\" tcp $forge_ip 80")
run_deptrace --deny forge.example.com -u nobody -- "$chain"
event_lines | grep -E ' DNS +NOERROR +\S+ +alias\.example\.com A ' | grep 'VIOLATION [^:]*: deny forge\.example\.com' > /dev/null ||
	fail "audit: the lookup of alias.example.com (a CNAME for forge) is no violation"
# getent resolved, dt-attack (another process) connects: the tree's answer
event_lines | grep -E " dt-attack +TCP .* $forge_ip:80 \(forge\.example\.com tree\)" |
	grep -q 'VIOLATION [^:]*: deny forge\.example\.com' ||
	fail "audit: the connection to alias's address is not judged as forge.example.com"
run_deptrace --deny forge.example.com --enforce -u nobody -- "$chain"
event_lines | grep -E ' DNS +NOERROR +\S+ +alias\.example\.com A ' |
	grep -q 'VIOLATION [^:]*, NOT BLOCKED: deny forge\.example\.com' ||
	fail "enforce: the lookup through the CNAME is not reported NOT BLOCKED, as the README says"
pass "a CNAME to a denied name: judged by every name of the chain, reported (the kernel judges questions only: README)"

# --- thirty answers -----------------------------------------------------------------------
run_deptrace --deny many.example.com -u nobody -- "$DT_ATTACK" nth $dns many.example.com 30 80
grep -qx 'answers=30' "$SCRATCH/client.out" || fail "dnsmasq did not give 30 answers: $(cat "$SCRATCH/client.out")"
thirtieth=$(sed -n 's/^address=//p' "$SCRATCH/client.out")
event_lines | grep -E " dt-attack +TCP .* $thirtieth:80 \(many\.example\.com\)" |
	grep -q 'VIOLATION [^:]*: deny many\.example\.com' ||
	fail "the connection to the 30th address, $thirtieth, is not named and judged"
pass "a connection to the 30th address of a denied name is named and judged"

# --- bad policy files ------------------------------------------------------------------------
mkfifo "$SCRATCH/policy.fifo"
timeout 20 "$DEPTRACE" --policy "$SCRATCH/policy.fifo" --enforce -- true 2>"$SCRATCH/fifo.err" && rc=0 || rc=$?
[[ $rc == 2 ]] || fail "a FIFO as --policy: exit $rc (124: it blocked), expected 2"
grep -q 'not a regular file' "$SCRATCH/fifo.err" || fail "a FIFO as --policy: $(cat "$SCRATCH/fifo.err")"
printf '\x7fELF\x02\x01\x01\x1b[2J\n' > "$SCRATCH/binary.policy"
printf 'deny other.example.com\0deny forge.example.com\n' > "$SCRATCH/nul.policy"
printf 'deny -x.com\n' > "$SCRATCH/dash.policy"
for bad in binary:'byte 0x7f at column 1 is not text' nul:'a NUL byte at column 23' \
	dash:"a label starts with '-'"; do
	name=${bad%%:*}
	run_deptrace --policy "$SCRATCH/$name.policy" --enforce --fail-closed -- touch "$SCRATCH/ran"
	[[ $DEPTRACE_RC == 2 && ! -e $SCRATCH/ran ]] || fail "$name.policy: exit $DEPTRACE_RC, or the command ran"
	grep -qF -- "${bad#*:}" "$SCRATCH/trace.err" || fail "$name.policy: $(cat "$SCRATCH/trace.err")"
	LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$SCRATCH/trace.err" && fail "$name.policy: raw bytes echoed"
done
pass "a FIFO, a binary file, a NUL byte and '-x.com' as policy: exit 2 with the problem named, nothing echoed raw"

# --- a namespace without cgroup2: found or mounted, privately -----------------------------------
real_deptrace=$(sed -n 's/.* \([^ ]*\) "\$@"$/\1/p' "$DEPTRACE")
ip netns exec "$FAKENET_NS" "$real_deptrace" -o "$SCRATCH/trace.out" "${deny[@]}" --fail-closed -- \
	"$DT_ATTACK" tcp $forge_ip 80 >"$SCRATCH/client.out" 2>"$SCRATCH/trace.err" && rc=0 || rc=$?
[[ $rc == 0 ]] || fail "--enforce in 'ip netns exec' (no cgroup2 under its /sys): exit $rc"
expect_client tcp EPERM
grep -q 'mounted cgroup2' "$SCRATCH/trace.err" || fail "no notice that cgroup2 was mounted: $(cat "$SCRATCH/trace.err")"
expect_refusals 1 dt-attack TCP "$forge_ip:80" "in the namespace"
# its cgroup was made in the machine's one hierarchy, through the private
# mount: it must be gone from there too
cgroup_root=$(cgroup2_root)
[[ -z $cgroup_root || $(find "$cgroup_root" -maxdepth 1 -name 'deptrace-*' | wc -l) == 0 ]] ||
	fail "a deptrace cgroup is left under $cgroup_root after the run in the namespace"
pass "in 'ip netns exec' without cgroup2, deptrace mounts its own, privately, and enforces"

# --- a stop signal during start-up ----------------------------------------------------------------
# The -o file is opened once the signal handlers are in place, before the
# programs compile (seconds): SIGTERM then must not be lost, the command
# must not run after it, and the run leaves nothing.
for sig in TERM INT HUP; do
	rm -f "$SCRATCH/ran" "$SCRATCH/early.out"
	"$DEPTRACE" -o "$SCRATCH/early.out" -- sh -c "touch '$SCRATCH/ran'" 2>"$SCRATCH/trace.err" &
	DEPTRACE_BG=$!
	deadline=$((SECONDS + DEPTRACE_START_TIMEOUT))
	until [[ -e $SCRATCH/early.out ]]; do
		kill -0 "$DEPTRACE_BG" 2>/dev/null || fail "deptrace exited before opening its output"
		((SECONDS < deadline)) || fail "deptrace did not open its output within $DEPTRACE_START_TIMEOUT s"
		sleep 0.01
	done
	kill -"$sig" "$DEPTRACE_BG"
	wait_deptrace
	want=$((128 + $(kill -l "$sig")))
	[[ $DEPTRACE_RC == "$want" ]] || fail "SIG$sig during start-up: exit $DEPTRACE_RC, wanted $want"
	[[ ! -e $SCRATCH/ran ]] || fail "SIG$sig during start-up: the command ran after it"
	grep -q 'before tracing began: the command was not run' "$SCRATCH/trace.err" ||
		fail "SIG$sig during start-up: $(cat "$SCRATCH/trace.err")"
	[[ ! -e $SCRATCH/early.out ]] || fail "SIG$sig during start-up: the output file it made is left"
done
pass "SIGTERM, SIGINT and SIGHUP during start-up: exit 128+N, the command never runs, no file left"

# --- output that cannot be written ------------------------------------------------------------------
run_deptrace -- true
[[ $DEPTRACE_RC == 0 ]] || fail "a plain run exited $DEPTRACE_RC"
rc=0
"$DEPTRACE" -o /dev/full -- "$DT_ATTACK" tcp 127.0.0.1 9 >/dev/null 2>"$SCRATCH/trace.err" || rc=$?
[[ $rc == 1 ]] || fail "-o /dev/full: exit $rc, wanted 1"
grep -q 'cannot write the output: No space left on device' "$SCRATCH/trace.err" ||
	fail "-o /dev/full: $(cat "$SCRATCH/trace.err")"
rc=0
"$DEPTRACE" -- true >/dev/full 2>"$SCRATCH/trace.err" || rc=$?
[[ $rc == 1 ]] || fail "standard output on /dev/full: exit $rc, wanted 1"
pass "output that cannot be written (-o /dev/full, stdout on /dev/full): said, and exit 1"

# --- a program that names itself to garble the output ----------------------------------------------
odd=$SCRATCH/$'x\xff\e[31m\rFORGED\nLINE'
cp "$DT_CONNECT" "$odd"
run_deptrace -- "$odd" 127.0.0.1 9
grep -q '^FORGED' "$SCRATCH/trace.out" && fail "a program's name split a line: $(cat -v "$SCRATCH/trace.out")"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$SCRATCH/trace.out" && fail "control bytes reached the text: $(cat -v "$SCRATCH/trace.out")"
grep -qF '\x1b[31m\x0dFORGED' "$SCRATCH/trace.out" || fail "the odd name is not shown escaped: $(cat -v "$SCRATCH/trace.out")"
run_deptrace --json -- "$odd" 127.0.0.1 9
python3 - "$SCRATCH/trace.out" <<'PY' || fail "JSON output with odd bytes is not valid UTF-8 JSON Lines"
import json, sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")  # strict: must be valid UTF-8
rows = [json.loads(line) for line in text.splitlines() if line]
assert any("\ufffd\x1b[31m\rFORGED" in r.get("comm", "") for r in rows), "the odd name is missing"
PY
pass "control bytes and a byte that is not UTF-8 in a program's name: escaped in text, valid JSON"
