/*
 * dt-connect: test client for deptrace integration tests.
 *
 * Makes real connect() calls and prints one line per attempt describing
 * exactly what it did, so tests can compare deptrace's output with the truth:
 *
 *   pid=P tid=T comm=C proto=TCP|UDP dest=ADDR:PORT result=ok|E...
 *
 * The result is connect()'s, or, for a non-blocking TCP connect, the
 * handshake's outcome (SO_ERROR once the socket is writable).
 *
 * See usage() for the options.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
    int udp, nonblock, listen, refused, fork, nthreads;
    const char *waitfile;
    const char *thread_name; /* -T: threads rename themselves, as workers do */
    long sleep_ms;
};

static struct opts o;
static struct sockaddr_storage dest; /* final destination, port filled in */
static socklen_t destlen;
static char comm[64];
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void usage(void)
{
    fprintf(stderr, "usage: dt-connect [-u] [-n] [-l] [-r] [-t N [-T NAME]] [-f] [-w FILE] "
                    "[-s MS] ADDR PORT\n");
    exit(2);
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void set_port(struct sockaddr_storage *ss, in_port_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Bind a TCP socket to ADDR (with the port currently in dest) and return it
 * with dest's port updated to what the kernel actually assigned. */
static int bind_local(void)
{
    int fd = socket(dest.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* An AF_INET6 socket can only bind a v4-mapped address when dual-stack. */
    if (dest.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(fd, (struct sockaddr *)&dest, destlen) < 0)
        die("bind");
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        die("getsockname");
    set_port(&dest, ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                  : ((struct sockaddr_in6 *)&ss)->sin6_port));
    return fd;
}

static void format_dest(char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN];
    if (dest.ss_family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&dest;
        inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
        snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&dest;
        /* deptrace reports v4-mapped destinations as plain IPv4, so do we. */
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], a, sizeof(a));
            snprintf(buf, len, "%s:%u", a, ntohs(sin6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
            snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
        }
    }
}

/* One attempt. Returns 0, or -1 if we could not even make the socket. The
 * socket is left open on purpose: with -s the connection stays visible. */
static int do_connect(void)
{
    int type = (o.udp ? SOCK_DGRAM : SOCK_STREAM) | (o.nonblock ? SOCK_NONBLOCK : 0);
    int fd = socket(dest.ss_family, type, 0);
    if (fd < 0) {
        perror("socket");
        return -1;
    }
    int rc = connect(fd, (struct sockaddr *)&dest, destlen);
    int err = errno;
    if (rc < 0 && err == EINPROGRESS) {
        /* What we report is how the attempt ended, as deptrace does for
         * TCP: the handshake's outcome, EINPROGRESS only if it never came. */
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        int so_error = 0;
        socklen_t len = sizeof(so_error);
        if (poll(&p, 1, 2000) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0) {
            rc = so_error ? -1 : 0;
            err = so_error;
        }
    }

    char d[INET6_ADDRSTRLEN + 16];
    format_dest(d, sizeof(d));
    const char *res = "ok";
    char ebuf[16];
    if (rc < 0 && !(res = strerrorname_np(err))) {
        snprintf(ebuf, sizeof(ebuf), "E%d", err);
        res = ebuf;
    }
    pthread_mutex_lock(&out_lock);
    printf("pid=%d tid=%d comm=%s proto=%s dest=%s result=%s\n", getpid(), gettid(), comm,
           o.udp ? "UDP" : "TCP", d, res);
    fflush(stdout);
    pthread_mutex_unlock(&out_lock);
    return 0;
}

static void *thread_main(void *arg)
{
    (void)arg;
    /* comm= stays the process's name (read at start): deptrace shows it */
    if (o.thread_name)
        pthread_setname_np(pthread_self(), o.thread_name);
    return (void *)(long)do_connect();
}

/* Re-run ourselves without -f, so the child is a fresh exec (new comm/exe
 * events for deptrace) rather than just a forked copy. */
static int run_forked(char **argv, const char *addr, const char *port)
{
    char tbuf[16], sbuf[32];
    char *av[16];
    int n = 0;
    av[n++] = argv[0];
    if (o.udp) av[n++] = "-u";
    if (o.nonblock) av[n++] = "-n";
    if (o.listen) av[n++] = "-l";
    if (o.refused) av[n++] = "-r";
    if (o.nthreads) {
        snprintf(tbuf, sizeof(tbuf), "%d", o.nthreads);
        av[n++] = "-t";
        av[n++] = tbuf;
    }
    if (o.thread_name) {
        av[n++] = "-T";
        av[n++] = (char *)o.thread_name;
    }
    if (o.waitfile) {
        av[n++] = "-w";
        av[n++] = (char *)o.waitfile;
    }
    if (o.sleep_ms) {
        snprintf(sbuf, sizeof(sbuf), "%ld", o.sleep_ms);
        av[n++] = "-s";
        av[n++] = sbuf;
    }
    av[n++] = "--"; /* ADDR could otherwise never look like an option, but be safe */
    av[n++] = (char *)addr;
    av[n++] = (char *)port;
    av[n] = NULL;

    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        /* exec via the resolved path: the kernel names comm after the exec'd
         * file, and "/proc/self/exe" would make it "exe". */
        char self[4096];
        ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (len > 0) {
            self[len] = '\0';
            execv(self, av);
        }
        execv("/proc/self/exe", av);
        perror("execv /proc/self/exe");
        _exit(1);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long parse_num(const char *s, long max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < 0 || v > max)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    int c;
    while ((c = getopt(argc, argv, "+unlrt:T:fw:s:")) != -1) {
        switch (c) {
        case 'u': o.udp = 1; break;
        case 'n': o.nonblock = 1; break;
        case 'l': o.listen = 1; break;
        case 'r': o.refused = 1; break;
        case 't':
            if ((o.nthreads = (int)parse_num(optarg, 1024)) == 0)
                usage();
            break;
        case 'T': o.thread_name = optarg; break;
        case 'f': o.fork = 1; break;
        case 'w': o.waitfile = optarg; break;
        case 's': o.sleep_ms = parse_num(optarg, 86400000L); break;
        default: usage();
        }
    }
    if (argc - optind != 2 || (o.listen && o.refused))
        usage();
    const char *addr = argv[optind], *port = argv[optind + 1];
    in_port_t portnum = (in_port_t)parse_num(port, 65535);

    struct sockaddr_in *sin = (struct sockaddr_in *)&dest;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&dest;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        dest.ss_family = AF_INET;
        destlen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        dest.ss_family = AF_INET6;
        destlen = sizeof(*sin6);
    } else {
        fprintf(stderr, "dt-connect: not an IPv4/IPv6 literal: %s\n", addr);
        usage();
    }
    set_port(&dest, portnum);

    if (o.fork)
        return run_forked(argv, addr, port);

    FILE *f = fopen("/proc/self/comm", "r");
    if (!f || !fgets(comm, sizeof(comm), f))
        die("/proc/self/comm");
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';

    if (o.waitfile) {
        for (int i = 0; access(o.waitfile, F_OK) != 0; i++) {
            if (i >= 12000) { /* 2 min: deptrace may start slowly in an emulated VM */
                fprintf(stderr, "dt-connect: timed out waiting for %s\n", o.waitfile);
                return 3;
            }
            sleep_ms(10);
        }
    }

    if (o.listen) {
        /* Never accepted: the backlog completes the handshake for us. */
        if (listen(bind_local(), 128) < 0)
            die("listen");
    } else if (o.refused) {
        /* A port we just owned and released is almost surely closed now. */
        set_port(&dest, 0);
        close(bind_local());
    }

    int failed = 0;
    if (o.nthreads == 0) {
        failed = do_connect() != 0;
    } else {
        pthread_t *t = calloc((size_t)o.nthreads, sizeof(*t));
        if (!t)
            die("calloc");
        for (int i = 0; i < o.nthreads; i++) {
            int e = pthread_create(&t[i], NULL, thread_main, NULL);
            if (e) {
                errno = e;
                die("pthread_create");
            }
        }
        for (int i = 0; i < o.nthreads; i++) {
            void *r;
            pthread_join(t[i], &r);
            failed |= r != NULL;
        }
        free(t);
    }
    if (o.sleep_ms)
        sleep_ms(o.sleep_ms);
    return failed ? 1 : 0;
}
