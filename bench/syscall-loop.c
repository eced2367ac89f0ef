/* syscall-loop: work that makes syscalls and no network at all, to measure
 * what a tracer costs processes it does not trace.
 *
 *   syscall-loop [-n ITERATIONS]
 *
 * Each iteration is getppid() and a 1-byte read() of /dev/zero: the
 * cheapest syscalls there are, so that any work a tracer hooks onto every
 * syscall of the machine (a syscall tracepoint switches every task to the
 * slow path, and runs its program before any filter) shows. Prints one line:
 *
 *   iterations=2000000 seconds=1.2345 rate=1620089.1 cpu_us=0.62
 *
 * rate is iterations per second; cpu_us the CPU time (user + system) per
 * iteration, in microseconds; the same keys as bench/connect-storm's, so
 * that bench/run.sh reads both alike.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static double seconds(const struct timespec *t)
{
	return (double)t->tv_sec + (double)t->tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	long n = 2000000;
	struct timespec start, end;
	double cpu0, elapsed;
	char byte;
	int opt, fd;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		char *stop;

		if (opt != 'n')
			goto usage;
		n = strtol(optarg, &stop, 10);
		if (*stop || n <= 0)
			goto usage;
	}
	if (optind != argc)
		goto usage;
	fd = open("/dev/zero", O_RDONLY);
	if (fd < 0) {
		fprintf(stderr, "syscall-loop: /dev/zero: %s\n", strerror(errno));
		return 1;
	}
	cpu0 = cpu_seconds();
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < n; i++) {
		getppid();
		if (read(fd, &byte, 1) != 1) {
			fprintf(stderr, "syscall-loop: read /dev/zero: %s\n", strerror(errno));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	elapsed = seconds(&end) - seconds(&start);
	printf("iterations=%ld seconds=%.4f rate=%.1f cpu_us=%.3f\n", n, elapsed, (double)n / elapsed,
	       (cpu_seconds() - cpu0) * 1e6 / (double)n);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: syscall-loop [-n ITERATIONS]\n");
	return 2;
}
