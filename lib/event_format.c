/* event_format: see event_format.h. */
#define _GNU_SOURCE
#include "event_format.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

void event_address(const struct deptrace_connect_event *ev, uint8_t addr[16])
{
	if (ev->family == AF_INET6) {
		memcpy(addr, ev->daddr, 16);
		return;
	}
	memcpy(addr, v4_mapped_prefix, 12);
	memcpy(addr + 12, ev->daddr, 4);
}

void format_address(const uint8_t addr[16], char *buf, size_t len)
{
	if (!memcmp(addr, v4_mapped_prefix, 12))
		inet_ntop(AF_INET, addr + 12, buf, len);
	else
		inet_ntop(AF_INET6, addr, buf, len);
}

void format_endpoint(const uint8_t addr[16], unsigned port, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	format_address(addr, text, sizeof(text));
	if (!memcmp(addr, v4_mapped_prefix, 12))
		snprintf(buf, len, "%s:%u", text, port);
	else
		snprintf(buf, len, "[%s]:%u", text, port);
}

void format_destination(const struct deptrace_connect_event *ev, char *buf, size_t len)
{
	uint8_t addr[16];

	event_address(ev, addr);
	format_endpoint(addr, ev->dport, buf, len);
}

void format_result(int result, char *buf, size_t len)
{
	const char *name;

	if (result == 0) {
		snprintf(buf, len, "ok");
		return;
	}
	name = result < 0 ? strerrorname_np(-result) : NULL;
	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "ERRNO%d", -result); /* one word: a column */
}

void format_connect_result(const struct deptrace_connect_event *ev, char *buf, size_t len)
{
	if (ev->blocked)
		snprintf(buf, len, "%s", RESULT_BLOCKED);
	else
		format_result(ev->result, buf, len);
}

bool connect_failed(int result)
{
	return result != 0 && result != -EINPROGRESS;
}

const char *proto_name(unsigned proto)
{
	switch (proto) {
	case DEPTRACE_PROTO_TCP: return "TCP";
	case DEPTRACE_PROTO_UDP: return "UDP";
	case DEPTRACE_PROTO_UDPLITE: return "UDPLITE";
	case DEPTRACE_PROTO_PING: return "PING";
	case DEPTRACE_PROTO_RAW: return "RAW";
	case DEPTRACE_PROTO_OTHER: return "OTHER";
	}
	return "?";
}
