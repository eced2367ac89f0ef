/* libFuzzer harness for lib/unix_service.c's reading of a sock_diag reply
 * (what the kernel sends; parsed with every length checked): no read past
 * the buffer, names always terminated, the list freed. */
#include <stdint.h>
#include <string.h>

#include "unix_service.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unix_diag_list list = { 0 };
	char err[256];

	unix_diag_parse(data, size, &list, err, sizeof(err));
	for (size_t i = 0; i < list.count; i++)
		if (strnlen(list.sockets[i].name, sizeof(list.sockets[i].name)) ==
		    sizeof(list.sockets[i].name))
			__builtin_trap();
	unix_diag_list_free(&list);
	return 0;
}
