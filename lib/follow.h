/* follow: the threads of local services that serve the traced tree.
 *
 * The kernel (bpf_text/follow.bpf.h) traces a thread of a process outside
 * the tree while it serves a TCP connection a traced thread made, and says
 * so once (DEPTRACE_EVENT_SERVE); this table remembers, for each such
 * thread, the path by which the tree reached it:
 *   "deploy.sh > curl -> api.internal.example:8080 internal-api"
 * and, for a service that a serving thread called in turn,
 *   "deploy.sh > curl -> api.internal.example:8080 internal-api -> 127.0.0.30:9090 backend".
 * What those threads do is the tree's transient dependency (classify.h).
 */
#ifndef DEPTRACE_FOLLOW_H
#define DEPTRACE_FOLLOW_H

#include <sys/types.h>

#define FOLLOW_VIA_LEN 512
#define FOLLOW_NOTE_LEN 256

struct follow_table;

struct follow_table *follow_table_new(void);
void follow_table_free(struct follow_table *t);

/* Thread `tid`, named `comm`, serves a connection to `destination`
 * ("api.internal.example:8080") that thread `client_tid` made, of a
 * process whose chain is `client_chain`: its path is the client's own path
 * if the client serves too, else the client's chain, then
 * " -> DESTINATION COMM". Replaces what `tid` served before (a thread
 * serves one connection at a time). 0 or -ENOMEM. */
int follow_table_serve(struct follow_table *t, pid_t tid, const char *comm, pid_t client_tid,
		       const char *client_chain, const char *destination);

/* The path of thread `tid`, or NULL when it serves nobody. */
const char *follow_table_via(const struct follow_table *t, pid_t tid);

/* What the reader of thread `tid`'s path should be told about it ("the
 * path of its Unix socket was not found: ..."), for the first event that
 * uses the path: a service that does nothing more needs no warning. Set
 * after follow_table_serve (which clears it); ignored for a thread that
 * serves nobody. follow_table_take_note returns it once (valid until the
 * table changes), NULL when there is none. */
void follow_table_note(struct follow_table *t, pid_t tid, const char *note);
const char *follow_table_take_note(struct follow_table *t, pid_t tid);

#endif
