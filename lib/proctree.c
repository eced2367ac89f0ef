/* proctree: see proctree.h. */
#include "proctree.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int read_ppid(const char *proc_root, pid_t pid, pid_t *ppid)
{
	char path[64 + 256], buf[1024], *close_paren;
	size_t n;
	FILE *f;
	int parent;

	snprintf(path, sizeof(path), "%s/%d/stat", proc_root, (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: the fields resume after the last ')' */
	close_paren = strrchr(buf, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &parent) != 1)
		return -EINVAL;
	*ppid = parent;
	return 0;
}

static int is_listed(const pid_t *pids, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

int list_descendants(const char *proc_root, const pid_t *roots, size_t nroots,
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
		if (read_ppid(proc_root, atoi(e->d_name), &ppid))
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
