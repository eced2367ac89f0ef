/* deptrace: show, and can stop, the network connections a process tree
 * attempts.
 *
 * parse -> verb -> exit: the options are parsed (lib/options.c), then the
 * verb's function does the rest: tracing (the default: lib/run.c's
 * prepare, start, poll, finish), or one of the verbs that read saved runs
 * (replay, policy, diff). Each reports through the message callback here
 * and decides its exit code from what lib/ tells it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_report.h"
#include "options.h"
#include "policy_gen.h"
#include "replay.h"
#include "run.h"
#include "run_diff.h"
#include "saved_run.h"
#include "usage.h"

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One write a line: stderr is unbuffered, and the output may share its
 * file (2>&1), where a line written in pieces would be cut by another's. */
static void warn(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "deptrace: %s\n", line);
}

/* The message sink lib/ is given. */
static void on_message(void *ctx, const char *line)
{
	warn("%s", line);
}

/* What parse_options tells that is no error. */
static void notice(const char *message)
{
	warn("%s", message);
}

static int exit_code_of_failure(enum run_failure failure)
{
	struct run_facts facts = { .failure = failure };

	return run_exit_code(&facts);
}

/* An output file of a verb (-o, --graph): removed again if the verb
 * fails and deptrace made it. */
struct verb_file {
	FILE *stream;
	const char *path;
	bool created;
};

static int verb_file_open(struct verb_file *f, const char *path, FILE *fallback)
{
	*f = (struct verb_file){ .stream = fallback, .path = path };
	if (!path)
		return 0;
	f->created = access(path, F_OK) != 0;
	f->stream = fopen(path, "w");
	if (!f->stream) {
		warn("cannot write %s: %s", path, strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

/* Closes the file; an error writing it fails the verb (rc). */
static int verb_file_close(struct verb_file *f, int rc)
{
	if (!f->path || !f->stream) {
		if (f->stream && fflush(f->stream) && !rc) {
			warn("cannot write the output: %s", strerror(errno));
			rc = EXIT_RUNTIME;
		}
		return rc;
	}
	if (fclose(f->stream) && !rc) {
		warn("cannot write %s: %s", f->path, strerror(errno));
		rc = EXIT_RUNTIME;
	}
	if (rc && f->created)
		unlink(f->path);
	return rc;
}

static int trace(const struct options *opts)
{
	const struct message_sink messages = { .line = on_message };
	struct run_config config = { .opts = opts, .messages = messages,
				     .version = DEPTRACE_VERSION };
	struct run *run;
	int rc;

	if (opts->check)
		return exit_code_of_failure(check_report(stdout, opts->backend, &messages));
	run = run_new(&config);
	if (!run) {
		warn("out of memory");
		return exit_code_of_failure(RUN_FAILED_RUNTIME);
	}
	if (!run_prepare(run) && !run_start(run))
		run_poll(run);
	run_finish(run);
	rc = run_exit_code(run_facts(run));
	run_free(run);
	return rc;
}

static int replay(const struct options *opts)
{
	struct replay_config config = { .path = opts->files[0], .summary = opts->summary,
					.policy = &opts->policy,
					.messages = { .line = on_message } };
	struct verb_file output, graph;
	struct run_totals totals;
	struct output out;
	char **baseline = NULL, err[512], count[VIOLATIONS_LEN];
	size_t nbaseline = 0;
	int rc;

	if (opts->baseline_path &&
	    saved_run_keys(opts->baseline_path, &baseline, &nbaseline, err, sizeof(err))) {
		warn("--baseline: %s", err);
		return EXIT_USAGE;
	}
	config.baseline = (const char *const *)baseline;
	config.nbaseline = nbaseline;
	rc = verb_file_open(&output, opts->output_path, stdout);
	if (!rc)
		rc = verb_file_open(&graph, opts->graph_path, NULL);
	else
		graph = (struct verb_file){ 0 };
	if (!rc) {
		output_init(&out, output.stream, opts->json ? OUTPUT_JSON : OUTPUT_TEXT);
		config.out = &out;
		config.graph = graph.stream;
		if (replay_run(&config, &totals, err, sizeof(err))) {
			warn("%s", err);
			rc = EXIT_USAGE;
		}
	}
	if (!rc) {
		warn("%llu connection%s and %llu lookup%s replayed from %s",
		     (unsigned long long)totals.connections, totals.connections == 1 ? "" : "s",
		     (unsigned long long)totals.lookups, totals.lookups == 1 ? "" : "s",
		     opts->files[0]);
		if (totals.policy) {
			format_violations(&totals, count, sizeof(count));
			warn("%s", count);
		}
		if (totals.baseline) {
			format_new_deps(&totals, count, sizeof(count));
			warn("%s (%s)", count, opts->baseline_path);
		}
		if (opts->fail_on_violation && (totals.violations || totals.new_deps))
			rc = EXIT_VIOLATION;
	}
	saved_run_keys_free(baseline, nbaseline);
	rc = verb_file_close(&graph, rc);
	/* a violation is the replay's answer, not a failure: its output stays */
	return verb_file_close(&output, rc == EXIT_VIOLATION ? 0 : rc) ?: rc;
}

static int write_policy(const struct options *opts)
{
	struct verb_file output;
	char err[512];
	int rc = verb_file_open(&output, opts->output_path, stdout);

	if (!rc && policy_generate((const char *const *)opts->files, opts->nfiles, opts->fold,
				   output.stream, err, sizeof(err))) {
		warn("%s", err);
		rc = EXIT_USAGE;
	}
	return verb_file_close(&output, rc);
}

static int diff(const struct options *opts)
{
	struct verb_file output;
	struct run_diff_totals totals;
	char err[512];
	int rc = verb_file_open(&output, opts->output_path, stdout);

	if (!rc && run_diff(opts->files[0], opts->files[1], output.stream, &totals, err,
			    sizeof(err))) {
		warn("%s", err);
		rc = EXIT_USAGE;
	}
	if (!rc) {
		warn("%zu added, %zu removed, %zu changed", totals.added, totals.removed,
		     totals.changed);
		rc = totals.added ? EXIT_DIFF_ADDED
		     : totals.removed || totals.changed ? EXIT_DIFF_CHANGED : EXIT_OK;
	}
	return verb_file_close(&output, rc > EXIT_VIOLATION ? 0 : rc) ?: rc;
}

/* The verbs, bpftool's way: what argv[1] names (options_verb), tracing
 * when it names none. */
static int (*const verbs[])(const struct options *opts) = {
	[VERB_TRACE] = trace,
	[VERB_REPLAY] = replay,
	[VERB_POLICY] = write_policy,
	[VERB_DIFF] = diff,
};

int main(int argc, char **argv)
{
	struct options opts;
	char err[512];
	int rc;

	rc = parse_options(argc, argv, notice, &opts, err, sizeof(err));
	if (rc) {
		warn("%s", err);
		return rc == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	if (opts.help)
		usage_print_help(stdout);
	else if (opts.version)
		printf("deptrace %s\n", DEPTRACE_VERSION);
	else
		rc = verbs[opts.verb](&opts);
	options_free(&opts);
	return rc;
}
