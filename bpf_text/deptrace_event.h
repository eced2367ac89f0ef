/* deptrace_event.h: the records the eBPF programs hand to user space.
 *
 * Shared verbatim by both sides: the build inlines this file into the eBPF
 * text compiled at run time, and lib/ includes it directly. Only fixed-width
 * UAPI types, so that the layout is the same for clang's BPF target and gcc.
 */
#ifndef DEPTRACE_EVENT_H
#define DEPTRACE_EVENT_H

#include <linux/types.h>

#define DEPTRACE_COMM_LEN 16

enum deptrace_proto {
	DEPTRACE_PROTO_UNKNOWN = 0, /* socket made before tracing began */
	DEPTRACE_PROTO_TCP = 1,
	DEPTRACE_PROTO_UDP = 2,
};

/* One connect() attempt by a traced process, sent when the call returns. */
struct deptrace_event {
	__u64 ts_ns;   /* CLOCK_MONOTONIC when the attempt started */
	__u32 pid;     /* process (tgid), not thread */
	__u32 tid;
	__u32 ppid;    /* the traced process that started it */
	__s32 result;  /* what connect() returned: 0 or -errno */
	__u16 family;  /* AF_INET or AF_INET6, as the caller passed it */
	__u16 dport;   /* host byte order */
	__u8 proto;    /* enum deptrace_proto */
	__u8 pad[3];
	__u8 daddr[16]; /* network order; the first 4 bytes for AF_INET */
	char comm[DEPTRACE_COMM_LEN];
};

/* Value of the traced-process map, keyed by tgid. */
struct deptrace_proc {
	__u32 ppid;
};

/* Slots of the stats array, read by user space at exit. */
enum deptrace_stat {
	DEPTRACE_STAT_UNTRACKED_CHILDREN = 0, /* traced map was full at fork */
	DEPTRACE_STAT_UNTRACKED_CONNECTS = 1, /* in-flight map was full */
	DEPTRACE_STAT_MAX,
};

#endif
