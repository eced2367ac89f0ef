/* output: see output.h. */
#include "output.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "event_format.h"
#include "json_writer.h"
#include "outage.h"

/* The text and JSON emitters: the format is chosen once per run, by
 * output_init, not per field. */
struct output_emitter {
	void (*header)(struct output *out, const struct run_info *info);
	void (*event)(struct output *out, const struct event *ev);
	void (*summary)(struct output *out, const struct depmap *map,
			const struct run_totals *totals, const struct outage_report *outage,
			bool asked);
};

static double seconds(const struct output *out, uint64_t ts_ns)
{
	return ts_ns > out->start_ns ? (ts_ns - out->start_ns) / 1e9 : 0.0;
}

void format_class_counts(const uint64_t counts[CLASS_COUNT], char *buf, size_t len)
{
	size_t used = 0;

	for (int c = 0; c < CLASS_COUNT && used < len; c++) {
		int n = snprintf(buf + used, len - used, "%s%llu %s%s", c ? ", " : "(",
				 (unsigned long long)counts[c], class_name(c),
				 c + 1 == CLASS_COUNT ? ")" : "");

		used += n > 0 ? (size_t)n : 0;
	}
}

void format_violations(const struct run_totals *totals, char *buf, size_t len)
{
	char counts[CLASS_COUNTS_LEN];

	format_class_counts(totals->class_violations, counts, sizeof(counts));
	snprintf(buf, len, "%llu violation%s %s", (unsigned long long)totals->violations,
		 totals->violations == 1 ? "" : "s", counts);
}

void format_new_deps(const struct run_totals *totals, char *buf, size_t len)
{
	snprintf(buf, len, "%llu attempt%s at dependencies the baseline run did not have",
		 (unsigned long long)totals->new_deps, totals->new_deps == 1 ? "" : "s");
}

/* --- text ------------------------------------------------------------------ */

#define LINE_FORMAT "%-9s %-7s %-7s %-15s %-6s %-13s %-7s %s%s"
/* The longest line: a summary's destination with every result kind and
 * the rule, or an event's chain and rule; well within. */
#define TEXT_LINE_LEN 4096

/* A line is built whole, then written through text_end_line. */
struct text_line {
	char buf[TEXT_LINE_LEN];
	size_t used;
};

static void __attribute__((format(printf, 2, 3)))
text_add(struct text_line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->used >= sizeof(l->buf))
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->buf + l->used, sizeof(l->buf) - l->used, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->used += (size_t)n;
}

/* Writes the line with its control bytes (a program's name, arguments, a
 * DNS name: what the traced programs chose) in a visible form, "\x1b", so
 * that none reaches the terminal raw, then ends it. */
static void text_end_line(FILE *f, struct text_line *l)
{
	for (const char *s = l->buf; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('\n', f);
	l->used = 0;
	l->buf[0] = '\0';
}

/* Whether an event is the traced command's own: its class needs no
 * chain or evidence. */
static bool event_is_command(const struct event *ev)
{
	return ev->proc && ev->proc->root;
}

/* The class at the end of the line: "direct" (the command's own),
 * "hidden (deploy.sh > migrate > curl; not in migrate's argv)" with the
 * chain and the evidence, or "transient (deploy.sh > curl ->
 * api.internal.example:8080 internal-api)" with the path. */
static void text_class(struct text_line *l, const struct event *ev)
{
	text_add(l, "%s", class_name(ev->class));
	if (ev->via)
		text_add(l, " (%s)", ev->via);
	else if (!event_is_command(ev) && ev->evidence)
		text_add(l, " (%s; %s)", ev->chain ? ev->chain : "",
			 ev->evidence ? ev->evidence : "");
}

/* "VIOLATION hidden (deploy.sh > migrate > curl; not in migrate's argv):
 * deny forge.example.com"; in force, an event that got through anyway
 * says so: "VIOLATION direct, NOT BLOCKED: ...", with the reason when it
 * is known. */
static void text_violation(struct text_line *l, const struct event *ev)
{
	const struct event_violation *v = ev->violation;

	text_add(l, "  VIOLATION ");
	text_class(l, ev);
	text_add(l, "%s%s: %s", v->enforcing && !v->blocked ? ", NOT BLOCKED" : "",
		 v->unguarded ? " (socket made outside the cgroup)" : "", v->rule);
}

static void text_header(struct output *out, const struct run_info *info)
{
	struct text_line l = { .used = 0 };

	text_add(&l, LINE_FORMAT, "TIME(s)", "PID", "PPID", "COMM", "PROTO", "RESULT", "WAIT",
		 "DESTINATION", "");
	text_end_line(out->stream, &l);
}

/* " (forge.example.com)"; with other names the process resolved the
 * address to, " (forge.example.com, also cdn.example.net)"; named by
 * another process's answer (a fallback), " (forge.example.com tree)"; by
 * the connection's first bytes, " (forge.example.com sni)" or "... host)". */
static void text_names(const struct event *ev, char *buf, size_t len)
{
	size_t used = (size_t)snprintf(buf, len, " (%s", ev->name);

	for (size_t i = 0; i < ev->nalso && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : ", also ",
					 ev->also[i]);
	if (used < len)
		snprintf(buf + used, len - used, "%s%s)", name_source_marked(ev->name_source) ? " " : "",
			 name_source_marked(ev->name_source) ? name_source_word(ev->name_source) : "");
}

/* DESTINATION: "192.0.2.10:443 (forge.example.com)", or
 * "forge.example.com A -> 192.0.2.10, 2001:db8::10". */
static void text_destination(const struct event *ev, char *buf, size_t len)
{
	char endpoint[DESTINATION_LEN], address[ADDRESS_LEN];
	size_t used;

	if (ev->kind == EVENT_CONNECT) {
		format_endpoint(ev->addr, ev->port, endpoint, sizeof(endpoint));
		used = (size_t)snprintf(buf, len, "%s", endpoint);
		if (ev->name)
			text_names(ev, buf + used, len - used);
		return;
	}
	used = (size_t)snprintf(buf, len, "%s %s", ev->qname, ev->qtype);
	for (size_t i = 0; i < ev->nanswers && used < len; i++) {
		format_address(ev->answers[i], address, sizeof(address));
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : " -> ",
					 address);
	}
}

static void text_event(struct output *out, const struct event *ev)
{
	char time[24], pid[12], ppid[12], wait[WAIT_LEN] = "-";
	char destination[DEP_NAME_LEN * (NAME_CANDIDATES + 1) + 16 * ADDRESS_LEN];
	struct text_line l = { .used = 0 };

	if (ev->kind == EVENT_EXEC)
		return; /* the exec shows in the chains of the events after it */
	snprintf(time, sizeof(time), "%.3f", seconds(out, ev->ts_ns));
	snprintf(pid, sizeof(pid), "%u", ev->pid);
	snprintf(ppid, sizeof(ppid), "%u", ev->ppid);
	text_destination(ev, destination, sizeof(destination));
	if (ev->waited)
		format_wait(ev->wait_ns, wait, sizeof(wait));
	text_add(&l, LINE_FORMAT, time, pid, ppid, ev->comm,
		 ev->kind == EVENT_LOOKUP ? "DNS" : proto_name(ev->proto), ev->result, wait,
		 destination, "");
	if (ev->new_dep)
		text_add(&l, "  NEW");
	if (ev->violation) {
		text_violation(&l, ev);
	} else {
		text_add(&l, "  ");
		text_class(&l, ev);
	}
	text_end_line(out->stream, &l);
}

static void text_dependency(struct output *out, const struct dependency *d)
{
	char endpoint[DESTINATION_LEN], wait[WAIT_LEN];
	struct text_line l = { .used = 0 };

	if (d->kind == DEP_LOOKUP) {
		text_add(&l, "%s", d->name);
	} else {
		format_endpoint(d->addr, d->port, endpoint, sizeof(endpoint));
		text_add(&l, "%s%s%s", d->name, d->name[0] ? " " : "", endpoint);
	}
	text_add(&l, "  %s  %u time%s, %.3f-%.3fs: ",
		 d->kind == DEP_LOOKUP ? "DNS" : proto_name(d->proto), d->count,
		 d->count == 1 ? "" : "s", seconds(out, d->first_ns), seconds(out, d->last_ns));
	for (size_t i = 0; i < d->nresults; i++)
		text_add(&l, "%s%s x%u", i ? ", " : "", d->results[i].text, d->results[i].count);
	if (d->other_results)
		text_add(&l, ", %u other", d->other_results);
	if (d->timed) {
		format_wait(d->slowest_ns, wait, sizeof(wait));
		text_add(&l, "; slowest %s", wait);
	}
	if (d->violations)
		text_add(&l, "  VIOLATION %s x%u", d->rule, d->violations);
	text_end_line(out->stream, &l);
	for (size_t j = 0; j < d->nprograms; j++) {
		const struct dep_program *p = &d->programs[j];

		text_add(&l, "    %s x%u  (%s%s%s%s%s)  %s", p->chain, p->count, p->comm,
			 p->exe[0] ? " " : "", p->exe, p->script[0] ? " " : "", p->script,
			 class_name(p->class));
		if (p->via[0])
			text_add(&l, " (%s)", p->via);
		if (p->violations)
			text_add(&l, "  VIOLATION");
		text_end_line(out->stream, &l);
	}
	if (d->other_programs) {
		text_add(&l, "    and %u more", d->other_programs);
		text_end_line(out->stream, &l);
	}
}

static void text_report_line(void *arg, const char *text)
{
	struct output *out = arg;
	struct text_line l = { .used = 0 };

	text_add(&l, "%s", text);
	text_end_line(out->stream, &l);
}

static void text_map(struct output *out, const struct depmap *map,
		     const struct run_totals *totals)
{
	struct text_line l = { .used = 0 };
	char classes[CLASS_COUNTS_LEN];

	fputc('\n', out->stream);
	format_class_counts(totals->classes, classes, sizeof(classes));
	/* the classes count lines, not the dependencies they group */
	text_add(&l, "DEPENDENCIES (%zu) of %llu connections and lookups %s", map->count,
		 (unsigned long long)(totals->connections + totals->lookups), classes);
	text_end_line(out->stream, &l);
	for (size_t i = 0; i < map->count; i++)
		text_dependency(out, &map->deps[i]);
	if (totals->policy) {
		format_violations(totals, l.buf, sizeof(l.buf));
		text_end_line(out->stream, &l);
	}
	if (totals->baseline) {
		format_new_deps(totals, l.buf, sizeof(l.buf));
		text_end_line(out->stream, &l);
	}
}

/* The rehearsal's report, after the map: whether or not the map is shown. */
static void text_summary(struct output *out, const struct depmap *map,
			 const struct run_totals *totals, const struct outage_report *outage,
			 bool asked)
{
	if (asked)
		text_map(out, map, totals);
	if (outage) {
		fputc('\n', out->stream);
		outage_report_lines(outage, text_report_line, out);
	}
}

/* --- JSON Lines ------------------------------------------------------------ */

/* The run record: what a saved run says about itself (schema in the
 * README). */
static void json_header(struct output *out, const struct run_info *info)
{
	struct json_writer w;

	if (!info)
		return;
	jsonw_init(&w, out->stream);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "type", "run");
	jsonw_uint_field(&w, "schema", info->schema);
	jsonw_string_field(&w, "deptrace", info->version);
	jsonw_string_field(&w, "host", info->host);
	jsonw_string_field(&w, "kernel", info->kernel);
	jsonw_string_field(&w, "command", info->command);
	jsonw_string_field(&w, "start", info->start);
	jsonw_bool_field(&w, "map", info->map);
	jsonw_bool_field(&w, "enforced", info->enforced);
	jsonw_end_object(&w);
}

/* "violation": {"class", "rule", "origin", "chain", "blocked"}, where
 * "origin" is left out for an allow-list miss and "blocked" when the
 * policy was not in force. */
static void json_violation(struct json_writer *w, const struct event *ev)
{
	const struct event_violation *v = ev->violation;

	jsonw_name(w, "violation");
	jsonw_start_object(w);
	jsonw_string_field(w, "class", class_name(ev->class));
	jsonw_string_field(w, "rule", v->rule);
	if (v->origin)
		jsonw_string_field(w, "origin", v->origin);
	jsonw_string_field(w, "chain", ev->chain ? ev->chain : "");
	if (v->enforcing)
		jsonw_bool_field(w, "blocked", v->blocked);
	if (v->unguarded)
		jsonw_bool_field(w, "outside_cgroup", true);
	if (v->refusal)
		jsonw_bool_field(w, "refusal", true);
	jsonw_end_object(w);
}

/* "latency_ms": WAIT in milliseconds, when the outcome was timed. */
static void json_latency(struct json_writer *w, const struct event *ev)
{
	if (ev->waited)
		jsonw_fixed_field(w, "latency_ms", wait_us(ev->wait_ns) / 1e3, 3);
}

/* "class" and "evidence" (or "via") of a connection or lookup. */
static void json_class(struct json_writer *w, const struct event *ev)
{
	jsonw_string_field(w, "class", class_name(ev->class));
	if (ev->evidence)
		jsonw_string_field(w, "evidence", ev->evidence);
	if (ev->via)
		jsonw_string_field(w, "via", ev->via);
}

static const char *const json_event_types[] = {
	[EVENT_CONNECT] = "connect",
	[EVENT_LOOKUP] = "dns",
	[EVENT_EXEC] = "exec",
};

static void json_event(struct output *out, const struct event *ev)
{
	struct json_writer w;
	char address[ADDRESS_LEN];

	jsonw_init(&w, out->stream);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "type", json_event_types[ev->kind]);
	/* nanoseconds: a replay's times are the live run's exactly */
	jsonw_fixed_field(&w, "time", seconds(out, ev->ts_ns), 9);
	jsonw_uint_field(&w, "pid", ev->pid);
	jsonw_uint_field(&w, "ppid", ev->ppid);
	jsonw_string_field(&w, "comm", ev->comm);
	if (ev->proc && ev->proc->exe[0])
		jsonw_string_field(&w, "exe", ev->proc->exe);
	if (ev->proc && ev->proc->script[0])
		jsonw_string_field(&w, "script", ev->proc->script);
	if (ev->proc && ev->proc->args[0])
		jsonw_string_field(&w, "args", ev->proc->args);
	if (ev->chain && ev->chain[0])
		jsonw_string_field(&w, "chain", ev->chain);
	if (ev->proc && ev->proc->root)
		jsonw_bool_field(&w, "root", true);
	if (ev->new_dep)
		jsonw_bool_field(&w, "new", true);
	if (ev->kind == EVENT_CONNECT) {
		format_address(ev->addr, address, sizeof(address));
		jsonw_string_field(&w, "proto", proto_name(ev->proto));
		jsonw_string_field(&w, "address", address);
		jsonw_uint_field(&w, "port", ev->port);
		if (ev->name) {
			jsonw_string_field(&w, "name", ev->name);
			if (ev->name_source != NAME_SOURCE_NONE)
				jsonw_string_field(&w, "name_source",
						   name_source_word(ev->name_source));
		}
		if (ev->nalso) {
			jsonw_name(&w, "also_names");
			jsonw_start_array(&w);
			for (size_t i = 0; i < ev->nalso; i++)
				jsonw_string(&w, ev->also[i]);
			jsonw_end_array(&w);
		}
		jsonw_string_field(&w, "result", ev->result);
		if (ev->outcome)
			jsonw_string_field(&w, "outcome", ev->outcome);
		jsonw_bool_field(&w, "failed", ev->failed);
		json_latency(&w, ev);
		json_class(&w, ev);
	} else if (ev->kind == EVENT_LOOKUP) {
		jsonw_string_field(&w, "query", ev->qname);
		jsonw_string_field(&w, "qtype", ev->qtype);
		jsonw_string_field(&w, "status", ev->result);
		if (ev->outcome)
			jsonw_string_field(&w, "outcome", ev->outcome);
		jsonw_name(&w, "answers");
		jsonw_start_array(&w);
		for (size_t i = 0; i < ev->nanswers; i++) {
			format_address(ev->answers[i], address, sizeof(address));
			jsonw_string(&w, address);
		}
		jsonw_end_array(&w);
		json_latency(&w, ev);
		json_class(&w, ev);
	}
	if (ev->violation)
		json_violation(&w, ev);
	jsonw_end_object(&w);
}

static void json_dependency(struct output *out, struct json_writer *w,
			    const struct dependency *d)
{
	char address[ADDRESS_LEN];

	jsonw_start_object(w);
	jsonw_string_field(w, "kind", d->kind == DEP_LOOKUP ? "lookup" : "connection");
	if (d->name[0])
		jsonw_string_field(w, "name", d->name);
	if (d->kind == DEP_CONNECTION) {
		format_address(d->addr, address, sizeof(address));
		jsonw_string_field(w, "proto", proto_name(d->proto));
		jsonw_string_field(w, "address", address);
		jsonw_uint_field(w, "port", d->port);
	}
	jsonw_uint_field(w, "count", d->count);
	jsonw_fixed_field(w, "first", seconds(out, d->first_ns), 6);
	jsonw_fixed_field(w, "last", seconds(out, d->last_ns), 6);
	jsonw_bool_field(w, "failed", d->failed);
	jsonw_name(w, "results");
	jsonw_start_object(w);
	for (size_t j = 0; j < d->nresults; j++)
		jsonw_uint_field(w, d->results[j].text, d->results[j].count);
	jsonw_end_object(w);
	if (d->timed)
		jsonw_fixed_field(w, "slowest_ms", wait_us(d->slowest_ns) / 1e3, 3);
	jsonw_name(w, "programs");
	jsonw_start_array(w);
	for (size_t j = 0; j < d->nprograms; j++) {
		const struct dep_program *p = &d->programs[j];

		jsonw_start_object(w);
		jsonw_uint_field(w, "count", p->count);
		jsonw_string_field(w, "comm", p->comm);
		jsonw_string_field(w, "exe", p->exe);
		if (p->script[0])
			jsonw_string_field(w, "script", p->script);
		jsonw_string_field(w, "chain", p->chain);
		jsonw_string_field(w, "class", class_name(p->class));
		if (p->via[0])
			jsonw_string_field(w, "via", p->via);
		if (p->violations)
			jsonw_string_field(w, "violation", class_name(p->class));
		jsonw_end_object(w);
	}
	jsonw_end_array(w);
	if (d->violations) {
		jsonw_name(w, "violation");
		jsonw_start_object(w);
		jsonw_string_field(w, "rule", d->rule);
		jsonw_uint_field(w, "count", d->violations);
		jsonw_end_object(w);
	}
	jsonw_end_object(w);
}

static void json_summary(struct output *out, const struct depmap *map,
			 const struct run_totals *totals, const struct outage_report *outage,
			 bool asked)
{
	struct json_writer w;

	(void)asked; /* the summary object ends every JSON stream */
	jsonw_init(&w, out->stream);
	jsonw_start_object(&w);
	jsonw_string_field(&w, "type", "summary");
	jsonw_uint_field(&w, "connections", totals->connections);
	jsonw_uint_field(&w, "lookups", totals->lookups);
	jsonw_uint_field(&w, "lost", totals->lost);
	jsonw_name(&w, "classes");
	jsonw_start_object(&w);
	for (int c = 0; c < CLASS_COUNT; c++)
		jsonw_uint_field(&w, class_name(c), totals->classes[c]);
	jsonw_end_object(&w);
	if (totals->policy) {
		jsonw_name(&w, "violations");
		jsonw_start_object(&w);
		jsonw_uint_field(&w, "count", totals->violations);
		for (int c = 0; c < CLASS_COUNT; c++)
			jsonw_uint_field(&w, class_name(c), totals->class_violations[c]);
		jsonw_end_object(&w);
	}
	if (totals->baseline)
		jsonw_uint_field(&w, "new", totals->new_deps);
	jsonw_name(&w, "dependencies");
	jsonw_start_array(&w);
	for (size_t i = 0; i < map->count; i++)
		json_dependency(out, &w, &map->deps[i]);
	jsonw_end_array(&w);
	if (outage) {
		jsonw_name(&w, "rehearsal");
		outage_report_json(outage, &w);
	}
	jsonw_end_object(&w);
}

/* --- the choice, once ------------------------------------------------------- */

static const struct output_emitter emitters[] = {
	[OUTPUT_TEXT] = { .header = text_header, .event = text_event, .summary = text_summary },
	[OUTPUT_JSON] = { .header = json_header, .event = json_event, .summary = json_summary },
};

void output_init(struct output *out, FILE *stream, enum output_format format)
{
	*out = (struct output){ .stream = stream, .emitter = &emitters[format] };
}

void output_header(struct output *out, const struct run_info *info)
{
	out->emitter->header(out, info);
	fflush(out->stream);
}

void output_event(struct output *out, const struct event *ev)
{
	out->emitter->event(out, ev);
}

void output_summary(struct output *out, const struct depmap *map,
		    const struct run_totals *totals, const struct outage_report *outage,
		    bool asked)
{
	out->emitter->summary(out, map, totals, outage, asked);
	fflush(out->stream);
}

/* DOT ids: processes by chain prefix ("p" + position), destinations by
 * index ("d" + index). */
static void dot_label(FILE *f, const char *text)
{
	fputc('"', f);
	for (; *text; text++) {
		if (*text == '"' || *text == '\\')
			fputc('\\', f);
		fputc(*text, f);
	}
	fputc('"', f);
}

struct chain_nodes {
	char (*names)[FOLLOW_VIA_LEN]; /* a chain, or a path to a service */
	size_t count, cap;
};

/* The node named by the first `len` bytes of `key`, or -1. */
static long find_node(const struct chain_nodes *nodes, const char *key, size_t len)
{
	for (size_t i = 0; i < nodes->count; i++)
		if (!strncmp(nodes->names[i], key, len) && nodes->names[i][len] == '\0')
			return (long)i;
	return -1;
}

/* A new box for `key` (its first `len` bytes) labelled `label`; -1 if out
 * of memory. */
static long add_node(FILE *f, struct chain_nodes *nodes, const char *key, size_t len,
		     const char *label, size_t label_len)
{
	char name[DEP_CHAIN_LEN];

	if (nodes->count == nodes->cap) {
		size_t cap = nodes->cap ? nodes->cap * 2 : 16;
		void *grown = realloc(nodes->names, cap * sizeof(*nodes->names));

		if (!grown)
			return -1;
		nodes->names = grown;
		nodes->cap = cap;
	}
	snprintf(nodes->names[nodes->count], sizeof(*nodes->names), "%.*s", (int)len, key);
	snprintf(name, sizeof(name), "%.*s", (int)label_len, label);
	fprintf(f, "  p%zu [shape=box, label=", nodes->count);
	dot_label(f, name);
	fputs("];\n", f);
	return (long)nodes->count++;
}

/* The node of a chain prefix, added (with its edge from its parent) if
 * new; -1 if out of memory. */
static long chain_node(FILE *f, struct chain_nodes *nodes, const char *chain, size_t len)
{
	const char *last = chain;
	long parent = -1, node = find_node(nodes, chain, len);

	if (node >= 0)
		return node;
	for (const char *s = chain; s + 3 <= chain + len; s++)
		if (!strncmp(s, " > ", 3))
			last = s + 3;
	if (last != chain)
		parent = chain_node(f, nodes, chain, (size_t)(last - 3 - chain));
	node = add_node(f, nodes, chain, len, last, (size_t)(chain + len - last));
	if (node >= 0 && parent >= 0)
		fprintf(f, "  p%ld -> p%ld;\n", parent, node);
	return node;
}

/* The node of a transient program: the path "CHAIN -> DEST SERVICE [->
 * DEST SERVICE]...", drawn as the client's chain, then a box per service,
 * each reached by a dotted edge labelled with its address; -1 if out of
 * memory. */
static long via_node(FILE *f, struct chain_nodes *nodes, const char *via)
{
	const char *hop = strstr(via, " -> ");
	long node = chain_node(f, nodes, via, hop ? (size_t)(hop - via) : strlen(via));

	while (hop && node >= 0) {
		const char *segment = hop + 4, *next = strstr(segment, " -> ");
		size_t end = next ? (size_t)(next - via) : strlen(via);
		const char *space = memchr(segment, ' ', (size_t)(via + end - segment));
		long served = find_node(nodes, via, end);

		if (served < 0 && space) {
			served = add_node(f, nodes, via, end, space + 1,
					  (size_t)(via + end - space - 1));
			if (served >= 0) {
				char destination[DEP_NAME_LEN + DESTINATION_LEN];

				snprintf(destination, sizeof(destination), "%.*s",
					 (int)(space - segment), segment);
				fprintf(f, "  p%ld -> p%ld [style=dotted, label=", node, served);
				dot_label(f, destination);
				fputs("];\n", f);
			}
		}
		node = served;
		hop = next;
	}
	return node;
}

/* An edge's line by class: a dependency the script shows is drawn
 * solid, one a program chose itself dashed (colour says failure). */
static const char *const graph_styles[CLASS_COUNT] = {
	[CLASS_DIRECT] = "solid",
	[CLASS_HIDDEN] = "dashed",
	[CLASS_TRANSIENT] = "dotted",
};

/* "hidden x2", with the time lost on an --outage target: "hidden x2,
 * lost 2.0s" */
static void edge_label(const struct dependency *d, const struct dep_program *p,
		       const struct outage_report *outage, char *buf, size_t len)
{
	const struct outage_hit *hit = outage && d->kind != DEP_LOOKUP
					       ? outage_report_find(outage, d->addr, d->port, p->chain)
					       : NULL;
	char wait[WAIT_LEN];

	if (!hit) {
		snprintf(buf, len, "%s x%u", class_name(p->class), p->count);
		return;
	}
	format_wait(hit->lost_ns, wait, sizeof(wait));
	snprintf(buf, len, "%s x%u, lost %s", class_name(p->class), p->count, wait);
}

void output_graph(FILE *f, const struct depmap *map, const struct outage_report *outage)
{
	char label[DEP_CHAIN_LEN];
	struct chain_nodes nodes = { 0 };
	char destination[DEP_NAME_LEN + DESTINATION_LEN + POLICY_TEXT_LEN], endpoint[DESTINATION_LEN];

	fputs("digraph deptrace {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n", f);
	for (size_t i = 0; i < map->count; i++) {
		const struct dependency *d = &map->deps[i];

		if (d->kind == DEP_LOOKUP) {
			snprintf(destination, sizeof(destination), "DNS %s", d->name);
		} else {
			format_endpoint(d->addr, d->port, endpoint, sizeof(endpoint));
			snprintf(destination, sizeof(destination), "%s%s%s %s", d->name,
				 d->name[0] ? "\n" : "", endpoint, proto_name(d->proto));
		}
		if (d->violations)
			snprintf(destination + strlen(destination),
				 sizeof(destination) - strlen(destination), "\nVIOLATION %s", d->rule);
		fprintf(f, "  d%zu [shape=ellipse%s%s, label=", i,
			d->failed ? ", color=red, fontcolor=red" : "",
			d->violations ? ", style=filled, fillcolor=orange" : "");
		dot_label(f, destination);
		fputs("];\n", f);
		for (size_t j = 0; j < d->nprograms; j++) {
			const struct dep_program *p = &d->programs[j];
			long node = p->via[0] ? via_node(f, &nodes, p->via)
					      : chain_node(f, &nodes, p->chain, strlen(p->chain));

			if (node < 0)
				continue;
			edge_label(d, p, outage, label, sizeof(label));
			fprintf(f, "  p%ld -> d%zu [label=\"%s\", style=%s%s];\n", node, i, label,
				graph_styles[p->class], d->failed ? ", color=red" : "");
		}
	}
	fputs("}\n", f);
	free(nodes.names);
}
