/* policy_gen: an allow list written from saved runs (deptrace policy).
 *
 * Every connection of the runs becomes an allow rule: its name and port
 * where it had a name, its address and port where it had none (so a
 * destination only ever reached by name is allowed by name). Attempts the
 * policy in force refused are left out, and counted in the header. Each
 * rule follows a comment naming the chains of programs that used it and
 * how often. Lookups need no rule: an allow list judges connections.
 *
 * With fold >= 2, `fold` or more names directly below one domain, on one
 * port, become one "*.DOMAIN:PORT" rule, but only where DOMAIN is a
 * registrable domain or below one: never *.com, *.co.uk (a small
 * built-in list of multi-label public suffixes, policy_gen_suffix_labels;
 * not the whole Public Suffix List).
 *
 * Fed back to `deptrace replay` on the same runs, the list gives no
 * violations: each rule is checked with policy_parse_rule as it is
 * written, and a name the policy grammar refuses is allowed by its
 * addresses instead.
 */
#ifndef DEPTRACE_POLICY_GEN_H
#define DEPTRACE_POLICY_GEN_H

#include <stddef.h>
#include <stdio.h>

/* Writes the policy of the saved runs at paths[0..npaths) to `out`. 0, or
 * -errno with the reason in `err` (nothing is written then). */
int policy_generate(const char *const *paths, size_t npaths, unsigned fold, FILE *out,
		    char *err, size_t errlen);

/* How many labels the public suffix of `name` has: 2 for a built-in
 * multi-label suffix and the names under it (co.uk, example.co.uk), else
 * 1. */
unsigned policy_gen_suffix_labels(const char *name);

#endif
