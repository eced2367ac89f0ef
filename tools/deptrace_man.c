/* deptrace_man: writes the man page deptrace.8 at build time.
 *
 * A program of its own, not a hidden option of deptrace: the page is made
 * from the same option table and prose as --help (lib/usage.h), and the
 * installed tool carries no option that only the build needs.
 *
 * Usage: deptrace_man VERSION OUTPUT
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "usage.h"

int main(int argc, char **argv)
{
	FILE *f;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: deptrace_man VERSION OUTPUT\n");
		return 2;
	}
	f = fopen(argv[2], "w");
	if (!f) {
		fprintf(stderr, "deptrace_man: cannot write %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	rc = usage_print_man(f, argv[1]);
	if (fclose(f) || rc) {
		fprintf(stderr, "deptrace_man: cannot write %s\n", argv[2]);
		unlink(argv[2]);
		return 1;
	}
	return 0;
}
