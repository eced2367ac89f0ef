/* saved_run: see saved_run.h. */
#define _GNU_SOURCE
#include "saved_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "event_format.h"
#include "json_reader.h"

/* Longer lines are refused rather than read: a summary of many
 * dependencies is the longest a deptrace writes. */
#define SAVED_RUN_MAX_LINE (16u << 20)

struct saved_run {
	FILE *stream;
	char path[256];
	unsigned long line;
	char *buf;
	size_t cap;
	struct run_info info;
};

/* Reads the next line into run->buf: its length, 0 at the end, or
 * -errno. */
static ssize_t read_line(struct saved_run *run, char *err, size_t errlen)
{
	ssize_t n;

	errno = 0;
	n = getline(&run->buf, &run->cap, run->stream);
	if (n < 0) {
		if (errno && errno != EOF) {
			snprintf(err, errlen, "%s: %s", run->path, strerror(errno));
			return -errno;
		}
		return 0;
	}
	run->line++;
	if ((size_t)n > SAVED_RUN_MAX_LINE) {
		snprintf(err, errlen, "%s:%lu: a line longer than %u bytes: not a saved run",
			 run->path, run->line, SAVED_RUN_MAX_LINE);
		return -EFBIG;
	}
	return n;
}

/* A string member into `out`: 0; -EINVAL when it is not a string, is
 * longer than `len` allows, or is absent and `required`. */
static int copy_string(const struct jsonr_node *obj, const char *key, char *out, size_t len,
		       bool required)
{
	const struct jsonr_node *m = jsonr_get(obj, key);
	const char *s = jsonr_string(m);

	out[0] = '\0';
	if (!m)
		return required ? -EINVAL : 0;
	if (!s || strlen(s) >= len)
		return -EINVAL;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int parse_address(const char *text, uint8_t addr[16])
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		address_from_v4(v4, addr);
		return 0;
	}
	return inet_pton(AF_INET6, text, addr) == 1 ? 0 : -EINVAL;
}

static int parse_proto(const char *text, uint8_t *proto)
{
	for (unsigned i = 0; i <= DEPTRACE_PROTO_OTHER; i++) {
		if (!strcmp(proto_name(i), text)) {
			*proto = (uint8_t)i;
			return 0;
		}
	}
	return -EINVAL;
}

#define bad(what) do { *field = (what); return -EINVAL; } while (0)

static int read_violation(const struct jsonr_node *v, struct saved_event *s,
			  const char **field)
{
	const char *class_name = jsonr_string(jsonr_get(v, "class"));

	if (copy_string(v, "rule", s->rule, sizeof(s->rule), true))
		bad("violation.rule");
	if (copy_string(v, "origin", s->origin, sizeof(s->origin), false))
		bad("violation.origin");
	if (!class_name || class_parse(class_name, &s->ev.class))
		bad("violation.class");
	s->violation = (struct event_violation){
		.rule = s->rule,
		.origin = s->origin[0] ? s->origin : NULL,
		.enforcing = jsonr_get(v, "blocked") != NULL,
		.blocked = jsonr_bool(jsonr_get(v, "blocked"), false),
		.unguarded = jsonr_bool(jsonr_get(v, "outside_cgroup"), false),
		.refusal = jsonr_bool(jsonr_get(v, "refusal"), false),
	};
	s->ev.violation = &s->violation;
	return 0;
}

static int read_connect(const struct jsonr_node *o, struct saved_event *s, const char **field)
{
	const struct jsonr_node *v;
	char text[ADDRESS_LEN];
	uint64_t port;

	if (copy_string(o, "proto", text, sizeof(text), true) || parse_proto(text, &s->ev.proto))
		bad("proto");
	if (copy_string(o, "address", text, sizeof(text), true) ||
	    parse_address(text, s->ev.addr))
		bad("address");
	if (jsonr_uint(jsonr_get(o, "port"), &port) || port > 65535)
		bad("port");
	s->ev.port = (uint16_t)port;
	if (copy_string(o, "name", s->name, sizeof(s->name), false))
		bad("name");
	s->ev.name = s->name[0] ? s->name : NULL;
	v = jsonr_get(o, "name_source");
	if (v && (!jsonr_string(v) || !s->ev.name ||
		  name_source_parse(jsonr_string(v), &s->ev.name_source)))
		bad("name_source");
	v = jsonr_get(o, "also_names");
	if (v && (v->type != JSONR_ARRAY || !s->ev.name))
		bad("also_names");
	for (const struct jsonr_node *a = v ? v->child : NULL; a; a = a->next) {
		if (s->ev.nalso == NAME_CANDIDATES - 1 || !jsonr_string(a) ||
		    strlen(a->text) >= sizeof(s->also[0]) || !a->text[0])
			bad("also_names");
		memcpy(s->also[s->ev.nalso], a->text, strlen(a->text) + 1);
		s->also_ptrs[s->ev.nalso] = s->also[s->ev.nalso];
		s->ev.nalso++;
	}
	s->ev.also = s->also_ptrs;
	if (copy_string(o, "result", s->result, sizeof(s->result), true))
		bad("result");
	s->ev.failed = jsonr_bool(jsonr_get(o, "failed"), false);
	return 0;
}

static int read_lookup(const struct jsonr_node *o, struct saved_event *s, const char **field)
{
	const struct jsonr_node *answers = jsonr_get(o, "answers");

	if (copy_string(o, "query", s->qname, sizeof(s->qname), true))
		bad("query");
	if (copy_string(o, "qtype", s->qtype, sizeof(s->qtype), true))
		bad("qtype");
	if (copy_string(o, "status", s->result, sizeof(s->result), true))
		bad("status");
	if (!answers || answers->type != JSONR_ARRAY)
		bad("answers");
	for (const struct jsonr_node *a = answers->child; a; a = a->next) {
		if (s->ev.nanswers == DNS_MAX_ANSWERS || !jsonr_string(a) ||
		    parse_address(a->text, s->answers[s->ev.nanswers]))
			bad("answers");
		s->ev.nanswers++;
	}
	s->ev.qname = s->qname;
	s->ev.qtype = s->qtype;
	s->ev.answers = s->answers;
	/* not saved: a lookup failed unless it was answered NOERROR */
	s->ev.failed = strcmp(s->result, "NOERROR") != 0;
	return 0;
}

/* An event object into `s`; *field names what was wrong. */
static int read_event(const struct jsonr_node *o, const char *type, struct saved_event *s,
		      const char **field)
{
	uint64_t pid, ppid, ns, latency;
	const struct jsonr_node *v;

	memset(s, 0, sizeof(*s));
	if (!strcmp(type, "connect"))
		s->ev.kind = EVENT_CONNECT;
	else if (!strcmp(type, "dns"))
		s->ev.kind = EVENT_LOOKUP;
	else if (!strcmp(type, "exec"))
		s->ev.kind = EVENT_EXEC;
	else
		bad("type");
	if (jsonr_fixed9(jsonr_get(o, "time"), &ns))
		bad("time");
	if (jsonr_uint(jsonr_get(o, "pid"), &pid) || pid > INT32_MAX)
		bad("pid");
	if (jsonr_uint(jsonr_get(o, "ppid"), &ppid) || ppid > INT32_MAX)
		bad("ppid");
	if (copy_string(o, "comm", s->comm, sizeof(s->comm), true))
		bad("comm");
	if (copy_string(o, "exe", s->proc.exe, sizeof(s->proc.exe), false))
		bad("exe");
	if (copy_string(o, "script", s->proc.script, sizeof(s->proc.script), false))
		bad("script");
	if (copy_string(o, "args", s->proc.args, sizeof(s->proc.args), false))
		bad("args");
	if (copy_string(o, "chain", s->chain, sizeof(s->chain), false))
		bad("chain");
	if (copy_string(o, "class", s->class_name, sizeof(s->class_name), false) ||
	    (s->class_name[0] && class_parse(s->class_name, &s->ev.class)))
		bad("class");
	if (copy_string(o, "evidence", s->evidence, sizeof(s->evidence), false))
		bad("evidence");
	if (copy_string(o, "via", s->via, sizeof(s->via), false))
		bad("via");
	s->proc.pid = (pid_t)pid;
	s->proc.ppid = (pid_t)ppid;
	s->proc.root = jsonr_bool(jsonr_get(o, "root"), false);
	memcpy(s->proc.comm, s->comm, sizeof(s->comm));
	s->ev.ts_ns = ns;
	s->ev.pid = (uint32_t)pid;
	s->ev.ppid = (uint32_t)ppid;
	s->ev.comm = s->comm;
	s->ev.proc = &s->proc;
	s->ev.chain = s->chain;
	s->ev.evidence = s->evidence[0] ? s->evidence : NULL;
	s->ev.via = s->via[0] ? s->via : NULL;
	s->ev.result = s->result;
	s->ev.new_dep = jsonr_bool(jsonr_get(o, "new"), false);
	if (copy_string(o, "outcome", s->outcome, sizeof(s->outcome), false))
		bad("outcome");
	s->ev.outcome = s->outcome[0] ? s->outcome : NULL;
	/* milliseconds with 3 decimals: read as if seconds, then scaled */
	v = jsonr_get(o, "latency_ms");
	if (v) {
		if (jsonr_fixed9(v, &latency))
			bad("latency_ms");
		s->ev.waited = true;
		s->ev.wait_ns = latency / 1000;
	}
	if (s->ev.kind == EVENT_CONNECT && read_connect(o, s, field))
		return -EINVAL;
	if (s->ev.kind == EVENT_LOOKUP && read_lookup(o, s, field))
		return -EINVAL;
	v = jsonr_get(o, "violation");
	if (v && v->type != JSONR_OBJECT)
		bad("violation");
	return v ? read_violation(v, s, field) : 0;
}

static int read_info(const struct jsonr_node *o, struct run_info *info, const char **field)
{
	uint64_t schema;

	if (jsonr_uint(jsonr_get(o, "schema"), &schema))
		bad("schema");
	info->schema = schema > 1000 ? 1000 : (unsigned)schema;
	if (info->schema != OUTPUT_SCHEMA)
		return -EPROTO;
	if (copy_string(o, "deptrace", info->version, sizeof(info->version), true))
		bad("deptrace");
	if (copy_string(o, "host", info->host, sizeof(info->host), true))
		bad("host");
	if (copy_string(o, "kernel", info->kernel, sizeof(info->kernel), true))
		bad("kernel");
	if (copy_string(o, "command", info->command, sizeof(info->command), true))
		bad("command");
	if (copy_string(o, "start", info->start, sizeof(info->start), true))
		bad("start");
	info->map = jsonr_bool(jsonr_get(o, "map"), false);
	info->enforced = jsonr_bool(jsonr_get(o, "enforced"), false);
	return 0;
}

#undef bad

/* The next line as JSON; 0 at the end. */
static int next_object(struct saved_run *run, struct jsonr_node **root, char *err,
		       size_t errlen)
{
	char why[128];
	ssize_t n = read_line(run, err, errlen);
	int rc;

	*root = NULL;
	if (n <= 0)
		return (int)n;
	rc = jsonr_parse(run->buf, (size_t)n, root, why, sizeof(why));
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s:%lu: not JSON (%s)", run->path, run->line, why);
	else if (rc)
		snprintf(err, errlen, "%s", why);
	if (!rc && (*root)->type != JSONR_OBJECT) {
		snprintf(err, errlen, "%s:%lu: not a JSON object", run->path, run->line);
		jsonr_free(*root);
		*root = NULL;
		rc = -EINVAL;
	}
	return rc ? rc : 1;
}

int saved_run_open(const char *path, struct saved_run **out, char *err, size_t errlen)
{
	struct saved_run *run = calloc(1, sizeof(*run));
	struct jsonr_node *root = NULL;
	const char *field = "type";
	int rc;

	*out = NULL;
	if (!run) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(run->path, sizeof(run->path), "%s", path);
	run->stream = fopen(path, "r");
	if (!run->stream) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		saved_run_close(run);
		return rc;
	}
	rc = next_object(run, &root, err, errlen);
	if (rc == 0 || (rc > 0 && strcmp(jsonr_string(jsonr_get(root, "type")) ?: "", "run"))) {
		snprintf(err, errlen,
			 "%s: not a saved deptrace run (it does not start with a {\"type\":\"run\"} record): save one with deptrace --json -o FILE",
			 path);
		rc = -EINVAL;
	} else if (rc > 0) {
		rc = read_info(root, &run->info, &field);
		if (rc == -EPROTO)
			snprintf(err, errlen,
				 "%s: saved with schema %u; this deptrace reads schema %d: replay it with the deptrace that saved it",
				 path, run->info.schema, OUTPUT_SCHEMA);
		else if (rc)
			snprintf(err, errlen, "%s:1: the run record's \"%s\" is missing or wrong",
				 path, field);
	}
	jsonr_free(root);
	if (rc < 0) {
		saved_run_close(run);
		return rc;
	}
	*out = run;
	return 0;
}

const struct run_info *saved_run_info(const struct saved_run *run)
{
	return &run->info;
}

int saved_run_next(struct saved_run *run, struct saved_event *ev, char *err, size_t errlen)
{
	for (;;) {
		struct jsonr_node *root;
		const char *field = NULL;
		char type[16];
		int rc = next_object(run, &root, err, errlen);

		if (rc <= 0)
			return rc;
		snprintf(type, sizeof(type), "%s", jsonr_string(jsonr_get(root, "type")) ?: "");
		if (!strcmp(type, "summary")) {
			jsonr_free(root);
			continue;
		}
		rc = read_event(root, type, ev, &field);
		jsonr_free(root);
		if (rc) {
			if (!strcmp(field, "type"))
				snprintf(err, errlen,
					 "%s:%lu: not an event (\"type\" is connect, dns, exec or summary)",
					 run->path, run->line);
			else
				snprintf(err, errlen, "%s:%lu: the %s event's \"%s\" is missing or wrong",
					 run->path, run->line, type, field);
			return rc;
		}
		return 1;
	}
}

void saved_run_close(struct saved_run *run)
{
	if (!run)
		return;
	if (run->stream)
		fclose(run->stream);
	free(run->buf);
	free(run);
}

void saved_run_key(const struct event *ev, char *key, size_t len)
{
	const char *program = ev->proc && ev->proc->exe[0] ? ev->proc->exe : ev->comm;
	char endpoint[DESTINATION_LEN];

	if (ev->kind == EVENT_LOOKUP) {
		snprintf(key, len, "%s %s DNS (%s)", ev->qname, ev->qtype, program);
		return;
	}
	format_endpoint(ev->addr, ev->port, endpoint, sizeof(endpoint));
	if (ev->name)
		snprintf(key, len, "%s:%u %s (%s)", ev->name, ev->port, proto_name(ev->proto),
			 program);
	else
		snprintf(key, len, "%s %s (%s)", endpoint, proto_name(ev->proto), program);
}

int saved_run_key_compare(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int saved_run_keys(const char *path, char ***keys, size_t *count, char *err, size_t errlen)
{
	struct saved_event *ev = malloc(sizeof(*ev));
	struct saved_run *run = NULL;
	char key[SAVED_RUN_KEY_LEN], **list = NULL;
	size_t n = 0, cap = 0;
	int rc = ev ? saved_run_open(path, &run, err, errlen) : -ENOMEM;

	while (!rc && (rc = saved_run_next(run, ev, err, errlen)) > 0) {
		rc = 0;
		if (ev->ev.kind == EVENT_EXEC)
			continue;
		if (n == cap) {
			char **grown = realloc(list, (cap = cap ? cap * 2 : 64) * sizeof(*list));

			if (!grown) {
				rc = -ENOMEM;
				break;
			}
			list = grown;
		}
		saved_run_key(&ev->ev, key, sizeof(key));
		if (!(list[n] = strdup(key))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	saved_run_close(run);
	free(ev);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc) {
		saved_run_keys_free(list, n);
		return rc;
	}
	qsort(list, n, sizeof(*list), saved_run_key_compare);
	*count = 0;
	for (size_t i = 0; i < n; i++) {
		if (*count && !strcmp(list[*count - 1], list[i]))
			free(list[i]);
		else
			list[(*count)++] = list[i];
	}
	*keys = list;
	return 0;
}

void saved_run_keys_free(char **keys, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(keys[i]);
	free(keys);
}
