/* options: deptrace's command line, parsed and checked, with no effects.
 *
 * Kept out of tools/ so that the unit tests can feed it argument vectors.
 */
#ifndef DEPTRACE_OPTIONS_H
#define DEPTRACE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "kernel_probe.h"
#include "policy.h"

#define MAX_TARGET_PIDS 64
#define DEFAULT_BUFFER_PAGES 256
#define MAX_RULE_ARGS 256     /* more belong in a --policy file */
#define MAX_POLICY_FILES 16

/* Exit codes; documented in --help and the README. In run mode the
 * command's own status is passed through instead once it has started. */
enum exit_code {
	EXIT_OK = 0,
	EXIT_RUNTIME = 1,       /* tracing failed after it had started */
	EXIT_USAGE = 2,         /* bad options */
	EXIT_PERMISSION = 3,    /* not root, or missing capabilities */
	EXIT_NO_PROCESS = 4,    /* a -p PID does not exist */
	EXIT_KERNEL = 5,        /* no BPF, no usable backend, program refused */
	EXIT_NO_HEADERS = 6,    /* no kernel headers to compile against */
	EXIT_VIOLATION = 7,     /* --fail-on-violation: the policy was broken;
				   wins over the command's own status */
	EXIT_ENFORCE = 8,       /* --fail-closed: enforcement could not be set
				   up, so the command was not run */
	EXIT_CANNOT_EXECUTE = 126,
	EXIT_NOT_FOUND = 127,
};

/* A --deny or --allow as given, already checked to parse. */
struct rule_arg {
	enum rule_action action;
	const char *text;
};

/* "--deny" or "--allow": where a command-line rule came from. */
static inline const char *rule_option(enum rule_action action)
{
	return action == RULE_DENY ? "--deny" : "--allow";
}

struct options {
	pid_t pids[MAX_TARGET_PIDS];
	size_t npids;
	char **command;          /* run mode: NULL-terminated argv */
	bool follow_children;
	const char *output_path; /* NULL: stdout */
	double duration;         /* seconds; 0: until the end */
	unsigned buffer_pages;   /* perf buffer pages per CPU */
	enum backend backend;
	bool json;               /* JSON Lines instead of text */
	bool summary;            /* the dependency map at the end (always with a command) */
	const char *graph_path;  /* Graphviz DOT of the map, or NULL */
	struct rule_arg rules[MAX_RULE_ARGS]; /* in the order given */
	size_t nrules;
	const char *policy_files[MAX_POLICY_FILES];
	size_t npolicy_files;
	bool fail_on_violation;
	bool enforce;            /* refuse what the policy denies, in the kernel */
	const char *cgroup_path; /* --cgroup: an existing cgroup v2 to enforce on */
	bool fail_closed;        /* run nothing unless enforcement is in force */
	const char *user;        /* -u: run the command as this user */
	bool check;
	bool help;
	bool version;
};

/* Fills `opts` from argv. On error returns EXIT_USAGE with a one-line
 * message in `err`; otherwise EXIT_OK. */
int parse_options(int argc, char **argv, struct options *opts, char *err,
		  size_t errlen);

void print_usage(FILE *stream);

#endif
