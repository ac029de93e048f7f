/* executor.c - async jobs: submission protocol, queue, threads (see
 * executor.h). */
#include "autoconfig.h"
#include "executor.h"

#include "config.h"
#include "engine.h"
#include "errors.h"
#include "jsonutil.h"
#include "log.h"
#include "methods.h"
#include "taskrun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define JOB_MSG_MAX           (HTTP_MAX_BODY_FOR_JOB + 4096)
#define HTTP_MAX_BODY_FOR_JOB 65536
#define THREAD_STACK          (256 * 1024)
#define IO_TIMEOUT_S          2

/* A submitted job: the request as the worker validated it (connection
 * with the password, method name, params, options), then its task. */
struct job {
    struct api_request req;
    char request_id[65];
    char task_id[TASK_ID_LEN + 1];
    struct job *next;
};

static struct {
    pthread_mutex_t lock;
    struct job *head, *tail;
    int queued, running;
    struct taskstore *store;
} ex = {.lock = PTHREAD_MUTEX_INITIALIZER};

static volatile sig_atomic_t executor_stop;
static volatile sig_atomic_t executor_reopen_logs;

/* ---- socket address ----------------------------------------------------- */

const char *executor_socket_path(void)
{
    static char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(path, sizeof(path), "%s/executor.sock", bmc_cfg.state_dir);
    return path;
}

static int fill_addr(struct sockaddr_un *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/executor.sock",
                     bmc_cfg.state_dir);
    return n >= (int)sizeof(sa->sun_path) ? -1 : 0;
}

int executor_listen(char *err, size_t errlen)
{
    struct sockaddr_un sa;
    int fd;

    if (fill_addr(&sa)) {
        snprintf(err, errlen, "BMC_STATE_DIR %s is too long for a socket path",
                 bmc_cfg.state_dir);
        return -1;
    }
    unlink(sa.sun_path); /* the master holds the store's flock: ours */
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177);
    int rc = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc || listen(fd, 1024)) {
        snprintf(err, errlen, "cannot listen on %s: %s", sa.sun_path,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void set_timeouts(int fd)
{
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- job messages (JSON; the only place credentials travel) ------------- */

static void wipe_json_string(json_object *obj, const char *key)
{
    json_object *v;
    if (json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_string))
        explicit_bzero((char *)json_object_get_string(v),
                       (size_t)json_object_get_string_len(v));
}

static json_object *job_to_json(const struct api_request *req,
                                const char *method, const char *request_id)
{
    json_object *o = json_object_new_object();
    const struct bmc_conn *c = &req->conn;

    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "params", json_object_get(req->params));
    json_object_object_add(o, "ip", json_object_new_string(c->ip));
    json_object_object_add(o, "username", json_object_new_string(c->username));
    json_object_object_add(o, "protocol", json_object_new_int(c->protocol));
    json_object_object_add(o, "cipher_suite",
                           json_object_new_int(c->cipher_suite));
    json_object_object_add(o, "port", json_object_new_int(c->port));
    json_object_object_add(o, "tls_pin", json_object_new_string(c->tls_pin));
    json_object_object_add(o, "retry_times",
                           json_object_new_int(req->retry_times));
    json_object_object_add(o, "delay", json_object_new_double(req->delay));
    json_object_object_add(
        o, "wait", json_object_new_double(req->wait_for_state_seconds));
    json_object_object_add(
        o, "request_id", json_object_new_string(request_id ? request_id : ""));
    json_object_object_add(o, "requested_by",
                           json_object_new_string(req->requested_by));
    return o;
}

static void copy_str(json_object *o, const char *key, char *dst, size_t len)
{
    json_object *v;
    const char *s =
        json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
    snprintf(dst, len, "%s", s ? s : "");
}

static double get_num(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v)
                                                 : 0;
}

static struct job *job_from_json(json_object *o)
{
    struct job *j = calloc(1, sizeof(*j));
    json_object *params;

    if (!j)
        return NULL;
    copy_str(o, "method", j->req.method, sizeof(j->req.method));
    copy_str(o, "ip", j->req.conn.ip, sizeof(j->req.conn.ip));
    copy_str(o, "username", j->req.conn.username,
             sizeof(j->req.conn.username));
    copy_str(o, "password", j->req.conn.password,
             sizeof(j->req.conn.password));
    copy_str(o, "tls_pin", j->req.conn.tls_pin, sizeof(j->req.conn.tls_pin));
    copy_str(o, "request_id", j->request_id, sizeof(j->request_id));
    copy_str(o, "requested_by", j->req.requested_by,
             sizeof(j->req.requested_by));
    j->req.conn.protocol = (enum bmc_protocol)get_num(o, "protocol");
    j->req.conn.cipher_suite = (int)get_num(o, "cipher_suite");
    j->req.conn.port = (int)get_num(o, "port");
    j->req.retry_times = (int)get_num(o, "retry_times");
    j->req.delay = get_num(o, "delay");
    j->req.wait_for_state_seconds = get_num(o, "wait");
    j->req.params = json_object_object_get_ex(o, "params", &params) &&
                            json_object_is_type(params, json_type_object)
                        ? json_object_get(params)
                        : json_object_new_object();
    return j;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    const struct method_def *m = methods_find(j->req.method);
    if (m)
        methods_params_wipe(m, j->req.params); /* e.g. a new_password */
    request_free(&j->req);                     /* wipes the password */
    free(j);
}

/* ---- worker side -------------------------------------------------------- */

static int submit_fail(char *details, size_t dlen, const char *why)
{
    snprintf(details, dlen, "%s", why);
    return BMC_ERR_SERVICE_UNAVAILABLE;
}

/* Append S as a JSON string to BUF (LEN bytes, *AT used); -1 if full. */
static int append_json_string(char *buf, size_t len, size_t *at, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *at;

    if (o + 1 >= len)
        return -1;
    buf[o++] = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (o + 7 >= len)
            return -1;
        if (ch == '"' || ch == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)ch;
        } else if (ch < 0x20 || ch == 0x7f) {
            memcpy(buf + o, "\\u00", 4);
            buf[o + 4] = hex[ch >> 4];
            buf[o + 5] = hex[ch & 15];
            o += 6;
        } else {
            buf[o++] = (char)ch;
        }
    }
    buf[o++] = '"';
    *at = o;
    return 0;
}

/* The job message: MSG (no secret in it) with the password spliced in
 * here, in BUF, so that no json-c buffer (whose growth by realloc leaves
 * copies behind) ever holds it. The caller wipes BUF. */
static int job_text(json_object *msg, const char *password, char *buf,
                    size_t len)
{
    const char *text = json_compact(msg);
    size_t n = strlen(text), at;

    if (n < 2 || n + 16 >= len || text[n - 1] != '}')
        return -1;
    memcpy(buf, text, n - 1);
    at = n - 1;
    memcpy(buf + at, ",\"password\":", 12);
    at += 12;
    if (append_json_string(buf, len, &at, password) || at + 2 > len)
        return -1;
    buf[at++] = '}';
    buf[at] = '\0';
    return (int)at;
}

enum bmc_err executor_submit(const struct api_request *req, const char *method,
                             const char *request_id,
                             char id_out[TASK_ID_LEN + 1], char *details,
                             size_t dlen)
{
    struct sockaddr_un sa;
    char reply[512];
    int rc = BMC_ERR_SERVICE_UNAVAILABLE;
    json_object *msg = job_to_json(req, method, request_id), *ans = NULL, *v;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    static char text[JOB_MSG_MAX];
    int len = job_text(msg, req->conn.password, text, sizeof(text));

    if (fd < 0 || fill_addr(&sa) ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        rc = submit_fail(details, dlen, "the async executor is not running");
        goto out;
    }
    set_timeouts(fd);
    if (len < 0 || send(fd, text, (size_t)len, MSG_NOSIGNAL) < 0) {
        rc = submit_fail(details, dlen,
                         "the async executor did not take the job");
        goto out;
    }
    ssize_t n = recv(fd, reply, sizeof(reply) - 1, 0);
    if (n <= 0) {
        rc = submit_fail(details, dlen, "the async executor did not answer");
        goto out;
    }
    reply[n] = '\0';
    ans = json_tokener_parse(reply);
    if (ans && json_object_object_get_ex(ans, "task_id", &v)) {
        snprintf(id_out, TASK_ID_LEN + 1, "%s", json_object_get_string(v));
        rc = 0;
    } else {
        copy_str(ans, "details", details, dlen);
        rc = ans && json_object_object_get_ex(ans, "code", &v)
                 ? json_object_get_int(v)
                 : BMC_ERR_SERVICE_UNAVAILABLE;
    }
out:
    explicit_bzero(text, sizeof(text));
    json_object_put(msg);
    json_object_put(ans);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- executor side ------------------------------------------------------ */

static void run_job(struct job *j)
{
    struct engine_result res;

    log_set_request_id(j->request_id);
    taskrun_run(ex.store, j->task_id, methods_find(j->req.method), &j->req,
                j->request_id, &res);
    engine_result_clear(&res);
    log_set_request_id(NULL);
}

/* Next queued job for a thread that finished one, or NULL (then the
 * thread ends and the running count drops). */
static struct job *next_job(void)
{
    struct job *j;

    pthread_mutex_lock(&ex.lock);
    j = executor_stop ? NULL : ex.head;
    if (j) {
        ex.head = j->next;
        if (!ex.head)
            ex.tail = NULL;
        ex.queued--;
    } else {
        ex.running--;
    }
    pthread_mutex_unlock(&ex.lock);
    return j;
}

static void *job_thread(void *arg)
{
    struct job *j = arg;

    while (j) {
        run_job(j);
        job_free(j);
        j = next_job();
        if (j)
            taskstore_mark_running(ex.store, j->task_id, getpid());
    }
    return NULL;
}

static int start_thread(struct job *j)
{
    pthread_attr_t attr;
    pthread_t t;
    sigset_t hup, old;

    /* Job threads never take SIGHUP: it is the main loop's (log reopen),
     * and it must not interrupt a thread's BMC exchange. */
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, &old);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, job_thread, j);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Answer a submission: {"task_id": ID}, or {"code": CODE, "details":
 * DETAILS} when the job was not taken (json-c escapes DETAILS). */
static void reply(int fd, const char *task_id, enum bmc_err code,
                  const char *details)
{
    json_object *o = json_object_new_object();

    if (task_id) {
        json_object_object_add(o, "task_id", json_object_new_string(task_id));
    } else {
        json_object_object_add(o, "code", json_object_new_int((int)code));
        json_object_object_add(o, "details",
                               json_object_new_string(details ? details : ""));
    }
    const char *text = json_compact(o);
    if (send(fd, text, strlen(text), MSG_NOSIGNAL) < 0)
        log_warn("executor_reply_failed", "errno=%d", errno);
    json_object_put(o);
}

/* Admit J: record its task (running or queued) and start or queue it. */
static void admit(int fd, struct job *j)
{
    bool run_now, full;
    int rc;

    pthread_mutex_lock(&ex.lock);
    run_now = ex.running < bmc_cfg.max_async_tasks;
    full = !run_now && ex.queued >= bmc_cfg.async_queue_max;
    if (run_now)
        ex.running++;
    pthread_mutex_unlock(&ex.lock);
    if (full) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE,
              "the async queue is full (BMC_ASYNC_QUEUE_MAX); retry later");
        goto drop;
    }
    rc = taskrun_create(ex.store, j->req.method, &j->req.conn, j->request_id,
                        j->req.requested_by,
                        run_now ? TASK_RUNNING : TASK_QUEUED, j->task_id);
    if (rc != TS_OK) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE, taskstore_rc_message(rc));
        goto drop;
    }
    reply(fd, j->task_id, BMC_OK, NULL);
    if (run_now) {
        if (start_thread(j) == 0)
            return;
        /* No thread: the task ends failed, saying so (never left running). */
        pthread_mutex_lock(&ex.lock);
        ex.running--;
        pthread_mutex_unlock(&ex.lock);
        taskstore_finish(ex.store, j->task_id, TASK_FAILED, NULL,
                         BMC_ERR_EXECUTION_FAILED, "Method execution failed",
                         "the executor could not start a thread");
        job_free(j);
        return;
    }
    pthread_mutex_lock(&ex.lock);
    if (ex.tail)
        ex.tail->next = j;
    else
        ex.head = j;
    ex.tail = j;
    ex.queued++;
    pthread_mutex_unlock(&ex.lock);
    return;
drop:
    if (run_now) {
        pthread_mutex_lock(&ex.lock);
        ex.running--;
        pthread_mutex_unlock(&ex.lock);
    }
    job_free(j);
}

static void serve_connection(int fd)
{
    static char buf[JOB_MSG_MAX];
    json_object *msg;
    struct job *j;

    set_timeouts(fd);
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
        return;
    msg = json_parse_strict(buf, (size_t)n, 16, NULL, 0);
    explicit_bzero(buf, (size_t)n);
    if (!msg) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE, "malformed job");
        return;
    }
    j = job_from_json(msg);
    wipe_json_string(msg, "password");
    json_object_put(msg);
    if (!j || !methods_find(j->req.method)) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE, "malformed job");
        job_free(j);
        return;
    }
    admit(fd, j);
}

static void on_term(int sig)
{
    (void)sig;
    executor_stop = 1;
}

static void on_hup(int sig)
{
    (void)sig;
    executor_reopen_logs = 1;
}

/* After SIGHUP (logrotate): task lines go to the new BMC_LOG_FILE. */
static void reopen_logs_if_asked(void)
{
    if (!executor_reopen_logs)
        return;
    executor_reopen_logs = 0;
    log_reopen();
}

/* On shutdown: queued jobs end failed (they never started). */
static void fail_queued(void)
{
    pthread_mutex_lock(&ex.lock);
    struct job *j = ex.head;
    ex.head = ex.tail = NULL;
    ex.queued = 0;
    pthread_mutex_unlock(&ex.lock);
    while (j) {
        struct job *next = j->next;
        taskstore_finish(ex.store, j->task_id, TASK_FAILED, NULL,
                         BMC_ERR_EXECUTION_FAILED, "Method execution failed",
                         "The service stopped before the task started");
        job_free(j);
        j = next;
    }
}

static int running_count(void)
{
    pthread_mutex_lock(&ex.lock);
    int n = ex.running;
    pthread_mutex_unlock(&ex.lock);
    return n;
}

int executor_run(int listen_fd, struct taskstore *store)
{
    struct sigaction sa;
    sigset_t none;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    ex.store = store;
    log_info("executor_start", "max_async_tasks=%d queue_max=%d",
             bmc_cfg.max_async_tasks, bmc_cfg.async_queue_max);
    /* Non-blocking, so one wake-up takes every submission already
     * waiting (a burst of async requests), not one per poll. */
    fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
    while (!executor_stop) {
        struct pollfd p = {listen_fd, POLLIN, 0};
        reopen_logs_if_asked();
        if (poll(&p, 1, 500) <= 0)
            continue;
        int fd;
        while (!executor_stop &&
               (fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
            serve_connection(fd);
            close(fd);
        }
    }
    fail_queued();
    log_info("executor_draining", "running=%d", running_count());
    while (running_count() > 0) {
        reopen_logs_if_asked();
        usleep(100 * 1000);
    }
    return 0;
}
