/* first_bytes: see first_bytes.h. */
#include "first_bytes.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "dns.h"

/* TLS: a handshake record (RFC 8446 5.1) holding a ClientHello (4.1.2). */
#define TLS_HANDSHAKE 22
#define TLS_CLIENT_HELLO 1
#define TLS_EXT_SERVER_NAME 0
#define TLS_SNI_HOST_NAME 0
#define HTTP_HEAD_MAX 8192 /* no request line and headers read beyond this */

/* A cursor over untrusted bytes: every read checks what is left. `ran_out`:
 * a read went past the end; `short_view`: the bytes end before the length
 * the cursor was made for (a cut capture, or a length that lies). */
struct cursor {
	const uint8_t *p;
	size_t left;
	bool ran_out, short_view;
};

static bool take(struct cursor *c, size_t n, const uint8_t **out)
{
	if (c->ran_out || n > c->left) {
		c->ran_out = true;
		return false;
	}
	if (out)
		*out = c->p;
	c->p += n;
	c->left -= n;
	return true;
}

static unsigned take_uint(struct cursor *c, size_t n)
{
	const uint8_t *p;
	unsigned v = 0;

	if (!take(c, n, &p))
		return 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* A cursor over the next `n` bytes of `c`, which `c` skips; short where
 * `c` ends first. */
static struct cursor sub(struct cursor *c, size_t n)
{
	struct cursor inner = { .p = c->p, .left = n < c->left ? n : c->left,
				.ran_out = c->ran_out,
				.short_view = c->short_view || n > c->left };

	if (!c->ran_out)
		take(c, inner.left, NULL);
	return inner;
}

/* `n` bytes as a host name into `name`: letters (lowered), digits, '-',
 * '_', labels of 1 to 63 joined by '.', one trailing '.' dropped, not all
 * digits and dots (an IPv4 address). false if it is not one. */
static bool host_name(const uint8_t *p, size_t n, char *name)
{
	size_t label = 0;
	bool letter = false;

	if (n && p[n - 1] == '.')
		n--;
	if (!n || n > DNS_NAME_LEN - 3)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (ch == '.') {
			if (!label)
				return false;
			label = 0;
			name[i] = '.';
			continue;
		}
		if (ch >= 'A' && ch <= 'Z')
			ch = (uint8_t)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return false;
		letter |= !(ch >= '0' && ch <= '9');
		if (++label > 63)
			return false;
		name[i] = (char)ch;
	}
	name[n] = '\0';
	return label && letter;
}

/* The ClientHello's server_name, past the record and handshake headers.
 * Bytes that end before a length says read as a cut (the capture's end, a
 * hello that goes on in the next record or segment, or a length that
 * lies): no name either way. */
static int tls_server_name(struct cursor *c, char *name)
{
	struct cursor exts;
	bool found = false;

	take(c, 2 + 32, NULL);                      /* version, random */
	take(c, take_uint(c, 1), NULL);             /* session id */
	take(c, take_uint(c, 2), NULL);             /* cipher suites */
	take(c, take_uint(c, 1), NULL);             /* compression methods */
	if (c->ran_out)
		return -EMSGSIZE;
	if (!c->left && !c->short_view)
		return -ENOENT;                     /* no extensions at all */
	exts = sub(c, take_uint(c, 2));
	while (!exts.ran_out && exts.left) {
		unsigned type = take_uint(&exts, 2);
		struct cursor ext = sub(&exts, take_uint(&exts, 2)), list;
		const uint8_t *host;
		unsigned kind, n;

		if (exts.ran_out || ext.short_view)
			return found ? 0 : -EMSGSIZE;
		if (type != TLS_EXT_SERVER_NAME)
			continue;
		if (found)
			return -EINVAL;                 /* two server_name extensions */
		/* one host_name (RFC 6066 3): the list holds it alone */
		list = sub(&ext, take_uint(&ext, 2));
		kind = take_uint(&list, 1);
		n = take_uint(&list, 2);
		if (ext.ran_out || list.short_view || ext.left || kind != TLS_SNI_HOST_NAME ||
		    !take(&list, n, &host) || list.left || !host_name(host, n, name))
			return -EINVAL;
		found = true;
	}
	return found ? 0 : exts.ran_out || exts.short_view ? -EMSGSIZE : -ENOENT;
}

static int tls_name(const uint8_t *data, size_t len, char *name)
{
	struct cursor c = { .p = data, .left = len };
	struct cursor record, hello;
	unsigned type = take_uint(&c, 1), major = take_uint(&c, 1), minor = take_uint(&c, 1);

	if (c.ran_out)
		return -EMSGSIZE;
	if (type != TLS_HANDSHAKE || major != 3 || minor > 4)
		return -EINVAL;
	record = sub(&c, take_uint(&c, 2));
	type = take_uint(&record, 1);
	if (record.ran_out || c.ran_out)
		return -EMSGSIZE;
	if (type != TLS_CLIENT_HELLO)
		return -EINVAL;
	hello = sub(&record, take_uint(&record, 3));
	return tls_server_name(&hello, name);
}

/* Whether data[0..len) starts like a TLS handshake record: its type and
 * the major version (a ClientHello's record says 3.1 or 3.3). */
static bool looks_like_tls(const uint8_t *data, size_t len)
{
	return len >= 2 && data[0] == TLS_HANDSHAKE && data[1] == 3;
}

/* An HTTP method: an upper-case token, then one space. */
static size_t http_method(const uint8_t *data, size_t len)
{
	size_t n = 0;

	while (n < len && n < 16 && data[n] >= 'A' && data[n] <= 'Z')
		n++;
	return n && n < len && data[n] == ' ' ? n : 0;
}

static bool header_is(const uint8_t *line, size_t n, const char *field)
{
	size_t f = strlen(field);

	if (n <= f || line[f] != ':')
		return false;
	for (size_t i = 0; i < f; i++)
		if ((line[i] | 0x20) != field[i])
			return false;
	return true;
}

/* A Host value: "name", "name:port", "[v6]:port", with spaces around. */
static int host_value(const uint8_t *v, size_t n, char *name)
{
	size_t end;

	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (!n || v[0] == '[')
		return -ENOENT;                     /* empty, or an IPv6 address */
	for (end = 0; end < n && v[end] != ':'; end++)
		;
	if (end < n) {                              /* a port: digits only */
		if (end + 1 == n)
			return -EINVAL;
		for (size_t i = end + 1; i < n; i++)
			if (v[i] < '0' || v[i] > '9')
				return -EINVAL;
	}
	if (host_name(v, end, name))
		return 0;
	/* digits and dots: an IPv4 address, no name */
	for (size_t i = 0; i < end; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || v[i] == '.'))
			return -EINVAL;
	return -ENOENT;
}

/* The Host of an HTTP/1 request head; *kind set once the request line is
 * one. */
static int http_name(const uint8_t *data, size_t len, char *name, enum first_bytes_kind *kind)
{
	size_t at = 0, hosts = 0;
	int rc = -ENOENT;
	bool request_line = true;

	if (len > HTTP_HEAD_MAX)
		len = HTTP_HEAD_MAX;
	for (;;) {
		const uint8_t *line = data + at, *lf = memchr(line, '\n', len - at);
		size_t n;

		if (!lf)
			return hosts ? rc : -EMSGSIZE;      /* the head goes on */
		n = (size_t)(lf - line);
		at += n + 1;
		if (n && line[n - 1] == '\r')
			n--;
		if (request_line) {
			/* METHOD SP target SP HTTP/1.x */
			if (n < 9 || memcmp(line + n - 8, "HTTP/1.", 7) || line[n - 9] != ' ')
				return -EINVAL;
			request_line = false;
			*kind = FIRST_BYTES_HTTP;
			continue;
		}
		if (!n)
			return rc;                          /* the end of the head */
		if (!header_is(line, n, "host"))
			continue;
		if (hosts++)
			return -EINVAL;                     /* two Host headers */
		rc = host_value(line + 5, n - 5, name);
		if (rc == -EINVAL)
			return rc;
	}
}

int first_bytes_name(const uint8_t *data, size_t len, char *name, enum first_bytes_kind *kind)
{
	int rc = -EINVAL;

	*kind = FIRST_BYTES_UNKNOWN;
	if (looks_like_tls(data, len)) {
		*kind = FIRST_BYTES_TLS;
		rc = tls_name(data, len, name);
	} else if (http_method(data, len)) {
		rc = http_name(data, len, name, kind);
		/* a method and a space, then the head cut before its line ends */
		if (rc == -EMSGSIZE)
			*kind = FIRST_BYTES_HTTP;
	}
	if (rc)
		name[0] = '\0';
	return rc;
}
