/* check_report: see check_report.h. */
#include "check_report.h"

#include <string.h>

#include "kheaders.h"

#define ROW "%-16s "

static void report_headers(FILE *out, const struct headers_choice *headers, int rc)
{
	if (rc)
		fprintf(out, ROW "none\n", "kernel headers");
	else if (headers->source == HEADERS_NEAREST) {
		fprintf(out, ROW "%s: %s\n", "kernel headers", kheaders_source_name(headers->source),
			headers->arch_dir);
		if (headers->common_dir[0])
			fprintf(out, ROW "merged with %s at %s\n", "", headers->common_dir,
				headers->tree);
	} else {
		fprintf(out, ROW "%s: %s\n", "kernel headers", kheaders_source_name(headers->source),
			headers->tree);
	}
}

static void report_probes(FILE *out, const struct kernel_features *f)
{
	fprintf(out, ROW "%s\n", "kprobes", f->kprobes ? "yes" : "no (CONFIG_KPROBES off)");
	if (!f->kprobes)
		fprintf(out, ROW "%s\n", "kprobe targets", "not looked for (no kprobes)");
	else
		fprintf(out, ROW "%s%s\n", "kprobe targets", f->missing_symbol ? "missing " : "all found",
			f->missing_symbol ? f->missing_symbol : "");
	fprintf(out, ROW "%s%s\n", "tracepoints",
		f->missing_tracepoint ? "missing " : "all shared ones found",
		f->missing_tracepoint ? f->missing_tracepoint : "");
	fprintf(out, ROW "%s%s\n", "syscall tps",
		f->missing_syscall_tracepoint ? "missing " : "all found",
		f->missing_syscall_tracepoint ? f->missing_syscall_tracepoint : "");
	fprintf(out, ROW "%s\n", "exec argv",
		f->exec_argv ? "read by the kernel at exec"
			     : "from /proc as each exec is seen (no bpf_task_pt_regs: a program "
			       "ending within milliseconds keeps its path alone)");
}

/* Where each fact comes from, and how many syscall tracepoints that
 * takes: each slows every syscall of every process while attached. */
static void report_fact_sources(FILE *out, enum backend backend, bool syscall_hooks,
			       const struct kernel_features *f)
{
	char sources[1024];
	unsigned hooks, total = 0;

	for (enum probe_fact fact = 0; fact < FACT_COUNT; fact++) {
		probe_fact_sources(backend, syscall_hooks, fact, sources, sizeof(sources), &hooks);
		if (fact == FACT_UNIX_SERVICES && f->missing_unix_tracepoint)
			fprintf(out, ROW "not followed: no tracepoint sock:%s in this kernel\n",
				probe_fact_name(fact), f->missing_unix_tracepoint);
		else
			fprintf(out, ROW "%s\n", probe_fact_name(fact), sources);
		total += hooks;
	}
	if (total)
		fprintf(out, ROW "%u (--syscall-hooks: each slows every syscall on the machine while attached)\n",
			"syscall hooks", total);
	else
		fprintf(out, ROW "none (a connect failing before it sends anything reads 'failed': its errno needs --syscall-hooks)\n",
			"syscall hooks");
}

enum run_failure check_report(FILE *out, enum backend wanted, bool syscall_hooks,
			      const struct message_sink *messages)
{
	struct kernel_features features;
	struct headers_choice headers;
	char notice[256] = "", why[256] = "", err[512];
	enum backend backend;
	int tracefs_rc = ensure_tracefs(notice, sizeof(notice));
	bool privileged = have_tracing_privileges();
	int headers_rc;

	probe_kernel(&features);
	backend = choose_backend(&features, wanted, syscall_hooks, why, sizeof(why));
	fprintf(out, ROW "%s\n", "kernel", features.release);
	fprintf(out, ROW "%s\n", "privileges", privileged ? "sufficient" : "insufficient (run as root)");
	fprintf(out, ROW "%s%s\n", "bpf", features.bpf_errno ? "refused: " : "yes",
		features.bpf_errno ? strerror(features.bpf_errno) : "");
	fprintf(out, ROW "%s%s%s\n", "tracefs", tracefs_rc ? "unavailable: " : TRACING_DIR,
		tracefs_rc ? strerror(-tracefs_rc) : "", *notice ? " (deptrace " : "");
	if (*notice)
		fprintf(out, ROW "%s)\n", "", notice);
	report_probes(out, &features);
	if (backend == BACKEND_AUTO) {
		fprintf(out, ROW "none: %s\n", "backend", why);
	} else {
		fprintf(out, ROW "%s%s\n", "backend", backend_name(backend),
			wanted == BACKEND_AUTO ? " (auto)" : " (forced)");
		report_fact_sources(out, backend, syscall_hooks, &features);
	}
	headers_rc = kheaders_choose(features.release, &headers, err, sizeof(err));
	if (headers_rc)
		message_say(messages, "%s", err);
	report_headers(out, &headers, headers_rc);
	if (!privileged)
		return RUN_FAILED_PERMISSION;
	if (backend == BACKEND_AUTO)
		return RUN_FAILED_KERNEL;
	return headers_rc ? RUN_FAILED_NO_HEADERS : RUN_FAILED_NOTHING;
}
