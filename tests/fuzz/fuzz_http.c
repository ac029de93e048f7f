/* fuzz_http - libFuzzer target: what a worker does with one FastCGI
 * request up to the envelope: worker_parse_params (method, path, request
 * id, Content-Length), then router_dispatch with the body, then the
 * envelope's serialisation (for /metrics and /probe: a text answer with
 * its Content-Type and no envelope).
 *
 * Input: five lines then the body:
 *   REQUEST_METHOD \n DOCUMENT_URI \n REQUEST_URI \n REQUEST_ID \n
 *   CONTENT_LENGTH \n body...
 * A line "-" leaves that parameter out. A path ending in "@0".."@2" names
 * one of three tasks stored at start-up (queued, running, finished), so
 * GET /tasks/{id} reads real records.
 *
 * No BMC is ever contacted: POST handlers get no task store (a synchronous
 * call then answers 503 before the engine runs) and no executor listens
 * (an async call answers 503). GET and HEAD get the store. */
#include "autoconfig.h"

#include "api.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "jsonutil.h"
#include "router.h"
#include "taskid.h"
#include "taskstore.h"
#include "worker.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTASKS    3
#define PARAM_MAX 1024 /* nginx's own limits keep parameters far shorter */

static char state_dir[64], store_path[128];
static struct taskstore *store;
static char task_ids[NTASKS][TASK_ID_LEN + 1];

static void cleanup(void)
{
    taskstore_close(store);
    unlink(store_path);
    rmdir(state_dir);
}

static void store_tasks(void)
{
    struct task_new t = {"run_action", "192.0.2.10", "redfish",
                         "req-fuzz",   TASK_QUEUED,  1,
                         NULL,         NULL,         NULL};

    for (int i = 0; i < NTASKS; i++) {
        t.status = i == 1 ? TASK_RUNNING : TASK_QUEUED;
        if (taskstore_create(store, &t, task_ids[i]) != TS_OK)
            abort();
    }
    if (taskstore_finish(store, task_ids[2], TASK_SUCCESS,
                         "{\"success\":true,\"message\":\"ok\",\"data\":{"
                         "\"state\":\"On\"}}",
                         0, NULL, NULL) != TS_OK)
        abort();
}

/* $TMPDIR, else /dev/shm (a file rewritten per run stays in memory), else
 * /tmp. */
static const char *fuzz_tmpdir(void)
{
    const char *t = getenv("TMPDIR");

    if (t && *t)
        return t;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct taskstore_opts opts = {.max_bytes = 8 << 20, .retention_days = 7};
    char err[512];
    const char *tmp = fuzz_tmpdir();

    (void)argc;
    (void)argv;
    snprintf(state_dir, sizeof(state_dir), "%s/fuzz_http.XXXXXX", tmp);
    if (!mkdtemp(state_dir))
        abort();
    snprintf(store_path, sizeof(store_path), "%s/tasks.store", state_dir);
    setenv("BMC_STATE_DIR", state_dir, 1);
    if (config_load(err, sizeof(err)) != 0 ||
        taskstore_open(store_path, &opts, &store, err, sizeof(err)) != TS_OK) {
        fprintf(stderr, "fuzz_http: %s\n", err);
        abort();
    }
    log_set_level(BMC_LOG_ERROR);
    store_tasks();
    atexit(cleanup);
    return 0;
}

/* Next '\n'-terminated line of the input (at most PARAM_MAX bytes kept). */
static const uint8_t *next_line(const uint8_t *p, const uint8_t *end,
                                char *out)
{
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = (size_t)((nl ? nl : end) - p);

    if (n > PARAM_MAX)
        n = PARAM_MAX;
    memcpy(out, p, n);
    out[n] =
        '\0'; /* FastCGI parameters are C strings: an inner NUL ends one */
    return nl ? nl + 1 : end;
}

/* "/tasks/@1" -> "/tasks/<id of task 1>". */
static void substitute_task(char *v)
{
    size_t n = strlen(v);

    if (n >= 2 && v[n - 2] == '@' && v[n - 1] >= '0' &&
        v[n - 1] < '0' + NTASKS && n - 2 + TASK_ID_LEN <= PARAM_MAX)
        memcpy(v + n - 2, task_ids[v[n - 1] - '0'], TASK_ID_LEN + 1);
}

static void check_response(const struct http_response *resp)
{
    json_object *v;

    /* /metrics and /probe answer text: a type, never an envelope too */
    if (resp->content_type) {
        if (resp->body || !http_reason(resp->status))
            abort();
        return;
    }
    if (resp->status < 200 || resp->status > 599 || !resp->body ||
        !json_object_object_get_ex(resp->body, "success", &v) ||
        !json_object_object_get_ex(resp->body, "message", &v) ||
        !http_reason(resp->status))
        abort();
    if ((resp->status == 405) != (resp->allow != NULL))
        abort();
    const char *text = json_compact(resp->body);
    json_object *back = json_parse_strict(text, strlen(text), 64, NULL, 0);
    if (!back) /* what we send must be JSON */
        abort();
    json_object_put(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"REQUEST_METHOD", "DOCUMENT_URI",
                                        "REQUEST_URI", "REQUEST_ID",
                                        "CONTENT_LENGTH"};
    char values[5][PARAM_MAX + 1];
    char params[5][PARAM_MAX + 32];
    char *envp[6];
    int n = 0;
    const uint8_t *p = data, *end = data + size;
    struct http_request req;
    struct http_response resp;
    size_t body_len;

    if (size > HTTP_MAX_BODY + 5 * PARAM_MAX)
        return 0;
    for (int i = 0; i < 5; i++) {
        p = next_line(p, end, values[i]);
        if (strcmp(values[i], "-") == 0)
            continue;
        if (i == 1 || i == 2)
            substitute_task(values[i]);
        snprintf(params[n], sizeof(params[n]), "%s=%s", names[i], values[i]);
        envp[n] = params[n];
        n++;
    }
    envp[n] = NULL;

    memset(&req, 0, sizeof(req));
    http_response_init(&resp);
    char *body = NULL;
    if (worker_parse_params(envp, &req, &resp, &body_len) == 0) {
        if (body_len > HTTP_MAX_BODY)
            abort();
        if ((size_t)(end - p) < body_len)
            goto out; /* the worker answers "the body ended after ..." */
        body = malloc(body_len +
                      1); /* as the worker's buffer: NUL after the body */
        memcpy(body, p, body_len);
        body[body_len] = '\0';
        req.body = body;
        req.body_len = body_len;
        api_set_store(strcmp(req.method, "POST") == 0 ? NULL : store);
        router_dispatch(&req, &resp);
    }
    check_response(&resp);
out:
    http_response_clear(&resp);
    free(body);
    return 0;
}
