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
#include <stdbool.h>
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

static const struct task_new running_task = {"run_action", "192.168.1.100",
                                             "redfish",    "req-1",
                                             TASK_RUNNING, 4242,
                                             NULL,         NULL,
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
    ck_assert_int_eq(
        taskstore_finish(ts, old, TASK_SUCCESS, NULL, 0, NULL, NULL), TS_OK);
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

/* The name of the damaged copy salvage left next to PATH into OUT. */
static int find_damaged_copy(char *out, size_t len)
{
    char d[160];
    DIR *dp;
    struct dirent *e;
    int found = 0;

    snprintf(d, sizeof(d), "%s/state", dir);
    ck_assert_ptr_nonnull(dp = opendir(d));
    while ((e = readdir(dp)))
        if (strstr(e->d_name, "tasks.store.damaged-")) {
            snprintf(out, len, "%s/%s", d, e->d_name);
            found++;
        }
    closedir(dp);
    return found;
}

/* A store holding one finished task (its id into ID), closed. */
static void store_with_task(char id[TASK_ID_LEN + 1])
{
    struct taskstore *ts = store_open(0, 0, 0);
    ck_assert_int_eq(taskstore_create(ts, &running_task, id), TS_OK);
    ck_assert_int_eq(taskstore_finish(ts, id, TASK_SUCCESS,
                                      "{\"success\":true}", 0, NULL, NULL),
                     TS_OK);
    taskstore_close(ts);
}

/* Opening the damaged file at PATH starts (never refuses): the original is
 * moved aside unchanged, the new store checks clean and holds task ID when
 * KEEPS. */
static void expect_salvaged(const char *id, bool keeps)
{
    struct taskstore *ts = NULL;
    struct taskstore_opts opt = {0};
    char err[1024], aside[512], *before, *after;
    json_object *o = NULL;
    size_t nb = file_read(path, &before);

    ck_assert_int_gt(taskstore_check_file(path, NULL), 0);
    ck_assert_msg(taskstore_open(path, &opt, &ts, err, sizeof(err)) == TS_OK,
                  "open: %s", err);
    ck_assert_int_eq(find_damaged_copy(aside, sizeof(aside)), 1);
    size_t na = file_read(aside, &after);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(before, after, na) == 0);
    ck_assert_int_eq(taskstore_get(ts, id, &o), keeps ? TS_OK : TS_NOT_FOUND);
    if (keeps)
        ck_assert_str_eq(str_of(o, "status"), "success");
    json_object_put(o);
    taskstore_close(ts);
    ck_assert_int_eq(taskstore_check_file(path, NULL), 0);
    unlink(aside);
    unlink(path);
    free(before);
    free(after);
}

/* Retention under clock steps (the clock injected through
 * taskstore_create_at and taskstore_sweep's NOW): a forward jump never
 * removes a queued or running task; a task stamped in the future (the
 * clock was ahead, then stepped back) neither is removed nor stops the
 * sweep of the old finished tasks behind it. */
START_TEST(retention_under_clock_steps)
{
    struct taskstore *ts = store_open(0, 0, 0);
    struct task_new q = running_task;
    char future[TASK_ID_LEN + 1], old[TASK_ID_LEN + 1], run[TASK_ID_LEN + 1],
        queued[TASK_ID_LEN + 1], young[TASK_ID_LEN + 1];
    struct taskstore_stats st;
    double now = clock_now_real();

    q.status = TASK_QUEUED;
    ck_assert_int_eq(
        taskstore_create_at(ts, &running_task, now + 30 * 86400.0, future),
        TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, future, TASK_SUCCESS, NULL, 0, NULL, NULL),
        TS_OK);
    ck_assert_int_eq(
        taskstore_create_at(ts, &running_task, now - 9 * 86400.0, old), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, old, TASK_FAILED, NULL, 1002, "t", "d"), TS_OK);
    ck_assert_int_eq(
        taskstore_create_at(ts, &running_task, now - 9 * 86400.0, run), TS_OK);
    ck_assert_int_eq(taskstore_create_at(ts, &q, now - 9 * 86400.0, queued),
                     TS_OK);
    ck_assert_int_eq(taskstore_create(ts, &running_task, young), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, young, TASK_SUCCESS, NULL, 0, NULL, NULL), TS_OK);
    /* now: the old finished one goes, past the future-dated one */
    ck_assert_int_eq(taskstore_sweep(ts, now), TS_OK);
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 4);
    ck_assert_int_eq(st.running, 1);
    ck_assert_int_eq(st.queued, 1);
    /* a forward jump of a year: every finished task goes, the active stay */
    ck_assert_int_eq(taskstore_sweep(ts, now + 365 * 86400.0), TS_OK);
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, 2);
    ck_assert_int_eq(st.running, 1);
    ck_assert_int_eq(st.queued, 1);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

START_TEST(damaged_or_foreign_salvaged)
{
    char id[TASK_ID_LEN + 1], zero[4096] = {0};
    uint32_t v = 99;
    int fd;

    store_with_task(id); /* another format version */
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    ck_assert_int_eq(pwrite(fd, &v, 4, 8), 4);
    close(fd);
    expect_salvaged(id, true);
    store_with_task(id); /* inside the layout: checksum */
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    ck_assert_int_eq(pwrite(fd, "x", 1, 60), 1);
    close(fd);
    expect_salvaged(id, true);
    store_with_task(id); /* a zeroed header page */
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    ck_assert_int_eq(pwrite(fd, zero, sizeof(zero), 0), (ssize_t)sizeof(zero));
    close(fd);
    expect_salvaged(id, true);
    store_with_task(id); /* truncated to nothing */
    ck_assert_int_ge(fd = open(path, O_RDWR), 0);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    close(fd);
    expect_salvaged(id, false);
    store_with_task(id); /* a foreign file */
    ck_assert_int_ge(fd = open(path, O_RDWR | O_TRUNC), 0);
    ck_assert_int_eq(pwrite(fd, "hello world\n", 12, 0), 12);
    close(fd);
    expect_salvaged(id, false);
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
        /* finished: retention never removes a running task */
        ck_assert_int_eq(
            taskstore_finish(ts, old, TASK_SUCCESS, NULL, 0, NULL, NULL),
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
                "power_state", "10.9.8.77", "ipmi", "req-2", TASK_RUNNING, 1,
                NULL,          NULL,        NULL};
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

/* ---- fleet operations (issue 22) ------------------------------------ */

static const struct task_new bulk_parent = {"power_off", NULL,         NULL,
                                            "req-bulk",  TASK_RUNNING, 4242,
                                            "ops",       NULL,         NULL};

/* N children of a bulk: every FAIL_EVERY-th (0: none) created failed. */
static struct task_child *bulk_kids(size_t n, size_t fail_every, pid_t owner)
{
    struct task_child *k = calloc(n, sizeof(*k));
    static char ips[TASKSTORE_MAX_CHILDREN][16];

    ck_assert_ptr_nonnull(k);
    for (size_t i = 0; i < n; i++) {
        snprintf(ips[i], sizeof(ips[i]), "10.%zu.%zu.%zu", i / 65536 % 256,
                 i / 256 % 256, i % 256);
        k[i].t = (struct task_new){"power_off", ips[i],      "redfish",
                                   "req-bulk",  TASK_QUEUED, owner,
                                   "ops",       NULL,        NULL};
        if (fail_every && i % fail_every == 0) {
            k[i].t.status = TASK_FAILED;
            k[i].error_code = 4001;
            k[i].error_message = "Invalid IP address";
            k[i].details = "ip must be an IPv4 or IPv6 address";
        }
    }
    return k;
}

static long long_of(json_object *o, const char *key)
{
    json_object *v;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
    return (long)json_object_get_int64(v);
}

/* The parent's counters equal its children's statuses (read one by one
 * through taskstore_get), and its JSON carries the same progress. */
static void expect_counters(struct taskstore *ts, const char *parent)
{
    static char ids[TASKSTORE_MAX_CHILDREN][TASK_ID_LEN + 1];
    struct task_progress pr;
    long seen[4] = {0};
    size_t n, total;
    json_object *o, *p;

    ck_assert_int_eq(taskstore_progress(ts, parent, &pr), TS_OK);
    ck_assert_int_eq(taskstore_children(ts, parent, 0, TASKSTORE_MAX_CHILDREN,
                                        ids, &n, &total),
                     TS_OK);
    ck_assert_uint_eq(n, total);
    ck_assert_int_eq((long)total, pr.total);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(taskstore_get(ts, ids[i], &o), TS_OK);
        const char *s = str_of(o, "status");
        seen[!strcmp(s, "queued")    ? 0
             : !strcmp(s, "running") ? 1
             : !strcmp(s, "success") ? 2
                                     : 3]++;
        ck_assert_str_eq(str_of(o, "parent"), parent);
        json_object_put(o);
    }
    ck_assert_int_eq(seen[0], pr.queued);
    ck_assert_int_eq(seen[1], pr.running);
    ck_assert_int_eq(seen[2], pr.success);
    ck_assert_int_eq(seen[3], pr.failed);
    ck_assert_int_eq(taskstore_get(ts, parent, &o), TS_OK);
    ck_assert(json_object_object_get_ex(o, "progress", &p));
    ck_assert_int_eq(long_of(p, "total"), pr.total);
    ck_assert_int_eq(long_of(p, "queued"), pr.queued);
    ck_assert_int_eq(long_of(p, "running"), pr.running);
    ck_assert_int_eq(long_of(p, "success"), pr.success);
    ck_assert_int_eq(long_of(p, "failed"), pr.failed);
    /* running until the last child ends, then success or failed 3001 */
    const char *st = str_of(o, "status");
    if (pr.queued + pr.running)
        ck_assert_str_eq(st, "running");
    else if (pr.failed) {
        char want[96];
        snprintf(want, sizeof(want), "%ld of %ld children failed", pr.failed,
                 pr.total);
        ck_assert_str_eq(st, "failed");
        ck_assert_int_eq(long_of(o, "error_code"), 3001);
        ck_assert_str_eq(str_of(o, "error_message"),
                         "Method execution failed");
        ck_assert_str_eq(str_of(o, "details"), want);
    } else
        ck_assert_str_eq(st, "success");
    json_object_put(o);
}

START_TEST(bulk_create_progress_children)
{
    enum { N = TASKSTORE_MAX_CHILDREN };
    static char kids[N][TASK_ID_LEN + 1], page[N][TASK_ID_LEN + 1];
    char parent[TASK_ID_LEN + 1], single[TASK_ID_LEN + 1];
    struct task_child *k = bulk_kids(N, 1000, 777);
    struct taskstore_stats st;
    json_object *o = NULL;
    size_t n, total;
    struct taskstore *ts = store_open(0, 0, 0);

    /* a store that already holds tasks: the bulk goes after them */
    ck_assert_int_eq(taskstore_create(ts, &running_task, single), TS_OK);
    ck_assert_int_eq(
        taskstore_create_bulk(ts, &bulk_parent, k, N, parent, kids), TS_OK);
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    ck_assert_int_eq(st.tasks, N + 2);
    ck_assert_int_eq(st.queued, N - N / 1000);
    ck_assert_int_eq(st.running, 2); /* the single task and the parent */
    ck_assert_int_eq(taskstore_get(ts, parent, &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "running");
    ck_assert_str_eq(str_of(o, "method"), "power_off");
    ck_assert_str_eq(str_of(o, "requested_by"), "ops");
    ck_assert(!has(o, "parent") && !has(o, "callback") && has(o, "progress"));
    json_object_put(o);
    ck_assert_int_eq(taskstore_get(ts, kids[1], &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "queued");
    ck_assert_str_eq(str_of(o, "ip"), "10.0.0.1");
    ck_assert(!has(o, "progress"));
    json_object_put(o);
    ck_assert_int_eq(taskstore_get(ts, kids[1000], &o), TS_OK);
    ck_assert_str_eq(str_of(o, "status"), "failed");
    ck_assert_int_eq(long_of(o, "error_code"), 4001);
    ck_assert_str_eq(str_of(o, "error_message"), "Invalid IP address");
    json_object_put(o);
    expect_counters(ts, parent);
    /* paging: in order, the last page short, past the end empty */
    ck_assert_int_eq(taskstore_children(ts, parent, 0, 1000, page, &n, &total),
                     TS_OK);
    ck_assert_uint_eq(n, 1000);
    ck_assert_uint_eq(total, N);
    ck_assert_str_eq(page[999], kids[999]);
    ck_assert_int_eq(
        taskstore_children(ts, parent, N - 7, 1000, page, &n, &total), TS_OK);
    ck_assert_uint_eq(n, 7);
    ck_assert_str_eq(page[0], kids[N - 7]);
    ck_assert_str_eq(page[6], kids[N - 1]);
    ck_assert_int_eq(taskstore_children(ts, parent, N, 1000, page, &n, &total),
                     TS_OK);
    ck_assert_uint_eq(n, 0);
    /* not a parent */
    struct task_progress pr;
    ck_assert_int_eq(taskstore_progress(ts, single, &pr), TS_NOT_FOUND);
    ck_assert_int_eq(taskstore_children(ts, kids[0], 0, 10, page, &n, &total),
                     TS_NOT_FOUND);
    /* a parent is neither run nor finished directly */
    ck_assert_int_eq(taskstore_mark_running(ts, parent, 1), TS_NOT_FOUND);
    ck_assert_int_eq(
        taskstore_finish(ts, parent, TASK_SUCCESS, NULL, 0, NULL, NULL),
        TS_NOT_FOUND);
    check_clean();
    /* the ids survive a restart, which fails the queued children: the
     * last of them ends the parent */
    taskstore_close(ts);
    ts = store_open(0, 0, 0);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_progress(ts, parent, &pr), TS_OK);
    ck_assert_int_eq(pr.failed, N);
    check_clean();
    taskstore_close(ts);
    free(k);
    dir_teardown();
}
END_TEST

START_TEST(bulk_counters_follow_every_path)
{
    enum { N = 12 };
    char kids[N][TASK_ID_LEN + 1], parent[TASK_ID_LEN + 1];
    struct task_child *k = bulk_kids(N, 0, 500);
    struct task_progress pr;
    long n;
    struct taskstore *ts = store_open(0, 0, 0);

    k[10].t.owner = 600;
    k[11].t.owner = 600;
    ck_assert_int_eq(
        taskstore_create_bulk(ts, &bulk_parent, k, N, parent, kids), TS_OK);
    ck_assert_int_eq(taskstore_mark_running(ts, kids[0], 500), TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(
        taskstore_finish(ts, kids[0], TASK_SUCCESS, "{}", 0, NULL, NULL),
        TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_mark_running(ts, kids[1], 500), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, kids[1], TASK_FAILED, NULL, 1002, "t", "d"),
        TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_claim(ts, kids[2], 500, TASK_RUNNING, 501),
                     TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_abandon(ts, kids[3], 500, "gone"), TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_cancel(ts, kids[4], "cancelled", &n), TS_OK);
    ck_assert_int_eq(n, 1);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_fail_owned_by(ts, 501, "executor died"), TS_OK);
    expect_counters(ts, parent);
    /* the parent's owner dying does not fail it while children run */
    ck_assert_int_eq(taskstore_fail_owned_by(ts, 4242, "worker died"), TS_OK);
    ck_assert_int_eq(taskstore_progress(ts, parent, &pr), TS_OK);
    ck_assert_int_eq(pr.queued, 7);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_fail_owned_by(ts, 600, "worker died"), TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_fail_owned_by(ts, 500, "worker died"), TS_OK);
    ck_assert_int_eq(taskstore_progress(ts, parent, &pr), TS_OK);
    ck_assert_int_eq(pr.queued + pr.running, 0);
    ck_assert_int_eq(pr.success, 1);
    ck_assert_int_eq(pr.failed, N - 1);
    expect_counters(ts, parent); /* ended: failed "11 of 12" */
    ck_assert_int_eq(taskstore_count_running(ts, &n), TS_OK);
    ck_assert_int_eq(n, 0);
    check_clean();
    taskstore_close(ts);

    /* every child succeeds: the parent succeeds */
    ts = store_open(0, 0, 0);
    ck_assert_int_eq(
        taskstore_create_bulk(ts, &bulk_parent, k, 3, parent, kids), TS_OK);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(taskstore_mark_running(ts, kids[i], 9), TS_OK);
        ck_assert_int_eq(
            taskstore_finish(ts, kids[i], TASK_SUCCESS, "{}", 0, NULL, NULL),
            TS_OK);
    }
    expect_counters(ts, parent);
    /* every child refused: the parent ends at once */
    struct task_child *bad = bulk_kids(4, 1, 500);
    ck_assert_int_eq(
        taskstore_create_bulk(ts, &bulk_parent, bad, 4, parent, kids), TS_OK);
    expect_counters(ts, parent);
    ck_assert_int_eq(taskstore_progress(ts, parent, &pr), TS_OK);
    ck_assert_int_eq(pr.failed, 4);
    /* out of range */
    ck_assert_int_eq(
        taskstore_create_bulk(ts, &bulk_parent, bad, 0, parent, kids),
        TS_ERROR);
    ck_assert_int_eq(taskstore_create_bulk(ts, &bulk_parent, bad,
                                           TASKSTORE_MAX_CHILDREN + 1, parent,
                                           kids),
                     TS_ERROR);
    check_clean();
    taskstore_close(ts);
    free(bad);
    free(k);
    dir_teardown();
}
END_TEST

static json_object *callback_of(struct taskstore *ts, const char *id,
                                json_object **task)
{
    json_object *cb = NULL;
    ck_assert_int_eq(taskstore_get(ts, id, task), TS_OK);
    ck_assert(json_object_object_get_ex(*task, "callback", &cb));
    return cb;
}

START_TEST(callback_due_record_persist)
{
    struct task_new t = running_task, t2 = running_task;
    char a[TASK_ID_LEN + 1], b[TASK_ID_LEN + 1], did[TASK_ID_LEN + 1];
    struct task_callback_due due;
    json_object *o, *cb;
    double now = 2e9;
    struct taskstore *ts = store_open(0, 0, 0);

    t.callback_url = "https://hooks.example/a";
    t2.callback_url = "http://10.1.2.3:8080/b";
    ck_assert_int_eq(taskstore_create(ts, &t, a), TS_OK);
    ck_assert_int_eq(taskstore_create(ts, &t2, b), TS_OK);
    cb = callback_of(ts, a, &o);
    ck_assert_str_eq(str_of(cb, "state"), "pending");
    ck_assert_int_eq(long_of(cb, "attempts"), 0);
    snprintf(did, sizeof(did), "%s", str_of(cb, "delivery_id"));
    json_object_put(o);
    /* running tasks are not due, nor is an unknown or callback-less id */
    ck_assert_int_eq(taskstore_callback_next(ts, now, &due), TS_NOT_FOUND);
    ck_assert_int_eq(taskstore_callback_record(ts, a, CB_DELIVERED, 0, NULL),
                     TS_NOT_FOUND);
    ck_assert_int_eq(
        taskstore_finish(ts, b, TASK_SUCCESS, NULL, 0, NULL, NULL), TS_OK);
    ck_assert_int_eq(
        taskstore_finish(ts, a, TASK_FAILED, NULL, 1002, "x", "y"), TS_OK);
    /* due in the order they ended */
    ck_assert_int_eq(taskstore_callback_next(ts, now, &due), TS_OK);
    ck_assert_str_eq(due.id, b);
    ck_assert_str_eq(due.url, "http://10.1.2.3:8080/b");
    ck_assert_int_eq(due.attempts, 0);
    /* b fails once: due again later, a first now */
    ck_assert_int_eq(taskstore_callback_record(ts, b, CB_PENDING, now + 5,
                                               "HTTP 500 from the receiver"),
                     TS_OK);
    ck_assert_int_eq(taskstore_callback_next(ts, now, &due), TS_OK);
    ck_assert_str_eq(due.id, a);
    ck_assert_str_eq(due.delivery_id, did);
    ck_assert_int_eq(taskstore_callback_record(ts, a, CB_DELIVERED, 0, NULL),
                     TS_OK);
    ck_assert_int_eq(taskstore_callback_next(ts, now, &due), TS_NOT_FOUND);
    ck_assert_int_eq(taskstore_callback_next(ts, now + 5, &due), TS_OK);
    ck_assert_str_eq(due.id, b);
    ck_assert_int_eq(due.attempts, 1);
    /* once delivered, never again */
    ck_assert_int_eq(taskstore_callback_record(ts, a, CB_DELIVERED, 0, NULL),
                     TS_NOT_FOUND);
    cb = callback_of(ts, a, &o);
    ck_assert_str_eq(str_of(cb, "state"), "delivered");
    ck_assert_int_eq(long_of(cb, "attempts"), 1);
    json_object_put(o);
    check_clean();
    /* the pending one survives a restart, with its attempts and error */
    taskstore_close(ts);
    ts = store_open(0, 0, 0);
    ck_assert_int_eq(taskstore_callback_next(ts, now + 5, &due), TS_OK);
    ck_assert_str_eq(due.id, b);
    cb = callback_of(ts, b, &o);
    ck_assert_str_eq(str_of(cb, "last_error"), "HTTP 500 from the receiver");
    json_object_put(o);
    ck_assert_int_eq(
        taskstore_callback_record(ts, b, CB_FAILED, 0, "budget spent"), TS_OK);
    ck_assert_int_eq(taskstore_callback_next(ts, now + 1e6, &due),
                     TS_NOT_FOUND);
    cb = callback_of(ts, b, &o);
    ck_assert_str_eq(str_of(cb, "state"), "failed");
    ck_assert_int_eq(long_of(cb, "attempts"), 2);
    json_object_put(o);
    check_clean();
    taskstore_close(ts);
    dir_teardown();
}
END_TEST

/* One run of the bulk operations killed at journal step STEP: create a
 * bulk of 40 (some failed at once), claim it, finish a child, cancel the
 * rest, with a callback on the parent. 1 when it ran to the end. */
static int bulk_killed_at(int step)
{
    char parent[TASK_ID_LEN + 1], got[TASK_ID_LEN + 2] = {0};
    static char kids[40][TASK_ID_LEN + 1];
    struct task_child *k = bulk_kids(40, 7, 4242);
    struct task_new p = bulk_parent;
    struct taskstore_stats st;
    int pp[2], status;
    long n;

    p.callback_url = "http://127.0.0.61/hook";
    unlink(path);
    struct taskstore *ts = store_open(0, 0, 0);
    ck_assert_int_eq(pipe(pp), 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pp[0]);
        countdown = step;
        taskstore_test_hook = die_at_countdown;
        if (taskstore_create_bulk(ts, &p, k, 40, parent, kids) != TS_OK ||
            write(pp[1], parent, TASK_ID_LEN) != TASK_ID_LEN ||
            taskstore_claim_bulk(ts, parent, 4242, getpid()) != TS_OK ||
            taskstore_mark_running(ts, kids[1], getpid()) != TS_OK ||
            taskstore_finish(ts, kids[1], TASK_SUCCESS, "{}", 0, NULL, NULL) !=
                TS_OK ||
            taskstore_cancel(ts, parent, "cancelled", &n) != TS_OK)
            _exit(2);
        _exit(3);
    }
    close(pp[1]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 2,
                  "step %d: op failed", step);
    ssize_t r = read(pp[0], got, TASK_ID_LEN);
    close(pp[0]);
    taskstore_close(ts);
    ck_assert_msg(taskstore_check_file(path, stderr) == 0,
                  "step %d: check failed", step);
    ts = store_open(0, 0, 0); /* rolls back, fails what was left running */
    ck_assert_int_eq(taskstore_stats(ts, &st), TS_OK);
    if (r == TASK_ID_LEN) {
        ck_assert_int_eq(st.tasks, 41);
        expect_counters(ts, got); /* and the parent ended */
    } else {
        ck_assert_msg(st.tasks == 0 || st.tasks == 41,
                      "step %d: a torn bulk (%ld tasks)", step, st.tasks);
    }
    ck_assert_int_eq(st.running + st.queued, 0);
    check_clean();
    taskstore_close(ts);
    free(k);
    return WEXITSTATUS(status) == 3;
}

START_TEST(bulk_kill_at_every_step)
{
    int step = 1;

    /* Crash consistency, not memory: a forked store per step takes
     * seconds under valgrind (the other bulk tests run there). */
    if (getenv("TEST_UNDER_VALGRIND")) {
        dir_teardown();
        return;
    }
    while (step < 5000 && !bulk_killed_at(step))
        step++;
    ck_assert_msg(step > 10 && step < 5000, "%d steps", step);
    dir_teardown();
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
    tcase_add_test(tc, retention_under_clock_steps);
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
    tcase_add_test(tc, damaged_or_foreign_salvaged);
    tc = unit_case(s, "crash", dir_setup, NULL, 60);
    tcase_add_test(tc, holder_dies_with_lock);
    tcase_add_test(tc, kill_at_every_step);
    tcase_add_test(tc, kill_at_every_step_evicting);
    tc = unit_case(s, "bulk", dir_setup, NULL, 120);
    tcase_add_test(tc, bulk_create_progress_children);
    tcase_add_test(tc, bulk_counters_follow_every_path);
    tcase_add_test(tc, callback_due_record_persist);
    tcase_add_test(tc, bulk_kill_at_every_step);
    return unit_run(s);
}
