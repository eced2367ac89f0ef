#!/bin/bash
# Classes: in a network namespace with the fake forge, each connection and
# lookup line ends with its class, asserted line by line: a script's curl
# with the URL in its argv (direct), the script's own subshell $(curl ...)
# and a subshell connecting by itself (direct), a tool that checks for
# updates with a URL of its own, in-process and through a child (hidden);
# the same classes in --json, the map (direct programs first) and the
# summary's counts. Local services followed without -p (transient): the
# example deploy's threaded internal API; a forking relay calling a
# threaded relay calling the forge (two hops, the path shown), while an
# unrelated client uses both relays, whose calls must not appear; and
# --no-follow.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 /usr/sbin/dnsmasq

forge_ip=127.0.0.10
forge=http://forge.example.com
fakenet_test_up forge.example.com=$forge_ip api.internal.example=127.0.0.20 \
	relay1.internal.example=127.0.0.30 relay2.internal.example=127.0.0.31
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http $forge/migrate/releases/latest || fail "the fake forge does not start"

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
grep -qE "^deptrace: [0-9]+ connections and [0-9]+ lookups traced \\($direct direct, $hidden hidden, 0 transient\\), 0 events lost\$" \
	"$SCRATCH/trace.err" || fail "the summary line does not count $direct direct, $hidden hidden: $(cat "$SCRATCH/trace.err")"
map_section | grep -x "DEPENDENCIES ([0-9]*) of $((direct + hidden)) connections and lookups ($direct direct, $hidden hidden, 0 transient)" > /dev/null ||
	fail "the map's heading does not count the classes: $(map_section | head -1)"
pass "the summary line and the map count $direct direct and $hidden hidden"

# the map: the forge's entry lists its direct programs first
entry=$(map_section | awk -v head="forge.example.com $forge_ip:80  TCP  " '
	index($0, head) == 1 { on = 1; next } /^[^ ]/ { on = 0 } on')
awk '{ print $NF }' <<< "$entry" | uniq | tr '\n' ' ' | grep -x 'direct hidden ' > /dev/null ||
	fail "the forge's programs are not grouped direct, then hidden: $entry"
# (the program: its interpreter, resolved, then the script)
grep -qxF "    deploy.sh > checker x1  (checker $(realpath /usr/bin/python3) $SCRATCH/checker)  hidden" <<< "$entry" ||
	fail "no hidden 'deploy.sh > checker' under the forge: $entry"
pass "the map groups each destination's programs by class, direct first"

# --json says the same, with class and evidence on every event
rm -f "$SCRATCH/trace.out"
run_deptrace --json -- "$SCRATCH/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json exited $DEPTRACE_RC"
mv "$SCRATCH/trace.out" "$SCRATCH/json.trace"
expect_json_matches_text "$SCRATCH/text.trace" "$SCRATCH/json.trace"
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

# --- the example deploy, without -p: its internal API followed ---------------
rm -f "$SCRATCH/trace.out"
fakenet_start internal-api "$repo/examples/services/internal-api" 127.0.0.20 8080 $forge
fakenet_wait_http http://api.internal.example:8080/v1/deployments || fail "the internal API does not start"
run_deptrace -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- deploy.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
# (one curl downloads the release and its checksums: two connections; the
# registry's URL comes after 8 arguments, read from /proc)
expect_tails curl TCP $forge_ip:80 "$curl_direct" "$curl_direct" "$migrate_hidden"
expect_tails curl TCP 127.0.0.20:8080 'direct \(deploy\.sh > curl; argv names api\.internal\.example\)'
api_via='transient \(deploy\.sh > curl -> api\.internal\.example:8080 internal-api\)'
expect_tails internal-api TCP $forge_ip:80 "$api_via"
expect_tails internal-api DNS forge.example.com "$api_via" "$api_via"
pass "the example: the download direct, migrate's update check hidden, internal-api's check transient"
map_section | grep -E '^    internal-api x1  \(internal-api /usr/bin/python3[.0-9]* [^ )]*/examples/services/internal-api\)  transient \(deploy\.sh > curl -> api\.internal\.example:8080 internal-api\)$' > /dev/null ||
	fail "no transient internal-api under the forge in the map: $(map_section)"
pass "the map lists internal-api under the forge, transient, with its path"
mv "$SCRATCH/trace.out" "$SCRATCH/text.trace"
run_deptrace --json -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json -- deploy.sh exited $DEPTRACE_RC"
mv "$SCRATCH/trace.out" "$SCRATCH/json.trace"
expect_json_matches_text "$SCRATCH/text.trace" "$SCRATCH/json.trace"
grep -q '"comm":"internal-api",.*"class":"transient","via":"deploy.sh > curl -> api.internal.example:8080 internal-api"' \
	"$SCRATCH/json.trace" || fail "no transient internal-api event with its via in --json"
pass "--json: the same three classes, transient with its via"

# --- two hops: a forking relay calls a threaded relay calls the forge ------------
# Each relay (tests/clients/relay) serves any GET by fetching the same
# path from its upstream after PAUSE seconds (so that the unrelated
# client's requests overlap ours), and replies with what it got.
ln -s "$repo/tests/clients/relay" "$SCRATCH/relay-fork"
ln -s "$repo/tests/clients/relay" "$SCRATCH/relay-thread"
fakenet_start relay-thread "$SCRATCH/relay-thread" 127.0.0.31 8082 $forge thread 0.6
fakenet_start relay-fork "$SCRATCH/relay-fork" 127.0.0.30 8081 http://relay2.internal.example:8082 fork 0
fakenet_wait_http http://relay2.internal.example:8082/migrate/releases/latest 20 || fail "relay2 does not start"
fakenet_wait_http http://relay1.internal.example:8081/migrate/releases/latest 20 || fail "relay1 does not start"

# The unrelated client: outside the traced tree, 2 requests through relay1
# and 2 straight to relay2, started once tracing is attached and just
# before the deploy's own: all under way while the deploy's one is.
cat > "$SCRATCH/unrelated" <<EOF
#!/bin/bash
for i in 1 2; do
	curl -fsS -o /dev/null http://relay1.internal.example:8081/migrate/releases/latest &
	curl -fsS -o /dev/null http://relay2.internal.example:8082/migrate/releases/latest &
done
wait
touch "$SCRATCH/unrelated.done"
EOF
cat > "$SCRATCH/hops.sh" <<EOF
#!/bin/bash
until [[ -e "$SCRATCH/go" ]]; do sleep 0.05; done
curl -fsS -o /dev/null http://relay1.internal.example:8081/migrate/releases/latest
EOF
chmod +x "$SCRATCH/unrelated" "$SCRATCH/hops.sh"
run_beside_unrelated "$SCRATCH/hops.sh"

hop1='transient \(hops\.sh > curl -> relay1\.internal\.example:8081 relay-fork\)'
hop2='transient \(hops\.sh > curl -> relay1\.internal\.example:8081 relay-fork -> relay2\.internal\.example:8082 relay-thread\)'
expect_tails relay-fork TCP 127.0.0.31:8082 "$hop1"
expect_tails relay-thread TCP $forge_ip:80 "$hop2"
pass "two hops: 'transient (hops.sh > curl -> relay1...:8081 relay-fork -> relay2...:8082 relay-thread)'"
[[ $(event_lines | grep -c ' relay-') == $(event_lines | grep ' relay-' | grep -cE "  ($hop1|$hop2)\$") ]] ||
	fail "relay lines with another path: $(event_lines | grep ' relay-')"
[[ $(count_lines - relay-thread TCP $forge_ip:80 -) == 1 && $(count_lines - relay-fork TCP 127.0.0.31:8082 -) == 1 ]] ||
	fail "the unrelated client's calls through the relays were attributed: $(event_lines | grep ' relay-')"
pass "the unrelated client's 4 requests, served at the same time, do not appear"

# --- --no-follow: the service is not followed ------------------------------------
rm -f "$SCRATCH/trace.out"
run_deptrace --no-follow -- "$SCRATCH/hops.sh" # ($SCRATCH/go is there)
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --no-follow exited $DEPTRACE_RC"
[[ $(event_lines | grep -c ' relay-') == 0 ]] || fail "--no-follow still followed: $(event_lines | grep ' relay-')"
expect_tails curl TCP 127.0.0.30:8081 'direct \(hops\.sh > curl; argv names relay1\.internal\.example\)'
pass "--no-follow: only the deploy's own connection to relay1"

# --- argv of a program that ends at once --------------------------------------
# Read by the kernel at exec where it can be (--check says so): 30 quick
# clients, each gone within milliseconds, each still has the argv that names
# its destination. Read from /proc as the record arrives, most would be gone.
if "$DEPTRACE" --check 2>/dev/null | grep -q '^exec argv  *read by the kernel at exec'; then
	printf '#!/bin/bash\nfor i in $(seq 30); do "%s" 127.0.0.1 9 > /dev/null; done\nexit 0\n' \
		"$DT_CONNECT" > "$SCRATCH/quick.sh"
	chmod +x "$SCRATCH/quick.sh"
	rm -f "$SCRATCH/trace.out"
	run_deptrace -- "$SCRATCH/quick.sh"
	[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- quick.sh exited $DEPTRACE_RC"
	quick=$(event_lines | awk '$4 == "dt-connect" && $5 == "TCP"')
	[[ $(grep -c . <<< "$quick") == 30 ]] || fail "not 30 quick connections: $quick"
	named=$(grep -c '  direct (quick\.sh > dt-connect; argv names 127\.0\.0\.1)$' <<< "$quick")
	[[ $named == 30 ]] || fail "$((30 - named)) of 30 quick clients lost their argv: $(grep -v 'argv names' <<< "$quick" | head -3)"
	pass "30 clients that end at once: each 'direct (quick.sh > dt-connect; argv names 127.0.0.1)'"
else
	echo "skip: this kernel does not let deptrace read argv at exec (--check, 'exec argv')"
fi
