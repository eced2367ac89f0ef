#!/bin/bash
# Bad input: one clear line, the documented exit code, nothing left behind.
source "$(dirname "$0")/lib.sh"

expect_error() {
	local code=$1 pattern=$2
	shift 2
	local rc=0
	"$@" > "$SCRATCH/out" 2> "$SCRATCH/err" || rc=$?
	[[ $rc == "$code" ]] || fail "'$*' exited $rc, expected $code"
	grep -qE -- "$pattern" "$SCRATCH/err" || fail "'$*' said: $(cat "$SCRATCH/err")"
	[[ $(grep -c . "$SCRATCH/err") == 1 ]] || fail "'$*' printed more than one line: $(cat "$SCRATCH/err")"
	pass "$* -> $code"
}

expect_error 4 '^deptrace: no process with PID 999999' "$DEPTRACE" -p 999999
expect_error 127 '^deptrace: cannot run no-such-command-xyz: No such file' \
	"$DEPTRACE" -- no-such-command-xyz
printf 'not a program\n' > "$SCRATCH/notexec"
chmod 644 "$SCRATCH/notexec"
expect_error 126 'Permission denied' "$DEPTRACE" -- "$SCRATCH/notexec"
expect_error 2 "invalid PID 'abc'" "$DEPTRACE" -p abc
expect_error 2 "invalid buffer size '3'" "$DEPTRACE" -b 3 -p 1
expect_error 2 "unknown backend 'ebpf'" "$DEPTRACE" -B ebpf -p 1
expect_error 2 "invalid duration '2e10': at most" "$DEPTRACE" -d 2e10 -p 1
expect_error 2 "unknown option '--frob'" "$DEPTRACE" --frob
expect_error 2 'nothing to trace' "$DEPTRACE"
expect_error 3 'needs root' setpriv --reuid=65534 --regid=65534 --clear-groups "$DEPTRACE" -p $$
expect_error 2 "cannot write $SCRATCH/no/such/dir/out" \
	"$DEPTRACE" -o "$SCRATCH/no/such/dir/out" -- true
[[ ! -e $SCRATCH/no ]] || fail "a failed -o left files behind"
pass "no files left behind"

# --check describes the machine and exits 0 where tracing can run.
"$DEPTRACE" --check > "$SCRATCH/check.out" || fail "--check exited $?"
for fact in kernel bpf tracefs kprobes backend 'kernel headers'; do
	grep -q "^$fact " "$SCRATCH/check.out" || fail "--check does not report $fact"
done
pass "--check reports kernel, bpf, tracefs, kprobes, backend and headers"

# into a file: grep -q stops reading at its match, and a help longer than
# stdio's buffer would then die of SIGPIPE
"$DEPTRACE" --help > "$SCRATCH/help.txt" || fail "--help exited $?"
grep -q '^Usage: deptrace' "$SCRATCH/help.txt" || fail "--help"
pass "--help"
