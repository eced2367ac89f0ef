/* follow: see follow.h. */
#include "follow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct follow_thread {
	pid_t tid;
	char via[FOLLOW_VIA_LEN];
	char note[FOLLOW_NOTE_LEN]; /* "" when none */
};

struct follow_table {
	struct follow_thread *threads;
	size_t count, cap;
};

struct follow_table *follow_table_new(void)
{
	return calloc(1, sizeof(struct follow_table));
}

void follow_table_free(struct follow_table *t)
{
	if (!t)
		return;
	free(t->threads);
	free(t);
}

static struct follow_thread *find(const struct follow_table *t, pid_t tid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

const char *follow_table_via(const struct follow_table *t, pid_t tid)
{
	const struct follow_thread *f = find(t, tid);

	return f ? f->via : NULL;
}

int follow_table_serve(struct follow_table *t, pid_t tid, const char *comm, pid_t client_tid,
		       const char *client_chain, const char *destination)
{
	const char *base = follow_table_via(t, client_tid);
	char via[FOLLOW_VIA_LEN];
	struct follow_thread *f;

	/* built first: the client's path may be the entry replaced */
	snprintf(via, sizeof(via), "%s -> %s %s", base ? base : client_chain, destination, comm);
	f = find(t, tid);
	if (!f) {
		if (t->count == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 16;
			struct follow_thread *grown = realloc(t->threads, cap * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			t->threads = grown;
			t->cap = cap;
		}
		f = &t->threads[t->count++];
		f->tid = tid;
	}
	snprintf(f->via, sizeof(f->via), "%s", via);
	f->note[0] = '\0';
	return 0;
}

void follow_table_note(struct follow_table *t, pid_t tid, const char *note)
{
	struct follow_thread *f = find(t, tid);

	if (f)
		snprintf(f->note, sizeof(f->note), "%s", note);
}

const char *follow_table_take_note(struct follow_table *t, pid_t tid)
{
	static char taken[FOLLOW_NOTE_LEN];
	struct follow_thread *f = find(t, tid);

	if (!f || !f->note[0])
		return NULL;
	snprintf(taken, sizeof(taken), "%s", f->note);
	f->note[0] = '\0';
	return taken;
}
