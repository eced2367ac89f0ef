#!/bin/bash
# Names from the connection itself, in a network namespace with its own DNS
# server (dnsmasq, examples/lib/fakenet.sh): an HTTPS client that resolves
# nothing itself (curl --resolve) is named by the server name of its TLS
# ClientHello, and a --deny on that name marks it; an HTTP client given an
# address is named by its Host header; a client with an answer of its own
# keeps that name; the same in --json (name_source); dig +tcp's lookup is
# read from its TCP segments like a datagram's, a large answer too.
source "$(dirname "$0")/lib.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../examples/lib/fakenet.sh
source "$repo/examples/lib/fakenet.sh"
require_tools curl python3 openssl dig /usr/sbin/dnsmasq

forge_ip=127.0.0.10
tls_ip=127.0.0.40
big_records=()
for i in $(seq 1 64); do big_records+=("big.example=127.0.1.$i"); done
fakenet_test_up forge.example.com=$forge_ip secure.example.com=$tls_ip "${big_records[@]}"
fakenet_start forge "$repo/examples/services/forge" $forge_ip 80
fakenet_wait_http http://forge.example.com/migrate/releases/latest || fail "the fake forge does not start"

# A TLS server on loopback in the namespace, its certificate made here.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=secure.example.com \
	-addext subjectAltName=DNS:secure.example.com \
	-keyout "$SCRATCH/key.pem" -out "$SCRATCH/cert.pem" 2>"$SCRATCH/openssl.log" ||
	fail "openssl cannot make a certificate: $(cat "$SCRATCH/openssl.log")"
cat > "$SCRATCH/tls_server.py" <<'EOF'
import http.server, ssl, sys
address, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer((address, port), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
EOF
fakenet_start tls python3 "$SCRATCH/tls_server.py" $tls_ip 443 "$SCRATCH/cert.pem" "$SCRATCH/key.pem"
secure=(--resolve secure.example.com:443:$tls_ip --cacert "$SCRATCH/cert.pem" https://secure.example.com/)
for _ in $(seq 100); do
	fakenet_run curl -fsS -o /dev/null --max-time 1 "${secure[@]}" 2>/dev/null && break
	sleep 0.05
done
fakenet_run curl -fsS -o /dev/null --max-time 1 "${secure[@]}" || fail "the TLS server does not answer"

# Each client records its PID before exec: the test knows the truth.
cat > "$SCRATCH/clients.sh" <<EOF
#!/bin/sh
sh -c 'echo \$\$ > "\$1"; shift; exec curl -fsS -o /dev/null "\$@"' sh "$SCRATCH/tls.pid" ${secure[*]}
sh -c 'echo \$\$ > "\$1"; exec curl -fsS -o /dev/null -H "Host: forge.example.com" "\$2"' sh "$SCRATCH/http.pid" http://$forge_ip/migrate/releases/latest
sh -c 'echo \$\$ > "\$1"; exec curl -fsS -o /dev/null "\$2"' sh "$SCRATCH/dns.pid" http://forge.example.com/migrate/releases/latest
EOF
chmod +x "$SCRATCH/clients.sh"

# --- named by SNI and by Host; the deny marks the SNI-named one -------------
run_deptrace --deny secure.example.com -- "$SCRATCH/clients.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- clients.sh exited $DEPTRACE_RC"
tls_pid=$(cat "$SCRATCH/tls.pid") http_pid=$(cat "$SCRATCH/http.pid") dns_pid=$(cat "$SCRATCH/dns.pid")
[[ $(count_lookup_lines "$tls_pid" - - - -) == 0 ]] || fail "curl --resolve looked a name up"
[[ $(tail_of "$tls_pid" TCP $tls_ip:443) == "VIOLATION "*": deny secure.example.com" ]] ||
	fail "the TLS connection is not marked by the deny: '$(tail_of "$tls_pid" TCP $tls_ip:443)'"
# (WAIT is $7)
[[ $(event_lines | awk -v pid="$tls_pid" '$2 == pid && $5 == "TCP" && $6 == "ok" && $8 == "'$tls_ip:443'" &&
	$9 == "(secure.example.com" && $10 == "sni)"' | wc -l) == 1 ]] ||
	fail "no line '$tls_pid curl TCP ok $tls_ip:443 (secure.example.com sni)'"
pass "curl --resolve, no lookup of its own: named by its TLS server name, (secure.example.com sni), and the deny marks it"
[[ $(event_lines | awk -v pid="$http_pid" '$2 == pid && $5 == "TCP" && $6 == "ok" && $8 == "'$forge_ip:80'" &&
	$9 == "(forge.example.com" && $10 == "host)"' | wc -l) == 1 ]] ||
	fail "no line '$http_pid curl TCP ok $forge_ip:80 (forge.example.com host)'"
[[ $(count_named_lines "$dns_pid" curl TCP $forge_ip:80 ok forge.example.com) == 1 ]] ||
	fail "the client that resolved forge.example.com is not named by its own answer"
pass "curl http://$forge_ip/ -H 'Host: forge.example.com': (forge.example.com host); a client's own answer still names it"
map_section > "$SCRATCH/map"
grep -q "^secure.example.com $tls_ip:443  TCP  1 time, .*  VIOLATION deny secure.example.com x1$" "$SCRATCH/map" ||
	fail "no map entry for secure.example.com $tls_ip:443: $(cat "$SCRATCH/map")"
pass "the map has the connection under the name its ClientHello gave"
! grep -q "with no DNS answer of its own" "$SCRATCH/trace.err" ||
	fail "the connections named by their first bytes are called unnamed: $(cat "$SCRATCH/trace.err")"

# --- in force: judged, not refused (the SYN went before the name was seen) ---
run_deptrace --deny secure.example.com --enforce -- sh -c 'exec curl -fsS -o /dev/null "$@"' sh "${secure[@]}"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --enforce -- curl --resolve exited $DEPTRACE_RC: $(cat "$SCRATCH/trace.err")"
tls_line=$(event_lines | awk -v dest="$tls_ip:443" '$5 == "TCP" && $6 == "ok" && $8 == dest')
[[ $tls_line == *" $tls_ip:443 (secure.example.com sni)  VIOLATION "*", NOT BLOCKED: deny secure.example.com" ]] ||
	fail "under --enforce, the SNI-named connection is not 'VIOLATION ..., NOT BLOCKED': '$tls_line'"
pass "--enforce: the connection named by its SNI is reported 'NOT BLOCKED' (it was made), curl succeeded"

# --- the same in JSON ----------------------------------------------------------
run_deptrace --json -- "$SCRATCH/clients.sh"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace --json -- clients.sh exited $DEPTRACE_RC"
python3 - "$SCRATCH/trace.out" "$(cat "$SCRATCH/tls.pid")" "$(cat "$SCRATCH/http.pid")" > "$SCRATCH/json.check" <<'EOF' ||
import json, sys
path, tls, http = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
got = {(o["pid"], o.get("name"), o.get("name_source"))
       for o in map(json.loads, open(path)) if o["type"] == "connect" and o["proto"] == "TCP"}
want = {(tls, "secure.example.com", "sni"), (http, "forge.example.com", "host")}
if not want <= got:
    sys.exit(f"want {want} among {got}")
EOF
	fail "JSON: $(cat "$SCRATCH/json.check")"
mv "$SCRATCH/trace.out" "$SCRATCH/json.trace"
run_deptrace -- "$SCRATCH/clients.sh"
expect_json_matches_text "$SCRATCH/trace.out" "$SCRATCH/json.trace"
pass "--json: name and name_source sni, host; it says what the text says"

# --- DNS over TCP ----------------------------------------------------------------
run_deptrace -- sh -c 'echo $$ > "$1"; exec dig +tcp +tries=1 +time=2 @"$2" forge.example.com A' sh "$SCRATCH/dig.pid" "$FAKENET_DNS"
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- dig +tcp exited $DEPTRACE_RC"
dig_pid=$(cat "$SCRATCH/dig.pid")
[[ $(count_lines "$dig_pid" dig TCP "$FAKENET_DNS:53" ok) == 1 ]] || fail "no TCP line to $FAKENET_DNS:53 for dig"
[[ $(count_lookup_lines "$dig_pid" dig NOERROR forge.example.com A $forge_ip) == 1 ]] ||
	fail "no line '$dig_pid dig DNS NOERROR forge.example.com A -> $forge_ip' (DNS over TCP)"
pass "dig +tcp: its lookup read from the TCP stream, forge.example.com A -> $forge_ip"
run_deptrace -- dig +tcp +tries=1 +time=2 @"$FAKENET_DNS" big.example A
[[ $DEPTRACE_RC == 0 ]] || fail "deptrace -- dig +tcp big.example exited $DEPTRACE_RC"
big_line=$(event_lines | awk '$5 == "DNS" && $8 == "big.example" && $9 == "A"')
[[ $(grep -o '127\.0\.1\.[0-9]*' <<< "$big_line" | sort -u | wc -l) == 64 ]] ||
	fail "big.example's answer over TCP does not show its 64 addresses: '$big_line'"
pass "dig +tcp big.example: an answer of over 1023 bytes, all 64 addresses"
