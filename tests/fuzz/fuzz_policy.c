/* libFuzzer harness for policy files (lib/policy.h): every input is a
 * file's bytes, as odd as someone can make one. Besides memory errors
 * (ASan, UBSan) it checks what callers rely on:
 *   - a file that fails adds no rule, and its message is one line of
 *     printable text (a binary file's bytes are never echoed);
 *   - a file that loads gives rules whose text parses back to itself. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "policy.h"

static void check_text(const char *text)
{
	for (const char *c = text; *c; c++)
		if (*c < ' ' || *c > '~')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct policy pol = { 0 };
	char err[512] = "";

	if (fd < 0) {
		fd = memfd_create("fuzz.policy", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (policy_load_file(&pol, path, err, sizeof(err))) {
		if (pol.count || !err[0])
			abort();
		check_text(err + strlen(path));
		policy_free(&pol);
		return 0;
	}
	for (size_t i = 0; i < pol.count; i++) {
		const struct policy_rule *r = &pol.rules[i];
		const char *target = strchr(r->text, ' ') + 1;
		struct policy_rule again;

		check_text(r->text);
		if (policy_parse_rule(r->action, target, "again", &again, err, sizeof(err)) ||
		    strcmp(again.text, r->text) || again.kind != r->kind || again.port != r->port ||
		    memcmp(again.addr, r->addr, 16) || again.prefix != r->prefix)
			abort();
	}
	policy_free(&pol);
	return 0;
}
