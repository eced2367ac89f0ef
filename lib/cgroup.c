/* cgroup: see cgroup.h. */
#define _GNU_SOURCE
#include "cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CGROUP_PREFIX "deptrace-"

/* /proc/mounts writes a space in a path as \040 (and tab, newline and
 * backslash the same way): undone in place. */
static void unescape_mount_path(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int cgroup2_mount_point(const char *mounts_path, char *dir, size_t len)
{
	FILE *f = fopen(mounts_path, "re");
	char *line = NULL, *save, *mnt, *type;
	size_t cap = 0;
	int rc = -ENOENT;

	if (!f)
		return -errno;
	while (rc == -ENOENT && getline(&line, &cap, f) > 0) {
		if (!strtok_r(line, " ", &save) || !(mnt = strtok_r(NULL, " ", &save)) ||
		    !(type = strtok_r(NULL, " ", &save)) || strcmp(type, "cgroup2"))
			continue;
		unescape_mount_path(mnt);
		rc = snprintf(dir, len, "%s", mnt) < (int)len ? 0 : -ENAMETOOLONG;
	}
	free(line);
	fclose(f);
	return rc;
}

/* rmdir of a cgroup whose last process has just exited can fail with EBUSY
 * for a moment, until the kernel has finished with the task: retried for
 * up to half a second. A directory already gone counts as removed. Only
 * system calls: the guard uses it too. */
static int remove_cgroup_dir(const char *path)
{
	for (int tries = 0; tries < 50; tries++) {
		if (!rmdir(path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000L }, NULL);
	}
	return -EBUSY;
}

/* Whether the cgroup whose cgroup.events `events_fd` reads has processes,
 * in it or below it. A cgroup removed meanwhile reads as empty. */
static bool populated(int events_fd)
{
	char buf[128];
	ssize_t n = pread(events_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, "populated 1") != NULL;
}

/* Removes the cgroup at `path` unless processes run in it or below it
 * (-EBUSY); one with cgroups below it stays too (-ENOTEMPTY). */
static int remove_if_empty(const char *path)
{
	char events[CGROUP_PATH_LEN + 16];
	bool busy;
	int fd;

	snprintf(events, sizeof(events), "%s/cgroup.events", path);
	fd = open(events, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	busy = populated(fd);
	close(fd);
	return busy ? -EBUSY : remove_cgroup_dir(path);
}

static int open_cgroup_dir(const char *path, struct enforced_cgroup *cg, bool created)
{
	if (snprintf(cg->path, sizeof(cg->path), "%s", path) >= (int)sizeof(cg->path))
		return -ENAMETOOLONG;
	cg->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dir_fd < 0)
		return -errno;
	cg->created = created;
	return 0;
}

int cgroup2_mount_private(char *dir, size_t len)
{
	if (unshare(CLONE_NEWNS))
		return -errno;
	/* mounts made from here on stay in this namespace; those made
	 * outside still reach it */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) ||
	    mount("cgroup2", CGROUP2_PRIVATE_DIR, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	snprintf(dir, len, "%s", CGROUP2_PRIVATE_DIR);
	return 0;
}

int cgroup_create(const char *mount, struct enforced_cgroup *cg)
{
	char path[CGROUP_PATH_LEN];
	int rc;

	cg->dir_fd = -1;
	if (snprintf(path, sizeof(path), "%s/" CGROUP_PREFIX "%d", mount, (int)getpid()) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0755)) {
		if (errno != EEXIST)
			return -errno;
		/* Left by an earlier run whose PID this process now has: that
		 * deptrace is gone, so an empty one is only litter; one that still
		 * holds processes is its guard's, not ours to take over. */
		rc = remove_if_empty(path);
		if (rc)
			return rc == -EBUSY || rc == -ENOTEMPTY ? -EEXIST : rc;
		if (mkdir(path, 0755))
			return -errno;
	}
	rc = open_cgroup_dir(path, cg, true);
	if (rc)
		rmdir(path);
	return rc;
}

int cgroup_open_existing(const char *path, struct enforced_cgroup *cg)
{
	struct statfs fs;
	int rc = open_cgroup_dir(path, cg, false);

	if (rc)
		return rc;
	if (fstatfs(cg->dir_fd, &fs))
		rc = -errno;
	else if (fs.f_type != CGROUP2_SUPER_MAGIC)
		rc = -EMEDIUMTYPE;
	if (rc) {
		close(cg->dir_fd);
		cg->dir_fd = -1;
	}
	return rc;
}

/* One PID per write(2): cgroup.procs moves one process a write. */
static int write_pid(int procs_fd, pid_t pid)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	return write(procs_fd, buf, n) == n ? 0 : -errno;
}

int cgroup_add_process(const struct enforced_cgroup *cg, pid_t pid)
{
	int fd = openat(cg->dir_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write_pid(fd, pid);
	close(fd);
	return rc;
}

/* cgroup.procs of the cgroup this process is in: the "0::" line of
 * /proc/self/cgroup, below the cgroup2 mount. */
static int open_own_procs(void)
{
	char mount[CGROUP_PATH_LEN], path[2 * CGROUP_PATH_LEN];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int rc = cgroup2_mount_point("/proc/mounts", mount, sizeof(mount));

	if (rc)
		return rc;
	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	rc = -ENOENT;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, sizeof(path), "%s%s/cgroup.procs", mount, line + 3);
		rc = open(path, O_WRONLY | O_CLOEXEC);
		if (rc < 0)
			rc = -errno;
		break;
	}
	free(line);
	fclose(f);
	return rc;
}

/* Moves the processes cgroup.procs of `cg` lists to `to_fd`, once; adds
 * to *moved those moved, and returns how many were listed. */
static int move_listed(const struct enforced_cgroup *cg, int to_fd, unsigned *moved)
{
	int fd = openat(cg->dir_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	int listed = 0, pid;
	FILE *f;

	if (fd < 0)
		return 0;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return 0;
	}
	while (fscanf(f, "%d", &pid) == 1) {
		listed++;
		/* ESRCH: it exited meanwhile, and needs no moving */
		if (!write_pid(to_fd, pid))
			(*moved)++;
	}
	fclose(f);
	return listed;
}

int cgroup_release(struct enforced_cgroup *cg, unsigned *moved)
{
	int rc = 0, to_fd;

	*moved = 0;
	if (cg->dir_fd < 0)
		return 0;
	if (cg->created) {
		to_fd = open_own_procs();
		if (to_fd >= 0) {
			/* a process forking while it is moved leaves its child
			 * behind: a few rounds catch those */
			for (int round = 0; round < 5 && move_listed(cg, to_fd, moved); round++)
				;
			close(to_fd);
		}
		rc = remove_cgroup_dir(cg->path);
		if (rc && to_fd < 0)
			rc = to_fd; /* why the processes are still there */
	}
	close(cg->dir_fd);
	cg->dir_fd = -1;
	return rc;
}

/* Whether `pid` is a live deptrace or guard, which still answers for its
 * cgroup. Its name is enough: a reused PID running something else is not. */
static bool owner_alive(pid_t pid)
{
	char path[64], comm[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[n] = '\0';
	return !strcmp(comm, "deptrace\n") || !strcmp(comm, "deptrace-guard\n");
}

/* The owner's PID from a "deptrace-PID" name, or 0 for any other name. */
static pid_t owner_of(const char *name)
{
	const char *digits = name + strlen(CGROUP_PREFIX);
	char *end;
	long pid;

	if (strncmp(name, CGROUP_PREFIX, strlen(CGROUP_PREFIX)) || *digits < '1' ||
	    *digits > '9')
		return 0;
	pid = strtol(digits, &end, 10);
	return *end || pid > INT_MAX ? 0 : (pid_t)pid;
}

int cgroup_remove_stale(const char *mount, char *busy, size_t busylen)
{
	char path[CGROUP_PATH_LEN];
	struct dirent *e;
	int removed = 0;
	DIR *dir;

	if (busylen)
		busy[0] = '\0';
	dir = opendir(mount);
	if (!dir)
		return 0;
	while ((e = readdir(dir))) {
		pid_t owner = owner_of(e->d_name);

		if (!owner || e->d_type != DT_DIR || owner_alive(owner))
			continue;
		snprintf(path, sizeof(path), "%s/%s", mount, e->d_name);
		if (!remove_if_empty(path))
			removed++;
		else if (busylen && !busy[0])
			snprintf(busy, busylen, "%s", path);
	}
	closedir(dir);
	return removed;
}

/* Whether `path` is still the file `fd` has open: the cgroup a deptrace
 * with a recycled PID makes has the same name, and is not the guard's. */
static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return !fstat(fd, &a) && !stat(path, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Closes every descriptor but those in keep (-1 entries allowed): the
 * gaps between kept ones are closed with one close_range each. Only
 * system calls, so that it is safe in a child forked from threads. */
static void close_all_but(const int *keep, size_t nkeep)
{
	unsigned from = 0;

	for (;;) {
		unsigned next = ~0U;

		for (size_t i = 0; i < nkeep; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= from && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > from)
			close_range(from, next - 1, 0);
		if (next == ~0U)
			return;
		from = next + 1;
	}
}

/* The guard's own signals: none of deptrace's handlers (they would act on
 * deptrace's state), and termination and job control ignored, so that
 * only SIGKILL sent to the guard itself ends it before its time. */
static void guard_signals(void)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
				       SIGTSTP, SIGTTIN, SIGTTOU };
	sigset_t none;

	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

struct guard_args {
	const int *keep_fds;
	size_t nkeep;
	int control_fd; /* the guard's end */
	int events_fd;  /* cgroup.events of the cgroup */
	const char *events_path;
	const char *cgroup_path; /* NULL: not ours to remove */
};

static void __attribute__((noreturn)) guard_main(const struct guard_args *g)
{
	char byte;
	ssize_t n;

	/* "deptrace-guard" in ps, and to cgroup_remove_stale */
	prctl(PR_SET_NAME, "deptrace-guard");
	guard_signals();
	/* A session of its own: a signal to deptrace's process group (Ctrl-C,
	 * a hang-up, `kill -9 -PGID`, `timeout`) does not reach the guard, which
	 * must outlive exactly such an end of deptrace. */
	setsid();
	/* The links and nothing else: a copy of deptrace's perf events or
	 * tracing programs would keep tracing attached, a copy of its output
	 * would keep a reader (| jq) waiting. */
	{
		int keep[g->nkeep + 2];

		for (size_t i = 0; i < g->nkeep; i++)
			keep[i] = g->keep_fds[i];
		keep[g->nkeep] = g->control_fd;
		keep[g->nkeep + 1] = g->events_fd;
		close_all_but(keep, g->nkeep + 2);
	}
	/* PR_SET_PDEATHSIG would tell of deptrace's death too, but of the
	 * thread that forked the guard rather than the process, and as a signal
	 * to handle; EOF on the control socket says it without either. */
	do
		n = read(g->control_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	/* deptrace died: the policy stays while anything runs in the cgroup.
	 * cgroup.events raises POLLPRI when "populated" changes; the timeout
	 * only guards against a missed change. */
	while (populated(g->events_fd)) {
		struct pollfd p = { .fd = g->events_fd, .events = POLLPRI };

		poll(&p, 1, 1000);
	}
	if (g->cgroup_path && same_file(g->events_fd, g->events_path))
		remove_cgroup_dir(g->cgroup_path);
	_exit(0);
}

int cgroup_guard_start(const struct enforced_cgroup *cg, const int *keep_fds,
		       size_t nkeep, struct cgroup_guard *guard)
{
	char events_path[CGROUP_PATH_LEN + 16];
	struct guard_args g = {
		.keep_fds = keep_fds,
		.nkeep = nkeep,
		.events_path = events_path,
		.cgroup_path = cg->created ? cg->path : NULL,
	};
	int control[2], err;

	snprintf(events_path, sizeof(events_path), "%s/cgroup.events", cg->path);
	g.events_fd = openat(cg->dir_fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
	if (g.events_fd < 0)
		return -errno;
	/* a socket, not a pipe: send(MSG_NOSIGNAL) to a guard that is gone
	 * fails instead of raising SIGPIPE in deptrace */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control)) {
		err = -errno;
		close(g.events_fd);
		return err;
	}
	g.control_fd = control[1];
	guard->pid = fork();
	if (guard->pid == 0)
		guard_main(&g);
	err = guard->pid < 0 ? -errno : 0;
	close(g.events_fd);
	close(control[1]);
	if (err) {
		close(control[0]);
		return err;
	}
	guard->control_fd = control[0];
	return 0;
}

void cgroup_guard_stop(struct cgroup_guard *guard)
{
	/* a guard gone already gets no byte, and is reaped all the same */
	send(guard->control_fd, "", 1, MSG_NOSIGNAL);
	close(guard->control_fd);
	guard->control_fd = -1;
	while (waitpid(guard->pid, NULL, 0) < 0 && errno == EINTR)
		;
	guard->pid = 0;
}
