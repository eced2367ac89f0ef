/* tracer: see tracer.h. */
#define _GNU_SOURCE
#include "tracer.h"
#include "proctree.h"

#include <bcc/bcc_common.h>
#include <bcc/libbpf.h>
#include <bcc/perf_reader.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 1024
#define MAX_PROGRAMS 48
#define MAX_ATTACHMENTS 32

extern const char bpf_text_connect_kprobe[];
extern const char bpf_text_connect_tracepoint[];

struct loaded_program {
	char function[96];
	int fd;
};

struct attachment {
	int perf_fd;
	bool raw;              /* a raw tracepoint's fd, not a perf event */
	char kprobe_event[96]; /* "" for tracepoints */
};

struct tracer {
	struct tracer_config config;
	void *module;
	int traced_fd;
	int stats_fd;
	struct loaded_program programs[MAX_PROGRAMS];
	size_t nprograms;
	struct attachment attachments[MAX_ATTACHMENTS];
	size_t nattachments;
	int cgroup_links[MAX_ATTACHMENTS];
	size_t ncgroup_links;
	struct perf_reader *readers[MAX_CPUS];
	int nreaders;
	union deptrace_record *batch; /* one poll's records, to be sorted */
	size_t nbatch, batch_cap;
	uint64_t malformed;
};

/* A raw tracepoint hands its program the arguments as they are, where a
 * tracepoint's perf event first builds a record of them. */
static bool is_raw(const struct probe_spec *probe)
{
	return probe->category && probe->function;
}

static void tracepoint_function(const struct probe_spec *probe, char *buf, size_t len)
{
	if (probe->category && !probe->function)
		snprintf(buf, len, "tracepoint__%s__%s", probe->category, probe->name);
	else
		snprintf(buf, len, "%s", probe->function);
}

bool tracer_follows_unix(const struct tracer_config *config)
{
	return config->follow_services && config->follow_unix;
}

bool tracer_needs_cgroup_probe(const struct tracer_config *config,
			       const struct cgroup_probe_spec *probe)
{
	return !(probe->facts & (1u << FACT_SERVICES)) || config->follow_services;
}

/* Calls fn for every probe the configuration needs, in attach order. */
static int for_each_probe(const struct tracer *t,
			  int (*fn)(struct tracer *, const struct probe_spec *, char *, size_t),
			  char *err, size_t errlen)
{
	const struct probe_spec *lists[PROBE_LISTS];
	size_t nlists = probe_lists(t->config.backend, t->config.syscall_hooks, lists);

	for (size_t i = 0; i < nlists; i++) {
		for (const struct probe_spec *p = lists[i]; p->name; p++) {
			int rc;

			if ((p->children_only && !t->config.follow_children) ||
			    (p->fact == FACT_SERVICES && !t->config.follow_services) ||
			    (p->fact == FACT_UNIX_SERVICES && !tracer_follows_unix(&t->config)))
				continue;
			rc = fn((struct tracer *)t, p, err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int program_fd(const struct tracer *t, const char *function)
{
	for (size_t i = 0; i < t->nprograms; i++)
		if (!strcmp(t->programs[i].function, function))
			return t->programs[i].fd;
	return -1;
}

int tracer_load_function(struct tracer *t, const char *function, int prog_type,
			 int expected_attach_type, char *err, size_t errlen)
{
	struct loaded_program *prog;
	void *start;
	int fd = program_fd(t, function);

	if (fd >= 0)
		return fd;
	if (t->nprograms == MAX_PROGRAMS) {
		snprintf(err, errlen, "more than %d eBPF programs", MAX_PROGRAMS);
		return -ENOSPC;
	}
	start = bpf_function_start(t->module, function);
	if (!start) {
		snprintf(err, errlen, "eBPF function %s missing from the compiled text", function);
		return -ENOENT;
	}
	fd = bcc_func_load(t->module, prog_type, function, start,
			   bpf_function_size(t->module, function),
			   bpf_module_license(t->module), bpf_module_kern_version(t->module),
			   0, NULL, 0, NULL, expected_attach_type);
	if (fd < 0) {
		int e = errno ? errno : EINVAL;

		snprintf(err, errlen, "the kernel refused eBPF program %s: %s", function,
			 strerror(e));
		return -e;
	}
	prog = &t->programs[t->nprograms++];
	snprintf(prog->function, sizeof(prog->function), "%s", function);
	prog->fd = fd;
	return fd;
}

static int load_program(struct tracer *t, const struct probe_spec *probe,
			char *err, size_t errlen)
{
	char function[96];
	int fd;

	tracepoint_function(probe, function, sizeof(function));
	fd = tracer_load_function(t, function,
				  is_raw(probe) ? BPF_PROG_TYPE_RAW_TRACEPOINT
				  : probe->category ? BPF_PROG_TYPE_TRACEPOINT : BPF_PROG_TYPE_KPROBE,
				  -1, err, errlen);
	return fd < 0 ? fd : 0;
}

int tracer_load(const struct tracer_config *config, struct tracer **tracer,
		char *err, size_t errlen)
{
	char follow[64], services[64], unix_services[64], self[64], max_procs[64], enforce[64],
		allow_list[64], rules[64];
	char resolver[64], upstreams[64], syscall_hooks[64], exec_argv[64];
	/* the kernel's own headers warn under libbcc's clang; ours do not */
	const char *cflags[] = { follow, services, unix_services, self, max_procs, enforce,
				 allow_list, rules, resolver, upstreams, syscall_hooks, exec_argv,
				 "-Wno-ignored-attributes", "-Wno-duplicate-decl-specifier" };
	struct tracer *t;
	int rc;

	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->config = *config;
	if (!t->config.max_procs)
		t->config.max_procs = DEFAULT_MAX_PROCS;
	if (config->kernel_tree)
		setenv("BCC_KERNEL_SOURCE", config->kernel_tree, 1);
	snprintf(follow, sizeof(follow), "-DDEPTRACE_FOLLOW_CHILDREN=%d", config->follow_children);
	snprintf(services, sizeof(services), "-DDEPTRACE_FOLLOW_SERVICES=%d", config->follow_services);
	snprintf(unix_services, sizeof(unix_services), "-DDEPTRACE_FOLLOW_UNIX=%d",
		 tracer_follows_unix(config));
	/* deptrace's own threads (its DNS forwarder under --enforce) never
	 * serve the tree: what they do is not the tree's */
	snprintf(self, sizeof(self), "-DDEPTRACE_SELF_TGID=%d", (int)getpid());
	snprintf(max_procs, sizeof(max_procs), "-DDEPTRACE_MAX_PROCS=%u", t->config.max_procs);
	snprintf(enforce, sizeof(enforce), "-DDEPTRACE_ENFORCE=%d", config->enforce);
	snprintf(allow_list, sizeof(allow_list), "-DDEPTRACE_ALLOW_LIST=%d", config->allow_list);
	snprintf(rules, sizeof(rules), "-DDEPTRACE_POLICY_RULES=%d",
		 TRACER_POLICY_RULES + (config->resolver ? TRACER_RESOLVED_ADDRESSES : 0));
	snprintf(resolver, sizeof(resolver), "-DDEPTRACE_RESOLVER=%d", config->resolver);
	snprintf(upstreams, sizeof(upstreams), "-DDEPTRACE_RESOLVER_UPSTREAMS=%d",
		 TRACER_RESOLVER_UPSTREAMS);
	snprintf(syscall_hooks, sizeof(syscall_hooks), "-DDEPTRACE_SYSCALL_HOOKS=%d",
		 config->syscall_hooks);
	snprintf(exec_argv, sizeof(exec_argv), "-DDEPTRACE_EXEC_ARGV_KERNEL=%d", config->exec_argv);

	t->module = bpf_module_create_c_from_string(
		config->backend == BACKEND_KPROBE ? bpf_text_connect_kprobe
						  : bpf_text_connect_tracepoint,
		0, cflags, sizeof(cflags) / sizeof(cflags[0]), true, NULL);
	if (!t->module) {
		snprintf(err, errlen, "libbcc could not compile the %s programs (its errors are above)",
			 backend_name(config->backend));
		free(t);
		return -EINVAL;
	}
	t->traced_fd = bpf_table_fd(t->module, "traced");
	t->stats_fd = bpf_table_fd(t->module, "stats");
	rc = for_each_probe(t, load_program, err, errlen);
	for (const struct cgroup_probe_spec *c = cgroup_probes; !rc && c->hook; c++) {
		int fd;

		if (!tracer_needs_cgroup_probe(&t->config, c))
			continue;
		fd = tracer_load_function(t, c->function, c->prog_type, c->attach_type, err, errlen);
		rc = fd < 0 ? fd : 0;
	}
	if (rc) {
		tracer_close(t);
		return rc;
	}
	*tracer = t;
	return 0;
}

int tracer_add_process(struct tracer *t, pid_t pid, pid_t ppid)
{
	__u32 key = (__u32)pid;
	struct deptrace_proc proc = { .ppid = (__u32)ppid };

	return bpf_update_elem(t->traced_fd, &key, &proc, BPF_ANY) ? -errno : 0;
}

void tracer_forget_exited(struct tracer *t)
{
	__u32 key, next, *gone = NULL;
	size_t ngone = 0, cap = 0;
	bool more = bpf_get_first_key(t->traced_fd, &key, sizeof(key)) == 0;

	/* collected first: a deletion would restart the walk */
	while (more) {
		if (!proctree_process_alive("/proc", (pid_t)key)) {
			if (ngone == cap) {
				__u32 *grown = realloc(gone, (cap = cap ? 2 * cap : 64) * sizeof(*gone));

				if (!grown)
					break;
				gone = grown;
			}
			gone[ngone++] = key;
		}
		more = bpf_get_next_key(t->traced_fd, &key, &next) == 0;
		key = next;
	}
	for (size_t i = 0; i < ngone; i++)
		bpf_delete_elem(t->traced_fd, &gone[i]);
	free(gone);
}

static int attach_probe(struct tracer *t, const struct probe_spec *probe,
			char *err, size_t errlen)
{
	struct attachment *a = &t->attachments[t->nattachments];
	char function[96];
	int fd;

	tracepoint_function(probe, function, sizeof(function));
	a->kprobe_event[0] = '\0';
	a->raw = is_raw(probe);
	if (a->raw) {
		fd = bpf_attach_raw_tracepoint(program_fd(t, function), probe->name);
	} else if (probe->category) {
		fd = bpf_attach_tracepoint(program_fd(t, function), probe->category, probe->name);
	} else {
		/* named per process: concurrent deptraces must not share events */
		snprintf(a->kprobe_event, sizeof(a->kprobe_event), "deptrace_%d_%s",
			 (int)getpid(), probe->name);
		fd = bpf_attach_kprobe(program_fd(t, function), BPF_PROBE_ENTRY,
				       a->kprobe_event, probe->name, 0, 0);
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot attach to %s %s%s%s",
			 a->raw ? "raw tracepoint" : probe->category ? "tracepoint" : "kprobe",
			 probe->category ? probe->category : "", probe->category ? ":" : "", probe->name);
		return -EINVAL;
	}
	a->perf_fd = fd;
	t->nattachments++;
	return 0;
}

/* The program, resolved, while the process still runs it (proctree.h). */
static void read_exec_program(struct deptrace_exec_event *ev)
{
	const char *argv[DEPTRACE_EXEC_ARGS];
	size_t argc = 0;

	while (argc < DEPTRACE_EXEC_ARGS && ev->argv[argc][0]) {
		argv[argc] = ev->argv[argc];
		argc++;
	}
	if (proctree_read_program("/proc", (pid_t)ev->h.pid, ev->h.comm, ev->path, argv, argc,
				  ev->exe, ev->script))
		ev->exe[0] = '\0';
}

/* argv as the kernel read it at exec, or, where it could not, from /proc
 * as the record arrives, milliseconds after the exec (the poll loop looks
 * again 4 ms after a batch): a process gone by then, or running another
 * program, is left with the path it was started by. */
static void read_exec_argv(struct deptrace_exec_event *ev)
{
	char cmdline[sizeof(ev->raw_argv)];
	ssize_t n;

	if (ev->raw_len) {
		decode_exec_argv(ev, ev->raw_argv, ev->raw_len);
	} else {
		n = proctree_read_cmdline("/proc", (pid_t)ev->h.pid, ev->h.comm, cmdline,
					  sizeof(cmdline));
		decode_exec_argv(ev, cmdline, n > 0 ? (size_t)n : 0);
	}
	read_exec_program(ev);
}

static void collect_record(void *cookie, void *data, int size)
{
	struct tracer *t = cookie;
	union deptrace_record *rec;

	if (t->nbatch == t->batch_cap) {
		size_t cap = t->batch_cap ? t->batch_cap * 2 : 64;
		union deptrace_record *grown = realloc(t->batch, cap * sizeof(*grown));

		if (!grown) {
			t->malformed++;
			return;
		}
		t->batch = grown;
		t->batch_cap = cap;
	}
	rec = &t->batch[t->nbatch];
	if (decode_record(data, (size_t)size, rec)) {
		t->malformed++;
		return;
	}
	if (rec->h.type == DEPTRACE_EVENT_EXEC)
		read_exec_argv(&rec->exec);
	t->nbatch++;
}

static int by_time(const void *a, const void *b)
{
	const union deptrace_record *x = a, *y = b;

	return (x->h.ts_ns > y->h.ts_ns) - (x->h.ts_ns < y->h.ts_ns);
}

static void deliver_lost(void *cookie, uint64_t lost)
{
	struct tracer *t = cookie;

	t->config.sink.lost(t->config.sink.ctx, lost);
}

/* Online CPUs from a list like "0-3,5"; -1 on error. */
static int online_cpus(int cpus[MAX_CPUS])
{
	char list[1024], *s = list, *end;
	int n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");

	if (!f)
		return -1;
	if (!fgets(list, sizeof(list), f)) {
		fclose(f);
		return -1;
	}
	fclose(f);
	while (*s && *s != '\n') {
		long first = strtol(s, &end, 10), last = first;

		if (end == s)
			return -1;
		if (*end == '-')
			last = strtol(end + 1, &end, 10);
		for (long cpu = first; cpu <= last && n < MAX_CPUS; cpu++)
			cpus[n++] = (int)cpu;
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

static int open_perf_buffers(struct tracer *t, char *err, size_t errlen)
{
	int cpus[MAX_CPUS], ncpus = online_cpus(cpus);
	int events_fd = bpf_table_fd(t->module, "events");

	if (ncpus <= 0) {
		snprintf(err, errlen, "cannot read /sys/devices/system/cpu/online");
		return -EINVAL;
	}
	for (int i = 0; i < ncpus; i++) {
		struct bcc_perf_buffer_opts opts = {
			.pid = -1, .cpu = cpus[i], .wakeup_events = TRACER_WAKEUP_EVENTS,
		};
		struct perf_reader *reader;
		int fd;

		reader = bpf_open_perf_buffer_opts(collect_record, deliver_lost, t,
						   (int)t->config.buffer_pages, &opts);
		if (!reader) {
			snprintf(err, errlen, "cannot open a perf buffer of %u pages on CPU %d",
				 t->config.buffer_pages, cpus[i]);
			return -ENOMEM;
		}
		t->readers[t->nreaders++] = reader;
		fd = perf_reader_fd(reader);
		if (bpf_update_elem(events_fd, &cpus[i], &fd, BPF_ANY)) {
			int rc = -errno;

			snprintf(err, errlen, "cannot register the perf buffer of CPU %d: %s",
				 cpus[i], strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int tracer_link_cgroup(struct tracer *t, const char *function, int prog_type,
		       int attach_type, int cgroup_fd, char *err, size_t errlen)
{
	int prog_fd = tracer_load_function(t, function, prog_type, attach_type, err, errlen);
	union bpf_attr attr;
	int fd;

	if (prog_fd < 0)
		return prog_fd;
	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = (__u32)prog_fd;
	attr.link_create.target_fd = (__u32)cgroup_fd;
	attr.link_create.attach_type = (__u32)attach_type;
	fd = (int)syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));
	if (fd < 0) {
		int rc = -errno;

		snprintf(err, errlen, "cannot link %s to the cgroup: %s", function, strerror(-rc));
		return rc;
	}
	return fd;
}

/* The cgroup programs, on the root: every socket on the machine is in
 * its subtree, whatever cgroup a traced process moves to. */
static int link_cgroup_probes(struct tracer *t, char *err, size_t errlen)
{
	int root, rc = 0;

	if (!t->config.cgroup_root[0])
		return 0;
	root = open(t->config.cgroup_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the cgroup v2 root %s: %s",
			 t->config.cgroup_root, strerror(-rc));
		return rc;
	}
	for (const struct cgroup_probe_spec *c = cgroup_probes; c->hook; c++) {
		int fd;

		if (!tracer_needs_cgroup_probe(&t->config, c))
			continue;
		fd = tracer_link_cgroup(t, c->function, c->prog_type, c->attach_type, root, err,
					errlen);
		if (fd < 0) {
			rc = fd;
			break;
		}
		t->cgroup_links[t->ncgroup_links++] = fd;
	}
	close(root);
	return rc;
}

int tracer_attach(struct tracer *t, char *err, size_t errlen)
{
	int rc = open_perf_buffers(t, err, errlen);

	if (!rc)
		rc = link_cgroup_probes(t, err, errlen);
	return rc ? rc : for_each_probe(t, attach_probe, err, errlen);
}

/* Waking the reader for every record costs the traced task an interrupt
 * inside its connect(); woken every TRACER_WAKEUP_EVENTS, and drained after
 * every poll timeout whatever the count, records are late by at most that
 * timeout. */
int tracer_poll_timeout(int timeout_ms, size_t delivered)
{
	if (delivered)
		return TRACER_POLL_SOON_MS;
	return timeout_ms * 2 > TRACER_POLL_INTERVAL_MS ? TRACER_POLL_INTERVAL_MS : timeout_ms * 2;
}

static size_t deliver_batch(struct tracer *t)
{
	size_t delivered;

	qsort(t->batch, t->nbatch, sizeof(*t->batch), by_time);
	for (size_t i = 0; i < t->nbatch; i++)
		t->config.sink.record(t->config.sink.ctx, &t->batch[i]);
	delivered = t->nbatch;
	t->nbatch = 0;
	return delivered;
}

size_t tracer_poll(struct tracer *t, int timeout_ms, int wake_fd)
{
	struct pollfd fds[MAX_CPUS + 1];
	int n = 0;

	for (int i = 0; i < t->nreaders; i++)
		fds[n++] = (struct pollfd){ .fd = perf_reader_fd(t->readers[i]), .events = POLLIN };
	if (wake_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
	poll(fds, (nfds_t)n, timeout_ms); /* EINTR: a signal the caller looks at */
	perf_reader_consume(t->nreaders, t->readers);
	return deliver_batch(t);
}

uint64_t tracer_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Collects the records still open in `table` (keyed by a u64) with
 * `result`; a TCP connect's wait runs until now. */
static void collect_open(struct tracer *t, const char *table, int result)
{
	int fd = bpf_table_fd(t->module, table);
	struct deptrace_connect_event ev;
	__u64 key, next;
	bool more = fd >= 0 && bpf_get_first_key(fd, &key, sizeof(key)) == 0;
	uint64_t now = tracer_clock_ns();

	while (more) {
		if (!bpf_lookup_elem(fd, &key, &ev)) {
			ev.result = result;
			if (result == -EINPROGRESS)
				ev.wait_ns = now > ev.h.ts_ns ? now - ev.h.ts_ns : 0;
			collect_record(t, &ev, sizeof(ev));
		}
		more = bpf_get_next_key(fd, &key, &next) == 0;
		key = next;
	}
}

/* Whether a record still open in `table` belongs to a process in its
 * exit. */
static bool exiting_owner(struct tracer *t, const char *table)
{
	int fd = bpf_table_fd(t->module, table);
	struct deptrace_connect_event ev;
	__u64 key, next;
	bool more = fd >= 0 && bpf_get_first_key(fd, &key, sizeof(key)) == 0;

	while (more) {
		if (!bpf_lookup_elem(fd, &key, &ev) && proctree_process_exiting("/proc", (pid_t)ev.h.pid))
			return true;
		more = bpf_get_next_key(fd, &key, &next) == 0;
		key = next;
	}
	return false;
}

/* A process leaves the traced map at sched_process_exit, before its exit
 * closes its files: the records of the sockets it still held are sent by
 * cgroup/sock_release moments later (the run may end in between). Waits
 * for them while their process is in its exit, at most FINISH_GRACE_MS. */
#define FINISH_GRACE_MS 500
static void await_exiting_sockets(struct tracer *t)
{
	uint64_t deadline = tracer_clock_ns() + FINISH_GRACE_MS * 1000000ull;

	while (exiting_owner(t, "pending") && tracer_clock_ns() < deadline) {
		perf_reader_poll(t->nreaders, t->readers, 2);
		perf_reader_consume(t->nreaders, t->readers);
	}
}

void tracer_finish(struct tracer *t)
{
	perf_reader_consume(t->nreaders, t->readers);
	if (!t->config.syscall_hooks)
		await_exiting_sockets(t);
	collect_open(t, "tcp_connecting", -EINPROGRESS);
	if (!t->config.syscall_hooks)
		collect_open(t, "pending", DEPTRACE_RESULT_UNSEEN);
	deliver_batch(t);
}

uint64_t tracer_malformed(const struct tracer *t)
{
	return t->malformed;
}

bool tracer_has_processes(struct tracer *t)
{
	__u32 key;

	return bpf_get_first_key(t->traced_fd, &key, sizeof(key)) == 0;
}

uint64_t tracer_stat(struct tracer *t, enum deptrace_stat slot)
{
	__u32 key = slot;
	__u64 value = 0;

	bpf_lookup_elem(t->stats_fd, &key, &value);
	return value;
}

int tracer_table_fd(const struct tracer *t, const char *table)
{
	return bpf_table_fd(t->module, table);
}

size_t tracer_program_count(const struct tracer *t)
{
	return t->nprograms;
}

/* Closing a tracepoint's or kprobe's perf event waits for an RCU grace
 * period (its unregistration); closed in turn, one wait each was most of
 * deptrace's exit (seven of about 80 ms here). Closed from a thread each,
 * the waits overlap. */
static void *close_perf_event(void *fd)
{
	bpf_close_perf_event_fd((int)(intptr_t)fd);
	return NULL;
}

static void close_perf_events(struct tracer *t)
{
	pthread_t threads[MAX_ATTACHMENTS];
	bool started[MAX_ATTACHMENTS] = { false };

	for (size_t i = 0; i < t->nattachments; i++) {
		void *fd = (void *)(intptr_t)t->attachments[i].perf_fd;

		if (t->attachments[i].raw)
			continue;
		started[i] = !pthread_create(&threads[i], NULL, close_perf_event, fd);
		if (!started[i])
			close_perf_event(fd); /* no thread: in turn, as before */
	}
	for (size_t i = 0; i < t->nattachments; i++) {
		if (started[i])
			pthread_join(threads[i], NULL);
		/* only a kprobe_events fallback left something to remove */
		if (!t->attachments[i].raw && t->attachments[i].kprobe_event[0])
			bpf_detach_kprobe(t->attachments[i].kprobe_event);
	}
}

void tracer_close(struct tracer *t)
{
	if (!t)
		return;
	/* a cgroup program's link detaches it at once */
	for (size_t i = 0; i < t->ncgroup_links; i++)
		close(t->cgroup_links[i]);
	/* A raw tracepoint lets go of its program only after an RCU grace
	 * period; closed first, that has passed by the time the perf events
	 * below are closed (they wait for one), so that no program of ours
	 * is left loaded once deptrace has exited. */
	for (size_t i = 0; i < t->nattachments; i++)
		if (t->attachments[i].raw)
			close(t->attachments[i].perf_fd);
	close_perf_events(t);
	for (int i = 0; i < t->nreaders; i++)
		perf_reader_free(t->readers[i]);
	for (size_t i = 0; i < t->nprograms; i++)
		close(t->programs[i].fd);
	bpf_module_destroy(t->module);
	free(t->batch);
	free(t);
}
