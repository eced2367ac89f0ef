/* event_format: turning the fields of events into text.
 *
 * Pure functions, shared by every output format, so that the same event
 * reads the same wherever it is printed and whichever backend produced it.
 * Addresses travel as 16 bytes, IPv4 as IPv4-mapped IPv6, and an
 * IPv4-mapped address is always shown as the IPv4 address it stands for.
 */
#ifndef DEPTRACE_EVENT_FORMAT_H
#define DEPTRACE_EVENT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "deptrace_event.h"

/* "[ffff:...:ffff]:65535" + NUL */
#define DESTINATION_LEN 48
#define ADDRESS_LEN 46

/* The destination address as 16 bytes, IPv4 as IPv4-mapped. */
void event_address(const struct deptrace_connect_event *ev, uint8_t addr[16]);

/* Whether `bytes` are the first bytes of connection `c` (a TCP connect
 * that was established): the same process, destination and ports. */
bool event_first_bytes_match(const struct deptrace_connect_event *c,
			     const struct deptrace_first_bytes_event *bytes);

/* "192.0.2.10" or "2001:db8::53". */
void format_address(const uint8_t addr[16], char *buf, size_t len);

/* "192.0.2.10:443" or "[2001:db8::53]:53". */
void format_endpoint(const uint8_t addr[16], unsigned port, char *buf, size_t len);

/* What an attempt the enforced policy refused reads as, connection or
 * lookup. */
#define RESULT_BLOCKED "EPERM (blocked)"

/* A connect seen without syscall hooks (bpf_text/connect_cgroup.bpf.h):
 * one that failed before sending anything, whose errno only a syscall hook
 * sees (DEPTRACE_RESULT_FAILED_EARLY), and one whose socket was still
 * open, its outcome unseen, when tracing ended (DEPTRACE_RESULT_UNSEEN). */
#define RESULT_FAILED_EARLY "failed"
#define RESULT_UNSEEN "unseen"

/* "ok" for 0, the words above for DEPTRACE_RESULT_*, otherwise the errno
 * name ("ECONNREFUSED") of -result. */
void format_result(int result, char *buf, size_t len);

/* format_result of a connect event, or RESULT_BLOCKED if the policy
 * refused it. */
void format_connect_result(const struct deptrace_connect_event *ev, char *buf, size_t len);

/* Whether a connect result means the destination was not reached;
 * EINPROGRESS (a non-blocking connect under way) and an unseen outcome
 * are not failures. */
bool connect_failed(int result);

/* The kind of a connect's result, one word for JSON's "outcome": "ok",
 * "refused" (ECONNREFUSED: a reset answered the SYN, the port is closed),
 * "timeout" (ETIMEDOUT: the kernel gave up), "reset" (ECONNRESET),
 * "unreachable" (EHOSTUNREACH, ENETUNREACH: an ICMP error or no route),
 * "closed" (ECONNABORTED: its program closed it, or exited, before an
 * answer), "pending" (EINPROGRESS: still connecting when tracing ended),
 * "blocked" (the enforced policy refused it), "error" (any other). */
const char *connect_outcome(const struct deptrace_connect_event *ev);

/* What a lookup that never got an answer reads as. */
#define RESULT_LOOKUP_TIMEOUT "TIMEOUT"

/* A wait in whole microseconds, rounded: what JSON's latency_ms carries
 * (3 decimals) and what WAIT is drawn from, so that a replay of the JSON
 * prints the live run's WAIT. */
uint64_t wait_us(uint64_t ns);

/* A wait for the WAIT column, from wait_us: "37us", "0.4ms", "120ms",
 * "2.0s", "127s". */
#define WAIT_LEN 24
void format_wait(uint64_t ns, char *buf, size_t len);

const char *proto_name(unsigned proto);

#endif
