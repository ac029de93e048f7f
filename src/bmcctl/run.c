/* run.c - carrying out a command (see run.h). */
#include "autoconfig.h"
#include "run.h"

#include "output.h"
#include "service.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define POLL_SECONDS   0.3
#define SUBMIT_RETRIES 10 /* 503s on submission: refused, not run */
#define DEFAULT_WAIT   60 /* --wait without --wait-seconds */

struct job {
    const struct target *target;
    char ip[INET6_ADDRSTRLEN];
    char task_id[64];
    struct service_reply answer; /* final: the sync answer or the task */
    bool done;
    int exit;
};

struct run {
    const struct command *cmd;
    const struct run_opts *o;
    struct service svc;
    struct progress progress;
    struct job *jobs;
    size_t njobs;
    char what[64];
};

/* ---- exit status ------------------------------------------------------- */

int run_exit_for_code(int code)
{
    switch (code) {
    case 1001:
    case 1004:
    case 4009: /* the service's token */
    case 4010:
    case 4011: /* unknown credential */ return EXIT_AUTH;
    case 1002:
    case 1003:
    case 1005:
    case 3002:
    case 3003: return EXIT_CONNECTION;
    case 3001: return EXIT_BMC_SAID_NO;
    case 2001:
    case 2002:
    case 2003:
    case 2004:
    case 4001:
    case 4002:
    case 4003:
    case 4004:
    case 4005:
    case 4006: return EXIT_USAGE;
    default: return EXIT_SERVICE;
    }
}

static const char *string_at(json_object *obj, const char *key)
{
    json_object *v;

    if (obj && json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return NULL;
}

static int int_at(json_object *obj, const char *key)
{
    json_object *v;

    if (obj && json_object_object_get_ex(obj, key, &v) &&
        json_object_is_type(v, json_type_int))
        return json_object_get_int(v);
    return 0;
}

static bool is_task_lookup(json_object *a)
{
    const char *m = string_at(a, "method");
    return m && !strcmp(m, "get_task_status") && string_at(a, "status");
}

int run_exit_for_answer(long status, json_object *a)
{
    json_object *ok;

    if (status == 0 || !a || !json_object_object_get_ex(a, "success", &ok))
        return EXIT_SERVICE;
    if (json_object_get_boolean(ok) && is_task_lookup(a)) {
        const char *st = string_at(a, "status");
        if (strcmp(st, "failed"))
            return EXIT_DONE;
        return int_at(a, "error_code")
                   ? run_exit_for_code(int_at(a, "error_code"))
                   : EXIT_BMC_SAID_NO;
    }
    if (json_object_get_boolean(ok))
        return status < 300 ? EXIT_DONE : EXIT_SERVICE;
    if (!int_at(a, "error_code"))
        return status == 200 ? EXIT_BMC_SAID_NO : EXIT_SERVICE;
    return run_exit_for_code(int_at(a, "error_code"));
}

/* ---- request bodies ---------------------------------------------------- */

/* Overwrite the secrets a body holds before it is freed. */
static void wipe_secrets(json_object *obj)
{
    static const char *const secrets[] = {"password", "new_password"};
    json_object *v;

    if (json_object_is_type(obj, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(obj); i++)
            wipe_secrets(json_object_array_get_idx(obj, i));
        return;
    }
    if (!json_object_is_type(obj, json_type_object))
        return;
    for (size_t i = 0; i < 2; i++)
        if (json_object_object_get_ex(obj, secrets[i], &v) &&
            json_object_is_type(v, json_type_string))
            explicit_bzero((char *)json_object_get_string(v),
                           (size_t)json_object_get_string_len(v));
    json_object_object_foreach(obj, key, val)
    {
        (void)key;
        if (json_object_is_type(val, json_type_object) ||
            json_object_is_type(val, json_type_array))
            wipe_secrets(val);
    }
}

static void body_free(json_object *body)
{
    wipe_secrets(body);
    json_object_put(body);
}

static void add_str(json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

/* The base fields of one target. */
static json_object *base_fields(const struct run *r, const struct job *j)
{
    const struct run_opts *o = r->o;
    json_object *b = json_object_new_object();
    int port = j->target->port ? j->target->port : o->port;

    add_str(b, "ip", j->ip);
    if (o->credential)
        add_str(b, "credential", o->credential);
    else {
        add_str(b, "username", o->username);
        add_str(b, "password", o->password);
    }
    if (o->protocol || !o->credential)
        add_str(b, "protocol", o->protocol ? o->protocol : "redfish");
    if (o->cipher_suite >= 0)
        json_object_object_add(b, "cipher_suite",
                               json_object_new_int(o->cipher_suite));
    if (port > 0)
        json_object_object_add(b, "port", json_object_new_int(port));
    return b;
}

/* --wait-seconds (or the default) as JSON: an integer when it is one,
 * for the parameters declared integer (wait_seconds). */
static json_object *wait_budget(const struct run_opts *o)
{
    double s = o->wait_seconds >= 0 ? o->wait_seconds : DEFAULT_WAIT;

    if (s == (double)(int64_t)s)
        return json_object_new_int64((int64_t)s);
    return json_object_new_double(s);
}

/* The method's parameters the options give. */
static json_object *method_params(const struct run *r)
{
    const struct command *c = r->cmd;
    const struct run_opts *o = r->o;
    json_object *p = json_object_new_object();
    unsigned g = o->given & c->opts;

    if (c->arg_param)
        add_str(p, c->arg_param, o->arg);
    if (c->fixed_param)
        add_str(p, c->fixed_param, c->fixed_value);
    if (g & COPT_SYSTEM)
        add_str(p, "system_id", o->system_id);
    if (g & COPT_PERSISTENT)
        json_object_object_add(p, "persistent", json_object_new_boolean(1));
    if (g & COPT_MODE)
        add_str(p, "mode", o->mode);
    if (g & COPT_MEDIA)
        add_str(p, "media", o->media);
    if (g & COPT_WRITABLE)
        json_object_object_add(p, "write_protected",
                               json_object_new_boolean(0));
    if (g & COPT_TYPE)
        add_str(p, "type", o->type);
    if (g & COPT_LIMIT)
        json_object_object_add(p, "limit", json_object_new_int(o->limit));
    if (g & COPT_SECONDS)
        json_object_object_add(p, "seconds", json_object_new_int(o->seconds));
    if (g & COPT_ROLE)
        add_str(p, "role", o->role);
    if (g & COPT_ENABLED)
        json_object_object_add(p, "enabled",
                               json_object_new_boolean(o->enabled));
    if ((g & COPT_NEW_PASSWORD) && o->new_password)
        add_str(p, "new_password", o->new_password);
    if (g & COPT_KIND)
        add_str(p, "kind", o->kind);
    if (g & COPT_CHANNEL)
        json_object_object_add(p, "channel", json_object_new_int(o->channel));
    if (g & COPT_BMC_WAIT)
        json_object_object_add(p, "wait_seconds", wait_budget(o));
    if ((g & COPT_WAIT) && !c->action)
        json_object_object_add(p, "wait_for_state_seconds", wait_budget(o));
    return p;
}

/* The fields of the call besides the base: run_action's own, or method
 * and params; retry_times and delay. */
static void call_fields(const struct run *r, json_object *b, bool execute)
{
    const struct run_opts *o = r->o;
    json_object *p = method_params(r);

    if (r->cmd->action) {
        add_str(b, "action", r->cmd->action);
        if (o->given & COPT_WAIT)
            json_object_object_add(b, "wait_for_state_seconds",
                                   wait_budget(o));
        json_object_put(p);
    } else if (execute) {
        add_str(b, "method", r->cmd->method);
        json_object_object_add(b, "params", p);
    } else {
        json_object_object_foreach(p, key, val)
        {
            json_object_object_add(b, key, json_object_get(val));
        }
        json_object_put(p); /* its values live on in B, wiped with it */
    }
    if (o->retry_times > 0)
        json_object_object_add(b, "retry_times",
                               json_object_new_int(o->retry_times));
    if (o->delay >= 0)
        json_object_object_add(b, "delay", json_object_new_double(o->delay));
}

/* ---- targets ----------------------------------------------------------- */

/* The service takes addresses: names are looked up here (IPv4 first).
 * A name that does not resolve goes as it is, and the service's 4001
 * says so. */
static void resolve(struct job *j)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *a;
    unsigned char buf[sizeof(struct in6_addr)];
    const char *host = j->target->host;

    snprintf(j->ip, sizeof(j->ip), "%s", host);
    if (inet_pton(AF_INET, host, buf) == 1 ||
        inet_pton(AF_INET6, host, buf) == 1 || strlen(host) >= sizeof(j->ip))
        return;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return;
    for (int fam = 0; fam < 2; fam++)
        for (a = res; a; a = a->ai_next) {
            if (a->ai_family != (fam == 0 ? AF_INET : AF_INET6))
                continue;
            const void *addr =
                a->ai_family == AF_INET
                    ? (const void *)&((struct sockaddr_in *)a->ai_addr)
                          ->sin_addr
                    : (const void *)&((struct sockaddr_in6 *)a->ai_addr)
                          ->sin6_addr;
            inet_ntop(a->ai_family, addr, j->ip, sizeof(j->ip));
            freeaddrinfo(res);
            return;
        }
    freeaddrinfo(res);
}

/* ---- waiting ----------------------------------------------------------- */

static void on_wait(void *arg)
{
    progress_tick(&((struct run *)arg)->progress);
}

static void sleep_ticking(struct run *r, double seconds)
{
    double end = output_now() + seconds;

    while (output_now() < end) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        progress_tick(&r->progress);
    }
}

static void finish(struct job *j, struct service_reply *answer)
{
    service_reply_free(&j->answer);
    j->answer = *answer;
    memset(answer, 0, sizeof(*answer));
    j->exit = run_exit_for_answer(j->answer.status, j->answer.json);
    j->done = true;
}

static void count_progress(struct run *r)
{
    size_t done = 0, failed = 0;

    for (size_t i = 0; i < r->njobs; i++)
        if (r->jobs[i].done) {
            done++;
            failed += r->jobs[i].exit != EXIT_DONE;
        }
    progress_set(&r->progress, done, failed);
}

/* GET /tasks/ID of every job not done, until all are. */
static void poll_jobs(struct run *r)
{
    char path[128];
    size_t left;

    do {
        left = 0;
        for (size_t i = 0; i < r->njobs; i++) {
            struct job *j = &r->jobs[i];
            struct service_reply a;
            if (j->done)
                continue;
            snprintf(path, sizeof(path), "/tasks/%s", j->task_id);
            service_get(&r->svc, path, &a);
            const char *st = string_at(a.json, "status");
            if (a.status != 200 || !st || !strcmp(st, "success") ||
                !strcmp(st, "failed"))
                finish(j, &a);
            else
                left++;
            service_reply_free(&a);
        }
        count_progress(r);
        progress_tick(&r->progress);
        if (left)
            sleep_ticking(r, POLL_SECONDS);
    } while (left);
}

/* ---- one target: the sync endpoint ------------------------------------- */

static void run_sync(struct run *r, struct job *j)
{
    const struct command *c = r->cmd;
    json_object *b = base_fields(r, j);
    struct service_reply a;

    call_fields(r, b, c->endpoint == NULL);
    service_post(&r->svc, c->endpoint ? c->endpoint : "/execute", b, &a);
    body_free(b);
    finish(j, &a);
}

/* ---- several: single async calls --------------------------------------- */

static void submit_async(struct run *r, struct job *j)
{
    json_object *b = base_fields(r, j);
    struct service_reply a;
    const char *path = r->cmd->action ? "/action/async" : "/execute/async";

    call_fields(r, b, !r->cmd->action);
    for (int attempt = 0;; attempt++) {
        service_post(&r->svc, path, b, &a);
        /* a 503 guarantees the task never ran: submit again */
        if (a.status != 503 || attempt >= SUBMIT_RETRIES)
            break;
        double wait = a.retry_after > 0 && a.retry_after < 10
                          ? (double)a.retry_after
                          : 1.0;
        service_reply_free(&a);
        sleep_ticking(r, wait);
    }
    body_free(b);
    const char *id = string_at(a.json, "task_id");
    if (a.status == 202 && id)
        snprintf(j->task_id, sizeof(j->task_id), "%s", id);
    else
        finish(j, &a);
    service_reply_free(&a);
}

static void run_async_each(struct run *r)
{
    for (size_t i = 0; i < r->njobs; i++) {
        submit_async(r, &r->jobs[i]);
        count_progress(r);
        progress_tick(&r->progress);
    }
    poll_jobs(r);
}

/* ---- several: one bulk call -------------------------------------------- */

/* The child ids of a bulk answer, in target order: `children` (ids, or
 * objects with `task_id`) at the root or in `data`. */
static json_object *bulk_children(json_object *a)
{
    static const char *const keys[] = {"children", "child_task_ids",
                                       "task_ids"};
    json_object *d = NULL, *v;

    for (int level = 0; level < 2; level++) {
        json_object *o = level ? d : a;
        for (size_t k = 0; o && k < sizeof(keys) / sizeof(keys[0]); k++)
            if (json_object_object_get_ex(o, keys[k], &v) &&
                json_object_is_type(v, json_type_array))
                return v;
        if (!level && !json_object_object_get_ex(a, "data", &d))
            d = NULL;
    }
    return NULL;
}

static int take_children(struct run *r, json_object *kids)
{
    if (!kids || json_object_array_length(kids) != r->njobs)
        return -1;
    for (size_t i = 0; i < r->njobs; i++) {
        json_object *k = json_object_array_get_idx(kids, i);
        const char *id = json_object_is_type(k, json_type_string)
                             ? json_object_get_string(k)
                             : string_at(k, "task_id");
        if (!id)
            return -1;
        snprintf(r->jobs[i].task_id, sizeof(r->jobs[i].task_id), "%s", id);
    }
    return 0;
}

/* Wait for the parent task; its `progress` feeds the progress line. */
static void poll_parent(struct run *r, const char *parent)
{
    char path[128];
    json_object *p;

    snprintf(path, sizeof(path), "/tasks/%s", parent);
    for (;;) {
        struct service_reply a;
        service_get(&r->svc, path, &a);
        const char *st = string_at(a.json, "status");
        bool over = a.status != 200 || !st || !strcmp(st, "success") ||
                    !strcmp(st, "failed");
        if ((json_object_object_get_ex(a.json, "progress", &p) ||
             (json_object_object_get_ex(a.json, "data", &p) &&
              json_object_object_get_ex(p, "progress", &p))))
            progress_set(&r->progress,
                         (size_t)(int_at(p, "success") + int_at(p, "failed")),
                         (size_t)int_at(p, "failed"));
        service_reply_free(&a);
        progress_tick(&r->progress);
        if (over)
            return;
        sleep_ticking(r, POLL_SECONDS);
    }
}

/* 1: done through bulk; 0: the service has no bulk endpoint; -1: the
 * service refused the whole call (its answer in the first job). */
static int run_bulk(struct run *r)
{
    json_object *b = json_object_new_object(), *targets;
    struct service_reply a;
    const char *path = r->cmd->action ? "/action/bulk" : "/execute/bulk";

    targets = json_object_new_array();
    for (size_t i = 0; i < r->njobs; i++)
        json_object_array_add(targets, base_fields(r, &r->jobs[i]));
    json_object_object_add(b, "targets", targets);
    call_fields(r, b, !r->cmd->action);
    service_post(&r->svc, path, b, &a);
    body_free(b);
    if (a.status == 404 &&
        (!a.json || service_reply_int(&a, "error_code") == 4040)) {
        service_reply_free(&a);
        return 0;
    }
    const char *parent = string_at(a.json, "task_id");
    if (a.status != 202 || !parent ||
        take_children(r, bulk_children(a.json))) {
        finish(&r->jobs[0], &a);
        if (r->jobs[0].exit == EXIT_DONE)
            r->jobs[0].exit = EXIT_SERVICE; /* an answer we cannot use */
        return -1;
    }
    poll_parent(r, parent);
    service_reply_free(&a);
    poll_jobs(r);
    return 1;
}

/* ---- output ------------------------------------------------------------ */

/* The method's data in an answer (sync envelope or task lookup). */
static json_object *answer_data(json_object *a)
{
    json_object *res = a, *d;

    if (is_task_lookup(a) && !json_object_object_get_ex(a, "result", &res))
        return NULL;
    return json_object_object_get_ex(res, "data", &d) ? d : NULL;
}

static void error_text(const struct run *r, const struct job *j, char *buf,
                       size_t len)
{
    json_object *a = j->answer.json, *res;
    bool task = is_task_lookup(a);
    const char *msg = string_at(a, task ? "error_message" : "message"),
               *details = string_at(a, "details");
    int code = int_at(a, "error_code");

    if (!j->answer.status) {
        snprintf(buf, len, "no answer from the service: %s", j->answer.error);
    } else if (!a) {
        snprintf(buf, len, "HTTP %ld from the service, not its JSON",
                 j->answer.status);
    } else if (code == 4040) {
        snprintf(buf, len,
                 "the service at %s has no %s endpoint (older "
                 "than this bmcctl?)",
                 r->o->url, r->cmd->endpoint ? r->cmd->endpoint : "such");
    } else if (task && code == 3001 &&
               json_object_object_get_ex(a, "result", &res) &&
               string_at(res, "message")) {
        snprintf(buf, len, "%s", string_at(res, "message"));
    } else if (code) {
        snprintf(buf, len, "error %d: %s%s%s", code, msg ? msg : "",
                 details ? ": " : "", details ? details : "");
    } else {
        snprintf(buf, len, "%s", msg ? msg : "failed");
    }
}

static void add_job_rows(const struct run *r, struct table *t,
                         const struct job *j)
{
    char err[1024];
    json_object *d = answer_data(j->answer.json), *list;

    if (j->exit != EXIT_DONE) {
        error_text(r, j, err, sizeof(err));
        table_add_error(t, j->target->name, err);
    } else if (r->cmd->rows && d &&
               json_object_object_get_ex(d, r->cmd->rows, &list) &&
               json_object_is_type(list, json_type_array) &&
               json_object_array_length(list) > 0) {
        for (size_t i = 0; i < json_object_array_length(list); i++)
            table_add_object(t, j->target->name,
                             json_object_array_get_idx(list, i));
    } else {
        table_add_object(t, j->target->name, r->cmd->rows ? NULL : d);
    }
}

/* One line per answer: the service's JSON as it came. */
static void print_json_line(const struct service_reply *a)
{
    size_t n = a->len;

    if (!a->json) {
        if (a->error[0])
            fprintf(stderr, "bmcctl: %s\n", a->error);
        else if (a->status)
            fprintf(stderr, "bmcctl: HTTP %ld, not JSON\n", a->status);
        return;
    }
    while (n > 0 && (a->body[n - 1] == '\n' || a->body[n - 1] == '\r'))
        n--;
    if (memchr(a->body, '\n', n)) /* keep it one line: same value */
        puts(json_object_to_json_string_ext(
            a->json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        printf("%.*s\n", (int)n, a->body);
}

static void print_jobs(const struct run *r, size_t count)
{
    struct table t;

    if (r->o->quiet)
        return;
    if (r->o->json) {
        for (size_t i = 0; i < count; i++)
            print_json_line(&r->jobs[i].answer);
        return;
    }
    table_init(&t, "HOST", r->cmd->columns);
    for (size_t i = 0; i < count; i++)
        add_job_rows(r, &t, &r->jobs[i]);
    table_print(&t, stdout, output_color_ok(stdout));
    table_free(&t);
}

/* ---- the commands ------------------------------------------------------ */

static int worst_exit(const struct run *r, size_t count)
{
    int worst = EXIT_DONE;

    for (size_t i = 0; i < count; i++)
        if (r->jobs[i].exit > worst)
            worst = r->jobs[i].exit;
    return worst;
}

static int run_bmc(struct run *r, const struct target_list *targets)
{
    size_t shown;

    r->njobs = targets->n;
    r->jobs = calloc(r->njobs, sizeof(*r->jobs));
    if (!r->jobs)
        return EXIT_SERVICE;
    for (size_t i = 0; i < r->njobs; i++) {
        r->jobs[i].target = &targets->v[i];
        resolve(&r->jobs[i]);
    }
    progress_start(&r->progress, !r->o->quiet && isatty(STDERR_FILENO),
                   r->what, r->njobs);
    progress_tick(&r->progress);
    shown = r->njobs;
    if (r->njobs == 1) {
        run_sync(r, &r->jobs[0]);
    } else {
        int bulk = r->o->no_bulk ? 0 : run_bulk(r);
        if (bulk == 0)
            run_async_each(r);
        if (bulk < 0)
            shown = 1; /* the refusal of the whole call */
    }
    count_progress(r);
    progress_end(&r->progress);
    print_jobs(r, shown);
    return worst_exit(r, shown);
}

/* A single answer that is not a target's (task, health): its table. */
static void print_answer(const struct run *r, const struct service_reply *a,
                         const char *first, const char *columns)
{
    struct table t;
    struct job j = {.answer = *a};
    struct target tg = {.name = (char *)first};

    if (r->o->quiet)
        return;
    if (r->o->json) {
        print_json_line(a);
        return;
    }
    j.target = &tg;
    j.exit = run_exit_for_answer(a->status, a->json);
    table_init(&t, r->cmd->kind == CMD_TASK ? "TASK" : "SERVICE", columns);
    if (j.exit != EXIT_DONE && !(r->cmd->kind == CMD_HEALTH && a->json)) {
        char err[1024];
        error_text(r, &j, err, sizeof(err));
        table_add_error(&t, first, err);
    } else {
        table_add_object(&t, first, a->json);
    }
    table_print(&t, stdout, output_color_ok(stdout));
    table_free(&t);
}

static int run_task(struct run *r)
{
    char path[256];
    struct service_reply a;
    json_object *p;
    bool wait = r->o->given & COPT_TASK_WAIT;
    double deadline =
        output_now() + (r->o->wait_seconds >= 0 ? r->o->wait_seconds : 1e9);

    snprintf(path, sizeof(path), "/tasks/%s", r->o->arg);
    progress_start(&r->progress, wait && !r->o->quiet && isatty(STDERR_FILENO),
                   r->what, 1);
    for (;;) {
        service_get(&r->svc, path, &a);
        const char *st = string_at(a.json, "status");
        if (!wait || a.status != 200 || !st || !strcmp(st, "success") ||
            !strcmp(st, "failed") || output_now() > deadline)
            break;
        if (json_object_object_get_ex(a.json, "progress", &p))
            r->progress.total = (size_t)int_at(p, "total"),
            progress_set(&r->progress,
                         (size_t)(int_at(p, "success") + int_at(p, "failed")),
                         (size_t)int_at(p, "failed"));
        service_reply_free(&a);
        sleep_ticking(r, POLL_SECONDS);
    }
    progress_end(&r->progress);
    print_answer(r, &a, r->o->arg,
                 "STATUS=status,METHOD=data.method,IP=ip,DURATION=duration,"
                 "ERROR=error_message,PROGRESS=progress");
    int rc = run_exit_for_answer(a.status, a.json);
    service_reply_free(&a);
    return rc;
}

static int run_health(struct run *r)
{
    struct service_reply a;
    const char *st;

    service_get(&r->svc, "/health", &a);
    st = string_at(a.json, "status");
    print_answer(
        r, &a, r->o->url,
        "STATUS=status,VERSION=version,"
        "ACTIVE TASKS=thread_pool.active_tasks,"
        "IPMITOOL=data.ipmitool.available,TASKS=data.task_store.tasks");
    int rc = a.status == 200 && st && !strcmp(st, "healthy") ? EXIT_DONE
                                                             : EXIT_SERVICE;
    service_reply_free(&a);
    return rc;
}

int run_command(const struct command *cmd, const struct run_opts *o,
                const struct target_list *targets)
{
    struct run r = {.cmd = cmd, .o = o};
    char err[256];
    int rc;

    if (service_open(&r.svc, o->url, o->token, err, sizeof(err))) {
        fprintf(stderr, "bmcctl: %s\n", err);
        service_close(&r.svc);
        return EXIT_USAGE;
    }
    r.svc.on_wait = on_wait;
    r.svc.wait_arg = &r;
    snprintf(r.what, sizeof(r.what), "%s%s%s", cmd->name, cmd->sub ? " " : "",
             cmd->sub ? cmd->sub : "");
    if (cmd->kind == CMD_HEALTH)
        rc = run_health(&r);
    else if (cmd->kind == CMD_TASK)
        rc = run_task(&r);
    else
        rc = run_bmc(&r, targets);
    for (size_t i = 0; i < r.njobs; i++)
        service_reply_free(&r.jobs[i].answer);
    free(r.jobs);
    service_close(&r.svc);
    return rc;
}
