/* policy_gen: see policy_gen.h. */
#include "policy_gen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_format.h"
#include "policy.h"
#include "saved_run.h"

#define GEN_MAX_CHAINS 8

/* Multi-label public suffixes: the common second-level registries. Names
 * under any other suffix are taken to have a one-label suffix (com, org,
 * internal, example). */
static const char *const multi_label_suffixes[] = {
	"co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk",
	"com.au", "net.au", "org.au", "edu.au", "gov.au",
	"co.nz", "org.nz", "net.nz", "co.jp", "ne.jp", "or.jp", "ac.jp",
	"co.kr", "or.kr", "co.in", "net.in", "org.in", "co.za", "org.za",
	"com.br", "net.br", "org.br", "com.cn", "net.cn", "org.cn", "com.mx", "com.tr",
	"com.tw", "com.hk", "com.sg", "com.ar", "co.il", "github.io", "gitlab.io",
	"herokuapp.com", "appspot.com", "cloudfront.net", "amazonaws.com",
};

struct gen_chain {
	char chain[DEP_CHAIN_LEN];
	unsigned count;
};

struct gen_rule {
	char rule[POLICY_TEXT_LEN];  /* "forge.example.com:80", "127.0.0.53:53" */
	char name[DEP_NAME_LEN];     /* "" for an address rule */
	uint16_t port;
	unsigned count;
	uint64_t runs;               /* which runs used it (at most 64 are read) */
	struct gen_chain chains[GEN_MAX_CHAINS];
	size_t nchains;
	unsigned other_chains;
	bool folded;                 /* counted into a *.DOMAIN rule */
};

struct gen {
	struct gen_rule *rules;
	size_t count, cap;
	unsigned refused;            /* attempts the policy in force refused */
};

unsigned policy_gen_suffix_labels(const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(multi_label_suffixes) / sizeof(*multi_label_suffixes); i++) {
		size_t n = strlen(multi_label_suffixes[i]);

		if (len >= n && (len == n || name[len - n - 1] == '.') &&
		    !strcmp(name + len - n, multi_label_suffixes[i]))
			return 2;
	}
	return 1;
}

static unsigned labels(const char *name)
{
	unsigned n = 1;

	for (; *name; name++)
		n += *name == '.';
	return n;
}

static void add_chain(struct gen_rule *r, const char *chain, unsigned count)
{
	for (size_t i = 0; i < r->nchains; i++) {
		if (!strcmp(r->chains[i].chain, chain)) {
			r->chains[i].count += count;
			return;
		}
	}
	if (r->nchains == GEN_MAX_CHAINS) {
		r->other_chains += count;
		return;
	}
	snprintf(r->chains[r->nchains].chain, DEP_CHAIN_LEN, "%s", chain);
	r->chains[r->nchains++].count = count;
}

/* The index of the rule `text` (name rules with `name`), added if new;
 * -ENOMEM. */
static long find_or_add(struct gen *g, const char *text, const char *name, uint16_t port)
{
	struct gen_rule *r;

	for (size_t i = 0; i < g->count; i++)
		if (!strcmp(g->rules[i].rule, text))
			return (long)i;
	if (g->count == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		struct gen_rule *grown = realloc(g->rules, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		g->rules = grown;
		g->cap = cap;
	}
	r = &g->rules[g->count];
	memset(r, 0, sizeof(*r));
	snprintf(r->rule, sizeof(r->rule), "%s", text);
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "");
	r->port = port;
	return (long)g->count++;
}

/* One connection of run `run` allowed by the rule `text`. */
static int count_rule(struct gen *g, const char *text, const char *name, uint16_t port,
		      const char *chain, size_t run)
{
	long i = find_or_add(g, text, name, port);

	if (i < 0)
		return (int)i;
	g->rules[i].count++;
	g->rules[i].runs |= 1ull << run;
	add_chain(&g->rules[i], chain && *chain ? chain : "?", 1);
	return 0;
}

/* "NAME:PORT", "192.0.2.7:443", "[2001:db8::1]:443" (no port for 0). */
static void rule_text(const char *host, bool v6, uint16_t port, char *buf, size_t len)
{
	if (!port)
		snprintf(buf, len, "%s", host);
	else if (v6)
		snprintf(buf, len, "[%s]:%u", host, port);
	else
		snprintf(buf, len, "%s:%u", host, port);
}

static int count_connection(struct gen *g, const struct event *ev, size_t run)
{
	char text[POLICY_TEXT_LEN], address[ADDRESS_LEN], why[POLICY_TEXT_LEN];
	struct policy_rule check;

	if (!strcmp(ev->result, RESULT_BLOCKED)) {
		g->refused++;
		return 0;
	}
	if (ev->name) {
		rule_text(ev->name, false, ev->port, text, sizeof(text));
		if (!policy_parse_rule(RULE_ALLOW, text, "policy", &check, why, sizeof(why)))
			return count_rule(g, text, ev->name, ev->port, ev->chain, run);
	}
	format_address(ev->addr, address, sizeof(address));
	rule_text(address, strchr(address, ':') != NULL, ev->port, text, sizeof(text));
	return count_rule(g, text, NULL, ev->port, ev->chain, run);
}

static int read_run(struct gen *g, const char *path, size_t run, FILE *out, char *err,
		    size_t errlen)
{
	struct saved_event *ev = malloc(sizeof(*ev));
	struct saved_run *saved = NULL;
	int rc = ev ? saved_run_open(path, &saved, err, errlen) : -ENOMEM;

	if (!rc) {
		const struct run_info *info = saved_run_info(saved);

		fprintf(out, "#   %s: %s on %s (kernel %s), %s\n", path, info->command,
			info->host, info->kernel, info->start);
	}
	while (!rc && (rc = saved_run_next(saved, ev, err, errlen)) > 0)
		rc = ev->ev.kind == EVENT_CONNECT ? count_connection(g, &ev->ev, run) : 0;
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	saved_run_close(saved);
	free(ev);
	return rc;
}

/* The domain a name rule may fold into: the name without its first
 * label, if that is a registrable domain or below one; else NULL. */
static const char *fold_parent(const char *name)
{
	const char *dot = strchr(name, '.');

	if (!dot || labels(dot + 1) < policy_gen_suffix_labels(dot + 1) + 1)
		return NULL;
	return dot + 1;
}

/* Whether rule `r` is a name directly below `parent` on `port`. */
static bool sibling(const struct gen_rule *r, const char *parent, uint16_t port)
{
	const char *p = r->name[0] ? fold_parent(r->name) : NULL;

	return p && !strcmp(p, parent) && r->port == port && !r->folded;
}

/* Folds `fold` or more siblings (same parent, same port) into one
 * *.PARENT rule, which takes their counts, runs and chains. */
static int fold_rules(struct gen *g, unsigned fold)
{
	size_t n = g->count;

	for (size_t i = 0; fold && i < n; i++) {
		char parent[DEP_NAME_LEN], text[POLICY_TEXT_LEN], wildcard[DEP_NAME_LEN + 2];
		uint16_t port = g->rules[i].port;
		unsigned siblings = 0;
		long w;

		if (!g->rules[i].name[0] || g->rules[i].folded || !fold_parent(g->rules[i].name))
			continue;
		snprintf(parent, sizeof(parent), "%s", fold_parent(g->rules[i].name));
		for (size_t j = i; j < n; j++)
			siblings += sibling(&g->rules[j], parent, port);
		if (siblings < fold)
			continue;
		snprintf(wildcard, sizeof(wildcard), "*.%s", parent);
		rule_text(wildcard, false, port, text, sizeof(text));
		w = find_or_add(g, text, NULL, port);
		if (w < 0)
			return (int)w;
		for (size_t j = i; j < n; j++) {
			struct gen_rule *r = &g->rules[j];

			if (!sibling(r, parent, port))
				continue;
			r->folded = true;
			g->rules[w].count += r->count;
			g->rules[w].runs |= r->runs;
			for (size_t c = 0; c < r->nchains; c++)
				add_chain(&g->rules[w], r->chains[c].chain, r->chains[c].count);
			g->rules[w].other_chains += r->other_chains;
		}
	}
	return 0;
}

static int by_rule(const void *a, const void *b)
{
	const struct gen_rule *x = a, *y = b;

	if (!x->name[0] != !y->name[0] && (x->rule[0] == '*') == (y->rule[0] == '*'))
		return x->name[0] ? -1 : 1;
	return strcmp(x->rule[0] == '*' ? x->rule + 2 : x->rule,
		      y->rule[0] == '*' ? y->rule + 2 : y->rule);
}

static void write_rule(FILE *out, const struct gen_rule *r)
{
	unsigned runs = (unsigned)__builtin_popcountll(r->runs);

	fputs("\n#", out);
	for (size_t i = 0; i < r->nchains; i++)
		fprintf(out, "%s %s x%u", i ? "," : "", r->chains[i].chain, r->chains[i].count);
	if (r->other_chains)
		fprintf(out, ", %u more", r->other_chains);
	fprintf(out, " (%u connection%s in %u run%s)\nallow %s\n", r->count,
		r->count == 1 ? "" : "s", runs, runs == 1 ? "" : "s", r->rule);
}

int policy_generate(const char *const *paths, size_t npaths, unsigned fold, FILE *out,
		    char *err, size_t errlen)
{
	struct gen g = { 0 };
	char *text = NULL;
	size_t text_len = 0;
	FILE *head = open_memstream(&text, &text_len);
	int rc = head ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < npaths; i++)
		rc = read_run(&g, paths[i], i, head, err, errlen);
	if (!rc)
		rc = fold_rules(&g, fold);
	if (head)
		fclose(head);
	if (!rc) {
		qsort(g.rules, g.count, sizeof(*g.rules), by_rule);
		fprintf(out, "# deptrace policy: the allow list of %zu saved run%s\n%s", npaths,
			npaths == 1 ? "" : "s", text);
		fputs("# Names with their ports; addresses only where a connection had no name.\n"
		      "# Before each rule: the programs (chain x times) that used it.\n", out);
		if (fold)
			fprintf(out, "# %u or more names under one domain are folded into *.DOMAIN.\n",
				fold);
		if (g.refused)
			fprintf(out, "# %u attempt%s refused by the policy in force: left out.\n",
				g.refused, g.refused == 1 ? "" : "s");
		for (size_t i = 0; i < g.count; i++)
			if (!g.rules[i].folded)
				write_rule(out, &g.rules[i]);
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(text);
	free(g.rules);
	return rc;
}
