/* names: see names.h.
 *
 * The entries form a ring in add order; an open-addressing hash (linear
 * probing) maps addresses to their entry. A replaced entry stays in the
 * ring, dead, until the ring comes round to it, which is what makes the
 * table remember exactly the last NAME_TABLE_CAPACITY adds.
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
#define HOSTS_SPACE " \t\r\n\v\f"

struct entry {
	uint8_t addr[16];
	char *name;          /* NULL: never used, or since replaced */
};

struct name_table {
	uint64_t seed;
	size_t adds;         /* so far; the next goes to entries[adds % capacity] */
	uint32_t slots[SLOTS];
	struct entry entries[NAME_TABLE_CAPACITY];
};

struct name_table *name_table_new(void)
{
	struct name_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	memset(t->slots, 0xff, sizeof(t->slots));
	/* Addresses come from answers the traced processes receive; a seed
	 * they cannot know keeps them from piling addresses onto one probe
	 * run. Without one (no entropy yet) the table still works. */
	if (getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK) != sizeof(t->seed))
		t->seed = 0;
	return t;
}

void name_table_free(struct name_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < NAME_TABLE_CAPACITY; i++)
		free(t->entries[i].name);
	free(t);
}

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static size_t home_slot(const struct name_table *t, const uint8_t addr[16])
{
	uint64_t hi, lo;

	memcpy(&hi, addr, 8);
	memcpy(&lo, addr + 8, 8);
	return mix(mix(hi ^ t->seed) ^ lo) & SLOT_MASK;
}

/* The slot holding addr, or the empty slot where it would go. */
static size_t find_slot(const struct name_table *t, const uint8_t addr[16])
{
	size_t i = home_slot(t, addr);

	while (t->slots[i] != EMPTY && memcmp(t->entries[t->slots[i]].addr, addr, 16))
		i = (i + 1) & SLOT_MASK;
	return i;
}

/* Empties slot `hole`, moving later slots of the probe run back into it
 * where their home allows, so that no lookup stops short of them. */
static void clear_slot(struct name_table *t, size_t hole)
{
	for (size_t i = (hole + 1) & SLOT_MASK; t->slots[i] != EMPTY;
	     i = (i + 1) & SLOT_MASK) {
		size_t home = home_slot(t, t->entries[t->slots[i]].addr);

		if (((i - home) & SLOT_MASK) >= ((i - hole) & SLOT_MASK)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	t->slots[hole] = EMPTY;
}

int name_table_add(struct name_table *t, const uint8_t addr[16], const char *name)
{
	size_t ring = t->adds % NAME_TABLE_CAPACITY, slot;
	struct entry *oldest = &t->entries[ring];
	char *copy = strdup(name);

	if (!copy)
		return -ENOMEM;
	if (oldest->name) {
		clear_slot(t, find_slot(t, oldest->addr));
		free(oldest->name);
	}
	slot = find_slot(t, addr);
	if (t->slots[slot] != EMPTY) {
		struct entry *replaced = &t->entries[t->slots[slot]];

		free(replaced->name);
		replaced->name = NULL;
	}
	memcpy(oldest->addr, addr, 16);
	oldest->name = copy;
	t->slots[slot] = (uint32_t)ring;
	t->adds++;
	return 0;
}

const char *name_table_lookup(const struct name_table *t, const uint8_t addr[16])
{
	size_t slot = find_slot(t, addr);

	return t->slots[slot] == EMPTY ? NULL : t->entries[t->slots[slot]].name;
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
	    name_table_lookup(t, addr))
		return 0;
	return name_table_add(t, addr, name) ? -ENOMEM : 1;
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
