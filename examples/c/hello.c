/*
 * hello.c: porter from C.
 *
 *   hello ADDR [ROOT [THREADS]]      e.g.  hello 127.0.0.1:8080 ./public
 *
 *   GET  /plaintext   "Hello, World!" (text/plain): the benchmark route
 *   POST /echo        echoes a JSON body (415 unless Content-Type is JSON)
 *   GET  /worker      answered later, by a worker pthread (porter_request_defer)
 *   GET  /stream      a chunked body produced by the worker pthread
 *   GET  /whoami      the client's address (from the PROXY header on the proxy listener)
 *   GET  /metrics     porter's counters in Prometheus text format (with HELLO_METRICS=1)
 *   anything else     a file under ROOT (if given), else 404
 *
 * Environment: HELLO_ACCESS_LOG=FILE writes a Combined access log to FILE
 * (reopened on SIGUSR1); HELLO_PROXY=ADDR adds a listener behind a load
 * balancer that sends the PROXY protocol (printed as "proxy on http://ADDR").
 *
 * Runs on porter's threads (one by default) until SIGINT or SIGTERM, then
 * shuts down gracefully and frees everything (it is run under valgrind).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "porter.h"

static const char HELLO[] = "Hello, World!";

/* ---- the worker pthread: a queue of deferred requests ---- */

enum job_kind { JOB_ANSWER, JOB_STREAM, JOB_QUIT };

struct job {
    enum job_kind kind;
    porter_responder *responder;
    struct job *next;
};

struct worker {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct job *head, *tail;
    pthread_t thread;
    const porter_response *answer; /* built once by main, copied for every /worker */
};

static void worker_push(struct worker *w, enum job_kind kind, porter_responder *responder) {
    struct job *job = calloc(1, sizeof *job);
    if (!job) { porter_responder_free(responder); return; } /* answers 500 */
    job->kind = kind;
    job->responder = responder;
    pthread_mutex_lock(&w->lock);
    if (w->tail) w->tail->next = job; else w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->ready);
    pthread_mutex_unlock(&w->lock);
}

static struct job *worker_pop(struct worker *w) {
    pthread_mutex_lock(&w->lock);
    while (!w->head) pthread_cond_wait(&w->ready, &w->lock);
    struct job *job = w->head;
    w->head = job->next;
    if (!w->head) w->tail = NULL;
    pthread_mutex_unlock(&w->lock);
    return job;
}

static void answer(struct worker *w, porter_responder *responder) {
    if (porter_responder_is_cancelled(responder) == 1) { /* client left: nothing to say */
        porter_responder_free(responder);
        return;
    }
    porter_responder_respond_copy(responder, w->answer);
}

static void stream(porter_responder *responder) {
    porter_response *res = porter_response_new(200);
    porter_body_sender *sender = NULL;
    porter_response_header(res, "Content-Type", "text/plain");
    if (porter_response_body_stream(res, -1, &sender) != PORTER_OK) {
        porter_response_free(res);
        porter_responder_free(responder);
        return;
    }
    porter_responder_respond(responder, res); /* the head goes out; the body follows */
    char line[32];
    for (int i = 1; i <= 5; i++) {
        int n = snprintf(line, sizeof line, "line %d\n", i);
        if (porter_body_sender_send(sender, line, (size_t)n) != PORTER_OK) break; /* client gone */
    }
    porter_body_sender_finish(sender);
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (;;) {
        struct job *job = worker_pop(w);
        enum job_kind kind = job->kind;
        if (kind == JOB_ANSWER) answer(w, job->responder);
        if (kind == JOB_STREAM) stream(job->responder);
        free(job);
        if (kind == JOB_QUIT) return NULL;
    }
}

/* ---- handlers: they run on porter's loop thread and must not block ---- */

/* A fixed answer is built once (in main) and sent as a copy: nothing is
 * allocated or checked per request, the body is shared, not copied. */
static void plaintext(porter_request *req, void *user_data) {
    porter_request_respond_copy(req, user_data);
}

static porter_response *canned(const char *body) {
    porter_response *res = porter_response_new(200);
    porter_response_header_static(res, "Content-Type", "text/plain"); /* literals: no copy */
    porter_response_body_borrow(res, body, strlen(body), NULL, NULL); /* static: no copy */
    return res;
}

static void whoami(porter_request *req, void *user_data) {
    (void)user_data;
    char peer[64];
    if (porter_request_peer_addr(req, peer, sizeof peer) != PORTER_OK) strcpy(peer, "unknown");
    porter_response *res = porter_response_new(200);
    porter_response_header(res, "Content-Type", "text/plain");
    porter_response_body_copy(res, peer, strlen(peer));
    porter_request_respond(req, res);
}

static int is_json(porter_request *req) {
    porter_str type;
    if (porter_request_header(req, "Content-Type", &type) != PORTER_OK) return 0;
    return type.len >= 16 && strncmp(type.ptr, "application/json", 16) == 0;
}

static void echo(porter_request *req, void *user_data) {
    (void)user_data;
    if (!is_json(req)) {
        porter_response *res = porter_response_new(415);
        porter_response_body_string(res, "send application/json\n");
        porter_request_respond(req, res);
        return;
    }
    porter_str body;
    porter_request_body(req, &body);
    porter_response *res = porter_response_new(200);
    porter_response_header(res, "Content-Type", "application/json");
    porter_response_body_copy(res, body.ptr, body.len); /* the request is gone after we return */
    porter_request_respond(req, res);
}

static void deferred(porter_request *req, void *user_data, enum job_kind kind) {
    porter_responder *responder = NULL;
    if (porter_request_defer(req, &responder) != PORTER_OK) {
        fprintf(stderr, "defer: %s\n", porter_last_error());
        return; /* porter answers 500 */
    }
    worker_push(user_data, kind, responder);
}

static void on_worker(porter_request *req, void *user_data) { deferred(req, user_data, JOB_ANSWER); }
static void on_stream(porter_request *req, void *user_data) { deferred(req, user_data, JOB_STREAM); }

static int check(int code, const char *what) {
    if (code < 0) fprintf(stderr, "hello: %s: %s (%s)\n", what, porter_last_error(), porter_status_name(code));
    return code < 0;
}

int main(int argc, char **argv) {
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:8080";
    const char *root = argc > 2 ? argv[2] : NULL;
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 1;

    /* Signals are taken by sigwait below; every thread started after this inherits the mask. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    porter_response *hello = canned(HELLO), *from_worker = canned("answered by a worker thread\n");
    struct worker w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, from_worker};
    if (pthread_create(&w.thread, NULL, worker_main, &w) != 0) {
        porter_response_free(hello);
        porter_response_free(from_worker);
        return 1;
    }

    porter_config *cfg = porter_config_new();
    int failed = check(porter_config_listen(cfg, addr), "listen")
        || check(porter_config_threads(cfg, threads), "threads")
        || check(porter_config_route(cfg, "GET", "/plaintext", plaintext, hello), "route")
        || check(porter_config_route(cfg, "POST", "/echo", echo, NULL), "route")
        || check(porter_config_route(cfg, "GET", "/worker", on_worker, &w), "route")
        || check(porter_config_route(cfg, "GET", "/stream", on_stream, &w), "route")
        || check(porter_config_route(cfg, "GET", "/whoami", whoami, NULL), "route")
        || (getenv("HELLO_METRICS") && check(porter_config_metrics(cfg, "/metrics"), "metrics"))
        || (getenv("HELLO_ACCESS_LOG")
            && check(porter_config_access_log(cfg, getenv("HELLO_ACCESS_LOG"), PORTER_LOG_COMBINED), "access log"))
        || (getenv("HELLO_PROXY") && check(porter_config_listen_proxy(cfg, getenv("HELLO_PROXY")), "proxy listener"))
        || (root && check(porter_config_files(cfg, root), "files"));
    porter_server *server = NULL;
    if (failed) porter_config_free(cfg);
    else failed = check(porter_server_new(cfg, &server), "server") || check(porter_server_start(server), "start");

    if (!failed) {
        char bound[64];
        porter_server_local_addr(server, 0, bound, sizeof bound);
        printf("serving on http://%s\n", bound);
        if (getenv("HELLO_PROXY") && porter_server_local_addr(server, 1, bound, sizeof bound) == PORTER_OK)
            printf("proxy on http://%s\n", bound);
        fflush(stdout);
        int sig;
        while (sigwait(&stop, &sig) == 0 && sig == SIGUSR1) check(porter_server_reopen_logs(server), "reopen logs");
        porter_server_shutdown(server, 2000); /* finish what is in flight, 2 s at most */
        failed = check(porter_server_wait(server), "wait");
    }
    porter_server_free(server);
    worker_push(&w, JOB_QUIT, NULL);
    pthread_join(w.thread, NULL);
    porter_response_free(hello);
    porter_response_free(from_worker);
    return failed ? 1 : 0;
}
