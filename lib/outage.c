/* outage: see outage.h. */
#include "outage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_format.h"
#include "run_command.h"

/* The modes --outage knows; `needs` says why one cannot be used yet. */
static const struct {
	const char *name;
	enum outage_mode mode;
} modes[] = {
	{ "blackhole", OUTAGE_BLACKHOLE },
	{ "refuse", OUTAGE_REFUSE },
	{ "dns", OUTAGE_DNS },
	{ "nxdomain", OUTAGE_NXDOMAIN },
};

#define NMODES (sizeof(modes) / sizeof(modes[0]))

const char *outage_mode_name(enum outage_mode mode)
{
	for (size_t i = 0; i < NMODES; i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "?";
}

static int parse_mode(const char *text, enum outage_mode *mode, char *err, size_t errlen)
{
	for (size_t i = 0; i < NMODES; i++) {
		if (!strcmp(text, modes[i].name)) {
			*mode = modes[i].mode;
			return 0;
		}
	}
	snprintf(err, errlen, "unknown --outage mode '%s': expected refuse, blackhole, dns or nxdomain",
		 text);
	return -EINVAL;
}

int outage_add(struct outage *o, const char *arg, char *err, size_t errlen)
{
	char target[POLICY_TEXT_LEN], reason[POLICY_TEXT_LEN + 64];
	const char *eq = strchr(arg, '=');
	struct outage_target *t;
	enum outage_mode mode = OUTAGE_BLACKHOLE;

	if (o->count == OUTAGE_MAX_TARGETS) {
		snprintf(err, errlen, "too many --outage targets: at most %d", OUTAGE_MAX_TARGETS);
		return -EINVAL;
	}
	if ((size_t)snprintf(target, sizeof(target), "%.*s",
			     (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg) >= sizeof(target)) {
		snprintf(err, errlen, "--outage: the target is too long");
		return -EINVAL;
	}
	if (eq && parse_mode(eq + 1, &mode, err, errlen))
		return -EINVAL;
	t = &o->targets[o->count];
	if (policy_parse_rule(RULE_DENY, target, "--outage", &t->rule, reason, sizeof(reason))) {
		snprintf(err, errlen, "--outage: %s", reason);
		return -EINVAL;
	}
	t->mode = mode;
	if (outage_by_resolver(t) && t->rule.kind == RULE_NET) {
		snprintf(err, errlen, "--outage %s=%s: the dns modes are for names (their lookups fail); an address takes refuse or blackhole",
			 target, outage_mode_name(mode));
		return -EINVAL;
	}
	if (outage_by_resolver(t) && t->rule.port) {
		snprintf(err, errlen, "--outage %s: a lookup has no port: give the name without one",
			 target);
		return -EINVAL;
	}
	snprintf(t->rule.text, sizeof(t->rule.text), "outage %s (%s)", target, outage_mode_name(mode));
	o->count++;
	return 0;
}

/* --- the report ------------------------------------------------------------ */

void outage_report_init(struct outage_report *r, const struct outage *targets)
{
	memset(r, 0, sizeof(*r));
	r->targets = *targets;
	for (size_t i = 0; i < targets->count; i++)
		r->rules[i] = targets->targets[i].rule;
}

static struct outage_hit *find_hit(const struct outage_report *r, const uint8_t addr[16],
				   uint16_t port, const char *chain)
{
	for (size_t i = 0; i < r->count; i++) {
		struct outage_hit *h = &r->hits[i];

		if (h->port == port && !memcmp(h->addr, addr, 16) && !strcmp(h->chain, chain))
			return h;
	}
	return NULL;
}

const struct outage_hit *outage_report_find(const struct outage_report *r,
					    const uint8_t addr[16], uint16_t port,
					    const char *chain)
{
	return find_hit(r, addr, port, chain);
}

static struct outage_hit *new_hit(struct outage_report *r, const struct event *ev, size_t target)
{
	struct outage_hit *h;
	char endpoint[OUTAGE_DESTINATION_LEN];

	if (r->count == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct outage_hit *hits = realloc(r->hits, cap * sizeof(*hits));

		if (!hits)
			return NULL;
		r->hits = hits;
		r->cap = cap;
	}
	h = &r->hits[r->count++];
	memset(h, 0, sizeof(*h));
	memcpy(h->addr, ev->addr, 16);
	h->port = ev->port;
	format_endpoint(ev->addr, ev->port, endpoint, sizeof(endpoint));
	if (ev->name)
		snprintf(h->destination, sizeof(h->destination), "%s:%u", ev->name, ev->port);
	else
		snprintf(h->destination, sizeof(h->destination), "%s", endpoint);
	snprintf(h->name, sizeof(h->name), "%s", ev->name ? ev->name : "");
	snprintf(h->comm, sizeof(h->comm), "%s", ev->comm);
	snprintf(h->chain, sizeof(h->chain), "%s", ev->chain ? ev->chain : "");
	snprintf(h->via, sizeof(h->via), "%s", ev->via ? ev->via : "");
	h->class = ev->class;
	h->target = r->targets.targets[target].rule.text;
	h->mode = r->targets.targets[target].mode;
	return h;
}

static int add_span(struct outage_hit *h, uint64_t start, uint64_t end)
{
	if (h->nspans == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 4;
		uint64_t(*spans)[2] = realloc(h->spans, cap * sizeof(*spans));

		if (!spans)
			return -ENOMEM;
		h->spans = spans;
		h->cap = cap;
	}
	h->spans[h->nspans][0] = start;
	h->spans[h->nspans][1] = end;
	h->nspans++;
	return 0;
}

void outage_report_note(struct outage_report *r, const struct event *ev)
{
	struct policy view = { .rules = r->rules, .count = r->targets.count };
	struct verdict v;
	struct outage_hit *h;

	if (ev->kind != EVENT_CONNECT || !r->targets.count)
		return;
	v = policy_check_connection(&view, ev->addr, ev->port, ev->name);
	if (!v.violation || !v.rule)
		return;
	h = find_hit(r, ev->addr, ev->port, ev->chain ? ev->chain : "");
	if (!h)
		h = new_hit(r, ev, (size_t)(v.rule - r->rules));
	if (!h || add_span(h, ev->ts_ns, ev->ts_ns + (ev->waited ? ev->wait_ns : 0))) {
		r->error = -ENOMEM;
		return;
	}
	h->attempts++;
	h->reached += !ev->failed && !strcmp(ev->result, "ok");
	snprintf(h->result, sizeof(h->result), "%s", ev->result);
	snprintf(h->outcome, sizeof(h->outcome), "%s", ev->outcome ? ev->outcome : "");
}

void outage_report_set_status(struct outage_report *r, int status)
{
	r->command_exited = true;
	r->command_status = status;
}

static int by_start(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The length of the union of n spans (sorted here). */
static uint64_t union_length(uint64_t (*spans)[2], size_t n)
{
	uint64_t total = 0, end = 0;

	qsort(spans, n, sizeof(*spans), by_start);
	for (size_t i = 0; i < n; i++) {
		uint64_t from = spans[i][0] > end ? spans[i][0] : end;

		if (spans[i][1] > from)
			total += spans[i][1] - from;
		if (spans[i][1] > end)
			end = spans[i][1];
	}
	return total;
}

static int by_lost(const void *a, const void *b)
{
	const struct outage_hit *x = a, *y = b;
	int by;

	if (x->lost_ns != y->lost_ns)
		return x->lost_ns > y->lost_ns ? -1 : 1;
	by = strcmp(x->destination, y->destination);
	return by ? by : strcmp(x->chain, y->chain);
}

void outage_report_finish(struct outage_report *r)
{
	uint64_t(*all)[2];
	size_t n = 0;

	for (size_t i = 0; i < r->count; i++) {
		r->hits[i].lost_ns = union_length(r->hits[i].spans, r->hits[i].nspans);
		n += r->hits[i].nspans;
	}
	all = malloc((n ? n : 1) * sizeof(*all));
	if (all) {
		n = 0;
		for (size_t i = 0; i < r->count; i++) {
			if (r->hits[i].class == CLASS_TRANSIENT)
				continue; /* outside the cgroup: its waits are not the command's */
			for (size_t j = 0; j < r->hits[i].nspans; j++, n++)
				memcpy(all[n], r->hits[i].spans[j], sizeof(all[n]));
		}
		r->lost_ns = union_length(all, n);
		free(all);
	} else {
		r->error = -ENOMEM;
	}
	qsort(r->hits, r->count, sizeof(*r->hits), by_lost);
}

bool outage_report_failed(const struct outage_report *r, double budget_s)
{
	return !r->command_exited || r->command_status != 0 ||
	       (double)r->lost_ns > budget_s * 1e9;
}

/* "blackholed: waited 2.0s (curl gave up)" */
static void describe_hit(const struct outage_hit *h, char *buf, size_t len)
{
	char wait[WAIT_LEN];
	const char *how = h->mode == OUTAGE_REFUSE ? "refused" : "blackholed";

	format_wait(h->lost_ns, wait, sizeof(wait));
	if (h->class == CLASS_TRANSIENT)
		snprintf(buf, len, "outside the rehearsal (a service the command called, not in its cgroup): %u of %u attempts connected (%s)",
			 h->reached, h->attempts, h->result);
	else if (h->reached)
		snprintf(buf, len, "NOT CUT: %u of %u attempts connected (%s)", h->reached,
			 h->attempts, h->result);
	else if (!strcmp(h->outcome, "closed"))
		snprintf(buf, len, "%s: waited %s (%s gave up: %s)", how, wait, h->comm, h->result);
	else if (!strcmp(h->outcome, "timeout"))
		snprintf(buf, len, "%s: waited %s (the kernel gave up: %s)", how, wait, h->result);
	else if (!strcmp(h->outcome, "pending"))
		snprintf(buf, len, "%s: waited %s (still waiting when tracing ended)", how, wait);
	else
		snprintf(buf, len, "%s: waited %s (%s)", how, wait, h->result);
}

static void status_text(const struct outage_report *r, char *buf, size_t len)
{
	int code = run_command_exit_code(r->command_status);

	if (!r->command_exited)
		snprintf(buf, len, "the command was not seen to end");
	else if (code == 0)
		snprintf(buf, len, "the command succeeded (exit status 0)");
	else
		snprintf(buf, len, "the command failed (exit status %d)", code);
}

void outage_report_lines(const struct outage_report *r,
			 void (*line)(void *arg, const char *text), void *arg)
{
	char text[2 * OUTAGE_CHAIN_LEN + OUTAGE_DESTINATION_LEN + 256], status[64], how[160];
	char wait[WAIT_LEN];
	size_t used;

	status_text(r, status, sizeof(status));
	format_wait(r->lost_ns, wait, sizeof(wait));
	used = (size_t)snprintf(text, sizeof(text), "REHEARSAL (");
	for (size_t i = 0; i < r->targets.count && used < sizeof(text); i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%s", i ? ", " : "",
					 r->targets.targets[i].rule.text);
	if (used < sizeof(text))
		snprintf(text + used, sizeof(text) - used,
			 "): %s; it waited %s on the outage, %zu hit%s", status, wait, r->count,
			 r->count == 1 ? "" : "s");
	line(arg, text);
	for (size_t i = 0; i < r->count; i++) {
		const struct outage_hit *h = &r->hits[i];

		describe_hit(h, how, sizeof(how));
		if (h->class == CLASS_TRANSIENT)
			snprintf(text, sizeof(text), "%s  transient (%s)  %s x%u", h->destination,
				 h->via, how, h->attempts);
		else
			snprintf(text, sizeof(text), "%s  %s (%s)  %s x%u", h->destination,
				 class_name(h->class), h->chain, how, h->attempts);
		line(arg, text);
	}
	if (r->error)
		line(arg, "(out of memory: hits are missing from this report)");
}

void outage_report_json(const struct outage_report *r, struct json_writer *w)
{
	char address[ADDRESS_LEN];

	jsonw_start_object(w);
	jsonw_name(w, "targets");
	jsonw_start_array(w);
	for (size_t i = 0; i < r->targets.count; i++)
		jsonw_string(w, r->targets.targets[i].rule.text);
	jsonw_end_array(w);
	jsonw_bool_field(w, "exited", r->command_exited);
	if (r->command_exited)
		jsonw_uint_field(w, "status", (uint64_t)run_command_exit_code(r->command_status));
	jsonw_fixed_field(w, "lost_ms", wait_us(r->lost_ns) / 1e3, 3);
	jsonw_bool_field(w, "complete", !r->error);
	jsonw_name(w, "hits");
	jsonw_start_array(w);
	for (size_t i = 0; i < r->count; i++) {
		const struct outage_hit *h = &r->hits[i];

		format_address(h->addr, address, sizeof(address));
		jsonw_start_object(w);
		if (h->name[0])
			jsonw_string_field(w, "name", h->name);
		jsonw_string_field(w, "address", address);
		jsonw_uint_field(w, "port", h->port);
		jsonw_string_field(w, "comm", h->comm);
		jsonw_string_field(w, "chain", h->chain);
		jsonw_string_field(w, "class", class_name(h->class));
		if (h->via[0])
			jsonw_string_field(w, "via", h->via);
		jsonw_string_field(w, "target", h->target);
		jsonw_string_field(w, "mode", outage_mode_name(h->mode));
		jsonw_string_field(w, "result", h->result);
		jsonw_string_field(w, "outcome", h->outcome);
		jsonw_uint_field(w, "attempts", h->attempts);
		jsonw_uint_field(w, "reached", h->reached);
		jsonw_fixed_field(w, "lost_ms", wait_us(h->lost_ns) / 1e3, 3);
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	jsonw_end_object(w);
}

void outage_report_free(struct outage_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->hits[i].spans);
	free(r->hits);
	r->hits = NULL;
	r->count = r->cap = 0;
}
