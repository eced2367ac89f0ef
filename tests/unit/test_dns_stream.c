/* Unit tests for lib/dns_stream.h: DNS messages out of TCP segments. */
#include "testutil.h"

#include "dns_stream.h"

static struct dns_stream_table *t;
static char got[8][64];
static size_t ngot;

static void collect(void *ctx, const uint8_t *msg, size_t len)
{
	(void)ctx;
	ck_assert_uint_lt(ngot, 8);
	ck_assert_uint_lt(len, sizeof(got[0]));
	memcpy(got[ngot], msg, len);
	got[ngot++][len] = '\0';
}

static void setup(void)
{
	t = dns_stream_new();
	ck_assert_ptr_nonnull(t);
	ngot = 0;
}

static void teardown(void)
{
	dns_stream_free(t);
	t = NULL;
}

static int feed(uint64_t cookie, const char *seg, size_t len, bool cut)
{
	return dns_stream_feed(t, cookie, 0, (const uint8_t *)seg, len, cut, collect, NULL);
}

START_TEST(test_two_in_one_segment)
{
	ck_assert_int_eq(feed(1, "\0\3abc\0\2de", 9, false), 0);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_str_eq(got[0], "abc");
	ck_assert_str_eq(got[1], "de");
}
END_TEST

/* A message, and its prefix, split across segments; two streams at once,
 * each with its own direction. */
START_TEST(test_across_segments)
{
	ck_assert_int_eq(feed(1, "\0", 1, false), 0);
	ck_assert_int_eq(dns_stream_feed(t, 1, 1, (const uint8_t *)"\0\1z", 3, false, collect, NULL), 0);
	ck_assert_int_eq(feed(2, "\0\4wx", 4, false), 0);
	ck_assert_int_eq(feed(1, "\5ab", 3, false), 0);
	ck_assert_uint_eq(ngot, 1);
	ck_assert_str_eq(got[0], "z");
	ck_assert_int_eq(feed(2, "yz\0", 3, false), 0);
	ck_assert_int_eq(feed(1, "cde", 3, false), 0);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_str_eq(got[1], "wxyz");
	ck_assert_str_eq(got[2], "abcde");
}
END_TEST

/* A cut segment, or a message too long to hold, loses the framing: said
 * once, and the stream is read no further. */
START_TEST(test_lost_framing)
{
	ck_assert_int_eq(feed(1, "\0\3ab", 4, true), -EMSGSIZE);
	ck_assert_int_eq(feed(1, "c\0\1x", 4, false), 0);
	ck_assert_uint_eq(ngot, 0);
	ck_assert_int_eq(feed(2, "\x20\x01", 2, false), -EMSGSIZE); /* 8193 bytes */
	ck_assert_int_eq(feed(3, "\x20\x00", 2, false), 0);         /* 8192: held */
	ck_assert_uint_eq(ngot, 0);
}
END_TEST

/* More streams than the table holds: the one used longest ago is
 * forgotten (its next segment starts a stream afresh). */
START_TEST(test_oldest_forgotten)
{
	for (uint64_t c = 1; c <= DNS_STREAM_COUNT; c++)
		ck_assert_int_eq(feed(c, "\0\2a", 3, false), 0);
	ck_assert_int_eq(feed(DNS_STREAM_COUNT + 1, "\0\1q", 3, false), 0);
	ck_assert_uint_eq(ngot, 1);
	/* stream 2 was kept: "b" ends its message */
	ck_assert_int_eq(feed(2, "b", 1, false), 0);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_str_eq(got[1], "ab");
	/* stream 1 was forgotten: read afresh, from a prefix */
	ck_assert_int_eq(feed(1, "\0", 1, false), 0);
	ck_assert_uint_eq(ngot, 2);
	ck_assert_int_eq(feed(1, "\1r", 2, false), 0);
	ck_assert_uint_eq(ngot, 3);
	ck_assert_str_eq(got[2], "r");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dns_stream");
	TCase *tc = tcase_create("framing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_two_in_one_segment);
	tcase_add_test(tc, test_across_segments);
	tcase_add_test(tc, test_lost_framing);
	tcase_add_test(tc, test_oldest_forgotten);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
