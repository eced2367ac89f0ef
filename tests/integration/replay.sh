#!/bin/bash
# Saved runs, from audit to policy and back: in a network namespace with
# its own DNS server (examples/lib/fakenet.sh), the example deploy is
# audited twice with --json; `deptrace policy` writes the allow list of
# both runs, and `deptrace replay` with it finds no violation; a replay
# prints what the run printed; the deploy changed to reach a new name is
# flagged by replay (not on the allow list), by `deptrace diff` (added,
# exit 9) and by a live run with --baseline (NEW, exit 7 with
# --fail-on-violation). The verbs need no root: they run as nobody.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
for tool in curl python3 setpriv /usr/sbin/dnsmasq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/setup-deps installs it)"
done

# the verbs run outside the namespace: they read files, nothing else
verbs=$DEPTRACE
fakenet_test_up forge.example.com=127.0.0.10 api.internal.example=127.0.0.20 \
	mirror.example.com=127.0.0.30
fakenet_start forge "$repo/examples/services/forge" 127.0.0.10 80
fakenet_wait_http http://forge.example.com/migrate/releases/latest || fail "the fake forge does not start"
fakenet_start internal-api "$repo/examples/services/internal-api" 127.0.0.20 8080 http://forge.example.com
api_pid=$FAKENET_PID
fakenet_wait_http http://api.internal.example:8080/v1/deployments || fail "the internal API does not start"

# The verbs read files and write text: no privilege needed.
as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
chmod 755 "$SCRATCH"

# --- two audited runs, saved ----------------------------------------------------
for run in 1 2; do
	run_deptrace --json -p "$api_pid" -- "$repo/examples/deploy.sh"
	[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json -- deploy.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
	mv "$SCRATCH/trace.out" "$SCRATCH/run$run.jsonl"
done
chmod 644 "$SCRATCH"/run*.jsonl
python3 - "$SCRATCH/run1.jsonl" <<'PY' || fail "run1.jsonl's run record is incomplete"
import json, sys
first = json.loads(open(sys.argv[1]).readline())
assert first["type"] == "run" and first["schema"] == 1, first
assert first["command"].startswith("-p ") and first["command"].endswith("examples/deploy.sh"), first
assert first["host"] and first["kernel"] and first["deptrace"] and first["start"].endswith("Z"), first
PY
pass "a saved run starts with its run record (schema 1, host, kernel, command, start)"

# --- replay prints what the run printed ------------------------------------------
as_nobody "$verbs" replay "$SCRATCH/run1.jsonl" -j > "$SCRATCH/replay1.jsonl" 2> "$SCRATCH/replay.err" ||
	fail "deptrace replay -j exited $?: $(cat "$SCRATCH/replay.err")"
cmp -s "$SCRATCH/run1.jsonl" "$SCRATCH/replay1.jsonl" ||
	fail "the JSON replay differs from the run: $(diff "$SCRATCH/run1.jsonl" "$SCRATCH/replay1.jsonl" | head -5)"
as_nobody "$verbs" replay "$SCRATCH/run1.jsonl" > "$SCRATCH/replay1.txt" 2> "$SCRATCH/replay.err" ||
	fail "deptrace replay exited $?"
expect_json_matches_text "$SCRATCH/replay1.txt" "$SCRATCH/run1.jsonl" "the text replay and the saved run"
grep -q "^deptrace: [0-9]* connections and [0-9]* lookups replayed from " "$SCRATCH/replay.err" ||
	fail "no replay count: $(cat "$SCRATCH/replay.err")"
pass "replay, as nobody: the JSON byte for byte, the text with the run's lines and map"

# --- the allow list of both runs, fed back: no violation --------------------------
as_nobody "$verbs" policy "$SCRATCH/run1.jsonl" "$SCRATCH/run2.jsonl" > "$SCRATCH/deploy.policy" \
	2> "$SCRATCH/policy.err" || fail "deptrace policy exited $?: $(cat "$SCRATCH/policy.err")"
for rule in forge.example.com:80 api.internal.example:8080 "$FAKENET_DNS:53"; do
	grep -qx "allow $rule" "$SCRATCH/deploy.policy" ||
		fail "no 'allow $rule' in the policy: $(cat "$SCRATCH/deploy.policy")"
done
grep -q "^allow 127.0.0.10" "$SCRATCH/deploy.policy" &&
	fail "the forge is allowed by address, though it always had a name"
comment=$(grep -B1 -x "allow forge.example.com:80" "$SCRATCH/deploy.policy" | head -1)
for chain in "deploy.sh > curl x4" "deploy.sh > migrate > curl x2" "internal-api x2"; do
	[[ $comment == "# "*"$chain"*" (8 connections in 2 runs)" ]] ||
		fail "the forge's rule's comment does not say '$chain': $comment"
done
for run in 1 2; do
	as_nobody "$verbs" replay "$SCRATCH/run$run.jsonl" --policy "$SCRATCH/deploy.policy" \
		--fail-on-violation > "$SCRATCH/judged.txt" 2> "$SCRATCH/replay.err" ||
		fail "replay of run $run with its own allow list exited $?: $(grep VIOLATION "$SCRATCH/judged.txt")"
	grep -qx "deptrace: 0 violations (0 direct, 0 hidden, 0 transient)" "$SCRATCH/replay.err" ||
		fail "run $run: $(cat "$SCRATCH/replay.err")"
done
pass "deptrace policy: names with ports, the DNS server by address, chains in comments; 0 violations replayed"

# --- the deploy changed to reach a new name -----------------------------------------
cat > "$SCRATCH/newdeploy.sh" <<EOF
#!/bin/bash
"$repo/examples/deploy.sh" || exit
curl -sS -m 5 -o /dev/null http://mirror.example.com/ || true
EOF
chmod 755 "$SCRATCH/newdeploy.sh"
run_deptrace --json -p "$api_pid" -- "$SCRATCH/newdeploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- newdeploy.sh exited $DEPTRACE_RC"
mv "$SCRATCH/trace.out" "$SCRATCH/run3.jsonl"
chmod 644 "$SCRATCH/run3.jsonl"

rc=0
as_nobody "$verbs" replay "$SCRATCH/run3.jsonl" --policy "$SCRATCH/deploy.policy" \
	--fail-on-violation > "$SCRATCH/judged.txt" 2> "$SCRATCH/replay.err" || rc=$?
[[ $rc == 7 ]] || fail "replay of the changed deploy exited $rc, not 7"
grep -q " 127.0.0.30:80 (mirror.example.com)  VIOLATION direct (newdeploy.sh > curl; argv names mirror.example.com): not on the allow list$" \
	"$SCRATCH/judged.txt" || fail "no violation for mirror.example.com: $(grep VIOLATION "$SCRATCH/judged.txt")"
grep -qx "deptrace: 1 violation (1 direct, 0 hidden, 0 transient)" "$SCRATCH/replay.err" ||
	fail "not exactly the new connection flagged: $(cat "$SCRATCH/replay.err")"
pass "replay with the allow list flags the new name, and only it (exit 7)"

rc=0
as_nobody "$verbs" diff "$SCRATCH/run1.jsonl" "$SCRATCH/run3.jsonl" > "$SCRATCH/diff.out" \
	2> "$SCRATCH/diff.err" || rc=$?
[[ $rc == 9 ]] || fail "deptrace diff exited $rc, not 9: $(cat "$SCRATCH/diff.out" "$SCRATCH/diff.err")"
grep -qx "+ mirror.example.com:80 TCP (/usr/bin/curl)  [A-Z]* x1  newdeploy.sh > curl" "$SCRATCH/diff.out" ||
	fail "diff does not show mirror.example.com added: $(cat "$SCRATCH/diff.out")"
# newdeploy.sh wraps deploy.sh: what deploy.sh's programs reached because
# their own arguments named it (direct) is now below a command whose
# arguments do not (README, Classes): those may change class to hidden,
# and nothing else may change or go
grep -q "^-" "$SCRATCH/diff.out" && fail "diff shows a dependency removed: $(cat "$SCRATCH/diff.out")"
grep "^~" "$SCRATCH/diff.out" | grep -qv "  class [a-z, ]* -> hidden\$" &&
	fail "diff shows more than the new name and the wrapper's class changes: $(cat "$SCRATCH/diff.out")"
grep -q "^~ forge.example.com:80 TCP (/usr/bin/curl)  class direct, hidden -> hidden\$" "$SCRATCH/diff.out" ||
	fail "diff does not show the forge's direct use turned hidden by the wrapper: $(cat "$SCRATCH/diff.out")"
rc=0
as_nobody "$verbs" diff "$SCRATCH/run1.jsonl" "$SCRATCH/run2.jsonl" > "$SCRATCH/diff.out" 2>&1 || rc=$?
[[ $rc == 0 ]] || fail "two runs of one deploy differ (exit $rc): $(cat "$SCRATCH/diff.out")"
grep -qx "deptrace: 0 added, 0 removed, 0 changed" "$SCRATCH/diff.out" || fail "$(cat "$SCRATCH/diff.out")"
pass "deptrace diff: the new name added (exit 9); two runs of the same deploy the same (exit 0)"

run_deptrace --baseline "$SCRATCH/run1.jsonl" --fail-on-violation -p "$api_pid" -- "$SCRATCH/newdeploy.sh"
[[ $DEPTRACE_RC == 7 ]] || fail "deptrace --baseline --fail-on-violation exited $DEPTRACE_RC, not 7"
# the mirror's connection, and its lookups (A and AAAA), and nothing else
[[ $(event_lines | awk '/  NEW( |$)/ { n++; if (!/mirror\.example\.com/) other++ } END { print n + 0, other + 0 }') == "3 0" ]] ||
	fail "not exactly the mirror's lines marked NEW: $(event_lines | grep NEW)"
event_lines | grep -q " 127.0.0.30:80 (mirror.example.com)  NEW  direct (newdeploy.sh > curl; argv names mirror.example.com)$" || fail "the mirror's connection is not marked NEW"
grep -q "^deptrace: 3 attempts at dependencies the baseline run did not have (" "$SCRATCH/trace.err" ||
	fail "no count of new dependencies: $(cat "$SCRATCH/trace.err")"
pass "--baseline on a live run marks the new name NEW, and fails with --fail-on-violation"

# --- bad input -----------------------------------------------------------------------
rc=0
as_nobody "$verbs" replay "$SCRATCH/deploy.policy" > /dev/null 2> "$SCRATCH/bad.err" || rc=$?
[[ $rc == 2 && $(wc -l < "$SCRATCH/bad.err") == 1 ]] || fail "replay of a policy file: exit $rc, $(cat "$SCRATCH/bad.err")"
grep -q "deploy.policy:1: not JSON" "$SCRATCH/bad.err" || fail "$(cat "$SCRATCH/bad.err")"
pass "a file that is not a saved run: one line, exit 2"
