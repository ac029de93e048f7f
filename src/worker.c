/* worker.c - the FastCGI request loop (see worker.h). */
#include "autoconfig.h"
#include "worker.h"

#include "api.h"
#include "credentials.h"
#include "clock.h"
#include "errors.h"
#include "http.h"
#include "jsonutil.h"
#include "log.h"
#include "metrics.h"
#include "response.h"
#include "router.h"

#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static volatile sig_atomic_t worker_stop;
static volatile sig_atomic_t worker_draining;
static volatile sig_atomic_t worker_reopen_logs;
static char body_buf[HTTP_MAX_BULK_BODY + 1]; /* pages touched on use */

static void on_term(int sig)
{
    (void)sig;
    worker_stop = 1;
}

static void on_usr1(int sig)
{
    (void)sig;
    worker_draining = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    worker_reopen_logs = 1;   /* credentials are re-read before the next one */
    log_reopen_signal_safe(); /* at once, even while idle in accept() */
}

static void install_signals(void)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term; /* no SA_RESTART: accept() must return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* SA_RESTART: a SIGHUP (log rotation) never breaks a read or write of
     * a request in hand (libfcgi gives up on EINTR), so it never turns an
     * accepted submission into an error; the logs are re-opened before the
     * next request. */
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = on_usr1; /* the master's graceful stop has begun */
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

static void copy_param(char **envp, const char *name, char *dst, size_t len)
{
    const char *v = FCGX_GetParam(name, envp);
    snprintf(dst, len, "%s", v ? v : "");
}

static void read_request_line(char **envp, struct http_request *req)
{
    copy_param(envp, "REQUEST_METHOD", req->method, sizeof(req->method));
    copy_param(envp, "DOCUMENT_URI", req->path, sizeof(req->path));
    if (!req->path[0]) {
        copy_param(envp, "REQUEST_URI", req->path, sizeof(req->path));
        req->path[strcspn(req->path, "?")] = '\0';
    }
    copy_param(envp, "REQUEST_ID", req->request_id, sizeof(req->request_id));
    const char *start = FCGX_GetParam("REQUEST_START", envp);
    char *end;
    req->arrived = start ? strtod(start, &end) : 0;
    if (!start || end == start || *end || !(req->arrived > 0))
        req->arrived = 0;
    copy_param(envp, "QUERY_STRING", req->query, sizeof(req->query));
    copy_param(envp, "HTTP_ACCEPT", req->accept, sizeof(req->accept));
    copy_param(envp, "HTTP_X_PROMETHEUS_SCRAPE_TIMEOUT_SECONDS",
               req->scrape_timeout, sizeof(req->scrape_timeout));
    copy_param(envp, "REMOTE_ADDR", req->remote_addr,
               sizeof(req->remote_addr));
    copy_param(envp, "HTTP_AUTHORIZATION", req->authorization,
               sizeof(req->authorization));
}

bool worker_is_json(const char *content_type)
{
    static const char json[] = "application/json";
    const char *rest;

    if (!content_type || strncasecmp(content_type, json, sizeof(json) - 1))
        return false;
    rest = content_type + sizeof(json) - 1;
    rest += strspn(rest, " \t");
    return *rest == '\0' || *rest == ';';
}

int worker_parse_params(char **envp, struct http_request *req,
                        struct http_response *resp, size_t *body_len)
{
    const char *cl;
    char *end;

    read_request_line(envp, req);
    *body_len = 0;
    if (!router_knows(req->path) || strcmp(req->method, "POST") != 0)
        return 0;
    cl = FCGX_GetParam("CONTENT_LENGTH", envp);
    if (router_body_optional(req->path) && (!cl || !*cl || !strcmp(cl, "0")))
        return 0;
    if (!cl || !*cl) {
        response_error(resp, BMC_ERR_INVALID_REQUEST, NULL, NULL,
                       "Content-Length is required");
        resp->status = 411;
        return -1;
    }
    errno = 0;
    unsigned long long len = strtoull(cl, &end, 10);
    if (errno || *end || end == cl) {
        response_error(resp, BMC_ERR_INVALID_REQUEST, NULL, NULL,
                       "Content-Length is not a number");
        return -1;
    }
    if (len == 0) {
        response_error(resp, BMC_ERR_INVALID_REQUEST, NULL, NULL,
                       "the body is empty: a POST must carry a JSON object");
        return -1;
    }
    if (len > router_body_limit(req->path)) {
        response_error(resp, BMC_ERR_BODY_TOO_LARGE, NULL, NULL,
                       "the body may be at most %zu bytes",
                       router_body_limit(req->path));
        return -1;
    }
    if (!worker_is_json(FCGX_GetParam("CONTENT_TYPE", envp))) {
        response_error(resp, BMC_ERR_UNSUPPORTED_MEDIA, NULL, NULL,
                       "a POST must be Content-Type: application/json");
        return -1;
    }
    *body_len = (size_t)len;
    return 0;
}

/* Read the LEN bytes of body announced; answers the error itself and
 * returns -1 when the body is incomplete. */
static int read_body(FCGX_Request *rq, size_t len, struct http_request *req,
                     struct http_response *resp)
{
    size_t got = 0;

    req->body = body_buf;
    req->body_len = 0;
    while (got < len) {
        int n = FCGX_GetStr(body_buf + got, (int)(len - got), rq->in);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got != len) {
        response_error(resp, BMC_ERR_INVALID_REQUEST, NULL, NULL,
                       "the body ended after %zu of %zu bytes", got, len);
        return -1;
    }
    body_buf[got] = '\0';
    req->body_len = got;
    return 0;
}

/* Headers are formatted with snprintf: libfcgi's own printf knows no %zu. */
static void write_response(FCGX_Request *rq, const struct http_request *req,
                           const struct http_response *resp)
{
    const char *body = resp->text   ? resp->text
                       : resp->body ? json_compact(resp->body)
                                    : "{}";
    size_t len = strlen(body);
    char head[512];
    int n;

    n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Type: %s\r\n",
                 resp->status, http_reason(resp->status),
                 resp->text && resp->content_type ? resp->content_type
                                                  : "application/json");
    if (resp->retry_after > 0)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Retry-After: %d\r\n", resp->retry_after);
    if (resp->allow)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Allow: %s\r\n",
                      resp->allow);
    if (resp->www_authenticate)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "WWW-Authenticate: Bearer realm=\"bmc-manager\"\r\n");
    n += snprintf(head + n, sizeof(head) - (size_t)n,
                  "Content-Length: %zu\r\n\r\n", len);
    FCGX_PutStr(head, n, rq->out);
    if (strcmp(req->method, "HEAD") != 0)
        FCGX_PutStr(body, (int)len, rq->out);
}

#define DRAIN_MAX (2 * HTTP_MAX_BODY)

/* Read what is left of the request's input (bounded): true when it ended.
 * Only then may the connection be closed plainly (see serve_one): unread
 * data at close would reset nginx's side before it reads our answer. */
static bool drain_input(FCGX_Request *rq)
{
    char scratch[4096];
    size_t total = 0;
    int n;

    bool ended = true;

    while ((n = FCGX_GetStr(scratch, (int)sizeof(scratch), rq->in)) > 0)
        if ((total += (size_t)n) > DRAIN_MAX) {
            ended = false;
            break;
        }
    explicit_bzero(scratch, sizeof(scratch));
    return ended;
}

/* The head of libfcgi's private FCGX_Stream_Data (fcgiapp.c, unchanged
 * since libfcgi 2.4.0): its record buffer, which held the raw body. */
struct fcgi_stream_head {
    unsigned char *buff;
    int bufflen;
};

/* Before the request's memory is reused or freed (DESIGN.md "Memory"):
 * our body buffer, libfcgi's input buffer and the Authorization
 * parameter. */
static void wipe_request(FCGX_Request *rq, const struct http_request *req)
{
    explicit_bzero(body_buf, req->body_len);
    if (rq->in && rq->in->isReader && rq->in->data) {
        struct fcgi_stream_head *d = rq->in->data;
        if (d->buff && d->bufflen > 0)
            explicit_bzero(d->buff, (size_t)d->bufflen);
    }
    for (char **e = rq->envp; e && *e; e++)
        if (!strncmp(*e, "HTTP_AUTHORIZATION=", 19))
            explicit_bzero(*e + 19, strlen(*e + 19));
}

static void serve_one(FCGX_Request *rq)
{
    struct http_request req;
    struct http_response resp;
    double started = clock_now_mono();
    size_t len;

    memset(&req, 0, sizeof(req));
    http_response_init(&resp);
    int rc = worker_parse_params(rq->envp, &req, &resp, &len);
    log_set_request_id(req.request_id);
    if (rc == 0 && router_authenticate(&req, &resp) == 0 &&
        read_body(rq, len, &req, &resp) == 0)
        router_dispatch(&req, &resp);
    explicit_bzero(req.authorization, sizeof(req.authorization));
    write_response(rq, &req, &resp);
    metrics_count_request(router_endpoint_name(req.path), resp.status);
    /* Detached, libfcgi closes with close() instead of shutdown + poll +
     * read until nginx closes first: the worker is free for the next
     * request without waiting for nginx to be scheduled (half the cost of
     * /health in the benchmark, and the cause of collapse under load). */
    bool drained = drain_input(rq);
    wipe_request(rq, &req);
    if (drained)
        FCGX_Detach(rq);
    FCGX_Finish_r(rq);
    log_info("request", "method=%s path=%.128s status=%d ms=%.1f", req.method,
             req.path, resp.status, (clock_now_mono() - started) * 1000.0);
    log_set_request_id(NULL);
    http_response_clear(&resp);
}

int worker_run(int listen_fd, const char *pool, long max_requests,
               struct taskstore *store)
{
    FCGX_Request rq;
    long served = 0;

    install_signals();
    api_set_store(store);
    if (FCGX_Init() != 0 ||
        FCGX_InitRequest(&rq, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
        log_error("worker_init_failed", "pool=%s", pool);
        return 1;
    }
    log_debug("worker_start", "pool=%s", pool);
    /* draining, a worker is not recycled: none would replace it */
    while (!worker_stop && (served < max_requests || worker_draining)) {
        if (worker_reopen_logs) {
            worker_reopen_logs = 0;
            log_reopen();
            credentials_reload_secrets();
        }
        if (FCGX_Accept_r(&rq) < 0) {
            if (worker_stop || errno == EINTR || worker_reopen_logs)
                continue;
            log_error("accept_failed", "pool=%s errno=%d", pool, errno);
            return 1;
        }
        if (worker_draining)
            api_set_draining();
        serve_one(&rq);
        served++;
    }
    log_debug("worker_exit", "pool=%s served=%ld reason=%s", pool, served,
              worker_stop ? "stop" : "recycle");
    FCGX_Free(&rq, 1);
    return 0;
}
