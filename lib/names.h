/* names: which name an address was reached by, so that a connection to
 * 192.0.2.10:443 can be shown as "192.0.2.10:443 (forge.example.com)".
 *
 * Filled from /etc/hosts at start and from the DNS answers the traced
 * processes receive, each answer kept under the process (thread group)
 * that received it. A connection is named from the history of the process
 * that made it: its own answers for the address, most recent first, then
 * (for a child) the answers its parent had received before the fork, and
 * so on up the tree; only when that history has none, /etc/hosts; only
 * when that has none either, the answers any traced process received (a
 * fallback, marked as such). Several names for one address are all kept:
 * behind a CDN or a proxy, one address serves many names, and each is a
 * candidate. Addresses are 16 bytes, IPv4 as v4-mapped IPv6
 * (::ffff:a.b.c.d).
 *
 * The table is bounded: it remembers what the last NAME_TABLE_CAPACITY
 * answers said. Once that many have been added, each new one forgets the
 * oldest still remembered (an answer repeated counts as a new add, and
 * takes the old one's place), so a long trace keeps its recent names and
 * memory stays flat. /etc/hosts has a table of its own, of the same size.
 *
 * Usage: name_table_new; name_table_load_hosts; for each answer,
 * name_table_add; at a fork, name_table_mark for the child's `since`; for
 * each connection, name_table_lookup with the process's lineage.
 */
#ifndef DEPTRACE_NAMES_H
#define DEPTRACE_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NAME_TABLE_CAPACITY 65536
/* names one lookup gives at most: the most recent distinct ones */
#define NAME_CANDIDATES 8

enum name_source {
	NAME_SOURCE_NONE = 0,
	NAME_SOURCE_DNS,   /* answers the process (or its parent before the
			      fork) received */
	NAME_SOURCE_HOSTS, /* /etc/hosts */
	NAME_SOURCE_TREE,  /* answers another traced process received: a
			      fallback, no answer of its own was seen */
	NAME_SOURCE_SNI,   /* the connection's TLS ClientHello (first_bytes.h):
			      the client's claim, no answer of its own */
	NAME_SOURCE_HOST,  /* the connection's HTTP/1 Host header, likewise */
};

/* One process of a lineage: the answers `pid` received while its mark was
 * in [since, until). */
struct name_owner {
	uint32_t pid;
	uint64_t since, until;
};

/* What a lookup found: `count` distinct names, most recent first, all from
 * one source. Pointers valid until the next add. */
struct name_candidates {
	enum name_source source;
	size_t count;
	const char *names[NAME_CANDIDATES];
};

struct name_table;

/* NULL when out of memory. */
struct name_table *name_table_new(void);
void name_table_free(struct name_table *t);

/* Records that process `pid` received `name` (copied) as an answer for
 * `addr`. 0 or -ENOMEM. */
int name_table_add(struct name_table *t, uint32_t pid, const uint8_t addr[16], const char *name);

/* The mark the next add will get: answers added from now on are at or
 * after it. A fork's child inherits its parent's answers before this mark. */
uint64_t name_table_mark(const struct name_table *t);

/* The names process lineage[0] reached `addr` by: the answers of each
 * lineage entry in turn (the process, then its parent, ...), newest first,
 * up to NAME_CANDIDATES; else /etc/hosts; else any process's. Fills `out`
 * (count 0 and NAME_SOURCE_NONE when no name is known). */
void name_table_lookup(const struct name_table *t, const struct name_owner *lineage,
		       size_t nlineage, const uint8_t addr[16], struct name_candidates *out);

/* Adds the entries of an /etc/hosts-format file: "ADDRESS NAME [ALIAS]...",
 * '#' comments, blank lines. The first name of a line is recorded; lines
 * that do not parse (an unknown address form, no name, a name that is not
 * printable or too long for DNS) are skipped. Loopback entries count like
 * any other. An address already listed keeps its name, so that, as in
 * glibc's reverse lookup, the first line for an address wins. Returns the
 * number of entries added, or -errno (the file cannot be read, or
 * -ENOMEM). */
int name_table_load_hosts(struct name_table *t, const char *path);

/* "dns", "hosts", "tree", "sni", "host" (JSON's name_source); "" for
 * none. */
const char *name_source_word(enum name_source source);

/* Whether a line marks a name from `source` with its word: a name that
 * is not the process's own answer (tree, sni, host). */
bool name_source_marked(enum name_source source);

/* Whether a name from `source` is the client's own claim (sni, host),
 * which a name rule may find denied but an allow list never accepts. */
bool name_source_claimed(enum name_source source);

/* The source a word of name_source_word names, into `source`. 0, or
 * -EINVAL for a word it does not give. */
int name_source_parse(const char *word, enum name_source *source);

#endif
