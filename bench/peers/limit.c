/* limit: the canned-response ceiling for porter's benchmarks (bench/README.md).
 *
 *   limit PORT
 *
 * One thread, one epoll set, listening on 127.0.0.1:PORT. It reads whatever a
 * client sends, counts the blank lines that end request heads ("\r\n\r\n") and
 * writes one fixed 200 reply per head. It does not parse, route or allocate per
 * request, so its requests/s are what the kernel's socket calls alone allow on
 * this machine: no HTTP server answering the same requests can do much better.
 * Only good for GET without a body (the plaintext and pipelined scenarios).
 *
 * Writes that the socket cannot take whole are finished when epoll says the
 * socket is writable again, so pipelined clients always get every reply.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Replies copied into one buffer per write: a pipelined batch leaves in one call. */
#define BATCH 64

struct conn {
    unsigned matched;  /* bytes of "\r\n\r\n" seen at the end of the input so far */
    size_t owed;       /* replies counted but not yet written */
    size_t sent;       /* bytes of the first owed reply already written */
};

static char reply[256];
static size_t reply_len;
static char batch[BATCH * sizeof reply];
static struct conn *conns;
static size_t max_fds;

/* The one reply, with a Date fixed at start-up (its size is what matters). */
static void make_reply(void) {
    char date[64];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&now));
    reply_len = (size_t)snprintf(reply, sizeof reply,
                                 "HTTP/1.1 200 OK\r\nServer: limit\r\nDate: %s\r\n"
                                 "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!",
                                 date);
    for (int i = 0; i < BATCH; i++) memcpy(batch + i * reply_len, reply, reply_len);
}

static int listener(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) || listen(fd, 4096)) {
        perror("limit: listen");
        exit(1);
    }
    return fd;
}

static void drop(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

/* Counts the heads that end in buf[0..n), carrying a partial "\r\n\r\n" over. */
static size_t count_heads(struct conn *c, const char *buf, size_t n) {
    static const char end[4] = {'\r', '\n', '\r', '\n'};
    size_t heads = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == end[c->matched]) {
            if (++c->matched == 4) {
                heads++;
                c->matched = 0;
            }
        } else {
            c->matched = buf[i] == '\r';
        }
    }
    return heads;
}

/* Writes what is owed; 0 when done or blocked, -1 when the connection failed. */
static int flush(struct conn *c, int fd) {
    while (c->owed) {
        size_t replies = c->owed < BATCH ? c->owed : BATCH;
        size_t len = replies * reply_len - c->sent;
        ssize_t n = write(fd, batch + c->sent, len);
        if (n < 0) return errno == EAGAIN ? 0 : -1;
        size_t done = c->sent + (size_t)n;
        c->owed -= done / reply_len;
        c->sent = done % reply_len;
    }
    return 0;
}

static void accept_all(int ep, int ls) {
    int fd, on = 1;
    while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        if ((size_t)fd >= max_fds) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        conns[fd] = (struct conn){0};
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) close(fd);
    }
}

/* Edge-triggered: read until the socket is empty, then write what is owed. */
static void serve(int ep, int fd) {
    static char in[64 * 1024];
    struct conn *c = &conns[fd];
    for (;;) {
        ssize_t n = read(fd, in, sizeof in);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            drop(ep, fd);
            return;
        }
        if (n < 0) break;
        c->owed += count_heads(c, in, (size_t)n);
    }
    if (flush(c, fd)) drop(ep, fd);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: limit PORT\n");
        return 2;
    }
    struct rlimit nofile;
    getrlimit(RLIMIT_NOFILE, &nofile);
    max_fds = nofile.rlim_cur;
    conns = calloc(max_fds, sizeof *conns);
    make_reply();
    int ls = listener(atoi(argv[1])), ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls}, ready[256];
    if (!conns || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev)) {
        perror("limit: setup");
        return 1;
    }
    for (;;) {
        int n = epoll_wait(ep, ready, 256, -1);
        for (int i = 0; i < n; i++) {
            if (ready[i].data.fd == ls)
                accept_all(ep, ls);
            else
                serve(ep, ready[i].data.fd);
        }
    }
}
