/* options: deptrace's command line, declared once.
 *
 * Every option is one entry of options_table (options.c): its names, its
 * argument, its help text and what it sets. getopt_long's tables, the
 * parsing, --help and the man page (usage.h) are all made from it, and the
 * exit codes are documented from the list that defines them (below). Kept
 * out of tools/ so that the unit tests can feed it argument vectors.
 *
 * The caller's steps: parse_options(); on 0, either opts.help or
 * opts.version (print and exit: nothing else was looked at), or a run
 * described by opts; in the end options_free().
 */
#ifndef DEPTRACE_OPTIONS_H
#define DEPTRACE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "kernel_probe.h"
#include "outage.h"
#include "policy.h"

#define MAX_TARGET_PIDS 64
#define DEFAULT_BUFFER_PAGES 256
#define MAX_RULE_ARGS 256     /* more belong in a --policy file */
#define MAX_POLICY_FILES 16
/* Longer durations are refused: the deadline is kept in nanoseconds of
 * CLOCK_MONOTONIC in 64 bits, and 1e9 s (about 31 years) leaves room for
 * any uptime. */
#define MAX_DURATION_SECONDS 1000000000.0

/* Exit codes: X(NAME, VALUE, what it means). The one list both the enum
 * and the documentation (--help, deptrace.8) are made from. In run mode
 * the command's own status is passed through instead once it has
 * started (usage.c says so too). */
#define DEPTRACE_EXIT_CODES(X) \
	X(EXIT_OK, 0, "tracing ended normally (with -p)") \
	X(EXIT_RUNTIME, 1, "tracing failed after it had started, or its output could not " \
	  "be written; or events were lost (with -p, or with --fail-on-violation: the run " \
	  "cannot vouch for the policy)") \
	X(EXIT_USAGE, 2, "bad options, or a policy file or saved run that cannot be read") \
	X(EXIT_PERMISSION, 3, "not enough privilege") \
	X(EXIT_NO_PROCESS, 4, "a -p PID does not exist") \
	X(EXIT_KERNEL, 5, "the kernel cannot run deptrace (no BPF, no usable backend)") \
	X(EXIT_NO_HEADERS, 6, "no kernel headers found (install linux-headers, run " \
	  "scripts/setup-deps, or set BCC_KERNEL_SOURCE)") \
	X(EXIT_VIOLATION, 7, "with --fail-on-violation: the policy was broken; this " \
	  "wins over the command's own status, which is then printed on standard error") \
	X(EXIT_ENFORCE, 8, "with --fail-closed: enforcement could not be set up; the " \
	  "command was not run") \
	X(EXIT_DIFF_ADDED, 9, "deptrace diff: the new run has dependencies the old one did " \
	  "not (whatever else changed)") \
	X(EXIT_DIFF_CHANGED, 10, "deptrace diff: nothing added, but dependencies were " \
	  "removed or their class or result changed") \
	X(EXIT_OUTAGE, 11, "with --outage-budget: under the outage the command failed, or " \
	  "waited longer than the budget on its targets; the command's own status is " \
	  "printed on standard error") \
	X(EXIT_CANNOT_EXECUTE, 126, "COMMAND cannot be executed") \
	X(EXIT_NOT_FOUND, 127, "COMMAND not found")

enum exit_code {
#define DEPTRACE_EXIT_ENUM(name, value, text) name = value,
	DEPTRACE_EXIT_CODES(DEPTRACE_EXIT_ENUM)
#undef DEPTRACE_EXIT_ENUM
};

/* What deptrace does: bpftool-style verbs, tracing when none is named. */
enum verb {
	VERB_TRACE,  /* deptrace [OPTION]... -p PID | -- COMMAND */
	VERB_REPLAY, /* deptrace replay RUN.jsonl */
	VERB_POLICY, /* deptrace policy RUN.jsonl... */
	VERB_DIFF,   /* deptrace diff OLD.jsonl NEW.jsonl */
};
#define VERB_BIT(verb) (1u << (verb))

/* The verb argv[1] names ("replay"), or VERB_TRACE. */
enum verb options_verb(int argc, char **argv);

/* "replay", ...; "" for VERB_TRACE. */
const char *options_verb_name(enum verb verb);

struct options {
	enum verb verb;
	char **files;            /* a verb's saved runs, NULL-terminated */
	size_t nfiles;
	const char *baseline_path; /* --baseline: a saved run to mark new dependencies against */
	unsigned fold;           /* deptrace policy --fold N: siblings folded from N; 0: never */
	pid_t pids[MAX_TARGET_PIDS];
	size_t npids;
	char **command;          /* run mode: NULL-terminated argv */
	bool follow_children;
	bool follow_services;    /* trace local services while they serve the tree */
	const char *output_path; /* NULL: stdout */
	double duration;         /* seconds; 0: until the end */
	unsigned buffer_pages;   /* perf buffer pages per CPU */
	enum backend backend;
	bool json;               /* JSON Lines instead of text */
	bool summary;            /* the dependency map at the end (always with a command) */
	const char *graph_path;  /* Graphviz DOT of the map, or NULL */
	/* The rules of --deny and --allow in the order given, then those of
	 * the --policy files; owned (options_free). */
	struct policy policy;
	const char *policy_files[MAX_POLICY_FILES];
	size_t npolicy_files;
	bool fail_on_violation;
	bool enforce;            /* refuse what the policy denies, in the kernel */
	const char *cgroup_path; /* --cgroup: an existing cgroup v2 to enforce on */
	bool fail_closed;        /* run nothing unless enforcement is in force */
	struct outage outage;    /* --outage targets, enforced with the policy */
	double outage_budget;    /* --outage-budget: seconds, or < 0: none */
	const char *user;        /* -u: run the command as this user */
	bool check;
	bool help;
	bool version;
};

/* What an option does when given. */
enum option_kind {
	OPTION_GROUP,    /* not an option: a heading in the help */
	OPTION_FLAG,     /* sets the bool at `field` to `value` */
	OPTION_STRING,   /* points the const char * at `field` at its argument */
	OPTION_CALLBACK, /* calls `parse` with its argument (NULL if it takes none) */
};

struct option_desc {
	enum option_kind kind;
	char short_name;        /* 0: long only */
	const char *long_name;
	const char *arg_name;   /* as shown in the help; NULL: takes no argument */
	const char *help;       /* one paragraph, unwrapped; a GROUP's heading */
	size_t field;           /* FLAG, STRING: offsetof(struct options, ...) */
	bool value;             /* FLAG */
	bool ends_parsing;      /* --help, --version: nothing after it is looked at */
	unsigned verbs;         /* VERB_BIT()s it is an option of; 0: tracing only */
	/* CALLBACK: 0, or -errno (-EINVAL, -ENOMEM) with a one-line message in err */
	int (*parse)(struct options *opts, const char *arg, char *err, size_t errlen);
};

/* In the order --help shows them. */
extern const struct option_desc options_table[];
extern const size_t options_table_len;

/* Told what is worth knowing but is no error, one line without the
 * program's name ("x.policy holds no rules ..."). */
typedef void options_notice_fn(const char *message);

/* Fills `opts` from argv as main has it (a verb in argv[1] is read
 * first: options_verb), the policy included: the --deny and --allow
 * rules and the --policy files are parsed and loaded here, once. Returns
 * 0, or -EINVAL for a bad command line (-ENOMEM out of memory) with a
 * one-line message in `err`, `opts` then holding nothing to free.
 * `notice` (may be NULL) hears of empty policy files and of -p 1. */
int parse_options(int argc, char **argv, options_notice_fn *notice, struct options *opts,
		  char *err, size_t errlen);

/* Frees what parse_options allocated; safe twice. */
void options_free(struct options *opts);

#endif
