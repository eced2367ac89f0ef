/* resolver: see resolver.h. */
#define _GNU_SOURCE
#include "resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns.h"

#define RESOLVER_HEADER_LEN 12
#define RESOLVER_INFLIGHT 64      /* questions waiting on an upstream at once */
#define RESOLVER_QUERY_MAX 4096   /* a question kept for its SERVFAIL reply */
#define RESOLVER_MESSAGE_MAX 65536

/* A forwarded question, waiting on its upstream's answer. */
struct inflight {
	int fd;                    /* connected to the upstream; -1: slot free */
	size_t upstream;
	struct sockaddr_in client;
	uint16_t id, qtype;
	char qname[DNS_NAME_LEN];
	uint8_t query[RESOLVER_QUERY_MAX];
	size_t len;
	long long deadline_ms;
};

struct resolver {
	struct resolver_config c;
	int listen_fds[RESOLVER_MAX_UPSTREAMS];
	uint16_t port;             /* bound, network order */
	int wake[2];               /* resolver_stop writes; the thread ends */
	pthread_t thread;
	bool running;
	pthread_mutex_t lock;      /* guards stats */
	struct resolver_stats stats;
	struct inflight inflight[RESOLVER_INFLIGHT];
	uint8_t buf[RESOLVER_MESSAGE_MAX];
	uint8_t reply[RESOLVER_QUERY_MAX];
};

static bool has_allow_names(const struct policy *p)
{
	for (size_t i = 0; p && i < p->count; i++)
		if (p->rules[i].action == RULE_ALLOW && p->rules[i].kind != RULE_NET)
			return true;
	return false;
}

enum resolver_verdict resolver_decide(const struct resolver_rules *r, const char *qname,
				      const struct policy_rule **why)
{
	const struct policy *p = r->policy;
	struct verdict denied;

	if (why)
		*why = NULL;
	for (size_t i = 0; i < r->noverrides; i++)
		if (policy_name_matches(&r->overrides[i].target, qname))
			return r->overrides[i].verdict;
	if (!p)
		return RESOLVER_FORWARD;
	denied = policy_check_lookup(p, qname);
	if (denied.violation) {
		if (why)
			*why = denied.rule;
		return RESOLVER_REFUSE;
	}
	if (!has_allow_names(p))
		return RESOLVER_FORWARD;
	for (size_t i = 0; i < p->count; i++)
		if (p->rules[i].action == RULE_ALLOW && policy_name_matches(&p->rules[i], qname))
			return RESOLVER_FORWARD;
	return RESOLVER_REFUSE;
}

bool resolver_needed(const struct policy *p)
{
	for (size_t i = 0; i < p->count; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->kind != RULE_NET && (r->action == RULE_ALLOW || r->port))
			return true;
	}
	return false;
}

/* Where the one question of q ends (12 + name + type and class), or 0
 * when q does not hold exactly one that ends within it. Labels only: a
 * question as sent has no compression pointer. */
static size_t question_end(const uint8_t *q, size_t len)
{
	size_t end = RESOLVER_HEADER_LEN;

	if (q[4] != 0 || q[5] != 1)
		return 0;
	while (end < len && q[end] != 0) {
		if (q[end] > 63 || end - RESOLVER_HEADER_LEN + q[end] + 1 > 254)
			return 0;
		end += 1 + (size_t)q[end];
	}
	end += 1 + 4; /* the zero label, type and class */
	return end <= len ? end : 0;
}

size_t resolver_reply(const uint8_t *query, size_t len, uint8_t rcode, uint8_t *out,
		      size_t outlen)
{
	size_t end;

	if (len < RESOLVER_HEADER_LEN)
		return 0;
	end = question_end(query, len);
	if (!end)
		end = RESOLVER_HEADER_LEN;
	if (end > outlen)
		return 0;
	memcpy(out, query, end);
	out[2] = 0x80 | (query[2] & 0x79); /* QR; opcode and RD kept */
	out[3] = 0x80 | (rcode & 0x0f);    /* RA */
	out[4] = 0;
	out[5] = end > RESOLVER_HEADER_LEN;
	memset(out + 6, 0, 6);
	return end;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count(struct resolver *r, unsigned long *counter)
{
	pthread_mutex_lock(&r->lock);
	(*counter)++;
	pthread_mutex_unlock(&r->lock);
}

static void send_rcode(struct resolver *r, size_t up, const struct sockaddr_in *client,
		       const uint8_t *query, size_t len, uint8_t rcode)
{
	size_t n = resolver_reply(query, len, rcode, r->reply, sizeof(r->reply));

	if (n)
		sendto(r->listen_fds[up], r->reply, n, MSG_DONTWAIT,
		       (const struct sockaddr *)client, sizeof(*client));
}

static const uint8_t verdict_rcode[] = {
	[RESOLVER_REFUSE] = DNS_RCODE_REFUSED,
	[RESOLVER_SERVFAIL] = DNS_RCODE_SERVFAIL,
	[RESOLVER_NXDOMAIN] = DNS_RCODE_NXDOMAIN,
};

/* Sends the question on to upstream `up` from a socket of its own (a
 * fresh source port for each question). 0 or -errno. */
static int forward(struct resolver *r, size_t up, const struct sockaddr_in *client,
		   const struct dns_message *msg, const uint8_t *query, size_t len)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(r->c.upstream_port) };
	struct inflight *slot = NULL;
	int fd;

	for (size_t i = 0; i < RESOLVER_INFLIGHT && !slot; i++)
		if (r->inflight[i].fd < 0)
			slot = &r->inflight[i];
	if (!slot || len > sizeof(slot->query))
		return -EBUSY;
	memcpy(&to.sin_addr, r->c.upstreams[up].addr + 12, 4);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) || send(fd, query, len, 0) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	slot->fd = fd;
	slot->upstream = up;
	slot->client = *client;
	slot->id = msg->id;
	slot->qtype = msg->qtype;
	snprintf(slot->qname, sizeof(slot->qname), "%s", msg->qname);
	memcpy(slot->query, query, len);
	slot->len = len;
	slot->deadline_ms = now_ms() + r->c.timeout_ms;
	return 0;
}

static void on_question(struct resolver *r, size_t up)
{
	struct sockaddr_in client;
	socklen_t clen = sizeof(client);
	struct dns_message msg;
	enum resolver_verdict verdict;
	ssize_t n = recvfrom(r->listen_fds[up], r->buf, sizeof(r->buf), MSG_DONTWAIT,
			     (struct sockaddr *)&client, &clen);

	if (n < RESOLVER_HEADER_LEN || clen != sizeof(client))
		return;
	if (dns_parse(r->buf, (size_t)n, &msg) || msg.response) {
		count(r, &r->stats.unreadable);
		if (!(r->buf[2] & 0x80))
			send_rcode(r, up, &client, r->buf, (size_t)n, DNS_RCODE_FORMERR);
		return;
	}
	verdict = resolver_decide(&r->c.rules, msg.qname, NULL);
	if (verdict != RESOLVER_FORWARD) {
		count(r, verdict == RESOLVER_REFUSE ? &r->stats.refused : &r->stats.overridden);
		send_rcode(r, up, &client, r->buf, (size_t)n, verdict_rcode[verdict]);
		return;
	}
	if (forward(r, up, &client, &msg, r->buf, (size_t)n)) {
		count(r, &r->stats.busy);
		send_rcode(r, up, &client, r->buf, (size_t)n, DNS_RCODE_SERVFAIL);
	}
}

static void finish(struct resolver *r, struct inflight *slot, const uint8_t *answer, size_t len,
		   uint8_t rcode)
{
	if (answer)
		sendto(r->listen_fds[slot->upstream], answer, len, MSG_DONTWAIT,
		       (const struct sockaddr *)&slot->client, sizeof(slot->client));
	else
		send_rcode(r, slot->upstream, &slot->client, slot->query, slot->len, rcode);
	close(slot->fd);
	slot->fd = -1;
}

/* Every (rule, address) pair the answer's names and addresses make:
 * admitted before the answer goes on. */
static int admit_answer(struct resolver *r, const struct dns_message *msg,
			const char *const *chain, size_t nchain)
{
	const struct policy *p = r->c.rules.policy;
	uint8_t addrs[DNS_MAX_ANSWERS][16];
	size_t naddrs = dns_answer_addresses(msg, addrs, DNS_MAX_ANSWERS, NULL, 0);

	for (size_t i = 0; p && i < p->count; i++) {
		const struct policy_rule *rule = &p->rules[i];
		bool judges = rule->action == RULE_ALLOW || rule->port;
		bool matches = false;

		for (size_t k = 0; judges && k < nchain && !matches; k++)
			matches = policy_name_matches(rule, chain[k]);
		for (size_t a = 0; matches && a < naddrs; a++) {
			int rc = r->c.admit(r->c.admit_ctx, rule, addrs[a]);

			if (rc)
				return rc;
		}
	}
	return 0;
}

static void on_answer(struct resolver *r, struct inflight *slot)
{
	const char *chain[DNS_MAX_ANSWERS + 1];
	struct dns_message msg;
	size_t nchain;
	ssize_t n = recv(slot->fd, r->buf, sizeof(r->buf), MSG_DONTWAIT);
	int rc;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) { /* the upstream's port is closed (ICMP), or worse */
		count(r, &r->stats.upstream_failed);
		finish(r, slot, NULL, 0, DNS_RCODE_SERVFAIL);
		return;
	}
	if (dns_parse(r->buf, (size_t)n, &msg)) {
		count(r, &r->stats.bad_answers);
		finish(r, slot, NULL, 0, DNS_RCODE_SERVFAIL);
		return;
	}
	/* not the answer to this question: wait on */
	if (!msg.response || msg.id != slot->id || msg.qtype != slot->qtype ||
	    strcmp(msg.qname, slot->qname))
		return;
	nchain = dns_cname_chain(&msg, chain);
	/* a CNAME to a denied name: refused as the name itself is */
	for (size_t k = 1; k < nchain && r->c.rules.policy; k++) {
		if (policy_check_lookup(r->c.rules.policy, chain[k]).violation) {
			count(r, &r->stats.refused);
			finish(r, slot, NULL, 0, DNS_RCODE_REFUSED);
			return;
		}
	}
	rc = r->c.admit ? admit_answer(r, &msg, chain, nchain) : 0;
	if (rc) {
		pthread_mutex_lock(&r->lock);
		r->stats.admit_failed++;
		r->stats.last_admit_error = rc;
		pthread_mutex_unlock(&r->lock);
		finish(r, slot, NULL, 0, DNS_RCODE_SERVFAIL);
		return;
	}
	count(r, &r->stats.forwarded);
	finish(r, slot, r->buf, (size_t)n, 0);
}

static void *resolver_thread(void *arg)
{
	struct resolver *r = arg;
	struct pollfd fds[1 + RESOLVER_MAX_UPSTREAMS + RESOLVER_INFLIGHT];
	struct inflight *polled[RESOLVER_INFLIGHT];

	for (;;) {
		size_t nfds = 0, nwaiting = 0;
		long long now = now_ms(), timeout = -1;

		fds[nfds++] = (struct pollfd){ .fd = r->wake[0], .events = POLLIN };
		for (size_t i = 0; i < r->c.nupstreams; i++)
			fds[nfds++] = (struct pollfd){ .fd = r->listen_fds[i], .events = POLLIN };
		for (size_t i = 0; i < RESOLVER_INFLIGHT; i++) {
			struct inflight *slot = &r->inflight[i];

			if (slot->fd < 0)
				continue;
			if (slot->deadline_ms <= now) {
				count(r, &r->stats.upstream_failed);
				finish(r, slot, NULL, 0, DNS_RCODE_SERVFAIL);
				continue;
			}
			if (timeout < 0 || slot->deadline_ms - now < timeout)
				timeout = slot->deadline_ms - now;
			polled[nwaiting++] = slot;
			fds[nfds++] = (struct pollfd){ .fd = slot->fd, .events = POLLIN };
		}
		if (poll(fds, nfds, (int)timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents)
			break;
		for (size_t i = 0; i < r->c.nupstreams; i++)
			if (fds[1 + i].revents)
				on_question(r, i);
		for (size_t i = 0; i < nwaiting; i++)
			if (fds[1 + r->c.nupstreams + i].revents)
				on_answer(r, polled[i]);
	}
	return NULL;
}

static int bind_listener(struct resolver *r, size_t i, char *err, size_t errlen)
{
	struct sockaddr_in at = { .sin_family = AF_INET, .sin_port = r->port,
				  .sin_addr.s_addr = r->c.upstreams[i].listen_ip4 };
	socklen_t len = sizeof(at);
	char where[INET_ADDRSTRLEN];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&at, sizeof(at)) ||
	    getsockname(fd, (struct sockaddr *)&at, &len)) {
		int rc = -errno;

		inet_ntop(AF_INET, &at.sin_addr, where, sizeof(where));
		snprintf(err, errlen, "the resolver cannot listen on %s:%u: %s", where,
			 ntohs(at.sin_port), strerror(-rc));
		if (fd >= 0)
			close(fd);
		return rc;
	}
	r->listen_fds[i] = fd;
	r->port = at.sin_port; /* a port picked for the first is used for all */
	return 0;
}

int resolver_parse_upstreams(const char *text, struct resolver_config *c, size_t *skipped_v6,
			     char *err, size_t errlen)
{
	const char *line = text;

	c->nupstreams = 0;
	*skipped_v6 = 0;
	while (*line) {
		size_t len = strcspn(line, "\n");
		char word[16], addr[64], rest[2];
		char buf[256];
		struct in_addr ip4;
		struct in6_addr ip6;
		int n;

		snprintf(buf, sizeof(buf), "%.*s", (int)(len < sizeof(buf) ? len : sizeof(buf) - 1),
			 line);
		buf[strcspn(buf, "#;")] = '\0';
		line += len + (line[len] == '\n');
		n = sscanf(buf, "%15s %63s %1s", word, addr, rest);
		if (n < 2 || strcmp(word, "nameserver"))
			continue;
		if (inet_pton(AF_INET6, addr, &ip6) == 1) {
			(*skipped_v6)++;
			continue;
		}
		if (inet_pton(AF_INET, addr, &ip4) != 1)
			continue; /* as glibc does */
		if (c->nupstreams == RESOLVER_MAX_UPSTREAMS) {
			snprintf(err, errlen, "more than %d name servers: the resolver forwards to at most %d",
				 RESOLVER_MAX_UPSTREAMS, RESOLVER_MAX_UPSTREAMS);
			return -E2BIG;
		}
		memset(c->upstreams[c->nupstreams].addr, 0, 16);
		c->upstreams[c->nupstreams].addr[10] = 0xff;
		c->upstreams[c->nupstreams].addr[11] = 0xff;
		memcpy(c->upstreams[c->nupstreams].addr + 12, &ip4, 4);
		c->upstreams[c->nupstreams].listen_ip4 =
			htonl(RESOLVER_LISTEN_BASE + (uint32_t)c->nupstreams);
		c->nupstreams++;
	}
	if (!c->nupstreams) {
		snprintf(err, errlen, "no IPv4 name server to forward to%s",
			 *skipped_v6 ? " (the resolver does not forward to IPv6 ones)" : "");
		return -ENOENT;
	}
	return 0;
}

int resolver_read_upstreams(const char *path, struct resolver_config *c, char *err,
			    size_t errlen)
{
	char text[16384];
	size_t n, skipped;
	FILE *f = fopen(path, "re");
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	if (n == sizeof(text) - 1) {
		snprintf(err, errlen, "%s: longer than %zu bytes", path, sizeof(text) - 1);
		return -EFBIG;
	}
	rc = resolver_parse_upstreams(text, c, &skipped, err, errlen);
	if (rc) {
		size_t used = strlen(err);

		snprintf(err + used, errlen - used, " in %s", path);
	}
	return rc;
}

int resolver_start(const struct resolver_config *config, struct resolver **out, char *err,
		   size_t errlen)
{
	struct resolver *r;
	int rc = 0;

	if (config->nupstreams > RESOLVER_MAX_UPSTREAMS) {
		snprintf(err, errlen, "%zu DNS servers: the resolver forwards to at most %d",
			 config->nupstreams, RESOLVER_MAX_UPSTREAMS);
		return -EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->c = *config;
	if (!r->c.timeout_ms)
		r->c.timeout_ms = RESOLVER_TIMEOUT_MS;
	r->port = htons(config->listen_port);
	r->wake[0] = r->wake[1] = -1;
	for (size_t i = 0; i < RESOLVER_MAX_UPSTREAMS; i++)
		r->listen_fds[i] = -1;
	for (size_t i = 0; i < RESOLVER_INFLIGHT; i++)
		r->inflight[i].fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	for (size_t i = 0; i < r->c.nupstreams && !rc; i++)
		rc = bind_listener(r, i, err, errlen);
	if (!rc && pipe2(r->wake, O_CLOEXEC)) {
		rc = -errno;
		snprintf(err, errlen, "the resolver cannot make a pipe: %s", strerror(-rc));
	}
	if (!rc) {
		sigset_t all, was;

		/* signals are the main thread's to take */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &was);
		rc = -pthread_create(&r->thread, NULL, resolver_thread, r);
		pthread_sigmask(SIG_SETMASK, &was, NULL);
		if (rc)
			snprintf(err, errlen, "the resolver cannot start its thread: %s",
				 strerror(-rc));
	}
	r->running = !rc;
	if (rc) {
		resolver_stop(r);
		return rc;
	}
	*out = r;
	return 0;
}

void resolver_listen_address(const struct resolver *r, size_t i, uint32_t *ip4, uint16_t *port)
{
	*ip4 = r->c.upstreams[i].listen_ip4;
	*port = r->port;
}

void resolver_get_stats(struct resolver *r, struct resolver_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}

void resolver_stop(struct resolver *r)
{
	if (!r)
		return;
	if (r->running) {
		while (write(r->wake[1], "", 1) < 0 && errno == EINTR)
			;
		pthread_join(r->thread, NULL);
	}
	for (size_t i = 0; i < RESOLVER_INFLIGHT; i++)
		if (r->inflight[i].fd >= 0)
			close(r->inflight[i].fd);
	for (size_t i = 0; i < RESOLVER_MAX_UPSTREAMS; i++)
		if (r->listen_fds[i] >= 0)
			close(r->listen_fds[i]);
	for (size_t i = 0; i < 2; i++)
		if (r->wake[i] >= 0)
			close(r->wake[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
