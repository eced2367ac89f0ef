/* replay: see replay.h. */
#include "replay.h"

#include <errno.h>
#include <stdlib.h>

#include "saved_run.h"
#include "session.h"

int replay_run(const struct replay_config *config, struct run_totals *totals, char *err,
	       size_t errlen)
{
	struct saved_event *ev = malloc(sizeof(*ev));
	struct saved_run *run = NULL;
	struct session *s = NULL;
	int rc = ev ? saved_run_open(config->path, &run, err, errlen) : -ENOMEM;

	if (!rc) {
		const struct run_info *info = saved_run_info(run);
		struct session_config session_config = {
			.out = config->out,
			.summary = config->summary || info->map,
			.graph = config->graph,
			.policy = config->policy,
			.enforcing = info->enforced,
			.messages = config->messages,
			.baseline = config->baseline,
			.nbaseline = config->nbaseline,
		};

		s = session_new(&session_config);
		rc = s ? 0 : -ENOMEM;
		if (!rc)
			output_header(config->out, info);
	}
	while (!rc && (rc = saved_run_next(run, ev, err, errlen)) > 0) {
		session_replay(s, &ev->ev);
		rc = 0;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (!rc) {
		session_finish(s);
		*totals = *session_totals(s);
	}
	session_free(s);
	saved_run_close(run);
	free(ev);
	return rc;
}
