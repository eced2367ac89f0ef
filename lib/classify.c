/* classify: see classify.h. */
#define _GNU_SOURCE
#include "classify.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* as deep as proc_chain looks */
#define CLASSIFY_MAX_DEPTH 16

const char *class_name(enum event_class c)
{
	static const char *const names[CLASS_COUNT] = {
		[CLASS_DIRECT] = "direct",
		[CLASS_HIDDEN] = "hidden",
		[CLASS_TRANSIENT] = "transient",
	};

	return (unsigned)c < CLASS_COUNT ? names[c] : "?";
}

int class_parse(const char *name, enum event_class *c)
{
	for (int i = 0; i < CLASS_COUNT; i++) {
		if (!strcmp(name, class_name(i))) {
			*c = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Whether `len` bytes at `s` are `name`, without case; a name's final dot
 * ("forge.example.com.") does not count. */
static bool same_name(const char *s, size_t len, const char *name)
{
	size_t n = strlen(name);

	if (n && name[n - 1] == '.')
		n--;
	if (len && s[len - 1] == '.')
		len--;
	return n && len == n && !strncasecmp(s, name, n);
}

/* The host part of an argv word: after "scheme://" and "user@", up to
 * the port, path, query or fragment; an IPv6 address between brackets. */
static void host_part(const char *word, size_t len, const char **host, size_t *hlen)
{
	const char *end = word + len, *s = word, *at;
	const char *scheme = memmem(word, len, "://", 3);

	if (scheme)
		s = scheme + 3;
	/* userinfo: up to the last '@' before the path */
	at = NULL;
	for (const char *c = s; c < end && *c != '/'; c++)
		if (*c == '@')
			at = c;
	if (at)
		s = at + 1;
	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));

		*host = s + 1;
		*hlen = close ? (size_t)(close - s - 1) : (size_t)(end - s - 1);
		return;
	}
	*host = s;
	*hlen = strcspn(s, ":/?#");
	if (*hlen > (size_t)(end - s))
		*hlen = (size_t)(end - s);
}

/* The first of `names` one word (or the value after its "--option=")
 * names, or NULL. */
static const char *word_match(const char *word, size_t len, const char *const *names)
{
	/* "--server=URL" (not "URL?host=NAME") */
	const char *eq = *word == '-' ? memchr(word, '=', len) : NULL;

	for (int pass = 0; pass < 2; pass++) {
		const char *host;
		size_t hlen;

		host_part(word, len, &host, &hlen);
		for (const char *const *n = names; *n; n++)
			if (same_name(word, len, *n) || same_name(host, hlen, *n))
				return *n;
		if (!eq)
			break;
		len -= (size_t)(eq + 1 - word);
		word = eq + 1;
	}
	return NULL;
}

const char *classify_argv_match(const char *args, const char *const *names)
{
	for (const char *s = args; *s;) {
		size_t len = strcspn(s, " ");
		const char *named = len ? word_match(s, len, names) : NULL;

		if (named)
			return named;
		s += len;
		s += strspn(s, " ");
	}
	return NULL;
}

enum event_class classify_destination(const struct proc_table *table, pid_t pid,
				      const char *const *names, char *evidence, size_t len)
{
	const struct proc_info *p = proc_table_find(table, pid);
	const struct proc_info *chooser = NULL; /* the highest program not naming it */
	const char *named = NULL;               /* what the lowest program's argv names */
	bool forked = false, programs = false, unread = false;

	if (!p) {
		snprintf(evidence, len, "an unknown process");
		return CLASS_HIDDEN;
	}
	for (int depth = 0; p && depth < CLASSIFY_MAX_DEPTH; depth++) {
		if (p->root)
			break;
		/* a fork that did not exec runs its parent's program */
		if (!p->program) {
			forked = true;
		} else if (p->args_unread) {
			/* gone before its argv was read: the programs above it
			 * decide (one of them may have chosen it) */
			unread = true;
		} else {
			const char *match = classify_argv_match(p->args, names);

			if (!match)
				chooser = p;
			else if (!programs)
				named = match;
			programs = true;
		}
		p = proc_table_find(table, p->ppid);
	}
	if (chooser) {
		snprintf(evidence, len, "not in %s's argv", chooser->comm);
		return CLASS_HIDDEN;
	}
	if (programs && named)
		snprintf(evidence, len, "argv names %s", named);
	else if (unread)
		snprintf(evidence, len, "argv unread (the program had ended)");
	else
		snprintf(evidence, len, forked ? "a fork of the command" : "the command");
	return CLASS_DIRECT;
}
