/* deptrace: show, and can stop, the network connections a process tree
 * attempts.
 *
 * parse -> run -> exit: the options are parsed (lib/options.c), the run
 * does the rest (lib/run.c: prepare, start, poll, finish) and reports
 * through the message callback here; its facts decide the exit code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "check_report.h"
#include "options.h"
#include "run.h"
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

int main(int argc, char **argv)
{
	const struct message_sink messages = { .line = on_message };
	struct options opts;
	struct run_config config = { .opts = &opts, .messages = messages };
	struct run *run;
	char err[256];
	int rc;

	rc = parse_options(argc, argv, notice, &opts, err, sizeof(err));
	if (rc) {
		warn("%s", err);
		return rc == -ENOMEM ? EXIT_RUNTIME : EXIT_USAGE;
	}
	if (opts.help) {
		usage_print_help(stdout);
	} else if (opts.version) {
		printf("deptrace %s\n", DEPTRACE_VERSION);
	} else if (opts.check) {
		rc = exit_code_of_failure(check_report(stdout, opts.backend, &messages));
	} else if (!(run = run_new(&config))) {
		warn("out of memory");
		rc = exit_code_of_failure(RUN_FAILED_RUNTIME);
	} else {
		if (!run_prepare(run) && !run_start(run))
			run_poll(run);
		run_finish(run);
		rc = run_exit_code(run_facts(run));
		run_free(run);
	}
	options_free(&opts);
	return rc;
}
