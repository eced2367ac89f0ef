/* outage: see outage.h. */
#include "outage.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	enum outage_mode mode;
} modes[] = {
	{ "blackhole", OUTAGE_BLACKHOLE },
	{ "refuse", OUTAGE_REFUSE },
	{ "dns", OUTAGE_DNS },
	{ "nxdomain", OUTAGE_NXDOMAIN },
};

const char *outage_mode_name(enum outage_mode mode)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (modes[i].mode == mode)
			return modes[i].name;
	return "?";
}

static int parse_mode(const char *text, enum outage_mode *mode, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
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
	if (t->rule.kind != RULE_NET && !outage_by_resolver(&(struct outage_target){ .mode = mode })) {
		snprintf(err, errlen, "--outage %s: a name takes =dns or =nxdomain (its lookups fail); refuse and blackhole need its addresses or CIDR",
			 target);
		return -EINVAL;
	}
	if (t->rule.kind == RULE_NET && outage_by_resolver(&(struct outage_target){ .mode = mode })) {
		snprintf(err, errlen, "--outage %s=%s: the dns modes are for names (their lookups fail); an address takes refuse or blackhole",
			 target, outage_mode_name(mode));
		return -EINVAL;
	}
	if (t->rule.kind != RULE_NET && t->rule.port) {
		snprintf(err, errlen, "--outage %s: a lookup has no port: give the name without one",
			 target);
		return -EINVAL;
	}
	t->mode = mode;
	snprintf(t->rule.text, sizeof(t->rule.text), "outage %s (%s)", target,
		 outage_mode_name(mode));
	o->count++;
	return 0;
}
