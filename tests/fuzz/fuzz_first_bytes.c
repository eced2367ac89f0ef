/* libFuzzer harness for lib/first_bytes.h: every input is the first
 * segment a traced process sent, as hostile as it can make it. Besides
 * memory errors (ASan, UBSan) it checks what callers rely on: a name only
 * with 0, then a host name as first_bytes.h says (1 to 253 characters,
 * lower case, letters, digits, '-', '_' and '.'), and a kind for it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "first_bytes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[DNS_NAME_LEN];
	enum first_bytes_kind kind;
	int rc;
	size_t n;

	memset(name, 'x', sizeof(name));
	rc = first_bytes_name(data, size, name, &kind);
	n = strnlen(name, sizeof(name));
	if (rc != 0 && rc != -ENOENT && rc != -EMSGSIZE && rc != -EINVAL)
		abort();
	if (rc) {
		if (n)
			abort();
		return 0;
	}
	if (kind == FIRST_BYTES_UNKNOWN || n == 0 || n > 253 || name[0] == '.' || name[n - 1] == '.')
		abort();
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '_' || ch == '.') || (ch == '.' && name[i + 1] == '.'))
			abort();
	}
	return 0;
}
