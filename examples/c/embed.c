/*
 * embed.c: porter inside the caller's own poll() loop (like libmicrohttpd's
 * external-select mode). Everything runs on this one thread.
 *
 *   embed ADDR          GET /hello answers; GET /quit shuts the server down;
 *                       a line "quit" on stdin does too.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "porter.h"

static unsigned long served;

static void hello(porter_request *req, void *user_data) {
    (void)user_data;
    char text[64];
    snprintf(text, sizeof text, "Hello from a poll() loop (#%lu)\n", ++served);
    porter_response *res = porter_response_new(200);
    porter_response_header(res, "Content-Type", "text/plain");
    porter_response_body_string(res, text);
    porter_request_respond(req, res);
}

static void quit(porter_request *req, void *user_data) {
    porter_server **server = user_data;
    porter_response *res = porter_response_new(200);
    porter_response_body_string(res, "bye\n");
    porter_request_respond(req, res);
    porter_server_shutdown(*server, 1000); /* this reply still goes out */
}

int main(int argc, char **argv) {
    static porter_server *server; /* the /quit handler reads it */
    porter_config *cfg = porter_config_new();
    porter_config_listen(cfg, argc > 1 ? argv[1] : "127.0.0.1:8080");
    porter_config_threads(cfg, 1); /* embedding needs exactly one loop */
    porter_config_route(cfg, "GET", "/hello", hello, NULL);
    porter_config_route(cfg, "GET", "/quit", quit, &server);
    if (porter_server_new(cfg, &server) != PORTER_OK || porter_server_embed(server) != PORTER_OK) {
        fprintf(stderr, "embed: %s\n", porter_last_error());
        porter_server_free(server);
        return 1;
    }
    char bound[64];
    porter_server_local_addr(server, 0, bound, sizeof bound);
    printf("serving on http://%s\n", bound);
    fflush(stdout);

    int porter_fd = -1, stdin_open = 1, status = PORTER_OK;
    porter_server_poll_fd(server, &porter_fd);
    while (status == PORTER_OK) {
        struct pollfd fds[2] = {{porter_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
        int64_t wait_ms = -1;
        porter_server_next_timeout(server, &wait_ms);
        if (poll(fds, stdin_open ? 2 : 1, wait_ms > 60000 ? 60000 : (int)wait_ms) < 0) break;
        if (stdin_open && fds[1].revents) { /* our own work, next to porter's */
            char line[64];
            ssize_t n = read(STDIN_FILENO, line, sizeof line - 1);
            if (n <= 0) stdin_open = 0;
            else if (strncmp(line, "quit", 4) == 0) porter_server_shutdown(server, 1000);
        }
        status = porter_server_run_once(server, 0); /* handle what is ready, do not block */
    }
    if (status < 0) fprintf(stderr, "embed: %s\n", porter_last_error());
    porter_server_free(server);
    printf("served %lu\n", served);
    return status < 0;
}
