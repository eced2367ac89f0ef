/* decode: see decode.h. */
#include "decode.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

static size_t record_size(unsigned type)
{
	switch (type) {
	case DEPTRACE_EVENT_CONNECT:
	case DEPTRACE_EVENT_SEND_BLOCKED:
	case DEPTRACE_EVENT_SOCKET_BLOCKED: return sizeof(struct deptrace_connect_event);
	case DEPTRACE_EVENT_DNS: return sizeof(struct deptrace_dns_event);
	case DEPTRACE_EVENT_EXEC: return DEPTRACE_EXEC_SENT;
	case DEPTRACE_EVENT_FORK: return sizeof(struct deptrace_header);
	case DEPTRACE_EVENT_LOOKUP_BLOCKED: return sizeof(struct deptrace_lookup_blocked);
	case DEPTRACE_EVENT_SERVE: return sizeof(struct deptrace_serve_event);
	case DEPTRACE_EVENT_FIRST_BYTES: return sizeof(struct deptrace_first_bytes_event);
	}
	return 0;
}

/* A struct deptrace_connect_event. */
static bool connect_record(unsigned type)
{
	return type == DEPTRACE_EVENT_CONNECT || type == DEPTRACE_EVENT_SEND_BLOCKED ||
	       type == DEPTRACE_EVENT_SOCKET_BLOCKED;
}

int decode_record(const void *data, size_t size, union deptrace_record *rec)
{
	struct deptrace_header h;
	size_t need;

	if (size < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	need = record_size(h.type);
	if (!need || size < need)
		return -EINVAL;
	memcpy(rec, data, need);
	if (h.type == DEPTRACE_EVENT_DNS && rec->dns.len > DEPTRACE_DNS_CAPTURE)
		return -EINVAL;
	if (h.type == DEPTRACE_EVENT_FIRST_BYTES && rec->first_bytes.len > DEPTRACE_FIRST_BYTES)
		return -EINVAL;
	if (h.type == DEPTRACE_EVENT_EXEC && rec->exec.raw_len > sizeof(rec->exec.raw_argv))
		return -EINVAL;
	/* a datagram refused at send, or a socket at socket(), is blocked
	 * whatever its flag says, and every refusal reads as the EPERM the
	 * caller got */
	if (h.type == DEPTRACE_EVENT_SEND_BLOCKED || h.type == DEPTRACE_EVENT_SOCKET_BLOCKED)
		rec->connect.blocked = 1;
	if (connect_record(h.type) && rec->connect.blocked)
		rec->connect.result = -EPERM;
	/* the kernel's strings are NUL-terminated unless truncated: make sure */
	rec->h.comm[DEPTRACE_COMM_LEN - 1] = '\0';
	if (h.type == DEPTRACE_EVENT_EXEC) {
		rec->exec.path[DEPTRACE_EXEC_PATH_LEN - 1] = '\0';
		/* not sent: user space fills them (lib/tracer.c) */
		memset(rec->exec.argv, 0, sizeof(rec->exec.argv));
		memset(rec->exec.exe, 0, sizeof(rec->exec.exe));
		memset(rec->exec.script, 0, sizeof(rec->exec.script));
		memset(rec->exec.cmdline, 0, sizeof(rec->exec.cmdline));
	}
	return 0;
}

void decode_exec_argv(struct deptrace_exec_event *ev, const char *cmdline, size_t len)
{
	size_t at = 0;

	memset(ev->argv, 0, sizeof(ev->argv));
	for (int i = 0; i < DEPTRACE_EXEC_ARGS && at < len; i++) {
		const char *arg = cmdline + at;
		size_t n = strnlen(arg, len - at);

		memcpy(ev->argv[i], arg, n < DEPTRACE_EXEC_ARG_LEN ? n : DEPTRACE_EXEC_ARG_LEN - 1);
		at += n + 1;
	}
	memset(ev->cmdline, 0, sizeof(ev->cmdline));
	while (len && !cmdline[len - 1])
		len--;
	for (size_t i = 0; i < len && i < sizeof(ev->cmdline) - 1; i++)
		ev->cmdline[i] = cmdline[i] ? cmdline[i] : ' ';
	ev->argv_unread = !len;
	if (!len)
		memcpy(ev->argv[0], ev->path, strnlen(ev->path, DEPTRACE_EXEC_ARG_LEN - 1));
}
