/* usage: how deptrace is documented: --help and the man page deptrace.8,
 * both made from options_table and DEPTRACE_EXIT_CODES (options.h) and
 * the prose in usage.c, so that the two cannot say different things.
 *
 * Each writes to `stream` and returns 0, or -EIO if the stream failed.
 */
#ifndef DEPTRACE_USAGE_H
#define DEPTRACE_USAGE_H

#include <stdio.h>

/* The help text, lines wrapped to 79 columns. */
int usage_print_help(FILE *stream);

/* The man page, in roff (man macros), for deptrace `version`. Hyphenation
 * and justification are off, so that each option's text reads as in the
 * help once formatted. */
int usage_print_man(FILE *stream, const char *version);

#endif
