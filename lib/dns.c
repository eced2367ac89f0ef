/* dns: see dns.h. */
#include "dns.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define HEADER_LEN 12
#define QUESTION_TAIL 4      /* type, class */
#define RECORD_FIXED 10      /* type, class, ttl, rdlength */
#define MAX_WIRE_NAME 255
#define MAX_LABEL 63
/* Decreasing pointers already end every walk; this keeps it short. */
#define MAX_JUMPS 64
#define CLASS_IN 1

#define FLAG_QR 0x8000
#define FLAG_TC 0x0200
#define OPCODE(flags) (((flags) >> 11) & 0xf)
#define RCODE(flags) ((flags) & 0xf)

/* A read that runs past the end of the capture is not the same failure as
 * a malformed one: in the answer section it only ends what can be read. */
enum step {
	STEP_OK,
	STEP_CUT,
	STEP_BAD,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool label_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
}

/* Appends label[0..n) to out, which holds *used characters. */
static enum step append_label(const uint8_t *label, size_t n, char *out, size_t *used)
{
	if (*used)
		out[(*used)++] = '.';
	for (size_t i = 0; i < n; i++) {
		if (!label_char(label[i]))
			return STEP_BAD;
		out[(*used)++] = (char)(label[i] >= 'A' && label[i] <= 'Z' ?
					label[i] + ('a' - 'A') : label[i]);
	}
	return STEP_OK;
}

/* Reads the name at *pos in buf[0..len) into out (DNS_NAME_LEN) and moves
 * *pos past it. The wire length check (255) also bounds what is written:
 * 253 characters at most. */
static enum step read_name(const uint8_t *buf, size_t len, size_t *pos, char *out)
{
	size_t at = *pos, floor = *pos, wire = 0, used = 0;
	size_t end = 0; /* just after the first pointer, once one is met */
	unsigned jumps = 0;

	for (;;) {
		uint8_t n;

		if (at >= len)
			return STEP_CUT;
		n = buf[at];
		if ((n & 0xc0) == 0xc0) {
			size_t target;

			if (at + 1 >= len)
				return STEP_CUT;
			target = (size_t)(n & 0x3f) << 8 | buf[at + 1];
			if (target >= floor || ++jumps > MAX_JUMPS)
				return STEP_BAD;
			if (!end)
				end = at + 2;
			at = floor = target;
			continue;
		}
		/* 0x40 and 0x80: obsolete extended label types */
		if (n > MAX_LABEL)
			return STEP_BAD;
		wire += n + 1u;
		if (wire > MAX_WIRE_NAME)
			return STEP_BAD;
		if (n == 0)
			break;
		if (at + 1 + n > len)
			return STEP_CUT;
		if (append_label(buf + at + 1, n, out, &used) != STEP_OK)
			return STEP_BAD;
		at += 1 + n;
	}
	if (used)
		out[used] = '\0';
	else
		strcpy(out, ".");
	*pos = end ? end : at + 1;
	return STEP_OK;
}

static enum step read_question(const uint8_t *buf, size_t len, size_t *pos,
			       struct dns_message *msg)
{
	enum step step = read_name(buf, len, pos, msg->qname);

	if (step != STEP_OK)
		return step;
	if (len - *pos < QUESTION_TAIL)
		return STEP_CUT;
	msg->qtype = get16(buf + *pos);
	*pos += QUESTION_TAIL;
	return STEP_OK;
}

/* Checks the rdata of a kept record against its type and copies it. */
static enum step read_rdata(const uint8_t *buf, size_t rdata, size_t rdlength,
			    struct dns_record *rec)
{
	size_t at = rdata;

	switch (rec->type) {
	case DNS_TYPE_A:
		if (rdlength != 4)
			return STEP_BAD;
		memcpy(rec->addr, buf + rdata, 4);
		return STEP_OK;
	case DNS_TYPE_AAAA:
		if (rdlength != 16)
			return STEP_BAD;
		memcpy(rec->addr, buf + rdata, 16);
		return STEP_OK;
	}
	/* CNAME: the name must fill the rdata exactly; running past it is
	 * malformed, not cut, since the whole rdata is in the buffer */
	if (read_name(buf, rdata + rdlength, &at, rec->target) != STEP_OK ||
	    at != rdata + rdlength)
		return STEP_BAD;
	return STEP_OK;
}

static bool kept_type(uint16_t type)
{
	return type == DNS_TYPE_A || type == DNS_TYPE_AAAA || type == DNS_TYPE_CNAME;
}

/* Reads the answer record at *pos; keeps it in msg if it is of interest
 * and there is room. Records not kept still have their owner checked. */
static enum step read_answer(const uint8_t *buf, size_t len, size_t *pos,
			     struct dns_message *msg)
{
	struct dns_record *rec = &msg->records[msg->nrecords];
	bool room = msg->nrecords < DNS_MAX_ANSWERS;
	char skipped[DNS_NAME_LEN];
	const uint8_t *fixed;
	size_t rdata, rdlength;
	uint16_t type;
	enum step step;

	step = read_name(buf, len, pos, room ? rec->owner : skipped);
	if (step != STEP_OK)
		return step;
	if (len - *pos < RECORD_FIXED)
		return STEP_CUT;
	fixed = buf + *pos;
	type = get16(fixed);
	rdlength = get16(fixed + 8);
	rdata = *pos + RECORD_FIXED;
	if (len - rdata < rdlength)
		return STEP_CUT;
	*pos = rdata + rdlength;
	if (!room || !kept_type(type) || get16(fixed + 2) != CLASS_IN)
		return STEP_OK;
	rec->type = type;
	rec->ttl = get32(fixed + 4);
	memset(rec->addr, 0, sizeof(rec->addr));
	rec->target[0] = '\0';
	step = read_rdata(buf, rdata, rdlength, rec);
	if (step == STEP_OK)
		msg->nrecords++;
	return step;
}

static int parse(const uint8_t *buf, size_t len, struct dns_message *msg)
{
	size_t pos = HEADER_LEN;
	uint16_t flags, ancount;

	if (len < HEADER_LEN)
		return -EINVAL;
	msg->id = get16(buf);
	flags = get16(buf + 2);
	if (OPCODE(flags) != 0 || get16(buf + 4) != 1)
		return -EINVAL;
	msg->response = flags & FLAG_QR;
	msg->truncated_flag = flags & FLAG_TC;
	msg->rcode = RCODE(flags);
	ancount = get16(buf + 6);
	if (read_question(buf, len, &pos, msg) != STEP_OK)
		return -EINVAL;
	for (unsigned i = 0; i < ancount; i++) {
		enum step step = read_answer(buf, len, &pos, msg);

		if (step == STEP_BAD)
			return -EINVAL;
		if (step == STEP_CUT) {
			msg->partial = true;
			break;
		}
	}
	return 0;
}

int dns_parse(const uint8_t *buf, size_t len, struct dns_message *msg)
{
	int rc;

	memset(msg, 0, sizeof(*msg));
	rc = parse(buf, len, msg);
	if (rc)
		msg->nrecords = 0;
	return rc;
}

static const char *cname_of(const struct dns_message *msg, const char *owner)
{
	for (size_t i = 0; i < msg->nrecords; i++) {
		const struct dns_record *rec = &msg->records[i];

		if (rec->type == DNS_TYPE_CNAME && !strcmp(rec->owner, owner))
			return rec->target;
	}
	return NULL;
}

static bool listed(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

/* Each step uses a different CNAME record, so a loop ends when it
 * closes. */
size_t dns_cname_chain(const struct dns_message *msg, const char *chain[DNS_MAX_ANSWERS + 1])
{
	size_t n = 1;

	chain[0] = msg->qname;
	while (n < DNS_MAX_ANSWERS + 1) {
		const char *next = cname_of(msg, chain[n - 1]);

		if (!next || listed(chain, n, next))
			break;
		chain[n++] = next;
	}
	return n;
}

static void record_address(const struct dns_record *rec, uint8_t addr[16])
{
	if (rec->type == DNS_TYPE_AAAA) {
		memcpy(addr, rec->addr, 16);
		return;
	}
	memset(addr, 0, 10);
	addr[10] = addr[11] = 0xff;
	memcpy(addr + 12, rec->addr, 4);
}

static bool have_address(uint8_t (*addrs)[16], size_t n, const uint8_t addr[16])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(addrs[i], addr, 16))
			return true;
	return false;
}

size_t dns_answer_addresses(const struct dns_message *msg, uint8_t (*addrs)[16],
			    size_t max, char *canonical, size_t canonical_len)
{
	const char *chain[DNS_MAX_ANSWERS + 1];
	size_t nchain = dns_cname_chain(msg, chain), n = 0;

	if (canonical)
		snprintf(canonical, canonical_len, "%s", chain[nchain - 1]);
	if (!msg->response || msg->rcode != DNS_RCODE_NOERROR)
		return 0;
	for (size_t i = 0; i < msg->nrecords && n < max; i++) {
		const struct dns_record *rec = &msg->records[i];
		uint8_t addr[16];

		if (rec->type == DNS_TYPE_CNAME || !listed(chain, nchain, rec->owner))
			continue;
		record_address(rec, addr);
		if (!have_address(addrs, n, addr))
			memcpy(addrs[n++], addr, 16);
	}
	return n;
}

const char *dns_rcode_name(unsigned rcode)
{
	switch (rcode) {
	case DNS_RCODE_NOERROR: return "NOERROR";
	case DNS_RCODE_FORMERR: return "FORMERR";
	case DNS_RCODE_SERVFAIL: return "SERVFAIL";
	case DNS_RCODE_NXDOMAIN: return "NXDOMAIN";
	case DNS_RCODE_NOTIMP: return "NOTIMP";
	case DNS_RCODE_REFUSED: return "REFUSED";
	}
	return "RCODE?";
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case DNS_TYPE_A: return "A";
	case DNS_TYPE_NS: return "NS";
	case DNS_TYPE_CNAME: return "CNAME";
	case DNS_TYPE_SOA: return "SOA";
	case DNS_TYPE_PTR: return "PTR";
	case DNS_TYPE_MX: return "MX";
	case DNS_TYPE_TXT: return "TXT";
	case DNS_TYPE_AAAA: return "AAAA";
	case DNS_TYPE_SRV: return "SRV";
	case DNS_TYPE_SVCB: return "SVCB";
	case DNS_TYPE_HTTPS: return "HTTPS";
	case DNS_TYPE_ANY: return "ANY";
	}
	return NULL;
}

void dns_type_name(unsigned type, char *buf, size_t len)
{
	const char *name = type_name(type);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "TYPE%u", type);
}
