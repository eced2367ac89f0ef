/* json_writer (jsonw_): JSON syntax, so that no caller counts commas.
 *
 * A writer knows where it is in the nesting and whether a value came
 * before: it writes the commas, the colons and the quotes, and escapes
 * every string it is given: quotes, backslashes and control bytes as
 * escapes, and any byte that is not part of valid UTF-8 as U+FFFD, so
 * that what it writes is valid JSON in valid UTF-8 whatever the traced
 * programs named themselves. The caller's steps for one JSON Lines
 * object:
 *
 *   jsonw_init(&w, stream);
 *   jsonw_start_object(&w);
 *   jsonw_string_field(&w, "type", "connect");
 *   jsonw_name(&w, "answers"); jsonw_start_array(&w); ... jsonw_end_array(&w);
 *   jsonw_end_object(&w);          a top-level value ends its line
 *
 * Nesting deeper than JSONW_MAX_DEPTH is a caller's bug: the extra levels
 * are written, their commas are not tracked.
 */
#ifndef DEPTRACE_JSON_WRITER_H
#define DEPTRACE_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSONW_MAX_DEPTH 16

struct json_writer {
	FILE *stream;
	unsigned depth;
	bool has_value[JSONW_MAX_DEPTH]; /* a value was written at this level */
	bool after_name;                 /* the next value is a member's */
};

void jsonw_init(struct json_writer *w, FILE *stream);

void jsonw_start_object(struct json_writer *w);
void jsonw_end_object(struct json_writer *w);
void jsonw_start_array(struct json_writer *w);
void jsonw_end_array(struct json_writer *w);

/* A member's name: the next value is its value. */
void jsonw_name(struct json_writer *w, const char *name);

void jsonw_string(struct json_writer *w, const char *s);
void jsonw_uint(struct json_writer *w, uint64_t v);
void jsonw_bool(struct json_writer *w, bool v);
/* `v` with `decimals` digits after the point ("%.6f"). */
void jsonw_fixed(struct json_writer *w, double v, int decimals);

void jsonw_string_field(struct json_writer *w, const char *name, const char *s);
void jsonw_uint_field(struct json_writer *w, const char *name, uint64_t v);
void jsonw_bool_field(struct json_writer *w, const char *name, bool v);
void jsonw_fixed_field(struct json_writer *w, const char *name, double v, int decimals);

#endif
