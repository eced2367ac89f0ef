#!/bin/bash
# Classes: in a network namespace with the fake forge, each connection and
# lookup line ends with its class, asserted line by line: a script's curl
# with the URL in its argv (direct), the script's own subshell $(curl ...)
# and a subshell connecting by itself (direct), a tool that checks for
# updates with a URL of its own, in-process and through a child (hidden);
# the same classes in --json, the map (direct programs first) and the
# summary's counts; the example deploy without -p.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
for tool in curl python3 /usr/sbin/dnsmasq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-deps installs it)"
done

forge_ip=127.0.0.10
forge=http://forge.example.com
fakenet_test_up forge.example.com=$forge_ip api.internal.example=127.0.0.20
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http $forge/migrate/releases/latest || fail "the fake forge does not start"

# The tails (what follows the destination) of the lines of COMM with
# PROTO to DEST, sorted, one per line.
tails() {
	event_lines | awk -v comm="$1" -v proto="$2" -v dest="$3" '
		$4 == comm && $5 == proto && $7 == dest {
			rest = substr($0, index($0, " " dest " ") + 1)
			print substr(rest, index(rest, "  ") + 2) }' | sort
}

# expect_tails COMM PROTO DEST TAIL...: the lines of COMM with PROTO to
# DEST end with exactly these tails (ERE, one line each, in sorted order).
expect_tails() {
	local comm=$1 proto=$2 dest=$3 got want
	shift 3
	got=$(tails "$comm" "$proto" "$dest")
	[[ $(grep -c . <<< "$got") == "$#" ]] ||
		fail "$comm $proto $dest: expected $# line(s), found: ${got:-none}"
	for want; do
		grep -qxE -- "$want" <<< "$got" || fail "$comm $proto $dest: no line ending /$want/ in: $got"
	done
}

# A tool that checks for updates in-process (its URL is in its text)...
cat > "$SCRATCH/checker" <<EOF
#!/usr/bin/python3
import urllib.request
urllib.request.urlopen("$forge/migrate/releases/latest", timeout=5).read()
EOF
# ... the script: its own curl, a $(curl ...) subshell, a subshell that
# connects by itself (bash's /dev/tcp), the in-process tool, and the
# example's migrate, which runs curl with a URL of its own.
cat > "$SCRATCH/deploy.sh" <<EOF
#!/bin/bash
set -e
curl -fsS -o /dev/null $forge/app/releases/2.4.1/SHA256SUMS
latest=\$(curl -fsS $forge/migrate/releases/latest)
(exec 3<>/dev/tcp/forge.example.com/80 && printf 'HEAD / HTTP/1.0\r\n\r\n' >&3 && cat <&3 > /dev/null)
"$SCRATCH/checker"
mkdir -p "$SCRATCH/schema" && touch "$SCRATCH/schema/001.sql"
"$repo/examples/bin/migrate" "$SCRATCH/schema" > /dev/null
EOF
chmod +x "$SCRATCH/checker" "$SCRATCH/deploy.sh"

run_deptrace -- "$SCRATCH/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- deploy.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/trace.err")"
mv "$SCRATCH/trace.out" "$SCRATCH/text.trace"
ln -s text.trace "$SCRATCH/trace.out"

curl_direct='direct \(deploy\.sh( > deploy\.sh)? > curl; argv names forge\.example\.com\)'
migrate_hidden="hidden \\(deploy\\.sh > migrate( > migrate)? > curl; not in migrate's argv\\)"
expect_tails curl TCP $forge_ip:80 "$curl_direct" "$curl_direct" "$migrate_hidden"
pass "the script's curl and its \$(curl ...): 'direct (deploy.sh > curl; argv names forge.example.com)'"
pass "migrate's curl of its own URL: 'hidden (deploy.sh > migrate > curl; not in migrate's argv)'"

expect_tails deploy.sh TCP $forge_ip:80 'direct \(deploy\.sh > deploy\.sh; a fork of the command\)'
expect_tails deploy.sh DNS forge.example.com \
	'direct \(deploy\.sh > deploy\.sh; a fork of the command\)' \
	'direct \(deploy\.sh > deploy\.sh; a fork of the command\)'
pass "a subshell connecting by itself is the script: 'direct (deploy.sh > deploy.sh; a fork of the command)'"

expect_tails checker TCP $forge_ip:80 "hidden \\(deploy\\.sh > checker; not in checker's argv\\)"
pass "a tool checking for updates in-process: 'hidden (deploy.sh > checker; not in checker's argv)'"

# the lookups too: curl's A and AAAA, twice direct, once hidden
[[ $(tails curl DNS forge.example.com | grep -cxE "$curl_direct") == 4 ]] ||
	fail "curl's lookups are not direct 4 times: $(tails curl DNS forge.example.com)"
[[ $(tails curl DNS forge.example.com | grep -cxE "$migrate_hidden") == 2 ]] ||
	fail "migrate's curl's lookups are not hidden twice: $(tails curl DNS forge.example.com)"
pass "each lookup has its program's class"

# the resolver: the script's curl did not name it, but the script ran
# curl, which reached it: curl's argv does not name it either
[[ $(tails curl UDP "$FAKENET_DNS:53" | grep -c "^direct (deploy.sh > curl; argv names") == 0 ]] ||
	fail "a resolver connection was called direct by argv"
pass "connections to the resolver are not direct by an argv that never names it"

# the summary's counts are the lines'
direct=$(event_lines | grep -cE '  (VIOLATION )?direct( |$)' || true)
hidden=$(event_lines | grep -cE '  (VIOLATION )?hidden( |$)' || true)
[[ $((direct + hidden)) == $(event_lines | grep -c .) ]] || fail "lines without a class"
grep -qE "^deptrace: [0-9]+ connections and [0-9]+ lookups traced \\($direct direct, $hidden hidden\\), 0 events lost\$" \
	"$SCRATCH/trace.err" || fail "the summary line does not count $direct direct, $hidden hidden: $(cat "$SCRATCH/trace.err")"
map_section | grep -qx "DEPENDENCIES ([0-9]*) ($direct direct, $hidden hidden)" ||
	fail "the map's heading does not count the classes: $(map_section | head -1)"
pass "the summary line and the map count $direct direct and $hidden hidden"

# the map: the forge's entry lists its direct programs first
entry=$(map_section | awk -v head="forge.example.com $forge_ip:80  TCP  " '
	index($0, head) == 1 { on = 1; next } /^[^ ]/ { on = 0 } on')
awk '{ print $NF }' <<< "$entry" | uniq | tr '\n' ' ' | grep -qx 'direct hidden ' ||
	fail "the forge's programs are not grouped direct, then hidden: $entry"
grep -qxF "    deploy.sh > checker x1  (checker $SCRATCH/checker)  hidden" <<< "$entry" ||
	fail "no hidden 'deploy.sh > checker' under the forge: $entry"
pass "the map groups each destination's programs by class, direct first"

# --json says the same, with class and evidence on every event
rm -f "$SCRATCH/trace.out"
run_deptrace --json -- "$SCRATCH/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json exited $DEPTRACE_RC"
mv "$SCRATCH/trace.out" "$SCRATCH/json.trace"
python3 "$(dirname "$0")/json_matches_text.py" "$SCRATCH/text.trace" "$SCRATCH/json.trace" \
	> "$SCRATCH/compare.out" || fail "--json and text differ: $(cat "$SCRATCH/compare.out")"
python3 - "$SCRATCH/json.trace" <<'EOF' || fail "the JSON classes are wrong"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
seen = {(e["comm"], e["class"], e["evidence"]) for e in events if e["type"] == "connect"
        and e["address"] == "127.0.0.10"}
assert ("curl", "direct", "argv names forge.example.com") in seen, seen
assert ("curl", "hidden", "not in migrate's argv") in seen, seen
assert ("checker", "hidden", "not in checker's argv") in seen, seen
assert ("deploy.sh", "direct", "a fork of the command") in seen, seen
summary = events[-1]
assert summary["classes"]["direct"] + summary["classes"]["hidden"] == \
    summary["connections"] + summary["lookups"], summary
EOF
pass "--json: every connection and lookup has its class and evidence; the summary counts them"

# --- the example deploy, without -p ------------------------------------------
rm -f "$SCRATCH/trace.out"
fakenet_start internal-api "$repo/examples/services/internal-api" 127.0.0.20 8080 $forge
fakenet_wait_http http://api.internal.example:8080/v1/deployments || fail "the internal API does not start"
run_deptrace -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- deploy.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
# (one curl downloads the release and its checksums: two connections; the
# registry's URL comes after 8 arguments, read from /proc)
expect_tails curl TCP $forge_ip:80 "$curl_direct" "$curl_direct" "$migrate_hidden"
expect_tails curl TCP 127.0.0.20:8080 'direct \(deploy\.sh > curl; argv names api\.internal\.example\)'
pass "the example: the release download direct, migrate's update check hidden, the API call direct"
