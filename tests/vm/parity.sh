#!/bin/bash
# parity.sh: the kprobe and tracepoint backends print the same lines for the
# same work. Needs a kernel with kprobes (scripts/test-vm runs it in a VM on
# Debian's kernels); exits 77 elsewhere.
#
# One workload, run once under each backend, in a network namespace with
# its own DNS server (examples/lib/fakenet.sh) and under --enforce with one
# address denied: every kind of connect whose destination the kprobe
# backend reads from the kernel's copy of the address (IPv4, IPv6,
# IPv4-mapped, refused, non-blocking, UDP, threads, a forked child), a DNS
# lookup and a connect to the address it answered, and a connect the
# policy refuses (EPERM). Each run is first checked against what the client
# really did, so two backends agreeing on a wrong answer still fail; then
# the two outputs must match line for line once TIME is dropped and PIDs
# are named by order of appearance. Fixed ports below the ephemeral range
# make the destinations the same in both runs.
# shellcheck source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"

grep -q '^kprobes *yes' <("$DEPTRACE" --check 2>/dev/null) || {
	echo "SKIP: this kernel has no kprobes"
	exit 77
}
# Debian's kernels (5.15 and later, with BTF) let the exec program read argv
grep -q '^exec argv *read by the kernel at exec' <("$DEPTRACE" --check 2>/dev/null) ||
	fail "argv is not read at exec on $(uname -r): $("$DEPTRACE" --check 2>&1 | grep '^exec argv')"

forge_ip=127.0.0.10 denied_ip=127.0.0.30
fakenet_test_up forge.example.com=$forge_ip

cat > "$SCRATCH/workload.sh" <<EOF
# Run under deptrace: \$1 the client, \$2 where its lines go.
c=\$1 out=\$2
# The probes deptrace attached, seen by the kernel (before any connect).
bpftool perf show > "\$out.perf" 2>&1
{
	"\$c" -l 127.0.0.1 20101            # IPv4
	"\$c" -l ::1 20102                  # IPv6
	"\$c" -l ::ffff:127.0.0.1 20103     # IPv4-mapped IPv6
	"\$c" 127.0.0.1 20104               # refused
	"\$c" ::1 20105                     # refused, IPv6
	"\$c" -n -l 127.0.0.1 20106         # non-blocking
	"\$c" -n -l ::1 20107               # non-blocking, IPv6
	"\$c" -n 127.0.0.1 20108            # non-blocking, refused
	"\$c" -n ::1 20109                  # non-blocking, refused, IPv6
	"\$c" -u 127.0.0.1 53               # UDP
	"\$c" -u ::1 20110                  # UDP, IPv6
	"\$c" -t 3 -l 127.0.0.1 20111       # three threads
	"\$c" -f -l ::1 20112               # a forked and exec'd child
	getent hosts forge.example.com > /dev/null || echo "getent failed" >&2
	"\$c" -l $forge_ip 20113            # the address the lookup answered
} > "\$out" 2>> "\$out.err"
"\$c" $denied_ip 20114 > "\$out.denied" 2>> "\$out.err"  # refused by the policy
EOF

# The header and the connection lines (those that start with a time; a map
# or summary after them has times of its own), without TIME, PIDs renamed
# p0, p1... by first appearance in time, a WAIT that was timed ("37us",
# "2.0s") as "timed": which lines have an outcome time must match, not the
# times. The class and its evidence are left out (a violation keeps its
# rule): user space draws them the same for both backends, from argv read
# in /proc, which a program that ends within milliseconds may not leave to
# be read in one run and leave in the other (README, Classes). Sorted: a
# line is printed when its outcome is known (a UDP connect's when its
# socket closes), so lines of the same moment come in the order they were
# delivered, which a backend does not decide either.
normalise() {
	head -n 1 "$1" | awk '{ $1 = ""; print }'
	awk '$1 ~ /^[0-9]+\.[0-9]+$/' "$1" | sort -s -n -k1,1 |
		awk '{ if (!sub(/  VIOLATION (direct|hidden|transient)( \(.*\))?: /, "  VIOLATION: "))
				sub(/  (direct|hidden|transient)( \(.*\))?$/, "")
			for (i = 2; i <= 3; i++) { if (!($i in id)) id[$i] = "p" n++; $i = id[$i] }
			for (i = 6; i <= 8; i++) if ($i ~ /^[0-9]+(\.[0-9])?(us|ms|s)$/) $i = "timed"
			$1 = ""; print }' | sort
}

# The number of connection lines with PROTO $1, DESTINATION $2, RESULT $3,
# columns found by the header's names.
count_kind() {
	awk -v proto="$1" -v dest="$2" -v result="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 ~ /^[0-9]+\.[0-9]+$/ && $col["PROTO"] == proto &&
			$col["DESTINATION"] == dest && $col["RESULT"] == result { n++ }
		END { print n + 0 }' "$SCRATCH/trace.out"
}

for backend in kprobe tracepoint; do
	client=$SCRATCH/$backend.client
	run_deptrace --backend "$backend" --enforce --deny "$denied_ip" -- \
		bash "$SCRATCH/workload.sh" "$DT_CONNECT" "$client"
	[[ $DEPTRACE_RC == 0 ]] || fail "$backend: deptrace exited $DEPTRACE_RC: $(cat "$SCRATCH/trace.err")"
	[[ ! -s $client.err ]] || fail "$backend: the client failed: $(cat "$client.err")"
	expect_client_lines "$client"
	grep -q "dest=$denied_ip:20114 result=EPERM\$" "$client.denied" ||
		fail "$backend: the denied connect was not refused: $(cat "$client.denied")"
	event_lines | grep -E " dt-connect +TCP +EPERM \(blocked\) +\S+ +$denied_ip:20114 " > /dev/null ||
		fail "$backend: no blocked line for the denied connect"
	[[ $(count_lookup_lines - getent NOERROR forge.example.com A "$forge_ip") == 1 ]] ||
		fail "$backend: no single lookup line for forge.example.com"
	# getent resolved it, dt-connect (another process) connects: named by
	# the tree's answer, marked so
	[[ $(event_lines | awk -v dest="$forge_ip:20113" '$4 == "dt-connect" && $5 == "TCP" &&
		$6 == "ok" && $8 == dest && $9 == "(forge.example.com" && $10 == "tree)" &&
		$11 ~ /^(direct|hidden)$/' |
		wc -l) == 1 ]] ||
		fail "$backend: the connect to $forge_ip is not named '(forge.example.com tree)'"
	pass "$backend: the lookup, the connect it named and the policy's EPERM are lines"
	made=$(cat "$client" "$client.denied" | grep -c '^pid=')
	traced=$(event_lines | awk '$4 == "dt-connect" && $5 != "DNS"' | grep -c . || true)
	[[ $traced == "$made" ]] || fail "$backend: $traced dt-connect lines for $made connections"
	pass "$backend: every connection traced once, with the client's destination and result"
	for kind in 'IPv4 127.0.0.1:20101 ok' 'IPv6 [::1]:20102 ok' 'refused 127.0.0.1:20104 ECONNREFUSED' \
		'refused-IPv6 [::1]:20105 ECONNREFUSED' 'non-blocking 127.0.0.1:20106 ok' \
		'non-blocking-IPv6 [::1]:20107 ok'; do
		read -r what dest result <<<"$kind"
		[[ $(count_kind TCP "$dest" "$result") == 1 ]] || fail "$backend: no single $what line (TCP $dest $result)"
	done
	pass "$backend: IPv4, IPv6, refused and non-blocking connects carry their destinations"
	! grep -E ' tracepoint +sys_(enter|exit)_' "$client.perf" ||
		fail "$backend: syscall tracepoints attached by default (bpftool perf)"
	pass "$backend: no syscall tracepoint attached (bpftool perf)"
	probes=$(sed -n 's/.*kprobe *func \([a-z0-9_]*\).*/\1/p' "$client.perf" | sort -u | xargs)
	if [[ $backend == kprobe ]]; then
		for function in tcp_v4_connect tcp_v6_connect inet_dgram_connect; do
			[[ " $probes " == *" $function "* ]] ||
				fail "kprobe backend: no kprobe on $function: $(cat "$client.perf")"
		done
		pass "kprobe backend: kprobes attached on $probes (bpftool perf)"
	else
		[[ -z $probes ]] || fail "tracepoint backend: kprobes attached: $probes"
		pass "tracepoint backend: no kprobe attached (bpftool perf)"
	fi
	normalise "$SCRATCH/trace.out" > "$SCRATCH/$backend.lines"
	cp "$SCRATCH/trace.out" "$SCRATCH/$backend.trace"
done

echo "--- kprobe backend, raw"
cat "$SCRATCH/kprobe.trace"
echo "--- tracepoint backend, raw"
cat "$SCRATCH/tracepoint.trace"
diff -u "$SCRATCH/kprobe.lines" "$SCRATCH/tracepoint.lines" > "$SCRATCH/lines.diff" ||
	fail "the backends differ:$(printf '\n')$(cat "$SCRATCH/lines.diff")"
pass "kprobe and tracepoint print the same header and $(($(wc -l < "$SCRATCH/kprobe.lines") - 1)) connection lines"
