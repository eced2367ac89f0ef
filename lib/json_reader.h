/* json_reader (jsonr_): one JSON value, parsed whole; what reads saved
 * runs (saved_run.h).
 *
 * The text is untrusted (a saved run may come from anywhere): the parser
 * is strict RFC 8259 (no comments, no trailing commas, no leading zeros),
 * nests at most JSONR_MAX_DEPTH deep, and refuses a string holding U+0000
 * (strings are handed on as C strings) or an unpaired surrogate. \u
 * escapes come out as UTF-8; raw bytes are passed through as they are.
 * Numbers are kept as written; jsonr_uint and jsonr_double read them.
 *
 * The caller's steps:
 *
 *   struct jsonr_node *root;
 *   if (jsonr_parse(line, len, &root, err, sizeof(err))) ... err says what and where
 *   const char *type = jsonr_string(jsonr_get(root, "type"));
 *   jsonr_free(root);
 */
#ifndef DEPTRACE_JSON_READER_H
#define DEPTRACE_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONR_MAX_DEPTH 32

enum jsonr_type {
	JSONR_NULL,
	JSONR_BOOL,
	JSONR_NUMBER,
	JSONR_STRING,
	JSONR_ARRAY,
	JSONR_OBJECT,
};

struct jsonr_node {
	enum jsonr_type type;
	char *key;                /* a member's name, or NULL */
	char *text;               /* STRING: decoded; NUMBER: as written */
	bool boolean;             /* BOOL */
	struct jsonr_node *child; /* ARRAY, OBJECT: the first element */
	struct jsonr_node *next;  /* the next element of the parent */
};

/* Parses text[0..len) (one value, white space around it allowed) into a
 * tree the caller frees with jsonr_free. 0, or -EINVAL with "column N:
 * what" in `err`, or -ENOMEM. */
int jsonr_parse(const char *text, size_t len, struct jsonr_node **root, char *err,
		size_t errlen);

void jsonr_free(struct jsonr_node *node);

/* The member `key` of an object, or NULL (absent, or not an object). */
const struct jsonr_node *jsonr_get(const struct jsonr_node *object, const char *key);

/* The string, or NULL when `node` is NULL or not a string. */
const char *jsonr_string(const struct jsonr_node *node);

/* The boolean, or `fallback` when `node` is NULL or not a boolean. */
bool jsonr_bool(const struct jsonr_node *node, bool fallback);

/* A non-negative integer: 0, or -EINVAL (absent, not a number, a
 * fraction, negative, above UINT64_MAX). */
int jsonr_uint(const struct jsonr_node *node, uint64_t *value);

/* A number with the digits it was written with, exactly as far as 9
 * decimals go: "0.036123456" is 36123456 nanos; 0 or -EINVAL (absent, not
 * a number, negative, an exponent, more than 9 decimals, too large). */
int jsonr_fixed9(const struct jsonr_node *node, uint64_t *nanos);

#endif
