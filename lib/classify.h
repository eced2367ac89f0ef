/* classify: whose dependency a connection or lookup is.
 *
 *   direct     the traced command itself (or a fork of it that did not
 *              exec: a subshell is the script), or a program it ran whose
 *              own argv names the destination, as every program between
 *              the command and it does: the script passed the destination on;
 *   hidden     any other program of the tree: one of them chose the
 *              destination itself (a tool checking for updates, in-process
 *              or through a child whose argv it wrote);
 *   transient  made by a thread of a local service while it served the
 *              tree (follow.h: the session knows those threads; the rule
 *              below never returns it).
 *
 * A destination is named by an argv word that is the name or the address,
 * or whose host part is (a URL "https://forge.example.com/app.tgz",
 * "user@host:path", "host:port", or any of them after "--option=").
 * A program that ended before its argv could be read (proc_info's
 * args_unread) is passed over: the programs above it decide, so a
 * short-lived curl the script ran is direct, one migrate ran hidden.
 * Everything here is pure: the session hands in its process table.
 */
#ifndef DEPTRACE_CLASSIFY_H
#define DEPTRACE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proctree.h"

enum event_class {
	CLASS_DIRECT,
	CLASS_HIDDEN,
	CLASS_TRANSIENT,
};

#define CLASS_COUNT 3

/* "direct", "hidden", "transient". */
const char *class_name(enum event_class c);
/* The class a name given by class_name() stands for: 0, or -EINVAL. */
int class_parse(const char *name, enum event_class *c);

/* Room for the evidence: "not in migrate's argv", "argv names NAME". */
#define CLASS_EVIDENCE_LEN 320

/* The first of `names` (NULL-terminated; compared without case) the argv
 * `args` names (words joined by spaces, as proc_info holds them), or NULL. */
const char *classify_argv_match(const char *args, const char *const *names);

/* The class of what process `pid` reached, named by `names` (the name
 * it was reached by, the address as text; a lookup's question), from the
 * programs of its chain in `table`; why, in `evidence`: "the command",
 * "a fork of the command", "argv names forge.example.com", "not in
 * migrate's argv". A process the table does not know is hidden. */
enum event_class classify_destination(const struct proc_table *table, pid_t pid,
				      const char *const *names, char *evidence, size_t len);

#endif
