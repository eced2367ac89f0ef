/* names: which name an address was reached by, so that a connection to
 * 192.0.2.10:443 can be shown as "192.0.2.10:443 (forge.example.com)".
 *
 * Filled from /etc/hosts at start and from the DNS answers the traced
 * processes receive; the latest word on an address wins. Addresses are 16
 * bytes, IPv4 as v4-mapped IPv6 (::ffff:a.b.c.d).
 *
 * The table is bounded: it remembers what the last NAME_TABLE_CAPACITY adds
 * said. Once that many adds have been made, each new one forgets the oldest
 * add still remembered (replacing the name of an address counts as a new
 * add), so a long trace keeps its recent names and memory stays flat.
 */
#ifndef DEPTRACE_NAMES_H
#define DEPTRACE_NAMES_H

#include <stdint.h>

#define NAME_TABLE_CAPACITY 65536

struct name_table;

/* NULL when out of memory. */
struct name_table *name_table_new(void);
void name_table_free(struct name_table *t);

/* Records that `addr` was reached by `name` (copied), replacing what was
 * recorded for it before. 0 or -ENOMEM. */
int name_table_add(struct name_table *t, const uint8_t addr[16], const char *name);

/* The name recorded for addr, or NULL. Valid until the next add. */
const char *name_table_lookup(const struct name_table *t, const uint8_t addr[16]);

/* Adds the entries of an /etc/hosts-format file: "ADDRESS NAME [ALIAS]...",
 * '#' comments, blank lines. The first name of a line is recorded; lines
 * that do not parse (an unknown address form, no name, a name that is not
 * printable or too long for DNS) are skipped. Loopback entries count like
 * any other. An address the table already knows keeps its name, so that,
 * as in glibc's reverse lookup, the first line for an address wins.
 * Returns the number of entries added, or -errno (the file cannot be
 * read, or -ENOMEM). */
int name_table_load_hosts(struct name_table *t, const char *path);

#endif
