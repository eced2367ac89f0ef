/* proctree: see proctree.h. */
#include "proctree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ssize_t read_small_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* PF_EXITING in the flags field of /proc/PID/stat: set as the task
 * starts to exit, before the sched_process_exit tracepoint fires. */
#define PROC_FLAG_EXITING 0x4u

/* The state, parent and flags fields of PROC_ROOT/PID/stat (flags 0 where
 * the file stops short of them). 0 or -errno. */
static int read_stat(const char *proc_root, pid_t pid, char *state, int *ppid,
		     unsigned int *flags)
{
	char path[64 + 256], buf[1024], *close_paren;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* comm may hold spaces and parentheses: the fields resume after the last ')' */
	close_paren = strrchr(buf, ')');
	*flags = 0;
	if (!close_paren || sscanf(close_paren + 1, " %c %d %*d %*d %*d %*d %u", state, ppid, flags) < 2)
		return -EINVAL;
	return 0;
}

int proctree_read_ppid(const char *proc_root, pid_t pid, pid_t *ppid)
{
	char state;
	int parent;
	unsigned int flags;
	int rc = read_stat(proc_root, pid, &state, &parent, &flags);

	if (!rc)
		*ppid = parent;
	return rc;
}

bool proctree_process_alive(const char *proc_root, pid_t pid)
{
	char state;
	int parent;
	unsigned int flags;

	return !read_stat(proc_root, pid, &state, &parent, &flags) && state != 'Z' && state != 'X' &&
	       !(flags & PROC_FLAG_EXITING);
}

bool proctree_process_exiting(const char *proc_root, pid_t pid)
{
	char state;
	int parent;
	unsigned int flags;

	return !read_stat(proc_root, pid, &state, &parent, &flags) && state != 'Z' && state != 'X' &&
	       (flags & PROC_FLAG_EXITING);
}

static int is_listed(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

int proctree_list_descendants(const char *proc_root, const pid_t *roots, size_t nroots,
			      struct proc_link **links, size_t *count)
{
	struct proc_link *all = NULL, *found = NULL;
	size_t nall = 0, cap = 0, nfound = 0;
	pid_t *tree = NULL;
	size_t ntree = 0;
	struct dirent *e;
	DIR *d = opendir(proc_root);
	int err = 0;

	if (!d)
		return -errno;
	/* One pass over /proc, then the tree is grown from the roots in memory. */
	while ((e = readdir(d))) {
		pid_t ppid;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		if (proctree_read_ppid(proc_root, atoi(e->d_name), &ppid))
			continue; /* exited meanwhile */
		if (nall == cap) {
			struct proc_link *grown;

			cap = cap ? cap * 2 : 256;
			grown = realloc(all, cap * sizeof(*all));
			if (!grown) {
				err = -ENOMEM;
				goto out;
			}
			all = grown;
		}
		all[nall++] = (struct proc_link){ .pid = atoi(e->d_name), .ppid = ppid };
	}
	tree = malloc((nroots + nall) * sizeof(*tree));
	found = malloc((nall ? nall : 1) * sizeof(*found));
	if (!tree || !found) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(tree, roots, nroots * sizeof(*tree));
	ntree = nroots;
	for (size_t grew = 1; grew;) {
		grew = 0;
		for (size_t i = 0; i < nall; i++) {
			if (is_listed(tree, ntree, all[i].pid) ||
			    !is_listed(tree, ntree, all[i].ppid))
				continue;
			tree[ntree++] = all[i].pid;
			found[nfound++] = all[i];
			grew = 1;
		}
	}
	*links = found;
	*count = nfound;
	found = NULL;
out:
	closedir(d);
	free(all);
	free(tree);
	free(found);
	return err;
}

#define PROC_TABLE_BUCKETS 1024
#define MAX_CHAIN 16

struct proc_node {
	struct proc_info info;
	struct proc_node *next;
};

struct proc_table {
	struct proc_node *buckets[PROC_TABLE_BUCKETS];
};

struct proc_table *proc_table_new(void)
{
	return calloc(1, sizeof(struct proc_table));
}

void proc_table_free(struct proc_table *table)
{
	if (!table)
		return;
	for (size_t i = 0; i < PROC_TABLE_BUCKETS; i++) {
		for (struct proc_node *n = table->buckets[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(table);
}

const struct proc_info *proc_table_find(const struct proc_table *table, pid_t pid)
{
	for (struct proc_node *n = table->buckets[(unsigned)pid % PROC_TABLE_BUCKETS]; n; n = n->next)
		if (n->info.pid == pid)
			return &n->info;
	return NULL;
}

struct proc_info *proc_table_get(struct proc_table *table, pid_t pid)
{
	struct proc_node **head = &table->buckets[(unsigned)pid % PROC_TABLE_BUCKETS];
	struct proc_node *n;

	for (n = *head; n; n = n->next)
		if (n->info.pid == pid)
			return &n->info;
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->info.pid = pid;
	n->next = *head;
	*head = n;
	return &n->info;
}

/* 0 if process `pid` is still named `comm`, -ESRCH if it runs another
 * program now, or -errno (gone). */
static int still_named(const char *proc_root, pid_t pid, const char *comm)
{
	char path[64 + 256], now[PROC_COMM_LEN];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)pid);
	n = read_small_file(path, now, sizeof(now));
	if (n < 0)
		return (int)n;
	now[strcspn(now, "\n")] = '\0';
	return strcmp(now, comm) ? -ESRCH : 0;
}

/* `path` as process `pid` would open it: absolute, without symbolic links.
 * 0 or -errno. */
static int resolve_for(const char *proc_root, pid_t pid, const char *path, char out[PATH_MAX])
{
	char joined[PATH_MAX + 64 + 256];

	if (path[0] == '/')
		snprintf(joined, sizeof(joined), "%s", path);
	else
		snprintf(joined, sizeof(joined), "%s/%d/cwd/%s", proc_root, (int)pid, path);
	return realpath(joined, out) ? 0 : -errno;
}

/* Whether `path` (resolved for `pid`) is a script, into `script`. */
static bool find_script(const char *proc_root, pid_t pid, const char *path,
			char script[PROC_EXE_LEN])
{
	char resolved[PATH_MAX], head[2];
	FILE *f;
	bool is_script;

	if (!path || !*path || resolve_for(proc_root, pid, path, resolved))
		return false;
	f = fopen(resolved, "re");
	if (!f)
		return false;
	is_script = fread(head, 1, 2, f) == 2 && head[0] == '#' && head[1] == '!';
	fclose(f);
	if (is_script)
		snprintf(script, PROC_EXE_LEN, "%s", resolved);
	return is_script;
}

int proctree_read_program(const char *proc_root, pid_t pid, const char *comm, const char *path,
			  const char *const *argv, size_t argc, char exe[PROC_EXE_LEN],
			  char script[PROC_EXE_LEN])
{
	char link[64 + 256], target[PROC_EXE_LEN];
	ssize_t n;

	script[0] = '\0';
	if (!find_script(proc_root, pid, path, script))
		for (size_t i = 1; i < argc && i <= 2; i++)
			if (find_script(proc_root, pid, argv[i], script))
				break;
	if (comm) {
		int rc = still_named(proc_root, pid, comm);

		if (rc)
			return rc;
	}
	snprintf(link, sizeof(link), "%s/%d/exe", proc_root, (int)pid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	target[n] = '\0';
	snprintf(exe, PROC_EXE_LEN, "%s", target);
	return 0;
}

/* argv as /proc's cmdline holds it (NUL-separated, `n` bytes) into
 * info->args, space-separated. 0, or -ENOENT for an empty argv. */
static int proc_info_set_args(struct proc_info *info, char *cmdline, ssize_t n)
{
	/* argv is NUL-separated; trailing NULs end it */
	while (n > 0 && cmdline[n - 1] == '\0')
		n--;
	if (n <= 0)
		return -ENOENT;
	for (ssize_t i = 0; i < n; i++)
		if (cmdline[i] == '\0')
			cmdline[i] = ' ';
	cmdline[n] = '\0';
	memcpy(info->args, cmdline, (size_t)n + 1);
	return 0;
}

int proc_info_load(const char *proc_root, struct proc_info *info)
{
	char path[64 + 256], cmdline[PROC_ARGS_LEN];
	const char *argv[3] = { NULL };
	size_t argc = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int)info->pid);
	n = read_small_file(path, info->comm, sizeof(info->comm));
	if (n < 0)
		return (int)n;
	info->comm[strcspn(info->comm, "\n")] = '\0';

	n = proctree_read_cmdline(proc_root, info->pid, info->comm, cmdline, sizeof(cmdline));
	while (n > 0 && cmdline[n - 1] == '\0')
		n--;
	for (ssize_t at = 0; n > 0 && at < n && argc < 3; at += (ssize_t)strlen(cmdline + at) + 1)
		argv[argc++] = cmdline + at;
	proctree_read_program(proc_root, info->pid, NULL, NULL, argv, argc, info->exe, info->script);
	if (n > 0)
		proc_info_set_args(info, cmdline, n);
	return 0;
}

int proc_info_load_args(const char *proc_root, struct proc_info *info)
{
	char args[PROC_ARGS_LEN];
	ssize_t n = proctree_read_cmdline(proc_root, info->pid, info->comm, args, sizeof(args));

	if (n < 0)
		return (int)n;
	return proc_info_set_args(info, args, n);
}

ssize_t proctree_read_cmdline(const char *proc_root, pid_t pid, const char *comm,
			      char *buf, size_t len)
{
	char path[64 + 256];
	int rc = still_named(proc_root, pid, comm);

	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/%d/cmdline", proc_root, (int)pid);
	return read_small_file(path, buf, len);
}

void proc_chain(const struct proc_table *table, pid_t pid, char *buf, size_t len)
{
	const struct proc_info *chain[MAX_CHAIN];
	const struct proc_info *p = proc_table_find(table, pid);
	size_t depth = 0, used = 0;

	*buf = '\0';
	while (p && depth < MAX_CHAIN) {
		chain[depth++] = p;
		if (p->root)
			break;
		p = proc_table_find(table, p->ppid);
	}
	for (size_t i = depth; i-- > 0 && used < len;) {
		int n = snprintf(buf + used, len - used, "%s%s",
				 i + 1 < depth ? " > " : "", chain[i]->comm);

		used += n > 0 ? (size_t)n : 0;
	}
}
