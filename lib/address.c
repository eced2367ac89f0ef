/* address: see address.h. */
#include "address.h"

#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
};

bool address_is_v4_mapped(const uint8_t addr[16])
{
	return !memcmp(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

void address_from_v4(const uint8_t *v4, uint8_t addr[16])
{
	memmove(addr + 12, v4, 4);
	memcpy(addr, v4_mapped_prefix, sizeof(v4_mapped_prefix));
}

bool address_is_local(const uint8_t addr[16])
{
	static const uint8_t zero[16];

	if (address_is_v4_mapped(addr))
		return addr[12] == 127 || !memcmp(addr + 12, zero, 4);
	return !memcmp(addr, zero, 15) && addr[15] <= 1;
}
