/* message: where lib/ sends what it has to tell the user.
 *
 * lib/ never prints. What it has to say (a warning, a notice of something
 * it did) goes, one line at a time and without a prefix or newline, to a
 * message sink its caller gives it; tools/ decides how a line is shown.
 */
#ifndef DEPTRACE_MESSAGE_H
#define DEPTRACE_MESSAGE_H

struct message_sink {
	void (*line)(void *ctx, const char *text); /* NULL: messages are dropped */
	void *ctx;
};

/* Formats one line (up to 1 KiB; longer is cut with "...") and hands it on. */
void message_say(const struct message_sink *sink, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
