#!/bin/bash
# bench/program-cost.sh: where deptrace's kernel-side time goes, program by
# program, from the kernel's own accounting (kernel.bpf_stats_enabled=1:
# run_cnt and run_time_ns of every BPF program), where perf cannot sample.
#
#   bench/program-cost.sh DEPTRACE CONNECT_STORM SYSCALL_LOOP [N]
#
# Three workloads, each under a fresh deptrace: an untraced TCP connect
# storm and the getppid+read loop beside a deptrace tracing an idle
# process (-p), and a traced TCP and UDP storm (run mode). Prints a
# Markdown table per workload: each of deptrace's programs that ran, how
# often, its mean and total time. Run it holding the BPF tests' lock (as
# scripts/bench does); bpf_stats is switched back off at the end if it was
# off. Needs root, bpftool and python3.
set -euo pipefail
DEPTRACE=${1:?deptrace binary} STORM=${2:?connect-storm binary} LOOP=${3:?syscall-loop binary}
N=${4:-20000}
WORK=$(mktemp -d /tmp/deptrace-cost.XXXXXX)
was=$(sysctl -n kernel.bpf_stats_enabled)
IDLE='' TRACER=''
cleanup() {
	[[ -n $TRACER ]] && kill "$TRACER" 2>/dev/null
	[[ -n $IDLE ]] && kill "$IDLE" 2>/dev/null
	wait 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$was"
	rm -rf "$WORK"
}
trap cleanup EXIT
sysctl -qw kernel.bpf_stats_enabled=1

# The programs of the deptrace whose pid is $1 (their ids from its file
# descriptors), as bpftool's JSON, into $2.
snapshot() {
	local ids
	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u)
	{ echo '['; local first=1 id
	  for id in $ids; do
		((first)) || echo ','
		first=0
		bpftool -j prog show id "$id"
	  done; echo ']'; } > "$2"
}

# Markdown: what ran between snapshots $2 and $3, for $4 operations.
table() {
	python3 - "$@" <<'EOF'
import json, sys
title, before, after, ops = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
b = {p["id"]: p for p in json.load(open(before))}
rows = []
for p in json.load(open(after)):
    o = b.get(p["id"], {})
    cnt = p.get("run_cnt", 0) - o.get("run_cnt", 0)
    ns = p.get("run_time_ns", 0) - o.get("run_time_ns", 0)
    if cnt:
        rows.append((ns, cnt, p["name"], p["type"]))
rows.sort(reverse=True)
total = sum(r[0] for r in rows)
print(f"\n### {title}\n")
print("| program | type | runs | runs per op | mean ns | total ms | ns per op |")
print("|---|---|---:|---:|---:|---:|---:|")
for ns, cnt, name, typ in rows:
    print(f"| {name} | {typ} | {cnt} | {cnt/ops:.2f} | {ns/cnt:.0f} | {ns/1e6:.1f} | {ns/ops:.0f} |")
print(f"| **all** | | | | | {total/1e6:.1f} | {total/ops:.0f} |")
EOF
}

wait_attached() {
	for ((i = 0; i < 600; i++)); do
		grep -q '^TIME' "$WORK/trace.out" 2>/dev/null && return 0
		kill -0 "$TRACER" 2>/dev/null || { cat "$WORK/err" >&2; exit 1; }
		sleep 0.1
	done
	echo "program-cost: deptrace did not attach" >&2
	exit 1
}

# Beside: deptrace traces an idle process; the work is untraced.
sleep 600 &
IDLE=$!
"$DEPTRACE" -p "$IDLE" -o "$WORK/trace.out" 2>"$WORK/err" &
TRACER=$!
wait_attached
snapshot "$TRACER" "$WORK/a.json"
"$STORM" -4 -n "$N" >/dev/null
snapshot "$TRACER" "$WORK/b.json"
"$LOOP" -n 2000000 >/dev/null
snapshot "$TRACER" "$WORK/c.json"
kill "$IDLE"
wait "$TRACER" || true
IDLE='' TRACER=''
table "untraced TCP connect storm beside deptrace -p (per connect)" "$WORK/a.json" "$WORK/b.json" "$N"
table "untraced getppid+read loop beside deptrace -p (per iteration)" "$WORK/b.json" "$WORK/c.json" 2000000

# Traced: the storm is deptrace's command; the snapshots are taken by it.
for variant in "-4" "-4 -u"; do
	rm -f "$WORK/trace.out"
	cat > "$WORK/work.sh" <<EOF
until [[ -s $WORK/go ]]; do sleep 0.05; done
"$STORM" $variant -n $N >/dev/null
touch "$WORK/done"
until [[ -e $WORK/end ]]; do sleep 0.05; done
EOF
	rm -f "$WORK/go" "$WORK/done" "$WORK/end"
	"$DEPTRACE" -o "$WORK/trace.out" -- bash "$WORK/work.sh" 2>"$WORK/err" &
	TRACER=$!
	wait_attached
	snapshot "$TRACER" "$WORK/a.json"
	echo go > "$WORK/go"
	until [[ -e $WORK/done ]]; do sleep 0.05; done
	snapshot "$TRACER" "$WORK/b.json"
	touch "$WORK/end"
	wait "$TRACER" || true
	TRACER=''
	table "traced connect-storm $variant (per connect)" "$WORK/a.json" "$WORK/b.json" "$N"
done
