/* dns_stream: the DNS messages of TCP connections (DNS over TCP, RFC
 * 7766), out of the segments deptrace captures.
 *
 * On TCP each message is prefixed by its length (two bytes, network
 * order), and a message may span segments or share one with the next.
 * Each stream (a socket's cookie and a direction) is read on its own,
 * from its first segment on; a segment the capture cut, or a message
 * longer than DNS_STREAM_MESSAGE, loses the framing: the stream is read no
 * further. At most DNS_STREAM_COUNT streams are followed at once; a new
 * one takes the place of the one used longest ago.
 *
 * Usage: dns_stream_new; dns_stream_feed for each segment, in order;
 * dns_stream_free.
 */
#ifndef DEPTRACE_DNS_STREAM_H
#define DEPTRACE_DNS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_STREAM_COUNT 32
#define DNS_STREAM_MESSAGE 8192

struct dns_stream_table;

/* NULL when out of memory. */
struct dns_stream_table *dns_stream_new(void);
void dns_stream_free(struct dns_stream_table *t);

/* Called for each whole message, `len` bytes without its prefix. */
typedef void (*dns_stream_message_fn)(void *ctx, const uint8_t *msg, size_t len);

/* Reads segment seg[0..len) of stream (cookie, direction); `cut`: the
 * capture kept only the segment's start. Calls `message` for each message
 * the segment completes. 0, or -EMSGSIZE when the stream loses its framing
 * with this segment (once: its later segments are ignored, and 0). */
int dns_stream_feed(struct dns_stream_table *t, uint64_t cookie, uint8_t direction,
		    const uint8_t *seg, size_t len, bool cut, dns_stream_message_fn message,
		    void *ctx);

#endif
