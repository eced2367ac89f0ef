/* kernel_probe: see kernel_probe.h. */
#define _GNU_SOURCE
#include "kernel_probe.h"

#include <bcc/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <unistd.h>

const struct probe_spec shared_probes[] = {
	{ "task", "task_newtask", NULL, true, FACT_PROCESSES },
	{ "sched", "sched_process_exit", "raw_tracepoint__sched_process_exit", false, FACT_PROCESSES },
	{ "sched", "sched_process_exec", NULL, false, FACT_PROCESSES },
	{ "sock", "inet_sock_set_state", NULL, false, FACT_TCP },
	{ "sock", "inet_sk_error_report", NULL, false, FACT_TCP },
	{ "tcp", "tcp_destroy_sock", "raw_tracepoint__tcp_destroy_sock", false, FACT_TCP },
	{ "tcp", "tcp_rcv_space_adjust", NULL, false, FACT_SERVICES },
	{ 0 },
};

const struct probe_spec unix_probes[] = {
	{ "sock", "sk_data_ready", NULL, false, FACT_UNIX_SERVICES },
	{ "sock", "sock_recv_length", NULL, false, FACT_UNIX_SERVICES },
	{ 0 },
};

const struct probe_spec kprobe_probes[] = {
	{ NULL, "tcp_v4_connect", "on_tcp_connect", false, FACT_CONNECT },
	{ NULL, "tcp_v6_connect", "on_tcp_connect", false, FACT_CONNECT },
	{ NULL, "inet_dgram_connect", "on_dgram_connect", false, FACT_CONNECT },
	{ 0 },
};

const struct probe_spec syscall_probes[] = {
	{ "syscalls", "sys_enter_connect", NULL, false, FACT_CONNECT },
	{ "syscalls", "sys_exit_connect", NULL, false, FACT_CONNECT },
	{ 0 },
};

const struct probe_spec tracepoint_probes[] = {
	{ "syscalls", "sys_enter_socket", NULL, false, FACT_CONNECT },
	{ "syscalls", "sys_exit_socket", NULL, false, FACT_CONNECT },
	{ 0 },
};

size_t probe_lists(enum backend backend, bool syscall_hooks,
		   const struct probe_spec *lists[PROBE_LISTS])
{
	size_t n = 0;

	lists[n++] = shared_probes;
	if (backend == BACKEND_KPROBE)
		lists[n++] = kprobe_probes;
	if (syscall_hooks) {
		lists[n++] = syscall_probes;
		if (backend != BACKEND_KPROBE)
			lists[n++] = tracepoint_probes;
	}
	lists[n++] = unix_probes;
	return n;
}

#define FACT(f) (1u << (f))

const struct cgroup_probe_spec cgroup_probes[] = {
	{ "connect4", "trace_connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT,
	  FACT(FACT_CONNECT) | FACT(FACT_DNS) },
	{ "connect6", "trace_connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT,
	  FACT(FACT_CONNECT) | FACT(FACT_DNS) },
	{ "sock_release", "trace_release", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE,
	  FACT(FACT_CONNECT) | FACT(FACT_DNS) },
	{ "sendmsg4", "dns_sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG,
	  FACT(FACT_DNS) },
	{ "sendmsg6", "dns_sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG,
	  FACT(FACT_DNS) },
	{ "egress", "dns_egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS, FACT(FACT_DNS) },
	{ "ingress", "dns_ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS,
	  FACT(FACT_DNS) },
	/* UDP services (bpf_text/follow.bpf.h): not with --no-follow */
	{ "connect4", "follow_udp_connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT,
	  FACT(FACT_SERVICES) },
	{ "connect6", "follow_udp_connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT,
	  FACT(FACT_SERVICES) },
	{ "sendmsg4", "follow_udp_sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG,
	  FACT(FACT_SERVICES) },
	{ "sendmsg6", "follow_udp_sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG,
	  FACT(FACT_SERVICES) },
	{ "recvmsg4", "follow_udp_recvmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG,
	  FACT(FACT_SERVICES) },
	{ "recvmsg6", "follow_udp_recvmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG,
	  FACT(FACT_SERVICES) },
	{ 0 },
};

const char *probe_fact_name(enum probe_fact fact)
{
	switch (fact) {
	case FACT_PROCESSES: return "processes";
	case FACT_TCP: return "TCP outcomes";
	case FACT_CONNECT: return "connect(2)";
	case FACT_DNS: return "DNS payloads";
	case FACT_SERVICES: return "local services";
	case FACT_UNIX_SERVICES: return "Unix services";
	case FACT_COUNT: break;
	}
	return "?";
}

/* Appends ", NAME" (or NAME first) to buf; false once it is full. */
static bool append_source(char *buf, size_t len, size_t *used, const char *prefix,
			  const char *name, const char *suffix)
{
	int n = snprintf(buf + *used, len - *used, "%s%s%s%s", *used ? ", " : "", prefix, name,
			 suffix);

	if (n < 0 || (size_t)n >= len - *used)
		return false;
	*used += (size_t)n;
	return true;
}

void probe_fact_sources(enum backend backend, bool with_syscall_hooks, enum probe_fact fact,
			char *buf, size_t len, unsigned *syscall_hooks)
{
	const struct probe_spec *lists[PROBE_LISTS];
	size_t nlists = probe_lists(backend, with_syscall_hooks, lists);
	char prefix[64];
	size_t used = 0;

	*buf = '\0';
	*syscall_hooks = 0;
	for (size_t i = 0; i < nlists; i++) {
		for (const struct probe_spec *p = lists[i]; p->name; p++) {
			if (p->fact != fact)
				continue;
			if (p->category && !strcmp(p->category, "syscalls"))
				++*syscall_hooks;
			snprintf(prefix, sizeof(prefix), "%s%s", p->category ? p->category : "kprobe ",
				 p->category ? ":" : "");
			if (!append_source(buf, len, &used, prefix, p->name,
					   p->category && p->function ? " (raw)" : ""))
				return;
		}
	}
	for (const struct cgroup_probe_spec *c = cgroup_probes; c->hook; c++)
		if ((c->facts & FACT(fact)) &&
		    !append_source(buf, len, &used, "cgroup:", c->hook, ""))
			return;
}

static bool tracing_ready(void)
{
	return access(TRACING_DIR "/events", R_OK) == 0;
}

int ensure_tracefs(char *notice, size_t len)
{
	*notice = '\0';
	if (tracing_ready())
		return 0;
	if (mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL) == 0) {
		snprintf(notice, len, "mounted debugfs on /sys/kernel/debug");
	} else if (errno != EBUSY) {
		return -errno;
	}
	/* Kernels since 4.1 automount tracefs there; older ones need it done. */
	if (!tracing_ready()) {
		if (mount("tracefs", TRACING_DIR, "tracefs", 0, NULL))
			return -errno;
		snprintf(notice + strlen(notice), len - strlen(notice), "%smounted tracefs on %s",
			 *notice ? " and " : "", TRACING_DIR);
	}
	return tracing_ready() ? 0 : -ENOENT;
}

static const char *first_missing_tracepoint(const struct probe_spec *probes)
{
	char path[256];

	for (; probes->name; probes++) {
		snprintf(path, sizeof(path), TRACING_DIR "/events/%s/%s/id",
			 probes->category, probes->name);
		if (access(path, R_OK))
			return probes->name;
	}
	return NULL;
}

/* The first function of `probes` that /proc/kallsyms does not list. */
static const char *first_missing_symbol(const struct probe_spec *probes)
{
	char line[512], sym[256];
	unsigned found = 0, count = 0;
	char type;
	FILE *f = fopen("/proc/kallsyms", "r");

	while (probes[count].name)
		count++;
	if (!f)
		return probes[0].name;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %c %255s", &type, sym) != 2 || (type != 't' && type != 'T'))
			continue;
		for (unsigned i = 0; i < count; i++)
			if (!strcmp(sym, probes[i].name))
				found |= 1u << i;
	}
	fclose(f);
	for (unsigned i = 0; i < count; i++)
		if (!(found & (1u << i)))
			return probes[i].name;
	return NULL;
}

/* Whether the verifier takes a tracepoint program that asks for the
 * current task's user registers (process_tree.bpf.h reads argv from them).
 * Loaded, not guessed from the version: the helpers also need kernel BTF. */
static bool tracepoints_read_user_registers(void)
{
	const struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_current_task_btf },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_task_pt_regs },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bcc_prog_load(BPF_PROG_TYPE_TRACEPOINT, "deptrace_probe", insns, sizeof(insns),
			       "GPL", 0, 0, NULL, 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

void probe_kernel(struct kernel_features *features)
{
	struct utsname un;
	int fd;

	memset(features, 0, sizeof(*features));
	uname(&un);
	snprintf(features->release, sizeof(features->release), "%s", un.release);

	fd = bcc_create_map(BPF_MAP_TYPE_ARRAY, "deptrace_probe", 4, 4, 1, 0);
	if (fd < 0)
		features->bpf_errno = errno ? errno : ENOSYS;
	else
		close(fd);

	features->tracefs = tracing_ready();
	features->kprobes = access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0 ||
			    access(TRACING_DIR "/kprobe_events", R_OK) == 0;
	/* reading /proc/kallsyms takes ~0.1 s of start-up: only where kprobes
	 * could use the answer */
	features->missing_symbol = features->kprobes ? first_missing_symbol(kprobe_probes) : NULL;
	features->missing_tracepoint = first_missing_tracepoint(shared_probes);
	features->missing_syscall_tracepoint = first_missing_tracepoint(syscall_probes);
	if (!features->missing_syscall_tracepoint)
		features->missing_syscall_tracepoint = first_missing_tracepoint(tracepoint_probes);
	features->missing_unix_tracepoint = first_missing_tracepoint(unix_probes);
	features->exec_argv = !features->bpf_errno && tracepoints_read_user_registers();
}

bool have_tracing_privileges(void)
{
	enum { CAP_SYS_ADMIN_BIT = 21, CAP_PERFMON_BIT = 38, CAP_BPF_BIT = 39 };
	unsigned long long caps = 0;
	char line[256];
	FILE *f;

	if (geteuid() == 0)
		return true;
	f = fopen("/proc/self/status", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return (caps >> CAP_SYS_ADMIN_BIT & 1) ||
	       ((caps >> CAP_BPF_BIT & 1) && (caps >> CAP_PERFMON_BIT & 1));
}

static bool kprobe_backend_fits(const struct kernel_features *f, bool syscall_hooks,
				char *why, size_t len)
{
	if (!f->kprobes)
		snprintf(why, len, "kernel %s has no kprobes (CONFIG_KPROBES off)", f->release);
	else if (f->missing_symbol)
		snprintf(why, len, "kernel function %s is not probeable", f->missing_symbol);
	else if (f->missing_tracepoint)
		snprintf(why, len, "tracepoint %s is missing", f->missing_tracepoint);
	else if (syscall_hooks && f->missing_syscall_tracepoint)
		snprintf(why, len, "tracepoint %s is missing (CONFIG_FTRACE_SYSCALLS off?)",
			 f->missing_syscall_tracepoint);
	else
		return true;
	return false;
}

static bool tracepoint_backend_fits(const struct kernel_features *f, bool syscall_hooks,
				    char *why, size_t len)
{
	const char *missing = f->missing_tracepoint ? f->missing_tracepoint
			      : syscall_hooks ? f->missing_syscall_tracepoint : NULL;

	if (!f->tracefs)
		snprintf(why, len, "tracefs is not available at %s", TRACING_DIR);
	else if (missing)
		snprintf(why, len, "tracepoint %s is missing (CONFIG_FTRACE_SYSCALLS off?)", missing);
	else
		return true;
	return false;
}

enum backend choose_backend(const struct kernel_features *features, enum backend requested,
			    bool syscall_hooks, char *why, size_t len)
{
	char kprobe_why[128];

	if (features->bpf_errno) {
		snprintf(why, len, "kernel %s refuses BPF: %s", features->release,
			 strerror(features->bpf_errno));
		return BACKEND_AUTO;
	}
	switch (requested) {
	case BACKEND_KPROBE:
		return kprobe_backend_fits(features, syscall_hooks, why, len) ? BACKEND_KPROBE
									      : BACKEND_AUTO;
	case BACKEND_TRACEPOINT:
		return tracepoint_backend_fits(features, syscall_hooks, why, len)
			       ? BACKEND_TRACEPOINT : BACKEND_AUTO;
	case BACKEND_AUTO:
		break;
	}
	if (kprobe_backend_fits(features, syscall_hooks, kprobe_why, sizeof(kprobe_why)))
		return BACKEND_KPROBE;
	if (tracepoint_backend_fits(features, syscall_hooks, why, len))
		return BACKEND_TRACEPOINT;
	snprintf(why + strlen(why), len - strlen(why), "; and %s", kprobe_why);
	return BACKEND_AUTO;
}

const char *backend_name(enum backend backend)
{
	switch (backend) {
	case BACKEND_KPROBE: return "kprobe";
	case BACKEND_TRACEPOINT: return "tracepoint";
	case BACKEND_AUTO: break;
	}
	return "auto";
}

int parse_backend(const char *name, enum backend *backend)
{
	for (enum backend b = BACKEND_AUTO; b <= BACKEND_TRACEPOINT; b++) {
		if (!strcmp(name, backend_name(b))) {
			*backend = b;
			return 0;
		}
	}
	return -EINVAL;
}
