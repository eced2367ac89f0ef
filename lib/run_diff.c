/* run_diff: see run_diff.h. */
#include "run_diff.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "saved_run.h"

#define DIFF_SET_LEN 256

/* One dependency of a run. */
struct diff_entry {
	char key[SAVED_RUN_KEY_LEN];
	char results[DIFF_SET_LEN]; /* "EINPROGRESS, ECONNREFUSED": each once, in order seen */
	char classes[DIFF_SET_LEN]; /* "direct, hidden", or "" */
	char chain[DEP_CHAIN_LEN];  /* the first event's */
	unsigned count;
};

struct diff_run {
	struct diff_entry *entries;
	size_t count, cap;
};

/* Adds `word` to the comma-separated set `set` unless it is there. */
static void set_add(char set[DIFF_SET_LEN], const char *word)
{
	size_t n = strlen(word), used = strlen(set);

	if (!*word)
		return;
	for (const char *s = set; (s = strstr(s, word)); s += n)
		if ((s == set || s[-1] == ' ') && (s[n] == ',' || !s[n]))
			return;
	snprintf(set + used, DIFF_SET_LEN - used, "%s%s", used ? ", " : "", word);
}

static int add_event(struct diff_run *run, const struct saved_event *ev)
{
	char key[SAVED_RUN_KEY_LEN];
	struct diff_entry *e = NULL;

	saved_run_key(&ev->ev, key, sizeof(key));
	for (size_t i = 0; i < run->count && !e; i++)
		if (!strcmp(run->entries[i].key, key))
			e = &run->entries[i];
	if (!e) {
		if (run->count == run->cap) {
			size_t cap = run->cap ? run->cap * 2 : 32;
			struct diff_entry *grown = realloc(run->entries, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			run->entries = grown;
			run->cap = cap;
		}
		e = &run->entries[run->count++];
		memset(e, 0, sizeof(*e));
		snprintf(e->key, sizeof(e->key), "%s", key);
		snprintf(e->chain, sizeof(e->chain), "%s", ev->ev.chain ? ev->ev.chain : "");
	}
	e->count++;
	set_add(e->results, ev->ev.result);
	set_add(e->classes, ev->class_name);
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct diff_entry *)a)->key, ((const struct diff_entry *)b)->key);
}

static int read_run(const char *path, struct diff_run *run, char *err, size_t errlen)
{
	struct saved_event *ev = malloc(sizeof(*ev));
	struct saved_run *saved = NULL;
	int rc = ev ? saved_run_open(path, &saved, err, errlen) : -ENOMEM;

	while (!rc && (rc = saved_run_next(saved, ev, err, errlen)) > 0)
		rc = ev->ev.kind == EVENT_EXEC ? 0 : add_event(run, ev);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	saved_run_close(saved);
	free(ev);
	if (!rc)
		qsort(run->entries, run->count, sizeof(*run->entries), by_key);
	return rc;
}

static void write_entry(FILE *out, char mark, const struct diff_entry *e)
{
	fprintf(out, "%c %s  %s x%u  %s\n", mark, e->key, e->results, e->count, e->chain);
}

/* "  result A -> B", "  class A -> B": what changed, or nothing. */
static bool write_change(FILE *out, const struct diff_entry *o, const struct diff_entry *n)
{
	bool results = strcmp(o->results, n->results) != 0;
	bool classes = strcmp(o->classes, n->classes) != 0;

	if (!results && !classes)
		return false;
	fprintf(out, "~ %s", n->key);
	if (classes)
		fprintf(out, "  class %s -> %s", o->classes[0] ? o->classes : "(none)",
			n->classes[0] ? n->classes : "(none)");
	if (results)
		fprintf(out, "  result %s -> %s", o->results, n->results);
	fputc('\n', out);
	return true;
}

int run_diff(const char *old_path, const char *new_path, FILE *out,
	     struct run_diff_totals *totals, char *err, size_t errlen)
{
	struct diff_run old_run = { 0 }, new_run = { 0 };
	size_t i = 0, j = 0;
	int rc = read_run(old_path, &old_run, err, errlen);

	if (!rc)
		rc = read_run(new_path, &new_run, err, errlen);
	*totals = (struct run_diff_totals){ 0 };
	while (!rc && (i < old_run.count || j < new_run.count)) {
		int c = i == old_run.count ? 1
			: j == new_run.count ? -1
			: strcmp(old_run.entries[i].key, new_run.entries[j].key);

		if (c < 0) {
			write_entry(out, '-', &old_run.entries[i++]);
			totals->removed++;
		} else if (c > 0) {
			write_entry(out, '+', &new_run.entries[j++]);
			totals->added++;
		} else {
			totals->changed += write_change(out, &old_run.entries[i++],
							&new_run.entries[j++]);
		}
	}
	free(old_run.entries);
	free(new_run.entries);
	return rc;
}
