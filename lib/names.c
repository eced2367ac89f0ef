/* names: see names.h.
 *
 * Answers are kept in a ring in add order, each linked into two chains,
 * newest first: the answers of one process for one address ("own"), and
 * the answers of every process for one address ("any"). An open-addressing
 * hash per chain kind (linear probing) maps a chain's key to its newest
 * answer. A chain holds each name once: an answer repeated moves to the
 * front. The ring forgets its oldest answer on each add once full; that
 * answer is the oldest of its chains too, so only a chain's head needs
 * unhooking, and a link to an answer the ring has since reused is told by
 * the answer's mark, which changed.
 */
#define _GNU_SOURCE
#include "names.h"
#include "address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "dns.h"

/* at most half full, so probe runs stay short */
#define SLOTS (2 * NAME_TABLE_CAPACITY)
#define SLOT_MASK (SLOTS - 1)
#define EMPTY UINT32_MAX
#define NO_ANSWER UINT32_MAX
/* distinct names a chain keeps: beyond, the oldest are unlinked */
#define CHAIN_NAMES 64
#define HOSTS_SPACE " \t\r\n\v\f"

enum chain_kind {
	CHAIN_OWN, /* keyed by process and address */
	CHAIN_ANY, /* keyed by address */
	CHAIN_KINDS,
};

struct answer {
	uint8_t addr[16];
	uint32_t pid;
	uint64_t mark;                      /* its add's number */
	char *name;                         /* NULL: never used */
	uint32_t older[CHAIN_KINDS];        /* the next older of its chain */
	uint64_t older_mark[CHAIN_KINDS];   /* that one's mark when linked */
};

struct answer_ring {
	uint64_t seed;
	uint64_t adds;       /* so far; the next goes to entries[adds % capacity] */
	uint32_t slots[CHAIN_KINDS][SLOTS];
	struct answer entries[NAME_TABLE_CAPACITY];
};

struct name_table {
	struct answer_ring answers; /* DNS answers, by process */
	struct answer_ring hosts;   /* /etc/hosts, under process 0 */
};

static void ring_init(struct answer_ring *r)
{
	memset(r->slots, 0xff, sizeof(r->slots));
	/* Addresses come from answers the traced processes receive; a seed
	 * they cannot know keeps them from piling addresses onto one probe
	 * run. Without one (no entropy yet) the table still works. */
	if (getrandom(&r->seed, sizeof(r->seed), GRND_NONBLOCK) != sizeof(r->seed))
		r->seed = 0;
}

static void ring_free(struct answer_ring *r)
{
	for (size_t i = 0; i < NAME_TABLE_CAPACITY; i++)
		free(r->entries[i].name);
}

struct name_table *name_table_new(void)
{
	struct name_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	ring_init(&t->answers);
	ring_init(&t->hosts);
	return t;
}

void name_table_free(struct name_table *t)
{
	if (!t)
		return;
	ring_free(&t->answers);
	ring_free(&t->hosts);
	free(t);
}

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A chain's key: the address, and for "own" chains the process. */
static uint32_t key_pid(enum chain_kind kind, uint32_t pid)
{
	return kind == CHAIN_OWN ? pid : 0;
}

static size_t home_slot(const struct answer_ring *r, enum chain_kind kind, uint32_t pid,
			const uint8_t addr[16])
{
	uint64_t hi, lo;

	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	return mix(mix(hi ^ r->seed) ^ lo ^ ((uint64_t)key_pid(kind, pid) << 17)) & SLOT_MASK;
}

static bool same_key(const struct answer *a, enum chain_kind kind, uint32_t pid,
		     const uint8_t addr[16])
{
	return key_pid(kind, a->pid) == key_pid(kind, pid) && !memcmp(a->addr, addr, 16);
}

/* The slot holding the chain's newest answer, or the empty slot where it
 * would go. */
static size_t find_slot(const struct answer_ring *r, enum chain_kind kind, uint32_t pid,
			const uint8_t addr[16])
{
	size_t i = home_slot(r, kind, pid, addr);

	while (r->slots[kind][i] != EMPTY &&
	       !same_key(&r->entries[r->slots[kind][i]], kind, pid, addr))
		i = (i + 1) & SLOT_MASK;
	return i;
}

/* Empties slot `hole`, moving later slots of the probe run back into it
 * where their home allows, so that no lookup stops short of them. */
static void clear_slot(struct answer_ring *r, enum chain_kind kind, size_t hole)
{
	uint32_t *slots = r->slots[kind];

	for (size_t i = (hole + 1) & SLOT_MASK; slots[i] != EMPTY; i = (i + 1) & SLOT_MASK) {
		const struct answer *a = &r->entries[slots[i]];
		size_t home = home_slot(r, kind, a->pid, a->addr);

		if (((i - home) & SLOT_MASK) >= ((i - hole) & SLOT_MASK)) {
			slots[hole] = slots[i];
			hole = i;
		}
	}
	slots[hole] = EMPTY;
}

/* The answer after `a` in its chain, or NO_ANSWER (the end, or one the
 * ring has reused since). */
static uint32_t older_of(const struct answer_ring *r, const struct answer *a,
			 enum chain_kind kind)
{
	uint32_t next = a->older[kind];

	return next != NO_ANSWER && r->entries[next].mark == a->older_mark[kind] ? next
										 : NO_ANSWER;
}

static void link_after(struct answer *a, enum chain_kind kind, uint32_t next,
		       const struct answer_ring *r)
{
	a->older[kind] = next;
	a->older_mark[kind] = next == NO_ANSWER ? 0 : r->entries[next].mark;
}

/* Puts answer `at` at the front of its chain, taking an older answer of
 * the same name out of it, and the chain's oldest beyond CHAIN_NAMES. */
static void chain_push(struct answer_ring *r, enum chain_kind kind, uint32_t at)
{
	struct answer *a = &r->entries[at];
	size_t slot = find_slot(r, kind, a->pid, a->addr);
	uint32_t head = r->slots[kind][slot], prev = NO_ANSWER;
	size_t kept = 1;

	link_after(a, kind, head == EMPTY ? NO_ANSWER : head, r);
	r->slots[kind][slot] = at;
	prev = at;
	for (uint32_t i = older_of(r, a, kind); i != NO_ANSWER; i = older_of(r, &r->entries[prev], kind)) {
		struct answer *old = &r->entries[i];

		if (!strcmp(old->name, a->name) || kept == CHAIN_NAMES) {
			link_after(&r->entries[prev], kind,
				   kept == CHAIN_NAMES ? NO_ANSWER : older_of(r, old, kind), r);
			if (kept == CHAIN_NAMES)
				break;
			continue;
		}
		prev = i;
		kept++;
	}
}

/* Forgets the ring's oldest answer, at `at`, to reuse its place. */
static void ring_evict(struct answer_ring *r, uint32_t at)
{
	struct answer *a = &r->entries[at];

	if (!a->name)
		return;
	for (int kind = 0; kind < CHAIN_KINDS; kind++) {
		size_t slot = find_slot(r, kind, a->pid, a->addr);

		if (r->slots[kind][slot] == at)
			clear_slot(r, kind, slot);
	}
	free(a->name);
	a->name = NULL;
}

static int ring_add(struct answer_ring *r, uint32_t pid, const uint8_t addr[16],
		    const char *name)
{
	uint32_t at = (uint32_t)(r->adds % NAME_TABLE_CAPACITY);
	struct answer *a = &r->entries[at];
	char *copy = strdup(name);

	if (!copy)
		return -ENOMEM;
	ring_evict(r, at);
	memcpy(a->addr, addr, 16);
	a->pid = pid;
	a->name = copy;
	a->mark = r->adds++;
	for (int kind = 0; kind < CHAIN_KINDS; kind++)
		chain_push(r, kind, at);
	return 0;
}

/* The newest answer of a chain, or NO_ANSWER. */
static uint32_t chain_head(const struct answer_ring *r, enum chain_kind kind, uint32_t pid,
			   const uint8_t addr[16])
{
	uint32_t head = r->slots[kind][find_slot(r, kind, pid, addr)];

	return head == EMPTY ? NO_ANSWER : head;
}

int name_table_add(struct name_table *t, uint32_t pid, const uint8_t addr[16], const char *name)
{
	return ring_add(&t->answers, pid, addr, name);
}

uint64_t name_table_mark(const struct name_table *t)
{
	return t->answers.adds;
}

static void take(struct name_candidates *out, const char *name)
{
	for (size_t i = 0; i < out->count; i++)
		if (!strcmp(out->names[i], name))
			return;
	if (out->count < NAME_CANDIDATES)
		out->names[out->count++] = name;
}

/* The names of one chain, newest first, of answers marked in [since, until). */
static void take_chain(const struct answer_ring *r, enum chain_kind kind, uint32_t pid,
		       const uint8_t addr[16], uint64_t since, uint64_t until,
		       struct name_candidates *out)
{
	for (uint32_t i = chain_head(r, kind, pid, addr); i != NO_ANSWER && out->count < NAME_CANDIDATES;
	     i = older_of(r, &r->entries[i], kind)) {
		const struct answer *a = &r->entries[i];

		if (a->mark >= since && a->mark < until)
			take(out, a->name);
	}
}

void name_table_lookup(const struct name_table *t, const struct name_owner *lineage,
		       size_t nlineage, const uint8_t addr[16], struct name_candidates *out)
{
	*out = (struct name_candidates){ .source = NAME_SOURCE_NONE };
	for (size_t i = 0; i < nlineage; i++)
		take_chain(&t->answers, CHAIN_OWN, lineage[i].pid, addr, lineage[i].since,
			   lineage[i].until, out);
	if (out->count) {
		out->source = NAME_SOURCE_DNS;
		return;
	}
	take_chain(&t->hosts, CHAIN_OWN, 0, addr, 0, UINT64_MAX, out);
	if (out->count) {
		out->source = NAME_SOURCE_HOSTS;
		return;
	}
	take_chain(&t->answers, CHAIN_ANY, 0, addr, 0, UINT64_MAX, out);
	if (out->count)
		out->source = NAME_SOURCE_TREE;
}

const char *name_source_word(enum name_source source)
{
	switch (source) {
	case NAME_SOURCE_DNS: return "dns";
	case NAME_SOURCE_HOSTS: return "hosts";
	case NAME_SOURCE_TREE: return "tree";
	case NAME_SOURCE_SNI: return "sni";
	case NAME_SOURCE_HOST: return "host";
	case NAME_SOURCE_NONE: break;
	}
	return "";
}

bool name_source_marked(enum name_source source)
{
	return source == NAME_SOURCE_TREE || name_source_claimed(source);
}

bool name_source_claimed(enum name_source source)
{
	return source == NAME_SOURCE_SNI || source == NAME_SOURCE_HOST;
}

int name_source_parse(const char *word, enum name_source *source)
{
	for (enum name_source s = NAME_SOURCE_DNS; s <= NAME_SOURCE_HOST; s++) {
		if (!strcmp(word, name_source_word(s))) {
			*source = s;
			return 0;
		}
	}
	return -EINVAL;
}

static bool parse_address(const char *text, uint8_t addr[16])
{
	if (inet_pton(AF_INET6, text, addr) == 1)
		return true;
	if (inet_pton(AF_INET, text, addr + 12) != 1)
		return false;
	address_from_v4(addr + 12, addr);
	return true;
}

/* Printed beside destinations, so only visible ASCII, and no longer than
 * a DNS name can be. */
static bool plain_name(const char *name)
{
	size_t n = strlen(name);

	if (n >= DNS_NAME_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

/* 1 if the line added an entry, 0 if not, -ENOMEM. */
static int add_hosts_line(struct name_table *t, char *line)
{
	char *save, *addr_text, *name;
	uint8_t addr[16];

	line[strcspn(line, "#")] = '\0';
	addr_text = strtok_r(line, HOSTS_SPACE, &save);
	name = addr_text ? strtok_r(NULL, HOSTS_SPACE, &save) : NULL;
	if (!name || !parse_address(addr_text, addr) || !plain_name(name) ||
	    chain_head(&t->hosts, CHAIN_OWN, 0, addr) != NO_ANSWER)
		return 0;
	return ring_add(&t->hosts, 0, addr, name) ? -ENOMEM : 1;
}

int name_table_load_hosts(struct name_table *t, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int added = 0, rc = 0;

	if (!f)
		return -errno;
	while (rc >= 0) {
		if (getline(&line, &cap, f) < 0) {
			if (!feof(f))
				rc = -errno;
			break;
		}
		rc = add_hosts_line(t, line);
		if (rc > 0)
			added += rc;
	}
	free(line);
	fclose(f);
	return rc < 0 ? rc : added;
}
