/* connect-storm: a bounded connect() storm against a loopback listener it
 * makes itself, for measuring what tracing connect() costs.
 *
 *   connect-storm [-4|-6] [-u] [-n N] [-k K | -t K] [-d SECONDS]
 *
 * Makes N connect()s in all (socket, connect, close each), from one
 * process, K forked processes (-k) or K threads (-t), to 127.0.0.1 (-4,
 * default) or ::1 (-6), over TCP or UDP (-u). Only loopback is ever a
 * target, and the storm stops at N connects or after -d seconds (default
 * 120), whichever comes first. Prints one line of key=value pairs:
 *
 *   connects=20000 failed=0 seconds=0.8123 rate=24621.4 cpu_us=38.2 proto=tcp family=ipv4 workers=1 mode=process
 *
 * `rate` is connects per second over the storm itself (from releasing the
 * workers until the last one is done): the start-up of a tracer that runs
 * it is not counted. `cpu_us` is the CPU time (user + system) the storm's
 * processes spent per connect, listener included: what tracing adds in
 * the kernel lands there, and unlike the rate it does not move when other
 * work shares the CPUs. Exit status 0 when every connect succeeded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 64

struct config {
	int family;          /* AF_INET or AF_INET6 */
	int type;            /* SOCK_STREAM or SOCK_DGRAM */
	long total;          /* connects over all workers */
	int workers;
	bool threads;
	double max_seconds;
};

/* Shared with forked workers through an anonymous shared mapping, so that
 * processes and threads report through the same counters. */
struct shared {
	atomic_long made;
	atomic_long failed;
	atomic_int first_errno;
	atomic_bool stop;    /* the accept thread's cue to finish */
};

struct worker_arg {
	const struct config *cfg;
	struct shared *sh;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	long count;
	int start_fd;        /* read end of the start pipe: EOF releases all */
	double deadline;     /* CLOCK_MONOTONIC seconds */
};

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static void usage(FILE *to)
{
	fputs("usage: connect-storm [-4|-6] [-u] [-n N] [-k K | -t K] [-d SECONDS]\n"
	      "  -4/-6   IPv4 127.0.0.1 (default) or IPv6 ::1\n"
	      "  -u      UDP instead of TCP\n"
	      "  -n N    connects in all (default 20000)\n"
	      "  -k K    from K forked processes\n"
	      "  -t K    from K threads\n"
	      "  -d S    stop after S seconds even if N is not reached (default 120)\n",
	      to);
}

static void *run_worker(void *p)
{
	struct worker_arg *w = p;
	char byte;
	/* An RST instead of a FIN leaves no TIME_WAIT behind: repeated storms
	 * would otherwise run out of ephemeral ports. */
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };

	while (read(w->start_fd, &byte, 1) < 0 && errno == EINTR)
		;
	for (long i = 0; i < w->count; i++) {
		int fd;

		/* checking the clock every connect would be part of the cost measured */
		if ((i & 255) == 0 && now_seconds() > w->deadline)
			break;
		fd = socket(w->cfg->family, w->cfg->type | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			atomic_fetch_add(&w->sh->failed, 1);
			atomic_compare_exchange_strong(&w->sh->first_errno, &(int){ 0 }, errno);
			continue;
		}
		if (connect(fd, (struct sockaddr *)&w->addr, w->addrlen) == 0) {
			atomic_fetch_add(&w->sh->made, 1);
		} else {
			atomic_fetch_add(&w->sh->failed, 1);
			atomic_compare_exchange_strong(&w->sh->first_errno, &(int){ 0 }, errno);
		}
		if (w->cfg->type == SOCK_STREAM)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
		close(fd);
	}
	return NULL;
}

/* Drains the listener so its backlog never fills and stalls connect(). */
static void *accept_loop(void *p)
{
	struct { int fd; struct shared *sh; } *a = p;

	while (!atomic_load(&a->sh->stop)) {
		int c = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			break;
	}
	return NULL;
}

static int make_listener(const struct config *cfg, struct sockaddr_storage *addr,
			 socklen_t *addrlen)
{
	int fd = socket(cfg->family, cfg->type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(addr, 0, sizeof(*addr));
	if (cfg->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)addr;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*addrlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		*addrlen = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)addr, *addrlen) ||
	    getsockname(fd, (struct sockaddr *)addr, addrlen) ||
	    (cfg->type == SOCK_STREAM && listen(fd, 4096))) {
		close(fd);
		return -1;
	}
	/* a timeout lets the accept thread notice the end of the storm */
	if (cfg->type == SOCK_STREAM) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	return fd;
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	int opt;
	char *end;

	*cfg = (struct config){ .family = AF_INET, .type = SOCK_STREAM, .total = 20000,
				.workers = 1, .max_seconds = 120 };
	while ((opt = getopt(argc, argv, "46un:k:t:d:h")) != -1) {
		switch (opt) {
		case '4': cfg->family = AF_INET; break;
		case '6': cfg->family = AF_INET6; break;
		case 'u': cfg->type = SOCK_DGRAM; break;
		case 'n':
			cfg->total = strtol(optarg, &end, 10);
			if (*end || cfg->total < 1)
				return -1;
			break;
		case 'k':
		case 't':
			cfg->workers = (int)strtol(optarg, &end, 10);
			if (*end || cfg->workers < 1 || cfg->workers > MAX_WORKERS)
				return -1;
			cfg->threads = opt == 't';
			break;
		case 'd':
			cfg->max_seconds = strtod(optarg, &end);
			if (*end || cfg->max_seconds <= 0)
				return -1;
			break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct shared *sh;
	struct worker_arg args[MAX_WORKERS];
	pthread_t tids[MAX_WORKERS], acceptor;
	pid_t pids[MAX_WORKERS];
	struct { int fd; struct shared *sh; } accept_arg;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int listener, start[2];
	struct rusage self, children;
	double t0, t1, cpu, cpu_before;
	long made, failed;

	if (parse_args(argc, argv, &cfg)) {
		usage(stderr);
		return 2;
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("connect-storm: mmap");
		return 1;
	}
	listener = make_listener(&cfg, &addr, &addrlen);
	if (listener < 0) {
		perror("connect-storm: listener");
		return 1;
	}
	if (pipe2(start, O_CLOEXEC)) {
		perror("connect-storm: pipe");
		return 1;
	}
	for (int i = 0; i < cfg.workers; i++) {
		args[i] = (struct worker_arg){
			.cfg = &cfg, .sh = sh, .addr = addr, .addrlen = addrlen,
			.count = cfg.total / cfg.workers + (i < cfg.total % cfg.workers),
			.start_fd = start[0],
		};
	}
	/* Workers are made before the accept thread, so that forked ones start
	 * from a single-threaded process; they all wait on the start pipe. */
	for (int i = 0; i < cfg.workers; i++) {
		if (cfg.threads) {
			if (pthread_create(&tids[i], NULL, run_worker, &args[i])) {
				fputs("connect-storm: cannot start a thread\n", stderr);
				return 1;
			}
			continue;
		}
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("connect-storm: fork");
			return 1;
		}
		if (pids[i] == 0) {
			close(start[1]);
			/* the parent releases the workers at once: close enough to t0 */
			args[i].deadline = now_seconds() + cfg.max_seconds;
			run_worker(&args[i]);
			_exit(0);
		}
	}
	if (cfg.type == SOCK_STREAM) {
		accept_arg.fd = listener;
		accept_arg.sh = sh;
		if (pthread_create(&acceptor, NULL, accept_loop, &accept_arg)) {
			fputs("connect-storm: cannot start the accept thread\n", stderr);
			return 1;
		}
	}
	/* set-up (listener, fork) is not the storm */
	getrusage(RUSAGE_SELF, &self);
	cpu_before = tv_seconds(self.ru_utime) + tv_seconds(self.ru_stime);
	t0 = now_seconds();
	for (int i = 0; i < cfg.workers; i++)
		args[i].deadline = t0 + cfg.max_seconds;
	close(start[1]); /* EOF releases every worker at once */
	for (int i = 0; i < cfg.workers; i++) {
		if (cfg.threads) {
			pthread_join(tids[i], NULL);
		} else {
			int status;

			while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR)
				;
		}
	}
	t1 = now_seconds();
	if (cfg.type == SOCK_STREAM) {
		atomic_store(&sh->stop, true);
		pthread_join(acceptor, NULL);
	}
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &children);
	cpu = tv_seconds(self.ru_utime) + tv_seconds(self.ru_stime) +
	      tv_seconds(children.ru_utime) + tv_seconds(children.ru_stime) - cpu_before;
	made = atomic_load(&sh->made);
	failed = atomic_load(&sh->failed);
	printf("connects=%ld failed=%ld seconds=%.4f rate=%.1f cpu_us=%.2f proto=%s family=%s workers=%d mode=%s\n",
	       made, failed, t1 - t0, t1 > t0 ? (double)made / (t1 - t0) : 0.0,
	       made ? cpu * 1e6 / (double)made : 0.0,
	       cfg.type == SOCK_STREAM ? "tcp" : "udp", cfg.family == AF_INET ? "ipv4" : "ipv6",
	       cfg.workers, cfg.threads ? "thread" : "process");
	if (failed)
		fprintf(stderr, "connect-storm: %ld connects failed (first: %s)\n", failed,
			strerror(atomic_load(&sh->first_errno)));
	return failed || made < cfg.total ? 1 : 0;
}
