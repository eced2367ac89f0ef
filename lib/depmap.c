/* depmap: see depmap.h. */
#include "depmap.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* A lookup's destination is its question: "forge.example.com A". */
static void lookup_name(const struct event *ev, char name[DEP_NAME_LEN])
{
	snprintf(name, DEP_NAME_LEN, "%s %s", ev->qname, ev->qtype);
}

static enum dep_kind kind_of(const struct event *ev)
{
	return ev->kind == EVENT_LOOKUP ? DEP_LOOKUP : DEP_CONNECTION;
}

static bool same_destination(const struct dependency *d, const struct event *ev,
			     const char *question)
{
	if (d->kind != kind_of(ev))
		return false;
	if (d->kind == DEP_LOOKUP)
		return !strcmp(d->name, question);
	return d->proto == ev->proto && d->port == ev->port && !memcmp(d->addr, ev->addr, 16) &&
	       !strcmp(d->name, ev->name ? ev->name : "");
}

static struct dependency *find_or_add(struct depmap *map, const struct event *o,
				      const char *question)
{
	struct dependency *d;

	for (size_t i = 0; i < map->count; i++)
		if (same_destination(&map->deps[i], o, question))
			return &map->deps[i];
	if (map->count == map->cap) {
		size_t cap = map->cap ? map->cap * 2 : 16;
		struct dependency *grown = realloc(map->deps, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		map->deps = grown;
		map->cap = cap;
	}
	d = &map->deps[map->count++];
	memset(d, 0, sizeof(*d));
	d->kind = kind_of(o);
	snprintf(d->name, sizeof(d->name), "%s",
		 d->kind == DEP_LOOKUP ? question : o->name ? o->name : "");
	if (d->kind == DEP_CONNECTION) {
		memcpy(d->addr, o->addr, 16);
		d->port = o->port;
		d->proto = o->proto;
	}
	d->first_ns = o->ts_ns;
	return d;
}

static void count_result(struct dependency *d, const char *result)
{
	for (size_t i = 0; i < d->nresults; i++) {
		if (!strcmp(d->results[i].text, result)) {
			d->results[i].count++;
			return;
		}
	}
	if (d->nresults == DEP_MAX_RESULTS) {
		d->other_results++;
		return;
	}
	snprintf(d->results[d->nresults].text, DEP_RESULT_LEN, "%s", result);
	d->results[d->nresults++].count = 1;
}

static struct dep_program *find_or_add_program(struct dependency *d,
					       const struct event *o)
{
	struct dep_program *p;

	for (size_t i = 0; i < d->nprograms; i++) {
		p = &d->programs[i];
		if (!strcmp(p->comm, o->proc->comm) && !strcmp(p->exe, o->proc->exe) &&
		    !strcmp(p->script, o->proc->script) && !strcmp(p->chain, o->chain) &&
		    p->class == o->class && !strcmp(p->via, o->via ? o->via : ""))
			return p;
	}
	if (d->nprograms == DEP_MAX_PROGRAMS)
		return NULL;
	p = &d->programs[d->nprograms++];
	memset(p, 0, sizeof(*p));
	snprintf(p->comm, sizeof(p->comm), "%s", o->proc->comm);
	snprintf(p->exe, sizeof(p->exe), "%s", o->proc->exe);
	snprintf(p->script, sizeof(p->script), "%s", o->proc->script);
	snprintf(p->chain, sizeof(p->chain), "%s", o->chain);
	p->class = o->class;
	snprintf(p->via, sizeof(p->via), "%s", o->via ? o->via : "");
	return p;
}

static void count_program(struct dependency *d, const struct event *o)
{
	struct dep_program *p = find_or_add_program(d, o);

	if (!p) {
		d->other_programs++;
		return;
	}
	p->count++;
	p->violations += o->violation != NULL;
}

int depmap_add(struct depmap *map, const struct event *ev)
{
	char question[DEP_NAME_LEN] = "";
	struct dependency *d;

	if (ev->kind == EVENT_LOOKUP)
		lookup_name(ev, question);
	d = find_or_add(map, ev, question);
	if (!d)
		return -ENOMEM;
	d->count++;
	d->last_ns = ev->ts_ns;
	d->failed |= ev->failed;
	count_result(d, ev->result);
	if (ev->waited && (!d->timed || ev->wait_ns > d->slowest_ns)) {
		d->timed = true;
		d->slowest_ns = ev->wait_ns;
	}
	count_program(d, ev);
	if (ev->violation && !d->violations++)
		snprintf(d->rule, sizeof(d->rule), "%s", ev->violation->rule);
	return 0;
}

static int by_destination(const void *a, const void *b)
{
	const struct dependency *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind == DEP_CONNECTION ? -1 : 1;
	if (!x->name[0] != !y->name[0])
		return x->name[0] ? -1 : 1;
	c = strcmp(x->name, y->name);
	if (c)
		return c;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return (int)x->port - (int)y->port;
}

/* A dependency's programs by class, keeping their order within one (an
 * insertion sort: qsort is not stable, and there are few). */
static void sort_programs(struct dependency *d)
{
	for (size_t i = 1; i < d->nprograms; i++) {
		struct dep_program p = d->programs[i];
		size_t j = i;

		for (; j > 0 && d->programs[j - 1].class > p.class; j--)
			d->programs[j] = d->programs[j - 1];
		d->programs[j] = p;
	}
}

void depmap_sort(struct depmap *map)
{
	qsort(map->deps, map->count, sizeof(*map->deps), by_destination);
	for (size_t i = 0; i < map->count; i++)
		sort_programs(&map->deps[i]);
}

void depmap_free(struct depmap *map)
{
	free(map->deps);
	memset(map, 0, sizeof(*map));
}
