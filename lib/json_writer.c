/* json_writer: see json_writer.h. */
#include "json_writer.h"

#include <inttypes.h>

void jsonw_init(struct json_writer *w, FILE *stream)
{
	*w = (struct json_writer){ .stream = stream };
}

/* Before any value or member name: the comma that separates it from the
 * one before, unless it is a member's value. */
static void before_value(struct json_writer *w)
{
	if (w->after_name) {
		w->after_name = false;
		return;
	}
	if (w->depth && w->depth <= JSONW_MAX_DEPTH) {
		if (w->has_value[w->depth - 1])
			fputc(',', w->stream);
		w->has_value[w->depth - 1] = true;
	}
}

static void start(struct json_writer *w, char open)
{
	before_value(w);
	fputc(open, w->stream);
	if (++w->depth <= JSONW_MAX_DEPTH)
		w->has_value[w->depth - 1] = false;
}

static void end(struct json_writer *w, char close)
{
	fputc(close, w->stream);
	if (w->depth)
		w->depth--;
	if (!w->depth)
		fputc('\n', w->stream); /* JSON Lines: one value a line */
}

void jsonw_start_object(struct json_writer *w)
{
	start(w, '{');
}

void jsonw_end_object(struct json_writer *w)
{
	end(w, '}');
}

void jsonw_start_array(struct json_writer *w)
{
	start(w, '[');
}

void jsonw_end_array(struct json_writer *w)
{
	end(w, ']');
}

/* The length of the valid UTF-8 sequence `str` starts with (1-4), or 0 if
 * it does not start one (a stray continuation byte, an overlong form, a
 * surrogate, beyond U+10FFFF, or cut short by the end of the string). */
static size_t utf8_length(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) /* the NUL at the end stops here too */
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static void write_string(FILE *f, const char *s)
{
	fputc('"', f);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		size_t n = utf8_length(s);

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else if (!n)
			fputs("\\ufffd", f); /* not UTF-8: the replacement character */
		else
			fwrite(s, 1, n, f);
		s += n ? n : 1;
	}
	fputc('"', f);
}

void jsonw_name(struct json_writer *w, const char *name)
{
	before_value(w);
	write_string(w->stream, name);
	fputc(':', w->stream);
	w->after_name = true;
}

void jsonw_string(struct json_writer *w, const char *s)
{
	before_value(w);
	write_string(w->stream, s);
}

void jsonw_uint(struct json_writer *w, uint64_t v)
{
	before_value(w);
	fprintf(w->stream, "%" PRIu64, v);
}

void jsonw_bool(struct json_writer *w, bool v)
{
	before_value(w);
	fputs(v ? "true" : "false", w->stream);
}

void jsonw_fixed(struct json_writer *w, double v, int decimals)
{
	before_value(w);
	fprintf(w->stream, "%.*f", decimals, v);
}

void jsonw_string_field(struct json_writer *w, const char *name, const char *s)
{
	jsonw_name(w, name);
	jsonw_string(w, s);
}

void jsonw_uint_field(struct json_writer *w, const char *name, uint64_t v)
{
	jsonw_name(w, name);
	jsonw_uint(w, v);
}

void jsonw_bool_field(struct json_writer *w, const char *name, bool v)
{
	jsonw_name(w, name);
	jsonw_bool(w, v);
}

void jsonw_fixed_field(struct json_writer *w, const char *name, double v, int decimals)
{
	jsonw_name(w, name);
	jsonw_fixed(w, v, decimals);
}
