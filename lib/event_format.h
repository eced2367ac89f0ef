/* event_format: turning the fields of a deptrace_event into text.
 *
 * Pure functions, shared by every output format, so that the same event
 * reads the same wherever it is printed and whichever backend produced it.
 */
#ifndef DEPTRACE_EVENT_FORMAT_H
#define DEPTRACE_EVENT_FORMAT_H

#include <stddef.h>

#include "deptrace_event.h"

/* "[2001:db8::1]:443" + NUL; an IPv4 destination is shorter. */
#define DESTINATION_LEN 48

/* "192.0.2.10:443" or "[2001:db8::53]:53"; an IPv4-mapped IPv6 address
 * is shown as the IPv4 address it stands for. */
void format_destination(const struct deptrace_event *ev, char *buf, size_t len);

/* "ok" for 0, otherwise the errno name ("ECONNREFUSED") of -result. */
void format_result(int result, char *buf, size_t len);

const char *proto_name(unsigned proto);

#endif
