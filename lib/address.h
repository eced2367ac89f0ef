/* address: how deptrace holds an address.
 *
 * Everywhere (records, rules, names, DNS answers, the map) an address is
 * 16 bytes: IPv6 as it is, IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d), so
 * that one comparison serves both families. This is the one place that
 * knows the mapped form.
 */
#ifndef DEPTRACE_ADDRESS_H
#define DEPTRACE_ADDRESS_H

#include <stdbool.h>
#include <stdint.h>

/* Whether `addr` is an IPv4 address in its mapped form. */
bool address_is_v4_mapped(const uint8_t addr[16]);

/* Whether `addr` is this host: loopback (127.0.0.0/8, ::1) or unspecified
 * (0.0.0.0, ::), which the kernel reaches through loopback. */
bool address_is_local(const uint8_t addr[16]);

/* `v4` (4 bytes, network order) as 16; `v4` may be addr + 12. */
void address_from_v4(const uint8_t *v4, uint8_t addr[16]);

#endif
