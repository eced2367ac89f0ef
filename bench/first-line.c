/* first-line: how long a tracer takes from launch until it prints.
 *
 *   first-line [-t SECONDS] [-r READY_REGEX] -e EVENT_REGEX FILE -- COMMAND [ARG]...
 *
 * Starts COMMAND (a tracer writing to FILE, which it truncates first), and
 * watches FILE every 0.2 ms for the first line matching READY_REGEX (the
 * tracer's "attached" line) and the first matching EVENT_REGEX (its first
 * event). Prints, in seconds since the fork:
 *
 *   ready=0.7512 first=0.7530 exit=0.7901 status=0
 *
 * -1 for a line that never appeared. COMMAND is killed after -t SECONDS
 * (default 60). COMMAND's stdout goes to /dev/null, its stderr is kept.
 * A watcher is used rather than the tracer's own timestamps because
 * "printed" is what a person waiting at the terminal sees.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct watch {
	const char *path;
	FILE *f;
	char line[4096];
	size_t len;          /* of a line read partly so far */
};

/* Reads the complete lines added since the last call; returns them one at a
 * time through fn. A tracer may write a line in pieces: only a line with
 * its newline counts as printed. */
static void read_new_lines(struct watch *w, void (*fn)(const char *, void *), void *cookie)
{
	int c;

	if (!w->f) {
		w->f = fopen(w->path, "r");
		if (!w->f)
			return;
	}
	clearerr(w->f);
	while ((c = fgetc(w->f)) != EOF) {
		if (c == '\n') {
			w->line[w->len] = '\0';
			fn(w->line, cookie);
			w->len = 0;
		} else if (w->len < sizeof(w->line) - 1) {
			w->line[w->len++] = (char)c;
		}
	}
}

struct state {
	regex_t ready_re, event_re;
	bool have_ready;
	double t0, ready, first;
};

static void on_line(const char *line, void *cookie)
{
	struct state *s = cookie;
	double t = now_seconds() - s->t0;

	if (s->have_ready && s->ready < 0 && !regexec(&s->ready_re, line, 0, NULL, 0))
		s->ready = t;
	if (s->first < 0 && !regexec(&s->event_re, line, 0, NULL, 0))
		s->first = t;
}

int main(int argc, char **argv)
{
	struct state s = { .ready = -1, .first = -1 };
	struct watch w = { 0 };
	const char *ready_re = NULL, *event_re = NULL;
	double timeout = 60, exit_at = -1;
	int opt, status = -1, fd;
	pid_t pid;

	while ((opt = getopt(argc, argv, "+t:r:e:")) != -1) {
		switch (opt) {
		case 't': timeout = strtod(optarg, NULL); break;
		case 'r': ready_re = optarg; break;
		case 'e': event_re = optarg; break;
		default: goto usage;
		}
	}
	if (!event_re || argc - optind < 3 || strcmp(argv[optind + 1], "--"))
		goto usage;
	w.path = argv[optind];
	if (regcomp(&s.event_re, event_re, REG_EXTENDED | REG_NOSUB) ||
	    (ready_re && regcomp(&s.ready_re, ready_re, REG_EXTENDED | REG_NOSUB))) {
		fputs("first-line: bad regular expression\n", stderr);
		return 2;
	}
	s.have_ready = ready_re != NULL;
	/* an old file's lines must not count as this run's */
	fd = open(w.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror("first-line: output file");
		return 2;
	}
	close(fd);

	s.t0 = now_seconds();
	pid = fork();
	if (pid < 0) {
		perror("first-line: fork");
		return 1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		execvp(argv[optind + 2], &argv[optind + 2]);
		perror("first-line: exec");
		_exit(127);
	}
	for (;;) {
		struct timespec pause = { .tv_nsec = 200000 };
		pid_t done = waitpid(pid, &status, WNOHANG);

		read_new_lines(&w, on_line, &s);
		if (done == pid) {
			exit_at = now_seconds() - s.t0;
			read_new_lines(&w, on_line, &s);
			break;
		}
		if (now_seconds() - s.t0 > timeout) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		nanosleep(&pause, NULL);
	}
	if (w.f)
		fclose(w.f);
	printf("ready=%.4f first=%.4f exit=%.4f status=%d\n", s.ready, s.first, exit_at,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
usage:
	fputs("usage: first-line [-t SECONDS] [-r READY_REGEX] -e EVENT_REGEX FILE -- COMMAND [ARG]...\n",
	      stderr);
	return 2;
}
