/* Unit tests for lib/reorder.h: records in, records out in time order. */
#include "testutil.h"

#include "reorder.h"

#define MS 1000000ull

static uint64_t got[64];
static size_t ngot;
static uint64_t lost;
static struct reorder *r;

static void collect(void *ctx, const union deptrace_record *rec)
{
	(void)ctx;
	ck_assert_uint_lt(ngot, 64);
	/* tid tells records of equal time apart */
	got[ngot++] = rec->h.ts_ns * 100 + rec->h.tid;
}

static void count_lost(void *ctx, uint64_t n)
{
	(void)ctx;
	lost += n;
}

static void setup(void)
{
	ngot = 0;
	lost = 0;
	r = reorder_new((struct record_sink){ .record = collect, .lost = count_lost });
	ck_assert_ptr_nonnull(r);
}

static void teardown(void)
{
	reorder_free(r);
	r = NULL;
}

static void give(uint64_t ts, uint32_t tid)
{
	union deptrace_record rec;
	struct record_sink sink = reorder_sink(r);

	memset(&rec, 0, sizeof(rec));
	rec.h.ts_ns = ts;
	rec.h.tid = tid;
	rec.h.type = DEPTRACE_EVENT_FORK;
	sink.record(sink.ctx, &rec);
}

START_TEST(test_in_time_order)
{
	give(30 * MS, 1);
	give(10 * MS, 1);
	give(20 * MS, 1);
	give(10 * MS, 2); /* the same time: after the one that came first */
	reorder_release(r, 10 * MS + REORDER_WINDOW_NS - 1);
	ck_assert_uint_eq(ngot, 0);
	reorder_release(r, 20 * MS + REORDER_WINDOW_NS);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_uint_eq(got[0], 10 * MS * 100 + 1);
	ck_assert_uint_eq(got[1], 10 * MS * 100 + 2);
	ck_assert_uint_eq(got[2], 20 * MS * 100 + 1);
	reorder_flush(r);
	ck_assert_uint_eq(ngot, 4);
	ck_assert_uint_eq(got[3], 30 * MS * 100 + 1);
	ck_assert_uint_eq(reorder_late(r), 0);
}
END_TEST

/* Later than the window, after a newer record went: on at once, counted. */
START_TEST(test_late)
{
	struct record_sink sink = reorder_sink(r);

	give(100 * MS, 1);
	reorder_release(r, 100 * MS + REORDER_WINDOW_NS);
	give(50 * MS, 1);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_uint_eq(got[1], 50 * MS * 100 + 1);
	ck_assert_uint_eq(reorder_late(r), 1);
	/* as old as the newest handed on: held, not late */
	give(100 * MS, 2);
	ck_assert_uint_eq(ngot, 2);
	reorder_flush(r);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_uint_eq(reorder_late(r), 1);
	/* lost counts pass straight on */
	sink.lost(sink.ctx, 7);
	ck_assert_uint_eq(lost, 7);
}
END_TEST

/* Many records in a scrambled order come out sorted. */
START_TEST(test_many_sorted)
{
	uint32_t x = 7;

	for (int i = 0; i < 64; i++) {
		x = x * 1103515245u + 12345u;
		give((x >> 8) % 1000 * MS, (uint32_t)i);
	}
	reorder_flush(r);
	ck_assert_uint_eq(ngot, 64);
	for (size_t i = 1; i < ngot; i++)
		ck_assert_uint_le(got[i - 1] / 100, got[i] / 100);
}
END_TEST

/* A TCP connection's first bytes (sent after it) go on just before it;
 * those of another connection keep their time. */
START_TEST(test_first_bytes_before_their_connection)
{
	struct record_sink sink = reorder_sink(r);
	union deptrace_record conn, bytes;

	memset(&conn, 0, sizeof(conn));
	conn.connect.h = (struct deptrace_header){ .ts_ns = 10 * MS, .pid = 7, .tid = 1,
						   .type = DEPTRACE_EVENT_CONNECT };
	conn.connect.family = 2; /* AF_INET */
	conn.connect.proto = DEPTRACE_PROTO_TCP;
	conn.connect.dport = 443;
	conn.connect.sport = 40000;
	memcpy(conn.connect.daddr, "\xc0\x00\x02\x0a", 4);
	memset(&bytes, 0, sizeof(bytes));
	bytes.first_bytes.h = (struct deptrace_header){ .ts_ns = 30 * MS, .pid = 7, .tid = 2,
							.type = DEPTRACE_EVENT_FIRST_BYTES };
	memcpy(bytes.first_bytes.daddr, "\0\0\0\0\0\0\0\0\0\0\xff\xff\xc0\x00\x02\x0a", 16);
	bytes.first_bytes.dport = 443;
	bytes.first_bytes.sport = 40001;          /* another connection's */
	sink.record(sink.ctx, &bytes);
	bytes.first_bytes.h.ts_ns = 40 * MS;
	bytes.first_bytes.h.tid = 3;
	bytes.first_bytes.sport = 40000;          /* this one's */
	sink.record(sink.ctx, &bytes);
	give(20 * MS, 4);
	sink.record(sink.ctx, &conn);
	reorder_release(r, 10 * MS + REORDER_WINDOW_NS);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_uint_eq(got[0], 40 * MS * 100 + 3);
	ck_assert_uint_eq(got[1], 10 * MS * 100 + 1);
	reorder_flush(r);
	ck_assert_uint_eq(ngot, 4);
	ck_assert_uint_eq(got[2], 20 * MS * 100 + 4);
	ck_assert_uint_eq(got[3], 30 * MS * 100 + 2);
	ck_assert_uint_eq(reorder_late(r), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reorder");
	TCase *tc = tcase_create("window");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_in_time_order);
	tcase_add_test(tc, test_late);
	tcase_add_test(tc, test_many_sorted);
	tcase_add_test(tc, test_first_bytes_before_their_connection);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
