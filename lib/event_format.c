/* event_format: see event_format.h. */
#define _GNU_SOURCE
#include "event_format.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const unsigned char v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

void format_destination(const struct deptrace_event *ev, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];

	if (ev->family == AF_INET6 && memcmp(ev->daddr, v4_mapped_prefix, 12)) {
		inet_ntop(AF_INET6, ev->daddr, addr, sizeof(addr));
		snprintf(buf, len, "[%s]:%u", addr, ev->dport);
		return;
	}
	inet_ntop(AF_INET, ev->family == AF_INET6 ? ev->daddr + 12 : ev->daddr,
		  addr, sizeof(addr));
	snprintf(buf, len, "%s:%u", addr, ev->dport);
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
		snprintf(buf, len, "errno %d", -result);
}

const char *proto_name(unsigned proto)
{
	switch (proto) {
	case DEPTRACE_PROTO_TCP: return "TCP";
	case DEPTRACE_PROTO_UDP: return "UDP";
	}
	return "?";
}
