/* dns_stream: see dns_stream.h. */
#include "dns_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct dns_stream {
	uint64_t cookie;
	uint8_t direction;
	bool used, lost;      /* lost: the framing is gone, read no further */
	uint64_t last_use;
	size_t have;          /* bytes of the prefix and message held */
	uint8_t buf[2 + DNS_STREAM_MESSAGE];
};

struct dns_stream_table {
	struct dns_stream streams[DNS_STREAM_COUNT];
	uint64_t uses;
};

struct dns_stream_table *dns_stream_new(void)
{
	return calloc(1, sizeof(struct dns_stream_table));
}

void dns_stream_free(struct dns_stream_table *t)
{
	free(t);
}

/* The stream's state, or a fresh one in place of the one used longest ago. */
static struct dns_stream *find(struct dns_stream_table *t, uint64_t cookie, uint8_t direction)
{
	struct dns_stream *oldest = &t->streams[0];

	for (size_t i = 0; i < DNS_STREAM_COUNT; i++) {
		struct dns_stream *st = &t->streams[i];

		if (st->used && st->cookie == cookie && st->direction == direction)
			return st;
		if (!st->used || (oldest->used && st->last_use < oldest->last_use))
			oldest = st;
	}
	oldest->used = true;
	oldest->lost = false;
	oldest->cookie = cookie;
	oldest->direction = direction;
	oldest->have = 0;
	return oldest;
}

/* The length the held prefix gives, once both of its bytes are held. */
static size_t wanted(const struct dns_stream *st)
{
	return st->have < 2 ? 0 : (size_t)st->buf[0] << 8 | st->buf[1];
}

int dns_stream_feed(struct dns_stream_table *t, uint64_t cookie, uint8_t direction,
		    const uint8_t *seg, size_t len, bool cut, dns_stream_message_fn message,
		    void *ctx)
{
	struct dns_stream *st = find(t, cookie, direction);

	st->last_use = ++t->uses;
	if (st->lost)
		return 0;
	while (len) {
		size_t need = st->have < 2 ? 2 - st->have : wanted(st) + 2 - st->have;
		size_t n = len < need ? len : need;

		memcpy(st->buf + st->have, seg, n);
		st->have += n;
		seg += n;
		len -= n;
		if (st->have == 2 && wanted(st) > DNS_STREAM_MESSAGE)
			break;
		if (st->have >= 2 && st->have == wanted(st) + 2) {
			message(ctx, st->buf + 2, wanted(st));
			st->have = 0;
		}
	}
	if (!cut && (st->have < 2 || wanted(st) <= DNS_STREAM_MESSAGE))
		return 0;
	st->lost = true;
	return -EMSGSIZE;
}
