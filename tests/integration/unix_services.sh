#!/bin/bash
# Services reached over Unix stream sockets, followed without -p: in a
# network namespace with the fake forge, the example's deploy lock
# (examples/services/deploy-lock, HTTP on a Unix socket), forking and
# threaded, asks the forge about a change freeze while it serves a deploy's
# curl: its lookup and connection are transient, with the socket's path
# on the line, in the map and in --json. A Unix-socket relay serving an
# unrelated client at the same time as the deploy: only the deploy's
# request's calls appear. The example deploy with the lock: all three
# classes. --no-follow: none of it.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 /usr/sbin/dnsmasq

if "$DEPTRACE" --check 2>/dev/null | grep '^Unix services  *not followed' > /dev/null; then
	echo "SKIP: this kernel cannot follow Unix-socket services: $("$DEPTRACE" --check 2>/dev/null | grep '^Unix services')"
	exit 77
fi

forge_ip=127.0.0.10
forge=http://forge.example.com
fakenet_test_up forge.example.com=$forge_ip api.internal.example=127.0.0.20
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http $forge/ops/freeze || fail "the fake forge does not start"

# --- the deploy lock, forking, then threaded ------------------------------------
cat > "$SCRATCH/lock.sh" <<'EOF2'
#!/bin/bash
set -e
curl -fsS -o /dev/null -X POST --unix-socket "$1" "http://lock/v1/lock?app=app"
curl -fsS -o /dev/null -X DELETE --unix-socket "$1" "http://lock/v1/lock?app=app"
EOF2
chmod +x "$SCRATCH/lock.sh"
for mode in forking threads; do
	sock=$SCRATCH/lock-$mode.sock
	args=("$sock" "$forge")
	[[ $mode == threads ]] && args=(--threads "${args[@]}")
	fakenet_start "deploy-lock-$mode" "$repo/examples/services/deploy-lock" "${args[@]}"
	fakenet_wait_socket "$sock" || fail "the $mode deploy lock does not start"
	rm -f "$SCRATCH/trace.out"
	run_deptrace -- "$SCRATCH/lock.sh" "$sock"
	[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- lock.sh ($mode) exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
	via="transient (lock.sh > curl -> $sock deploy-lock)"
	expect_tails -F deploy-lock TCP $forge_ip:80 "$via"
	expect_tails -F deploy-lock DNS forge.example.com "$via" "$via"
	expect_tails -F deploy-lock UDP "$FAKENET_DNS:53" "$via"
	# the release (DELETE) asks nothing: nothing else of the service's
	[[ $(event_lines | grep -c ' deploy-lock ') == 4 ]] ||
		fail "$mode: other deploy-lock lines: $(event_lines | grep ' deploy-lock ')"
	! grep -q 'was not found' "$SCRATCH/trace.err" || fail "$mode: $(cat "$SCRATCH/trace.err")"
	# (the program is read from /proc when the service's record arrives: a
	# forking server's child may have ended by then, and has none; with
	# it, the interpreter and the script it runs)
	map_section | grep -E '^    deploy-lock x1  \(deploy-lock( /usr/bin/python3[.0-9]* \S*/examples/services/deploy-lock)?\)  ' |
		grep -F "  $via" > /dev/null ||
		fail "$mode: no transient deploy-lock under the forge in the map: $(map_section)"
	pass "$mode Unix-socket service: its freeze check is '$via', in the map too"
done

# --json: class and via
rm -f "$SCRATCH/trace.out"
run_deptrace --json -- "$SCRATCH/lock.sh" "$SCRATCH/lock-forking.sock"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json exited $DEPTRACE_RC"
python3 - "$SCRATCH/trace.out" "lock.sh > curl -> $SCRATCH/lock-forking.sock deploy-lock" <<'EOF2' ||
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
mine = [e for e in events if e.get("comm") == "deploy-lock" and e["type"] in ("connect", "dns")]
assert len(mine) == 4, mine
for e in mine:
    assert e["class"] == "transient" and e["via"] == sys.argv[2], e
EOF2
	fail "--json: the deploy lock's events are not transient with their via: $(cat "$SCRATCH/trace.out")"
pass "--json: the Unix-socket service's events carry class transient and the via path"

# --- an unrelated client at the same time -----------------------------------------
# A relay on a Unix socket: any GET is fetched from the forge after PAUSE
# seconds (so that the unrelated client's requests overlap the deploy's).
ln -s "$repo/tests/clients/relay" "$SCRATCH/urelay"
fakenet_start urelay "$SCRATCH/urelay" unix "$SCRATCH/urelay.sock" $forge thread 0.6
fakenet_wait_socket "$SCRATCH/urelay.sock" || fail "the relay does not start"
cat > "$SCRATCH/unrelated" <<EOF2
#!/bin/bash
for i in 1 2 3; do
	curl -fsS -o /dev/null --unix-socket "$SCRATCH/urelay.sock" http://relay/migrate/releases/latest &
done
wait
touch "$SCRATCH/unrelated.done"
EOF2
cat > "$SCRATCH/ask.sh" <<EOF2
#!/bin/bash
until [[ -e "$SCRATCH/go" ]]; do sleep 0.05; done
curl -fsS -o /dev/null --unix-socket "$SCRATCH/urelay.sock" http://relay/app/releases/2.4.1/SHA256SUMS
EOF2
chmod +x "$SCRATCH/unrelated" "$SCRATCH/ask.sh"
run_beside_unrelated "$SCRATCH/ask.sh"
via="transient (ask.sh > curl -> $SCRATCH/urelay.sock urelay)"
expect_tails -F urelay TCP $forge_ip:80 "$via"
[[ $(event_lines | grep -c ' urelay ') == 4 ]] ||
	fail "the unrelated client's 3 requests through the relay were attributed (4 lines are the deploy's: its lookups, the resolver and the forge): $(event_lines | grep ' urelay ')"
pass "a threaded Unix-socket relay serving 3 unrelated requests at the same time: only the deploy's call appears"

# --- the example deploy with its lock: the three classes ----------------------------
fakenet_start internal-api "$repo/examples/services/internal-api" 127.0.0.20 8080 $forge
fakenet_wait_http http://api.internal.example:8080/v1/deployments || fail "the internal API does not start"
rm -f "$SCRATCH/trace.out"
DEPLOY_LOCK_SOCKET=$SCRATCH/lock-forking.sock run_deptrace -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- deploy.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
expect_tails -F deploy-lock TCP $forge_ip:80 "transient (deploy.sh > curl -> $SCRATCH/lock-forking.sock deploy-lock)"
expect_tails -F internal-api TCP $forge_ip:80 "transient (deploy.sh > curl -> api.internal.example:8080 internal-api)"
[[ $(tails curl TCP $forge_ip:80 | grep -c '^direct (deploy\.sh > curl; argv names forge\.example\.com)$') == 2 &&
	$(tails curl TCP $forge_ip:80 | grep -c "^hidden (deploy\\.sh > migrate\\( > migrate\\)\\? > curl; not in migrate's argv)\$") == 1 ]] ||
	fail "the example deploy's own and migrate's curls: $(tails curl TCP $forge_ip:80)"
pass "the example deploy with its lock: direct, hidden, and transient through the API and the Unix-socket lock"

# --- --no-follow ----------------------------------------------------------------------
rm -f "$SCRATCH/trace.out"
run_deptrace --no-follow -- "$SCRATCH/lock.sh" "$SCRATCH/lock-forking.sock"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --no-follow exited $DEPTRACE_RC"
[[ $(event_lines | grep -c .) == 0 ]] || fail "--no-follow still followed: $(event_lines)"
grep -q '^TIME(s) ' "$SCRATCH/trace.out" || fail "--no-follow: no trace at all"
pass "--no-follow: the deploy lock is not followed (lock.sh itself makes no connection)"
