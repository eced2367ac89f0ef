/* follow.bpf.h: the local services the traced tree calls, followed by
 * thread while they serve it (DEPTRACE_FOLLOW_SERVICES; included at the
 * end of process_tree.bpf.h, whose current_traced_proc asks
 * follow_serving_proc second).
 *
 * A traced thread's TCP connection is noted by its socket as it enters
 * SYN_SENT (sock:inet_sock_set_state fires in the connecting thread, but
 * before the source port is chosen), and by its 4-tuple once it is
 * ESTABLISHED (in any context: softirq, for the client); tcp_outcome.bpf.h
 * owns that tracepoint and hands each change to follow_set_state. A thread
 * of a process outside the traced tree that reads from the other end of one
 * (tcp:tcp_rcv_space_adjust fires in the reading thread, inside
 * recvmsg, with that socket's 4-tuple) serves the tree: it is traced, by
 * thread, as long as that connection is open (until the client's socket
 * closes), and user space is told once per connection
 * (DEPTRACE_EVENT_SERVE). A serving thread's own connections are noted the
 * same way, so a service that calls another service is followed too.
 * Nothing here reads kernel structures: the socket's address is only a key.
 */
#if DEPTRACE_FOLLOW_SERVICES

#define FOLLOW_TCP_ESTABLISHED 1
#define FOLLOW_TCP_SYN_SENT 2
#define FOLLOW_TCP_CLOSE 7

/* A connection as its client sees it; addresses IPv4-mapped for IPv4 (the
 * tracepoints fill their IPv6 fields so for both families). */
struct follow_key {
	u8 client[16];
	u8 server[16];
	u16 client_port;
	u16 server_port;
};

struct follow_client {
	u32 pid;
	u32 tid;
};

struct follow_serving {
	struct deptrace_proc proc; /* what current_traced_proc hands out */
	struct follow_key conn;
};

/* the traced tree's TCP sockets, from SYN_SENT (before their source port
 * is chosen) until they close */
BPF_TABLE("lru_hash", u64, struct follow_client, follow_sockets, 4096);
/* their connections, once ESTABLISHED, until the client's socket closes */
BPF_TABLE("lru_hash", struct follow_key, struct follow_client, follow_conns, 4096);
/* threads serving one of them, by thread id */
BPF_TABLE("lru_hash", u32, struct follow_serving, follow_threads, 4096);

/* Field by field: __builtin_memcmp would be a call to memcmp, which a
 * BPF program cannot make. */
static __always_inline bool follow_same_conn(const struct follow_key *a,
					     const struct follow_key *b)
{
	const u16 *x = (const u16 *)a, *y = (const u16 *)b;
	u16 diff = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / sizeof(u16)); i++)
		diff |= x[i] ^ y[i];
	return !diff;
}

static __always_inline struct deptrace_proc *follow_serving_proc(u64 id)
{
	u32 tid = (u32)id;
	struct follow_serving *serving = follow_threads.lookup(&tid);

	if (!serving)
		return NULL;
	/* the connection it served is closed: it serves the tree no more */
	if (!follow_conns.lookup(&serving->conn)) {
		follow_threads.delete(&tid);
		return NULL;
	}
	return &serving->proc;
}

static __always_inline void follow_forget_thread(u32 tid)
{
	follow_threads.delete(&tid);
}

/* From sock:inet_sock_set_state (tcp_outcome.bpf.h's probe, which owns
 * that tracepoint), for every TCP state change: saddr and daddr point
 * into the tracepoint's record, read by helper as there. */
static __always_inline void follow_set_state(u64 sk, int newstate, u16 sport, u16 dport,
					     const u8 *saddr, const u8 *daddr)
{
	struct follow_key key = {};
	struct follow_client *client;

	if (newstate == FOLLOW_TCP_SYN_SENT) {
		u64 id = bpf_get_current_pid_tgid();
		struct follow_client me = { .pid = id >> 32, .tid = (u32)id };

		if (current_traced_proc())
			follow_sockets.update(&sk, &me);
		return;
	}
	client = follow_sockets.lookup(&sk);
	if (!client)
		return;
	/* a socket sees itself as the client: source is the client */
	bpf_probe_read_kernel(key.client, 16, saddr);
	bpf_probe_read_kernel(key.server, 16, daddr);
	key.client_port = sport;
	key.server_port = dport;
	if (newstate == FOLLOW_TCP_ESTABLISHED) {
		struct follow_client copy = *client;

		follow_conns.update(&key, &copy);
	} else if (newstate == FOLLOW_TCP_CLOSE) {
		follow_conns.delete(&key);
		follow_sockets.delete(&sk);
	}
}

/* Every TCP read on the machine passes here: one hash lookup, keyed by
 * the connection as its client would see it. */
TRACEPOINT_PROBE(tcp, tcp_rcv_space_adjust)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32, tid = (u32)id;
	struct follow_key key = {};
	struct follow_client *client;
	struct follow_serving serving = {}, *was;
	struct deptrace_serve_event ev = {};

	/* the reader is the server: its peer is the client */
	/* read, not loaded: these fields sit at offsets 30 and 46, and a
	 * tracepoint's fields may be loaded only at offsets aligned to the
	 * size loaded */
	bpf_probe_read_kernel(key.client, 16, args->daddr_v6);
	bpf_probe_read_kernel(key.server, 16, args->saddr_v6);
	key.client_port = args->dport;
	key.server_port = args->sport;
	client = follow_conns.lookup(&key);
	if (!client || client->pid == tgid || traced.lookup(&tgid))
		return 0;
	was = follow_threads.lookup(&tid);
	if (was && follow_same_conn(&was->conn, &key))
		return 0; /* told already */
	serving.proc.ppid = client->pid;
	serving.conn = key;
	follow_threads.update(&tid, &serving);
	fill_header(&ev.h, DEPTRACE_EVENT_SERVE, client->pid);
	ev.client_pid = client->pid;
	ev.client_tid = client->tid;
	__builtin_memcpy(ev.addr, key.server, 16);
	ev.port = key.server_port;
	events.perf_submit(args, &ev, sizeof(ev));
	return 0;
}

#endif
