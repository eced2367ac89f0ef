/* usage: see usage.h. */
#include "usage.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "options.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --help's layout: lines of at most HELP_WIDTH columns; an option's text
 * starts at OPTION_COLUMN, an exit status's at EXIT_COLUMN, an example's
 * explanation at EXAMPLE_COLUMN when it fits beside the command, else on
 * its own lines at EXAMPLE_INDENT. */
#define HELP_WIDTH 79
#define OPTION_COLUMN 26
#define EXIT_COLUMN 7
#define EXAMPLE_COLUMN 36
#define EXAMPLE_INDENT 6

static const char summary[] = "show, and stop, the network dependencies of a process tree";

static const char *const synopsis[] = {
	"deptrace [OPTION]... -p PID[,PID]...",
	"deptrace [OPTION]... -- COMMAND [ARG]...",
	"deptrace --check",
	"deptrace replay RUN.jsonl [--policy FILE | --deny/--allow RULE]... [OPTION]...",
	"deptrace policy [--fold N] [-o FILE] RUN.jsonl...",
	"deptrace diff OLD.jsonl NEW.jsonl",
};

static const char intro[] =
	"Show every network connection a process tree attempts: one line per connect(2), "
	"TCP or UDP, IPv4 or IPv6, with its result and the name the process resolved to "
	"reach it, and one line per DNS lookup. Traces the named processes, all their "
	"threads and every process they start, until they have all exited, Ctrl-C or "
	"SIGTERM; a command's run ends with the map of everything it depended on. Needs "
	"root (or CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN).";

/* After the options in --help; each in its section of the man page. */
static const struct {
	const char *man_section;
	const char *text;
} details[] = {
	{ "RULES",
	  "A RULE is a hostname (forge.example.com), *.DOMAIN for every name below DOMAIN "
	  "(not DOMAIN itself), or an IPv4 or IPv6 address or CIDR (192.0.2.0/24, "
	  "2001:db8::/32), with an optional :PORT (forge.example.com:443; "
	  "[2001:db8::/32]:443 for IPv6). A policy file holds \"deny RULE\" or \"allow "
	  "RULE\" lines; '#' starts a comment. Deny rules win over allow rules; an allow "
	  "list must name the DNS server too. Names are those the programs resolved; a "
	  "lookup breaks the policy when a deny rule without a port names it. Each "
	  "connection or lookup that breaks it is marked at the end of its line: "
	  "\"VIOLATION direct: RULE\" when the traced process itself made it, \"VIOLATION "
	  "CLASS (CHAIN; EVIDENCE): RULE\" when a program it started did (RULE is \"not on "
	  "the allow list\" for an allow-list miss)." },
	{ "DESCRIPTION",
	  "Saved runs (--json -o RUN.jsonl) need no root: \"deptrace replay\" judges one "
	  "again with any policy and prints the same lines, map and graph (exit 7 with "
	  "--fail-on-violation); \"deptrace policy\" writes the allow list of one or more "
	  "(names with ports, addresses only where a connection had no name, each rule "
	  "after the chains that used it); \"deptrace diff\" prints dependencies added "
	  "(+), removed (-) and changed (~), by name or address, port, protocol and "
	  "program. A verb's name is read only as the first argument: \"deptrace -- "
	  "replay\" runs a command called replay." },
	{ "DESCRIPTION",
	  "With a COMMAND, deptrace starts it already traced, so its first connection is "
	  "seen, passes signals sent to deptrace on to it, and exits with its status "
	  "(128+N if a signal N killed it)." },
	{ "OUTPUT",
	  "Columns: TIME(s) since tracing began; PID of the process (not the thread); "
	  "PPID, the traced process that started it; COMM; PROTO (TCP, UDP, or DNS for a "
	  "lookup); RESULT, \"ok\" or an errno name: how a TCP connect ended (EINPROGRESS: "
	  "still connecting when tracing ended), what connect(2) returned for UDP or a "
	  "connect failing at once, or the lookup's DNS status (NOERROR, NXDOMAIN, ..., "
	  "TIMEOUT when no answer came); WAIT, how long the outcome took: a TCP connect's "
	  "from its start to its answer (or to the end of tracing, still connecting), a "
	  "lookup's from the query to its answer (or to deptrace's giving up), \"-\" when "
	  "not timed; DESTINATION, address:port and the name, or the name looked up and "
	  "its answers; then the class: \"direct\" for the command's own, \"direct (CHAIN; "
	  "argv names NAME)\" for a program it ran whose argv (and its callers') names the "
	  "destination, \"hidden (CHAIN; not in PROGRAM's argv)\" for one a program chose "
	  "itself. Notices and errors go to standard error." },
};

/* After the exit codes of DEPTRACE_EXIT_CODES. */
static const char exit_otherwise[] =
	"otherwise, in run mode, COMMAND's own exit status; 128+N when stop signal N "
	"(SIGINT, SIGTERM, SIGHUP) came before tracing began, and COMMAND was not run";

/* A command ('\n' between its lines) and what it does (or NULL). */
static const struct {
	const char *command;
	const char *what;
} examples[] = {
	{ "deptrace -p 4242", "trace PID 4242 and its descendants" },
	{ "deptrace -p 4242,4300 -o out.txt", "two trees, lines written to out.txt" },
	{ "deptrace -- ./deploy.sh prod", "run a deploy under tracing" },
	{ "deptrace --graph deps.dot -- ./deploy.sh && dot -Tsvg deps.dot > deps.svg", NULL },
	{ "deptrace --json -p 4242 > events.jsonl", NULL },
	{ "deptrace -d 60 -p \"$(pgrep -o cron)\"", "a minute of cron's connections" },
	{ "deptrace --deny forge.example.com --deny '*.forge.example.com' \\\n"
	  "         --deny 192.0.2.0/24 -- ./deploy.sh",
	  "mark every connection and lookup of the deploy that reaches the forge" },
	{ "deptrace --allow 10.0.0.0/8 --fail-on-violation -p 4242",
	  "exit with status 7 if 4242 or its children reach beyond 10.0.0.0/8" },
	{ "deptrace --policy deploy.policy --enforce -u deployer -- ./deploy.sh",
	  "run the deploy as deployer, what deploy.policy forbids refused" },
};

static const char see_also[] = "bpftool(8), strace(1), dot(1), cgroups(7)";

/* ---- --help ---------------------------------------------------------------- */

/* Writes `text` on a line that holds `col` columns so far, from column
 * `indent` on (on the next line if `col` has reached it), wrapped at
 * HELP_WIDTH with the following lines indented as much; ends the line. */
static void put_wrapped(FILE *f, const char *text, int col, int indent)
{
	bool line_empty = true;

	if (col >= indent && col > 0) {
		fputc('\n', f);
		col = 0;
	}
	fprintf(f, "%*s", indent - col, "");
	col = indent;
	while (*text) {
		int len;

		text += strspn(text, " ");
		len = (int)strcspn(text, " ");
		if (!len)
			break;
		if (!line_empty && col + 1 + len > HELP_WIDTH) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
			line_empty = true;
		}
		if (!line_empty) {
			fputc(' ', f);
			col++;
		}
		fwrite(text, 1, (size_t)len, f);
		col += len;
		text += len;
		line_empty = false;
	}
	fputc('\n', f);
}

/* "  -p, --pid PID[,PID]..." or "      --no-children": its columns. */
static int put_option_label(FILE *f, const struct option_desc *o)
{
	int col;

	if (o->short_name)
		col = fprintf(f, "  -%c, --%s", o->short_name, o->long_name);
	else
		col = fprintf(f, "      --%s", o->long_name);
	if (o->arg_name)
		col += fprintf(f, " %s", o->arg_name);
	return col;
}

static void help_options(FILE *f)
{
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_desc *o = &options_table[i];

		if (o->kind == OPTION_GROUP)
			fprintf(f, "\n%s:\n", o->help);
		else
			put_wrapped(f, o->help, put_option_label(f, o), OPTION_COLUMN);
	}
}

static void help_exit_codes(FILE *f)
{
	fputs("Exit status:\n", f);
#define HELP_EXIT(name, value, text) put_wrapped(f, text, fprintf(f, "  %-4d", value), EXIT_COLUMN);
	DEPTRACE_EXIT_CODES(HELP_EXIT)
#undef HELP_EXIT
	put_wrapped(f, exit_otherwise, 0, 2);
}

static void help_examples(FILE *f)
{
	fputs("Examples:\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		const char *line = examples[i].command, *what = examples[i].what;
		int col;

		for (const char *nl; (nl = strchr(line, '\n')); line = nl + 1)
			fprintf(f, "  %.*s\n", (int)(nl - line), line);
		col = fprintf(f, "  %s", line);
		if (!what)
			fputc('\n', f);
		else if (col + 2 <= EXAMPLE_COLUMN && EXAMPLE_COLUMN + (int)strlen(what) <= HELP_WIDTH)
			put_wrapped(f, what, col, EXAMPLE_COLUMN);
		else {
			fputc('\n', f);
			put_wrapped(f, what, 0, EXAMPLE_INDENT);
		}
	}
}

int usage_print_help(FILE *f)
{
	fprintf(f, "Usage: %s\n", synopsis[0]);
	for (size_t i = 1; i < ARRAY_SIZE(synopsis); i++)
		fprintf(f, "       %s\n", synopsis[i]);
	fputc('\n', f);
	put_wrapped(f, intro, 0, 0);
	fputc('\n', f);
	help_options(f);
	for (size_t i = 0; i < ARRAY_SIZE(details); i++) {
		fputc('\n', f);
		put_wrapped(f, details[i].text, 0, 0);
	}
	fputc('\n', f);
	help_exit_codes(f);
	fputc('\n', f);
	help_examples(f);
	return ferror(f) ? -EIO : 0;
}

/* ---- deptrace.8 ------------------------------------------------------------ */

/* The `len` bytes of `text` as roff input: every '-' a minus sign, so
 * that options can be copied; quotes and backslashes as themselves. */
static void roff_putn(FILE *f, const char *text, size_t len)
{
	if (len && *text == '.')
		fputs("\\&", f); /* not a request */
	for (const char *end = text + len; text < end; text++) {
		switch (*text) {
		case '\\': fputs("\\e", f); break;
		case '-': fputs("\\-", f); break;
		case '\'': fputs("\\(aq", f); break;
		case '"': fputs("\\(dq", f); break;
		case '`': fputs("\\(ga", f); break;
		default: fputc(*text, f);
		}
	}
}

static void roff_put(FILE *f, const char *text)
{
	roff_putn(f, text, strlen(text));
}

static void roff_line(FILE *f, const char *text)
{
	roff_put(f, text);
	fputc('\n', f);
}

static void man_details(FILE *f, const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(details); i++) {
		if (strcmp(details[i].man_section, section))
			continue;
		fputs(".PP\n", f);
		roff_line(f, details[i].text);
	}
}

static void man_options(FILE *f)
{
	fputs(".SH OPTIONS\n", f);
	for (size_t i = 0; i < options_table_len; i++) {
		const struct option_desc *o = &options_table[i];

		if (o->kind == OPTION_GROUP) {
			fputs(".SS ", f);
			roff_line(f, o->help);
			continue;
		}
		fputs(".TP\n", f);
		if (o->short_name)
			fprintf(f, "\\fB\\-%c\\fR, ", o->short_name);
		fputs("\\fB\\-\\-", f);
		roff_put(f, o->long_name);
		fputs("\\fR", f);
		if (o->arg_name) {
			fputs(" \\fI", f);
			roff_put(f, o->arg_name);
			fputs("\\fR", f);
		}
		fputc('\n', f);
		roff_line(f, o->help);
	}
}

static void man_exit_codes(FILE *f)
{
	fputs(".SH \"EXIT STATUS\"\n", f);
#define MAN_EXIT(name, value, text) fprintf(f, ".TP\n.B %d\n", value), roff_line(f, text);
	DEPTRACE_EXIT_CODES(MAN_EXIT)
#undef MAN_EXIT
	fputs(".PP\n", f);
	roff_line(f, exit_otherwise);
}

static void man_examples(FILE *f)
{
	fputs(".SH EXAMPLES\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(examples); i++) {
		const char *line = examples[i].command;

		fputs(".PP\n.nf\n", f);
		for (;;) {
			size_t len = strcspn(line, "\n");

			fputs("\\fB", f);
			roff_putn(f, line, len);
			fputs("\\fR\n", f);
			if (!line[len])
				break;
			line += len + 1;
		}
		fputs(".fi\n", f);
		if (examples[i].what) {
			fputs(".RS\n", f);
			roff_line(f, examples[i].what);
			fputs(".RE\n", f);
		}
	}
}

int usage_print_man(FILE *f, const char *version)
{
	fputs(".\\\" Made by deptrace_man from lib/options.c and lib/usage.c: edit those.\n", f);
	fputs(".TH DEPTRACE 8 \"\" \"deptrace ", f);
	roff_put(f, version);
	fputs("\" \"System Administration\"\n", f);
	/* as in --help: words whole, lines ragged */
	fputs(".nh\n.ad l\n", f);
	fputs(".SH NAME\ndeptrace \\- ", f);
	roff_line(f, summary);
	fputs(".SH SYNOPSIS\n.nf\n", f);
	for (size_t i = 0; i < ARRAY_SIZE(synopsis); i++)
		roff_line(f, synopsis[i]);
	fputs(".fi\n.SH DESCRIPTION\n", f);
	roff_line(f, intro);
	man_details(f, "DESCRIPTION");
	man_options(f);
	fputs(".SH RULES\n", f);
	man_details(f, "RULES");
	fputs(".SH OUTPUT\n", f);
	man_details(f, "OUTPUT");
	man_exit_codes(f);
	man_examples(f);
	fputs(".SH \"SEE ALSO\"\n", f);
	roff_line(f, see_also);
	return ferror(f) ? -EIO : 0;
}
