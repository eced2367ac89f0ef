/* session: see session.h. */
#include "session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "depmap.h"
#include "dns.h"
#include "dns_stream.h"
#include "event_format.h"
#include "first_bytes.h"
#include "follow.h"
#include "unix_service.h"
#include "names.h"
#include "proctree.h"
#include "resolver.h"
#include "saved_run.h"

#define MAX_PENDING_LOOKUPS 256
/* processes whose answers name a connection: it and its parents */
#define MAX_LINEAGE 16
/* refusals whose query's record is still to come, and how much later it
 * may come: both are sent from the same packet's programs */
#define MAX_EARLY_REFUSALS 16
#define EARLY_REFUSAL_NS 100000000ull
/* every address an answer can hold: one left unnamed is one a name rule
 * cannot judge */
#define MAX_LOOKUP_ADDRESSES DNS_MAX_ANSWERS
/* the name of a query the parser cannot read (one word: a column), and
 * why it breaks any policy: neither side can judge it */
#define UNREADABLE_QNAME "(unreadable)"
#define UNREADABLE_REASON "a question the policy cannot read"

/* A DNS query sent, waiting for its answer. */
struct pending_lookup {
	struct deptrace_header h;
	uint16_t id;
	uint16_t qtype;
	char qname[DNS_NAME_LEN];
};

/* A Unix service's description, read when its record arrived. */
struct unix_serve {
	struct unix_serve *next;
	uint64_t ts_ns;
	uint32_t tid, client_tid;
	int rc; /* unix_service_describe's */
	char destination[DEP_NAME_LEN + DESTINATION_LEN];
	char err[160];
};

struct session {
	struct session_config config;
	struct proc_table *procs;
	struct name_table *names;
	struct follow_table *follow; /* threads of local services serving the tree */
	struct dns_stream_table *streams; /* DNS over TCP */
	struct depmap map;
	struct run_totals totals;
	struct pending_lookup pending[MAX_PENDING_LOOKUPS];
	size_t npending;
	struct deptrace_lookup_blocked early[MAX_EARLY_REFUSALS]; /* oldest first */
	size_t nearly;
	uint64_t latest_ns;   /* the time of the latest record */
	bool said_local_resolver, said_unnamed; /* each notice once a run */
	bool said_late_bytes, said_unread_bytes, said_lost_stream;
	/* a connection's first bytes, handed on just before it (reorder.h) */
	struct deptrace_first_bytes_event bytes;
	bool bytes_held;
	/* Unix services described as their records arrived (session_arrival_sink) */
	struct record_sink arrival_next;
	struct unix_serve *unix_serves;
};

struct session *session_new(const struct session_config *config)
{
	struct session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->config = *config;
	if (config->policy && policy_empty(config->policy))
		s->config.policy = NULL;
	s->totals.policy = s->config.policy != NULL;
	s->totals.baseline = config->baseline != NULL;
	s->procs = proc_table_new();
	s->names = name_table_new();
	s->follow = follow_table_new();
	s->streams = dns_stream_new();
	if (!s->procs || !s->names || !s->follow || !s->streams) {
		session_free(s);
		return NULL;
	}
	if (config->hosts_path)
		name_table_load_hosts(s->names, config->hosts_path);
	return s;
}

void session_free(struct session *s)
{
	if (!s)
		return;
	proc_table_free(s->procs);
	name_table_free(s->names);
	follow_table_free(s->follow);
	dns_stream_free(s->streams);
	depmap_free(&s->map);
	while (s->unix_serves) {
		struct unix_serve *next = s->unix_serves->next;

		free(s->unix_serves);
		s->unix_serves = next;
	}
	free(s);
}

void session_add_process(struct session *s, pid_t pid, pid_t ppid, bool root)
{
	struct proc_info *p = proc_table_get(s->procs, pid);

	if (!p)
		return;
	p->ppid = ppid;
	p->root = root;
	p->program = true;
	proc_info_load(s->config.proc_root, p);
}

/* The process table's entry for a record's process, refreshed with the
 * record's own view. A process's name is its main thread's (the thread
 * group leader's): a record from another thread carries that thread's
 * name (a worker's, "isc-net-0000"), which is not the program's. */
static struct proc_info *note_process(struct session *s, const struct deptrace_header *h)
{
	struct proc_info *p = proc_table_get(s->procs, (pid_t)h->pid);

	if (p) {
		if (!p->root)
			p->ppid = (pid_t)h->ppid;
		if (h->tid == h->pid || !p->comm[0])
			snprintf(p->comm, sizeof(p->comm), "%s", h->comm);
	}
	return p;
}

static void on_fork(struct session *s, const struct deptrace_header *h)
{
	const struct proc_info *parent = proc_table_find(s->procs, (pid_t)h->ppid);
	struct proc_info *child = proc_table_get(s->procs, (pid_t)h->pid);

	if (!child)
		return;
	/* until it execs, a child runs its parent's program */
	if (parent && parent != child)
		*child = *parent;
	child->pid = (pid_t)h->pid;
	child->ppid = (pid_t)h->ppid;
	child->root = false;
	child->names_since = name_table_mark(s->names);
	child->program = false;
	child->args_unread = false;
	snprintf(child->comm, sizeof(child->comm), "%s", h->comm);
}

/* The event's process fields, from the record and the process table. */
static struct event process_event(enum event_kind kind, const struct deptrace_header *h,
				  const struct proc_info *p, const char *comm,
				  const char *chain)
{
	return (struct event){
		.kind = kind, .ts_ns = h->ts_ns, .pid = h->pid, .ppid = h->ppid,
		.comm = comm, .proc = p, .chain = chain,
	};
}

/* The process's name (its main thread's, as the table knows it), or, for
 * a process the table cannot hold or has no name for, the record's own,
 * whole (it fills its field when the name is 15 characters long). */
static void process_comm(const struct proc_info *p, const struct deptrace_header *h,
			 char comm[DEPTRACE_COMM_LEN])
{
	snprintf(comm, DEPTRACE_COMM_LEN, "%.*s", DEPTRACE_COMM_LEN - 1,
		 p && p->comm[0] ? p->comm : h->comm);
}

/* What program an exec started: the executable the kernel resolved, as
 * /proc showed it while the process ran it, and the script, if an
 * interpreter runs one. The tracer reads them as the record arrives; a
 * record without them (a test's, a replay's) is looked up now. A process
 * gone (or onto another program) by then keeps the path exec was given. */
static void identify_program(struct session *s, struct proc_info *p,
			     const struct deptrace_exec_event *ev)
{
	const char *argv[DEPTRACE_EXEC_ARGS];
	size_t argc = 0;

	if (ev->exe[0]) {
		snprintf(p->exe, sizeof(p->exe), "%s", ev->exe);
		snprintf(p->script, sizeof(p->script), "%s", ev->script);
		return;
	}
	while (argc < DEPTRACE_EXEC_ARGS && ev->argv[argc][0]) {
		argv[argc] = ev->argv[argc];
		argc++;
	}
	if (proctree_read_program(s->config.proc_root, p->pid, ev->h.comm, ev->path, argv, argc,
				  p->exe, p->script))
		snprintf(p->exe, sizeof(p->exe), "%s", ev->path);
}

static void on_exec(struct session *s, const struct deptrace_exec_event *ev)
{
	struct proc_info *p = note_process(s, &ev->h);
	char chain[DEP_CHAIN_LEN], comm[DEPTRACE_COMM_LEN];
	struct event event;
	size_t used = 0;
	bool cut = false;

	if (!p)
		return;
	identify_program(s, p, ev);
	p->program = true;
	p->args_unread = ev->argv_unread;
	p->args[0] = '\0';
	/* the tracer read them whole as the record came (decode.h) */
	if (ev->cmdline[0])
		snprintf(p->args, sizeof(p->args), "%.*s", DEPTRACE_EXEC_CMDLINE - 1, ev->cmdline);
	for (int i = 0; !ev->cmdline[0] && i < DEPTRACE_EXEC_ARGS && ev->argv[i][0] &&
			used < sizeof(p->args); i++) {
		used += (size_t)snprintf(p->args + used, sizeof(p->args) - used, "%s%s",
					 i ? " " : "", ev->argv[i]);
		cut |= i + 1 == DEPTRACE_EXEC_ARGS ||
		       strlen(ev->argv[i]) == DEPTRACE_EXEC_ARG_LEN - 1;
	}
	/* a record without them (a test's) keeps DEPTRACE_EXEC_ARGS arguments,
	 * each cut: the class needs the rest (a URL after a long option list),
	 * from /proc while the program still runs */
	if (cut)
		proc_info_load_args(s->config.proc_root, p);
	proc_chain(s->procs, p->pid, chain, sizeof(chain));
	process_comm(p, &ev->h, comm);
	event = process_event(EVENT_EXEC, &ev->h, p, comm, chain);
	output_event(s->config.out, &event);
}

/* Whose dependency `ev` is, made by thread `tid`: transient for a thread
 * serving the tree (its chain is then the service's own name), otherwise
 * by the rule of classify.h from the names of its destination
 * (NULL-terminated), with the evidence in `evidence`. */
static void classify_event(struct session *s, struct event *ev, uint32_t tid,
			   const char *const *names, char evidence[CLASS_EVIDENCE_LEN])
{
	ev->via = follow_table_via(s->follow, (pid_t)tid);
	if (ev->via) {
		const char *note = follow_table_take_note(s->follow, (pid_t)tid);

		if (note)
			message_say(&s->config.messages, "%s", note);
		ev->class = CLASS_TRANSIENT;
		ev->chain = ev->comm;
		return;
	}
	ev->class = classify_destination(s->procs, (pid_t)ev->pid, names, evidence,
					 CLASS_EVIDENCE_LEN);
	ev->evidence = evidence;
}

/* Whether an event of class `class` breaks the policy, from the policy's
 * verdict and the kernel's refusal: fills and counts `v` and returns it,
 * or returns NULL
 * for an event that keeps the policy. `refusal` says why when no rule does
 * (or NULL); a refusal without either reads "refused by the policy in
 * force": the two sides saw the attempt differently, and no rule is
 * guessed. */
static const struct event_violation *judge(struct session *s, struct verdict verdict,
					   bool blocked, const char *refusal, bool unguarded,
					   enum event_class class, struct event_violation *v)
{
	if (!verdict.violation && !blocked)
		return NULL;
	*v = (struct event_violation){
		.rule = verdict.rule ? verdict.rule->text
			: refusal ? refusal
			: verdict.violation ? "not on the allow list"
			: "refused by the policy in force",
		.origin = verdict.rule ? verdict.rule->origin : NULL,
		.enforcing = s->config.enforcing,
		.blocked = blocked,
		.unguarded = unguarded,
		.refusal = !verdict.rule && (refusal || !verdict.violation),
	};
	s->totals.violations++;
	s->totals.class_violations[class]++;
	return v;
}

/* --baseline: whether the baseline run lacked the event's dependency. */
static bool is_new(const struct session *s, const struct event *ev)
{
	char key[SAVED_RUN_KEY_LEN];
	const char *k = key;

	if (!s->config.baseline || ev->kind == EVENT_EXEC)
		return false;
	saved_run_key(ev, key, sizeof(key));
	return !bsearch(&k, s->config.baseline, s->config.nbaseline, sizeof(*s->config.baseline),
			saved_run_key_compare);
}

/* Hands a built event to every consumer: the output, and the map (for a
 * process the table knows); marks it new first (--baseline). */
static void publish(struct session *s, struct event *ev)
{
	ev->new_dep = is_new(s, ev);
	s->totals.new_deps += ev->new_dep;
	s->totals.classes[ev->class]++;
	output_event(s->config.out, ev);
	if (ev->proc)
		depmap_add(&s->map, ev);
	if (s->config.outage)
		outage_report_note(s->config.outage, ev);
}

/* Whose answers name a connection of `p`: the process from its fork on,
 * its parent before that fork, and so on up to the traced root. */
static size_t name_lineage(const struct session *s, const struct proc_info *p,
			   struct name_owner lineage[MAX_LINEAGE])
{
	uint64_t until = UINT64_MAX;
	size_t n = 0;

	while (p && n < MAX_LINEAGE) {
		lineage[n++] = (struct name_owner){ .pid = (uint32_t)p->pid,
						    .since = p->names_since, .until = until };
		if (p->root || p->ppid == p->pid)
			break;
		until = p->names_since;
		p = proc_table_find(s->procs, p->ppid);
	}
	return n;
}

/* The event's name, the others the process had for the address, and where
 * they come from. */
static void name_connection(const struct session *s, const struct proc_info *p,
			    struct event *event, struct name_candidates *names)
{
	struct name_owner lineage[MAX_LINEAGE];
	size_t n = name_lineage(s, p, lineage);

	name_table_lookup(s->names, lineage, n, event->addr, names);
	event->name = names->count ? names->names[0] : NULL;
	event->also = names->count ? names->names + 1 : NULL;
	event->nalso = names->count ? names->count - 1 : 0;
	event->name_source = names->source;
}

/* A thread of a process outside the tree serves a connection a traced
 * thread made: from now on what it does is transient, by the path the tree
 * reached it. Its process is read from /proc (its program, for the map). */
static void unix_serve_note(struct session *s, const struct deptrace_serve_event *ev)
{
	struct unix_serve *u = calloc(1, sizeof(*u));

	if (!u)
		return; /* described when released, from what /proc still has */
	u->ts_ns = ev->h.ts_ns;
	u->tid = ev->h.tid;
	u->client_tid = ev->client_tid;
	u->rc = unix_service_describe(s->config.proc_root, (pid_t)ev->h.pid, (pid_t)ev->client_pid,
				      u->destination, sizeof(u->destination), u->err,
				      sizeof(u->err));
	u->next = s->unix_serves;
	s->unix_serves = u;
}

/* The description noted for `ev` on its arrival (taken from the list), or
 * read now for a record that came another way (a test's session_sink). */
static int unix_serve_take(struct session *s, const struct deptrace_serve_event *ev,
			   char *destination, size_t len, char *err, size_t errlen)
{
	for (struct unix_serve **u = &s->unix_serves; *u; u = &(*u)->next) {
		struct unix_serve *found = *u;
		int rc = found->rc;

		if (found->ts_ns != ev->h.ts_ns || found->tid != ev->h.tid ||
		    found->client_tid != ev->client_tid)
			continue;
		snprintf(destination, len, "%s", found->destination);
		snprintf(err, errlen, "%s", found->err);
		*u = found->next;
		free(found);
		return rc;
	}
	return unix_service_describe(s->config.proc_root, (pid_t)ev->h.pid, (pid_t)ev->client_pid,
				     destination, len, err, errlen);
}

static void on_serve(struct session *s, const struct deptrace_serve_event *ev)
{
	struct proc_info *p = proc_table_get(s->procs, (pid_t)ev->h.pid);
	char client[DEP_CHAIN_LEN], destination[DEP_NAME_LEN + DESTINATION_LEN];
	char comm[DEPTRACE_COMM_LEN], err[160];
	struct name_owner lineage[MAX_LINEAGE];
	struct name_candidates names;
	const char *name;
	int unix_failed = 0;

	name_table_lookup(s->names, lineage,
			  name_lineage(s, proc_table_find(s->procs, (pid_t)ev->client_pid), lineage),
			  ev->addr, &names);
	name = names.count ? names.names[0] : NULL;
	if (p && !p->exe[0])
		proc_info_load(s->config.proc_root, p);
	process_comm(p, &ev->h, comm);
	proc_chain(s->procs, (pid_t)ev->client_pid, client, sizeof(client));
	if (ev->transport == DEPTRACE_SERVE_UNIX)
		unix_failed = unix_serve_take(s, ev, destination, sizeof(destination), err,
					      sizeof(err));
	else if (name)
		snprintf(destination, sizeof(destination), "%s:%u", name, ev->port);
	else
		format_endpoint(ev->addr, ev->port, destination, sizeof(destination));
	if (follow_table_serve(s->follow, (pid_t)ev->h.tid, comm, (pid_t)ev->client_tid, client,
			       destination)) {
		message_say(&s->config.messages, "out of memory: %s (PID %u) serving %s is not followed",
			    comm, ev->h.pid, destination);
		return;
	}
	if (unix_failed) {
		char note[FOLLOW_NOTE_LEN];

		snprintf(note, sizeof(note), "%s (PID %u) serves the tree over a Unix socket whose "
			 "path was not found: %s", comm, ev->h.pid, err);
		follow_table_note(s->follow, (pid_t)ev->h.tid, note);
	}
}

/* A connection reached by any of several names breaks the policy if any
 * of them does: the first deny of any name wins, then an allow list's
 * miss. With no name, the address alone is judged; a claimed name only by
 * the denies. */
static struct verdict judge_names(const struct policy *policy, const struct event *event)
{
	struct verdict verdict;

	/* a name the client claims (sni, host) may be denied, but meets no
	 * allow list: any program can send any name to any address */
	if (name_source_claimed(event->name_source)) {
		verdict = policy_check_connection(policy, event->addr, event->port, event->name);
		return verdict.rule ? verdict
				    : policy_check_connection(policy, event->addr, event->port, NULL);
	}
	verdict = policy_check_connection(policy, event->addr, event->port, event->name);

	for (size_t i = 0; i < event->nalso && !verdict.rule; i++) {
		struct verdict other = policy_check_connection(policy, event->addr, event->port,
							       event->also[i]);

		if (other.rule || !verdict.violation)
			verdict = other;
	}
	return verdict;
}

/* Says once that the traced processes ask a DNS server on this host (a
 * stub such as systemd-resolved's 127.0.0.53, a cache): their names come
 * from its answers; its own upstream queries are not theirs. */
static void note_local_resolver(struct session *s, const struct event *ev)
{
	char endpoint[DESTINATION_LEN];

	if (s->said_local_resolver || ev->port != DEPTRACE_DNS_PORT || !address_is_local(ev->addr))
		return;
	s->said_local_resolver = true;
	format_endpoint(ev->addr, ev->port, endpoint, sizeof(endpoint));
	message_say(&s->config.messages,
		    "%s (PID %u) asks the DNS server at %s, another process on this host: names "
		    "come from the answers it gives; what it asks upstream is not traced",
		    ev->comm, ev->pid, endpoint);
}

/* Says once that a TCP connection had no answer of its process's own to be
 * named by: the answers came some way deptrace does not see. */
static void note_unnamed(struct session *s, const struct event *ev)
{
	char endpoint[DESTINATION_LEN];

	if (s->said_unnamed || ev->proto != DEPTRACE_PROTO_TCP || address_is_local(ev->addr) ||
	    ev->name_source == NAME_SOURCE_DNS || ev->name_source == NAME_SOURCE_HOSTS ||
	    name_source_claimed(ev->name_source))
		return;
	s->said_unnamed = true;
	format_endpoint(ev->addr, ev->port, endpoint, sizeof(endpoint));
	message_say(&s->config.messages,
		    "%s (PID %u) connected to %s with no DNS answer of its own: it may resolve "
		    "through another process (nscd, systemd-resolved's Unix socket) or over "
		    "DNS-over-TLS/HTTPS, which deptrace does not see; such connections are named "
		    "by the TLS server name or HTTP Host they send (marked sni, host), else by "
		    "other traced processes' answers (marked tree) or not at all, and then name "
		    "rules cannot judge them", ev->comm, ev->pid, endpoint);
}

/* Names a connection with no answer of its own (none, or the tree's
 * guess) by the name its first bytes give, into `name`: its TLS server
 * name or HTTP Host. Bytes that are TLS or HTTP but name nothing readable
 * are said once. */
static void name_by_first_bytes(struct session *s, struct event *event,
				const struct deptrace_first_bytes_event *bytes,
				char name[DNS_NAME_LEN])
{
	enum first_bytes_kind kind;
	char endpoint[DESTINATION_LEN];
	int rc;

	if (event->name_source == NAME_SOURCE_DNS || event->name_source == NAME_SOURCE_HOSTS)
		return;
	rc = first_bytes_name(bytes->payload, bytes->len, name, &kind);
	if (!rc) {
		event->name = name;
		event->also = NULL;
		event->nalso = 0;
		event->name_source = kind == FIRST_BYTES_TLS ? NAME_SOURCE_SNI : NAME_SOURCE_HOST;
		return;
	}
	if (kind == FIRST_BYTES_UNKNOWN || rc == -ENOENT || s->said_unread_bytes)
		return;
	s->said_unread_bytes = true;
	format_endpoint(event->addr, event->port, endpoint, sizeof(endpoint));
	message_say(&s->config.messages,
		    "%s (PID %u) sent %s to %s whose name deptrace cannot read (%s, %u of %u bytes "
		    "seen): the connection is not named by it", event->comm, event->pid,
		    kind == FIRST_BYTES_TLS ? "a TLS ClientHello" : "an HTTP request", endpoint,
		    rc == -EMSGSIZE ? "it goes on past the first segment or the capture"
				    : "malformed, or more than one name",
		    bytes->len, bytes->full_len);
}

/* First bytes that did not come just before their connection (reorder.h:
 * sent too long after the connect began), so after its line: said once. */
static void note_late_bytes(struct session *s)
{
	char name[DNS_NAME_LEN], endpoint[DESTINATION_LEN];
	enum first_bytes_kind kind;

	s->bytes_held = false;
	if (s->said_late_bytes || first_bytes_name(s->bytes.payload, s->bytes.len, name, &kind))
		return;
	s->said_late_bytes = true;
	format_endpoint(s->bytes.daddr, s->bytes.dport, endpoint, sizeof(endpoint));
	message_say(&s->config.messages,
		    "%.*s (PID %u) named %s %s by its %s after the connection's line was printed "
		    "(it came too long after the connect began): that line, and the policy, did "
		    "not have the name", DEPTRACE_COMM_LEN - 1, s->bytes.h.comm, s->bytes.h.pid,
		    endpoint, name, kind == FIRST_BYTES_TLS ? "TLS server name" : "HTTP Host");
}

/* A connect() or, refused by the policy, a datagram sent without one. */
static void on_connect(struct session *s, const struct deptrace_connect_event *ev)
{
	struct proc_info *p = note_process(s, &ev->h);
	char chain[DEP_CHAIN_LEN], result[DEP_RESULT_LEN], comm[DEPTRACE_COMM_LEN];
	char address[ADDRESS_LEN], evidence[CLASS_EVIDENCE_LEN];
	struct event event = process_event(EVENT_CONNECT, &ev->h, p, comm, chain);
	struct verdict verdict = { .violation = false };
	struct event_violation violation;
	struct name_candidates names;
	const char *candidates[NAME_CANDIDATES + 2];
	char claimed[DNS_NAME_LEN];
	size_t ncandidates = 0;

	process_comm(p, &ev->h, comm);
	event_address(ev, event.addr);
	event.port = ev->dport;
	event.proto = ev->proto;
	name_connection(s, p, &event, &names);
	if (s->bytes_held && event_first_bytes_match(ev, &s->bytes)) {
		s->bytes_held = false;
		name_by_first_bytes(s, &event, &s->bytes, claimed);
	}
	format_connect_result(ev, result, sizeof(result));
	event.result = result;
	event.outcome = connect_outcome(ev);
	event.failed = connect_failed(ev->result);
	event.waited = ev->wait_ns != 0;
	event.wait_ns = ev->wait_ns;
	proc_chain(s->procs, (pid_t)ev->h.pid, chain, sizeof(chain));
	format_address(event.addr, address, sizeof(address));
	if (event.name && name_source_claimed(event.name_source))
		candidates[ncandidates++] = event.name;
	for (size_t i = 0; i < names.count && !name_source_claimed(event.name_source); i++)
		candidates[ncandidates++] = names.names[i];
	candidates[ncandidates++] = address;
	candidates[ncandidates] = NULL;
	classify_event(s, &event, ev->h.tid, candidates, evidence);
	/* a socket refused at socket() has no destination to judge */
	if (s->config.policy && ev->h.type != DEPTRACE_EVENT_SOCKET_BLOCKED)
		verdict = judge_names(s->config.policy, &event);
	/* a connect() the policy's hook never judged was made on a socket
	 * from outside the cgroup (inherited, or passed in) */
	event.violation = judge(s, verdict, ev->blocked,
				ev->h.type == DEPTRACE_EVENT_SOCKET_BLOCKED
					? "a protocol the policy cannot judge" : NULL,
				s->config.enforcing && ev->h.type == DEPTRACE_EVENT_CONNECT &&
				!ev->judged,
				event.class, &violation);
	s->totals.connections++;
	if (ev->h.type == DEPTRACE_EVENT_CONNECT) {
		note_local_resolver(s, &event);
		note_unnamed(s, &event);
	}
	publish(s, &event);
}

/* The lookup's verdict: the first name of its CNAME chain (qname first)
 * the policy denies. Its addresses are named by that name, so that a
 * connection to them is judged by it too; by qname when none is denied. */
static struct verdict judge_chain(struct session *s, const char *qname,
				  const struct dns_message *msg, const char **named)
{
	const char *chain[DNS_MAX_ANSWERS + 1] = { qname };
	size_t nchain = msg ? dns_cname_chain(msg, chain) : 1;
	struct verdict verdict = { .violation = false };

	*named = qname;
	for (size_t i = 0; s->config.policy && i < nchain && !verdict.violation; i++) {
		verdict = policy_check_lookup(s->config.policy, i ? chain[i] : qname);
		if (verdict.violation && i)
			*named = chain[i];
	}
	return verdict;
}

/* Whether deptrace's resolver, in force under name rules, refuses qname
 * (a name no allow rule admits; denied names never leave): *verdict says
 * why. */
static bool refused_by_resolver(struct session *s, const char *qname, struct verdict *verdict)
{
	const struct policy_rule *why;

	if (!s->config.policy || !resolver_needed(s->config.policy) ||
	    resolver_decide(&(struct resolver_rules){ .policy = s->config.policy }, qname, &why) !=
		    RESOLVER_REFUSE)
		return false;
	*verdict = (struct verdict){ .violation = true, .rule = why };
	return true;
}

/* Reports one lookup: its event, its names for later connections, at
 * `at_ns`, when its outcome became known (the answer came, the policy
 * refused it, or deptrace stopped waiting), so that lines stay in time
 * order. `h` is the query's header (or the answer's, when the query was
 * not seen); `msg` the answer, or NULL for none; `refused`: why the policy
 * in force refused to send the query, or NULL (sent); `wait_ns`: from the
 * query to its answer, or to deptrace's giving up on one (0: not known). */
static void report_lookup(struct session *s, const struct deptrace_header *h, uint64_t at_ns,
			  const char *qname, unsigned qtype, const struct dns_message *msg,
			  const char *refused, uint64_t wait_ns)
{
	uint8_t addrs[MAX_LOOKUP_ADDRESSES][16];
	char type[16], chain[DEP_CHAIN_LEN], comm[DEPTRACE_COMM_LEN];
	char evidence[CLASS_EVIDENCE_LEN];
	struct proc_info *p = note_process(s, h);
	struct event event = process_event(EVENT_LOOKUP, h, p, comm, chain);
	struct event_violation violation;
	const char *named;
	struct verdict verdict = judge_chain(s, qname, msg, &named);
	bool unreadable = s->config.policy && !strcmp(qname, UNREADABLE_QNAME);

	bool resolver_refused = false;

	if (unreadable)
		verdict = (struct verdict){ .violation = true };
	event.ts_ns = at_ns;
	if (!verdict.violation && s->config.enforcing && msg && msg->rcode == DNS_RCODE_REFUSED)
		resolver_refused = refused_by_resolver(s, qname, &verdict);
	/* a question no parser here reads, the resolver cannot read either:
	 * it answered FORMERR, forwarding nothing */
	if (unreadable && s->config.enforcing && resolver_needed(s->config.policy))
		resolver_refused = true;

	process_comm(p, h, comm);
	dns_type_name(qtype, type, sizeof(type));
	event.qname = qname;
	event.qtype = type;
	event.answers = addrs;
	if (refused)
		event.result = RESULT_BLOCKED;
	else
		event.result = msg ? dns_rcode_name(msg->rcode) : RESULT_LOOKUP_TIMEOUT;
	event.failed = !msg || msg->rcode != 0;
	event.outcome = refused ? "blocked" : !msg ? "timeout" : event.failed ? "error" : "ok";
	event.waited = wait_ns != 0;
	event.wait_ns = wait_ns;
	if (msg)
		event.nanswers = dns_answer_addresses(msg, addrs, MAX_LOOKUP_ADDRESSES, NULL, 0);
	for (size_t i = 0; i < event.nanswers; i++)
		name_table_add(s->names, h->pid, addrs[i], named);
	proc_chain(s->procs, (pid_t)h->pid, chain, sizeof(chain));
	classify_event(s, &event, h->tid, (const char *const[]){ qname, NULL }, evidence);
	event.violation = judge(s, verdict, refused != NULL || resolver_refused,
				refused ? refused : unreadable ? UNREADABLE_REASON : NULL, false,
				event.class, &violation);
	s->totals.lookups++;
	publish(s, &event);
}

static struct pending_lookup *find_pending(struct session *s, uint32_t pid,
					   const struct dns_message *msg)
{
	for (size_t i = 0; i < s->npending; i++) {
		struct pending_lookup *q = &s->pending[i];

		if (q->h.pid == pid && q->id == msg->id && q->qtype == msg->qtype &&
		    !strcmp(q->qname, msg->qname))
			return q;
	}
	return NULL;
}

static void drop_pending(struct session *s, struct pending_lookup *q)
{
	*q = s->pending[--s->npending];
}

/* The policy in force refused query q (pending): reported now rather
 * than as TIMEOUT later. Queries the same thread handed to the same call
 * after it (glibc's A and AAAA in one sendmmsg) were never sent: the call
 * failed with EPERM for them too. */
static void refuse_lookup(struct session *s, struct pending_lookup *q,
			  const struct deptrace_lookup_blocked *ev)
{
	struct pending_lookup query = *q;
	const char *why = ev->reason == DEPTRACE_REFUSED_UNREADABLE
				  ? UNREADABLE_REASON
			  : ev->reason == DEPTRACE_REFUSED_SEGMENTED
				  ? "several queries in one send (UDP GSO)"
				  : "refused by the policy in force";

	uint64_t at_ns = ev->h.ts_ns > query.h.ts_ns ? ev->h.ts_ns : query.h.ts_ns;

	drop_pending(s, q);
	report_lookup(s, &query.h, at_ns, query.qname, query.qtype, NULL, why, 0);
	for (size_t i = s->npending; i-- > 0;) {
		struct pending_lookup later = s->pending[i];

		if (later.h.tid != query.h.tid || later.h.ts_ns < query.h.ts_ns ||
		    later.h.ts_ns > ev->h.ts_ns)
			continue;
		drop_pending(s, &s->pending[i]);
		report_lookup(s, &later.h, at_ns > later.h.ts_ns ? at_ns : later.h.ts_ns,
			      later.qname, later.qtype, NULL, why, 0);
	}
}

/* A refusal that came before its query's record (the policy's packet
 * program runs before the capture's where the policy's cgroup is below
 * the root): the next query with its ID, just after, is the one. */
static void take_early_refusal(struct session *s, struct pending_lookup *q)
{
	for (size_t i = 0; i < s->nearly; i++) {
		struct deptrace_lookup_blocked refusal = s->early[i];

		if (refusal.dns_id != q->id || q->h.ts_ns < refusal.h.ts_ns ||
		    q->h.ts_ns - refusal.h.ts_ns > EARLY_REFUSAL_NS)
			continue;
		memmove(&s->early[i], &s->early[i + 1], (--s->nearly - i) * sizeof(s->early[0]));
		refuse_lookup(s, q, &refusal);
		return;
	}
}

/* The policy in force refused a query, named by its ID: the packet hook
 * cannot name the process. The latest query with that ID is the one (its
 * record came from the same packet, just before), or else the next. */
static void on_lookup_blocked(struct session *s, const struct deptrace_lookup_blocked *ev)
{
	struct pending_lookup *latest = NULL;

	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].id == ev->dns_id &&
		    (!latest || s->pending[i].h.ts_ns > latest->h.ts_ns))
			latest = &s->pending[i];
	if (latest) {
		refuse_lookup(s, latest, ev);
		return;
	}
	if (s->nearly == MAX_EARLY_REFUSALS)
		memmove(&s->early[0], &s->early[1], --s->nearly * sizeof(s->early[0]));
	s->early[s->nearly++] = *ev;
}

/* One DNS message of record `ev` (its datagram, or one a TCP stream's
 * segments completed). */
static void on_dns_message(struct session *s, const struct deptrace_dns_event *ev,
			   const uint8_t *payload, size_t len)
{
	struct dns_message msg;
	struct pending_lookup *q;

	if (dns_parse(payload, len, &msg)) {
		/* not DNS after all, or mangled: nothing to say, unless there
		 * is a policy, which cannot judge what it cannot read: a
		 * query, reported when refused (on_lookup_blocked, by its ID)
		 * or else as unanswered */
		if (!s->config.policy || ev->direction != DEPTRACE_DNS_SENT || len < 2)
			return;
		memset(&msg, 0, sizeof(msg));
		msg.id = (uint16_t)(payload[0] << 8 | payload[1]);
		snprintf(msg.qname, sizeof(msg.qname), UNREADABLE_QNAME);
	}
	q = find_pending(s, ev->h.pid, &msg);
	if (!msg.response) {
		/* a retransmission keeps the first query's time */
		if (q || s->npending == MAX_PENDING_LOOKUPS)
			return;
		q = &s->pending[s->npending++];
		q->h = ev->h;
		q->id = msg.id;
		q->qtype = msg.qtype;
		snprintf(q->qname, sizeof(q->qname), "%s", msg.qname);
		take_early_refusal(s, q);
		return;
	}
	if (q) {
		struct pending_lookup query = *q;

		drop_pending(s, q);
		report_lookup(s, &query.h, ev->h.ts_ns, query.qname, query.qtype, &msg, NULL,
			      ev->h.ts_ns > query.h.ts_ns ? ev->h.ts_ns - query.h.ts_ns : 1);
	} else {
		report_lookup(s, &ev->h, ev->h.ts_ns, msg.qname, msg.qtype, &msg, NULL, 0);
	}
}

struct stream_segment {
	struct session *s;
	const struct deptrace_dns_event *ev;
};

static void on_stream_message(void *ctx, const uint8_t *msg, size_t len)
{
	struct stream_segment *seg = ctx;

	on_dns_message(seg->s, seg->ev, msg, len);
}

/* A datagram, or a segment of DNS over TCP (dns_stream.h): its messages. */
static void on_dns(struct session *s, const struct deptrace_dns_event *ev)
{
	struct stream_segment seg = { .s = s, .ev = ev };
	char comm[DEPTRACE_COMM_LEN];

	if (!ev->tcp) {
		on_dns_message(s, ev, ev->payload, ev->len);
		return;
	}
	if (!dns_stream_feed(s->streams, ev->cookie, ev->direction, ev->payload, ev->len,
			     ev->len < ev->full_len, on_stream_message, &seg) ||
	    s->said_lost_stream)
		return;
	s->said_lost_stream = true;
	process_comm(proc_table_find(s->procs, (pid_t)ev->h.pid), &ev->h, comm);
	message_say(&s->config.messages,
		    "%s (PID %u) has a DNS-over-TCP message deptrace cannot read (longer than %u "
		    "bytes, or a segment cut at %u): the rest of that connection's DNS is not seen",
		    comm, ev->h.pid, DNS_STREAM_MESSAGE, DEPTRACE_DNS_CAPTURE);
}


void session_replay(struct session *s, const struct event *saved)
{
	const struct event_violation *was = saved->violation;
	struct proc_info *p = proc_table_get(s->procs, (pid_t)saved->pid);
	struct verdict verdict = { .violation = false };
	struct event_violation violation;
	struct event event = *saved;

	if (p) {
		*p = *saved->proc;
		event.proc = p;
	}
	if (event.kind == EVENT_EXEC) {
		output_event(s->config.out, &event);
		return;
	}
	if (s->config.policy && event.kind == EVENT_CONNECT)
		verdict = judge_names(s->config.policy, &event);
	else if (s->config.policy)
		verdict = policy_check_lookup(s->config.policy, event.qname);
	if (s->config.policy && event.kind == EVENT_LOOKUP && !strcmp(event.qname, UNREADABLE_QNAME))
		verdict = (struct verdict){ .violation = true };
	/* a lookup the resolver refused stays refused (a REFUSED answer,
	 * blocked), judged again by the allow list replayed */
	if (event.kind == EVENT_LOOKUP && was && was->blocked && !verdict.violation)
		refused_by_resolver(s, event.qname, &verdict);
	/* refused in the kernel: its result says so whether or not the run
	 * was in force (an audit run's JSON has no "blocked") */
	event.violation = judge(s, verdict,
				!strcmp(event.result, RESULT_BLOCKED) ||
					(event.kind == EVENT_LOOKUP && was && was->blocked),
				was && was->refusal ? was->rule : NULL, was && was->unguarded,
				event.class, &violation);
	if (event.kind == EVENT_CONNECT)
		s->totals.connections++;
	else
		s->totals.lookups++;
	publish(s, &event);
}

/* Reports, oldest first, the lookups whose wait ended by `now_ns`, each at
 * the end of its wait (LOOKUP_TIMEOUT_NS waited), or at `end_ns` if that is
 * sooner (the run's end: the time it would have waited is not known). */
static void expire_lookups(struct session *s, uint64_t now_ns, uint64_t end_ns)
{
	for (;;) {
		struct pending_lookup *oldest = NULL, query;
		uint64_t timeout_ns;

		for (size_t i = 0; i < s->npending; i++)
			if (!oldest || s->pending[i].h.ts_ns < oldest->h.ts_ns)
				oldest = &s->pending[i];
		if (!oldest || now_ns < oldest->h.ts_ns + LOOKUP_TIMEOUT_NS)
			return;
		query = *oldest;
		drop_pending(s, oldest);
		timeout_ns = query.h.ts_ns + LOOKUP_TIMEOUT_NS;
		if (end_ns < timeout_ns)
			report_lookup(s, &query.h, end_ns > query.h.ts_ns ? end_ns : query.h.ts_ns,
				      query.qname, query.qtype, NULL, NULL, 0);
		else
			report_lookup(s, &query.h, timeout_ns, query.qname, query.qtype, NULL, NULL,
				      LOOKUP_TIMEOUT_NS);
	}
}

void session_expire_lookups(struct session *s, uint64_t now_ns)
{
	expire_lookups(s, now_ns, UINT64_MAX);
}

void session_set_enforcing(struct session *s, bool enforcing)
{
	s->config.enforcing = enforcing;
}

void session_record(struct session *s, const union deptrace_record *rec)
{
	/* first bytes not followed at once by their connection came late */
	if (s->bytes_held && !(rec->h.type == DEPTRACE_EVENT_CONNECT &&
			       event_first_bytes_match(&rec->connect, &s->bytes)))
		note_late_bytes(s);
	/* first bytes come out of time order, just before their connection:
	 * held for it, their time not taken as the latest */
	if (rec->h.type == DEPTRACE_EVENT_FIRST_BYTES) {
		s->bytes = rec->first_bytes;
		s->bytes_held = true;
		return;
	}
	/* lookups that had waited long enough before this record are
	 * reported before it */
	expire_lookups(s, rec->h.ts_ns, UINT64_MAX);
	if (rec->h.ts_ns > s->latest_ns)
		s->latest_ns = rec->h.ts_ns;
	switch (rec->h.type) {
	case DEPTRACE_EVENT_CONNECT:
	case DEPTRACE_EVENT_SEND_BLOCKED:
	case DEPTRACE_EVENT_SOCKET_BLOCKED:
		on_connect(s, &rec->connect);
		break;
	case DEPTRACE_EVENT_LOOKUP_BLOCKED:
		on_lookup_blocked(s, &rec->lookup_blocked);
		break;
	case DEPTRACE_EVENT_DNS:
		on_dns(s, &rec->dns);
		break;
	case DEPTRACE_EVENT_EXEC:
		on_exec(s, &rec->exec);
		break;
	case DEPTRACE_EVENT_FORK:
		on_fork(s, &rec->h);
		break;
	case DEPTRACE_EVENT_SERVE:
		on_serve(s, &rec->serve);
		break;
	}
}

void session_lost(struct session *s, uint64_t lost)
{
	s->totals.lost += lost;
	message_say(&s->config.messages, "lost %llu events (%llu so far): raise --buffer-pages",
		    (unsigned long long)lost, (unsigned long long)s->totals.lost);
}

static void sink_record(void *ctx, const union deptrace_record *rec)
{
	session_record(ctx, rec);
}

static void sink_lost(void *ctx, uint64_t lost)
{
	session_lost(ctx, lost);
}

struct record_sink session_sink(struct session *s)
{
	return (struct record_sink){ .record = sink_record, .lost = sink_lost, .ctx = s };
}

static void arrival_record(void *ctx, const union deptrace_record *rec)
{
	struct session *s = ctx;

	if (rec->h.type == DEPTRACE_EVENT_SERVE && rec->serve.transport == DEPTRACE_SERVE_UNIX)
		unix_serve_note(s, &rec->serve);
	s->arrival_next.record(s->arrival_next.ctx, rec);
}

static void arrival_lost(void *ctx, uint64_t lost)
{
	struct session *s = ctx;

	s->arrival_next.lost(s->arrival_next.ctx, lost);
}

struct record_sink session_arrival_sink(struct session *s, struct record_sink next)
{
	s->arrival_next = next;
	return (struct record_sink){ .record = arrival_record, .lost = arrival_lost, .ctx = s };
}

void session_finish(struct session *s)
{
	if (s->bytes_held)
		note_late_bytes(s);
	/* what still waits is reported at the last thing seen */
	expire_lookups(s, UINT64_MAX, s->latest_ns);
	depmap_sort(&s->map);
	if (s->config.outage)
		outage_report_finish(s->config.outage);
	output_summary(s->config.out, &s->map, &s->totals, s->config.outage, s->config.summary);
	if (s->config.graph)
		output_graph(s->config.graph, &s->map, s->config.outage);
}

const struct run_totals *session_totals(const struct session *s)
{
	return &s->totals;
}
