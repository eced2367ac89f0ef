/* libFuzzer harness for the ingress program's reading of a DNS answer's
 * addresses (bpf_text/dns_answers.h, compiled here as it is in the
 * kernel), held to user space's reading of the same bytes (lib/dns.c):
 *   - fail closed: whenever user space reads a response whose A and AAAA
 *     records give an address, the kernel walk either keeps that address
 *     or says DEPTRACE_ANSWERS_UNREADABLE (the answer is then dropped);
 *   - the walk keeps nothing but what some A or AAAA record holds.
 * Besides memory errors (ASan, UBSan): the walk reads only inside the
 * payload, through deptrace_answer_load, as bpf_skb_load_bytes would. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deptrace_event.h"
#include "dns.h"

struct packet {
	const uint8_t *data;
	size_t size;
	uint8_t kept[64][16];
	size_t nkept;
};

static int deptrace_answer_load(void *pkt, __u32 off, void *to, __u32 len)
{
	struct packet *p = pkt;

	if (off > p->size || len > p->size - off)
		return -1;
	memcpy(to, p->data + off, len);
	return 0;
}

static int deptrace_answer_keep(void *pkt, const __u8 addr[16], __u32 tag)
{
	struct packet *p = pkt;

	if (tag != 1 || p->nkept == sizeof(p->kept) / sizeof(p->kept[0]))
		abort(); /* at most DEPTRACE_ANSWERS_MAX records */
	memcpy(p->kept[p->nkept++], addr, 16);
	return 0;
}

#include "dns_answers.h"

static int kept(const struct packet *p, const uint8_t addr[16])
{
	for (size_t i = 0; i < p->nkept; i++)
		if (!memcmp(p->kept[i], addr, 16))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_message msg;
	struct packet p = { .data = data, .size = size };
	int verdict;

	/* what policy_dns_ingress checks before the walk */
	if (size < 12 || data[4] != 0 || data[5] != 1)
		return 0;
	verdict = deptrace_answers_walk(&p, 0, (__u32)data[6] << 8 | data[7], 1);
	if (verdict != DEPTRACE_ANSWERS_READ && verdict != DEPTRACE_ANSWERS_UNREADABLE)
		abort();
	if (dns_parse(data, size, &msg) || !msg.response || msg.partial)
		return 0;
	for (size_t i = 0; verdict == DEPTRACE_ANSWERS_READ && i < msg.nrecords; i++) {
		uint8_t addr[16] = { 0 };
		const struct dns_record *rec = &msg.records[i];

		if (rec->type == DNS_TYPE_A) {
			addr[10] = addr[11] = 0xff;
			memcpy(addr + 12, rec->addr, 4);
		} else if (rec->type == DNS_TYPE_AAAA) {
			memcpy(addr, rec->addr, 16);
		} else {
			continue;
		}
		if (!kept(&p, addr))
			abort(); /* user space reads an address the kernel let by */
	}
	return 0;
}
