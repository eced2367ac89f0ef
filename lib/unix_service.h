/* unix_service: which Unix socket a local service serves the tree on.
 *
 * The kernel (bpf_text/follow.bpf.h) says that a thread of process SERVER
 * reads what a thread of process CLIENT wrote to a Unix socket, but no
 * tracepoint names the socket's path. User space finds it the way ss(8)
 * does: sock_diag (NETLINK_SOCK_DIAG, UNIX_DIAG with UDIAG_SHOW_NAME and
 * UDIAG_SHOW_PEER) lists the Unix sockets of deptrace's network namespace
 * with their inode, their peer's inode and their name, and
 * PROC_ROOT/PID/fd says which inodes each process holds. A connection
 * accepted on a listening socket carries the listener's name.
 *
 * The steps: unix_diag_dump (the kernel's list, or unix_diag_parse on a
 * buffer in tests), proc_socket_inodes for the server and the client, then
 * unix_service_name, which needs no kernel and no /proc.
 */
#ifndef DEPTRACE_UNIX_SERVICE_H
#define DEPTRACE_UNIX_SERVICE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* sun_path is 108 bytes; an abstract name (leading NUL) is kept with an
 * '@' for that NUL, as ss(8) shows it. */
#define UNIX_SERVICE_NAME_LEN 112

struct unix_diag_socket {
	uint32_t inode;
	uint32_t peer;   /* 0: none (a listener, or unconnected) */
	uint8_t state;   /* TCP_LISTEN (10) for a listener */
	char name[UNIX_SERVICE_NAME_LEN]; /* "" when unnamed */
};

struct unix_diag_list {
	struct unix_diag_socket *sockets;
	size_t count, cap;
};

void unix_diag_list_free(struct unix_diag_list *list);

/* Adds the sockets of the netlink messages in buf (len bytes: one recv of
 * a SOCK_DIAG_BY_FAMILY dump) to `list`. 1 once NLMSG_DONE is read, 0 when
 * more is to come, -errno: -EPROTO for a malformed message (its reason in
 * err), the kernel's error for NLMSG_ERROR, -ENOMEM. Untrusted input:
 * every length is checked (tests/fuzz/fuzz_unix_diag.c). */
int unix_diag_parse(const void *buf, size_t len, struct unix_diag_list *list, char *err,
		    size_t errlen);

/* The Unix sockets of this network namespace, from the kernel. 0 or -errno
 * with the reason in err. */
int unix_diag_dump(struct unix_diag_list *list, char *err, size_t errlen);

/* The inodes of the sockets PROC_ROOT/PID/fd holds, in a new array the
 * caller frees (NULL when none). 0 or -errno (-ENOENT: the process is
 * gone). */
int proc_socket_inodes(const char *proc_root, pid_t pid, uint32_t **inodes, size_t *count);

/* The name of the socket the server serves the client on: a socket held by
 * the server whose peer the client holds (a named one first); failing that
 * (the client closed it already), the server's one named listener. 0 with the name in `name`
 * ("" for a connection with no name: a socketpair), -ENOENT when neither
 * is found, or several listeners leave it open. */
int unix_service_name(const struct unix_diag_list *sockets, const uint32_t *server,
		      size_t nserver, const uint32_t *client, size_t nclient, char *name,
		      size_t len);

/* All of the above: what the via path names the service by (its path,
 * "@name" for an abstract one, "unnamed Unix socket" for a socketpair),
 * from the server's sockets, or, when they are gone (a forking server's
 * child that ended), from the one named listener of the server's parent
 * (PROC_ROOT/PID/stat). 0, or -errno with the reason in err and "Unix
 * socket" in buf. */
int unix_service_describe(const char *proc_root, pid_t server, pid_t client, char *buf,
			  size_t len, char *err, size_t errlen);

#endif
