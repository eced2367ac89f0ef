/* libFuzzer harness for lib/dns.h: every input is a captured payload, as
 * hostile as a traced process can make it. Besides memory errors (ASan,
 * UBSan) it checks what callers rely on: a failed parse leaves no records,
 * names fit and are terminated, and every address handed out comes from
 * an A or AAAA record of the answer, once. The same input is then read as
 * DNS over TCP (lib/dns_stream.h), in segments of its first byte's size,
 * each message parsed as above. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "dns_stream.h"

static void check_name(const char *name)
{
	size_t n = strnlen(name, DNS_NAME_LEN);

	if (n == 0 || n > 253)
		abort();
}

static void check_message(const struct dns_message *msg)
{
	if (msg->nrecords > DNS_MAX_ANSWERS)
		abort();
	check_name(msg->qname);
	for (size_t i = 0; i < msg->nrecords; i++) {
		check_name(msg->records[i].owner);
		if (msg->records[i].type == DNS_TYPE_CNAME)
			check_name(msg->records[i].target);
	}
}

static int address_given(const struct dns_message *msg, const uint8_t addr[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	for (size_t i = 0; i < msg->nrecords; i++) {
		const struct dns_record *rec = &msg->records[i];

		if (rec->type == DNS_TYPE_AAAA && !memcmp(rec->addr, addr, 16))
			return 1;
		if (rec->type == DNS_TYPE_A && !memcmp(addr, mapped, 12) &&
		    !memcmp(rec->addr, addr + 12, 4))
			return 1;
	}
	return 0;
}

static void check_payload(const uint8_t *data, size_t size)
{
	static struct dns_message msg;
	uint8_t addrs[DNS_MAX_ANSWERS][16];
	char canonical[DNS_NAME_LEN], type[DNS_TYPE_NAME_LEN];
	size_t n;

	if (dns_parse(data, size, &msg)) {
		if (msg.nrecords)
			abort();
		return;
	}
	check_message(&msg);
	n = dns_answer_addresses(&msg, addrs, DNS_MAX_ANSWERS, canonical,
				 sizeof(canonical));
	if (n > DNS_MAX_ANSWERS)
		abort();
	check_name(canonical);
	for (size_t i = 0; i < n; i++) {
		if (!address_given(&msg, addrs[i]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!memcmp(addrs[i], addrs[j], 16))
				abort();
	}
	dns_type_name(msg.qtype, type, sizeof(type));
	if (!dns_rcode_name(msg.rcode)[0])
		abort();
}

static void stream_message(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx;
	if (len > DNS_STREAM_MESSAGE)
		abort();
	check_payload(msg, len);
}

/* The input as a TCP stream, cut into segments of data[0] + 1 bytes. */
static void check_stream(const uint8_t *data, size_t size)
{
	struct dns_stream_table *t;
	size_t step;

	if (!size || !(t = dns_stream_new()))
		return;
	step = (size_t)data[0] + 1;
	for (size_t at = 1; at < size; at += step)
		dns_stream_feed(t, 1, 0, data + at, size - at < step ? size - at : step, false,
				stream_message, NULL);
	dns_stream_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_payload(data, size);
	check_stream(data, size);
	return 0;
}
