/* reorder: see reorder.h. A binary min-heap of the records held, by time
 * then arrival. */
#include "reorder.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_format.h"

struct held {
	uint64_t ts_ns;
	uint64_t arrival;
	union deptrace_record *rec;
};

struct reorder {
	struct record_sink next;
	struct held *heap;
	size_t count, cap;
	uint64_t arrivals;
	uint64_t released_ns; /* the time of the newest record handed on */
	uint64_t late;
};

struct reorder *reorder_new(struct record_sink next)
{
	struct reorder *r = calloc(1, sizeof(*r));

	if (r)
		r->next = next;
	return r;
}

void reorder_free(struct reorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		free(r->heap[i].rec);
	free(r->heap);
	free(r);
}

static bool before(const struct held *a, const struct held *b)
{
	return a->ts_ns != b->ts_ns ? a->ts_ns < b->ts_ns : a->arrival < b->arrival;
}

static void swap(struct held *a, struct held *b)
{
	struct held t = *a;

	*a = *b;
	*b = t;
}

static void sift_up(struct reorder *r, size_t i)
{
	while (i && before(&r->heap[i], &r->heap[(i - 1) / 2])) {
		swap(&r->heap[i], &r->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct reorder *r, size_t i)
{
	for (;;) {
		size_t least = i, l = 2 * i + 1, rr = l + 1;

		if (l < r->count && before(&r->heap[l], &r->heap[least]))
			least = l;
		if (rr < r->count && before(&r->heap[rr], &r->heap[least]))
			least = rr;
		if (least == i)
			return;
		swap(&r->heap[i], &r->heap[least]);
		i = least;
	}
}

static void hand_on(struct reorder *r, const union deptrace_record *rec)
{
	if (rec->h.ts_ns > r->released_ns)
		r->released_ns = rec->h.ts_ns;
	r->next.record(r->next.ctx, rec);
}

/* Holds a copy; one that cannot be held (out of memory) goes on at once,
 * as one that comes too late does. */
static void hold(void *ctx, const union deptrace_record *rec)
{
	struct reorder *r = ctx;
	union deptrace_record *copy;

	if (rec->h.ts_ns < r->released_ns) {
		r->late++;
		r->next.record(r->next.ctx, rec);
		return;
	}
	if (r->count == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 256;
		struct held *grown = realloc(r->heap, cap * sizeof(*grown));

		if (!grown) {
			hand_on(r, rec);
			return;
		}
		r->heap = grown;
		r->cap = cap;
	}
	copy = malloc(sizeof(*copy));
	if (!copy) {
		hand_on(r, rec);
		return;
	}
	memcpy(copy, rec, sizeof(*copy));
	r->heap[r->count] = (struct held){ .ts_ns = rec->h.ts_ns, .arrival = r->arrivals++,
					   .rec = copy };
	sift_up(r, r->count++);
}

static void pass_lost(void *ctx, uint64_t lost)
{
	struct reorder *r = ctx;

	r->next.lost(r->next.ctx, lost);
}

struct record_sink reorder_sink(struct reorder *r)
{
	return (struct record_sink){ .record = hold, .lost = pass_lost, .ctx = r };
}

/* Takes the held record at `i` out of the heap. */
static union deptrace_record *take_held(struct reorder *r, size_t i)
{
	union deptrace_record *rec = r->heap[i].rec;

	r->heap[i] = r->heap[--r->count];
	if (i < r->count) {
		sift_down(r, i);
		sift_up(r, i);
	}
	return rec;
}

/* A connection's first bytes (sent after it, so held later) go on just
 * before it, out of time order, so that its line can be named by them;
 * the session prints nothing for them. */
static void hand_on_first_bytes(struct reorder *r, const union deptrace_record *rec)
{
	if (rec->h.type != DEPTRACE_EVENT_CONNECT)
		return;
	for (size_t i = 0; i < r->count; i++) {
		union deptrace_record *bytes = r->heap[i].rec;

		if (bytes->h.type == DEPTRACE_EVENT_FIRST_BYTES &&
		    event_first_bytes_match(&rec->connect, &bytes->first_bytes)) {
			take_held(r, i);
			r->next.record(r->next.ctx, bytes);
			free(bytes);
			return;
		}
	}
}

/* Hands on the oldest held record. */
static void release_first(struct reorder *r)
{
	union deptrace_record *rec = take_held(r, 0);

	hand_on_first_bytes(r, rec);
	hand_on(r, rec);
	free(rec);
}

void reorder_release(struct reorder *r, uint64_t now_ns)
{
	while (r->count && r->heap[0].ts_ns + REORDER_WINDOW_NS <= now_ns)
		release_first(r);
}

void reorder_flush(struct reorder *r)
{
	while (r->count)
		release_first(r);
}

uint64_t reorder_late(const struct reorder *r)
{
	return r->late;
}
