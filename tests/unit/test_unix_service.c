/* Unit tests for lib/unix_service.h: the sock_diag reply parsed from bytes
 * built here, the sockets of processes from a fake /proc, the name of the
 * socket a service serves its client on, and one real dump of a socket
 * pair and a listener this test makes. */
#include "testutil.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "unix_service.h"

/* A netlink reply under construction. */
struct reply {
	char buf[4096] __attribute__((aligned(8)));
	size_t len;
};

static void *reply_put(struct reply *r, size_t n)
{
	void *at = r->buf + r->len;

	ck_assert_uint_le(r->len + NLMSG_ALIGN(n), sizeof(r->buf));
	memset(at, 0, NLMSG_ALIGN(n));
	r->len += NLMSG_ALIGN(n);
	return at;
}

/* One socket: inode, state, name (NULL: none, with its length as given,
 * a leading NUL for an abstract one) and peer (0: none). */
static void reply_socket(struct reply *r, uint32_t inode, uint8_t state, const char *name,
			 size_t name_len, uint32_t peer)
{
	size_t start = r->len;
	struct nlmsghdr *h = reply_put(r, NLMSG_HDRLEN);
	struct unix_diag_msg *m = reply_put(r, sizeof(*m));
	struct rtattr *a;

	m->udiag_family = AF_UNIX;
	m->udiag_state = state;
	m->udiag_ino = inode;
	if (name) {
		a = reply_put(r, RTA_LENGTH(name_len));
		a->rta_type = UNIX_DIAG_NAME;
		a->rta_len = RTA_LENGTH(name_len);
		memcpy(RTA_DATA(a), name, name_len);
	}
	if (peer) {
		a = reply_put(r, RTA_LENGTH(sizeof(peer)));
		a->rta_type = UNIX_DIAG_PEER;
		a->rta_len = RTA_LENGTH(sizeof(peer));
		memcpy(RTA_DATA(a), &peer, sizeof(peer));
	}
	h = (struct nlmsghdr *)(r->buf + start);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_len = (uint32_t)(r->len - start);
}

static void reply_done(struct reply *r)
{
	struct nlmsghdr *h = reply_put(r, NLMSG_LENGTH(sizeof(int)));

	h->nlmsg_type = NLMSG_DONE;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(int));
}

/* The server (PID 10) listens on /run/lock.sock (inode 100) and holds two
 * accepted connections: 101, whose peer 201 the client (PID 20) holds, and
 * 102 (another client's, 202). */
static void example_reply(struct reply *r)
{
	reply_socket(r, 100, 10, "/run/lock.sock", strlen("/run/lock.sock"), 0);
	/* the kernel counts sun_path's NUL for some binds: cut at it */
	reply_socket(r, 101, 1, "/run/lock.sock\0", strlen("/run/lock.sock") + 1, 201);
	reply_socket(r, 102, 1, "/run/lock.sock", strlen("/run/lock.sock"), 202);
	reply_socket(r, 201, 1, NULL, 0, 101);
	reply_socket(r, 202, 1, NULL, 0, 102);
	reply_socket(r, 300, 1, "\0hidden", 7, 301);
}

START_TEST(test_parse)
{
	struct reply r = { .len = 0 };
	struct unix_diag_list list = { 0 };
	char err[256] = "";

	example_reply(&r);
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len, &list, err, sizeof(err)), 0);
	ck_assert_uint_eq(list.count, 6);
	ck_assert_uint_eq(list.sockets[0].inode, 100);
	ck_assert_uint_eq(list.sockets[0].state, 10);
	ck_assert_uint_eq(list.sockets[0].peer, 0);
	ck_assert_str_eq(list.sockets[0].name, "/run/lock.sock");
	ck_assert_str_eq(list.sockets[1].name, "/run/lock.sock");
	ck_assert_uint_eq(list.sockets[1].peer, 201);
	ck_assert_str_eq(list.sockets[3].name, "");
	ck_assert_str_eq(list.sockets[5].name, "@hidden");
	/* more in a second recv, then the end */
	r.len = 0;
	reply_socket(&r, 400, 1, NULL, 0, 0);
	reply_done(&r);
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len, &list, err, sizeof(err)), 1);
	ck_assert_uint_eq(list.count, 7);
	unix_diag_list_free(&list);
	ck_assert_ptr_null(list.sockets);
}
END_TEST

START_TEST(test_parse_malformed)
{
	struct reply r = { .len = 0 };
	struct unix_diag_list list = { 0 };
	char err[256] = "";
	struct nlmsghdr *h;
	struct nlmsgerr *e;

	/* a message longer than what was read */
	reply_socket(&r, 100, 10, "/run/a", 6, 0);
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len - 4, &list, err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "a sock_diag reply of 40 bytes is cut short");
	/* an attribute longer than its message */
	((struct rtattr *)(r.buf + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct unix_diag_msg))))->rta_len = 200;
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len, &list, err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "a sock_diag attribute overruns its message");
	/* a message too short for its fixed part */
	h = (struct nlmsghdr *)r.buf;
	h->nlmsg_len = NLMSG_HDRLEN + 4;
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len, &list, err, sizeof(err)), -EPROTO);
	ck_assert_str_eq(err, "a sock_diag message of 20 bytes is too short");
	ck_assert_uint_eq(list.count, 0);
	/* the kernel's refusal */
	r.len = 0;
	h = reply_put(&r, NLMSG_LENGTH(sizeof(*e)));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*e));
	e = NLMSG_DATA(h);
	e->error = -EPERM;
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len, &list, err, sizeof(err)), -EPERM);
	ck_assert_str_eq(err, "sock_diag refused the Unix socket dump: Operation not permitted");
	unix_diag_list_free(&list);
}
END_TEST

/* PROC/PID/fd/N -> TARGET, as the kernel shows them. */
static void fake_fd(const char *proc, int pid, int fd, const char *target)
{
	char path[PATH_MAX];

	pathf(path, "%s/%d/fd", proc, pid);
	make_dirs(path);
	pathf(path, "%s/%d/fd/%d", proc, pid, fd);
	ck_assert_int_eq(symlink(target, path), 0);
}

START_TEST(test_proc_socket_inodes)
{
	char *proc = make_scratch_dir(NULL, "unix-proc");
	uint32_t *inodes;
	size_t n;

	fake_fd(proc, 10, 0, "/dev/null");
	fake_fd(proc, 10, 3, "socket:[100]");
	fake_fd(proc, 10, 4, "pipe:[55]");
	fake_fd(proc, 10, 5, "socket:[101]");
	fake_fd(proc, 10, 6, "socket:[99999999999]"); /* not an inode the kernel has */
	fake_fd(proc, 10, 7, "socket:[12]x");
	ck_assert_int_eq(proc_socket_inodes(proc, 10, &inodes, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(inodes[0] + inodes[1], 201); /* 100 and 101, in readdir order */
	ck_assert(inodes[0] == 100 || inodes[0] == 101);
	free(inodes);
	ck_assert_int_eq(proc_socket_inodes(proc, 11, &inodes, &n), -ENOENT);
	ck_assert_ptr_null(inodes);
	ck_assert_uint_eq(n, 0);
	remove_scratch_dir(proc);
}
END_TEST

START_TEST(test_service_name)
{
	struct reply r = { .len = 0 };
	struct unix_diag_list list = { 0 };
	const uint32_t server[] = { 100, 101, 102 }, client[] = { 201 }, other[] = { 202 },
		       gone[] = { 0 }, two_listeners[] = { 100, 500 };
	char err[256], name[UNIX_SERVICE_NAME_LEN];

	example_reply(&r);
	reply_socket(&r, 500, 10, "/run/other.sock", strlen("/run/other.sock"), 0);
	reply_socket(&r, 600, 1, NULL, 0, 601); /* a socketpair */
	reply_socket(&r, 601, 1, NULL, 0, 600);
	ck_assert_int_eq(unix_diag_parse(r.buf, r.len, &list, err, sizeof(err)), 0);
	/* the accepted socket whose peer the client holds */
	ck_assert_int_eq(unix_service_name(&list, server, 3, client, 1, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "/run/lock.sock");
	ck_assert_int_eq(unix_service_name(&list, server, 3, other, 1, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "/run/lock.sock");
	/* the client is gone: the server's one listener */
	ck_assert_int_eq(unix_service_name(&list, server, 3, gone, 0, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "/run/lock.sock");
	/* ... but of two listeners, neither is guessed */
	ck_assert_int_eq(unix_service_name(&list, two_listeners, 2, gone, 0, name, sizeof(name)),
			 -ENOENT);
	/* a socketpair: found, with no name */
	ck_assert_int_eq(unix_service_name(&list, (const uint32_t[]){ 600 }, 1,
					   (const uint32_t[]){ 601 }, 1, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "");
	/* a server holding none of them */
	ck_assert_int_eq(unix_service_name(&list, other, 1, client, 1, name, sizeof(name)), -ENOENT);
	unix_diag_list_free(&list);
}
END_TEST

/* The kernel's own dump: a listener this test binds and a connection to
 * it, found by their inodes in /proc/self/fd (no privileges needed). */
START_TEST(test_real_dump)
{
	char *dir = make_scratch_dir(NULL, "unix-real");
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_STREAM, 0), client = socket(AF_UNIX, SOCK_STREAM, 0);
	int accepted;
	char name[UNIX_SERVICE_NAME_LEN], err[256] = "";

	ck_assert_uint_lt(strlen(dir) + strlen("/svc.sock"), sizeof(addr.sun_path));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/svc.sock", dir);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(listener, 1), 0);
	ck_assert_int_eq(connect(client, (struct sockaddr *)&addr, sizeof(addr)), 0);
	accepted = accept(listener, NULL, NULL);
	ck_assert_int_ge(accepted, 0);
	/* server and client are one process here: its own sockets name it */
	ck_assert_int_eq(unix_service_describe("/proc", getpid(), getpid(), name, sizeof(name), err,
					       sizeof(err)), 0);
	ck_assert_str_eq(name, addr.sun_path);
	/* a process that does not exist: the reason, and a name that says so */
	ck_assert_int_eq(unix_service_describe("/proc", 0, -1, name, sizeof(name), err,
					       sizeof(err)), -ENOENT);
	ck_assert_str_eq(name, "Unix socket");
	ck_assert_str_eq(err, "neither PID 0 nor its parent holds the peer of a socket of PID "
			      "-1 or one named listening socket");
	close(accepted);
	close(client);
	close(listener);
	remove_scratch_dir(dir);
}
END_TEST

/* A forking server's child that has ended (a zombie: no sockets left, its
 * stat still there): its parent's listener names the service. A fake
 * /proc, with the inode of a real listener this test binds. */
START_TEST(test_ended_child)
{
	char *dir = make_scratch_dir(NULL, "unix-child");
	char proc[PATH_MAX], path[PATH_MAX], target[64];
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	char name[UNIX_SERVICE_NAME_LEN], err[256] = "";
	struct stat st;
	FILE *f;

	ck_assert_uint_lt(strlen(dir) + strlen("/lock.sock"), sizeof(addr.sun_path));
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/lock.sock", dir);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&addr, sizeof(addr)), 0);
	ck_assert_int_eq(listen(listener, 1), 0);
	ck_assert_int_eq(fstat(listener, &st), 0);
	pathf(proc, "%s/proc", dir);
	pathf(path, "%s/100/fd", proc);
	make_dirs(path);
	pathf(path, "%s/100/stat", proc);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("100 (deploy-lock) Z 200 100 100 0 -1 4228108 0 0 0 0\n", f);
	fclose(f);
	snprintf(target, sizeof(target), "socket:[%lu]", (unsigned long)st.st_ino);
	fake_fd(proc, 200, 3, target);
	ck_assert_int_eq(unix_service_describe(proc, 100, 300, name, sizeof(name), err, sizeof(err)),
			 0);
	ck_assert_str_eq(name, addr.sun_path);
	/* the parent has no listener either: said, and named "Unix socket" */
	pathf(path, "%s/200/fd/3", proc);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(unix_service_describe(proc, 100, 300, name, sizeof(name), err, sizeof(err)),
			 -ENOENT);
	ck_assert_str_eq(name, "Unix socket");
	ck_assert_str_eq(err, "neither PID 100 nor its parent holds the peer of a socket of PID 300 "
			      "or one named listening socket");
	close(listener);
	remove_scratch_dir(dir);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("unix_service");
	TCase *tc = tcase_create("unix_service");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_proc_socket_inodes);
	tcase_add_test(tc, test_service_name);
	tcase_add_test(tc, test_real_dump);
	tcase_add_test(tc, test_ended_child);
	suite_add_tcase(suite, tc);
	return run_suite(suite);
}
