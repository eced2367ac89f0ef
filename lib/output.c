/* output: see output.h. */
#include "output.h"

#include <stdlib.h>
#include <string.h>

#include "event_format.h"

#define LINE_FORMAT "%-9s %-7s %-7s %-15s %-6s %-13s %s%s\n"
#define MARKER_LEN (DEP_CHAIN_LEN + POLICY_TEXT_LEN + 48)

static double seconds(const struct output *out, uint64_t ts_ns)
{
	return ts_ns > out->start_ns ? (ts_ns - out->start_ns) / 1e9 : 0.0;
}

/* JSON string escaping: quotes, backslashes and control characters. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_key(FILE *f, const char *key, const char *value)
{
	fprintf(f, ",\"%s\":", key);
	json_string(f, value);
}

/* The fields every JSON event has: "type", "time" and the process. */
static void json_event_start(struct output *out, const char *type,
			     const struct event_process *who)
{
	FILE *f = out->stream;
	char comm[DEPTRACE_COMM_LEN];

	snprintf(comm, sizeof(comm), "%.*s", DEPTRACE_COMM_LEN - 1, who->h->comm);
	fprintf(f, "{\"type\":\"%s\",\"time\":%.6f,\"pid\":%u,\"ppid\":%u", type,
		seconds(out, who->h->ts_ns), who->h->pid, who->h->ppid);
	json_key(f, "comm", comm);
	if (who->info && who->info->exe[0])
		json_key(f, "exe", who->info->exe);
	if (who->info && who->info->args[0])
		json_key(f, "args", who->info->args);
	if (who->chain && who->chain[0])
		json_key(f, "chain", who->chain);
}

/* "VIOLATION hidden (deploy.sh > curl): deny forge.example.com"; in
 * force, an event that got through anyway says so: "VIOLATION direct,
 * NOT BLOCKED: ...", with the reason when it is known. */
static void text_violation(const struct violation_view *v, const char *chain, char *buf,
			   size_t len)
{
	char where[DEP_CHAIN_LEN + 4] = "";

	if (!v->direct)
		snprintf(where, sizeof(where), " (%s)", chain ? chain : "");
	snprintf(buf, len, "  VIOLATION %s%s%s%s: %s", v->direct ? "direct" : "hidden", where,
		 v->enforcing && !v->blocked ? ", NOT BLOCKED" : "",
		 v->unguarded ? " (socket made outside the cgroup)" : "", v->rule);
}

static void text_line(struct output *out, const struct event_process *who,
		      const char *proto, const char *result, const char *destination,
		      const struct violation_view *violation)
{
	char time[24], pid[12], ppid[12], comm[DEPTRACE_COMM_LEN], marker[MARKER_LEN] = "";
	const struct deptrace_header *h = who->h;

	snprintf(comm, sizeof(comm), "%.*s", DEPTRACE_COMM_LEN - 1, h->comm);
	snprintf(time, sizeof(time), "%.3f", seconds(out, h->ts_ns));
	snprintf(pid, sizeof(pid), "%u", h->pid);
	snprintf(ppid, sizeof(ppid), "%u", h->ppid);
	if (violation)
		text_violation(violation, who->chain, marker, sizeof(marker));
	fprintf(out->stream, LINE_FORMAT, time, pid, ppid, comm, proto, result, destination,
		marker);
}

/* "violation": {"class", "rule", "origin", "chain", "blocked"}, where
 * "origin" is left out for an allow-list miss and "blocked" when the
 * policy was not in force. */
static void json_violation(FILE *f, const struct violation_view *v, const char *chain)
{
	fprintf(f, ",\"violation\":{\"class\":\"%s\"", v->direct ? "direct" : "hidden");
	json_key(f, "rule", v->rule);
	if (v->origin)
		json_key(f, "origin", v->origin);
	json_key(f, "chain", chain ? chain : "");
	if (v->enforcing)
		fprintf(f, ",\"blocked\":%s", v->blocked ? "true" : "false");
	if (v->unguarded)
		fputs(",\"outside_cgroup\":true", f);
	fputc('}', f);
}

void format_violations(const struct run_totals *totals, char *buf, size_t len)
{
	snprintf(buf, len, "%llu violation%s (%llu direct, %llu hidden)",
		 (unsigned long long)totals->violations, totals->violations == 1 ? "" : "s",
		 (unsigned long long)totals->direct_violations,
		 (unsigned long long)totals->hidden_violations);
}

void output_header(struct output *out)
{
	if (out->format == OUTPUT_TEXT)
		fprintf(out->stream, LINE_FORMAT, "TIME(s)", "PID", "PPID", "COMM", "PROTO",
			"RESULT", "DESTINATION", "");
	fflush(out->stream);
}

void output_connection(struct output *out, const struct connection_view *c)
{
	char endpoint[DESTINATION_LEN], address[ADDRESS_LEN], result[DEP_RESULT_LEN];
	char destination[DESTINATION_LEN + 300];
	uint8_t addr[16];

	event_address(c->ev, addr);
	format_endpoint(addr, c->ev->dport, endpoint, sizeof(endpoint));
	format_connect_result(c->ev, result, sizeof(result));
	if (out->format == OUTPUT_TEXT) {
		if (c->name)
			snprintf(destination, sizeof(destination), "%s (%s)", endpoint, c->name);
		else
			snprintf(destination, sizeof(destination), "%s", endpoint);
		text_line(out, &c->who, proto_name(c->ev->proto), result, destination,
			  c->violation);
		return;
	}
	json_event_start(out, "connect", &c->who);
	format_address(addr, address, sizeof(address));
	json_key(out->stream, "proto", proto_name(c->ev->proto));
	json_key(out->stream, "address", address);
	fprintf(out->stream, ",\"port\":%u", c->ev->dport);
	if (c->name)
		json_key(out->stream, "name", c->name);
	json_key(out->stream, "result", result);
	fprintf(out->stream, ",\"failed\":%s", connect_failed(c->ev->result) ? "true" : "false");
	if (c->violation)
		json_violation(out->stream, c->violation, c->who.chain);
	fputs("}\n", out->stream);
}

void output_lookup(struct output *out, const struct lookup_view *l)
{
	char address[ADDRESS_LEN], destination[DEP_NAME_LEN + 16 + 8 * ADDRESS_LEN];
	size_t used;

	if (out->format == OUTPUT_TEXT) {
		used = (size_t)snprintf(destination, sizeof(destination), "%s %s", l->qname, l->qtype);
		for (size_t i = 0; i < l->naddrs && used < sizeof(destination); i++) {
			format_address(l->addrs[i], address, sizeof(address));
			used += (size_t)snprintf(destination + used, sizeof(destination) - used,
						 "%s%s", i ? ", " : " -> ", address);
		}
		text_line(out, &l->who, "DNS", l->status, destination, l->violation);
		return;
	}
	json_event_start(out, "dns", &l->who);
	json_key(out->stream, "query", l->qname);
	json_key(out->stream, "qtype", l->qtype);
	json_key(out->stream, "status", l->status);
	fputs(",\"answers\":[", out->stream);
	for (size_t i = 0; i < l->naddrs; i++) {
		format_address(l->addrs[i], address, sizeof(address));
		if (i)
			fputc(',', out->stream);
		json_string(out->stream, address);
	}
	fputc(']', out->stream);
	if (l->violation)
		json_violation(out->stream, l->violation, l->who.chain);
	fputs("}\n", out->stream);
}

void output_exec(struct output *out, const struct event_process *who)
{
	if (out->format != OUTPUT_JSON)
		return;
	json_event_start(out, "exec", who);
	fputs("}\n", out->stream);
}

static void text_results(FILE *f, const struct dependency *d)
{
	for (size_t i = 0; i < d->nresults; i++)
		fprintf(f, "%s%s x%u", i ? ", " : "", d->results[i].text, d->results[i].count);
	if (d->other_results)
		fprintf(f, ", %u other", d->other_results);
}

static void text_destination(const struct dependency *d, char *buf, size_t len)
{
	char endpoint[DESTINATION_LEN];

	if (d->kind == DEP_LOOKUP) {
		snprintf(buf, len, "%s", d->name);
		return;
	}
	format_endpoint(d->addr, d->port, endpoint, sizeof(endpoint));
	snprintf(buf, len, "%s%s%s", d->name, d->name[0] ? " " : "", endpoint);
}

static void text_summary(struct output *out, const struct depmap *map,
			 const struct run_totals *totals)
{
	FILE *f = out->stream;
	char destination[DEP_NAME_LEN + DESTINATION_LEN];

	fprintf(f, "\nDEPENDENCIES (%zu)\n", map->count);
	for (size_t i = 0; i < map->count; i++) {
		const struct dependency *d = &map->deps[i];

		text_destination(d, destination, sizeof(destination));
		fprintf(f, "%s  %s  %u time%s, %.3f-%.3fs: ", destination,
			d->kind == DEP_LOOKUP ? "DNS" : proto_name(d->proto), d->count,
			d->count == 1 ? "" : "s", seconds(out, d->first_ns), seconds(out, d->last_ns));
		text_results(f, d);
		if (d->violations)
			fprintf(f, "  VIOLATION %s x%u", d->rule, d->violations);
		fputc('\n', f);
		for (size_t j = 0; j < d->nprograms; j++) {
			const struct dep_program *p = &d->programs[j];

			fprintf(f, "    %s x%u  (%s%s%s)", p->chain, p->count, p->comm,
				p->exe[0] ? " " : "", p->exe);
			if (p->violations)
				fprintf(f, "  VIOLATION %s", p->direct ? "direct" : "hidden");
			fputc('\n', f);
		}
		if (d->other_programs)
			fprintf(f, "    and %u more\n", d->other_programs);
	}
	if (totals->policy) {
		char count[VIOLATIONS_LEN];

		format_violations(totals, count, sizeof(count));
		fprintf(f, "%s\n", count);
	}
}

static void json_summary(struct output *out, const struct depmap *map,
			 const struct run_totals *totals)
{
	FILE *f = out->stream;
	char address[ADDRESS_LEN];

	fprintf(f, "{\"type\":\"summary\",\"connections\":%llu,\"lookups\":%llu,\"lost\":%llu",
		(unsigned long long)totals->connections, (unsigned long long)totals->lookups,
		(unsigned long long)totals->lost);
	if (totals->policy)
		fprintf(f, ",\"violations\":{\"count\":%llu,\"direct\":%llu,\"hidden\":%llu}",
			(unsigned long long)totals->violations,
			(unsigned long long)totals->direct_violations,
			(unsigned long long)totals->hidden_violations);
	fputs(",\"dependencies\":[", f);
	for (size_t i = 0; i < map->count; i++) {
		const struct dependency *d = &map->deps[i];

		fprintf(f, "%s{\"kind\":\"%s\"", i ? "," : "",
			d->kind == DEP_LOOKUP ? "lookup" : "connection");
		if (d->name[0])
			json_key(f, "name", d->name);
		if (d->kind == DEP_CONNECTION) {
			format_address(d->addr, address, sizeof(address));
			json_key(f, "proto", proto_name(d->proto));
			json_key(f, "address", address);
			fprintf(f, ",\"port\":%u", d->port);
		}
		fprintf(f, ",\"count\":%u,\"first\":%.6f,\"last\":%.6f,\"failed\":%s,\"results\":{",
			d->count, seconds(out, d->first_ns), seconds(out, d->last_ns),
			d->failed ? "true" : "false");
		for (size_t j = 0; j < d->nresults; j++) {
			fprintf(f, "%s", j ? "," : "");
			json_string(f, d->results[j].text);
			fprintf(f, ":%u", d->results[j].count);
		}
		fputs("},\"programs\":[", f);
		for (size_t j = 0; j < d->nprograms; j++) {
			fprintf(f, "%s{\"count\":%u", j ? "," : "", d->programs[j].count);
			json_key(f, "comm", d->programs[j].comm);
			json_key(f, "exe", d->programs[j].exe);
			json_key(f, "chain", d->programs[j].chain);
			if (d->programs[j].violations)
				json_key(f, "violation", d->programs[j].direct ? "direct" : "hidden");
			fputc('}', f);
		}
		fputc(']', f);
		if (d->violations) {
			fputs(",\"violation\":{\"rule\":", f);
			json_string(f, d->rule);
			fprintf(f, ",\"count\":%u}", d->violations);
		}
		fputc('}', f);
	}
	fputs("]}\n", f);
}

void output_summary(struct output *out, const struct depmap *map,
		    const struct run_totals *totals)
{
	if (out->format == OUTPUT_JSON)
		json_summary(out, map, totals);
	else
		text_summary(out, map, totals);
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
	char (*names)[DEP_CHAIN_LEN];
	size_t count, cap;
};

/* The node of a chain prefix, added (with its edge from its parent) if
 * new; -1 if out of memory. */
static long chain_node(FILE *f, struct chain_nodes *nodes, const char *chain, size_t len)
{
	char name[DEP_CHAIN_LEN];
	const char *last = chain;
	long parent = -1;

	for (size_t i = 0; i < nodes->count; i++)
		if (!strncmp(nodes->names[i], chain, len) && nodes->names[i][len] == '\0')
			return (long)i;
	for (const char *s = chain; s + 3 <= chain + len; s++)
		if (!strncmp(s, " > ", 3))
			last = s + 3;
	if (last != chain)
		parent = chain_node(f, nodes, chain, (size_t)(last - 3 - chain));
	if (nodes->count == nodes->cap) {
		size_t cap = nodes->cap ? nodes->cap * 2 : 16;
		void *grown = realloc(nodes->names, cap * sizeof(*nodes->names));

		if (!grown)
			return -1;
		nodes->names = grown;
		nodes->cap = cap;
	}
	snprintf(nodes->names[nodes->count], DEP_CHAIN_LEN, "%.*s", (int)len, chain);
	snprintf(name, sizeof(name), "%.*s", (int)(chain + len - last), last);
	fprintf(f, "  p%zu [shape=box, label=", nodes->count);
	dot_label(f, name);
	fputs("];\n", f);
	if (parent >= 0)
		fprintf(f, "  p%ld -> p%zu;\n", parent, nodes->count);
	return (long)nodes->count++;
}

void output_graph(FILE *f, const struct depmap *map)
{
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
			const char *chain = d->programs[j].chain;
			long node = chain_node(f, &nodes, chain, strlen(chain));

			if (node >= 0)
				fprintf(f, "  p%ld -> d%zu [label=\"x%u\"%s];\n", node, i,
					d->programs[j].count, d->failed ? ", color=red" : "");
		}
	}
	fputs("}\n", f);
	free(nodes.names);
}
