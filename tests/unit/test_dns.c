/* Unit tests for lib/dns.h, on messages built byte by byte: well-formed
 * answers first, then the hostile and the cut ones a traced process or
 * the capture limit can hand the parser. */
#include "testutil.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns.h"

#define HEADER_LEN 12
#define QNAME_AT HEADER_LEN
#define FLAGS_QUERY 0x0100       /* RD */
#define FLAGS_RESPONSE 0x8180    /* QR RD RA */
#define FLAG_TC 0x0200
#define CLASS_IN 1
#define CLASS_CH 3
#define TTL 300

struct packet {
	uint8_t buf[4096];
	size_t len;
};

/* Big, so not on the stack of every test. */
static struct packet pkt;
static struct dns_message msg;

static void setup(void)
{
	memset(&pkt, 0, sizeof(pkt));
	memset(&msg, 0x5a, sizeof(msg));
}

static void put8(struct packet *p, unsigned v)
{
	ck_assert_uint_lt(p->len, sizeof(p->buf));
	p->buf[p->len++] = (uint8_t)v;
}

static void put16(struct packet *p, unsigned v)
{
	put8(p, v >> 8);
	put8(p, v & 0xff);
}

static void put32(struct packet *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p, v & 0xffff);
}

static void put_bytes(struct packet *p, const void *bytes, size_t n)
{
	ck_assert_uint_le(p->len + n, sizeof(p->buf));
	memcpy(p->buf + p->len, bytes, n);
	p->len += n;
}

/* Labels as they come, unchecked, so that tests can write bad ones;
 * "." is the root. Returns where the name starts. */
static size_t put_name(struct packet *p, const char *name)
{
	size_t at = p->len;

	while (*name && strcmp(name, ".")) {
		size_t n = strcspn(name, ".");

		put8(p, (unsigned)n);
		put_bytes(p, name, n);
		name += n + (name[n] == '.');
	}
	put8(p, 0);
	return at;
}

static void put_pointer(struct packet *p, size_t target)
{
	put16(p, 0xc000 | (unsigned)target);
}

/* `labels` ("web.example") not ended by the root label but by a pointer
 * to `target`. Returns where the name starts. */
static size_t put_labels_then_pointer(struct packet *p, const char *labels, size_t target)
{
	size_t at = put_name(p, labels);

	p->len--;
	put_pointer(p, target);
	return at;
}

static void put_header(struct packet *p, unsigned flags, unsigned qdcount,
		       unsigned ancount)
{
	put16(p, 0x1234);
	put16(p, flags);
	put16(p, qdcount);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
}

static void put_question(struct packet *p, const char *name, unsigned type)
{
	put_name(p, name);
	put16(p, type);
	put16(p, CLASS_IN);
}

/* What follows a record's owner: type, class, TTL, rdlength. */
static void put_fixed(struct packet *p, unsigned type, unsigned class, size_t rdlength)
{
	put16(p, type);
	put16(p, class);
	put32(p, TTL);
	put16(p, (unsigned)rdlength);
}

static void put_address(struct packet *p, const char *owner, const char *addr)
{
	uint8_t bytes[16];
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	size_t n = family == AF_INET6 ? 16 : 4;

	ck_assert_int_eq(inet_pton(family, addr, bytes), 1);
	put_name(p, owner);
	put_fixed(p, family == AF_INET6 ? DNS_TYPE_AAAA : DNS_TYPE_A, CLASS_IN, n);
	put_bytes(p, bytes, n);
}

static void put_cname(struct packet *p, const char *owner, const char *target)
{
	struct packet rdata = { .len = 0 };

	put_name(p, owner);
	put_name(&rdata, target);
	put_fixed(p, DNS_TYPE_CNAME, CLASS_IN, rdata.len);
	put_bytes(p, rdata.buf, rdata.len);
}

/* A record of a type the parser skips (TXT) holding `n` raw bytes. */
static void put_opaque(struct packet *p, const char *owner, const void *bytes, size_t n)
{
	put_name(p, owner);
	put_fixed(p, DNS_TYPE_TXT, CLASS_IN, n);
	put_bytes(p, bytes, n);
}

/* Sets the answer count of a packet already built. */
static void set_ancount(struct packet *p, unsigned ancount)
{
	p->buf[6] = (uint8_t)(ancount >> 8);
	p->buf[7] = (uint8_t)ancount;
}

static int parse(size_t len)
{
	return dns_parse(pkt.buf, len, &msg);
}

static void assert_invalid(void)
{
	ck_assert_int_eq(parse(pkt.len), -EINVAL);
	ck_assert_uint_eq(msg.nrecords, 0);
}

static void format_address(const uint8_t addr[16], char *buf, size_t len)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	char text[INET6_ADDRSTRLEN];

	if (memcmp(addr, mapped, 12))
		inet_ntop(AF_INET6, addr, text, sizeof(text));
	else
		inet_ntop(AF_INET, addr + 12, text, sizeof(text));
	snprintf(buf, len, "%s", text);
}

static char canonical[DNS_NAME_LEN];

/* dns_answer_addresses as text ("192.0.2.7 2001:db8::7"), at most `max`;
 * fills `canonical`. */
static const char *addresses_max(size_t max)
{
	static char text[DNS_MAX_ANSWERS * (INET6_ADDRSTRLEN + 1)];
	uint8_t addrs[DNS_MAX_ANSWERS][16];
	size_t n, used = 0;

	memset(canonical, 'X', sizeof(canonical));
	n = dns_answer_addresses(&msg, addrs, max, canonical, sizeof(canonical));
	ck_assert_uint_le(n, max);
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char one[INET6_ADDRSTRLEN];

		format_address(addrs[i], one, sizeof(one));
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s",
					 i ? " " : "", one);
	}
	return text;
}

static const char *addresses(void)
{
	return addresses_max(DNS_MAX_ANSWERS);
}

START_TEST(test_a_answer)
{
	static const uint8_t want[16] = {
		[10] = 0xff, [11] = 0xff, [12] = 192, [13] = 0, [14] = 2, [15] = 10,
	};
	uint8_t addrs[4][16];

	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.id, 0x1234);
	ck_assert(msg.response);
	ck_assert(!msg.truncated_flag);
	ck_assert(!msg.partial);
	ck_assert_uint_eq(msg.rcode, 0);
	ck_assert_str_eq(msg.qname, "forge.example.com");
	ck_assert_uint_eq(msg.qtype, DNS_TYPE_A);
	ck_assert_uint_eq(msg.nrecords, 1);
	ck_assert_str_eq(msg.records[0].owner, "forge.example.com");
	ck_assert_uint_eq(msg.records[0].type, DNS_TYPE_A);
	ck_assert_uint_eq(msg.records[0].ttl, TTL);
	ck_assert_mem_eq(msg.records[0].addr, want + 12, 4);
	ck_assert_str_eq(msg.records[0].target, "");

	ck_assert_str_eq(addresses(), "192.0.2.10");
	ck_assert_str_eq(canonical, "forge.example.com");
	/* IPv4 comes back v4-mapped */
	ck_assert_uint_eq(dns_answer_addresses(&msg, addrs, 4, NULL, 0), 1);
	ck_assert_mem_eq(addrs[0], want, 16);
}
END_TEST

START_TEST(test_aaaa_answer)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, "forge.example.com", DNS_TYPE_AAAA);
	put_address(&pkt, "forge.example.com", "2001:db8::10");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.qtype, DNS_TYPE_AAAA);
	ck_assert_uint_eq(msg.nrecords, 1);
	ck_assert_uint_eq(msg.records[0].type, DNS_TYPE_AAAA);
	ck_assert_str_eq(addresses(), "2001:db8::10");
}
END_TEST

START_TEST(test_cname_chain)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 4);
	put_question(&pkt, "www.example.com", DNS_TYPE_A);
	put_cname(&pkt, "www.example.com", "web.example.net");
	/* an address for another name: not one of www's */
	put_address(&pkt, "unrelated.example.org", "198.51.100.66");
	put_cname(&pkt, "web.example.net", "edge.example.net");
	put_address(&pkt, "edge.example.net", "192.0.2.7");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.nrecords, 4);
	ck_assert_str_eq(msg.records[0].target, "web.example.net");
	ck_assert_str_eq(addresses(), "192.0.2.7");
	ck_assert_str_eq(canonical, "edge.example.net");
}
END_TEST

/* Only an address of the chain's names counts, not one of a name the
 * chain does not reach, even when a CNAME record mentions it. */
START_TEST(test_cname_off_chain)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 3);
	put_question(&pkt, "www.example.com", DNS_TYPE_A);
	put_cname(&pkt, "other.example.com", "www.example.com");
	put_address(&pkt, "other.example.com", "198.51.100.1");
	put_address(&pkt, "www.example.com", "192.0.2.1");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_str_eq(addresses(), "192.0.2.1");
	ck_assert_str_eq(canonical, "www.example.com");
}
END_TEST

START_TEST(test_cname_loop)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 4);
	put_question(&pkt, "a.example", DNS_TYPE_A);
	put_cname(&pkt, "a.example", "b.example");
	put_cname(&pkt, "b.example", "a.example");
	put_cname(&pkt, "b.example", "b.example");
	put_address(&pkt, "b.example", "192.0.2.1");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_str_eq(addresses(), "192.0.2.1");
	ck_assert_str_eq(canonical, "b.example");
}
END_TEST

START_TEST(test_multiple_answers)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 5);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	put_address(&pkt, "forge.example.com", "192.0.2.11");
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	put_address(&pkt, "forge.example.com", "2001:db8::10");
	put_address(&pkt, "forge.example.com", "192.0.2.12");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.nrecords, 5);
	/* in answer order, each once */
	ck_assert_str_eq(addresses(), "192.0.2.10 192.0.2.11 2001:db8::10 192.0.2.12");
	ck_assert_str_eq(addresses_max(2), "192.0.2.10 192.0.2.11");
	ck_assert_str_eq(addresses_max(0), "");
}
END_TEST

START_TEST(test_nxdomain)
{
	put_header(&pkt, FLAGS_RESPONSE | DNS_RCODE_NXDOMAIN, 1, 0);
	put_question(&pkt, "nothere.example.com", DNS_TYPE_A);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.rcode, DNS_RCODE_NXDOMAIN);
	ck_assert_str_eq(dns_rcode_name(msg.rcode), "NXDOMAIN");
	ck_assert_uint_eq(msg.nrecords, 0);
	ck_assert_str_eq(addresses(), "");
	ck_assert_str_eq(canonical, "nothere.example.com");
}
END_TEST

/* An address in a failed answer is not believed. */
START_TEST(test_servfail)
{
	put_header(&pkt, FLAGS_RESPONSE | DNS_RCODE_SERVFAIL, 1, 1);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.rcode, DNS_RCODE_SERVFAIL);
	ck_assert_str_eq(dns_rcode_name(msg.rcode), "SERVFAIL");
	ck_assert_uint_eq(msg.nrecords, 1);
	ck_assert_str_eq(addresses(), "");
}
END_TEST

START_TEST(test_query)
{
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, "forge.example.com", DNS_TYPE_AAAA);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert(!msg.response);
	ck_assert_str_eq(msg.qname, "forge.example.com");
	ck_assert_uint_eq(msg.qtype, DNS_TYPE_AAAA);
	ck_assert_uint_eq(msg.nrecords, 0);

	/* a query carrying answers gives no addresses either */
	put_address(&pkt, "forge.example.com", "2001:db8::10");
	set_ancount(&pkt, 1);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.nrecords, 1);
	ck_assert_str_eq(addresses(), "");
}
END_TEST

START_TEST(test_tc_flag)
{
	put_header(&pkt, FLAGS_RESPONSE | FLAG_TC, 1, 0);
	put_question(&pkt, "big.example.com", DNS_TYPE_TXT);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert(msg.truncated_flag);
	ck_assert(!msg.partial);
}
END_TEST

/* Only QUERY: an UPDATE's second section holds prerequisites, not answers. */
START_TEST(test_other_opcode)
{
	put_header(&pkt, FLAGS_RESPONSE | 5 << 11, 1, 1);
	put_question(&pkt, "example.com", DNS_TYPE_SOA);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	assert_invalid();
}
END_TEST

START_TEST(test_uppercase)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 2);
	put_question(&pkt, "WWW.Example.COM", DNS_TYPE_A);
	put_cname(&pkt, "www.EXAMPLE.com", "Web.Example.NET");
	put_address(&pkt, "WEB.example.net", "192.0.2.7");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_str_eq(msg.qname, "www.example.com");
	ck_assert_str_eq(msg.records[0].owner, "www.example.com");
	ck_assert_str_eq(msg.records[0].target, "web.example.net");
	ck_assert_str_eq(msg.records[1].owner, "web.example.net");
	ck_assert_str_eq(addresses(), "192.0.2.7");
}
END_TEST

START_TEST(test_label_characters)
{
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, "_sip._tcp.*.host-1.example", DNS_TYPE_SRV);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_str_eq(msg.qname, "_sip._tcp.*.host-1.example");

	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, "bad name.example", DNS_TYPE_A);
	assert_invalid();

	/* a '.' inside a label would read as two labels */
	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put8(&pkt, 7);
	put_bytes(&pkt, "forge.x", 7);
	put_question(&pkt, "example", DNS_TYPE_A);
	assert_invalid();

	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, "esc\033[31m.example", DNS_TYPE_A);
	assert_invalid();
}
END_TEST

START_TEST(test_root_name)
{
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, ".", DNS_TYPE_NS);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_str_eq(msg.qname, ".");
}
END_TEST

START_TEST(test_compression)
{
	size_t example_com = QNAME_AT + 4, target_at;

	put_header(&pkt, FLAGS_RESPONSE, 1, 3);
	put_question(&pkt, "www.example.com", DNS_TYPE_A);
	/* www.example.com CNAME web.example.com, both compressed */
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_CNAME, CLASS_IN, 6);
	target_at = put_labels_then_pointer(&pkt, "web", example_com);
	/* web.example.com A: a pointer to the CNAME's target */
	put_pointer(&pkt, target_at);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x07", 4);
	/* and again through a pointer to that pointer */
	put_pointer(&pkt, pkt.len - 16);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x08", 4);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.nrecords, 3);
	ck_assert_str_eq(msg.records[0].owner, "www.example.com");
	ck_assert_str_eq(msg.records[0].target, "web.example.com");
	ck_assert_str_eq(msg.records[1].owner, "web.example.com");
	ck_assert_str_eq(msg.records[2].owner, "web.example.com");
	ck_assert_str_eq(addresses(), "192.0.2.7 192.0.2.8");
	ck_assert(!msg.partial);
}
END_TEST

START_TEST(test_pointer_to_itself)
{
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_pointer(&pkt, QNAME_AT);
	put16(&pkt, DNS_TYPE_A);
	put16(&pkt, CLASS_IN);
	assert_invalid();

	/* a label, then back to it */
	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_labels_then_pointer(&pkt, "loop", QNAME_AT);
	put16(&pkt, DNS_TYPE_A);
	put16(&pkt, CLASS_IN);
	assert_invalid();
}
END_TEST

/* Two pointers pointing at each other, kept in a record the parser skips
 * and reached from a later owner name. */
START_TEST(test_pointer_cycle)
{
	uint8_t cycle[4];
	size_t at, owner;

	put_header(&pkt, FLAGS_RESPONSE, 1, 2);
	put_question(&pkt, "example.com", DNS_TYPE_A);
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_TXT, CLASS_IN, sizeof(cycle));
	at = pkt.len;
	cycle[0] = 0xc0;
	cycle[1] = (uint8_t)(at + 2);
	cycle[2] = 0xc0;
	cycle[3] = (uint8_t)at;
	put_bytes(&pkt, cycle, sizeof(cycle));
	owner = pkt.len;
	put_pointer(&pkt, at + 2);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x01", 4);
	assert_invalid();
	/* the same, entered at the other pointer */
	pkt.buf[owner + 1] = (uint8_t)at;
	assert_invalid();
}
END_TEST

START_TEST(test_forward_pointer)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_pointer(&pkt, QNAME_AT + 6);
	put16(&pkt, DNS_TYPE_A);
	put16(&pkt, CLASS_IN);
	put_address(&pkt, "example.com", "192.0.2.1");
	assert_invalid();
}
END_TEST

/* An answer whose owner is reached through `jumps` pointers: a pointer to
 * the last of a chain of pointers, each to the one before, the first to
 * the name "x". */
static void build_pointer_chain(unsigned jumps)
{
	size_t prev, i;

	put_header(&pkt, FLAGS_RESPONSE, 1, 2);
	put_question(&pkt, "x", DNS_TYPE_A);
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_TXT, CLASS_IN, 3 + 2 * (jumps - 1));
	prev = put_name(&pkt, "x");
	for (i = 0; i < jumps - 1; i++) {
		put_pointer(&pkt, prev);
		prev = pkt.len - 2;
	}
	put_pointer(&pkt, prev);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x01", 4);
}

START_TEST(test_pointer_chain)
{
	build_pointer_chain(64);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.nrecords, 1);
	ck_assert_str_eq(msg.records[0].owner, "x");
	ck_assert_str_eq(addresses(), "192.0.2.1");

	memset(&pkt, 0, sizeof(pkt));
	build_pointer_chain(65);
	assert_invalid();
}
END_TEST

/* "aaa...a" of n characters, for labels of chosen lengths. */
static const char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

START_TEST(test_label_length)
{
	char label[65], name[80];

	put_header(&pkt, FLAGS_QUERY, 1, 0);
	snprintf(name, sizeof(name), "%s.example", repeat(label, 'a', 63));
	put_question(&pkt, name, DNS_TYPE_A);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_str_eq(msg.qname, name);

	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	snprintf(name, sizeof(name), "%s.example", repeat(label, 'a', 64));
	put_question(&pkt, name, DNS_TYPE_A);
	assert_invalid();
}
END_TEST

/* Three labels of 63 and one of `last`: 192 + last + 2 octets on the wire. */
static void long_name(char *name, size_t len, size_t last)
{
	char l63[64], tail[64];

	repeat(l63, 'a', 63);
	snprintf(name, len, "%s.%s.%s.%s", l63, l63, l63, repeat(tail, 'b', last));
}

START_TEST(test_name_length)
{
	char name[300];

	/* 255 octets: the longest name, 253 characters */
	long_name(name, sizeof(name), 61);
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, name, DNS_TYPE_A);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(strlen(msg.qname), 253);
	ck_assert_str_eq(msg.qname, name);

	memset(&pkt, 0, sizeof(pkt));
	long_name(name, sizeof(name), 62);
	put_header(&pkt, FLAGS_QUERY, 1, 0);
	put_question(&pkt, name, DNS_TYPE_A);
	assert_invalid();
}
END_TEST

/* Too long only once a pointer joins two parts that are fine alone. */
START_TEST(test_name_length_through_pointer)
{
	char name[300], label[64];

	long_name(name, sizeof(name), 1);
	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, name, DNS_TYPE_A);
	/* 64 + 3 * 64 + 3 = 259 octets */
	put_labels_then_pointer(&pkt, repeat(label, 'c', 63), QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x01", 4);
	assert_invalid();
}
END_TEST

START_TEST(test_question_count)
{
	put_header(&pkt, FLAGS_RESPONSE, 0, 1);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	assert_invalid();

	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_RESPONSE, 2, 1);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_question(&pkt, "other.example.com", DNS_TYPE_A);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	assert_invalid();
}
END_TEST

/* The capture ended inside the answers: what came before the cut holds. */
START_TEST(test_answers_cut)
{
	size_t full;

	put_header(&pkt, FLAGS_RESPONSE, 1, 3);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	put_address(&pkt, "forge.example.com", "192.0.2.11");
	full = pkt.len;
	ck_assert_int_eq(parse(full), 0);
	ck_assert(msg.partial);
	ck_assert_uint_eq(msg.nrecords, 2);
	ck_assert_str_eq(addresses(), "192.0.2.10 192.0.2.11");

	/* cut inside the third record's owner, fixed part, rdata */
	put_address(&pkt, "forge.example.com", "192.0.2.12");
	for (size_t len = full + 1; len < pkt.len; len++) {
		ck_assert_int_eq(parse(len), 0);
		ck_assert(msg.partial);
		ck_assert_uint_eq(msg.nrecords, 2);
	}
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert(!msg.partial);
	ck_assert_uint_eq(msg.nrecords, 3);
}
END_TEST

START_TEST(test_question_cut)
{
	size_t answers;

	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	answers = pkt.len;
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	for (size_t len = 0; len < answers; len++)
		ck_assert_msg(parse(len) == -EINVAL, "cut at %zu parsed", len);
	ck_assert_int_eq(parse(answers), 0);
	ck_assert(msg.partial);
}
END_TEST

START_TEST(test_rdata_length)
{
	/* an A record of 5 bytes condemns the message */
	put_header(&pkt, FLAGS_RESPONSE, 1, 2);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 5);
	put_bytes(&pkt, "\xc0\x00\x02\x0b\x00", 5);
	assert_invalid();

	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, "forge.example.com", DNS_TYPE_AAAA);
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_AAAA, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x0b", 4);
	assert_invalid();
}
END_TEST

/* A CNAME's target must fill its rdata exactly. */
START_TEST(test_cname_rdata_length)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, "www.example.com", DNS_TYPE_A);
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_CNAME, CLASS_IN, 6);
	put_name(&pkt, "web");
	put_bytes(&pkt, "\0", 1);
	assert_invalid();

	/* a target running past its rdata, into bytes that would end it */
	memset(&pkt, 0, sizeof(pkt));
	put_header(&pkt, FLAGS_RESPONSE, 1, 1);
	put_question(&pkt, "www.example.com", DNS_TYPE_A);
	put_pointer(&pkt, QNAME_AT);
	put_fixed(&pkt, DNS_TYPE_CNAME, CLASS_IN, 3);
	put_name(&pkt, "web");
	assert_invalid();
}
END_TEST

/* Records of other types and classes are walked over, not kept. */
START_TEST(test_skipped_records)
{
	put_header(&pkt, FLAGS_RESPONSE, 1, 4);
	put_question(&pkt, "forge.example.com", DNS_TYPE_A);
	put_opaque(&pkt, "forge.example.com", "\x00\x0a\x04mail\xc0\x0c", 9);
	put_name(&pkt, "forge.example.com");
	put_fixed(&pkt, DNS_TYPE_A, CLASS_CH, 4);
	put_bytes(&pkt, "\xc6\x33\x64\x01", 4);
	/* a skipped record's rdata is not checked against A's */
	put_name(&pkt, "forge.example.com");
	put_fixed(&pkt, DNS_TYPE_MX, CLASS_IN, 5);
	put_bytes(&pkt, "\x00\x0a\x01m\x00", 5);
	put_address(&pkt, "forge.example.com", "192.0.2.10");
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert_uint_eq(msg.nrecords, 1);
	ck_assert_str_eq(addresses(), "192.0.2.10");
}
END_TEST

static void put_many_answers(unsigned n)
{
	char addr[INET_ADDRSTRLEN];

	put_header(&pkt, FLAGS_RESPONSE, 1, n);
	put_question(&pkt, "many.example.com", DNS_TYPE_A);
	for (unsigned i = 0; i < n; i++) {
		snprintf(addr, sizeof(addr), "192.0.2.%u", i + 1);
		put_address(&pkt, "many.example.com", addr);
	}
}

START_TEST(test_beyond_max_answers)
{
	put_many_answers(DNS_MAX_ANSWERS + 8);
	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert(!msg.partial);
	ck_assert_uint_eq(msg.nrecords, DNS_MAX_ANSWERS);
	ck_assert_str_eq(msg.records[DNS_MAX_ANSWERS - 1].owner, "many.example.com");
	ck_assert_mem_eq(msg.records[DNS_MAX_ANSWERS - 1].addr,
			 ((uint8_t[]){ 192, 0, 2, DNS_MAX_ANSWERS }), 4);

	/* records past the limit are still checked */
	memset(&pkt, 0, sizeof(pkt));
	put_many_answers(DNS_MAX_ANSWERS + 8);
	set_ancount(&pkt, DNS_MAX_ANSWERS + 9);
	put_pointer(&pkt, pkt.len + 4);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x01", 4);
	assert_invalid();
}
END_TEST

/* Whatever a cut leaves, the parser never crashes and never hands out an
 * address the whole answer did not give for the name. */
START_TEST(test_every_prefix)
{
	static const char *const given[] = {
		"192.0.2.7", "192.0.2.8", "2001:db8::7",
	};
	size_t example_net;
	char addrs[256];

	put_header(&pkt, FLAGS_RESPONSE, 1, 6);
	put_question(&pkt, "www.example.com", DNS_TYPE_A);
	put_cname(&pkt, "www.example.com", "web.example.net");
	example_net = pkt.len - 13;
	put_address(&pkt, "unrelated.example.org", "198.51.100.66");
	put_labels_then_pointer(&pkt, "web", example_net);
	put_fixed(&pkt, DNS_TYPE_A, CLASS_IN, 4);
	put_bytes(&pkt, "\xc0\x00\x02\x07", 4);
	put_address(&pkt, "web.example.net", "192.0.2.8");
	put_opaque(&pkt, "www.example.com", "\x04text", 5);
	put_address(&pkt, "web.example.net", "2001:db8::7");

	ck_assert_int_eq(parse(pkt.len), 0);
	ck_assert(!msg.partial);
	ck_assert_str_eq(addresses(), "192.0.2.7 192.0.2.8 2001:db8::7");
	for (size_t len = 0; len <= pkt.len; len++) {
		int rc = parse(len);

		ck_assert(rc == 0 || rc == -EINVAL);
		if (rc)
			continue;
		ck_assert(msg.partial == (len < pkt.len));
		snprintf(addrs, sizeof(addrs), "%s", addresses());
		for (char *save, *a = strtok_r(addrs, " ", &save); a;
		     a = strtok_r(NULL, " ", &save)) {
			bool known = false;

			for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++)
				known = known || !strcmp(a, given[i]);
			ck_assert_msg(known, "cut at %zu gave %s", len, a);
		}
	}
}
END_TEST

START_TEST(test_code_names)
{
	char buf[DNS_TYPE_NAME_LEN], small[3];

	ck_assert_str_eq(dns_rcode_name(0), "NOERROR");
	ck_assert_str_eq(dns_rcode_name(1), "FORMERR");
	ck_assert_str_eq(dns_rcode_name(2), "SERVFAIL");
	ck_assert_str_eq(dns_rcode_name(3), "NXDOMAIN");
	ck_assert_str_eq(dns_rcode_name(4), "NOTIMP");
	ck_assert_str_eq(dns_rcode_name(5), "REFUSED");
	ck_assert_str_eq(dns_rcode_name(9), "RCODE?");
	ck_assert_str_eq(dns_rcode_name(4096), "RCODE?");

	dns_type_name(DNS_TYPE_A, buf, sizeof(buf));
	ck_assert_str_eq(buf, "A");
	dns_type_name(DNS_TYPE_AAAA, buf, sizeof(buf));
	ck_assert_str_eq(buf, "AAAA");
	dns_type_name(DNS_TYPE_CNAME, buf, sizeof(buf));
	ck_assert_str_eq(buf, "CNAME");
	dns_type_name(DNS_TYPE_HTTPS, buf, sizeof(buf));
	ck_assert_str_eq(buf, "HTTPS");
	dns_type_name(DNS_TYPE_SVCB, buf, sizeof(buf));
	ck_assert_str_eq(buf, "SVCB");
	dns_type_name(DNS_TYPE_ANY, buf, sizeof(buf));
	ck_assert_str_eq(buf, "ANY");
	dns_type_name(99, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TYPE99");
	dns_type_name(65535, buf, sizeof(buf));
	ck_assert_str_eq(buf, "TYPE65535");
	dns_type_name(65535, small, sizeof(small));
	ck_assert_str_eq(small, "TY");
}
END_TEST

static Suite *dns_suite(void)
{
	Suite *s = suite_create("dns");
	TCase *answers = tcase_create("answers");
	TCase *hostile = tcase_create("hostile");
	TCase *names = tcase_create("names");

	tcase_add_checked_fixture(answers, setup, NULL);
	tcase_add_test(answers, test_a_answer);
	tcase_add_test(answers, test_aaaa_answer);
	tcase_add_test(answers, test_cname_chain);
	tcase_add_test(answers, test_cname_off_chain);
	tcase_add_test(answers, test_cname_loop);
	tcase_add_test(answers, test_multiple_answers);
	tcase_add_test(answers, test_nxdomain);
	tcase_add_test(answers, test_servfail);
	tcase_add_test(answers, test_query);
	tcase_add_test(answers, test_tc_flag);
	tcase_add_test(answers, test_other_opcode);
	tcase_add_test(answers, test_uppercase);
	tcase_add_test(answers, test_label_characters);
	tcase_add_test(answers, test_root_name);
	tcase_add_test(answers, test_compression);
	tcase_add_test(answers, test_skipped_records);
	tcase_add_test(answers, test_beyond_max_answers);
	suite_add_tcase(s, answers);

	tcase_add_checked_fixture(hostile, setup, NULL);
	tcase_add_test(hostile, test_pointer_to_itself);
	tcase_add_test(hostile, test_pointer_cycle);
	tcase_add_test(hostile, test_forward_pointer);
	tcase_add_test(hostile, test_pointer_chain);
	tcase_add_test(hostile, test_label_length);
	tcase_add_test(hostile, test_name_length);
	tcase_add_test(hostile, test_name_length_through_pointer);
	tcase_add_test(hostile, test_question_count);
	tcase_add_test(hostile, test_answers_cut);
	tcase_add_test(hostile, test_question_cut);
	tcase_add_test(hostile, test_rdata_length);
	tcase_add_test(hostile, test_cname_rdata_length);
	tcase_add_test(hostile, test_every_prefix);
	suite_add_tcase(s, hostile);

	tcase_add_test(names, test_code_names);
	suite_add_tcase(s, names);
	return s;
}

int main(void)
{
	return run_suite(dns_suite());
}
