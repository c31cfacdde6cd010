/* Transport floor for GenCluster's ring all-reduce (scripts/bench-mpi.sh builds and runs it).
 *
 *   c_ring_allreduce RANKS BYTES ITERS tcp|uds
 *
 * A minimal ring all-reduce in plain C with no gRPC, HTTP/2 or protobuf: RANKS forked processes, each with one
 * stream socket to its successor and one from its predecessor, over TCP loopback (tcp) or Unix domain sockets
 * (uds). float32 sum, in place: a reduce-scatter of RANKS-1 steps, then an all-gather of RANKS-1 steps; chunk k
 * is elements [k*c, (k+1)*c) with c = count/RANKS, and the last chunk also takes the remainder. Within a step a
 * rank sends one chunk and receives another on non-blocking sockets driven by poll(), and adds received floats to
 * its buffer as they arrive (reduce-scatter) or receives them straight into place (all-gather).
 *
 * Measured like mpi_allreduce.c: inputs (i % 13) + rank, exact expected sums checked on the final result (wrong =
 * mismatching elements over all ranks); 3 warm-up iterations, then ITERS timed iterations, each preceded by a
 * barrier through the parent process and timed as the slowest rank's duration; cpu_ms = user+system CPU of one
 * rank during one all-reduce (getrusage), mean over ranks and timed iterations. BYTES that are not a multiple of 4
 * are handled as mpi_allreduce.c does: count = BYTES/4 floats, while bandwidth is computed from BYTES.
 * Prints the same line as mpi_allreduce and `gencluster-trainer bench allreduce`:
 *   ranks=N bytes=B time_ms=.. algbw_GBs=.. busbw_GBs=.. wrong=W cpu_ms=..
 *
 * Listening sockets are created by the parent before it forks (TCP: port 0 on 127.0.0.1, so the kernel picks free
 * ports; UDS: paths in a mkdtemp directory), so every rank knows its successor's address and can connect at once.
 * The socket paths and their directory are removed once all ranks are connected, and on every error path. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WARMUP 3
/* Most bytes handed to one send() or recv(): a received piece is reduced while it is still in cache. */
#define PIECE (256 * 1024)

/* What a rank writes to the parent after each all-reduce. */
struct report {
    double elapsed_s; /* wall time of this rank's all-reduce */
    double cpu_s;     /* user+system CPU of this rank during it */
    long long wrong;  /* mismatching elements (filled in after the last iteration only) */
};

static int n;          /* ranks */
static int rank = -1;  /* -1 in the parent */
static int use_uds;
static char uds_dir[64];   /* mkdtemp directory ("" when none) */
static int uds_paths_live; /* socket paths still exist under uds_dir */

/* Removes the UDS socket paths and their directory; only the parent calls it. */
static void remove_uds_paths(void) {
    if (!uds_paths_live) return;
    char path[sizeof(uds_dir) + 16];
    for (int r = 0; r < n; r++) {
        snprintf(path, sizeof path, "%s/r%d", uds_dir, r);
        unlink(path);
    }
    rmdir(uds_dir);
    uds_paths_live = 0;
}

/* perror() naming the call and the rank (or "parent"), then exit; the parent also removes its socket paths. */
static void die(const char *fmt, ...) {
    int saved = errno;
    char what[200];
    va_list args;
    va_start(args, fmt);
    vsnprintf(what, sizeof what, fmt, args);
    va_end(args);
    char prefix[32];
    if (rank >= 0) snprintf(prefix, sizeof prefix, "rank %d", rank);
    else snprintf(prefix, sizeof prefix, "parent");
    fprintf(stderr, "c_ring_allreduce: %s: %s: %s\n", prefix, what, saved ? strerror(saved) : "failed");
    if (rank >= 0) _exit(1); /* a child must not run the parent's cleanup */
    remove_uds_paths();
    exit(1);
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* User + system CPU of this process so far, seconds. */
static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* Blocking full read/write on a pipe; read_full returns 0 on EOF before any byte. */
static int read_full(int fd, void *buf, size_t len, const char *what) {
    size_t done = 0;
    while (done < len) {
        ssize_t r = read(fd, (char *)buf + done, len - done);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) die("read(%s)", what);
        if (r == 0) {
            if (done == 0) return 0;
            errno = 0;
            die("read(%s): short read", what);
        }
        done += (size_t)r;
    }
    return 1;
}

static void write_full(int fd, const void *buf, size_t len, const char *what) {
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) die("write(%s)", what);
        done += (size_t)w;
    }
}

/* Address of rank r's listening socket. */
static socklen_t rank_address(int r, const int *tcp_ports, struct sockaddr_storage *address) {
    memset(address, 0, sizeof *address);
    if (use_uds) {
        struct sockaddr_un *un = (struct sockaddr_un *)address;
        un->sun_family = AF_UNIX;
        snprintf(un->sun_path, sizeof un->sun_path, "%s/r%d", uds_dir, r);
        return sizeof *un;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)address;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in->sin_port = htons((unsigned short)(tcp_ports ? tcp_ports[r] : 0));
    return sizeof *in;
}

/* Parent: one listening socket per rank, bound before the fork (TCP port 0: a free port the kernel picks). */
static void listen_all(int *listeners, int *tcp_ports) {
    if (use_uds) {
        snprintf(uds_dir, sizeof uds_dir, "/tmp/c_ring.XXXXXX");
        if (mkdtemp(uds_dir) == NULL) die("mkdtemp(%s)", uds_dir);
        uds_paths_live = 1;
    }
    for (int r = 0; r < n; r++) {
        int fd = socket(use_uds ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket() for rank %d", r);
        int one = 1;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("setsockopt(SO_REUSEADDR)");
        struct sockaddr_storage address;
        socklen_t length = rank_address(r, NULL, &address);
        if (bind(fd, (struct sockaddr *)&address, length) < 0) die("bind() for rank %d", r);
        if (listen(fd, 1) < 0) die("listen() for rank %d", r);
        if (!use_uds) {
            struct sockaddr_in bound;
            socklen_t bound_length = sizeof bound;
            if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) < 0) die("getsockname() for rank %d", r);
            tcp_ports[r] = ntohs(bound.sin_port);
        }
        listeners[r] = fd;
    }
}

static void set_nonblocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) die("fcntl(O_NONBLOCK)");
}

/* Rank: connect to the successor's listener (already listening, so this completes without waiting for it to
 * accept), then accept the predecessor's connection. */
static void connect_ring(int listener, const int *tcp_ports, int *to_next, int *from_prev) {
    int next = (rank + 1) % n;
    int fd = socket(use_uds ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket()");
    struct sockaddr_storage address;
    socklen_t length = rank_address(next, tcp_ports, &address);
    while (connect(fd, (struct sockaddr *)&address, length) < 0)
        if (errno != EINTR) die("connect() to rank %d", next);
    int in;
    while ((in = accept(listener, NULL, NULL)) < 0)
        if (errno != EINTR) die("accept()");
    close(listener);
    if (!use_uds) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("setsockopt(TCP_NODELAY)");
        if (setsockopt(in, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("setsockopt(TCP_NODELAY)");
    }
    set_nonblocking(fd);
    set_nonblocking(in);
    *to_next = fd;
    *from_prev = in;
}

/* One ring step: send send_len bytes to the successor while receiving recv_len bytes from the predecessor.
 * reduce_into == NULL: received bytes land in recv_buf, which is their final place (all-gather).
 * reduce_into != NULL: recv_buf is scratch, and each float is added to reduce_into as soon as it is complete. */
static void exchange(int to_next, int from_prev, const char *send_buf, size_t send_len, char *recv_buf,
                     size_t recv_len, float *restrict reduce_into) {
    size_t sent = 0, received = 0, reduced = 0; /* reduced: floats already added */
    while (sent < send_len || received < recv_len) {
        struct pollfd fds[2] = {
            {.fd = to_next, .events = sent < send_len ? POLLOUT : 0},
            {.fd = from_prev, .events = received < recv_len ? POLLIN : 0},
        };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll()");
        }
        if (sent < send_len && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            size_t k = send_len - sent < PIECE ? send_len - sent : PIECE;
            ssize_t w = send(to_next, send_buf + sent, k, MSG_NOSIGNAL);
            if (w > 0) sent += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) die("send()");
        }
        if (received < recv_len && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            size_t k = recv_len - received < PIECE ? recv_len - received : PIECE;
            ssize_t r = recv(from_prev, recv_buf + received, k, 0);
            if (r == 0) {
                errno = 0;
                die("recv(): predecessor closed the connection");
            }
            if (r < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) die("recv()");
                continue;
            }
            received += (size_t)r;
            if (reduce_into != NULL) {
                const float *restrict src = (const float *)recv_buf;
                size_t complete = received / sizeof(float);
                for (size_t i = reduced; i < complete; i++) reduce_into[i] += src[i];
                reduced = complete;
            }
        }
    }
}

/* In-place ring all-reduce (sum) of buf[0..count). */
static void ring_allreduce(float *buf, long long count, float *scratch, int to_next, int from_prev) {
    long long c = count / n;
#define CHUNK_START(k) ((k) * c)
#define CHUNK_LEN(k) ((k) == n - 1 ? count - (long long)(n - 1) * c : c)
    /* Reduce-scatter: in step s, send chunk (rank - s) and add the predecessor's chunk (rank - s - 1); after
     * n-1 steps this rank holds the full sum of chunk (rank + 1). */
    for (int s = 0; s < n - 1; s++) {
        int send_k = ((rank - s) % n + n) % n, recv_k = ((rank - s - 1) % n + n) % n;
        exchange(to_next, from_prev, (const char *)(buf + CHUNK_START(send_k)), CHUNK_LEN(send_k) * sizeof(float),
                 (char *)scratch, CHUNK_LEN(recv_k) * sizeof(float), buf + CHUNK_START(recv_k));
    }
    /* All-gather: in step s, pass on chunk (rank + 1 - s) and receive chunk (rank - s) into place. */
    for (int s = 0; s < n - 1; s++) {
        int send_k = ((rank + 1 - s) % n + n) % n, recv_k = ((rank - s) % n + n) % n;
        exchange(to_next, from_prev, (const char *)(buf + CHUNK_START(send_k)), CHUNK_LEN(send_k) * sizeof(float),
                 (char *)(buf + CHUNK_START(recv_k)), CHUNK_LEN(recv_k) * sizeof(float), NULL);
    }
#undef CHUNK_START
#undef CHUNK_LEN
}

/* Child process of rank r: up = pipe to the parent, down = pipe from it. */
static void run_rank(int listener, const int *tcp_ports, long long count, int iters, int up, int down) {
    int to_next = -1, from_prev = -1;
    if (n > 1) connect_ring(listener, tcp_ports, &to_next, &from_prev);
    size_t buf_bytes = count > 0 ? (size_t)count * sizeof(float) : sizeof(float);
    long long max_chunk = count / n + count % n;
    size_t scratch_bytes = max_chunk > 0 ? (size_t)max_chunk * sizeof(float) : sizeof(float);
    float *buf = malloc(buf_bytes), *scratch = malloc(scratch_bytes);
    if (buf == NULL || scratch == NULL) die("malloc(%zu + %zu bytes)", buf_bytes, scratch_bytes);
    for (int it = 0; it < WARMUP + iters; it++) {
        for (long long i = 0; i < count; i++) buf[i] = (float)((i % 13) + rank);
        /* Barrier: tell the parent this rank is ready, wait for its go. */
        char token = 'r';
        write_full(up, &token, 1, "ready to parent");
        if (!read_full(down, &token, 1, "go from parent")) {
            errno = 0;
            die("parent closed the barrier pipe");
        }
        double cpu_start = cpu_seconds(), start = now_seconds();
        if (n > 1) ring_allreduce(buf, count, scratch, to_next, from_prev);
        struct report report = {.elapsed_s = now_seconds() - start, .cpu_s = cpu_seconds() - cpu_start, .wrong = 0};
        if (it == WARMUP + iters - 1) {
            long long rank_sum = (long long)n * (n - 1) / 2;
            for (long long i = 0; i < count; i++)
                if (buf[i] != (float)(n * (i % 13) + rank_sum)) report.wrong++;
        }
        write_full(up, &report, sizeof report, "report to parent");
    }
    free(buf);
    free(scratch);
    _exit(0);
}

static long long parse_count(const char *text, const char *name, long long min) {
    char *end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min) {
        fprintf(stderr, "c_ring_allreduce: %s must be an integer >= %lld, got '%s'\n", name, min, text);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[4], "tcp") != 0 && strcmp(argv[4], "uds") != 0)) {
        fprintf(stderr, "usage: c_ring_allreduce RANKS BYTES ITERS tcp|uds\n");
        return 2;
    }
    long long ranks = parse_count(argv[1], "RANKS", 1);
    if (ranks > 1024) {
        fprintf(stderr, "c_ring_allreduce: RANKS must be <= 1024\n");
        return 2;
    }
    n = (int)ranks;
    long long bytes = parse_count(argv[2], "BYTES", 0);
    int iters = (int)parse_count(argv[3], "ITERS", 1);
    use_uds = strcmp(argv[4], "uds") == 0;
    long long count = bytes / (long long)sizeof(float);
    signal(SIGPIPE, SIG_IGN); /* a dead rank shows as a write error on its pipe, not as a signal */

    int *listeners = calloc((size_t)n, sizeof(int)), *tcp_ports = calloc((size_t)n, sizeof(int));
    int *up = calloc((size_t)n, sizeof(int)), *down = calloc((size_t)n, sizeof(int));
    pid_t *pids = calloc((size_t)n, sizeof(pid_t));
    if (!listeners || !tcp_ports || !up || !down || !pids) die("calloc()");
    if (n > 1) listen_all(listeners, tcp_ports);

    for (int r = 0; r < n; r++) {
        int up_pipe[2], down_pipe[2];
        if (pipe(up_pipe) < 0 || pipe(down_pipe) < 0) die("pipe() for rank %d", r);
        pid_t pid = fork();
        if (pid < 0) die("fork() for rank %d", r);
        if (pid == 0) {
            rank = r;
            /* Keep only this rank's listener and pipe ends, so a rank's death shows as EOF to the others. */
            for (int q = 0; q < r; q++) {
                close(up[q]);
                close(down[q]);
            }
            for (int q = 0; q < n && n > 1; q++)
                if (q != r) close(listeners[q]);
            close(up_pipe[0]);
            close(down_pipe[1]);
            run_rank(n > 1 ? listeners[r] : -1, tcp_ports, count, iters, up_pipe[1], down_pipe[0]);
        }
        pids[r] = pid;
        close(up_pipe[1]);
        close(down_pipe[0]);
        up[r] = up_pipe[0];
        down[r] = down_pipe[1];
    }
    for (int r = 0; r < n && n > 1; r++) close(listeners[r]);

    double total = 0, cpu = 0;
    long long wrong = 0;
    int failed = 0;
    for (int it = 0; it < WARMUP + iters && !failed; it++) {
        char token;
        for (int r = 0; r < n && !failed; r++)
            if (!read_full(up[r], &token, 1, "ready from rank")) failed = 1;
        if (failed) break;
        /* Every rank has connected by the first barrier: the socket paths are no longer needed. */
        if (it == 0) remove_uds_paths();
        token = 'g';
        for (int r = 0; r < n; r++) write_full(down[r], &token, 1, "go to rank");
        double slowest = 0;
        for (int r = 0; r < n && !failed; r++) {
            struct report report;
            if (!read_full(up[r], &report, sizeof report, "report from rank")) {
                failed = 1;
                break;
            }
            if (report.elapsed_s > slowest) slowest = report.elapsed_s;
            if (it >= WARMUP) cpu += report.cpu_s;
            wrong += report.wrong;
        }
        if (it >= WARMUP) total += slowest;
    }
    if (failed) {
        /* A rank exited early (it printed why): stop the others. */
        for (int r = 0; r < n; r++) kill(pids[r], SIGTERM);
    }
    int status_failed = 0;
    for (int r = 0; r < n; r++) {
        int status;
        while (waitpid(pids[r], &status, 0) < 0)
            if (errno != EINTR) die("waitpid() for rank %d", r);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) status_failed = 1;
    }
    remove_uds_paths();
    if (failed || status_failed) {
        fprintf(stderr, "c_ring_allreduce: a rank failed; no result\n");
        return 1;
    }

    double mean = total / iters;
    double algbw = mean > 0 ? (double)bytes / mean / 1e9 : 0;
    double busbw = algbw * 2.0 * (n - 1) / n;
    printf("ranks=%d bytes=%lld time_ms=%.3f algbw_GBs=%.3f busbw_GBs=%.3f wrong=%lld cpu_ms=%.1f\n", n, bytes,
           mean * 1e3, algbw, busbw, wrong, cpu / n / iters * 1e3);
    return 0;
}
