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
	struct follow_key conn;    /* the TCP connection it serves, or zero */
	u64 unix_sk;               /* the Unix socket it reads from, or 0 */
	u32 transport;             /* enum deptrace_serve_transport */
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

#if DEPTRACE_FOLLOW_UNIX
/* the Unix sockets a traced thread wrote to, by the receiving socket, until
 * another writer reaches it or its reader reads its end (below) */
BPF_TABLE("lru_hash", u64, struct follow_client, follow_unix, 4096);
#endif

static __always_inline bool follow_still_serving(struct follow_serving *serving)
{
	/* UDP has no connection: a datagram from someone else ends it */
	if (serving->transport == DEPTRACE_SERVE_UDP)
		return true;
#if DEPTRACE_FOLLOW_UNIX
	if (serving->transport == DEPTRACE_SERVE_UNIX) {
		u64 sk = serving->unix_sk;
		struct follow_client *writer = follow_unix.lookup(&sk);

		return writer && writer->pid == serving->proc.ppid;
	}
#endif
	return follow_conns.lookup(&serving->conn) != NULL;
}

static __always_inline struct deptrace_proc *follow_serving_proc(u64 id)
{
	u32 tid = (u32)id;
	struct follow_serving *serving = follow_threads.lookup(&tid);

	if (!serving)
		return NULL;
	/* the connection it served is closed (or, for a Unix socket, another
	 * writer reached that socket): it serves the tree no more */
	if (!follow_still_serving(serving)) {
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

/* Thread `tid` serves `client` from now on, as `serving` says (its ppid is
 * set here): noted, and user space told, with the service's address and
 * port where it has one (addr NULL otherwise). */
static __always_inline void follow_serve(void *ctx, u32 tid, struct follow_serving *serving,
					 const struct follow_client *client, const u8 *addr, u16 port)
{
	struct deptrace_serve_event ev = {};

	if ((bpf_get_current_pid_tgid() >> 32) == DEPTRACE_SELF_TGID)
		return; /* deptrace itself (its DNS forwarder) serves no one */
	serving->proc.ppid = client->pid;
	follow_threads.update(&tid, serving);
	fill_header(&ev.h, DEPTRACE_EVENT_SERVE, client->pid);
	ev.client_pid = client->pid;
	ev.client_tid = client->tid;
	ev.transport = serving->transport;
	if (addr)
		__builtin_memcpy(ev.addr, addr, 16);
	ev.port = port;
	events.perf_submit(ctx, &ev, sizeof(ev));
}

/* Whether what thread `writer_tid` sent is a reply to process `tgid`: the
 * writer serves that process (a reply is not a request). */
static __always_inline bool follow_is_reply(u32 writer_tid, u32 tgid)
{
	struct follow_serving *writer_serves = follow_threads.lookup(&writer_tid);

	return writer_serves && writer_serves->proc.ppid == tgid;
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
	serving.conn = key;
	serving.transport = DEPTRACE_SERVE_TCP;
	follow_serve(args, tid, &serving, client, key.server, key.server_port);
	return 0;
}

#if DEPTRACE_FOLLOW_UNIX
#define FOLLOW_AF_UNIX 1
#define FOLLOW_MSG_PEEK 2

/* Unix sockets. No tracepoint names a Unix socket's peer, but one fires in
 * the writer's context with the socket it wakes: sock:sk_data_ready, from
 * sock_def_readable, which a Unix stream or datagram send calls for the
 * receiving socket in the sending thread (never from a softirq, as for TCP
 * or UDP: only Unix sockets are taken here). The reader's
 * sock:sock_recv_length names the same socket. So a traced thread's write
 * marks the receiving socket as the tree's, and a thread of another
 * process that reads from a marked socket serves the tree while the mark
 * lasts. A write to it by a thread that is not traced removes the mark:
 * the socket is shared with someone else, or its address was freed and
 * reused for another connection. The addresses are only keys. */
TRACEPOINT_PROBE(sock, sk_data_ready)
{
	u64 sk = (u64)args->skaddr;
	u64 id;

	if (args->family != FOLLOW_AF_UNIX)
		return 0;
	id = bpf_get_current_pid_tgid();
	if (current_traced_proc()) {
		struct follow_client me = { .pid = id >> 32, .tid = (u32)id };

		follow_unix.update(&sk, &me);
	} else {
		follow_unix.delete(&sk);
	}
	return 0;
}

/* Every read from a socket on the machine passes here; one from a Unix
 * socket costs a hash lookup or two, the others nothing. */
TRACEPOINT_PROBE(sock, sock_recv_length)
{
	u64 sk = (u64)args->sk;
	u64 id;
	u32 tgid, tid;
	struct follow_client *writer;
	struct follow_serving serving = {}, *was;

	if (args->family != FOLLOW_AF_UNIX || args->ret < 0 || (args->flags & FOLLOW_MSG_PEEK))
		return 0;
	id = bpf_get_current_pid_tgid();
	tgid = id >> 32;
	tid = (u32)id;
	if (traced.lookup(&tgid))
		return 0; /* the tree reads the replies it gets */
	writer = follow_unix.lookup(&sk);
	was = follow_threads.lookup(&tid);
	if (!writer) {
		/* data no traced thread wrote: this Unix-socket service thread
		 * serves another client now */
		if (was && was->transport == DEPTRACE_SERVE_UNIX && args->ret > 0)
			follow_threads.delete(&tid);
		return 0;
	}
	if (args->ret == 0) {
		follow_unix.delete(&sk); /* the end of the stream: the writer closed */
		return 0;
	}
	if (writer->pid == tgid || follow_is_reply(writer->tid, tgid))
		return 0;
	if (was && was->transport == DEPTRACE_SERVE_UNIX && was->unix_sk == sk &&
	    was->proc.ppid == writer->pid)
		return 0; /* told already */
	serving.unix_sk = sk;
	serving.transport = DEPTRACE_SERVE_UNIX;
	follow_serve(args, tid, &serving, writer, NULL, 0);
	return 0;
}
#endif

#define FOLLOW_IPPROTO_UDP 17

/* UDP. A datagram's wake-up runs in a softirq, not reliably in its
 * sender, so the Unix method above would attribute other senders'
 * datagrams; cgroup programs on the cgroup v2 root do it instead. A traced
 * thread's UDP socket (connected, or sending with an address) is marked
 * with its owner in the socket's own storage, which goes with the socket;
 * a send with an address by anyone else removes the mark.
 * A thread of another process that receives a datagram with its sender's
 * address (recvfrom, recvmsg with msg_name: what a UDP server does to
 * reply) runs the recvmsg hook, which finds the sending socket by the
 * datagram's addresses (bpf_sk_lookup_udp, as if the reply were on its
 * way) and reads its mark: a datagram from the tree makes the reader serve
 * it, one from anyone else ends that. */
BPF_SK_STORAGE(follow_udp_owner, struct follow_client);

static __always_inline int follow_udp_mark(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct follow_client *owner;
	u64 id = bpf_get_current_pid_tgid();

	if (!sk || ctx->protocol != FOLLOW_IPPROTO_UDP)
		return 1;
	if (!current_traced_proc()) {
		/* sent by someone else (a service that served the tree and
		 * now replies to another client): not the tree's any more */
		follow_udp_owner.sk_storage_delete(sk);
		return 1;
	}
	owner = follow_udp_owner.sk_storage_get(sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (owner) {
		owner->pid = id >> 32;
		owner->tid = (u32)id;
	}
	return 1;
}

int follow_udp_connect4(struct bpf_sock_addr *ctx)
{
	return follow_udp_mark(ctx);
}

int follow_udp_connect6(struct bpf_sock_addr *ctx)
{
	return follow_udp_mark(ctx);
}

int follow_udp_sendmsg4(struct bpf_sock_addr *ctx)
{
	return follow_udp_mark(ctx);
}

int follow_udp_sendmsg6(struct bpf_sock_addr *ctx)
{
	return follow_udp_mark(ctx);
}

/* The reader's side, once `sender` (the socket the datagram came from, or
 * NULL) is found; `server`/`port` are the service's address (IPv4-mapped)
 * and port as the client reached it. */
static __always_inline void follow_udp_received(struct bpf_sock_addr *ctx, struct bpf_sock *sender,
						const u8 *server, u16 port)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tgid = id >> 32, tid = (u32)id;
	struct follow_client owner = {}, *mark;
	struct follow_serving serving = {}, *was = follow_threads.lookup(&tid);

	if (sender) {
		mark = follow_udp_owner.sk_storage_get(sender, 0, 0);
		if (mark)
			owner = *mark;
		bpf_sk_release(sender);
	}
	if (!owner.pid) {
		/* a datagram from someone else: a UDP service's thread
		 * serves another client now */
		if (was && was->transport == DEPTRACE_SERVE_UDP)
			follow_threads.delete(&tid);
		return;
	}
	if (owner.pid == tgid || follow_is_reply(owner.tid, tgid))
		return;
	if (was && was->transport == DEPTRACE_SERVE_UDP && was->proc.ppid == owner.pid)
		return; /* told already */
	serving.transport = DEPTRACE_SERVE_UDP;
	follow_serve(ctx, tid, &serving, &owner, server, port);
}

/* recvmsg hooks: the datagram's sender is in user_ip4/6 and user_port, the
 * service's own address on ctx->sk (a server bound to the wildcard address
 * is taken to be reached on the sender's address: loopback to loopback).
 * 1: the call goes on. */
int follow_udp_recvmsg4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct bpf_sock_tuple tuple = {};
	u8 server[16] = {};
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__be32 local;

	if (!sk || traced.lookup(&tgid))
		return 1;
	local = sk->src_ip4 ? sk->src_ip4 : ctx->user_ip4;
	tuple.ipv4.saddr = local;
	tuple.ipv4.sport = htons((u16)sk->src_port);
	tuple.ipv4.daddr = ctx->user_ip4;
	tuple.ipv4.dport = (__be16)ctx->user_port;
	server[10] = 0xff;
	server[11] = 0xff;
	__builtin_memcpy(&server[12], &local, 4);
	follow_udp_received(ctx, bpf_sk_lookup_udp(ctx, &tuple, sizeof(tuple.ipv4),
						   BPF_F_CURRENT_NETNS, 0),
			    server, (u16)sk->src_port);
	return 1;
}

int follow_udp_recvmsg6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct bpf_sock_tuple tuple = {};
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	bool wildcard;

	if (!sk || traced.lookup(&tgid))
		return 1;
	wildcard = !(sk->src_ip6[0] | sk->src_ip6[1] | sk->src_ip6[2] | sk->src_ip6[3]);
	tuple.ipv6.saddr[0] = wildcard ? ctx->user_ip6[0] : sk->src_ip6[0];
	tuple.ipv6.saddr[1] = wildcard ? ctx->user_ip6[1] : sk->src_ip6[1];
	tuple.ipv6.saddr[2] = wildcard ? ctx->user_ip6[2] : sk->src_ip6[2];
	tuple.ipv6.saddr[3] = wildcard ? ctx->user_ip6[3] : sk->src_ip6[3];
	tuple.ipv6.sport = htons((u16)sk->src_port);
	tuple.ipv6.daddr[0] = ctx->user_ip6[0];
	tuple.ipv6.daddr[1] = ctx->user_ip6[1];
	tuple.ipv6.daddr[2] = ctx->user_ip6[2];
	tuple.ipv6.daddr[3] = ctx->user_ip6[3];
	tuple.ipv6.dport = (__be16)ctx->user_port;
	follow_udp_received(ctx, bpf_sk_lookup_udp(ctx, &tuple, sizeof(tuple.ipv6),
						   BPF_F_CURRENT_NETNS, 0),
			    (const u8 *)tuple.ipv6.saddr, (u16)sk->src_port);
	return 1;
}

#endif
