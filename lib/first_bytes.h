/* first_bytes: the name a client gives the server in the first bytes it
 * sends on a TCP connection: the server_name (SNI) of a TLS ClientHello, or
 * the Host header of an HTTP/1 request.
 *
 * The bytes come from traced processes, copied in the kernel from the
 * connection's first segment and possibly cut, so they are untrusted: what
 * does not parse is refused, not guessed at. A name is what the client
 * claims, not what the server is: a program may send any name to any
 * address (session.c judges it accordingly).
 *
 * Names are returned as dns.h has them: lower case, labels of letters,
 * digits, '-' and '_' joined by '.', no trailing dot, at most 253
 * characters. A Host that is an address ("192.0.2.10:8080", "[::1]") names
 * nothing.
 */
#ifndef DEPTRACE_FIRST_BYTES_H
#define DEPTRACE_FIRST_BYTES_H

#include <stddef.h>
#include <stdint.h>

enum first_bytes_kind {
	FIRST_BYTES_UNKNOWN = 0, /* neither (SSH, a database, HTTP/2, ...) */
	FIRST_BYTES_TLS,         /* a TLS ClientHello */
	FIRST_BYTES_HTTP,        /* an HTTP/1 request */
};

/* The name in data[0..len), into `name` (DNS_NAME_LEN bytes), and what
 * the bytes are, into `kind` (set whatever the result):
 *   0        a name;
 *   -ENOENT  TLS or HTTP that names no host (a ClientHello without SNI, a
 *            request without Host or with an address there);
 *   -EMSGSIZE TLS or HTTP whose bytes end before its name would: the
 *            capture was cut, or the hello spans several segments;
 *   -EINVAL  neither, or malformed (a name that is not a host name, two
 *            Host headers, two server names). */
int first_bytes_name(const uint8_t *data, size_t len, char *name, enum first_bytes_kind *kind);

#endif
