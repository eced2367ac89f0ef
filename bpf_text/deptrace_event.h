/* deptrace_event.h: the records the eBPF programs hand to user space.
 *
 * Shared verbatim by both sides: the build inlines this file into the eBPF
 * text compiled at run time, and lib/ includes it directly. Only fixed-width
 * UAPI types, so that the layout is the same for clang's BPF target and gcc.
 * Every record starts with a struct deptrace_header naming its type.
 */
#ifndef DEPTRACE_EVENT_H
#define DEPTRACE_EVENT_H

#include <linux/types.h>

#define DEPTRACE_COMM_LEN 16
#define DEPTRACE_DNS_PORT 53       /* where DNS is recognised (host order) */
#define DEPTRACE_DNS_CAPTURE 4096  /* a power of two: EDNS's usual 4096-byte answers */
#define DEPTRACE_FIRST_BYTES 2048  /* a power of two: a ClientHello's name, an HTTP head */
#define DEPTRACE_EXEC_ARGS 8       /* argv entries kept at exec */
#define DEPTRACE_EXEC_ARG_LEN 48   /* bytes of each, NUL included */
#define DEPTRACE_EXEC_PATH_LEN 128
#define DEPTRACE_EXEC_CMDLINE 256  /* argv whole, as user space reads it */
#define DEPTRACE_EXEC_ARGV_HALF 1024 /* a power of two: the kernel's argv copy is
				      * the arguments before the last (up to this)
				      * and the last (up to this) */

enum deptrace_event_type {
	DEPTRACE_EVENT_CONNECT = 1, /* struct deptrace_connect_event */
	DEPTRACE_EVENT_DNS = 2,     /* struct deptrace_dns_event */
	DEPTRACE_EVENT_EXEC = 3,    /* struct deptrace_exec_event */
	DEPTRACE_EVENT_FORK = 4,    /* struct deptrace_header alone */
	DEPTRACE_EVENT_SEND_BLOCKED = 5,   /* struct deptrace_connect_event: a
					      datagram sent without connect(),
					      refused by the policy */
	DEPTRACE_EVENT_LOOKUP_BLOCKED = 6, /* struct deptrace_lookup_blocked */
	DEPTRACE_EVENT_SOCKET_BLOCKED = 7, /* struct deptrace_connect_event: a
					      socket() of a protocol the policy
					      cannot judge, refused; no
					      destination yet (all zero) */
	DEPTRACE_EVENT_SERVE = 8,   /* struct deptrace_serve_event */
	DEPTRACE_EVENT_FIRST_BYTES = 9, /* struct deptrace_first_bytes_event */
};

enum deptrace_proto {
	DEPTRACE_PROTO_UNKNOWN = 0, /* socket made before tracing began */
	DEPTRACE_PROTO_TCP = 1,
	DEPTRACE_PROTO_UDP = 2,
	/* sockets the enforced policy refuses to make (SOCKET_BLOCKED) */
	DEPTRACE_PROTO_UDPLITE = 3,
	DEPTRACE_PROTO_PING = 4,    /* ICMP or ICMPv6 datagram ("ping") */
	DEPTRACE_PROTO_RAW = 5,
	DEPTRACE_PROTO_OTHER = 6,   /* SCTP, MPTCP, ... */
};

struct deptrace_header {
	__u64 ts_ns;   /* CLOCK_MONOTONIC */
	__u32 pid;     /* process (tgid), not thread */
	__u32 tid;
	__u32 ppid;    /* the traced process that started it */
	__u16 type;    /* enum deptrace_event_type */
	__u16 pad;
	char comm[DEPTRACE_COMM_LEN];
};

/* One connect() attempt, sent when the call returns, or for a TCP connect
 * when its outcome is known; ts_ns is its start. */
struct deptrace_connect_event {
	struct deptrace_header h;
	__s32 result;  /* what connect() returned: 0 or -errno; or, without
			  syscall hooks, one of DEPTRACE_RESULT_* */
	__s32 fd;
	__u16 family;  /* AF_INET or AF_INET6, as the caller passed it */
	__u16 dport;   /* host byte order */
	__u8 proto;    /* enum deptrace_proto */
	__u8 blocked;  /* refused by the enforced policy (result is -EPERM) */
	__u8 judged;   /* seen by the enforced policy's hook: a connect() it did
			  not see used a socket made outside the cgroup */
	__u8 pad;
	__u8 daddr[16]; /* network order; the first 4 bytes for AF_INET */
	__u16 sport;    /* TCP, once established: the local port (host order),
			   which names the connection to its first bytes */
	__u8 pad2[6];
	__u64 wait_ns;  /* a TCP connect: from its start to its outcome (or to
			   the end of tracing, still connecting); 0 otherwise */
};

/* Results of a connect whose return no syscall hook saw
 * (bpf_text/connect_cgroup.bpf.h): positive, never an errno. */
#define DEPTRACE_RESULT_FAILED_EARLY 1 /* failed before sending anything:
					  no route, no local port, ... */
#define DEPTRACE_RESULT_UNSEEN 2       /* its socket was still open, its
					  outcome unseen, when tracing ended */

enum deptrace_dns_direction {
	DEPTRACE_DNS_SENT = 0,
	DEPTRACE_DNS_RECEIVED = 1,
};

/* A UDP datagram to or from port 53, or a TCP segment with payload (DNS
 * over TCP: length-prefixed messages, which may span segments); only
 * `len` bytes of payload are sent. */
struct deptrace_dns_event {
	struct deptrace_header h;
	__u32 len;        /* bytes of payload captured */
	__u32 full_len;   /* bytes the datagram (segment) had */
	__u8 direction;   /* enum deptrace_dns_direction */
	__u8 tcp;         /* a TCP segment */
	__u8 pad[6];
	__u64 cookie;     /* the socket's (a TCP stream's messages by it) */
	__u8 payload[DEPTRACE_DNS_CAPTURE];
};

/* The first payload a traced process sent on a TCP connection it made (a
 * TLS ClientHello, an HTTP request): one segment, of which `len` bytes are
 * sent. The connection is named as the packet has it (daddr IPv4 as
 * v4-mapped IPv6, ports in host order); the header is the connecting
 * thread's, its time the segment's. */
struct deptrace_first_bytes_event {
	struct deptrace_header h;
	__u32 len;        /* bytes captured */
	__u32 full_len;   /* bytes the segment had */
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 pad[4];
	__u8 payload[DEPTRACE_FIRST_BYTES];
};

/* A traced process replaced its program; h.comm is the new name. The
 * kernel sends the first DEPTRACE_EXEC_SENT bytes: header, path, and argv
 * as the new program's stack holds it (NUL-separated, as /proc/PID/cmdline
 * has it) where the kernel lets it be read (process_tree.bpf.h); argv[]
 * and what follows are filled in by user space from those bytes, or from
 * /proc/PID/cmdline when the kernel sent none (lib/tracer.c). */
struct deptrace_exec_event {
	struct deptrace_header h;
	char path[DEPTRACE_EXEC_PATH_LEN];
	__u32 raw_len;    /* bytes of raw_argv, 0 when the kernel read none
			     (argv longer than it holds is cut) */
	__u8 raw_pad[4];
	char raw_argv[2 * DEPTRACE_EXEC_ARGV_HALF];
	char argv[DEPTRACE_EXEC_ARGS][DEPTRACE_EXEC_ARG_LEN]; /* "" past the end */
	/* user space's, read with argv as the record arrives (lib/tracer.c):
	 * the executable resolved (/proc/PID/exe), "" when the process was
	 * gone; the script an interpreter runs, "" for none */
	char exe[DEPTRACE_EXEC_PATH_LEN];
	char script[DEPTRACE_EXEC_PATH_LEN];
	/* user space's too: every argument joined by spaces, up to its size,
	 * "" when unread (the class needs what argv[] cuts: a URL after a long
	 * option list, read here, before the program can end) */
	char cmdline[DEPTRACE_EXEC_CMDLINE];
	__u8 argv_unread;  /* user space: /proc had no argv (the program had
			      ended), argv[0] is the path */
};

#define DEPTRACE_EXEC_SENT __builtin_offsetof(struct deptrace_exec_event, argv)

/* Why the enforced policy refused a DNS query. */
enum deptrace_query_refusal {
	DEPTRACE_REFUSED_NAME = 0,       /* a denied name */
	DEPTRACE_REFUSED_UNREADABLE = 1, /* not one question the kernel can
					    read (bpf_text/dns_question.h) */
	DEPTRACE_REFUSED_SEGMENTED = 2,  /* several datagrams in one send
					    (UDP GSO): only one is judged */
};

enum deptrace_serve_transport {
	DEPTRACE_SERVE_TCP = 0,
	DEPTRACE_SERVE_UNIX = 1,
	DEPTRACE_SERVE_UDP = 2,
};

/* A thread outside the traced tree (the header's) read from a local TCP
 * connection a traced thread made, from a Unix socket a traced thread
 * wrote to, or a datagram a traced thread's UDP socket sent: it serves the
 * tree, and is traced until that ends (bpf_text/follow.bpf.h). Sent once
 * per thread and connection. */
struct deptrace_serve_event {
	struct deptrace_header h;  /* the serving thread; ppid: client_pid */
	__u32 client_pid;          /* who connected (traced, or serving) */
	__u32 client_tid;
	__u8 addr[16];             /* TCP, UDP: the service's address (IPv4-mapped) */
	__u16 port;                /* and port */
	__u8 transport;            /* enum deptrace_serve_transport */
	__u8 pad[5];
};

/* A DNS query the enforced policy refused to let out, by its ID (the
 * query itself arrives as a DEPTRACE_EVENT_DNS record first). Only the
 * header's ts_ns and type are set: the packet hook cannot name the
 * process on every kernel. */
struct deptrace_lookup_blocked {
	struct deptrace_header h;
	__u16 dns_id;
	__u8 reason;   /* enum deptrace_query_refusal */
	__u8 pad[5];
};

/* Enforcement's address rules: LPM-trie keys over the port (network
 * order; 0 for any port) then the address (IPv4 as v4-mapped IPv6), so
 * prefixlen is 16 + the rule's prefix over 128 bits. */
struct deptrace_net_key {
	__u32 prefixlen;
	__u8 port[2];
	__u8 addr[16];
	__u8 pad[2];
};

/* Enforcement's name rules, matched against the names in DNS queries.
 * A name is hashed over its wire form (length-prefixed labels, without the
 * final zero label) from its last byte back to its first:
 * h += ((byte | 0x20) + 1) * M^k for the byte k places from the end, so
 * that one backward pass yields the hash of every suffix. The 0x20 folds
 * case (DNS names are case-blind) without a branch in the kernel. */
#define DEPTRACE_NAME_HASH_MULT 0x100000001b3ULL

struct deptrace_name_key {
	__u64 hash;
	__u32 below;   /* 1: a *.name rule, matching names below it only */
	__u32 pad;
};

/* --outage: how connections to a target fail (value of outage_nets). */
enum deptrace_outage_mode {
	DEPTRACE_OUTAGE_BLACKHOLE = 1, /* its packets are dropped on the way out */
	DEPTRACE_OUTAGE_REFUSE = 2,    /* connect() fails at once, ECONNREFUSED */
};

/* The value of an --outage name in outage_names: its mode, and its port
 * (0: any) for the addresses its answers give. */
#define DEPTRACE_OUTAGE_TAG(mode, port) ((__u32)(mode) | (__u32)(port) << 8)
#define DEPTRACE_OUTAGE_TAG_MODE(tag) ((tag) & 0xff)
#define DEPTRACE_OUTAGE_TAG_PORT(tag) (((tag) >> 8) & 0xffff)

/* Slots of the enforced policy's settings array (lib/enforce.c). */
enum deptrace_setting {
	DEPTRACE_SETTING_NAME_RULES = 0,   /* how many name rules */
	DEPTRACE_SETTING_OUTAGE_NAMES = 1, /* how many --outage names */
	DEPTRACE_SETTINGS,
};

/* Value of the traced-process map, keyed by tgid. */
struct deptrace_proc {
	__u32 ppid;
};

/* Slots of the stats array, read by user space at exit. */
enum deptrace_stat {
	DEPTRACE_STAT_UNTRACKED_CHILDREN = 0, /* traced map was full at fork */
	DEPTRACE_STAT_UNTRACKED_CONNECTS = 1, /* in-flight map was full */
	DEPTRACE_STAT_OUTAGE_DROPPED = 2,     /* answers for --outage names
						 dropped (policy_dns_ingress) */
	DEPTRACE_STAT_MAX,
};

#endif
