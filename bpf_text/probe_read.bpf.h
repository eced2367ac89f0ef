/* probe_read.bpf.h: the bpf_probe_read_* helpers under names of our own.
 *
 * Whenever libbcc's rewriter meets a call to a function named
 * bpf_probe_read_user or bpf_probe_read_user_str, it checks that the kernel
 * has the helper by loading all of /proc/kallsyms (over 100,000 symbols)
 * into a hash table: about half a second of every start-up, before the
 * first event can be seen. The helpers are the same kernel functions, known
 * by number (BPF_FUNC_*), on every kernel deptrace runs on (5.5 and later);
 * calling them through pointers of our own skips the check. Included first,
 * so that every later call goes through these. (libbcc 0.26 still reads
 * kallsyms once per compile, to check for bpf_probe_read_kernel at the end
 * of its rewrite whatever the text calls: no text avoids that one.)
 */
static long (*deptrace_probe_read_user)(void *dst, u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_user;
static long (*deptrace_probe_read_user_str)(void *dst, u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_user_str;
static long (*deptrace_probe_read_kernel)(void *dst, u32 size, const void *src) =
	(void *)BPF_FUNC_probe_read_kernel;
#define bpf_probe_read_user deptrace_probe_read_user
#define bpf_probe_read_user_str deptrace_probe_read_user_str
#define bpf_probe_read_kernel deptrace_probe_read_kernel
