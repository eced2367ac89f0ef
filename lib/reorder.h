/* reorder: records handed on in the order they happened.
 *
 * The kernel hands records over late and out of order: each CPU has its
 * own buffer, and a record is sent when what it reports is complete (a
 * connect when its outcome is known, a receive when the call returns),
 * stamped with when it began. The reorder sink holds each record until
 * REORDER_WINDOW_NS after its time, then hands it on in time order
 * (records of equal time in the order they came). A record that comes
 * later than that, after a newer one was handed on, goes on at once, out
 * of order, and is counted. One exception: the first bytes a process sent
 * on a TCP connection go on just before the connection's record when they
 * are held with it (event_first_bytes_match), so that the session can name
 * the connection by them.
 *
 * Usage: reorder_new(the sink records go to); give the tracer
 * reorder_sink(); after each poll, reorder_release(now); at the end,
 * reorder_flush(); reorder_late() for the report; reorder_free().
 */
#ifndef DEPTRACE_REORDER_H
#define DEPTRACE_REORDER_H

#include <stdint.h>

#include "decode.h"

/* Long enough for a connect's outcome on a distant network path and for
 * the poll cadence (tracer.h); short enough that lines still read as live. */
#define REORDER_WINDOW_NS (250ull * 1000000ull)

struct reorder;

/* NULL when out of memory. */
struct reorder *reorder_new(struct record_sink next);
void reorder_free(struct reorder *r);

/* Where records go to be held. Lost-record counts pass straight on. */
struct record_sink reorder_sink(struct reorder *r);

/* Hands on, in time order, every record held whose time is at least
 * REORDER_WINDOW_NS before `now_ns` (CLOCK_MONOTONIC, as the records'). */
void reorder_release(struct reorder *r, uint64_t now_ns);

/* Hands on every record held, in time order. */
void reorder_flush(struct reorder *r);

/* Records handed on out of order: they came after a newer one had gone. */
uint64_t reorder_late(const struct reorder *r);

#endif
