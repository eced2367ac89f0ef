/* Unit tests for lib/json_writer.h: commas, nesting, escaping, UTF-8. */
#include "testutil.h"

#include "json_writer.h"

static char *text;
static size_t text_len;
static FILE *stream;
static struct json_writer w;

static void open_writer(void)
{
	stream = open_memstream(&text, &text_len);
	ck_assert_ptr_nonnull(stream);
	jsonw_init(&w, stream);
}

static const char *close_writer(void)
{
	ck_assert_int_eq(fclose(stream), 0);
	return text;
}

static void teardown(void)
{
	free(text);
	text = NULL;
}

START_TEST(test_nesting_and_commas)
{
	open_writer();
	jsonw_start_object(&w);
	jsonw_string_field(&w, "type", "summary");
	jsonw_uint_field(&w, "count", 18446744073709551615ull);
	jsonw_name(&w, "empty");
	jsonw_start_array(&w);
	jsonw_end_array(&w);
	jsonw_name(&w, "list");
	jsonw_start_array(&w);
	jsonw_start_object(&w);
	jsonw_bool_field(&w, "a", true);
	jsonw_end_object(&w);
	jsonw_start_object(&w);
	jsonw_end_object(&w);
	jsonw_string(&w, "x");
	jsonw_end_array(&w);
	jsonw_name(&w, "inner");
	jsonw_start_object(&w);
	jsonw_fixed_field(&w, "time", 1.5, 6);
	jsonw_bool_field(&w, "b", false);
	jsonw_end_object(&w);
	jsonw_end_object(&w);
	/* a second top-level value: a line of its own */
	jsonw_start_object(&w);
	jsonw_end_object(&w);
	ck_assert_str_eq(close_writer(),
			 "{\"type\":\"summary\",\"count\":18446744073709551615,\"empty\":[],"
			 "\"list\":[{\"a\":true},{},\"x\"],"
			 "\"inner\":{\"time\":1.500000,\"b\":false}}\n"
			 "{}\n");
}
END_TEST

START_TEST(test_quotes_and_control_bytes)
{
	open_writer();
	jsonw_start_object(&w);
	jsonw_string_field(&w, "q\"k", "a\"b\\c");
	jsonw_string_field(&w, "ctl", "\n\r\x1b[31m\t\x01\x7f|");
	jsonw_end_object(&w);
	ck_assert_str_eq(close_writer(),
			 "{\"q\\\"k\":\"a\\\"b\\\\c\","
			 "\"ctl\":\"\\u000a\\u000d\\u001b[31m\\u0009\\u0001\\u007f|\"}\n");
}
END_TEST

/* Valid UTF-8 passes as it is; every byte that is not part of a valid
 * sequence becomes U+FFFD, so the output is always valid UTF-8. */
START_TEST(test_utf8_made_valid)
{
	open_writer();
	jsonw_start_array(&w);
	jsonw_string(&w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");   /* é € 😀 */
	jsonw_string(&w, "a\xff" "b");              /* a byte never in UTF-8 */
	jsonw_string(&w, "\x80x");                  /* a stray continuation byte */
	jsonw_string(&w, "\xc0\xaf");               /* an overlong '/' */
	jsonw_string(&w, "\xed\xa0\x80");           /* a surrogate */
	jsonw_string(&w, "\xf4\x90\x80\x80");       /* beyond U+10FFFF */
	jsonw_string(&w, "end\xe2\x82");            /* cut short by the end */
	jsonw_end_array(&w);
	ck_assert_str_eq(close_writer(),
			 "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\","
			 "\"a\\ufffdb\",\"\\ufffdx\",\"\\ufffd\\ufffd\","
			 "\"\\ufffd\\ufffd\\ufffd\",\"\\ufffd\\ufffd\\ufffd\\ufffd\","
			 "\"end\\ufffd\\ufffd\"]\n");
}
END_TEST

static Suite *json_writer_suite(void)
{
	Suite *s = suite_create("json_writer");
	TCase *tc = tcase_create("writer");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_nesting_and_commas);
	tcase_add_test(tc, test_quotes_and_control_bytes);
	tcase_add_test(tc, test_utf8_made_valid);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(json_writer_suite());
}
