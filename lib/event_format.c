/* event_format: see event_format.h. */
#define _GNU_SOURCE
#include "event_format.h"
#include "address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void event_address(const struct deptrace_connect_event *ev, uint8_t addr[16])
{
	if (ev->family == AF_INET6) {
		memcpy(addr, ev->daddr, 16);
		return;
	}
	address_from_v4(ev->daddr, addr);
}

bool event_first_bytes_match(const struct deptrace_connect_event *c,
			     const struct deptrace_first_bytes_event *bytes)
{
	uint8_t addr[16];

	if (c->h.type != DEPTRACE_EVENT_CONNECT || c->proto != DEPTRACE_PROTO_TCP || c->result ||
	    !c->sport || c->h.pid != bytes->h.pid || c->dport != bytes->dport ||
	    c->sport != bytes->sport)
		return false;
	event_address(c, addr);
	return !memcmp(addr, bytes->daddr, 16);
}

void format_address(const uint8_t addr[16], char *buf, size_t len)
{
	if (address_is_v4_mapped(addr))
		inet_ntop(AF_INET, addr + 12, buf, len);
	else
		inet_ntop(AF_INET6, addr, buf, len);
}

void format_endpoint(const uint8_t addr[16], unsigned port, char *buf, size_t len)
{
	char text[INET6_ADDRSTRLEN];

	format_address(addr, text, sizeof(text));
	if (address_is_v4_mapped(addr))
		snprintf(buf, len, "%s:%u", text, port);
	else
		snprintf(buf, len, "[%s]:%u", text, port);
}

void format_result(int result, char *buf, size_t len)
{
	const char *name;

	if (result == 0) {
		snprintf(buf, len, "ok");
		return;
	}
	/* a connect seen without syscall hooks: no errno to name */
	if (result == DEPTRACE_RESULT_FAILED_EARLY || result == DEPTRACE_RESULT_UNSEEN) {
		snprintf(buf, len, "%s", result == DEPTRACE_RESULT_UNSEEN ? RESULT_UNSEEN
									 : RESULT_FAILED_EARLY);
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
	return result != 0 && result != -EINPROGRESS && result != DEPTRACE_RESULT_UNSEEN;
}

const char *connect_outcome(const struct deptrace_connect_event *ev)
{
	if (ev->blocked)
		return "blocked";
	switch (-ev->result) {
	case 0: return "ok";
	case ECONNREFUSED: return "refused";
	case ETIMEDOUT: return "timeout";
	case ECONNRESET: return "reset";
	case EHOSTUNREACH:
	case ENETUNREACH: return "unreachable";
	case ECONNABORTED: return "closed";
	case EINPROGRESS: return "pending";
	}
	return "error";
}

uint64_t wait_us(uint64_t ns)
{
	return ns / 1000 + (ns % 1000 >= 500);
}

/* value in units of `unit` microseconds, rounded, as "N.D" (tenths) */
static void format_tenths(uint64_t us, uint64_t unit, const char *suffix, char *buf, size_t len)
{
	uint64_t tenths = (us + unit / 20) / (unit / 10);

	snprintf(buf, len, "%llu.%llu%s", (unsigned long long)(tenths / 10),
		 (unsigned long long)(tenths % 10), suffix);
}

void format_wait(uint64_t ns, char *buf, size_t len)
{
	uint64_t us = wait_us(ns);

	/* integers only: the same microseconds always print the same */
	if (us < 100)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 10000)
		format_tenths(us, 1000, "ms", buf, len);
	else if (us < 1000000)
		snprintf(buf, len, "%llums", (unsigned long long)((us + 500) / 1000));
	else if (us < 100000000)
		format_tenths(us, 1000000, "s", buf, len);
	else
		snprintf(buf, len, "%llus", (unsigned long long)((us + 500000) / 1000000));
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
