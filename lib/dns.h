/* dns: the DNS messages deptrace captures on UDP port 53, parsed.
 *
 * The bytes come from traced processes, copied in the kernel and possibly
 * cut at the capture limit, so they are untrusted: a message that is
 * malformed anywhere in what is read is refused whole rather than guessed
 * at. Only the header, the question and the answer section are read; what
 * deptrace needs is the name asked for and the addresses it was given.
 *
 * Names are in presentation form: lowercased (ASCII), labels joined by '.',
 * no trailing dot, "." for the root. A label may hold only letters, digits,
 * '-', '_' and '*'; any other octet (a '.', a space, a control character)
 * makes the message invalid, so that every name printed is plain text and
 * no two different names read the same.
 */
#ifndef DEPTRACE_DNS_H
#define DEPTRACE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* presentation form: at most 253 characters + NUL */
#define DNS_NAME_LEN 256
#define DNS_MAX_ANSWERS 64
/* "TYPE65535" + NUL */
#define DNS_TYPE_NAME_LEN 10

enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33,
	DNS_TYPE_SVCB = 64,
	DNS_TYPE_HTTPS = 65,
	DNS_TYPE_ANY = 255,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
};

/* An answer record of class IN. */
struct dns_record {
	char owner[DNS_NAME_LEN];
	uint16_t type;
	uint32_t ttl;
	uint8_t addr[16];             /* A: the first 4 bytes; AAAA: all 16 */
	char target[DNS_NAME_LEN];    /* CNAME */
};

struct dns_message {
	uint16_t id;
	bool response;
	bool truncated_flag;          /* TC: the server cut the answer */
	bool partial;                 /* the capture ended inside the answers */
	uint8_t rcode;
	char qname[DNS_NAME_LEN];
	uint16_t qtype;
	/* The A, AAAA and CNAME records of the answer section, in order; other
	 * types, other classes and those beyond DNS_MAX_ANSWERS are skipped. */
	size_t nrecords;
	struct dns_record records[DNS_MAX_ANSWERS];
};

/* Parses the message in buf[0..len). Requires opcode QUERY and exactly one
 * question, which must be complete. Every answer record is walked and
 * checked, kept or not; when the capture ends inside the answer section the
 * complete records before the cut are kept and msg->partial is set.
 * Compression pointers must point before where the name (or the part of
 * it reached by the previous pointer) starts, which also rules out loops.
 * 0, or -EINVAL for anything malformed; msg->nrecords is then 0. */
int dns_parse(const uint8_t *buf, size_t len, struct dns_message *msg);

/* The addresses a NOERROR response gives for its question: A and AAAA
 * records owned by qname or by a name of the CNAME chain that starts at
 * qname; records of other owners are ignored. Each address is written once,
 * as 16 bytes, IPv4 as v4-mapped IPv6 (::ffff:a.b.c.d). Returns how many
 * were written, at most `max`. `canonical`, unless NULL, receives the last
 * name of the chain (qname when there is none). */
size_t dns_answer_addresses(const struct dns_message *msg, uint8_t (*addrs)[16],
			    size_t max, char *canonical, size_t canonical_len);

/* qname and the names its CNAME records lead to, in order, without
 * repeats, into `chain` (pointers into msg). Returns how many: at least 1. */
size_t dns_cname_chain(const struct dns_message *msg, const char *chain[DNS_MAX_ANSWERS + 1]);

/* "NOERROR", "NXDOMAIN", ...; "RCODE?" for the others. */
const char *dns_rcode_name(unsigned rcode);

/* "A", "AAAA", "HTTPS", ...; "TYPE%u" for the others (DNS_TYPE_NAME_LEN). */
void dns_type_name(unsigned type, char *buf, size_t len);

#endif
