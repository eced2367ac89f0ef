/* libFuzzer harness for saved runs (lib/saved_run.h, json_reader.h):
 * every input is a file's bytes, as odd as someone can make one. Besides
 * memory errors (ASan, UBSan) it checks what callers rely on:
 *   - a read that fails says why in one line;
 *   - every event read has the strings its kind needs, each terminated,
 *     and at most DNS_MAX_ANSWERS answers; its key fits. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "saved_run.h"

static void check_line(const char *text)
{
	if (!text[0] || strchr(text, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static struct saved_event ev;
	struct saved_run *run;
	char err[512] = "", key[SAVED_RUN_KEY_LEN];
	int rc;

	if (fd < 0) {
		fd = memfd_create("fuzz.jsonl", 0);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (saved_run_open(path, &run, err, sizeof(err))) {
		check_line(err);
		return 0;
	}
	while ((rc = saved_run_next(run, &ev, err, sizeof(err))) > 0) {
		const struct event *e = &ev.ev;

		if (!e->comm || !e->result || !e->proc || e->nanswers > DNS_MAX_ANSWERS ||
		    (e->kind == EVENT_LOOKUP && (!e->qname || !e->qtype)))
			abort();
		saved_run_key(e, key, sizeof(key));
		if (strlen(key) >= sizeof(key))
			abort();
	}
	if (rc < 0)
		check_line(err);
	saved_run_close(run);
	return 0;
}
