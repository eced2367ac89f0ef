/* json_reader: see json_reader.h. */
#include "json_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *text;
	size_t len, pos;
	char *err;
	size_t errlen;
	int rc; /* the first failure */
};

static struct jsonr_node *fail(struct parser *p, int rc, const char *what)
{
	if (!p->rc) {
		p->rc = rc;
		if (rc == -ENOMEM)
			snprintf(p->err, p->errlen, "out of memory");
		else
			snprintf(p->err, p->errlen, "column %zu: %s", p->pos + 1, what);
	}
	return NULL;
}

static void skip_space(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->text[p->pos]) && p->text[p->pos])
		p->pos++;
}

static bool take(struct parser *p, const char *word)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n))
		return false;
	p->pos += n;
	return true;
}

static struct jsonr_node *new_node(struct parser *p, enum jsonr_type type)
{
	struct jsonr_node *node = calloc(1, sizeof(*node));

	if (!node)
		return fail(p, -ENOMEM, NULL);
	node->type = type;
	return node;
}

static int hex4(struct parser *p, unsigned *value)
{
	*value = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->pos < p->len ? p->text[p->pos] : '\0';
		int digit = c >= '0' && c <= '9' ? c - '0'
			    : c >= 'a' && c <= 'f' ? c - 'a' + 10
			    : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (digit < 0)
			return -EINVAL;
		*value = *value << 4 | (unsigned)digit;
		p->pos++;
	}
	return 0;
}

static size_t put_utf8(char *out, unsigned cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A \uXXXX escape (the backslash and 'u' read), with its low surrogate. */
static int unicode_escape(struct parser *p, unsigned *cp)
{
	unsigned low;

	if (hex4(p, cp))
		return -EINVAL;
	if (*cp >= 0xdc00 && *cp <= 0xdfff)
		return -EINVAL;
	if (*cp >= 0xd800 && *cp <= 0xdbff) {
		if (!take(p, "\\u") || hex4(p, &low) || low < 0xdc00 || low > 0xdfff)
			return -EINVAL;
		*cp = 0x10000 + ((*cp - 0xd800) << 10) + (low - 0xdc00);
	}
	return *cp ? 0 : -EINVAL;
}

/* A string's contents, decoded (the opening quote read). The decoded
 * form is never longer than the escaped one. */
static char *parse_string(struct parser *p)
{
	size_t start = p->pos, used = 0;
	char *out;

	while (p->pos < p->len && p->text[p->pos] != '"')
		p->pos += p->text[p->pos] == '\\' ? 2 : 1;
	if (p->pos >= p->len)
		return (char *)fail(p, -EINVAL, "unterminated string");
	out = malloc(p->pos - start + 1);
	if (!out)
		return (char *)fail(p, -ENOMEM, NULL);
	p->pos = start;
	while (p->text[p->pos] != '"') {
		unsigned char c = (unsigned char)p->text[p->pos++];
		unsigned cp;

		if (c < 0x20) {
			free(out);
			p->pos--;
			return (char *)fail(p, -EINVAL, "a control character in a string");
		}
		if (c != '\\') {
			out[used++] = (char)c;
			continue;
		}
		c = (unsigned char)p->text[p->pos++];
		switch (c) {
		case '"': case '\\': case '/': out[used++] = (char)c; break;
		case 'b': out[used++] = '\b'; break;
		case 'f': out[used++] = '\f'; break;
		case 'n': out[used++] = '\n'; break;
		case 'r': out[used++] = '\r'; break;
		case 't': out[used++] = '\t'; break;
		case 'u':
			if (unicode_escape(p, &cp)) {
				free(out);
				return (char *)fail(p, -EINVAL, "a bad \\u escape (or U+0000)");
			}
			used += put_utf8(out + used, cp);
			break;
		default:
			free(out);
			p->pos--;
			return (char *)fail(p, -EINVAL, "an unknown escape");
		}
	}
	p->pos++;
	out[used] = '\0';
	return out;
}

static size_t digits(struct parser *p)
{
	size_t n = 0;

	while (p->pos < p->len && p->text[p->pos] >= '0' && p->text[p->pos] <= '9')
		p->pos++, n++;
	return n;
}

static struct jsonr_node *parse_number(struct parser *p)
{
	size_t start = p->pos, n;
	struct jsonr_node *node;

	take(p, "-");
	n = digits(p);
	if (!n || (n > 1 && p->text[p->pos - n] == '0'))
		return fail(p, -EINVAL, "a bad number");
	if (take(p, ".") && !digits(p))
		return fail(p, -EINVAL, "a bad fraction");
	if (p->pos < p->len && (p->text[p->pos] == 'e' || p->text[p->pos] == 'E')) {
		p->pos++;
		if (!take(p, "+"))
			take(p, "-");
		if (!digits(p))
			return fail(p, -EINVAL, "a bad exponent");
	}
	node = new_node(p, JSONR_NUMBER);
	if (node && !(node->text = strndup(p->text + start, p->pos - start))) {
		free(node);
		return fail(p, -ENOMEM, NULL);
	}
	return node;
}

static struct jsonr_node *parse_value(struct parser *p, unsigned depth);

/* The elements of an array or the members of an object (the opening
 * bracket read), up to `close`. */
static struct jsonr_node *parse_container(struct parser *p, enum jsonr_type type,
					  char close, unsigned depth)
{
	struct jsonr_node *node = new_node(p, type), **tail;

	if (!node)
		return NULL;
	if (depth >= JSONR_MAX_DEPTH) {
		free(node);
		return fail(p, -EINVAL, "nested too deep");
	}
	tail = &node->child;
	skip_space(p);
	if (p->pos < p->len && p->text[p->pos] == close) {
		p->pos++;
		return node;
	}
	for (;;) {
		char *key = NULL;
		struct jsonr_node *item;

		skip_space(p);
		if (type == JSONR_OBJECT) {
			if (!take(p, "\"")) {
				fail(p, -EINVAL, "expected a member name");
				break;
			}
			key = parse_string(p);
			if (!key)
				break;
			skip_space(p);
			if (!take(p, ":")) {
				free(key);
				fail(p, -EINVAL, "expected ':'");
				break;
			}
		}
		item = parse_value(p, depth + 1);
		if (!item) {
			free(key);
			break;
		}
		item->key = key;
		*tail = item;
		tail = &item->next;
		skip_space(p);
		if (take(p, ","))
			continue;
		if (p->pos < p->len && p->text[p->pos] == close) {
			p->pos++;
			return node;
		}
		fail(p, -EINVAL, type == JSONR_OBJECT ? "expected ',' or '}'" : "expected ',' or ']'");
		break;
	}
	jsonr_free(node);
	return NULL;
}

static struct jsonr_node *parse_value(struct parser *p, unsigned depth)
{
	struct jsonr_node *node;
	char c;

	skip_space(p);
	if (p->pos >= p->len)
		return fail(p, -EINVAL, "expected a value");
	c = p->text[p->pos];
	if (c == '{' || c == '[') {
		p->pos++;
		return parse_container(p, c == '{' ? JSONR_OBJECT : JSONR_ARRAY,
				       c == '{' ? '}' : ']', depth);
	}
	if (c == '"') {
		p->pos++;
		node = new_node(p, JSONR_STRING);
		if (node && !(node->text = parse_string(p))) {
			free(node);
			return NULL;
		}
		return node;
	}
	if (c == '-' || (c >= '0' && c <= '9'))
		return parse_number(p);
	if (take(p, "true") || take(p, "false")) {
		node = new_node(p, JSONR_BOOL);
		if (node)
			node->boolean = c == 't';
		return node;
	}
	if (take(p, "null"))
		return new_node(p, JSONR_NULL);
	return fail(p, -EINVAL, "expected a value");
}

int jsonr_parse(const char *text, size_t len, struct jsonr_node **root, char *err,
		size_t errlen)
{
	struct parser p = { .text = text, .len = len, .err = err, .errlen = errlen };
	struct jsonr_node *node = parse_value(&p, 0);

	if (node) {
		skip_space(&p);
		if (p.pos < p.len) {
			jsonr_free(node);
			node = fail(&p, -EINVAL, "text after the value");
		}
	}
	*root = node;
	return node ? 0 : p.rc;
}

void jsonr_free(struct jsonr_node *node)
{
	while (node) {
		struct jsonr_node *next = node->next;

		jsonr_free(node->child);
		free(node->key);
		free(node->text);
		free(node);
		node = next;
	}
}

const struct jsonr_node *jsonr_get(const struct jsonr_node *object, const char *key)
{
	if (!object || object->type != JSONR_OBJECT)
		return NULL;
	for (const struct jsonr_node *m = object->child; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const char *jsonr_string(const struct jsonr_node *node)
{
	return node && node->type == JSONR_STRING ? node->text : NULL;
}

bool jsonr_bool(const struct jsonr_node *node, bool fallback)
{
	return node && node->type == JSONR_BOOL ? node->boolean : fallback;
}

/* Digits (at most `max` of them) into *value; false on overflow. */
static bool add_digits(const char **s, size_t max, uint64_t *value, size_t *count)
{
	for (*count = 0; **s >= '0' && **s <= '9' && *count < max; (*s)++, (*count)++) {
		if (*value > (UINT64_MAX - 9) / 10)
			return false;
		*value = *value * 10 + (uint64_t)(**s - '0');
	}
	return true;
}

int jsonr_uint(const struct jsonr_node *node, uint64_t *value)
{
	const char *s;
	size_t n;

	if (!node || node->type != JSONR_NUMBER)
		return -EINVAL;
	s = node->text;
	*value = 0;
	if (!add_digits(&s, SIZE_MAX, value, &n) || *s)
		return -EINVAL;
	return 0;
}

int jsonr_fixed9(const struct jsonr_node *node, uint64_t *nanos)
{
	const char *s;
	uint64_t whole = 0, frac = 0;
	size_t n;

	if (!node || node->type != JSONR_NUMBER)
		return -EINVAL;
	s = node->text;
	if (!add_digits(&s, 10, &whole, &n) || (*s >= '0' && *s <= '9'))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!add_digits(&s, 9, &frac, &n) || *s)
			return -EINVAL;
		while (n++ < 9)
			frac *= 10;
	}
	if (*s)
		return -EINVAL;
	*nanos = whole * 1000000000ull + frac;
	return 0;
}
