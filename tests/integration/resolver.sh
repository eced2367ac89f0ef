#!/bin/bash
# Allow lists by name, enforced (lib/resolver.c, bpf_text/resolver_steer.bpf.h):
# in a network namespace with its own DNS server (examples/lib/fakenet.sh),
# the example deploy is audited with --json, `deptrace policy` writes its
# allow list, and the list is enforced with --enforce -u nobody: the deploy
# succeeds; a new name is refused (REFUSED, a blocked lookup line with the
# name); an address no allowed name resolved to is refused with EPERM; a
# process outside the cgroup is unaffected. Then as an attacker would, as
# nobody inside the enforced command: DNS to another port-53 server, over
# TCP, over IPv6, a raw resolver of its own (which must see the answer come
# from the server it asked), a hard-coded address, odd name encodings.
# Nothing is left after a normal exit and SIGTERM.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl getent python3 ss /usr/sbin/dnsmasq
cgroup_root=$(cgroup2_root)
[[ -n $cgroup_root ]] || fail "no cgroup v2 mounted: enforcement cannot be tested here"

forge_ip=127.0.0.10 api_ip=127.0.0.20 telemetry_ip=127.0.0.30
fakenet_test_up forge.example.com=$forge_ip api.internal.example=$api_ip \
	telemetry.example.net=$telemetry_ip
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http http://forge.example.com/migrate/releases/latest || fail "the fake forge does not start"
fakenet_start internal-api "$repo/examples/services/internal-api" $api_ip 8080 http://forge.example.com
fakenet_wait_http http://api.internal.example:8080/v1/deployments || fail "the internal API does not start"
fakenet_start telemetry "$repo/examples/services/forge" $telemetry_ip 80
fakenet_wait_http http://telemetry.example.net/migrate/releases/latest || fail "the telemetry service does not start"
chmod 755 "$SCRATCH"

bpf_programs() {
	bpftool prog show 2>/dev/null | grep -c '^[0-9]*:' || true
}

# After each run: no cgroup, no program beyond those before, no resolver
# socket in the namespace.
expect_clean() {
	local deadline=$((SECONDS + 10))
	until [[ $(find "$cgroup_root" -maxdepth 1 -name 'deptrace-*' | wc -l) == 0 &&
		$(bpf_programs) == "$BPF_PROGS_BEFORE" ]]; do
		((SECONDS < deadline)) || fail "$1: a deptrace cgroup or $(bpf_programs) programs (before: $BPF_PROGS_BEFORE) remain"
		sleep 0.1
	done
	fakenet_run ss -uan | grep '127\.53\.0\.' > /dev/null && fail "$1: the resolver still listens: $(fakenet_run ss -uan)"
	return 0
}

# --- audit, then the allow list from the run ---------------------------------
run_deptrace --json -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "the audited deploy exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out")"
mv "$SCRATCH/trace.out" "$SCRATCH/audit.jsonl"
"$DEPTRACE" policy "$SCRATCH/audit.jsonl" > "$SCRATCH/deploy.policy" 2> "$SCRATCH/policy.err" ||
	fail "deptrace policy exited $?: $(cat "$SCRATCH/policy.err")"
for rule in 'allow forge.example.com:80' 'allow api.internal.example:8080' "allow $FAKENET_DNS:53"; do
	grep -qx "$rule" "$SCRATCH/deploy.policy" || fail "no '$rule' in the policy: $(grep -v '^#' "$SCRATCH/deploy.policy")"
done
grep -q "allow $forge_ip" "$SCRATCH/deploy.policy" && fail "the forge is allowed by address too"
pass "the audited deploy's allow list names forge.example.com:80, api.internal.example:8080 and the DNS server"

# --- enforced: the deploy succeeds, as nobody ----------------------------------
enforce=(--enforce --fail-closed --policy "$SCRATCH/deploy.policy" -u nobody)
run_deptrace "${enforce[@]}" -- "$repo/examples/deploy.sh"
[[ $DEPTRACE_RC == 0 ]] ||
	fail "the deploy under its allow list exited $DEPTRACE_RC: $(cat "$SCRATCH/client.out" "$SCRATCH/trace.err")"
grep -q '^deploy: app 2.4.1 is live' "$SCRATCH/client.out" || fail "the deploy did not finish: $(cat "$SCRATCH/client.out")"
[[ $(count_lookup_lines - curl NOERROR forge.example.com A $forge_ip) -ge 2 ]] ||
	fail "curl's lookups of the forge are not answered lines: $(event_lines | grep ' DNS ')"
[[ $(count_named_lines - curl TCP $forge_ip:80 ok forge.example.com) -ge 2 ]] ||
	fail "curl's connections to the forge are not ok lines"
event_lines | grep VIOLATION > /dev/null && fail "the deploy broke its own allow list: $(event_lines | grep VIOLATION)"
expect_clean "after the enforced deploy"
pass "the deploy succeeds under --enforce with its allow list of names, as nobody; no violation; cleaned up"

# --- a new name, an address no allowed name resolved to -------------------------
cat > "$SCRATCH/new.sh" <<EOF
#!/bin/sh
getent hosts telemetry.example.net >/dev/null; echo "getent_new=\$?"
curl -fsS -o /dev/null http://telemetry.example.net/migrate/releases/latest 2>/dev/null; echo "curl_new=\$?"
"$DT_CONNECT" $telemetry_ip 80
"$DT_CONNECT" $forge_ip 80
getent hosts forge.example.com >/dev/null; echo "getent_forge=\$?"
"$DT_CONNECT" $forge_ip 80
"$DT_CONNECT" $forge_ip 443
EOF
chmod 755 "$SCRATCH/new.sh"
run_deptrace "${enforce[@]}" -- "$SCRATCH/new.sh"
expect_client_says getent_new=2 curl_new=6 getent_forge=0
event_lines | grep -E " getent +DNS +REFUSED +[^ ]+ +telemetry\.example\.net A " | grep 'VIOLATION direct.*: not on the allow list' > /dev/null ||
	fail "no blocked lookup line naming telemetry.example.net: $(event_lines | grep ' DNS ')"
event_lines | grep -E " curl +DNS +REFUSED +[^ ]+ +telemetry\.example\.net " | grep 'VIOLATION' > /dev/null ||
	fail "curl's refused lookup is not a violation line"
grep -c "dest=$telemetry_ip:80 result=EPERM" "$SCRATCH/client.out" | grep -x 1 > /dev/null ||
	fail "a connect to $telemetry_ip (no allowed name resolved to it) was not refused with EPERM"
# the forge's address before its name was looked up, after, and on another port
sed -n "s/.*dest=$forge_ip:\([0-9]*\) result=\([A-Z]*\|ok\)$/\1 \2/p" "$SCRATCH/client.out" | tr '\n' ' ' > "$SCRATCH/forge.results"
[[ $(cat "$SCRATCH/forge.results") == "80 EPERM 80 ok 443 EPERM " ]] ||
	fail "the forge's address: expected EPERM before the lookup, ok after on port 80, EPERM on 443; got $(cat "$SCRATCH/forge.results")"
[[ $(count_blocked - dt-connect TCP $telemetry_ip:80) == 1 ]] || fail "no blocked line for $telemetry_ip:80"
expect_clean "after the refusals"
pass "a new name is refused (REFUSED, a VIOLATION line naming it); addresses no allowed name resolved to, or on another port, get EPERM"

# --- outside the cgroup: unaffected ---------------------------------------------
start_deptrace "${enforce[@]}" -- sleep 3
fakenet_run getent hosts telemetry.example.net > "$SCRATCH/outside.out" ||
	fail "a process outside the cgroup could not resolve telemetry.example.net"
fakenet_run "$DT_CONNECT" $telemetry_ip 80 >> "$SCRATCH/outside.out"
grep -q "dest=$telemetry_ip:80 result=ok" "$SCRATCH/outside.out" || fail "outside the cgroup: $(cat "$SCRATCH/outside.out")"
kill -TERM "$DEPTRACE_BG"
wait_deptrace
[[ $DEPTRACE_RC == 143 ]] || fail "SIGTERM: exit $DEPTRACE_RC, expected the command's 143"
expect_clean "after SIGTERM"
pass "a process outside the cgroup resolves and reaches the new name during the run; SIGTERM leaves nothing"

# --- the attacker's view, as nobody inside the enforced command --------------------
cat > "$SCRATCH/attack.py" <<'EOF'
# A resolver of its own, and the ways around deptrace's.
import socket, struct, sys
dns = sys.argv[1]

def query(name, qid=0x4242, qtype=1):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    return q + b"".join(bytes([len(l)]) + l for l in name) + b"\0" + struct.pack(">HH", qtype, 1)

def ask(tag, labels, server=(dns, 53), family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(query(labels), server)
        data, source = s.recvfrom(4096)
        print("%s=rcode%d from=%s answers=%d" % (tag, data[3] & 15, source[0], data[7]))
    except OSError as e:
        print("%s=errno%d" % (tag, e.errno or 0))

def tcp(tag, server):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.connect(server); print("%s=ok" % tag)
    except OSError as e:
        print("%s=errno%d" % (tag, e.errno))

ask("allowed", [b"forge", b"example", b"com"])
ask("cased", [b"FoRgE", b"EXAMPLE", b"com"])
ask("new", [b"telemetry", b"example", b"net"])
ask("dotted", [b"telemetry.example", b"net"])          # one label holding a dot
ask("other_server", [b"forge", b"example", b"com"], ("127.0.0.54", 53))
ask("listener", [b"forge", b"example", b"com"], ("127.53.0.1", 53))
ask("ipv6", [b"forge", b"example", b"com"], ("::1", 53), socket.AF_INET6)
ask("mapped", [b"forge", b"example", b"com"], ("::ffff:" + dns, 53), socket.AF_INET6)
ask("mapped_new", [b"telemetry", b"example", b"net"], ("::ffff:" + dns, 53), socket.AF_INET6)
tcp("tcp53", (dns, 53))
EOF
# the other server's address is allowed: what refuses it is the steering
printf 'allow 127.0.0.54:53\n' > "$SCRATCH/other-server.policy"
run_deptrace "${enforce[@]}" --policy "$SCRATCH/other-server.policy" -- /usr/bin/python3 "$SCRATCH/attack.py" "$FAKENET_DNS"
# answers come from the server asked (glibc would drop others)
expect_client_says "allowed=rcode0 from=$FAKENET_DNS answers=1" \
	"cased=rcode0 from=$FAKENET_DNS answers=1" \
	"new=rcode5 from=$FAKENET_DNS answers=0"
grep -Eq '^dotted=(rcode[1-5] .*answers=0|errno1)$' "$SCRATCH/client.out" ||
	fail "a label holding a dot was answered: $(grep dotted "$SCRATCH/client.out")"
# the ways around the resolver: refused (an IPv6 socket to the v4-mapped
# server is steered as IPv4 is)
expect_client_says "other_server=errno1" \
	"listener=errno1" \
	"ipv6=errno1" \
	"mapped=rcode0 from=::ffff:$FAKENET_DNS answers=1" \
	"mapped_new=rcode5 from=::ffff:$FAKENET_DNS answers=0" \
	"tcp53=errno1"
event_lines | grep -E " python3 +DNS +REFUSED +[^ ]+ +telemetry\.example\.net A " | grep VIOLATION > /dev/null ||
	fail "the raw query for a new name is not a violation line"
[[ $(count_blocked - python3 UDP 127.0.0.54:53) == 1 ]] || fail "no blocked line for DNS to 127.0.0.54"
[[ $(count_blocked - python3 TCP $FAKENET_DNS:53) == 1 ]] || fail "no blocked line for DNS over TCP"
expect_clean "after the attacks"
unreadable=$(event_lines | grep -E " python3 +DNS +[A-Z]+ +[^ ]+ +\(unreadable\) ") ||
	fail "no line for the question no one can read: $(event_lines | grep ' DNS ')"
grep -q 'NOT BLOCKED' <<<"$unreadable" &&
	fail "the question no one can read, answered FORMERR by the resolver, reads NOT BLOCKED: $unreadable"
pass "as nobody: a raw resolver (IPv4, or IPv6 to a v4-mapped server) gets answers from the server it asked, REFUSED for new names, mixed case judged as the name, FORMERR for a label with a dot; another port-53 server, the resolver's own address, IPv6 and TCP get EPERM, reported"

# glibc with a trailing dot, and the steering's answer source checked by glibc
cat > "$SCRATCH/names.sh" <<EOF
#!/bin/sh
getent hosts forge.example.com. >/dev/null; echo "dot=\$?"
getent hosts FORGE.EXAMPLE.COM >/dev/null; echo "upper=\$?"
getent hosts telemetry.example.net. >/dev/null; echo "new_dot=\$?"
EOF
chmod 755 "$SCRATCH/names.sh"
run_deptrace "${enforce[@]}" -- "$SCRATCH/names.sh"
expect_client_says dot=0 upper=0 new_dot=2
expect_clean "after the name encodings"
pass "glibc: a trailing dot and upper case resolve an allowed name, not a new one"
