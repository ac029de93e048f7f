/* Unit tests for the task store: lifecycle, lookup semantics, limits,
 * persistence, refusal of foreign files, and recovery from a process that
 * dies holding the lock (at every journal step of an operation). */
#include "autoconfig.h"
#include "unit.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "taskstore.h"

static char dir[64], path[128];

static void dir_setup(void)
{
    strcpy(dir, "/tmp/test_taskstore.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state/tasks.store", dir);
}

static void dir_teardown(void)
{
    char p[160];
    DIR *d;
    snprintf(p, sizeof(p), "%s/state", dir);
    if ((d = opendir(p))) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char f[512];
            if (e->d_name[0] == '.')
                continue;
            snprintf(f, sizeof(f), "%s/%s", p, e->d_name);
            unlink(f);
        }
        closedir(d);
    }
    rmdir(p);
    rmdir(dir);
}

static struct taskstore *store_open(long max_tasks, long long max_bytes,
                                    double lock_timeout)
{
    struct taskstore_opts o = {.max_bytes = max_bytes,
                               .max_tasks = max_tasks,
                               .retention_days = 7,
                               .node_id = 3,
                               .lock_timeout_s = lock_timeout};
    struct taskstore *ts = NULL;
    char err[512];
    int rc = taskstore_open(path, &o, &ts, err, sizeof(err));
    ck_assert_msg(rc == TS_OK, "open: %s", err);
    return ts;
}

static void check_clean(void)
{
    ck_assert_int_eq(taskstore_check_file(path, stderr), 0);
}

static const struct task_new running_task = {
    "run_action", "192.168.1.100", "redfish", "req-1", TASK_RUNNING, 4242,
    NULL};

static const char *str_of(json_object *o, const char *key)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                                 : NULL;
}

static int has(json_object *o, const char *key)
{
    return json_object_object_get_ex(o, key, NULL);
}

START_TEST(create_finish_get)
{
    char id[TASK_ID_LEN + 1];
    json_object *o = NULL;
    struct stat st;

    struct taskstore *ts = store_open(0, 0, 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    char sd[160];
    snprintf(sd, sizeof(sd), "%s/state", dir);
    ck_assert_int_eq(stat(sd, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0700);

    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    double t;
    int node;
    ck_assert_int_eq(taskid_parse(id, &t, &node), 0);
    ck_assert_int_eq(node, 3);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "running");
    ck_assert_str_eq(str_of(o, "method"), "run_action");
    ck_assert_str_eq(str_of(o, "ip"), "192.168.1.100");
    ck_assert_str_eq(str_of(o, "protocol"), "redfish");
    ck_assert_str_eq(str_of(o, "request_id"), "req-1");
    ck_assert(has(o, "started_at") && !has(o, "completed_at") &&
              !has(o, "result") && !has(o, "duration") &&
              !has(o, "error_code"));
    json_object_put(o);

    const char *res =
        "{\"success\":true,\"message\":\"Method executed successfully\","
        "\"data\":{\"message\":\"Command Accepted (200)\"}}";
    ck_assert_int_eq(
        taskstore_finish(ts, id, TASK_SUCCESS, res, 0, NULL, NULL), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, id, TASK_FAILED, NULL, 3001, "x", NULL),
        TS_NOT_FOUND);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "success");
    json_object *r, *v;
    ck_assert(json_object_object_get_ex(o, "result", &r));
    ck_assert_str_eq(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                     res);
    ck_assert(json_object_object_get_ex(o, "duration", &v));
    ck_assert(json_object_get_double(v) >= 0 && json_object_get_double(v) < 5);
    ck_assert(has(o, "completed_at") && !has(o, "error_code") &&
              !has(o, "error_message"));
    json_object_put(o);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(failed_task_fields)
{
    char id[TASK_ID_LEN + 1], id2[TASK_ID_LEN + 1];
    json_object *o = NULL, *v;
    struct taskstore *ts = store_open(0, 0, 0);

    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    ck_assert_int_eq(taskstore_finish(ts, id, TASK_FAILED, NULL, 1001,
                                      "Authentication failed",
                                      "Invalid username or password"),
                     TS_OK);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "failed");
    ck_assert(json_object_object_get_ex(o, "error_code", &v));
    ck_assert_int_eq(json_object_get_int(v), 1001);
    ck_assert_str_eq(str_of(o, "error_message"), "Authentication failed");
    ck_assert_str_eq(str_of(o, "details"), "Invalid username or password");
    ck_assert(!has(o, "result"));
    json_object_put(o);
    /* a failure with no texts still names its code's message */
    ck_assert_int_eq(taskstore_create(ts, &running_task, id2), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, id2, TASK_FAILED, NULL, 3002, NULL, NULL), TS_OK);
    ck_assert_int_eq(taskstore_get(ts, id2, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "error_message"), "Method execution timed out");
    json_object_put(o);
    /* invalid result JSON is refused, the task stays running */
    ck_assert_int_eq(taskstore_create(ts, &running_task, id2), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, id2, TASK_SUCCESS, "{\"a\":", 0, NULL, NULL),
        TS_ERROR);
    long n;
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 1);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(not_found_vs_expired)
{
    char id[TASK_ID_LEN + 1], old[TASK_ID_LEN + 1], unknown[TASK_ID_LEN + 1];
    json_object *o = NULL;
    uint8_t rnd[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, bin[16];
    struct taskstore *ts = store_open(0, 0, 0);
    double now = clock_now_real();

    /* (created first: the list is in creation order, which is started_at
     * order unless the wall clock steps back) */
    ck_assert_int_eq(
        taskstore_create_at(ts, &running_task, now - 8 * 86400.0, old), TS_OK);
    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    ck_assert_int_eq(taskstore_get(ts, old, &o), TS_EXPIRED);
    ck_assert_ptr_null(o);
    /* an id we never stored, inside the window: not found */
    ck_assert_int_eq(taskid_new(3, unknown), 0);
    ck_assert_int_eq(taskstore_get(ts, unknown, &o), TS_NOT_FOUND);
    /* never stored, older than retention: expired */
    taskid_compose((uint64_t)((now - 30 * 86400.0) * 1000), 3, rnd, bin);
    taskid_format(bin, unknown);
    ck_assert_int_eq(taskstore_get(ts, unknown, &o), TS_EXPIRED);
    /* future-dated, malformed and non-v7 ids: not found */
    taskid_compose((uint64_t)((now + 3 * 86400.0) * 1000), 3, rnd, bin);
    taskid_format(bin, unknown);
    ck_assert_int_eq(taskstore_get(ts, unknown, &o), TS_NOT_FOUND);
    ck_assert_int_eq(taskstore_get(ts, "nope", &o), TS_NOT_FOUND);
    ck_assert_int_eq(
        taskstore_get(ts, "550e8400-e29b-41d4-a716-446655440000", &o),
        TS_NOT_FOUND);
    char upper[TASK_ID_LEN + 1];
    strcpy(upper, id);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 32);
    ck_assert_int_eq(taskstore_get(ts, upper, &o),
                     strcmp(upper, id) ? TS_NOT_FOUND : TS_OK);
    json_object_put(o);
    o = NULL;
    /* the sweep removes the old task and keeps the young one */
    struct taskstore_stats st;
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 2);
    ck_assert_int_eq(taskstore_sweep(ts, now), TS_OK);
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 1);
    ck_assert_int_eq(st.running, 1);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    json_object_put(o);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(cap_evicts_oldest_finished)
{
    char ids[8][TASK_ID_LEN + 1], act[3][TASK_ID_LEN + 1];
    json_object *o = NULL;
    struct taskstore_stats st;
    struct taskstore *ts = store_open(5, 0, 0);

    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(taskstore_create(ts, &running_task, ids[i]), TS_OK);
        ck_assert_int_eq(taskstore_finish(ts, ids[i], TASK_SUCCESS,
                                          "{\"success\":true}", 0, NULL, NULL),
                         TS_OK);
    }
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 5);
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(taskstore_get(ts, ids[i], &o),
                         i < 3 ? TS_NOT_FOUND : TS_OK);
        json_object_put(o);
        o = NULL;
    }
    /* running tasks are never evicted: the cap yields to them */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(taskstore_create(ts, &running_task, act[i]), TS_OK);
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 5);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(taskstore_get(ts, act[i], &o), TS_OK);
        json_object_put(o);
    }
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(cap_lowered_across_restart)
{
    char id[TASK_ID_LEN + 1];
    struct taskstore_stats st;
    struct taskstore *ts = store_open(0, 0, 0);

    for (int i = 0; i < 3000; i++) {
        ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
        ck_assert_int_eq(
            taskstore_finish(ts, id, TASK_SUCCESS, "{}", 0, NULL, NULL),
            TS_OK);
    }
    taskstore_close(ts);
    ts = store_open(100, 0, 0);
    ck_assert_int_eq(taskstore_create(ts, &running_task, id),
                     TS_OK); /* bounded work */
    ck_assert_int_eq(taskstore_sweep(ts, clock_now_real()), TS_OK);
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 100);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(persists_and_fails_interrupted)
{
    char done[TASK_ID_LEN + 1], left[TASK_ID_LEN + 1];
    json_object *o = NULL;
    struct taskstore *ts = store_open(0, 0, 0);
    struct task_new q = running_task;

    q.status = TASK_QUEUED;
    ck_assert_int_eq(taskstore_create(ts, &running_task, done), TS_OK);
    ck_assert_int_eq(taskstore_finish(ts, done, TASK_SUCCESS,
                                      "{\"success\":true,\"data\":{}}", 0,
                                      NULL, NULL),
                     TS_OK);
    ck_assert_int_eq(taskstore_create(ts, &q, left), TS_OK);
    taskstore_close(ts);
    check_clean();

    ts = store_open(0, 0, 0);
    ck_assert_int_eq(taskstore_get(ts, done, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "success");
    json_object_put(o);
    ck_assert_int_eq(taskstore_get(ts, left, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "failed");
    ck_assert_str_eq(str_of(o, "details"), TASKSTORE_RESTART_MESSAGE);
    ck_assert(has(o, "completed_at") && has(o, "error_code"));
    json_object_put(o);
    long n;
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 0);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(second_open_refused)
{
    struct taskstore *ts = store_open(0, 0, 0), *ts2 = NULL;
    struct taskstore_opts opt = {0};
    char err[512];

    ck_assert_int_eq(taskstore_open(path, &opt, &ts2, err, sizeof(err)),
                     TS_ERROR);
    ck_assert_ptr_null(ts2);
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "in use"));
    taskstore_close(ts);
    ck_assert_int_eq(taskstore_open(path, &opt, &ts2, err, sizeof(err)),
                     TS_OK);
    taskstore_close(ts2);
    dir_teardown();
}
END_TEST

static size_t file_read(const char *p, char **buf)
{
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    size_t n = (size_t)ftell(f);
    rewind(f);
    *buf = malloc(n + 1);
    ck_assert_uint_eq(fread(*buf, 1, n, f), n);
    fclose(f);
    return n;
}

static void expect_refused_unchanged(const char *why)
{
    struct taskstore *ts = NULL;
    struct taskstore_opts opt = {0};
    char err[1024], *before, *after;
    size_t nb = file_read(path, &before);

    ck_assert_int_eq(taskstore_open(path, &opt, &ts, err, sizeof(err)),
                     TS_ERROR);
    ck_assert_msg(strstr(err, path) && strstr(err, why) &&
                      strstr(err, "Move it aside"),
                  "message: %s", err);
    size_t na = file_read(path, &after);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(before, after, na) == 0);
    ck_assert_int_gt(taskstore_check_file(path, NULL), 0);
    free(before);
    free(after);
}

START_TEST(damaged_or_foreign_refused)
{
    char id[TASK_ID_LEN + 1];
    struct taskstore *ts = store_open(0, 0, 0);
    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    taskstore_close(ts);

    int fd = open(path, O_RDWR);
    uint32_t v = 99;
    ck_assert_int_eq(pwrite(fd, &v, 4, 8), 4); /* format version */
    expect_refused_unchanged("version 99");
    v = 1;
    ck_assert_int_eq(pwrite(fd, &v, 4, 8), 4);
    ck_assert_int_eq(pwrite(fd, "x", 1, 60),
                     1); /* inside the layout: checksum */
    expect_refused_unchanged("checksum");
    ck_assert_int_eq(pwrite(fd, "NOTASTOR", 8, 0), 8);
    expect_refused_unchanged("bad magic");
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    expect_refused_unchanged("shorter than a store header");
    ck_assert_int_eq(pwrite(fd, "hello world\n", 12, 0), 12);
    expect_refused_unchanged("shorter than a store header");
    close(fd);
    dir_teardown();
}
END_TEST

START_TEST(too_large_and_big_results)
{
    char id[TASK_ID_LEN + 1];
    json_object *o = NULL, *r;
    struct taskstore *ts = store_open(0, 0, 0);
    size_t big = 600 * 1024;
    char *res = malloc(TASKSTORE_MAX_RESULT_BYTES + 64);

    /* a large list_users-like result is stored whole */
    int n = snprintf(res, 64, "{\"success\":true,\"data\":{\"users\":\"");
    memset(res + n, 'u', big);
    strcpy(res + n + big, "\"}}");
    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, id, TASK_SUCCESS, res, 0, NULL, NULL), TS_OK);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    ck_assert(json_object_object_get_ex(o, "result", &r));
    ck_assert_str_eq(json_object_to_json_string_ext(r, JSON_C_TO_STRING_PLAIN),
                     res);
    json_object_put(o);

    /* one byte over the maximum: refused, never truncated */
    memset(res + n, 'u', TASKSTORE_MAX_RESULT_BYTES);
    strcpy(res + n + TASKSTORE_MAX_RESULT_BYTES - n - 2, "\"}}");
    ck_assert_uint_eq(strlen(res), TASKSTORE_MAX_RESULT_BYTES + 1);
    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, id, TASK_SUCCESS, res, 0, NULL, NULL),
        TS_TOO_LARGE);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "running");
    json_object_put(o);
    ck_assert_int_eq(
        taskstore_finish(ts, id, TASK_FAILED, NULL, 3001,
                         "Method execution failed",
                         "Result exceeds the task store's 1 MiB limit"),
        TS_OK);
    free(res);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(ceiling_full)
{
    char id[TASK_ID_LEN + 1];
    int rc = TS_OK, made = 0;
    struct taskstore_stats st;
    char res[2048];

    memset(res, 0, sizeof(res));
    strcpy(res, "{\"m\":\"");
    memset(res + 6, 'z', 1500);
    strcat(res, "\"}");
    struct taskstore *ts = store_open(0, (1 << 20) + 256 * 1024 + 4096, 0);
    while (made < 100000) {
        if ((rc = taskstore_create(ts, &running_task, id)) != TS_OK)
            break;
        made++;
        if ((rc = taskstore_finish(ts, id, TASK_SUCCESS, res, 0, NULL,
                                   NULL)) != TS_OK) {
            /* the documented fallback: finish without texts, no allocation */
            ck_assert_int_eq(
                taskstore_finish(ts, id, TASK_FAILED, NULL, 3001, NULL, NULL),
                TS_OK);
            break;
        }
    }
    ck_assert_int_eq(rc, TS_FULL);
    ck_assert_int_gt(made, 100);
    ck_assert_ptr_nonnull(
        strstr(taskstore_rc_message(rc), "BMC_STORE_MAX_BYTES"));
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_le(st.file_bytes, st.max_bytes);
    ck_assert_int_eq(st.running, 0);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(running_counts_and_owners)
{
    char a[TASK_ID_LEN + 1], b[TASK_ID_LEN + 1], c[TASK_ID_LEN + 1];
    struct task_new q = running_task;
    json_object *o = NULL;
    long n;
    struct taskstore *ts = store_open(0, 0, 0);

    q.status = TASK_QUEUED;
    q.owner = 111;
    ck_assert_int_eq(taskstore_create(ts, &q, a), TS_OK);
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(taskstore_mark_running(ts, a, 111), TS_OK);
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 1);
    q.owner = 222;
    q.status = TASK_RUNNING;
    ck_assert_int_eq(taskstore_create(ts, &q, b), TS_OK);
    q.owner = 111;
    q.status = TASK_QUEUED;
    ck_assert_int_eq(taskstore_create(ts, &q, c), TS_OK);
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(
        taskstore_fail_owned_by(ts, 111, "The executor process died"), TS_OK);
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(taskstore_get(ts, a, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "failed");
    ck_assert_str_eq(str_of(o, "details"), "The executor process died");
    json_object_put(o);
    ck_assert_int_eq(taskstore_get(ts, c, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "failed");
    json_object_put(o);
    ck_assert_int_eq(taskstore_get(ts, b, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "running");
    json_object_put(o);
    ck_assert_int_eq(taskstore_mark_running(ts, a, 1), TS_NOT_FOUND);
    ck_assert_int_eq(
        taskstore_finish(ts, b, TASK_SUCCESS, "{}", 0, NULL, NULL), TS_OK);
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 0);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(many_tasks_grow_index)
{
    enum { N = 20000 };
    static char ids[N][TASK_ID_LEN + 1];
    json_object *o = NULL;
    struct taskstore *ts = store_open(0, 0, 0);

    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(taskstore_create(ts, &running_task, ids[i]), TS_OK);
        if (i % 2)
            ck_assert_int_eq(taskstore_finish(ts, ids[i], TASK_SUCCESS,
                                              "{\"success\":true}", 0, NULL,
                                              NULL),
                             TS_OK);
    }
    for (int i = 0; i < N; i += 97) {
        ck_assert_int_eq(taskstore_get(ts, ids[i], &o), TS_OK);
        ck_assert_str_eq(str_of(o, "status"), i % 2 ? "success" : "running");
        json_object_put(o);
    }
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(holder_dies_with_lock)
{
    char id[TASK_ID_LEN + 1];
    json_object *o = NULL;
    struct taskstore *ts = store_open(0, 0, 0.3);
    int status;

    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    pid_t pid = fork();
    if (pid == 0) {
        if (taskstore_test_lock(ts) == TS_OK)
            _exit(0);
        _exit(1);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    check_clean();
    ck_assert_int_eq(taskstore_get(ts, id, &o),
                     TS_OK); /* EOWNERDEAD -> repaired */
    json_object_put(o);
    ck_assert_int_eq(
        taskstore_finish(ts, id, TASK_SUCCESS, "{}", 0, NULL, NULL), TS_OK);
    check_clean();

    /* an alive but stuck holder: bounded wait, TS_BUSY, then recovery */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    if (pid == 0) {
        if (taskstore_test_lock(ts) == TS_OK && write(p[1], "x", 1) == 1)
            pause();
        _exit(1);
    }
    char c;
    ck_assert_int_eq(read(p[0], &c, 1), 1);
    double t0 = clock_now_mono();
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_BUSY);
    double waited = clock_now_mono() - t0;
    ck_assert(waited >= 0.25 && waited < 2.0);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ck_assert_int_eq(taskstore_get(ts, id, &o), TS_OK);
    json_object_put(o);
    close(p[0]);
    close(p[1]);
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

/* ---- a kill at every journal step of a create, a finish and a sweep --- */

static int countdown;

static void die_at_countdown(void)
{
    if (--countdown == 0)
        _exit(0);
}

/* CAP > 0 makes the child's create evict (its freed space is reused). */
static void kill_steps(long cap)
{
    int step, finished_all = 0;

    for (step = 1; step < 2000 && !finished_all; step++) {
        char pre[TASK_ID_LEN + 1], old[TASK_ID_LEN + 1], made[TASK_ID_LEN + 1];
        int p[2], status;
        struct taskstore *ts;

        unlink(path);
        ts = store_open(0, 0, 0);
        /* 1 + 509 + 1 tasks: the child's create must grow the index */
        /* with a cap, OLD is young: the child's create evicts it first */
        ck_assert_int_eq(taskstore_create_at(
                             ts, &running_task,
                             clock_now_real() - (cap ? 1 : 9) * 86400.0, old),
                         TS_OK);
        for (int i = 0; i < 509; i++)
            ck_assert_int_eq(taskstore_create(ts, &running_task, pre), TS_OK);
        ck_assert_int_eq(taskstore_create(ts, &running_task, pre), TS_OK);
        if (cap) {
            for (int i = 0; i < 20; i++) {
                char x[TASK_ID_LEN + 1];
                ck_assert_int_eq(taskstore_create(ts, &running_task, x),
                                 TS_OK);
                ck_assert_int_eq(
                    taskstore_finish(ts, x, TASK_FAILED, NULL, 1002, "t", "d"),
                    TS_OK);
            }
            taskstore_close(ts);
            ts = store_open(cap, 0, 0); /* all running ones fail: evictable */
            ck_assert_int_eq(taskstore_create(ts, &running_task, pre), TS_OK);
        }
        ck_assert_int_eq(pipe(p), 0);
        pid_t pid = fork();
        if (pid == 0) {
            close(p[0]);
            countdown = step;
            taskstore_test_hook = die_at_countdown;
            if (taskstore_finish(ts, pre, TASK_SUCCESS,
                                 "{\"success\":true,\"data\":{\"k\":1}}", 0,
                                 NULL, NULL) != TS_OK ||
                write(p[1], "F", 1) != 1)
                _exit(2);
            /* other strings than OLD's, in the same size class */
            static const struct task_new other = {
                "power_state", "10.9.8.77", "ipmi", "req-2",
                TASK_RUNNING,  1,           NULL};
            if (taskstore_create(ts, &other, made) != TS_OK ||
                write(p[1], made, TASK_ID_LEN) != TASK_ID_LEN)
                _exit(2);
            if (taskstore_sweep(ts, clock_now_real()) != TS_OK ||
                write(p[1], "S", 1) != 1)
                _exit(2);
            _exit(3);
        }
        close(p[1]);
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 2,
                      "step %d: op failed", step);
        finished_all = WEXITSTATUS(status) == 3;
        char got[64] = {0};
        ssize_t n = read(p[0], got, sizeof(got) - 1);
        close(p[0]);
        ck_assert_msg(taskstore_check_file(path, stderr) == 0,
                      "step %d: check failed", step);

        json_object *o = NULL;
        struct taskstore_stats st;
        ck_assert_int_eq(taskstore_get(ts, pre, &o),
                         TS_OK); /* recovers the lock */
        const char *s = str_of(o, "status");
        if (n >= 1)
            ck_assert_msg(!strcmp(s, "success"),
                          "step %d: finish returned, status %s", step, s);
        else
            ck_assert_msg(!strcmp(s, "success") || !strcmp(s, "running"),
                          "step %d: %s", step, s);
        ck_assert(!strcmp(s, "running") || has(o, "result"));
        json_object_put(o);
        o = NULL;
        if (n >= 1 + TASK_ID_LEN) {
            memcpy(made, got + 1, TASK_ID_LEN);
            made[TASK_ID_LEN] = '\0';
            ck_assert_int_eq(taskstore_get(ts, made, &o), TS_OK);
            json_object_put(o);
        }
        ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
        if (cap) {
            /* an evicted-then-rolled-back task must be whole, not reused */
            int grc = taskstore_get(ts, old, &o);
            if (grc == TS_OK)
                ck_assert_msg(!strcmp(str_of(o, "method"), "run_action") &&
                                  !strcmp(str_of(o, "ip"), "192.168.1.100"),
                              "step %d: restored task holds %s", step,
                              str_of(o, "method"));
            else
                ck_assert_int_eq(grc, TS_NOT_FOUND);
            json_object_put(o);
            o = NULL;
            check_clean();
            taskstore_close(ts);
            continue;
        }
        /* each reported op is in; the one in flight is all in or all out */
        long want = 511 + (n >= 1 + TASK_ID_LEN) - (n >= 2 + TASK_ID_LEN);
        long alt = n == 1 ? want + 1 : n == 1 + TASK_ID_LEN ? want - 1 : want;
        ck_assert_msg(st.tasks == want || st.tasks == alt,
                      "step %d: %ld tasks", step, st.tasks);
        check_clean();
        taskstore_close(ts);
    }
    fprintf(stderr, "kill_at_every_step: %d kill points\n", step - 1);
    ck_assert_msg(finished_all, "the child never completed its operations");
    ck_assert_int_gt(step, 50);
    dir_teardown();
}

START_TEST(kill_at_every_step)
{
    kill_steps(0);
}
END_TEST

START_TEST(kill_at_every_step_evicting)
{
    kill_steps(532); /* 531 stored + 1: only the child's create evicts */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("taskstore");
    TCase *tc;

    tc = unit_case(s, "tasks", dir_setup, NULL, 60);
    tcase_add_test(tc, create_finish_get);
    tcase_add_test(tc, failed_task_fields);
    tcase_add_test(tc, not_found_vs_expired);
    tcase_add_test(tc, running_counts_and_owners);
    tc = unit_case(s, "space", dir_setup, NULL, 60);
    tcase_add_test(tc, cap_evicts_oldest_finished);
    tcase_add_test(tc, cap_lowered_across_restart);
    tcase_add_test(tc, too_large_and_big_results);
    tcase_add_test(tc, ceiling_full);
    tcase_add_test(tc, many_tasks_grow_index);
    tc = unit_case(s, "file", dir_setup, NULL, 60);
    tcase_add_test(tc, persists_and_fails_interrupted);
    tcase_add_test(tc, second_open_refused);
    tcase_add_test(tc, damaged_or_foreign_refused);
    tc = unit_case(s, "crash", dir_setup, NULL, 60);
    tcase_add_test(tc, holder_dies_with_lock);
    tcase_add_test(tc, kill_at_every_step);
    tcase_add_test(tc, kill_at_every_step_evicting);
    return unit_run(s);
}
