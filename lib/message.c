/* message: see message.h. */
#include "message.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void message_say(const struct message_sink *sink, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	if (!sink || !sink->line)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4); /* cut, and says so */
	sink->line(sink->ctx, line);
}
