/* unix_service: see unix_service.h. */
#define _GNU_SOURCE
#include "unix_service.h"
#include "proctree.h"

#include <dirent.h>
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define UNIX_LISTEN_STATE 10 /* TCP_LISTEN, the state a listening Unix socket reports */

void unix_diag_list_free(struct unix_diag_list *list)
{
	free(list->sockets);
	*list = (struct unix_diag_list){ 0 };
}

static int list_add(struct unix_diag_list *list, const struct unix_diag_socket *s)
{
	if (list->count == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 64;
		struct unix_diag_socket *grown = realloc(list->sockets, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		list->sockets = grown;
		list->cap = cap;
	}
	list->sockets[list->count++] = *s;
	return 0;
}

/* A sun_path of n bytes as text: an abstract name's leading NUL as '@',
 * cut at the first NUL of a path (the kernel may count one). */
static void name_from_path(const char *path, size_t n, char *name, size_t len)
{
	size_t used = 0;

	if (n && !path[0]) {
		name[used++] = '@';
		path++;
		n--;
	} else {
		n = strnlen(path, n);
	}
	if (n > len - 1 - used)
		n = len - 1 - used;
	memcpy(name + used, path, n);
	name[used + n] = '\0';
}

/* One UNIX_DIAG message: the fixed part, then attributes. */
static int parse_socket(const struct nlmsghdr *h, struct unix_diag_list *list, char *err,
			size_t errlen)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	const char *at = (const char *)m + NLMSG_ALIGN(sizeof(*m));
	const char *end = (const char *)h + h->nlmsg_len;
	struct unix_diag_socket s = { 0 };

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m))) {
		snprintf(err, errlen, "a sock_diag message of %u bytes is too short", h->nlmsg_len);
		return -EPROTO;
	}
	s.inode = m->udiag_ino;
	s.state = m->udiag_state;
	/* bytes left too few for an attribute are padding */
	while (end - at >= (ptrdiff_t)sizeof(struct rtattr)) {
		const struct rtattr *a = (const struct rtattr *)at;

		if (a->rta_len < sizeof(*a) || a->rta_len > end - at) {
			snprintf(err, errlen, "a sock_diag attribute overruns its message");
			return -EPROTO;
		}
		if (a->rta_type == UNIX_DIAG_NAME)
			name_from_path(RTA_DATA(a), RTA_PAYLOAD(a), s.name, sizeof(s.name));
		else if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= sizeof(uint32_t))
			memcpy(&s.peer, RTA_DATA(a), sizeof(s.peer));
		if (RTA_ALIGN(a->rta_len) >= end - at)
			break;
		at += RTA_ALIGN(a->rta_len);
	}
	return list_add(list, &s);
}

int unix_diag_parse(const void *buf, size_t len, struct unix_diag_list *list, char *err,
		    size_t errlen)
{
	const char *p = buf;

	while (len > 0) {
		const struct nlmsghdr *h = (const struct nlmsghdr *)p;
		size_t step;
		int rc;

		if (len < sizeof(*h) || h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len) {
			snprintf(err, errlen, "a sock_diag reply of %zu bytes is cut short", len);
			return -EPROTO;
		}
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)) || e->error >= 0 ||
			    e->error < -4095) {
				snprintf(err, errlen, "a malformed sock_diag error");
				return -EPROTO;
			}
			snprintf(err, errlen, "sock_diag refused the Unix socket dump: %s",
				 strerror(-e->error));
			return e->error;
		}
		if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
			rc = parse_socket(h, list, err, errlen);
			if (rc)
				return rc;
		}
		step = NLMSG_ALIGN(h->nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

int unix_diag_dump(struct unix_diag_list *list, char *err, size_t errlen)
{
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} req = {
		.h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .sdiag_family = AF_UNIX, .udiag_states = ~0u,
		       .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER },
	};
	/* 32 KiB: what a dump sends at once, in the kernel's NLMSG_GOODSIZE steps */
	static char buf[32768] __attribute__((aligned(8)));
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int rc = 0;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open a sock_diag socket: %s", strerror(errno));
		return rc;
	}
	if (send(fd, &req, sizeof(req), 0) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot ask sock_diag for Unix sockets: %s", strerror(errno));
	}
	while (!rc) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot read the Unix socket dump: %s", strerror(errno));
		} else if (n == 0) {
			rc = -EPROTO;
			snprintf(err, errlen, "the Unix socket dump ended without NLMSG_DONE");
		} else {
			rc = unix_diag_parse(buf, (size_t)n, list, err, errlen);
		}
	}
	close(fd);
	return rc == 1 ? 0 : rc;
}

int proc_socket_inodes(const char *proc_root, pid_t pid, uint32_t **inodes, size_t *count)
{
	char dir[4096], path[4096 + 256], target[64];
	struct dirent *e;
	size_t cap = 0;
	DIR *d;

	*inodes = NULL;
	*count = 0;
	snprintf(dir, sizeof(dir), "%s/%d/fd", proc_root, (int)pid);
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		ssize_t n;
		unsigned long inode;
		int used = -1;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue; /* closed meanwhile */
		target[n] = '\0';
		if (sscanf(target, "socket:[%lu]%n", &inode, &used) != 1 || used != n ||
		    inode > UINT32_MAX)
			continue;
		if (*count == cap) {
			uint32_t *grown = realloc(*inodes, (cap = cap ? 2 * cap : 16) * sizeof(*grown));

			if (!grown) {
				closedir(d);
				free(*inodes);
				*inodes = NULL;
				*count = 0;
				return -ENOMEM;
			}
			*inodes = grown;
		}
		(*inodes)[(*count)++] = (uint32_t)inode;
	}
	closedir(d);
	return 0;
}

static bool holds(const uint32_t *inodes, size_t n, uint32_t inode)
{
	for (size_t i = 0; i < n; i++)
		if (inodes[i] == inode)
			return true;
	return false;
}

int unix_service_name(const struct unix_diag_list *sockets, const uint32_t *server,
		      size_t nserver, const uint32_t *client, size_t nclient, char *name,
		      size_t len)
{
	const struct unix_diag_socket *listener = NULL, *unnamed = NULL;
	size_t listeners = 0;

	for (size_t i = 0; i < sockets->count; i++) {
		const struct unix_diag_socket *s = &sockets->sockets[i];

		if (!holds(server, nserver, s->inode))
			continue;
		if (s->peer && holds(client, nclient, s->peer)) {
			if (s->name[0]) {
				snprintf(name, len, "%s", s->name);
				return 0;
			}
			unnamed = s; /* a socketpair, unless a named one comes */
		}
		if (s->state == UNIX_LISTEN_STATE && s->name[0]) {
			listener = s;
			listeners++;
		}
	}
	if (unnamed) {
		*name = '\0';
		return 0;
	}
	if (listeners != 1)
		return -ENOENT;
	snprintf(name, len, "%s", listener->name);
	return 0;
}

int unix_service_describe(const char *proc_root, pid_t server, pid_t client, char *buf,
			  size_t len, char *err, size_t errlen)
{
	struct unix_diag_list sockets = { 0 };
	uint32_t *server_inodes = NULL, *client_inodes = NULL;
	size_t nserver = 0, nclient = 0;
	int rc = unix_diag_dump(&sockets, err, errlen);

	if (!rc) {
		rc = proc_socket_inodes(proc_root, server, &server_inodes, &nserver);
		if (rc)
			snprintf(err, errlen, "the sockets of PID %d cannot be read: %s", (int)server,
				 strerror(-rc));
	}
	if (!rc) {
		/* the client may be gone: the server's listener still names it */
		proc_socket_inodes(proc_root, client, &client_inodes, &nclient);
		rc = unix_service_name(&sockets, server_inodes, nserver, client_inodes, nclient, buf,
				       len);
	}
	if (rc == -ENOENT) {
		/* a forking server's child that has closed its sockets (it
		 * has ended, and is a zombie until reaped): the parent that
		 * accepted for it holds the listener */
		pid_t parent;

		if (!proctree_read_ppid(proc_root, server, &parent) && parent > 1) {
			free(server_inodes);
			server_inodes = NULL;
			if (!proc_socket_inodes(proc_root, parent, &server_inodes, &nserver))
				rc = unix_service_name(&sockets, server_inodes, nserver, NULL, 0, buf,
						       len);
		}
		if (rc)
			snprintf(err, errlen, "neither PID %d nor its parent holds the peer of a socket "
				 "of PID %d or one named listening socket", (int)server, (int)client);
	}
	if (!rc && !buf[0])
		snprintf(buf, len, "unnamed Unix socket");
	if (rc)
		snprintf(buf, len, "Unix socket");
	free(server_inodes);
	free(client_inodes);
	unix_diag_list_free(&sockets);
	return rc;
}
