#!/bin/bash
# bench/run.sh: what tracing connect() costs, deptrace beside strace and
# bpftrace, measured in one run and written as a Markdown report.
#
#   bench/run.sh -d DEPTRACE -s CONNECT_STORM -l SYSCALL_LOOP -f FIRST_LINE [options]
#
# scripts/bench builds the three binaries and calls this; run that instead.
#
# Every configuration runs the same connect storm (bench/connect-storm.c)
# against a loopback listener; configurations are interleaved round-robin,
# the order rotated every round, so that drift of the machine (page cache,
# CPU frequency, a neighbour on the host) lands on all of them alike rather
# than on whichever ran last. Ratios are taken against the untraced run of
# the same round.
#
# Options:
#   -n N        connects per run (default 20000)
#   -r ROUNDS   rounds, each running every configuration once (default 5)
#   -V LIST     storm variants, comma-separated (default
#               tcp4,tcp6,udp4,tcp4-k2,tcp4-t2,syscalls); "syscalls" is
#               bench/syscall-loop (getppid and a 1-byte read, no network),
#               run untraced and beside tracers that trace another process
#   -o FILE     the Markdown report (default bench/results/latest.md)
#   -R FILE     the raw measurements, one run a line (default: FILE with .tsv)
#   -x LABEL=PATH  also run this deptrace build (a candidate change) in the
#               same rounds, traced storms and start-up; repeatable
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
N=20000
ROUNDS=5
VARIANTS=tcp4,tcp6,udp4,tcp4-k2,tcp4-t2,syscalls
OUT=$BENCH_DIR/results/latest.md
RAW_OUT=
DEPTRACE='' STORM='' FIRSTLINE='' LOOP=''
declare -A ALT_BIN=()
ALT_LABELS=()
# Bounds, so that a hung tracer cannot hold the run: seconds per run.
RUN_TIMEOUT=300
ATTACH_TIMEOUT=60

usage() {
	sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
	exit "${1:-2}"
}

while getopts "n:r:V:o:R:d:s:l:f:x:h" opt; do
	case $opt in
		n) N=$OPTARG ;;
		r) ROUNDS=$OPTARG ;;
		V) VARIANTS=$OPTARG ;;
		o) OUT=$OPTARG ;;
		R) RAW_OUT=$OPTARG ;;
		d) DEPTRACE=$OPTARG ;;
		s) STORM=$OPTARG ;;
		l) LOOP=$OPTARG ;;
		f) FIRSTLINE=$OPTARG ;;
		x)
			[[ $OPTARG =~ ^([A-Za-z0-9_.-]+)=(.+)$ && -x ${BASH_REMATCH[2]} ]] || { echo "bench: -x wants LABEL=PATH to a deptrace binary" >&2; usage; }
			ALT_BIN[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
			ALT_LABELS+=("${BASH_REMATCH[1]}")
			;;
		h) usage 0 ;;
		*) usage ;;
	esac
done
[[ -x $DEPTRACE && -x $STORM && -x $LOOP && -x $FIRSTLINE ]] || { echo "bench: -d, -s, -l and -f must name the built binaries" >&2; usage; }
[[ $N =~ ^[1-9][0-9]*$ && $ROUNDS =~ ^[1-9][0-9]*$ ]] || usage
((ROUNDS >= 5)) || echo "bench: warning: fewer than 5 rounds; min and max mean little" >&2
[[ -n $RAW_OUT ]] || RAW_OUT=${OUT%.md}.tsv
for tool in strace bpftrace bpftool timeout /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (scripts/bench installs it)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/deptrace-bench.XXXXXX)
RAW=$WORK/raw.tsv
VICTIM='' TRACER=''
cleanup() {
	# only the processes this script started itself, by their ids
	[[ -n $TRACER ]] && kill "$TRACER" 2>/dev/null
	[[ -n $VICTIM ]] && kill "$VICTIM" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }

sed 's/SEED/cpid/' "$BENCH_DIR/connect.bt" >"$WORK/run.bt"
# shellcheck disable=SC2016 # bpftrace's $1, not the shell's
sed 's/SEED/$1/' "$BENCH_DIR/connect.bt" >"$WORK/pid.bt"

# The program and arguments of a variant, into WORKLOAD and STORM_ARGS
set_storm_args() {
	WORKLOAD=$STORM
	case $1 in
		tcp4) STORM_ARGS=(-4) ;;
		tcp6) STORM_ARGS=(-6) ;;
		udp4) STORM_ARGS=(-4 -u) ;;
		udp6) STORM_ARGS=(-6 -u) ;;
		tcp4-k2) STORM_ARGS=(-4 -k 2) ;;
		tcp4-t2) STORM_ARGS=(-4 -t 2) ;;
		syscalls) WORKLOAD=$LOOP STORM_ARGS=(-n $((N * 100))) ;;
		*) echo "bench: unknown variant $1" >&2; exit 2 ;;
	esac
	[[ $1 == syscalls ]] || STORM_ARGS+=(-n "$N")
}

describe_variant() {
	case $1 in
		tcp4) echo "TCP over IPv4, 1 process" ;;
		tcp6) echo "TCP over IPv6, 1 process" ;;
		udp4) echo "UDP over IPv4, 1 process" ;;
		udp6) echo "UDP over IPv6, 1 process" ;;
		tcp4-k2) echo "TCP over IPv4, 2 processes" ;;
		tcp4-t2) echo "TCP over IPv4, 2 threads" ;;
		syscalls) echo "getppid and a 1-byte read, no network, untraced (beside tracers of another process)" ;;
	esac
}

# A connect line of deptrace's: TIME PID PPID COMM PROTO ... (not the
# header, a lookup line or the dependency map printed at the end)
DEPTRACE_CONNECT_LINE='^[0-9]+\.[0-9]+ +[0-9]+ +[0-9]+ +.* (TCP|UDP|\?) '

rate_of() { sed -n 's/.*rate=\([0-9.]*\).*/\1/p' "$1" | head -n1; }
rss_of() { tail -n1 "$WORK/rss" 2>/dev/null | grep -E '^[0-9]+$' || echo -; }

cpu_of() { sed -n 's/.*cpu_us=\([0-9.]*\).*/\1/p' "$1" | head -n1; }

# variant config round rate printed expected lost rss_kb status (+ the
# storm's CPU per connect, read from storm.out)
record() {
	local rate=${4:-} cpu
	[[ -n $rate ]] || rate=-
	cpu=$(cpu_of "$WORK/storm.out")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$rate" "$5" "$6" "$7" "$8" "$9" "${cpu:--}" >>"$RAW"
	if [[ $9 != 0 ]]; then
		log "  $2 exited $9; its stderr:"
		sed 's/^/    /' "$WORK/err" >&2 || true
	fi
}

# --- one run per configuration ------------------------------------------
# Each leaves the storm's line in storm.out and appends one record.

run_untraced() { # variant round
	local st=0
	/usr/bin/time -f %M -o "$WORK/rss" "$WORKLOAD" "${STORM_ARGS[@]}" >"$WORK/storm.out" 2>"$WORK/err" || st=$?
	record "$1" untraced "$2" "$(rate_of "$WORK/storm.out")" - "$N" - "$(rss_of)" "$st"
}

# "tracepoint" is the build under test (-d), "tracepoint+LABEL" a -x build
deptrace_bin() { if [[ $1 == *+* ]]; then echo "${ALT_BIN[${1#*+}]}"; else echo "$DEPTRACE"; fi; }

run_deptrace() { # variant round backend[+label]
	local st=0 printed lost
	/usr/bin/time -f %M -o "$WORK/rss" timeout -k 10 "$RUN_TIMEOUT" \
		"$(deptrace_bin "$3")" -B "${3%%+*}" -o "$WORK/trace.out" -- "$WORKLOAD" "${STORM_ARGS[@]}" \
		>"$WORK/storm.out" 2>"$WORK/err" || st=$?
	printed=$(grep -cE "$DEPTRACE_CONNECT_LINE" "$WORK/trace.out" || true)
	lost=$(sed -n 's/^deptrace: .* traced, \([0-9]*\) events lost$/\1/p' "$WORK/err")
	record "$1" "deptrace-$3" "$2" "$(rate_of "$WORK/storm.out")" "$printed" "$N" "${lost:-?}" "$(rss_of)" "$st"
}

run_strace() { # variant round
	local st=0 printed
	/usr/bin/time -f %M -o "$WORK/rss" timeout -k 10 "$RUN_TIMEOUT" \
		strace -f -e trace=connect -o "$WORK/trace.out" "$WORKLOAD" "${STORM_ARGS[@]}" \
		>"$WORK/storm.out" 2>"$WORK/err" || st=$?
	# "<... connect resumed>" halves of an interrupted call hold no "connect("
	printed=$(grep -c 'connect(' "$WORK/trace.out" || true)
	record "$1" strace "$2" "$(rate_of "$WORK/storm.out")" "$printed" "$N" - "$(rss_of)" "$st"
}

lost_by_bpftrace() {
	cat "$@" 2>/dev/null | sed -n 's/.*Lost \([0-9]*\) events.*/\1/p' | awk '{ s += $1 } END { print s + 0 }'
}

run_bpftrace() { # variant round
	local st=0 printed
	/usr/bin/time -f %M -o "$WORK/rss" timeout -k 10 "$RUN_TIMEOUT" \
		bpftrace -B line -o "$WORK/trace.out" -c "$WORKLOAD ${STORM_ARGS[*]}" "$WORK/run.bt" \
		>"$WORK/storm.out" 2>"$WORK/err" || st=$?
	printed=$(grep -c '^connect ' "$WORK/trace.out" || true)
	record "$1" bpftrace "$2" "$(rate_of "$WORK/storm.out")" "$printed" "$N" \
		"$(lost_by_bpftrace "$WORK/trace.out" "$WORK/err")" "$(rss_of)" "$st"
}

wait_until() { # seconds command...: true once command succeeds
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.05
	done
}

deptrace_attached() { grep -q '^TIME' "$WORK/trace.out" 2>/dev/null; }
# bpftrace prints "Attaching" before it attaches (and runs BEGIN before the
# rest), so attachment is read from the kernel: its four tracepoints.
bpftrace_attached() { (($(bpftool perf show 2>/dev/null | grep -c "^pid $1 .*tracepoint") >= 4)); }

# Ends a background tracer: the signal (if any), then TERM and KILL if it
# is still there after a while. A background job of a script starts with
# SIGINT ignored, so a SIGINT that lands before the tracer has set its own
# handler would otherwise leave the run waiting for ever.
stop_tracer() { # pid [signal]; returns the tracer's status
	local pid=$1 sig=${2:-} st=0 next
	[[ -n $sig ]] && kill "-$sig" "$pid" 2>/dev/null
	for next in TERM KILL; do
		wait_until 20 exited "$pid" && break
		log "  PID $pid still running: sending $next"
		kill "-$next" "$pid" 2>/dev/null
	done
	wait "$pid" || st=$?
	TRACER=''
	return "$st"
}

# gone or a zombie (a child of ours not yet waited for still answers kill -0)
exited() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[[ -z $state || $state == Z ]]
}

# The tracer follows an idle process (sleep) while the storm, which it does
# not trace, runs beside it: the cost of tracing to unrelated work.
run_unrelated() { # variant round tracer
	local st=0 tracer_st=0 tracer printed lost=-
	sleep 3600 &
	VICTIM=$!
	: >"$WORK/trace.out"
	if [[ $3 == deptrace ]]; then
		"$DEPTRACE" -p "$VICTIM" -o "$WORK/trace.out" 2>"$WORK/tracer.err" &
		tracer=$!
		TRACER=$tracer
		wait_until "$ATTACH_TIMEOUT" deptrace_attached || log "  deptrace never attached"
	else
		bpftrace -B line -o "$WORK/trace.out" "$WORK/pid.bt" "$VICTIM" >/dev/null 2>"$WORK/tracer.err" &
		tracer=$!
		TRACER=$tracer
		wait_until "$ATTACH_TIMEOUT" bpftrace_attached "$tracer" || log "  bpftrace never attached"
	fi
	timeout -k 10 "$RUN_TIMEOUT" "$WORKLOAD" "${STORM_ARGS[@]}" >"$WORK/storm.out" 2>"$WORK/err" || st=$?
	# deptrace ends by itself once its target is gone; bpftrace needs a signal
	kill "$VICTIM"
	wait "$VICTIM" 2>/dev/null || true
	VICTIM=
	if [[ $3 == bpftrace ]]; then
		stop_tracer "$tracer" INT || tracer_st=$?
	else
		stop_tracer "$tracer" || tracer_st=$?
	fi
	if [[ $3 == deptrace ]]; then
		printed=$(grep -cE "$DEPTRACE_CONNECT_LINE" "$WORK/trace.out" || true)
		lost=$(sed -n 's/^deptrace: .* traced, \([0-9]*\) events lost$/\1/p' "$WORK/tracer.err")
	else
		printed=$(grep -c '^connect ' "$WORK/trace.out" || true)
	fi
	((st != 0)) || st=$tracer_st
	cat "$WORK/tracer.err" >>"$WORK/err"
	record "$1" "$3-unrelated" "$2" "$(rate_of "$WORK/storm.out")" "$printed" 0 "${lost:-?}" - "$st"
}

run_config() { # variant round config
	set_storm_args "$1"
	# the loop makes no connection: only what tracing others costs it
	[[ $1 == syscalls && $3 != untraced && $3 != *-unrelated ]] && return
	case $3 in
		untraced) run_untraced "$1" "$2" ;;
		*-unrelated) run_unrelated "$1" "$2" "${3%-unrelated}" ;;
		deptrace-*) run_deptrace "$1" "$2" "${3#deptrace-}" ;;
		strace) run_strace "$1" "$2" ;;
		bpftrace) run_bpftrace "$1" "$2" ;;
	esac
}

# Start-up: from fork of the tracer until its first event line is in its
# output file, tracing a command that connects once at once. Both tracers
# hold the command until attached, so this is launch-to-ready plus one connect.
run_startup() { # round tracer
	local line which=${2#deptrace-}
	if [[ $2 == deptrace-* ]]; then
		line=$("$FIRSTLINE" -t "$ATTACH_TIMEOUT" -r '^TIME' -e "$DEPTRACE_CONNECT_LINE" "$WORK/trace.out" -- \
			"$(deptrace_bin "$which")" -B "${which%%+*}" -o "$WORK/trace.out" -- "$STORM" -n 1 2>"$WORK/err")
	else
		line=$("$FIRSTLINE" -t "$ATTACH_TIMEOUT" -r '^Attaching' -e '^connect ' "$WORK/trace.out" -- \
			bpftrace -B line -o "$WORK/trace.out" -c "$STORM -n 1" "$WORK/run.bt" 2>"$WORK/err")
	fi
	printf 'startup\t%s\t%s\t%s\n' "$2" "$1" "$line" >>"$WORK/startup.tsv"
}

# Exit: from the end of the traced command (it writes the time as its last
# act) to the end of the tracer, which detaches everything first.
printf '#!/bin/bash\necho "$EPOCHREALTIME" > "$1"\n' >"$WORK/end.sh"
chmod +x "$WORK/end.sh"
run_exit() { # round tracer
	local which=${2#deptrace-} ended=- done
	rm -f "$WORK/end"
	if [[ $2 == deptrace-* ]]; then
		timeout -k 10 "$RUN_TIMEOUT" "$(deptrace_bin "$which")" -B "${which%%+*}" -o "$WORK/trace.out" \
			-- /bin/bash "$WORK/end.sh" "$WORK/end" 2>"$WORK/err" || true
	else
		# bpftrace -c runs ELF files only
		timeout -k 10 "$RUN_TIMEOUT" bpftrace -B line -o "$WORK/trace.out" \
			-c "/bin/bash $WORK/end.sh $WORK/end" "$WORK/run.bt" >/dev/null 2>"$WORK/err" || true
	fi
	done=$EPOCHREALTIME
	[[ -s $WORK/end ]] && ended=$(cat "$WORK/end")
	printf 'exit\t%s\t%s\t%s\n' "$2" "$1" \
		"$(awk -v a="$ended" -v b="$done" 'BEGIN { if (a == "-") print "-"; else printf "%.4f", b - a }')" >>"$WORK/exit.tsv"
}

# --- what this kernel offers ---------------------------------------------
BACKENDS=()
for backend in kprobe tracepoint; do
	if "$DEPTRACE" -B "$backend" -o /dev/null -- true 2>/dev/null; then
		BACKENDS+=("$backend")
	fi
done
((${#BACKENDS[@]})) || { echo "bench: deptrace attaches with no backend here ($DEPTRACE --check says why)" >&2; exit 1; }
log "deptrace backends that attach here: ${BACKENDS[*]}"

CONFIGS=(untraced)
for backend in "${BACKENDS[@]}"; do
	CONFIGS+=("deptrace-$backend")
	for alt in "${ALT_LABELS[@]}"; do CONFIGS+=("deptrace-$backend+$alt"); done
done
CONFIGS+=(strace bpftrace deptrace-unrelated bpftrace-unrelated)

# A first run compiles, fills caches and builds deptrace's header tree:
# none of it is what a second run pays, so none of it is measured.
log "warm-up"
IFS=, read -r -a variant_list <<<"$VARIANTS"
for config in "${CONFIGS[@]}"; do
	run_config "${variant_list[0]}" 0 "$config"
done
: >"$RAW"

# Other work on the machine skews every number here, and another tracer
# on syscall tracepoints makes even the untraced runs pay for tracing:
# both are sampled between runs, when none of this script's tracers runs,
# and reported beside the results.
: >"$WORK/foreign"
: >"$WORK/busy"
cpu_jiffies() { # busy total, from /proc/stat's first line
	local _cpu user nice system idle iowait irq softirq steal _rest
	read -r _cpu user nice system idle iowait irq softirq steal _rest </proc/stat
	echo "$((user + nice + system + irq + softirq + steal)) $((user + nice + system + idle + iowait + irq + softirq + steal))"
}
sample_disturbance() {
	local b1 t1 b2 t2
	bpftool perf show 2>/dev/null | awk '/^pid / { print $2 }' | sort -u | while read -r pid; do
		echo "$pid $(tr -d '\n' </proc/"$pid"/comm 2>/dev/null || echo '?')"
	done >>"$WORK/foreign"
	# nothing of ours runs now: whatever keeps the CPUs busy is someone else
	read -r b1 t1 < <(cpu_jiffies)
	sleep 0.5
	read -r b2 t2 < <(cpu_jiffies)
	echo $((100 * (b2 - b1) / (t2 > t1 ? t2 - t1 : 1))) >>"$WORK/busy"
}

for variant in "${variant_list[@]}"; do
	for ((round = 1; round <= ROUNDS; round++)); do
		log "$variant: round $round of $ROUNDS"
		sample_disturbance
		for ((i = 0; i < ${#CONFIGS[@]}; i++)); do
			config=${CONFIGS[(i + round - 1) % ${#CONFIGS[@]}]}
			# the unrelated-process cost is one number, not one per storm
			[[ $config == *-unrelated && $variant != "${variant_list[0]}" && $variant != syscalls ]] && continue
			run_config "$variant" "$round" "$config"
		done
	done
done

STARTUP_TRACERS=()
for backend in "${BACKENDS[@]}"; do
	STARTUP_TRACERS+=("deptrace-$backend")
	for alt in "${ALT_LABELS[@]}"; do STARTUP_TRACERS+=("deptrace-$backend+$alt"); done
done
STARTUP_TRACERS+=(bpftrace)
: >"$WORK/startup.tsv"
: >"$WORK/exit.tsv"
for ((round = 1; round <= ROUNDS; round++)); do
	log "start-up and exit: round $round of $ROUNDS"
	sample_disturbance
	for ((i = 0; i < ${#STARTUP_TRACERS[@]}; i++)); do
		run_startup "$round" "${STARTUP_TRACERS[(i + round - 1) % ${#STARTUP_TRACERS[@]}]}"
		run_exit "$round" "${STARTUP_TRACERS[(i + round - 1) % ${#STARTUP_TRACERS[@]}]}"
	done
done

# --- the report ------------------------------------------------------------
# The raw numbers first: they survive a failure in the report below.
mkdir -p "$(dirname "$OUT")" "$(dirname "$RAW_OUT")"
# Start-up rows: variant "startup", rate = seconds to the first event,
# printed = seconds to the first line (ready), status = the tracer's.
{
	printf 'variant\tconfig\tround\trate\tprinted\texpected\tlost\trss_kb\tstatus\tcpu_us\n'
	cat "$RAW"
	awk -F'\t' -v OFS='\t' '{
		for (i = split($4, kv, " "); i > 0; i--) { split(kv[i], p, "="); f[p[1]] = p[2] }
		print "startup", $2, $3, f["first"], f["ready"], 1, "-", "-", f["status"], "-" }' "$WORK/startup.tsv"
	# exit rows: rate = seconds from the command's end to the tracer's
	awk -F'\t' -v OFS='\t' '{ print "exit", $2, $3, $4, "-", "-", "-", "-", "-", "-" }' "$WORK/exit.tsv"
} >"$RAW_OUT"
# median, min and max of the numbers on stdin ("-" when there are none)
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'
}

# column $2 of raw.tsv for one variant and config
values() { awk -F'\t' -v v="$1" -v c="$2" -v col="$3" '$1 == v && $2 == c && $col != "-" { print $col }' "$RAW"; }

# per-round ratio of a config's rate to the untraced rate of that round
ratios() {
	awk -F'\t' -v v="$1" -v c="$2" '
		$1 == v && $2 == "untraced" && $4 != "-" { base[$3] = $4 }
		$1 == v && $2 == c && $4 != "-" { rate[$3] = $4 }
		END { for (r in rate) if (r in base && base[r] > 0) print rate[r] / base[r] }' "$RAW"
}

fmt_rate() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.0f", x }'; }
fmt_us() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.1f", x }'; }
fmt_s() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.3f", x }'; }
fmt_ratio() { awk -v x="$1" 'BEGIN { if (x == "-") print "-"; else printf "%.2f", x }'; }

events_cell() { # variant config
	awk -F'\t' -v v="$1" -v c="$2" '$1 == v && $2 == c && $5 != "-" {
			n++; want = $6; if ($5 == $6) ok++
			if (min == "" || $5 + 0 < min) min = $5 + 0
			if ($5 + 0 > max) max = $5 + 0 }
		END { if (!n) { print "-"; exit }
			printf "%s / %s (%d of %d runs exact)", (min == max ? min : min "–" max), want, ok, n }' "$RAW"
}

lost_cell() {
	awk -F'\t' -v v="$1" -v c="$2" '$1 == v && $2 == c { if ($7 == "-") dash = 1; else s += $7 }
		END { print (dash ? "-" : s + 0) }' "$RAW"
}

failures() { awk -F'\t' -v v="$1" -v c="$2" '$1 == v && $2 == c && $9 != 0 { n++ } END { print n + 0 }' "$RAW"; }

label() {
	case $1 in
		untraced) echo "untraced" ;;
		deptrace-unrelated) echo "deptrace -p (another, idle process)" ;;
		bpftrace-unrelated) echo "bpftrace (another, idle process)" ;;
		deptrace-*+*) local which=${1#deptrace-}; echo "deptrace *${which#*+}* -B ${which%%+*}" ;;
		deptrace-*) echo "deptrace -B ${1#deptrace-}" ;;
		strace) echo "strace -f -e trace=connect" ;;
		bpftrace) echo "bpftrace (bench/connect.bt)" ;;
	esac
}

# A config's median throughput over the untraced median: a single slow
# round (a neighbour's burst) moves a median of rates less than it moves
# that round's ratio.
median_ratio() {
	local c u
	c=$(values "$1" "$2" 4 | stats | cut -d' ' -f1)
	u=$(values "$1" untraced 4 | stats | cut -d' ' -f1)
	awk -v c="$c" -v u="$u" 'BEGIN { if (c == "-" || u == "-" || u <= 0) print "-"; else print c / u }'
}
# untraced CPU per connect over the config's, medians: a throughput-like
# ratio of what the storm itself paid, which other work on the machine
# barely moves (the storm's own CPU time, kernel and softirq included)
cpu_ratio() {
	local c u
	c=$(values "$1" "$2" 10 | stats | cut -d' ' -f1)
	u=$(values "$1" untraced 10 | stats | cut -d' ' -f1)
	awk -v c="$c" -v u="$u" 'BEGIN { if (c == "-" || u == "-" || c <= 0) print "-"; else print u / c }'
}

# extra time per connect, relative to untraced: 1/ratio - 1
overhead() { awk -v r="$1" 'BEGIN { if (r == "-" || r <= 0) print "-"; else printf "%.3f", 1 / r - 1 }'; }

# "inf" (no overhead at all) beats any bound from below; a value that is
# not a number ("-", "?": the run failed) meets nothing
verdict() {
	if awk -v a="$1" -v op="$2" -v b="$3" 'BEGIN {
		if (a == "inf") exit !(op == ">=")
		if (a !~ /^-?[0-9]+(\.[0-9]+)?$/) exit 1
		exit !(op == ">=" ? a + 0 >= b + 0 : a + 0 <= b + 0) }'; then
		echo met
	else
		echo "**missed**"
	fi
}

mem_mb() { awk -v k="$1" 'BEGIN { if (k == "-") print "-"; else printf "%.1f", k / 1024 }'; }

startup_values() { # tracer field(first|ready)
	awk -F'\t' -v t="$1" -v f="$2" '$2 == t { n = split($4, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); if (p[1] == f && p[2] >= 0) print p[2] } }' "$WORK/startup.tsv"
}

exit_values() { awk -F'\t' -v t="$1" '$2 == t && $4 != "-" { print $4 }' "$WORK/exit.tsv"; }

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem_total=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
repo=$(cd "$BENCH_DIR/.." && pwd)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$repo" diff --quiet HEAD -- lib tools bpf_text 2>/dev/null || commit="$commit (with uncommitted changes to lib/, tools/ or bpf_text/)"
main=${variant_list[0]}
first_backend=${BACKENDS[0]}

{
	echo "# deptrace benchmark: the cost of tracing connect()"
	echo
	echo "Written by \`scripts/bench\` on $(date -u '+%Y-%m-%d %H:%M UTC'); raw numbers in [$(basename "$RAW_OUT")]($(basename "$RAW_OUT"))."
	echo
	echo "| | |"
	echo "|---|---|"
	echo "| machine | $(nproc) CPUs, $cpu_model, $mem_total RAM |"
	echo "| kernel | $(uname -r) ($(uname -v)) |"
	echo "| system | Debian $(cat /etc/debian_version 2>/dev/null || echo '?') |"
	echo "| deptrace | $commit, backends that attach here: ${BACKENDS[*]} |"
	for alt in "${ALT_LABELS[@]}"; do
		echo "| *$alt* | another deptrace build run beside it: ${ALT_BIN[$alt]} |"
	done
	echo "| libbcc | $(dpkg-query -W -f='${Version}' libbpfcc 2>/dev/null || echo '?') |"
	echo "| bpftrace | $(bpftrace --version 2>/dev/null | head -n1) |"
	echo "| strace | $(strace -V 2>/dev/null | head -n1) |"
	foreign=$(sort -u "$WORK/foreign" | awk '{ printf "%s%s (PID %s)", (NR > 1 ? ", " : ""), $2, $1 }')
	read -r busy_med _ busy_hi < <(stats <"$WORK/busy")
	echo "| disturbance | CPU busy with other work, sampled between runs: median $busy_med%, max $busy_hi%; other BPF tracers attached between runs: ${foreign:-none} |"
	echo "| storm | $N connects per run (socket, connect, close), $ROUNDS rounds, configurations interleaved with the order rotated each round |"
	echo
	if [[ -n $foreign ]]; then
		echo "**Disturbed run:** other BPF tracers were attached while it ran, so even"
		echo "the untraced runs paid for syscall tracepoints; rerun on a quiet machine."
		echo
	fi
	if awk -v b="$busy_med" 'BEGIN { exit !(b != "-" && b > 5) }'; then
		echo "**Disturbed run:** other work kept the CPUs ${busy_med}% busy between runs"
		echo "(median), so every configuration shared them; ratios are taken within the"
		echo "run and are comparable, absolute rates are not. Rerun on a quiet machine."
		echo
	fi
	echo "**Throughput** is connects per second over the storm itself (\`bench/connect-storm\`),"
	echo "excluding tracer start-up. **Ratio** is the median throughput over the untraced"
	echo "median; its min–max is the spread of each round's throughput over the untraced"
	echo "run of the same round. **Overhead** is the"
	echo "time each connect gains under tracing, \`1/ratio − 1\`. **Storm CPU** is the CPU time (user +"
	echo "system, softirq included) the storm's own processes spent per connect, and **CPU ratio**"
	echo "the untraced median of it over this one's: the cost tracing puts on the traced work"
	echo "itself, which work elsewhere on the machine barely moves (the tracer's own"
	echo "user-space CPU is not in it). **Events** are the"
	echo "lines each tracer printed against the connects made; **lost** is what the"
	echo "tracer reported dropping (deptrace's summary line, bpftrace's \"Lost N events\")."
	echo

	for variant in "${variant_list[@]}"; do
		set_storm_args "$variant"
		echo "## $(describe_variant "$variant") (\`$(basename "$WORKLOAD") ${STORM_ARGS[*]}\`)"
		echo
		unit=connect
		[[ $variant == syscalls ]] && unit=iteration
		echo "| configuration | ${unit}s/s median | min | max | ratio | ratio min–max | overhead | storm CPU µs/$unit | CPU ratio | events printed / expected | lost | failed runs |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|"
		for config in "${CONFIGS[@]}"; do
			[[ $config == *-unrelated && $variant != "$main" && $variant != syscalls ]] && continue
			[[ $variant == syscalls && $config != untraced && $config != *-unrelated ]] && continue
			read -r med lo hi < <(values "$variant" "$config" 4 | stats)
			read -r _ rlo rhi < <(ratios "$variant" "$config" | stats)
			rmed=$(median_ratio "$variant" "$config")
			if [[ $config == untraced ]]; then
				ratio_cells="1 | –"
				over="0"
			else
				ratio_cells="$(fmt_ratio "$rmed") | $(fmt_ratio "$rlo")–$(fmt_ratio "$rhi")"
				over=$(overhead "$rmed")
			fi
			cpu=$(values "$variant" "$config" 10 | stats | cut -d' ' -f1)
			echo "| $(label "$config") | $(fmt_rate "$med") | $(fmt_rate "$lo") | $(fmt_rate "$hi") | $ratio_cells | $over | $(fmt_us "$cpu") | $(fmt_ratio "$(cpu_ratio "$variant" "$config")") | $(events_cell "$variant" "$config") | $(lost_cell "$variant" "$config") | $(failures "$variant" "$config") |"
		done
		echo
	done

	echo "## Start-up: launch to first event printed"
	echo
	echo "\`bench/first-line\` forks the tracer running \`connect-storm -n 1\` (one connect"
	echo "as soon as it runs) with its output going to a file, and reads that file every"
	echo "0.2 ms: **ready** is when the tracer's first line appeared (deptrace's header,"
	echo "printed once attached; bpftrace's \"Attaching N probes...\", printed *before* it"
	echo "attaches), **first event** when the line for that connect appeared. Both tracers"
	echo "hold the command until they are attached, so first event is the time a person"
	echo "waits from pressing Enter to seeing the first connection. Seconds, $ROUNDS runs each, interleaved."
	echo
	echo "| tracer | first event median | min | max | ready median |"
	echo "|---|---:|---:|---:|---:|"
	for tracer in "${STARTUP_TRACERS[@]}"; do
		read -r fmed flo fhi < <(startup_values "$tracer" first | stats)
		read -r rdy _ _ < <(startup_values "$tracer" ready | stats)
		echo "| $(label "$tracer") | $(fmt_s "$fmed") | $(fmt_s "$flo") | $(fmt_s "$fhi") | $(fmt_s "$rdy") |"
	done
	echo

	echo "## Exit: the command's end to the tracer's"
	echo
	echo "Each tracer runs a command whose last act is to write the time; **exit** is"
	echo "from then until the tracer has exited, having detached everything. Seconds,"
	echo "$ROUNDS runs each, beside the start-up runs."
	echo
	echo "| tracer | exit median | min | max |"
	echo "|---|---:|---:|---:|"
	for tracer in "${STARTUP_TRACERS[@]}"; do
		read -r emed elo ehi < <(exit_values "$tracer" | stats)
		echo "| $(label "$tracer") | $(fmt_s "$emed") | $(fmt_s "$elo") | $(fmt_s "$ehi") |"
	done
	echo

	echo "## Peak memory"
	echo
	echo "Maximum resident set size (GNU time's %M) over the traced $main storms of the"
	echo "table above. For a tracer that runs the storm this is the larger of the tracer and"
	echo "the storm it waits for; the untraced row is the storm alone, so it bounds that."
	echo
	echo "| process | median MiB | max MiB |"
	echo "|---|---:|---:|"
	for config in "${CONFIGS[@]}"; do
		[[ $config == *-unrelated ]] && continue
		read -r kmed _ khi < <(values "$main" "$config" 8 | stats)
		echo "| $(label "$config") | $(mem_mb "$kmed") | $(mem_mb "$khi") |"
	done
	echo

	echo "## Targets (issue 17)"
	echo
	echo "| target | measured | verdict |"
	echo "|---|---|---|"
	strace_ratio=$(median_ratio "$main" strace)
	strace_over=$(overhead "$strace_ratio")
	for backend in "${BACKENDS[@]}"; do
		for variant in tcp4:0.95 tcp6:0.95 udp4:0.90; do
			[[ ,$VARIANTS, == *,${variant%%:*},* ]] || continue
			r=$(median_ratio "${variant%%:*}" "deptrace-$backend")
			echo "| deptrace -B $backend traced storm, $(describe_variant "${variant%%:*}"), ≥ ${variant#*:} of untraced | $(fmt_ratio "$r") | $(verdict "$r" '>=' "${variant#*:}") |"
		done
		lost=$(lost_cell "$main" "deptrace-$backend")
		echo "| deptrace -B $backend loses no event at the default buffer | $lost lost | $(verdict "$lost" '<=' 0) |"
		o=$(overhead "$(median_ratio "$main" "deptrace-$backend")")
		times=$(awk -v s="$strace_over" -v d="$o" 'BEGIN { if (s == "-" || d == "-") print "-"; else if (d <= 0) print "inf"; else printf "%.1f", s / d }')
		echo "| deptrace -B $backend overhead ≥ 5× less than strace -f ($strace_over) | $o, ${times}× less | $(verdict "$times" '>=' 5) |"
	done
	r=$(median_ratio "$main" deptrace-unrelated)
	echo "| tracing another process: connect storm ≥ 0.99 of untraced (bpftrace: $(fmt_ratio "$(median_ratio "$main" bpftrace-unrelated)")) | $(fmt_ratio "$r") | $(verdict "$r" '>=' 0.99) |"
	if [[ ,$VARIANTS, == *,syscalls,* ]]; then
		r=$(median_ratio syscalls deptrace-unrelated)
		echo "| tracing another process: getppid+read loop ≥ 0.99 of untraced (bpftrace: $(fmt_ratio "$(median_ratio syscalls bpftrace-unrelated)")) | $(fmt_ratio "$r") | $(verdict "$r" '>=' 0.99) |"
	fi
	read -r bt_first _ _ < <(startup_values bpftrace first | stats)
	read -r dt_first _ _ < <(startup_values "deptrace-$first_backend" first | stats)
	echo "| deptrace launch to first event ≤ 0.40 s (bpftrace: $(fmt_s "$bt_first") s) | $(fmt_s "$dt_first") s | $(verdict "$dt_first" '<=' 0.40) |"
	read -r dt_exit _ _ < <(exit_values "deptrace-$first_backend" | stats)
	echo "| deptrace exit after the command ends ≤ 0.3 s | $(fmt_s "$dt_exit") s | $(verdict "$dt_exit" '<=' 0.3) |"
	echo
	# what bounds the numbers: analysis kept by hand beside the results
	if [[ -f $BENCH_DIR/results/notes.md ]]; then
		cat "$BENCH_DIR/results/notes.md"
	fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT and $RAW_OUT"
