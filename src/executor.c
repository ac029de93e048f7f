/* executor.c - async jobs: submission protocol, queue, threads (see
 * executor.h). */
#include "autoconfig.h"
#include "executor.h"

#include "clock.h"
#include "config.h"
#include "delivery.h"
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define JOB_MSG_MAX           (HTTP_MAX_BODY_FOR_JOB + 4096)
#define HTTP_MAX_BODY_FOR_JOB 65536
#define THREAD_STACK          (256 * 1024)
#define IO_TIMEOUT_S          2
#define BULK_IO_TIMEOUT_S     10 /* 10,000 children: read, claimed, answered */
#define BULK_CHUNK            60000
#define BULK_KID_MAX          4096
#define IDLE_THREAD_S         10 /* a parked job thread waits this long */
#define THREAD_END_WAIT_S     2  /* at exit, for parked threads to end */

/* A submitted job: the request as the worker validated it (connection
 * with the password, method name, params, options), then its task. */
struct job {
    struct api_request req;
    char request_id[65];
    char task_id[TASK_ID_LEN + 1];
    struct job *next;     /* the queue */
    struct job *same_bmc; /* a bulk's next child for the same BMC: runs
                             on this job's thread after it, never beside */
    bool needs_start;     /* still QUEUED in the store: taskstore_mark_running
                             decides whether it runs (a cancel may win) */
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a hand-off for a parked thread, or the end */
    struct job *head, *tail;
    struct job *handoff; /* run-now jobs given to parked threads (->next) */
    int queued, running;
    int idle;    /* parked threads not yet given a hand-off */
    int threads; /* job threads alive */
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

/* Wait until FD is ready for EVENTS or DEADLINE (monotonic) passes;
 * signals (SIGHUP) never cut the wait short. 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        double left = clock_remaining(deadline);
        struct pollfd p = {fd, events, 0};
        if (left <= 0)
            return 0;
        int n = poll(&p, 1, (int)(left * 1000.0) + 1);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 0;
    }
}

/* send/recv of one message within DEADLINE, through EINTR. */
static ssize_t msg_send(int fd, const char *buf, size_t len, double deadline)
{
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0 || (errno != EINTR && errno != EAGAIN))
            return n;
        if (errno == EAGAIN && !wait_fd(fd, POLLOUT, deadline))
            return -1;
    }
}

static ssize_t msg_recv(int fd, char *buf, size_t len, double deadline)
{
    for (;;) {
        if (!wait_fd(fd, POLLIN, deadline))
            return -1;
        ssize_t n = recv(fd, buf, len, MSG_DONTWAIT);
        if (n >= 0 || (errno != EINTR && errno != EAGAIN))
            return n;
    }
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

/* The call of a job into O: method, params, options, who asked. */
static void add_call(json_object *o, const struct api_request *req,
                     const char *method, const char *request_id)
{
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "params", json_object_get(req->params));
    json_object_object_add(o, "retry_times",
                           json_object_new_int(req->retry_times));
    json_object_object_add(o, "delay", json_object_new_double(req->delay));
    json_object_object_add(
        o, "wait", json_object_new_double(req->wait_for_state_seconds));
    json_object_object_add(
        o, "request_id", json_object_new_string(request_id ? request_id : ""));
    json_object_object_add(o, "requested_by",
                           json_object_new_string(req->requested_by));
}

/* The connection of a job (never the password: job_text splices it) and
 * its task id into O. */
static void add_conn(json_object *o, const struct bmc_conn *c,
                     const char *task_id)
{
    json_object_object_add(o, "ip", json_object_new_string(c->ip));
    json_object_object_add(o, "username", json_object_new_string(c->username));
    json_object_object_add(o, "protocol", json_object_new_int(c->protocol));
    json_object_object_add(o, "cipher_suite",
                           json_object_new_int(c->cipher_suite));
    json_object_object_add(o, "port", json_object_new_int(c->port));
    json_object_object_add(o, "tls_pin", json_object_new_string(c->tls_pin));
    json_object_object_add(o, "task_id", json_object_new_string(task_id));
}

static json_object *job_to_json(const struct api_request *req,
                                const char *method, const char *request_id,
                                const char *task_id)
{
    json_object *o = json_object_new_object();

    add_call(o, req, method, request_id);
    add_conn(o, &req->conn, task_id);
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

/* The call of a job (the method and its options) from O; PARAMS a
 * reference (single job) or a copy of its own (a bulk child: a secret
 * parameter is wiped when each child ends). */
static int job_call_from_json(struct job *j, json_object *o, bool copy)
{
    json_object *params;

    copy_str(o, "method", j->req.method, sizeof(j->req.method));
    copy_str(o, "request_id", j->request_id, sizeof(j->request_id));
    copy_str(o, "requested_by", j->req.requested_by,
             sizeof(j->req.requested_by));
    j->req.retry_times = (int)get_num(o, "retry_times");
    j->req.delay = get_num(o, "delay");
    j->req.wait_for_state_seconds = get_num(o, "wait");
    if (!json_object_object_get_ex(o, "params", &params) ||
        !json_object_is_type(params, json_type_object))
        j->req.params = json_object_new_object();
    else if (!copy)
        j->req.params = json_object_get(params);
    else if (json_object_deep_copy(params, &j->req.params, NULL) != 0)
        return -1;
    return j->req.params ? 0 : -1;
}

/* The connection and task id of a job from O. */
static void job_conn_from_json(struct job *j, json_object *o)
{
    copy_str(o, "ip", j->req.conn.ip, sizeof(j->req.conn.ip));
    copy_str(o, "username", j->req.conn.username,
             sizeof(j->req.conn.username));
    copy_str(o, "password", j->req.conn.password,
             sizeof(j->req.conn.password));
    copy_str(o, "tls_pin", j->req.conn.tls_pin, sizeof(j->req.conn.tls_pin));
    copy_str(o, "task_id", j->task_id, sizeof(j->task_id));
    j->req.conn.protocol = (enum bmc_protocol)get_num(o, "protocol");
    j->req.conn.cipher_suite = (int)get_num(o, "cipher_suite");
    j->req.conn.port = (int)get_num(o, "port");
}

static void job_free(struct job *j);

/* A job from the call CALL and the connection CONN (the same object for a
 * single job); NULL when out of memory. */
static struct job *job_from_json(json_object *call, json_object *conn,
                                 bool copy_params)
{
    struct job *j = calloc(1, sizeof(*j));

    if (!j)
        return NULL;
    job_conn_from_json(j, conn);
    if (job_call_from_json(j, call, copy_params)) {
        job_free(j);
        return NULL;
    }
    return j;
}

static void job_free(struct job *j)
{
    if (!j)
        return;
    const struct method_def *m = methods_find(j->req.method);
    if (m && j->req.params)
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

/* A connection to the executor's socket, or -1. */
static int connect_executor(void)
{
    struct sockaddr_un sa;
    int cr, fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    if (fill_addr(&sa)) {
        close(fd);
        return -1;
    }
    while ((cr = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 &&
           errno == EINTR)
        ;
    if (cr != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The executor's answer on FD: 0 when it names TASK_ID (taken), else its
 * code with DETAILS. */
static enum bmc_err read_answer(int fd, const char *task_id, double deadline,
                                char *details, size_t dlen)
{
    char reply[512];
    json_object *ans, *v;
    enum bmc_err rc;
    ssize_t n = msg_recv(fd, reply, sizeof(reply) - 1, deadline);

    if (n <= 0)
        return submit_fail(details, dlen, "the async executor did not answer");
    reply[n] = '\0';
    ans = json_tokener_parse(reply);
    if (ans && json_object_object_get_ex(ans, "task_id", &v) &&
        !strcmp(json_object_get_string(v), task_id)) {
        rc = 0;
    } else {
        copy_str(ans, "details", details, dlen);
        rc = ans && json_object_object_get_ex(ans, "code", &v)
                 ? (enum bmc_err)json_object_get_int(v)
                 : BMC_ERR_SERVICE_UNAVAILABLE;
    }
    json_object_put(ans);
    return rc;
}

/* Hand the job TEXT (LEN bytes) to the executor and read its answer: 0
 * when it took the task (its reply names TASK_ID), else a code with
 * DETAILS. Signals never cut it short. */
static enum bmc_err submit_exchange(const char *text, int len,
                                    const char *task_id, char *details,
                                    size_t dlen)
{
    double deadline = clock_now_mono() + IO_TIMEOUT_S;
    enum bmc_err rc;
    int fd = connect_executor();

    if (fd < 0)
        return submit_fail(details, dlen, "the async executor is not running");
    if (len < 0 || msg_send(fd, text, (size_t)len, deadline) < 0)
        rc = submit_fail(details, dlen,
                         "the async executor did not take the job");
    else
        rc = read_answer(fd, task_id, deadline, details, dlen);
    close(fd);
    return rc;
}

enum bmc_err executor_submit(const struct api_request *req, const char *method,
                             const char *request_id, const char *task_id,
                             char *details, size_t dlen)
{
    static char text[JOB_MSG_MAX];
    json_object *msg = job_to_json(req, method, request_id, task_id);
    int len = job_text(msg, req->conn.password, text, sizeof(text));
    enum bmc_err rc = submit_exchange(text, len, task_id, details, dlen);

    explicit_bzero(text, sizeof(text));
    json_object_put(msg);
    return rc;
}

/* ---- bulk hand-off, worker side ----------------------------------------
 * One connection carries the bulk: a head message (the call, the parent,
 * the count), then chunks {"kids":[...]} of at most BULK_CHUNK bytes, each
 * child its connection (password spliced as in job_text) and task id;
 * then the executor's one answer, as for a single job. */

static json_object *bulk_head_json(const struct api_request *call,
                                   const char *method, const char *request_id,
                                   const char *parent_id, size_t n)
{
    json_object *o = json_object_new_object();

    json_object_object_add(o, "bulk", json_object_new_string(parent_id));
    json_object_object_add(o, "count", json_object_new_int64((int64_t)n));
    add_call(o, call, method, request_id);
    return o;
}

static json_object *bulk_kid_json(const struct executor_kid *k)
{
    json_object *o = json_object_new_object();

    add_conn(o, k->conn, k->task_id);
    return o;
}

/* Send the children as chunks on FD; -1 when the executor stopped taking
 * them. Every buffer that held a password is wiped. */
static int send_kids(int fd, const struct executor_kid *kids, size_t n,
                     double deadline)
{
    static char chunk[BULK_CHUNK], one[BULK_KID_MAX];
    size_t at = 0;
    int rc = 0;

    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *o = bulk_kid_json(&kids[i]);
        int len = job_text(o, kids[i].conn->password, one, sizeof(one));
        json_object_put(o);
        if (len < 0) {
            rc = -1;
            break;
        }
        if (at && at + (size_t)len + 3 > sizeof(chunk)) {
            memcpy(chunk + at, "]}", 2);
            rc = msg_send(fd, chunk, at + 2, deadline) < 0 ? -1 : 0;
            at = 0;
        }
        if (!at) {
            memcpy(chunk, "{\"kids\":[", 9);
            at = 9;
        } else {
            chunk[at++] = ',';
        }
        memcpy(chunk + at, one, (size_t)len);
        at += (size_t)len;
    }
    if (rc == 0 && at) {
        memcpy(chunk + at, "]}", 2);
        rc = msg_send(fd, chunk, at + 2, deadline) < 0 ? -1 : 0;
    }
    explicit_bzero(one, sizeof(one));
    explicit_bzero(chunk, sizeof(chunk));
    return rc;
}

enum bmc_err executor_submit_bulk(const struct api_request *call,
                                  const char *method, const char *request_id,
                                  const char *parent_id,
                                  const struct executor_kid *kids, size_t n,
                                  char *details, size_t dlen)
{
    double deadline = clock_now_mono() + BULK_IO_TIMEOUT_S;
    json_object *head = bulk_head_json(call, method, request_id, parent_id, n);
    const char *text = json_compact(head);
    enum bmc_err rc;
    int fd = connect_executor();

    if (fd < 0) {
        json_object_put(head);
        return submit_fail(details, dlen, "the async executor is not running");
    }
    if (strlen(text) + 1 > JOB_MSG_MAX ||
        msg_send(fd, text, strlen(text), deadline) < 0 ||
        send_kids(fd, kids, n, deadline) < 0)
        rc = submit_fail(details, dlen,
                         "the async executor did not take the bulk");
    else
        rc = read_answer(fd, parent_id, deadline, details, dlen);
    json_object_put(head);
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

/* End a job that never started, and the same-BMC children behind it. */
static void fail_unstarted(struct job *j, const char *details)
{
    while (j) {
        struct job *after = j->same_bmc;
        taskstore_finish(ex.store, j->task_id, TASK_FAILED, NULL,
                         BMC_ERR_EXECUTION_FAILED, "Method execution failed",
                         details);
        job_free(j);
        j = after;
    }
}

/* The job a thread runs after one that ended: AFTER (the same BMC's next
 * child), else the queue's head; NULL ends the thread (the running count
 * drops). On shutdown AFTER's chain ends failed, unstarted. */
static struct job *next_job(struct job *after)
{
    struct job *j = NULL;

    pthread_mutex_lock(&ex.lock);
    if (after && !executor_stop) {
        ex.queued--;
        j = after;
        after = NULL;
    } else if (!executor_stop && ex.head) {
        j = ex.head;
        ex.head = j->next;
        if (!ex.head)
            ex.tail = NULL;
        ex.queued--;
    } else {
        for (struct job *c = after; c; c = c->same_bmc)
            ex.queued--;
        ex.running--;
    }
    pthread_mutex_unlock(&ex.lock);
    fail_unstarted(after, "The service stopped before the task started");
    return j;
}

/* Whether J is to run now: a queued task becomes RUNNING here, unless it
 * ended meanwhile (cancelled, or failed by a sweep): then it never runs. */
static bool job_starts(struct job *j)
{
    int rc = TS_BUSY;

    if (!j->needs_start)
        return true;
    for (int tries = 0; rc == TS_BUSY && tries < 5; tries++)
        rc = taskstore_mark_running(ex.store, j->task_id, getpid());
    if (rc == TS_OK)
        return true;
    log_info("task_not_started", "task=%s reason=%s", j->task_id,
             rc == TS_NOT_FOUND ? "ended before it started"
                                : taskstore_rc_message(rc));
    if (rc != TS_NOT_FOUND)
        taskstore_finish(ex.store, j->task_id, TASK_FAILED, NULL,
                         BMC_ERR_EXECUTION_FAILED, "Method execution failed",
                         "the task store could not start the task");
    return false;
}

/* A thread with nothing to run waits up to IDLE_THREAD_S for a hand-off
 * (a job whose running slot admit already counted); NULL: none came, or
 * the executor is ending, and the thread ends. Called with ex.lock held. */
static struct job *park_locked(void)
{
    struct timespec until;
    struct job *j;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += IDLE_THREAD_S;
    ex.idle++;
    while (!ex.handoff && !executor_stop &&
           pthread_cond_timedwait(&ex.wake, &ex.lock, &until) == 0)
        ;
    if (!(j = ex.handoff)) {
        ex.idle--; /* no hand-off counted on this thread */
        return NULL;
    }
    ex.handoff = j->next;
    j->next = NULL;
    return j;
}

/* Runs J, then the same BMC's next child or the queue's head, then waits
 * for a hand-off; long-lived, so a burst of tasks does not pay for a
 * thread each (issue 24). */
static void *job_thread(void *arg)
{
    struct job *j = arg;

    while (j) {
        if (job_starts(j))
            run_job(j);
        struct job *after = j->same_bmc;
        job_free(j);
        if ((j = next_job(after)))
            continue;
        pthread_mutex_lock(&ex.lock);
        j = park_locked();
        if (!j)
            ex.threads--;
        pthread_mutex_unlock(&ex.lock);
    }
    return NULL;
}

/* Give J (its running slot counted) to a parked thread, if one waits. */
static bool hand_off(struct job *j)
{
    bool given = false;

    pthread_mutex_lock(&ex.lock);
    if (ex.idle > 0) {
        struct job **tail = &ex.handoff;
        while (*tail)
            tail = &(*tail)->next;
        j->next = NULL;
        *tail = j;
        ex.idle--;
        given = true;
        pthread_cond_signal(&ex.wake);
    }
    pthread_mutex_unlock(&ex.lock);
    return given;
}

static int create_thread(struct job *j)
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
    pthread_mutex_lock(&ex.lock);
    int rc = pthread_create(&t, &attr, job_thread, j);
    if (rc == 0)
        ex.threads++;
    pthread_mutex_unlock(&ex.lock);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Run J (its running slot counted) on a parked thread or a new one. */
static int start_thread(struct job *j)
{
    return hand_off(j) ? 0 : create_thread(j);
}

static void enqueue_locked(struct job *j)
{
    j->next = NULL;
    if (ex.tail)
        ex.tail->next = j;
    else
        ex.head = j;
    ex.tail = j;
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
    if (msg_send(fd, text, strlen(text), clock_now_mono() + IO_TIMEOUT_S) < 0)
        log_warn("executor_reply_failed", "errno=%d", errno);
    json_object_put(o);
}

/* Admit J from the worker FROM: take its task (queued -> running or
 * queued, now ours) and start or queue it. A task the worker withdrew
 * first (it answered 503) is not ours to run. */
static void admit(int fd, struct job *j, pid_t from)
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
    rc = taskstore_claim(ex.store, j->task_id, from,
                         run_now ? TASK_RUNNING : TASK_QUEUED, getpid());
    for (int tries = 0; rc == TS_BUSY && tries < 2; tries++)
        rc = taskstore_claim(ex.store, j->task_id, from,
                             run_now ? TASK_RUNNING : TASK_QUEUED, getpid());
    if (rc != TS_OK) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE,
              rc == TS_NOT_FOUND ? "the task was withdrawn before it started"
                                 : taskstore_rc_message(rc));
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
    j->needs_start = true;
    pthread_mutex_lock(&ex.lock);
    enqueue_locked(j);
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

/* ---- bulk admission ----------------------------------------------------- */

/* Read the N children of the bulk HEAD from FD into JOBS; -1 when the
 * worker sent less or something malformed. */
static int receive_kids(int fd, json_object *head, struct job **jobs, size_t n)
{
    static char buf[JOB_MSG_MAX];
    size_t got = 0;

    while (got < n) {
        ssize_t len =
            msg_recv(fd, buf, sizeof(buf), clock_now_mono() + IO_TIMEOUT_S);
        json_object *msg = len > 0 ? json_parse_strict(buf, (size_t)len, 16,
                                                       NULL, 0)
                                   : NULL,
                    *kids;
        if (len > 0)
            explicit_bzero(buf, (size_t)len);
        if (!msg || !json_object_object_get_ex(msg, "kids", &kids) ||
            !json_object_is_type(kids, json_type_array)) {
            json_object_put(msg);
            return -1;
        }
        size_t k = json_object_array_length(kids);
        bool bad = k == 0;
        for (size_t i = 0; i < k && got < n && !bad; i++) {
            json_object *kid = json_object_array_get_idx(kids, i);
            struct job *j = job_from_json(head, kid, true);
            wipe_json_string(kid, "password");
            bad = !j || !j->task_id[0];
            if (bad) {
                job_free(j);
                break;
            }
            j->needs_start = true;
            jobs[got++] = j;
        }
        json_object_put(msg);
        if (bad)
            return -1;
    }
    return 0;
}

static uint64_t bmc_key_hash(const struct bmc_conn *c)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (const char *p = c->ip; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    h = (h ^ (uint64_t)c->port) * 1099511628211ULL;
    return (h ^ (uint64_t)c->protocol) * 1099511628211ULL;
}

static bool same_bmc(const struct bmc_conn *a, const struct bmc_conn *b)
{
    return a->port == b->port && a->protocol == b->protocol &&
           !strcmp(a->ip, b->ip);
}

/* Chain the children that name the same BMC (ip, port, protocol): each
 * later one runs after the one before it, on its thread. Chained jobs get
 * CHAINED[i] set; the count of the others (chain heads) is returned. */
static size_t link_same_bmc(struct job **jobs, size_t n, bool *chained)
{
    size_t cap = 16, heads = 0;
    while (cap < 2 * n)
        cap <<= 1;
    struct job **last = calloc(cap, sizeof(*last));

    for (size_t i = 0; i < n; i++) {
        size_t at = last ? bmc_key_hash(&jobs[i]->req.conn) & (cap - 1) : 0;
        while (last && last[at] &&
               !same_bmc(&last[at]->req.conn, &jobs[i]->req.conn))
            at = (at + 1) & (cap - 1);
        if (last && last[at]) {
            last[at]->same_bmc = jobs[i];
            chained[i] = true;
        } else {
            heads++;
        }
        if (last)
            last[at] = jobs[i];
    }
    free(last);
    return heads;
}

/* Room for a bulk of N jobs whose HEADS can run at once: how many start
 * now (the running count takes them), the rest counted queued; -1 when
 * the queue cannot take the rest (BMC_ASYNC_QUEUE_MAX). */
static long reserve_slots(size_t heads, size_t n)
{
    long start;

    pthread_mutex_lock(&ex.lock);
    long room = bmc_cfg.max_async_tasks - ex.running;
    start = room <= 0 ? 0 : (long)heads < room ? (long)heads : room;
    if ((long)n - start > 0 &&
        ex.queued + ((long)n - start) > bmc_cfg.async_queue_max) {
        start = -1;
    } else {
        ex.running += (int)start;
        ex.queued += (int)((long)n - start);
    }
    pthread_mutex_unlock(&ex.lock);
    return start;
}

static void release_slots(long start, size_t n)
{
    pthread_mutex_lock(&ex.lock);
    ex.running -= (int)start;
    ex.queued -= (int)((long)n - start);
    pthread_mutex_unlock(&ex.lock);
}

/* A reserved running slot whose thread could not start: the chain ends
 * failed, its jobs leave the counts. */
static void launch_failed(struct job *j)
{
    pthread_mutex_lock(&ex.lock);
    ex.running--;
    for (struct job *c = j->same_bmc; c; c = c->same_bmc)
        ex.queued--;
    pthread_mutex_unlock(&ex.lock);
    fail_unstarted(j, "the executor could not start a thread");
}

/* The claimed bulk: the first START chain heads on threads of their own,
 * the other heads to the queue's tail (chained jobs ride their heads). */
static void launch_bulk(struct job **jobs, size_t n, const bool *chained,
                        long start)
{
    long started = 0;

    for (size_t i = 0; i < n; i++) {
        if (chained[i])
            continue;
        if (started < start) {
            started++;
            if (start_thread(jobs[i]) != 0)
                launch_failed(jobs[i]);
            continue;
        }
        pthread_mutex_lock(&ex.lock);
        enqueue_locked(jobs[i]);
        pthread_mutex_unlock(&ex.lock);
    }
}

static enum ts_rc claim_bulk(const char *parent, pid_t from)
{
    enum ts_rc rc = TS_BUSY;
    for (int tries = 0; rc == TS_BUSY && tries < 3; tries++)
        rc = taskstore_claim_bulk(ex.store, parent, from, getpid());
    return rc;
}

/* Admit the bulk announced by HEAD from the worker FROM: read its
 * children, make room, claim them (the two-party commit), answer, run. */
static void admit_bulk(int fd, json_object *head, pid_t from)
{
    char parent[TASK_ID_LEN + 1], method[REQUEST_METHOD_MAX + 1];
    double count = get_num(head, "count");
    size_t n =
        count >= 1 && count <= TASKSTORE_MAX_CHILDREN ? (size_t)count : 0;
    struct job **jobs = n ? calloc(n, sizeof(*jobs)) : NULL;
    bool *chained = n ? calloc(n, sizeof(*chained)) : NULL;
    long start = -1;
    enum ts_rc rc;

    copy_str(head, "bulk", parent, sizeof(parent));
    copy_str(head, "method", method, sizeof(method));
    if (!jobs || !chained || !parent[0] || !methods_find(method) ||
        receive_kids(fd, head, jobs, n) != 0) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE, "malformed bulk job");
        goto out;
    }
    start = reserve_slots(link_same_bmc(jobs, n, chained), n);
    if (start < 0) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE,
              "the async queue cannot take every child "
              "(BMC_ASYNC_QUEUE_MAX); retry later");
        goto out;
    }
    if ((rc = claim_bulk(parent, from)) != TS_OK) {
        release_slots(start, n);
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE,
              rc == TS_NOT_FOUND ? "the bulk was withdrawn before it started"
                                 : taskstore_rc_message(rc));
        goto out;
    }
    reply(fd, parent, BMC_OK, NULL);
    log_info("bulk_admitted", "parent=%s children=%zu started=%ld", parent, n,
             start);
    launch_bulk(jobs, n, chained, start);
    n = 0; /* the threads and the queue own them now */
out:
    for (size_t i = 0; jobs && i < n; i++)
        job_free(jobs[i]);
    free(jobs);
    free(chained);
}

static void serve_connection(int fd)
{
    static char buf[JOB_MSG_MAX];
    json_object *msg;
    struct job *j;
    struct ucred peer;
    socklen_t plen = sizeof(peer);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &plen) != 0)
        return;
    ssize_t n =
        msg_recv(fd, buf, sizeof(buf), clock_now_mono() + IO_TIMEOUT_S);
    if (n <= 0)
        return;
    msg = json_parse_strict(buf, (size_t)n, 16, NULL, 0);
    explicit_bzero(buf, (size_t)n);
    if (!msg) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE, "malformed job");
        return;
    }
    if (json_object_object_get_ex(msg, "bulk", NULL)) {
        admit_bulk(fd, msg, peer.pid);
        json_object_put(msg);
        return;
    }
    j = job_from_json(msg, msg, false);
    wipe_json_string(msg, "password");
    json_object_put(msg);
    if (!j || !methods_find(j->req.method) || !j->task_id[0]) {
        reply(fd, NULL, BMC_ERR_SERVICE_UNAVAILABLE, "malformed job");
        job_free(j);
        return;
    }
    admit(fd, j, peer.pid);
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
        fail_unstarted(j, "The service stopped before the task started");
        j = next;
    }
}

/* After the drain: wake the parked threads to end, and wait a little for
 * them, so none outlives the store and the log. */
static void end_parked_threads(void)
{
    double until = clock_now_mono() + THREAD_END_WAIT_S;

    pthread_mutex_lock(&ex.lock);
    pthread_cond_broadcast(&ex.wake);
    while (ex.threads > 0 && clock_remaining(until) > 0) {
        pthread_mutex_unlock(&ex.lock);
        usleep(10 * 1000);
        pthread_mutex_lock(&ex.lock);
        pthread_cond_broadcast(&ex.wake);
    }
    pthread_mutex_unlock(&ex.lock);
}

/* The hand-off condition waits on CLOCK_MONOTONIC (park_locked). */
static void init_wake(void)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ex.wake, &ca);
    pthread_condattr_destroy(&ca);
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
    init_wake();
    delivery_start(store);
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
    end_parked_threads();
    delivery_stop();
    return 0;
}
