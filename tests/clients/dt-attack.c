/*
 * dt-attack: the ways around an enforced policy that tests/integration/
 * hardening.sh tries, each as an unprivileged program would.
 *
 *   dt-attack udplite ADDR PORT       UDP-Lite socket, connect(), send()
 *   dt-attack ping ADDR               ICMP datagram ("ping") socket, sendto()
 *   dt-attack tcp ADDR PORT           TCP connect() (0.0.0.0, ::, ...)
 *   dt-attack pointer SERVER NAME     a query whose question ends in a
 *                                     compression pointer to the rest of NAME
 *   dt-attack gso SERVER NAME1 NAME2  two queries of one length in one send
 *                                     (UDP_SEGMENT)
 *   dt-attack tcp-dns SERVER NAME     a query over TCP
 *   dt-attack nth SERVER NAME N PORT  an A query with EDNS (room for many
 *                                     answers), then connect() to answer N
 *
 * Each prints one line, "case=CASE result=ok|ENAME" (what the first call
 * that failed returned), and for queries "answers=N" when one came back:
 * the truth the test holds deptrace's lines to. Exit 0 unless misused.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif

#define QUERY_MAX 512
#define ANSWER_MAX 4096

static const char *attack;

static int report(int rc)
{
	if (rc < 0)
		printf("case=%s result=%s\n", attack, strerrorname_np(errno));
	else
		printf("case=%s result=ok\n", attack);
	fflush(stdout);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: dt-attack udplite|ping|tcp|pointer|gso|tcp-dns|nth ARGS (see the source)\n");
	exit(2);
}

/* ADDR and PORT into a sockaddr of the right family. */
static socklen_t parse_address(const char *addr, unsigned port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		return sizeof(*in);
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return sizeof(*in6);
	}
	fprintf(stderr, "dt-attack: bad address %s\n", addr);
	exit(2);
}

/* The DNS header of a query for one question, ID `id`. */
static size_t put_header(uint8_t *q, uint16_t id, uint16_t additional)
{
	static const uint8_t flags_rd[2] = { 0x01, 0x00 };

	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	memcpy(q + 2, flags_rd, 2);
	memset(q + 4, 0, 8);
	q[5] = 1; /* one question */
	q[11] = (uint8_t)additional;
	return 12;
}

/* `name` in wire form (labels, final zero). */
static size_t put_name(uint8_t *q, const char *name)
{
	size_t n = 0;

	while (*name) {
		size_t len = strcspn(name, ".");

		q[n++] = (uint8_t)len;
		memcpy(q + n, name, len);
		n += len;
		name += len + (name[len] == '.');
	}
	q[n++] = 0;
	return n;
}

static size_t put_type_a(uint8_t *q)
{
	static const uint8_t a_in[4] = { 0, 1, 0, 1 };

	memcpy(q, a_in, 4);
	return 4;
}

/* An OPT record: answers up to 4096 bytes come over UDP. */
static size_t put_edns(uint8_t *q)
{
	static const uint8_t opt[11] = { 0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0 };

	memcpy(q, opt, sizeof(opt));
	return sizeof(opt);
}

static size_t query(uint8_t *q, uint16_t id, const char *name, int edns)
{
	size_t n = put_header(q, id, edns ? 1 : 0);

	n += put_name(q + n, name);
	n += put_type_a(q + n);
	if (edns)
		n += put_edns(q + n);
	return n;
}

static int dns_socket(const char *server, struct sockaddr_storage *ss, socklen_t *len)
{
	*len = parse_address(server, 53, ss);
	return socket(ss->ss_family, SOCK_DGRAM, 0);
}

/* Waits a second for an answer, into buf; its length, or -1. Received
 * with the server's address, as resolvers do (deptrace knows an answer on
 * an unconnected socket by its source port). */
static ssize_t receive(int fd, uint8_t *buf, size_t cap)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct sockaddr_storage from;
	socklen_t fromlen = sizeof(from);
	ssize_t n;

	if (poll(&p, 1, 1000) != 1)
		return -1;
	n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&from, &fromlen);
	return n < 12 ? -1 : n;
}

/* The answer count of an answer received, or -1. */
static int answer_count(int fd, uint8_t *buf, size_t cap)
{
	return receive(fd, buf, cap) < 0 ? -1 : buf[6] << 8 | buf[7];
}

static int send_and_report(int fd, const uint8_t *q, size_t len, const struct sockaddr_storage *ss,
			   socklen_t sslen)
{
	uint8_t answer[ANSWER_MAX];
	int count;

	if (sendto(fd, q, len, 0, (const struct sockaddr *)ss, sslen) < 0)
		return report(-1);
	report(0);
	count = answer_count(fd, answer, sizeof(answer));
	if (count >= 0)
		printf("answers=%d\n", count);
	return 0;
}

static int attack_udplite(const char *addr, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_address(addr, port, &ss);
	int fd = socket(ss.ss_family, SOCK_DGRAM, IPPROTO_UDPLITE);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) || send(fd, "x", 1, 0) < 0)
		return report(-1);
	return report(0);
}

static int attack_ping(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_address(addr, 0, &ss);
	struct icmphdr echo = { .type = ICMP_ECHO };
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);

	if (fd < 0 || sendto(fd, &echo, sizeof(echo), 0, (struct sockaddr *)&ss, len) < 0)
		return report(-1);
	return report(0);
}

static int attack_tcp(const char *addr, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = parse_address(addr, port, &ss);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len))
		return report(-1);
	return report(0);
}

/* NAME's first label, then a pointer to the rest, placed after the
 * question where no parser that stops at the pointer looks. */
static int attack_pointer(const char *server, const char *name)
{
	uint8_t q[QUERY_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen;
	const char *rest = strchr(name, '.');
	size_t first = rest ? (size_t)(rest - name) : strlen(name), n, rest_at;
	int fd = dns_socket(server, &ss, &sslen);

	if (fd < 0 || !rest)
		return report(-1);
	n = put_header(q, 0x5151, 0);
	q[n++] = (uint8_t)first;
	memcpy(q + n, name, first);
	n += first;
	rest_at = n + 2 + 4;
	q[n++] = (uint8_t)(0xc0 | rest_at >> 8);
	q[n++] = (uint8_t)rest_at;
	n += put_type_a(q + n);
	n += put_name(q + n, rest + 1);
	return send_and_report(fd, q, n, &ss, sslen);
}

/* Two queries, cut apart by the kernel after the hooks saw one send. */
static int attack_gso(const char *server, const char *name1, const char *name2)
{
	uint8_t q[2 * QUERY_MAX], answer[ANSWER_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen;
	size_t len1, len2;
	int fd = dns_socket(server, &ss, &sslen), segment, count;

	if (fd < 0)
		return report(-1);
	len1 = query(q, 0x6161, name1, 0);
	len2 = query(q + len1, 0x6262, name2, 0);
	if (len1 != len2) {
		fprintf(stderr, "dt-attack: gso needs two names of one length\n");
		exit(2);
	}
	segment = (int)len1;
	if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &segment, sizeof(segment)))
		return report(-1);
	if (sendto(fd, q, len1 + len2, 0, (struct sockaddr *)&ss, sslen) < 0)
		return report(-1);
	report(0);
	for (int i = 0; i < 2; i++) {
		count = answer_count(fd, answer, sizeof(answer));
		if (count >= 0)
			printf("answer_id=%02x%02x answers=%d\n", answer[0], answer[1], count);
	}
	return 0;
}

static int attack_tcp_dns(const char *server, const char *name)
{
	uint8_t q[QUERY_MAX + 2];
	struct sockaddr_storage ss;
	socklen_t sslen = parse_address(server, 53, &ss);
	size_t n = query(q + 2, 0x7171, name, 0);
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);

	q[0] = (uint8_t)(n >> 8);
	q[1] = (uint8_t)n;
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, sslen) || send(fd, q, n + 2, 0) < 0)
		return report(-1);
	return report(0);
}

/* The address of the n-th A record (from 1) of the answer in buf[0..len),
 * into `out` as text; 0, or -1 without one. The question is skipped by its
 * known length; answers are walked by their lengths. */
static int nth_address(const uint8_t *buf, size_t len, size_t question_end, int nth, char *out,
		       size_t outlen)
{
	size_t pos = question_end;
	int seen = 0;

	for (int i = 0; i < (buf[6] << 8 | buf[7]); i++) {
		unsigned type, rdlength;

		while (pos < len && buf[pos] && buf[pos] < 0xc0)
			pos += buf[pos] + 1u;
		pos += pos < len && buf[pos] ? 2 : 1; /* pointer or final zero */
		if (pos + 10 > len)
			return -1;
		type = buf[pos] << 8 | buf[pos + 1];
		rdlength = buf[pos + 8] << 8 | buf[pos + 9];
		pos += 10;
		if (pos + rdlength > len)
			return -1;
		if (type == 1 && rdlength == 4 && ++seen == nth) {
			inet_ntop(AF_INET, buf + pos, out, (socklen_t)outlen);
			return 0;
		}
		pos += rdlength;
	}
	return -1;
}

static int attack_nth(const char *server, const char *name, int nth, unsigned port)
{
	uint8_t q[QUERY_MAX], answer[ANSWER_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen;
	char addr[INET_ADDRSTRLEN];
	size_t n, question_end;
	ssize_t got;
	int fd = dns_socket(server, &ss, &sslen);

	if (fd < 0)
		return report(-1);
	n = query(q, 0x8181, name, 1);
	question_end = n - 11; /* before the OPT record */
	if (sendto(fd, q, n, 0, (struct sockaddr *)&ss, sslen) < 0)
		return report(-1);
	got = receive(fd, answer, sizeof(answer));
	if (got < 0) {
		errno = ETIMEDOUT;
		return report(-1);
	}
	printf("answers=%d\n", answer[6] << 8 | answer[7]);
	if (nth_address(answer, (size_t)got, question_end, nth, addr, sizeof(addr))) {
		errno = ENOENT;
		return report(-1);
	}
	printf("address=%s\n", addr);
	return attack_tcp(addr, port);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		usage();
	attack = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(attack, "udplite") && argc == 4)
		return attack_udplite(argv[2], (unsigned)atoi(argv[3]));
	if (!strcmp(attack, "ping") && argc == 3)
		return attack_ping(argv[2]);
	if (!strcmp(attack, "tcp") && argc == 4)
		return attack_tcp(argv[2], (unsigned)atoi(argv[3]));
	if (!strcmp(attack, "pointer") && argc == 4)
		return attack_pointer(argv[2], argv[3]);
	if (!strcmp(attack, "gso") && argc == 5)
		return attack_gso(argv[2], argv[3], argv[4]);
	if (!strcmp(attack, "tcp-dns") && argc == 4)
		return attack_tcp_dns(argv[2], argv[3]);
	if (!strcmp(attack, "nth") && argc == 6)
		return attack_nth(argv[2], argv[3], atoi(argv[4]), (unsigned)atoi(argv[5]));
	usage();
}
