#!/bin/bash
# UDP services on a local address, followed without -p: in a network
# namespace with the fake forge, a UDP service (one thread, as most are)
# that asks the forge about a change freeze for each datagram and replies.
# A script's connected socket (bash's /dev/udp) and a program's unconnected
# one (sendto) each make its freeze check transient, with the service's
# address and port on the line; an unrelated client's datagrams, queued
# before and after the deploy's, do not appear; --no-follow: none of it.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 /usr/sbin/dnsmasq

forge_ip=127.0.0.10 svc_ip=127.0.0.40
forge=http://forge.example.com
fakenet_test_up forge.example.com=$forge_ip freeze.internal.example=$svc_ip
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http $forge/ops/freeze || fail "the fake forge does not start"

# The service: for each datagram, after PAUSE seconds (so that datagrams
# queue behind each other), asks the forge and replies with its answer.
cat > "$SCRATCH/freeze-udp" <<'EOF2'
#!/usr/bin/python3
import socket, sys, time, urllib.request

address, port, upstream, pause = sys.argv[1:5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((address, int(port)))
print("ready", flush=True)
while True:
    data, sender = s.recvfrom(512)
    time.sleep(float(pause))
    with urllib.request.urlopen(upstream + "/ops/freeze", timeout=10) as r:
        s.sendto(r.read(), sender)
EOF2
chmod +x "$SCRATCH/freeze-udp"
fakenet_start freeze-udp "$SCRATCH/freeze-udp" $svc_ip 5353 $forge 0.3
wait_for_line "$SCRATCH/freeze-udp.log" 10 '^ready$'

# --- a connected socket: the script itself, through bash's /dev/udp --------------
cat > "$SCRATCH/ask.sh" <<EOF2
#!/bin/bash
set -e
exec 3<>/dev/udp/$svc_ip/5353
printf 'freeze?' >&3
# one datagram whole (bash's read takes a byte at a time, which drops the rest)
[[ \$(timeout 10 dd bs=512 count=1 <&3 2>/dev/null) == none ]]
EOF2
# --- an unconnected one: a program's sendto ---------------------------------------
cat > "$SCRATCH/asker" <<EOF2
#!/usr/bin/python3
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
s.sendto(b"freeze?", ("$svc_ip", 5353))
assert s.recvfrom(512)[0].strip() == b"none"
EOF2
cat > "$SCRATCH/ask2.sh" <<EOF2
#!/bin/bash
"$SCRATCH/asker"
EOF2
chmod +x "$SCRATCH/ask.sh" "$SCRATCH/asker" "$SCRATCH/ask2.sh"

run_deptrace -- "$SCRATCH/ask.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- ask.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
via="transient (ask.sh -> $svc_ip:5353 freeze-udp)"
[[ $(tails freeze-udp TCP $forge_ip:80) == "$via" ]] ||
	fail "the service's call to the forge: '$(tails freeze-udp TCP $forge_ip:80)', not '$via'"
[[ $(tails ask.sh UDP $svc_ip:5353) == "direct" ]] || fail "the script's own UDP line: $(tails ask.sh UDP $svc_ip:5353)"
pass "a connected socket's datagram: the service's freeze check is '$via'"

rm -f "$SCRATCH/trace.out"
run_deptrace -- "$SCRATCH/ask2.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- ask2.sh exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
via="transient (ask2.sh > asker -> $svc_ip:5353 freeze-udp)"
[[ $(tails freeze-udp TCP $forge_ip:80) == "$via" ]] ||
	fail "the service's call to the forge: '$(tails freeze-udp TCP $forge_ip:80)', not '$via'"
[[ $(event_lines | grep -c ' freeze-udp ') == 4 ]] ||
	fail "other lines of the service: $(event_lines | grep ' freeze-udp ')"
pass "an unconnected socket's datagram (sendto): '$via', 4 lines (its lookups, resolver, forge)"

# --- an unrelated client's datagrams, before and after the deploy's ------------------
cat > "$SCRATCH/unrelated" <<EOF2
#!/usr/bin/python3
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(20)
s.sendto(b"freeze?", ("$svc_ip", 5353))
time.sleep(0.1)
open("$SCRATCH/go", "w").close()
time.sleep(0.1)
s.sendto(b"freeze?", ("$svc_ip", 5353))
for _ in range(2):
    s.recvfrom(512)
open("$SCRATCH/unrelated.done", "w").close()
EOF2
cat > "$SCRATCH/ask3.sh" <<EOF2
#!/bin/bash
until [[ -e "$SCRATCH/go" ]]; do sleep 0.02; done
"$SCRATCH/asker"
EOF2
chmod +x "$SCRATCH/unrelated" "$SCRATCH/ask3.sh"
start_deptrace -- "$SCRATCH/ask3.sh"
fakenet_run "$SCRATCH/unrelated" > "$SCRATCH/unrelated.out" 2>&1 &
wait_deptrace
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- ask3.sh exited $DEPTRACE_RC"
for _ in $(seq 100); do [[ -e $SCRATCH/unrelated.done ]] && break; sleep 0.1; done
[[ -e $SCRATCH/unrelated.done ]] || fail "the unrelated client did not finish: $(cat "$SCRATCH/unrelated.out")"
via="transient (ask3.sh > asker -> $svc_ip:5353 freeze-udp)"
[[ $(tails freeze-udp TCP $forge_ip:80) == "$via" ]] ||
	fail "the unrelated client's datagrams were attributed: $(event_lines | grep ' freeze-udp ')"
pass "the unrelated client's datagrams, served before and after the deploy's, do not appear"

# --- --no-follow -----------------------------------------------------------------------
rm -f "$SCRATCH/trace.out"
run_deptrace --no-follow -- "$SCRATCH/ask.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --no-follow exited $DEPTRACE_RC"
[[ $(event_lines | grep -c ' freeze-udp ') == 0 ]] || fail "--no-follow still followed: $(event_lines)"
[[ $(tails ask.sh UDP $svc_ip:5353) == "direct" ]] || fail "--no-follow: the script's own line is gone"
pass "--no-follow: the UDP service is not followed"
