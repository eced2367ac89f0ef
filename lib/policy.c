/* policy: see policy.h. */
#define _GNU_SOURCE
#include "policy.h"
#include "address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deptrace_event.h"

#define HOSTNAME_MAX 253
#define LABEL_MAX 63
#define WORD_SPACE " \t\r\n\v\f"


/* ASCII only: rules and DNS names are not subject to the locale. */
static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_alnum(char c)
{
	return (c >= '0' && c <= '9') || (ascii_lower(c) >= 'a' && ascii_lower(c) <= 'z');
}

/* Clears the bits of addr past the first `prefix`. */
static void mask_address(uint8_t addr[16], unsigned prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned kept = prefix > i * 8 ? prefix - i * 8 : 0;

		if (kept < 8)
			addr[i] &= (uint8_t)(0xff00 >> kept);
	}
}

static bool is_v4(const uint8_t addr[16], unsigned prefix)
{
	return prefix >= 96 && address_is_v4_mapped(addr);
}

/* "192.0.2.0/24", "192.0.2.7", "2001:db8::/32": a whole-address prefix
 * is left out, as people write single addresses. */
static void format_net(const uint8_t addr[16], unsigned prefix, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	bool v4 = is_v4(addr, prefix);
	unsigned bits = v4 ? prefix - 96 : prefix;

	if (v4)
		inet_ntop(AF_INET, addr + 12, text, sizeof(text));
	else
		inet_ntop(AF_INET6, addr, text, sizeof(text));
	if (bits == (v4 ? 32u : 128u))
		snprintf(buf, len, "%s", text);
	else
		snprintf(buf, len, "%s/%u", text, bits);
}

/* `text` ("192.0.2.0/24", "2001:db8::/32", no port) into r->addr and
 * r->prefix; `rule` is the whole rule, for messages. */
static int parse_net(const char *text, bool v6, const char *rule, struct policy_rule *r,
		     char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN + 8], network[INET6_ADDRSTRLEN + 8];
	unsigned max = v6 ? 128 : 32;
	unsigned long bits = max;
	const char *slash = strchr(text, '/');
	uint8_t masked[16];

	snprintf(addr, sizeof(addr), "%.*s", slash ? (int)(slash - text) : (int)strlen(text), text);
	if (v6 ? inet_pton(AF_INET6, addr, r->addr) != 1 : inet_pton(AF_INET, addr, r->addr + 12) != 1) {
		snprintf(err, errlen, "bad IPv%d address %s in %s", v6 ? 6 : 4, addr, rule);
		return -EINVAL;
	}
	if (slash) {
		char *end;

		errno = 0;
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || *end || errno || bits > max) {
			snprintf(err, errlen, "bad CIDR prefix /%s in %s (0-%u)", slash + 1, rule, max);
			return -EINVAL;
		}
	}
	if (!v6)
		address_from_v4(r->addr + 12, r->addr);
	r->kind = RULE_NET;
	r->prefix = (unsigned)bits + (v6 ? 0 : 96);
	memcpy(masked, r->addr, sizeof(masked));
	mask_address(masked, r->prefix);
	if (memcmp(masked, r->addr, sizeof(masked))) {
		format_net(masked, r->prefix, network, sizeof(network));
		snprintf(err, errlen, "%s has host bits set: did you mean %s?", text, network);
		return -EINVAL;
	}
	return 0;
}

/* A hostname into r->name: lower case, the trailing dot dropped. */
static int parse_hostname(const char *text, const char *rule, struct policy_rule *r,
			  char *err, size_t errlen)
{
	size_t len = strlen(text), label = 0;

	if (len && text[len - 1] == '.')
		len--;
	if (len > HOSTNAME_MAX) {
		snprintf(err, errlen, "bad hostname in %s: longer than %d characters", rule, HOSTNAME_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? text[i] : '.';

		if (c == '.' && !label) {
			snprintf(err, errlen, "bad hostname in %s: an empty label (\"..\", or nothing)", rule);
			return -EINVAL;
		}
		if (c == '.' && text[i - 1] == '-') {
			snprintf(err, errlen, "bad hostname in %s: a label ends with '-'", rule);
			return -EINVAL;
		}
		if (c == '-' && !label) {
			snprintf(err, errlen, "bad hostname in %s: a label starts with '-'", rule);
			return -EINVAL;
		}
		if (c == '.') {
			label = 0;
		} else if (!ascii_alnum(c) && c != '-' && c != '_') {
			snprintf(err, errlen, "bad hostname in %s: letters, digits, '-', '_' and dots only", rule);
			return -EINVAL;
		} else if (++label > LABEL_MAX) {
			snprintf(err, errlen, "bad hostname in %s: a label longer than %d characters", rule, LABEL_MAX);
			return -EINVAL;
		}
		r->name[i] = ascii_lower(c);
	}
	r->name[len] = '\0';
	return 0;
}

static int parse_port(const char *port, const char *rule, uint16_t *out, char *err,
		      size_t errlen)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(port, &end, 10);
	if (port[0] < '0' || port[0] > '9' || *end || errno || n < 1 || n > 65535) {
		snprintf(err, errlen, "bad port %s in %s (1-65535)", *port ? port : "\"\"", rule);
		return -EINVAL;
	}
	*out = (uint16_t)n;
	return 0;
}

/* Digits and dots only: meant as an IPv4 address, not a name. */
static bool looks_numeric(const char *text)
{
	return strspn(text, "0123456789.") == strlen(text);
}

/* The rule without its action word, in the form it is parsed from:
 * "*.forge.example.com:443", "192.0.2.0/24", "[2001:db8::/32]:443". */
static void format_target(const struct policy_rule *r, char *buf, size_t len)
{
	char net[INET6_ADDRSTRLEN + 8], port[8] = "";

	if (r->port)
		snprintf(port, sizeof(port), ":%u", r->port);
	if (r->kind != RULE_NET) {
		snprintf(buf, len, "%s%s%s", r->kind == RULE_SUFFIX ? "*." : "", r->name, port);
		return;
	}
	format_net(r->addr, r->prefix, net, sizeof(net));
	if (r->port && !is_v4(r->addr, r->prefix))
		snprintf(buf, len, "[%s]%s", net, port);
	else
		snprintf(buf, len, "%s%s", net, port);
}

/* Splits `buf` (a copy of the rule) into what it names and its port, and
 * parses the first. */
static int parse_target(char *buf, const char *rule, struct policy_rule *r, char **port,
			char *err, size_t errlen)
{
	char *colon, *close;

	*port = NULL;
	if (buf[0] == '[') {
		close = strchr(buf, ']');
		if (!close) {
			snprintf(err, errlen, "missing ']' in %s: an IPv6 rule with a port is [ADDRESS]:PORT", rule);
			return -EINVAL;
		}
		*close = '\0';
		if (close[1] == ':')
			*port = close + 2;
		else if (close[1]) {
			snprintf(err, errlen, "expected :PORT after ']' in %s", rule);
			return -EINVAL;
		}
		if (!strchr(buf + 1, ':')) {
			snprintf(err, errlen, "brackets are for IPv6 in %s: write ADDRESS:PORT for IPv4", rule);
			return -EINVAL;
		}
		return parse_net(buf + 1, true, rule, r, err, errlen);
	}
	colon = strchr(buf, ':');
	/* a bare IPv6 address never has a port: its colons are its own */
	if (colon && strchr(colon + 1, ':'))
		return parse_net(buf, true, rule, r, err, errlen);
	if (colon) {
		*colon = '\0';
		*port = colon + 1;
	}
	if (strchr(buf, '/') || looks_numeric(buf))
		return parse_net(buf, false, rule, r, err, errlen);
	if (!strncmp(buf, "*.", 2)) {
		r->kind = RULE_SUFFIX;
		return parse_hostname(buf + 2, rule, r, err, errlen);
	}
	if (strchr(buf, '*')) {
		snprintf(err, errlen, "bad wildcard in %s: write *.DOMAIN, for the names below DOMAIN", rule);
		return -EINVAL;
	}
	r->kind = RULE_HOST;
	return parse_hostname(buf, rule, r, err, errlen);
}

/* The first byte of text[0..len) that is neither printable ASCII nor
 * white space, or NULL: such bytes are refused before anything could
 * echo them into a message. */
static const char *first_binary(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((text[i] < ' ' || text[i] > '~') && !strchr(WORD_SPACE, text[i]))
			return text + i;
	return NULL;
}

int policy_parse_rule(enum rule_action action, const char *text, const char *origin,
		      struct policy_rule *rule, char *err, size_t errlen)
{
	char buf[POLICY_TEXT_LEN], target[POLICY_TEXT_LEN], *port;
	const char *binary = first_binary(text, strlen(text));
	int rc;

	memset(rule, 0, sizeof(*rule));
	rule->action = action;
	snprintf(rule->origin, sizeof(rule->origin), "%s", origin);
	if (!*text) {
		snprintf(err, errlen, "empty rule: give a hostname, *.DOMAIN, or an address or CIDR");
		return -EINVAL;
	}
	if (binary || strpbrk(text, WORD_SPACE)) {
		snprintf(err, errlen, "a rule is printable ASCII without spaces: byte 0x%02x at column %zu",
			 (unsigned char)(binary ? *binary : *strpbrk(text, WORD_SPACE)),
			 (size_t)((binary ? binary : strpbrk(text, WORD_SPACE)) - text) + 1);
		return -EINVAL;
	}
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "rule too long (%zu characters): %.40s...", strlen(text), text);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	rc = parse_target(buf, text, rule, &port, err, errlen);
	if (!rc && port)
		rc = parse_port(port, text, &rule->port, err, errlen);
	if (rc)
		return rc;
	format_target(rule, target, sizeof(target));
	snprintf(rule->text, sizeof(rule->text), "%s %s", action == RULE_DENY ? "deny" : "allow",
		 target);
	return 0;
}

int policy_add_rule(struct policy *p, enum rule_action action, const char *text,
		    const char *origin, char *err, size_t errlen)
{
	struct policy_rule rule;
	int rc = policy_parse_rule(action, text, origin, &rule, err, errlen);

	if (rc)
		return rc;
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct policy_rule *grown = realloc(p->rules, cap * sizeof(*grown));

		if (!grown) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		p->rules = grown;
		p->cap = cap;
	}
	p->rules[p->count++] = rule;
	if (action == RULE_ALLOW)
		p->nallow++;
	return 0;
}

/* Forgets the rules past the first `count` (a file that failed half way). */
static void truncate_rules(struct policy *p, size_t count)
{
	while (p->count > count)
		if (p->rules[--p->count].action == RULE_ALLOW)
			p->nallow--;
}

/* One line of a policy file (len bytes, NUL included or not): "deny
 * RULE", "allow RULE", a comment or nothing. */
static int add_line(struct policy *p, char *line, size_t len, const char *origin, char *err,
		    size_t errlen)
{
	char *save = NULL, *word, *rule, *extra;
	const char *binary;
	enum rule_action action;

	if (strlen(line) != len) {
		snprintf(err, errlen, "a NUL byte at column %zu: a policy file is text", strlen(line) + 1);
		return -EINVAL;
	}
	line[strcspn(line, "#")] = '\0';
	binary = first_binary(line, strlen(line));
	if (binary) {
		snprintf(err, errlen, "byte 0x%02x at column %zu is not text: a policy file holds ASCII rules",
			 (unsigned char)*binary, (size_t)(binary - line) + 1);
		return -EINVAL;
	}
	word = strtok_r(line, WORD_SPACE, &save);
	if (!word)
		return 0;
	if (!strcmp(word, "deny")) {
		action = RULE_DENY;
	} else if (!strcmp(word, "allow")) {
		action = RULE_ALLOW;
	} else {
		snprintf(err, errlen, "unknown word \"%s\": a line is \"deny RULE\" or \"allow RULE\"", word);
		return -EINVAL;
	}
	rule = strtok_r(NULL, WORD_SPACE, &save);
	if (!rule) {
		snprintf(err, errlen, "\"%s\" without a rule: a line is \"deny RULE\" or \"allow RULE\"", word);
		return -EINVAL;
	}
	extra = strtok_r(NULL, WORD_SPACE, &save);
	if (extra) {
		snprintf(err, errlen, "extra text after the rule: \"%s\" (one rule a line)", extra);
		return -EINVAL;
	}
	return policy_add_rule(p, action, rule, origin, err, errlen);
}

/* `path` opened for reading if it is a regular file. Opened without
 * blocking: a FIFO with no writer would wait for one for ever. */
static FILE *open_regular(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0 || fstat(fd, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		snprintf(err, errlen, "%s: not a regular file (a FIFO, device or socket): give the policy as a file",
			 path);
		goto fail;
	}
	f = fdopen(fd, "r");
	if (f)
		return f;
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
fail:
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return NULL;
}

int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen)
{
	char origin[POLICY_ORIGIN_LEN], reason[POLICY_TEXT_LEN + 64], *line = NULL;
	size_t cap = 0, lineno = 0, before = p->count;
	FILE *f = open_regular(path, err, errlen);
	ssize_t len;
	int rc = 0;

	if (!f)
		return -errno;
	for (;;) {
		errno = 0;
		len = getline(&line, &cap, f);
		if (len < 0)
			break;
		lineno++;
		snprintf(origin, sizeof(origin), "%s:%zu", path, lineno);
		rc = add_line(p, line, (size_t)len, origin, reason, sizeof(reason));
		if (rc) {
			snprintf(err, errlen, "%s:%zu: %s", path, lineno, reason);
			break;
		}
	}
	/* getline fails on a read error or out of memory (a huge line) as at
	 * the end: only the end sets EOF, and anything else is the whole
	 * policy's failure, not a shorter policy */
	if (!rc && !feof(f)) {
		rc = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s after line %zu", path, strerror(-rc), lineno);
	}
	free(line);
	fclose(f);
	if (rc)
		truncate_rules(p, before);
	return rc;
}

void policy_free(struct policy *p)
{
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

bool policy_name_matches(const struct policy_rule *r, const char *name)
{
	size_t len = strlen(name), rlen = strlen(r->name);

	if (r->kind == RULE_NET)
		return false;
	if (len && name[len - 1] == '.')
		len--;
	if (r->kind == RULE_HOST)
		return len == rlen && !strncasecmp(name, r->name, rlen);
	return len > rlen + 1 && name[len - rlen - 1] == '.' &&
	       !strncasecmp(name + len - rlen, r->name, rlen);
}

static bool in_network(const struct policy_rule *r, const uint8_t addr[16])
{
	uint8_t masked[16];

	memcpy(masked, addr, sizeof(masked));
	mask_address(masked, r->prefix);
	return !memcmp(masked, r->addr, sizeof(masked));
}

static bool connection_matches(const struct policy_rule *r, const uint8_t addr[16],
			       uint16_t port, const char *name)
{
	if (r->port && r->port != port)
		return false;
	if (r->kind == RULE_NET)
		return in_network(r, addr);
	return name && policy_name_matches(r, name);
}

/* The address a connection to `addr` reaches: an unspecified one
 * (0.0.0.0, ::ffff:0.0.0.0, ::) is this host, which the kernel reaches
 * through loopback (the enforced policy rewrites it so:
 * bpf_text/policy_cgroup.bpf.h). */
static void reached_address(const uint8_t addr[16], uint8_t out[16])
{
	static const uint8_t zero[16];
	bool v4 = address_is_v4_mapped(addr);

	memcpy(out, addr, 16);
	if (memcmp(addr + 12, zero, 4) || (!v4 && memcmp(addr, zero, 12)))
		return;
	if (v4)
		out[12] = 127;
	out[15] = 1;
}

struct verdict policy_check_connection(const struct policy *p, const uint8_t addr[16],
				       uint16_t port, const char *name)
{
	bool allowed = false;
	uint8_t reached[16];

	reached_address(addr, reached);
	for (size_t i = 0; i < p->count; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (!connection_matches(r, reached, port, name))
			continue;
		if (r->action == RULE_DENY)
			return (struct verdict){ .violation = true, .rule = r };
		allowed = true;
	}
	return (struct verdict){ .violation = p->nallow && !allowed };
}

struct verdict policy_check_lookup(const struct policy *p, const char *qname)
{
	for (size_t i = 0; i < p->count; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->action == RULE_DENY && r->kind != RULE_NET && !r->port &&
		    policy_name_matches(r, qname))
			return (struct verdict){ .violation = true, .rule = r };
	}
	return (struct verdict){ .violation = false };
}

/* The DNS wire form of `name` without its final zero label: "a.bc" is
 * 01 'a' 02 'b' 'c'. Returns its length. */
static size_t wire_form(const char *name, uint8_t *wire, size_t cap)
{
	size_t n = 0, length_at = 0;

	if (!*name || !strcmp(name, "."))
		return 0;
	wire[n++] = 0;
	for (; *name && n < cap; name++) {
		if (*name != '.') {
			wire[n++] = (uint8_t)ascii_lower(*name);
			wire[length_at]++;
		} else if (name[1]) {
			length_at = n;
			wire[n++] = 0;
		}
	}
	return n;
}

uint64_t policy_name_hash(const char *name)
{
	uint8_t wire[POLICY_NAME_LEN + 1];
	size_t n = wire_form(name, wire, sizeof(wire));
	uint64_t h = 0, pw = 1;

	/* from the end, so that the kernel's one backward pass over a query
	 * meets the hash of every suffix on the way */
	while (n-- > 0) {
		h += (uint64_t)((wire[n] | 0x20) + 1) * pw;
		pw *= DEPTRACE_NAME_HASH_MULT;
	}
	return h;
}
