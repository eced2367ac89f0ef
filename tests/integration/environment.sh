#!/bin/bash
# The kernel environment is deptrace's job: it mounts tracefs itself, says
# which headers it compiles against, and explains when it cannot go on.
source "$(dirname "$0")/lib.sh"

# tracefs/debugfs missing, as on a fresh machine: deptrace mounts them.
umount -l /sys/kernel/debug/tracing 2>/dev/null || true
umount -l /sys/kernel/debug 2>/dev/null || true
[[ ! -e /sys/kernel/debug/tracing/events ]] || fail "could not unmount tracefs for the test"
run_deptrace -- "$DT_CONNECT" -l 127.0.0.1 0
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace without tracefs mounted exited $DEPTRACE_RC"
grep -q '^deptrace: mounted debugfs on /sys/kernel/debug' "$SCRATCH/trace.err" ||
	fail "no notice about mounting debugfs"
expect_client_lines "$SCRATCH/client.out"
pass "deptrace mounts tracefs itself, says so, and traces"

# A forced backend the kernel cannot run is refused with the reason.
if ! grep -q '^kprobes *yes' <("$DEPTRACE" --check); then
	run_deptrace --backend kprobe -- true
	[[ $DEPTRACE_RC == 5 ]] || fail "--backend kprobe without kprobes exited $DEPTRACE_RC"
	grep -q 'cannot trace on this kernel: kernel .* has no kprobes' "$SCRATCH/trace.err" ||
		fail "no reason given: $(cat "$SCRATCH/trace.err")"
	pass "--backend kprobe on a kernel without kprobes: exit 5 with the reason"
fi

# Headers: a wrong BCC_KERNEL_SOURCE, and none at all (hidden in a private
# mount namespace, so the machine's own trees are untouched).
BCC_KERNEL_SOURCE=$SCRATCH/nowhere run_deptrace -- true
[[ $DEPTRACE_RC == 6 ]] || fail "bad BCC_KERNEL_SOURCE exited $DEPTRACE_RC"
grep -q "BCC_KERNEL_SOURCE=$SCRATCH/nowhere holds no kernel headers" "$SCRATCH/trace.err" ||
	fail "bad BCC_KERNEL_SOURCE: $(cat "$SCRATCH/trace.err")"
pass "a BCC_KERNEL_SOURCE without headers: exit 6, named"

rc=0
unshare --mount bash -c '
	for d in /usr/src /var/cache/deptrace "/lib/modules/$(uname -r)"; do
		[[ -d $d ]] && mount -t tmpfs none "$d"
	done
	exec "$1" -- true' bash "$DEPTRACE" > "$SCRATCH/out" 2> "$SCRATCH/err" || rc=$?
[[ $rc == 6 ]] || fail "no headers anywhere: exit $rc"
grep -q '^deptrace: no kernel headers for .*: run scripts/setup-deps' "$SCRATCH/err" ||
	fail "no headers: $(cat "$SCRATCH/err")"
pass "no kernel headers anywhere: exit 6 with what to do"

# --check says where each fact comes from; the syscall tracepoints it
# counts are the ones a running deptrace has attached (bpftool perf).
"$DEPTRACE" --check > "$SCRATCH/check.out" || true
grep -qE '^TCP outcomes +sock:inet_sock_set_state, sock:inet_sk_error_report, tcp:tcp_destroy_sock \(raw\)$' \
	"$SCRATCH/check.out" || fail "--check does not say where TCP outcomes come from: $(cat "$SCRATCH/check.out")"
hooks=$(sed -n 's/^syscall hooks *\([0-9]*\) .*/\1/p' "$SCRATCH/check.out")
listed=$(grep -E '^(processes|TCP outcomes|connect\(2\)|DNS payloads) ' "$SCRATCH/check.out" |
	grep -o 'syscalls:sys_[a-z_]*' | sort -u | wc -l)
[[ -n $hooks && $hooks == "$listed" ]] || fail "--check counts $hooks syscall hooks but lists $listed"
sleep 60 &
idle=$!
start_deptrace -p "$idle"
attached=$(bpftool perf show 2>/dev/null |
	awk -v pid="$DEPTRACE_BG" '$1 == "pid" && $2 == pid && $0 ~ / tracepoint +sys_(enter|exit)_/' | wc -l)
kill "$idle"
wait_deptrace
[[ $attached == "$hooks" ]] || fail "deptrace attached $attached syscall tracepoints, --check says $hooks"
pass "--check names each fact's probes; its $hooks syscall hooks are what deptrace attaches"
