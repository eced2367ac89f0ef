# fakenet.sh: a private network for the example deploy and the tests.
#
# A network namespace with nothing but loopback, a DNS server in it
# (Debian's dnsmasq) that knows the fake names and answers NXDOMAIN for
# every other one, and the fake services started in it. Programs run in the
# namespace resolve through that server, because `ip netns exec` puts
# /etc/netns/NS/resolv.conf over /etc/resolv.conf; they can reach nothing
# outside the namespace, and the host's own configuration is not touched.
# fakenet_down undoes everything; call it from an EXIT trap.
#
# Sourced by bash scripts (scripts/demo, tests/integration/names.sh); needs
# root, iproute2 and /usr/sbin/dnsmasq (dnsmasq-base).
#
#   fakenet_up PREFIX DIR NAME=ADDRESS...  create the namespace PREFIX-$$
#                                          and its DNS server; DIR holds logs;
#                                          a name given several times has all
#                                          its addresses; NAME>TARGET makes
#                                          NAME a CNAME for TARGET
#   fakenet_run COMMAND [ARG]...           run COMMAND in the namespace
#   fakenet_start NAME COMMAND [ARG]...    start a service in the namespace,
#                                          in the background (PID in
#                                          FAKENET_PID, output in DIR/NAME.log)
#   fakenet_wait_http URL [SECONDS]        wait until URL answers
#   fakenet_wait_socket PATH [SECONDS]     wait until a Unix socket is at PATH
#   fakenet_down                           stop it all, remove it all

FAKENET_NS=       # the namespace's name once fakenet_up has created it
FAKENET_DIR=      # logs: dnsmasq.log, one NAME.log per service
FAKENET_DNS=127.0.0.53
FAKENET_PID=      # the service fakenet_start started last
FAKENET_PIDS=()   # everything fakenet_start started, dnsmasq included
_fakenet_made_etc_netns=

fakenet_up() {
	local prefix=$1 dir=$2 record name address
	local -a dnsmasq_args
	shift 2
	FAKENET_DIR=$dir
	FAKENET_NS=$prefix-$$
	ip netns add "$FAKENET_NS" || { FAKENET_NS=; return 1; }
	# All of 127.0.0.0/8 is local once lo is up: a service can listen on
	# 127.0.0.10 without adding the address.
	ip -n "$FAKENET_NS" link set lo up

	[[ -d /etc/netns ]] || _fakenet_made_etc_netns=1
	mkdir -p "/etc/netns/$FAKENET_NS"
	echo "nameserver $FAKENET_DNS" > "/etc/netns/$FAKENET_NS/resolv.conf"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "/etc/netns/$FAKENET_NS/hosts"

	# No upstream, no /etc/hosts, no configuration file; its own pid file,
	# so that a dnsmasq on the host is left alone.
	dnsmasq_args=(--keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts
		--listen-address="$FAKENET_DNS" --bind-interfaces
		--pid-file="$dir/dnsmasq.pid" --log-facility="$dir/dnsmasq.log" --log-queries
		--address=/#/) # NXDOMAIN for every name not listed below
	for record in "$@"; do
		if [[ $record == *'>'* ]]; then
			dnsmasq_args+=(--cname="${record%%>*},${record#*>}")
			continue
		fi
		name=${record%%=*} address=${record#*=}
		dnsmasq_args+=(--host-record="$name,$address")
	done
	fakenet_start dnsmasq /usr/sbin/dnsmasq "${dnsmasq_args[@]}"
	name=${1%%=*}
	for _ in $(seq 100); do
		fakenet_run getent hosts "$name" >/dev/null && return 0
		kill -0 "$FAKENET_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "fakenet: dnsmasq does not answer for $name (see $dir/dnsmasq.log)" >&2
	return 1
}

# `ip netns exec` gives its command a mount namespace of its own with the
# namespace's sysfs over /sys, which lacks the cgroup v2 hierarchy systemd
# mounts under it; deptrace --enforce needs one. This puts it back there, in
# that private mount namespace only, then runs the command.
FAKENET_WITH_CGROUP=(sh -c 'mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup; exec "$@"' sh)

fakenet_run() {
	ip netns exec "$FAKENET_NS" "${FAKENET_WITH_CGROUP[@]}" "$@"
}

# `ip netns exec` execs COMMAND, so $! is the service itself (a function
# would put a subshell in between).
fakenet_start() {
	local name=$1
	shift
	ip netns exec "$FAKENET_NS" "$@" >"$FAKENET_DIR/$name.log" 2>&1 &
	FAKENET_PID=$!
	FAKENET_PIDS+=("$FAKENET_PID")
}

fakenet_wait_http() {
	local url=$1 deadline=$((SECONDS + ${2:-10}))
	until fakenet_run curl -s -o /dev/null --max-time 1 "$url"; do
		if ((SECONDS >= deadline)); then
			echo "fakenet: $url does not answer" >&2
			return 1
		fi
		sleep 0.05
	done
}

fakenet_wait_socket() {
	local path=$1 deadline=$((SECONDS + ${2:-10}))
	until [[ -S $path ]]; do
		if ((SECONDS >= deadline)); then
			echo "fakenet: no socket at $path" >&2
			return 1
		fi
		sleep 0.05
	done
}

# Idempotent, safe after a partial fakenet_up, and under set -e. What still runs in the
# namespace was started in it by this script (its services, or a traced
# command a failure left behind): it is stopped too, before the namespace
# goes.
fakenet_down() {
	local pid
	local -a left
	[[ -n $FAKENET_NS ]] || return 0
	mapfile -t left < <(ip netns pids "$FAKENET_NS" 2>/dev/null)
	for pid in "${FAKENET_PIDS[@]}" "${left[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for _ in $(seq 40); do
		mapfile -t left < <(ip netns pids "$FAKENET_NS" 2>/dev/null)
		((${#left[@]} == 0)) && break
		sleep 0.05
	done
	for pid in "${left[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
	done
	for pid in "${FAKENET_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	FAKENET_PIDS=()
	ip netns del "$FAKENET_NS" 2>/dev/null || true
	rm -rf "/etc/netns/${FAKENET_NS:?}"
	[[ -z $_fakenet_made_etc_netns ]] || rmdir /etc/netns 2>/dev/null || true
	FAKENET_NS=
	return 0
}
